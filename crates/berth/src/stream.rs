//! Attached sessions: bytes between the terminal and a hijacked attach or exec stream
//! ([`pump`]), the terminal modes and sizes that go with `-t` ([`RawTerminal`],
//! [`track_size`]), the detach keys ([`DetachKeys`]), and signals passed on to the
//! container ([`proxy_signals`]).
//!
//! The detach keys are watched for here as well as by the daemon (which gets them as
//! `detachKeys` / `DetachKeys`), as the docker CLI does: the daemon ends a session the
//! same way whether the user detached or the process closed its output, so only the
//! client can tell the two apart (and so not wait for an exit that is not coming).

use std::io::Write;

use berth_client::{Client, Demux, Hijacked, StdStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The local terminal in raw mode until restored.
pub struct RawTerminal {
    orig: libc::termios,
}

pub fn is_tty(fd: i32) -> bool {
    // SAFETY: isatty has no memory effects.
    unsafe { libc::isatty(fd) == 1 }
}

impl RawTerminal {
    /// Put stdin in raw mode, if it is a terminal.
    pub fn enable() -> Option<RawTerminal> {
        if !is_tty(0) {
            return None;
        }
        let mut t = std::mem::MaybeUninit::<libc::termios>::uninit();
        // SAFETY: fd 0 is a terminal and `t` is a valid output buffer.
        if unsafe { libc::tcgetattr(0, t.as_mut_ptr()) } != 0 {
            return None;
        }
        // SAFETY: tcgetattr filled it.
        let orig = unsafe { t.assume_init() };
        let mut raw = orig;
        // SAFETY: cfmakeraw only edits the struct.
        unsafe { libc::cfmakeraw(&mut raw) };
        // SAFETY: valid fd and struct.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &raw) };
        Some(RawTerminal { orig })
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        // SAFETY: valid fd and struct.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &self.orig) };
    }
}

/// (width, height) of the terminal on stdout or stdin.
pub fn term_size() -> Option<(u16, u16)> {
    for fd in [1, 0] {
        let mut ws = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ writes a winsize into `ws`.
        if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0 && ws.ws_col > 0 {
            return Some((ws.ws_col, ws.ws_row));
        }
    }
    None
}

/// With a TTY: our terminal's size as Docker's `ConsoleSize`, `[height, width]`.
pub fn console_size(tty: bool) -> Option<[u16; 2]> {
    let (w, h) = term_size().filter(|_| tty)?;
    Some([h, w])
}

/// What a TTY's size is sent to.
#[derive(Debug, Clone)]
pub enum Resize {
    Container(String),
    Exec(String),
}

/// Send the terminal size now and on every SIGWINCH.
pub fn track_size(c: &Client, target: Resize) {
    let c = c.clone();
    tokio::spawn(async move {
        let Ok(mut sig) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
        else {
            return;
        };
        loop {
            if let Some((w, h)) = term_size() {
                let _ = match &target {
                    Resize::Container(id) => c.container_resize(id, h, w).await,
                    Resize::Exec(id) => c.exec_resize(id, h, w).await,
                };
            }
            if sig.recv().await.is_none() {
                return;
            }
        }
    });
}

/// `--sig-proxy` (without a TTY, as the docker CLI): the signals a user sends us (Ctrl-C,
/// `kill`) go to the container's process instead of ending the client.
pub fn proxy_signals(c: &Client, id: &str) {
    for num in [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGTERM,
        libc::SIGUSR1,
        libc::SIGUSR2,
    ] {
        let Ok(mut sig) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(num))
        else {
            continue;
        };
        let (c, id) = (c.clone(), id.to_string());
        tokio::spawn(async move {
            while sig.recv().await.is_some() {
                if let Err(e) = c.container_kill(&id, Some(&num.to_string())).await {
                    eprintln!("berth: forwarding signal {num}: {e}");
                }
            }
        });
    }
}

/// The key sequence that detaches from a TTY session: `--detach-keys` as the daemon reads
/// it (moby/term's `ToBytes`: comma-separated keys, each one character, `ctrl-@`,
/// `ctrl-a`..`ctrl-z`, `ctrl-[`, `ctrl-\`, `ctrl-]`, `ctrl-^`, `ctrl-_` or `DEL`), Ctrl-P
/// Ctrl-Q when none or an invalid one is given (the daemon refuses an invalid one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachKeys(Vec<u8>);

impl DetachKeys {
    pub fn new(keys: Option<&str>) -> DetachKeys {
        DetachKeys(keys.and_then(key_bytes).unwrap_or_else(|| vec![0x10, 0x11]))
    }
}

fn key_bytes(keys: &str) -> Option<Vec<u8>> {
    keys.split(',')
        .map(|key| match key.as_bytes() {
            b"DEL" => Some(0x7f),
            [c] => Some(*c),
            _ => match key.strip_prefix("ctrl-")?.as_bytes() {
                [c @ b'a'..=b'z'] => Some(c - b'a' + 1),
                [c @ (b'@' | b'[' | b'\\' | b']' | b'^' | b'_')] => Some(c - b'@'),
                _ => None,
            },
        })
        .collect()
}

/// How a stream ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The container side closed it (the process exited).
    Closed,
    /// The user typed the detach keys; the container keeps running.
    Detached,
}

/// Scans typed input for the detach keys, holding back a partial match until it knows.
#[derive(Debug)]
struct DetachScanner {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachScanner {
    fn new(keys: DetachKeys) -> DetachScanner {
        DetachScanner {
            keys: keys.0,
            matched: 0,
        }
    }

    /// The bytes to forward, and whether the keys were typed (input after them is dropped).
    fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(input.len() + self.matched);
        for &b in input {
            if b != self.keys[self.matched] && self.matched > 0 {
                // Not the sequence after all: what was held back goes through.
                out.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
            }
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return (out, true);
                }
            } else {
                out.push(b);
            }
        }
        (out, false)
    }
}

/// What [`pump`] does with a session; made before the process starts, as it puts the
/// terminal in raw mode (with a TTY and stdin) until the session ends.
pub struct Session {
    /// The output is raw (a TTY), not in Docker's frames.
    tty: bool,
    /// Our stdin goes to the stream.
    stdin: bool,
    /// With a TTY and stdin: the keys that end the session.
    detach_keys: DetachKeys,
    raw: Option<RawTerminal>,
}

impl Session {
    pub fn new(tty: bool, stdin: bool, detach_keys: Option<&str>) -> Session {
        Session {
            tty,
            stdin,
            detach_keys: DetachKeys::new(detach_keys),
            raw: if tty && stdin {
                RawTerminal::enable()
            } else {
                None
            },
        }
    }
}

/// Copy our stdin into the stream (when `stdin`) and the stream's output to our
/// stdout/stderr (demultiplexed unless `tty`) until the output ends or, with a TTY, the
/// user types the detach keys.
pub async fn pump(stream: Hijacked, session: Session) -> std::io::Result<Ended> {
    let Session {
        tty,
        stdin,
        detach_keys,
        raw,
    } = session;
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (detach_tx, mut detach_rx) = tokio::sync::oneshot::channel::<()>();
    let input = if stdin {
        let mut scanner = tty.then(|| DetachScanner::new(detach_keys));
        Some(tokio::spawn(async move {
            let mut stdin = tokio::io::stdin();
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match stdin.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let (data, detached) = match &mut scanner {
                            Some(s) => s.feed(&buf[..n]),
                            None => (buf[..n].to_vec(), false),
                        };
                        if wr.write_all(&data).await.is_err() {
                            return;
                        }
                        if detached {
                            let _ = detach_tx.send(());
                            return;
                        }
                    }
                }
            }
            let _ = wr.shutdown().await;
        }))
    } else {
        drop(wr);
        None
    };
    let mut demux = Demux::default();
    let mut buf = vec![0u8; 32 * 1024];
    // Whether the stdin task is still there to say "detached" (once its sender is gone,
    // the receiver must not be polled again).
    let mut may_detach = true;
    let ended = loop {
        let n = tokio::select! {
            r = rd.read(&mut buf) => r?,
            d = &mut detach_rx, if may_detach => match d {
                Ok(()) => break Ended::Detached,
                Err(_) => {
                    may_detach = false;
                    continue;
                }
            },
        };
        if n == 0 {
            break Ended::Closed;
        }
        if tty {
            write_out(StdStream::Stdout, &buf[..n])?;
            continue;
        }
        for (s, data) in demux.push(&buf[..n]) {
            write_out(s, &data)?;
        }
    };
    if let Some(t) = input {
        t.abort();
    }
    drop(raw);
    Ok(ended)
}

/// Write a piece of a container's output to our stdout or stderr, at once.
pub fn write_out(stream: StdStream, data: &[u8]) -> std::io::Result<()> {
    if stream == StdStream::Stderr {
        let mut e = std::io::stderr().lock();
        e.write_all(data)?;
        e.flush()
    } else {
        let mut o = std::io::stdout().lock();
        o.write_all(data)?;
        o.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse_as_the_daemon_reads_them() {
        let k = |s: &str| DetachKeys::new(Some(s)).0;
        assert_eq!(DetachKeys::new(None).0, [0x10, 0x11]);
        assert_eq!(k("ctrl-p,ctrl-q"), [0x10, 0x11]);
        assert_eq!(k("ctrl-a,x,DEL"), [1, b'x', 127]);
        assert_eq!(
            k("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_"),
            [0, 27, 28, 29, 30, 31]
        );
        assert_eq!(k("ctrl-z"), [26]);
        // Invalid: the default (the daemon refuses them with its message).
        for bad in ["ctrl-P", "ctrl-", "ab", "ctrl-p,", "", "ctrl-1", "é"] {
            assert_eq!(k(bad), [0x10, 0x11], "{bad:?}");
        }
    }

    #[test]
    fn detach_keys_are_found_across_reads() {
        let mut s = DetachScanner::new(DetachKeys::new(None));
        assert_eq!(s.feed(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(s.feed(b"c"), (b"\x10c".to_vec(), false));
        assert_eq!(s.feed(b"x\x10"), (b"x".to_vec(), false));
        assert_eq!(s.feed(b"\x11rest"), (Vec::new(), true));
        let mut s = DetachScanner::new(DetachKeys::new(None));
        assert_eq!(s.feed(b"\x10\x10\x11"), (b"\x10".to_vec(), true));
        let mut s = DetachScanner::new(DetachKeys::new(Some("ctrl-a,x,y")));
        assert_eq!(s.feed(b"\x01x\x01"), (b"\x01x".to_vec(), false));
        assert_eq!(s.feed(b"xy"), (Vec::new(), true));
        let mut s = DetachScanner::new(DetachKeys::new(Some("ctrl-x")));
        assert_eq!(s.feed(b"a\x18b"), (b"a".to_vec(), true));
    }
}
