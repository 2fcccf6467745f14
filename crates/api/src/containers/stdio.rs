//! The hijacked connection of an attach or an exec start: copying between the client and
//! the shim's stdio stream, the detach keys, and waiting for the client to have read the
//! `101` answer before anything else is sent.
//!
//! That wait matters to the Docker SDK for Python: it reads the answer through a buffered
//! reader, then reads the stream from the socket beneath it, so whatever arrived together
//! with the answer (the first output of a quick `exec_run`, say) would be lost. dockerd
//! gets away with it because starting an exec through containerd and runc takes it tens of
//! milliseconds; Berth's shim execs in one or two, and under load the client often has not
//! read the answer yet. On a Unix socket the kernel says how much of what was sent the
//! peer has not read yet (`SIOCOUTQ`), so output waits until that is zero; on TCP there is
//! no such measure and output goes at once.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::UnixStream;
use tokio::net::unix::OwnedWriteHalf;

/// Longest wait for the client to read the `101` answer before output goes anyway.
const ANSWER_READ_WAIT: Duration = Duration::from_secs(5);

/// The client's side of an upgraded connection.
pub(crate) struct Client {
    io: Io,
    /// Bytes the server read past the request: input the client sent at once.
    early: Bytes,
}

enum Io {
    /// A Unix socket taken back from hyper: the kernel tells how much the client has read.
    Unix(UnixStream),
    /// Anything else (TCP).
    Other(TokioIo<Upgraded>),
}

impl Client {
    pub(crate) fn new(upgraded: Upgraded) -> Client {
        match upgraded.downcast::<TokioIo<crate::conn::Io<UnixStream>>>() {
            Ok(parts) => Client {
                io: Io::Unix(parts.io.into_inner().into_inner()),
                early: parts.read_buf,
            },
            Err(upgraded) => Client {
                io: Io::Other(TokioIo::new(upgraded)),
                early: Bytes::new(),
            },
        }
    }

    fn unix_fd(&self) -> Option<RawFd> {
        match &self.io {
            Io::Unix(s) => Some(s.as_raw_fd()),
            Io::Other(_) => None,
        }
    }

    /// Send `chunks` (once the client has read the answer) and close the connection.
    pub(crate) async fn send_and_close(mut self, chunks: &[Bytes]) {
        if let Some(fd) = self.unix_fd() {
            answer_read(fd).await;
        }
        for chunk in chunks {
            if self.io.write_all(chunk).await.is_err() {
                return;
            }
        }
        let _ = self.io.shutdown().await;
    }
}

/// How a session ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The stream ended: the process exited (or the shim or the client went away).
    Closed,
    /// The client typed the detach keys; the process keeps running.
    Detached,
}

/// How a session runs: its detach keys, and what it sends besides the shim's stream.
pub(crate) struct Session {
    /// The detach keys, when they apply (see `berth_engine::exec::StdioSession`).
    pub detach_keys: Option<Vec<u8>>,
    /// Sent to the client when it detaches, before the connection is closed.
    pub on_detach: Vec<u8>,
    /// Sent to the client before the stream (an attach's log replay).
    pub prologue: Vec<Bytes>,
}

/// Copy between the client and the shim's stream until the stream ends (the process
/// exited; the client's connection is then closed, whether or not its input has ended) or
/// the client types the detach keys. Input goes through at once; output once the client
/// has read the `101` answer. Client input ending half-closes the shim stream (the
/// process's stdin is closed as the shim decides).
pub(crate) async fn pump(client: Client, shim: UnixStream, session: Session) -> Ended {
    let fd = client.unix_fd();
    let Client { io, early } = client;
    let (mut cr, mut cw) = tokio::io::split(io);
    let (mut sr, mut sw) = shim.into_split();
    let (detach_tx, mut detach_rx) = tokio::sync::watch::channel(false);
    let mut scanner = session.detach_keys.map(DetachScanner::new);
    let input = async move {
        let mut buf = vec![0u8; 32 * 1024];
        let mut detached = forward(&mut scanner, &early, &mut sw).await;
        while detached == Some(false) {
            detached = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    if let Some(s) = &mut scanner {
                        let _ = sw.write_all(&s.finish()).await;
                    }
                    let _ = sw.shutdown().await;
                    None
                }
                Ok(n) => forward(&mut scanner, &buf[..n], &mut sw).await,
            };
        }
        if detached == Some(true) {
            let _ = detach_tx.send(true);
        }
        // Keep the sender (and the shim's write half) until the output side is done.
        std::future::pending::<()>().await;
    };
    let output = async move {
        if let Some(fd) = fd {
            answer_read(fd).await;
        }
        for chunk in &session.prologue {
            if cw.write_all(chunk).await.is_err() {
                return Ended::Closed;
            }
        }
        let mut buf = vec![0u8; 32 * 1024];
        let ended = loop {
            tokio::select! {
                biased;
                Ok(()) = detach_rx.changed() => break Ended::Detached,
                r = sr.read(&mut buf) => match r {
                    Ok(0) | Err(_) => break Ended::Closed,
                    Ok(n) => {
                        if cw.write_all(&buf[..n]).await.is_err() {
                            break Ended::Closed;
                        }
                    }
                },
            }
        };
        if ended == Ended::Detached {
            let _ = cw.write_all(&session.on_detach).await;
        }
        let _ = cw.shutdown().await;
        ended
    };
    tokio::select! {
        ended = output => ended,
        () = input => Ended::Closed,
    }
}

/// Forward client input to the shim, through the scanner if any: `Some(true)` when the
/// detach keys were typed, `None` when the shim no longer takes input.
async fn forward(
    scanner: &mut Option<DetachScanner>,
    data: &[u8],
    to: &mut OwnedWriteHalf,
) -> Option<bool> {
    if data.is_empty() {
        return Some(false);
    }
    let (out, detached) = match scanner {
        Some(s) => s.feed(data),
        None => (data.to_vec(), false),
    };
    if !out.is_empty() && to.write_all(&out).await.is_err() {
        return None;
    }
    Some(detached)
}

/// Wait until the client has read everything sent on `fd` so far (the `101` answer), at
/// most [`ANSWER_READ_WAIT`].
async fn answer_read(fd: RawFd) {
    let start = Instant::now();
    let mut delay = Duration::from_micros(200);
    let mut waited = false;
    while unread(fd).is_some_and(|n| n > 0) && start.elapsed() < ANSWER_READ_WAIT {
        waited = true;
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(10));
    }
    if waited {
        tracing::debug!(
            "waited {:?} for the client to read the answer",
            start.elapsed()
        );
    }
}

/// Bytes sent on the Unix stream socket `fd` that the peer has not read yet.
fn unread(fd: RawFd) -> Option<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCOUTQ (TIOCOUTQ) writes one int into `n`; `fd` is an open socket.
    let r = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut n) };
    (r == 0).then_some(usize::try_from(n).unwrap_or(0))
}

/// Scans client input for the detach keys, holding back a partial match until it knows
/// (a partial match followed by something else goes through whole).
#[derive(Debug)]
pub(crate) struct DetachScanner {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachScanner {
    pub(crate) fn new(keys: Vec<u8>) -> Self {
        DetachScanner { keys, matched: 0 }
    }

    /// The bytes to forward, and whether the keys were typed (input after them is dropped).
    pub(crate) fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(input.len() + self.matched);
        for &b in input {
            if self.keys.get(self.matched) == Some(&b) {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    self.matched = 0;
                    return (out, true);
                }
                continue;
            }
            out.extend_from_slice(&self.keys[..self.matched]);
            self.matched = 0;
            if self.keys.first() == Some(&b) {
                self.matched = 1;
                if self.keys.len() == 1 {
                    self.matched = 0;
                    return (out, true);
                }
            } else {
                out.push(b);
            }
        }
        (out, false)
    }

    /// The input ended: what was held back.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        let held = self.keys[..self.matched].to_vec();
        self.matched = 0;
        held
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Io::Other(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Io::Other(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Unix(s) => Pin::new(s).poll_flush(cx),
            Io::Other(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Io::Other(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_are_found_across_reads() {
        let mut s = DetachScanner::new(vec![0x10, 0x11]);
        assert_eq!(s.feed(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(s.feed(b"c"), (b"\x10c".to_vec(), false));
        assert_eq!(s.feed(b"x\x10"), (b"x".to_vec(), false));
        assert_eq!(s.feed(b"\x11rest"), (Vec::new(), true));
        let mut s = DetachScanner::new(vec![0x10, 0x11]);
        assert_eq!(s.feed(b"\x10\x10\x11"), (b"\x10".to_vec(), true));
        let mut s = DetachScanner::new(vec![0x10, 0x11]);
        assert_eq!(s.feed(b"a\x10"), (b"a".to_vec(), false));
        assert_eq!(s.finish(), b"\x10");
    }

    #[test]
    fn one_key_and_longer_sequences() {
        let mut s = DetachScanner::new(vec![b'q']);
        assert_eq!(s.feed(b"abq"), (b"ab".to_vec(), true));
        let mut s = DetachScanner::new(b"abc".to_vec());
        assert_eq!(s.feed(b"ab"), (Vec::new(), false));
        assert_eq!(s.feed(b"ab"), (b"ab".to_vec(), false));
        assert_eq!(s.feed(b"c"), (Vec::new(), true));
    }

    /// The wait needs the Unix socket back from hyper: `serve_connection` must hand
    /// upgrades over as `TokioIo<conn::Io<UnixStream>>`.
    #[tokio::test]
    async fn upgraded_unix_connections_come_back_as_unix_sockets() {
        use axum::extract::Request;
        use std::sync::{Arc, Mutex};

        let (tx, rx) = tokio::sync::oneshot::channel::<bool>();
        let tx = Arc::new(Mutex::new(Some(tx)));
        let router = axum::Router::new().route(
            "/up",
            axum::routing::post(move |mut req: Request| {
                let tx = tx.clone();
                async move {
                    let on_upgrade = hyper::upgrade::on(&mut req);
                    tokio::spawn(async move {
                        let unix = match on_upgrade.await {
                            Ok(u) => Client::new(u).unix_fd().is_some(),
                            Err(_) => false,
                        };
                        if let Some(tx) = tx.lock().ok().and_then(|mut t| t.take()) {
                            let _ = tx.send(unix);
                        }
                    });
                    super::super::upgraded_response(crate::ApiVersion(1, 41), false)
                }
            }),
        );
        let (server, mut client) = UnixStream::pair().expect("socket pair");
        tokio::spawn(crate::serve_connection(server, router));
        client
            .write_all(
                b"POST /up HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n",
            )
            .await
            .expect("request");
        let mut head = [0u8; 12];
        client.read_exact(&mut head).await.expect("answer");
        assert_eq!(&head, b"HTTP/1.1 101");
        assert!(rx.await.expect("upgraded"));
    }

    #[tokio::test]
    async fn unread_counts_what_the_peer_has_not_read() {
        let (a, mut b) = UnixStream::pair().expect("socket pair");
        assert_eq!(unread(a.as_raw_fd()), Some(0));
        let mut a = a;
        a.write_all(b"HTTP/1.1 101 UPGRADED\r\n\r\n")
            .await
            .expect("write");
        assert!(unread(a.as_raw_fd()).is_some_and(|n| n > 0));
        let mut buf = [0u8; 64];
        let n = b.read(&mut buf).await.expect("read");
        assert_eq!(n, 25);
        assert_eq!(unread(a.as_raw_fd()), Some(0));
    }
}
