//! One client connection: hyper serving it, each request in a task of its own, and
//! hyper's own error answers rewritten as Docker's JSON.
//!
//! **Requests outlive their clients.** [`serve_connection`] runs each request's handler in
//! a spawned task that the connection awaits. A client that hangs up makes hyper drop the
//! connection's futures, not the task: a stop still stops the container, a create is kept
//! or rolled back, a load or commit finishes or cleans up (their request bodies end with
//! an error), whether or not anyone is still there to read the answer. A handler that
//! panics answers 500 with a message instead of closing the connection.
//!
//! **Every answer is JSON.** Requests that hyper cannot parse (a head over
//! [`MAX_HEAD_BYTES`] or [`MAX_HEADERS`] fields: 431; a URI over 64 KiB: 414; a malformed
//! request line or header, a bad `Content-Length`: 400) never reach the service: hyper
//! answers them itself with an empty body and closes the connection. [`Io`], the
//! connection as hyper sees it, recognizes that answer and sends Docker's
//! `{"message": ...}` with the same status instead. It can tell hyper's answer from the
//! service's because hyper only writes one when no request is in flight and everything
//! before it has been flushed ([`ConnState`]); anything else passes through untouched.
//! The limits stay hyper's: the head is buffered up to [`MAX_HEAD_BYTES`], no more.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::{ApiError, DrainOnDrop};

/// The most a request's line and headers may take (hyper's read buffer): over it, 431.
pub const MAX_HEAD_BYTES: usize = 8192 + 4096 * 100;
/// The most header fields a request may have: over it, 431.
pub const MAX_HEADERS: usize = 100;

/// What the service and the connection's [`Io`] share about one connection.
#[derive(Debug, Default)]
pub(crate) struct ConnState {
    /// Requests handed to the service whose answer hyper has not yet taken whole.
    in_flight: AtomicUsize,
    /// hyper flushed everything while no request was in flight: the next answer it
    /// writes, if any, is its own (a request it could not parse).
    quiet: AtomicBool,
    /// The connection was upgraded (attach, exec): the bytes are no longer HTTP.
    upgraded: AtomicBool,
}

impl ConnState {
    fn new() -> Arc<ConnState> {
        Arc::new(ConnState {
            quiet: AtomicBool::new(true),
            ..ConnState::default()
        })
    }

    /// A request reached the service.
    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.quiet.store(false, Ordering::SeqCst);
        InFlight(Arc::clone(self))
    }

    /// Whether a write now can only be hyper's own answer.
    fn hypers_turn(&self) -> bool {
        self.quiet.load(Ordering::SeqCst)
            && self.in_flight.load(Ordering::SeqCst) == 0
            && !self.upgraded.load(Ordering::SeqCst)
    }
}

/// One request in flight, until its answer's body has been taken whole (or dropped).
struct InFlight(Arc<ConnState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An answer's body that keeps its request [`InFlight`] until it ends.
pub(crate) struct Tracked {
    body: Body,
    in_flight: Option<InFlight>,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let frame = ready!(Pin::new(&mut this.body).poll_frame(cx));
        if !matches!(frame, Some(Ok(_))) {
            this.in_flight = None;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The answer to a request whose task panicked (or was cancelled).
fn task_failed(e: tokio::task::JoinError) -> Response {
    let why = if e.is_panic() {
        let p = e.into_panic();
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into())
    } else {
        e.to_string()
    };
    tracing::error!("request handler failed: {why}");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("internal error: the request's handler failed: {why}"),
    )
    .into_response()
}

/// Serve one accepted connection until it closes (HTTP/1.1, keep-alive, upgrades).
pub async fn serve_connection<T>(io: T, router: Router)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let state = ConnState::new();
    let service = {
        let state = Arc::clone(&state);
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let in_flight = state.begin();
            let state = Arc::clone(&state);
            let req = req.map(|b| Body::new(DrainOnDrop::new(b)));
            // The request's own task: dropping this future (the client hung up) does not
            // stop it.
            let task = tokio::spawn(crate::handle(router.clone(), req));
            async move {
                let resp = task.await.unwrap_or_else(task_failed);
                if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
                    state.upgraded.store(true, Ordering::SeqCst);
                }
                Ok::<_, Infallible>(resp.map(|body| Tracked {
                    body,
                    in_flight: Some(in_flight),
                }))
            }
        })
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS)
        .serve_connection(TokioIo::new(Io::new(io, state)), service)
        .with_upgrades();
    if let Err(e) = conn.await {
        tracing::debug!("connection ended: {e}");
    }
}

/// Accept connections on a Unix socket forever.
pub async fn serve_unix(listener: tokio::net::UnixListener, router: Router) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve_connection(stream, router.clone()));
            }
            Err(e) => {
                tracing::warn!("accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// Accept connections on a TCP socket forever.
pub async fn serve_tcp(listener: tokio::net::TcpListener, router: Router) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve_connection(stream, router.clone()));
            }
            Err(e) => {
                tracing::warn!("accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// A connection as hyper sees it: `T` itself, except that hyper's own answer to a request
/// it could not parse goes out as Docker's JSON error (see the module doc).
pub struct Io<T> {
    inner: T,
    state: Arc<ConnState>,
    /// The JSON answer being written in place of hyper's: its bytes, how many went out,
    /// and how many bytes of hyper's to report written once it is all out.
    replacing: Option<(Vec<u8>, usize, usize)>,
}

impl<T> Io<T> {
    fn new(inner: T, state: Arc<ConnState>) -> Io<T> {
        Io {
            inner,
            state,
            replacing: None,
        }
    }

    /// The connection itself (after an upgrade).
    pub fn into_inner(self) -> T {
        self.inner
    }
}

/// The JSON answer that replaces hyper's `head`, if `head` is one of hyper's automatic
/// answers to a request it could not parse: an error status line and headers with an
/// empty body.
fn json_answer(head: &[u8]) -> Option<Vec<u8>> {
    if !head.ends_with(b"\r\n\r\n") {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?;
    let status_line = text.lines().next()?;
    let code: u16 = status_line
        .strip_prefix("HTTP/1.1 ")?
        .get(..3)?
        .parse()
        .ok()?;
    if !text
        .to_ascii_lowercase()
        .contains("\r\ncontent-length: 0\r\n")
    {
        return None;
    }
    let message = match code {
        431 => format!(
            "request header fields too large: a request's line and headers must fit in {} KiB, with at most {MAX_HEADERS} header fields",
            MAX_HEAD_BYTES >> 10
        ),
        414 => "request URI too long: at most 65534 bytes".to_string(),
        400 => "malformed HTTP request: its request line, version or a header could not be parsed (or a Content-Length is invalid)".to_string(),
        _ => return None,
    };
    let status = StatusCode::from_u16(code).ok()?;
    let body = serde_json::to_vec(&berth_models::ErrorResponse { message }).ok()?;
    tracing::debug!(status = code, "request that could not be parsed");
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n{}: application/json\r\n{}: {}\r\n{}: close\r\nApi-Version: {}\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: {}\r\n\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or(""),
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        body.len(),
        header::CONNECTION,
        berth_models::API_VERSION_MAX,
        crate::SERVER,
    )
    .into_bytes();
    out.extend_from_slice(&body);
    Some(out)
}

impl<T: AsyncWrite + Unpin> Io<T> {
    /// Write the replacement answer; once it is out, report hyper's bytes written.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        while let Some((bytes, done, theirs)) = &mut self.replacing {
            if *done == bytes.len() {
                let theirs = *theirs;
                self.replacing = None;
                return Poll::Ready(Ok(theirs));
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*done..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *done += n;
        }
        Poll::Ready(Ok(0))
    }

    /// Whether `bufs` is hyper's own answer: then start writing the JSON one instead.
    fn replace(&mut self, bufs: &[&[u8]]) -> bool {
        if self.replacing.is_some() || !self.state.hypers_turn() {
            return self.replacing.is_some();
        }
        let head = bufs.concat();
        match json_answer(&head) {
            Some(answer) => {
                self.replacing = Some((answer, 0, head.len()));
                true
            }
            None => false,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Io<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Io<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.replace(&[buf]) {
            return this.poll_replacement(cx);
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let slices: Vec<&[u8]> = bufs.iter().map(|b| &**b).collect();
        if this.replace(&slices) {
            return this.poll_replacement(cx);
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(Pin::new(&mut this.inner).poll_flush(cx))?;
        // hyper flushes its buffer before flushing the connection: with no request in
        // flight, all it had to say is out.
        if this.state.in_flight.load(Ordering::SeqCst) == 0 {
            this.state.quiet.store(true, Ordering::SeqCst);
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Docker's headers on every answer.
pub(crate) fn add_docker_headers(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(
        "Api-Version",
        HeaderValue::from_static(berth_models::API_VERSION_MAX),
    );
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert("Ostype", HeaderValue::from_static("linux"));
    h.insert(header::SERVER, HeaderValue::from_static(crate::SERVER));
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::UnixStream;

    #[test]
    fn hypers_answers_become_json() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(json_answer(head).expect("replaced")).expect("utf-8");
        assert!(out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        let (_, body) = out.split_once("\r\n\r\n").expect("body");
        let v: serde_json::Value = serde_json::from_str(body).expect("json");
        assert!(
            v["message"]
                .as_str()
                .expect("message")
                .contains("too large")
        );
        // Not hyper's automatic answers: left alone.
        assert!(json_answer(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(json_answer(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n").is_none());
        assert!(json_answer(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n").is_none());
    }

    async fn exchange(request: &[u8]) -> String {
        let router = Router::new().route(
            "/ping",
            axum::routing::get(|| async { "OK" }).post(|| async { StatusCode::NO_CONTENT }),
        );
        let (server, client) = UnixStream::pair().expect("socket pair");
        tokio::spawn(serve_connection(server, router));
        let (mut r, mut w) = client.into_split();
        let request = request.to_vec();
        // The server may answer and close before it read everything; the connection
        // stays open until it does (hyper does not answer a head cut short).
        tokio::spawn(async move {
            let _ = w.write_all(&request).await;
            std::future::pending::<()>().await;
            drop(w);
        });
        let mut out = Vec::new();
        let _ = r.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test]
    async fn unparsable_requests_get_json_after_good_ones() {
        let out = exchange(
            b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\nPOST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nG@T /ping HTTP/1.1\r\n\r\n",
        )
        .await;
        let answers: Vec<&str> = out.matches("HTTP/1.1 ").collect();
        assert_eq!(answers.len(), 3, "{out}");
        assert!(out.contains("\r\n\r\nOK"), "{out}");
        assert!(out.contains("HTTP/1.1 204"), "{out}");
        let last = &out[out.rfind("HTTP/1.1 ").expect("last")..];
        assert!(last.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{last}");
        assert!(last.contains("application/json"), "{last}");
        assert!(
            last.contains(r#"{"message":"malformed HTTP request"#),
            "{last}"
        );
    }

    #[tokio::test]
    async fn oversized_heads_get_json() {
        let mut req = b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
        req.extend(std::iter::repeat_n(b'a', 2 * MAX_HEAD_BYTES));
        req.extend_from_slice(b"\r\n\r\n");
        let out = exchange(&req).await;
        assert!(
            out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{out}"
        );
        assert!(
            out.contains(r#"{"message":"request header fields too large"#),
            "{out}"
        );
    }
}
