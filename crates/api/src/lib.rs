//! The Docker Engine API over axum: routes, version negotiation, error mapping.
//!
//! [`router`] builds the routes over an [`Engine`]; [`serve_unix`] and [`serve_tcp`] accept
//! connections on a listener and serve each with hyper (HTTP/1.1 with upgrades, for
//! attach). Each request's `/vX.Y` prefix is stripped and checked before routing
//! ([`version`]). Handlers live in one module per route group ([`containers`], [`exec`],
//! [`commit`], [`images`], [`networks`], [`volumes`], [`system`]), each generic over the
//! small backend trait it declares (moby's router `Backend` interfaces:
//! [`ContainerBackend`], [`ExecBackend`], ...), which the engine implements (`engine.rs`)
//! and unit tests fake; what Berth does not have answers as dockerd does with it off
//! ([`swarm`], [`plugins`]); [`error`] is the one place that picks status codes. Every request body is a [`DrainOnDrop`]: whatever the answer, the part of the body
//! a handler left unread is read and dropped, so the client gets the answer and not a
//! broken pipe.

#![recursion_limit = "256"]

mod body;
pub mod commit;
mod conn;
pub mod containers;
mod engine;
pub mod error;
pub mod exec;
pub mod images;
pub mod networks;
pub mod plugins;
pub mod swarm;
pub mod system;
pub mod version;
pub mod volumes;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Bytes, HttpBody};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use berth_engine::Engine;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming, SizeHint};
use tower::ServiceExt;

pub use commit::CommitBackend;
pub use conn::{serve_connection, serve_tcp, serve_unix};
pub use containers::ContainerBackend;
pub use error::{ApiError, ApiResult};
pub use exec::ExecBackend;
pub use images::ImageBackend;
pub use networks::NetworkBackend;
pub use system::SystemBackend;
pub use version::ApiVersion;
pub use volumes::VolumeBackend;

/// The most a handler buffers of a request body it parses whole (JSON): dockerd sets no
/// limit, axum's default (2 MiB) refused big but valid bodies (a create with a large
/// environment).
pub const BUFFERED_BODY_LIMIT: usize = 64 << 20;

/// All routes (paths without the version prefix), over the engine.
pub fn router(engine: Arc<Engine>) -> Router {
    Router::new()
        .merge(system::routes::<Engine>())
        .merge(images::routes::<Engine>())
        .merge(containers::routes::<Engine>())
        .merge(exec::routes::<Engine>())
        .merge(commit::routes::<Engine>())
        .merge(swarm::routes())
        .merge(plugins::routes())
        .merge(networks::routes::<Engine>())
        .merge(volumes::routes::<Engine>())
        .fallback(page_not_found)
        // dockerd answers a known path with another method as an unknown path, not 405.
        .method_not_allowed_fallback(page_not_found)
        .layer(DefaultBodyLimit::max(BUFFERED_BODY_LIMIT))
        .with_state(engine)
}

async fn page_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "page not found")
}

/// berthd's `Server` header.
pub(crate) const SERVER: &str = concat!("Berth/", env!("CARGO_PKG_VERSION"), " (linux)");

/// Strip and check the version prefix, check a JSON body's type, route, and add Docker's
/// response headers; every error answer is `{"message": ...}`.
pub(crate) async fn handle(router: Router, mut req: Request) -> Response {
    let mut resp = match version::split(req.uri()) {
        Ok((version, uri)) => {
            if let Some(uri) = uri {
                *req.uri_mut() = uri;
            }
            req.extensions_mut().insert(version);
            match check_body_type(&req) {
                Err(e) => e.into_response(),
                Ok(()) => match router.oneshot(req).await {
                    Ok(r) => json_error(r).await,
                    Err(never) => match never {},
                },
            }
        }
        Err(e) => e.into_response(),
    };
    if resp.status() == StatusCode::NOT_FOUND {
        // Set by axum on a path known with other methods (see `router`).
        resp.headers_mut().remove(header::ALLOW);
    }
    conn::add_docker_headers(&mut resp);
    resp
}

/// The length of a request's body: `Some(0)` without one, `None` when unknown (chunked).
fn body_length(req: &Request) -> Option<u64> {
    match req.headers().get(header::CONTENT_LENGTH) {
        Some(v) => v.to_str().ok().and_then(|v| v.parse().ok()),
        None if req.headers().contains_key(header::TRANSFER_ENCODING) => None,
        None => Some(0),
    }
}

/// dockerd's checks of a request body's type before the handler runs: the routes that
/// read a JSON body refuse a body of another `Content-Type` (no type at all is fine only
/// without a body), and a start refuses a body (a `HostConfig` at start went away in API
/// 1.24).
fn check_body_type(req: &Request) -> ApiResult<()> {
    if req.method() != axum::http::Method::POST {
        return Ok(());
    }
    let segments: Vec<&str> = req.uri().path().trim_matches('/').split('/').collect();
    let json = match segments.as_slice() {
        ["containers", "create"] | ["commit"] => true,
        ["containers", _, "update" | "exec"] | ["exec", _, "start"] => true,
        ["networks", "create"] | ["networks", _, "connect" | "disconnect"] => true,
        ["volumes", "create"] => true,
        ["containers", _, "start"] => {
            // A JSON object that is not empty has at least 7 bytes (dockerd's test).
            if body_length(req).is_none_or(|n| n > 7) {
                return Err(ApiError::bad_request(
                    "starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24",
                ));
            }
            false
        }
        _ => false,
    };
    if !json {
        return Ok(());
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    if content_type.is_empty() && body_length(req) == Some(0) {
        return Ok(());
    }
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if mime.eq_ignore_ascii_case("application/json") {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "Content-Type specified ({content_type}) must be 'application/json'"
    )))
}

/// Docker answers every error with `{"message": ...}`. The rejections of axum's extractors
/// (a query string that does not parse, a body over [`BUFFERED_BODY_LIMIT`]) are plain
/// text: their text becomes the message; an error without a body gets its status's reason.
async fn json_error(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let content_type = resp.headers().get(header::CONTENT_TYPE);
    let plain = content_type.is_some_and(|t| t.as_bytes().starts_with(b"text/plain"));
    let empty = content_type.is_none() && resp.body().size_hint().exact() == Some(0);
    if !plain && !empty {
        return resp;
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            status,
            format!(
                "request body too large: more than {} MiB",
                BUFFERED_BODY_LIMIT >> 20
            ),
        )
        .into_response();
    }
    let text = match resp.into_body().collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        Err(e) => e.to_string(),
    };
    let text = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    ApiError::new(status, text).into_response()
}

/// How much of a request body is read and dropped after its handler stopped reading it
/// ([`DrainOnDrop`]); past this, or [`DRAIN_TIME`], the connection is closed instead.
const DRAIN_BYTES: u64 = 1 << 30;
/// How long a request body is read after its handler stopped reading it.
const DRAIN_TIME: Duration = Duration::from_secs(60);

/// A request body that, dropped before its end (the request was refused before its body
/// was read: unknown route, bad version, a handler that answers early or gives up on an
/// upload), has the rest read and dropped by a task, up to [`DRAIN_BYTES`] and
/// [`DRAIN_TIME`]. hyper closes a connection whose request body is left unread, and a
/// client still writing it then gets EPIPE (docker-compose dies of SIGPIPE, the docker
/// CLI reports a broken pipe) instead of reading the answer, which is written meanwhile.
/// Nothing is buffered: the rest is read chunk by chunk and dropped.
pub struct DrainOnDrop {
    body: Option<Incoming>,
    /// The server's runtime, for the drain task: the body may be dropped on another thread.
    rt: Option<tokio::runtime::Handle>,
}

impl DrainOnDrop {
    /// Wrap `body`; call on the runtime that serves the connection.
    pub fn new(body: Incoming) -> Self {
        DrainOnDrop {
            body: Some(body),
            rt: tokio::runtime::Handle::try_current().ok(),
        }
    }
}

impl HttpBody for DrainOnDrop {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let Some(body) = this.body.as_mut() else {
            return Poll::Ready(None);
        };
        let frame = Pin::new(body).poll_frame(cx);
        if matches!(frame, Poll::Ready(None | Some(Err(_)))) {
            // The end, or a broken body: nothing left to drain.
            this.body = None;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

impl Drop for DrainOnDrop {
    fn drop(&mut self) {
        let Some(body) = self.body.take() else {
            return;
        };
        if body.is_end_stream() {
            return;
        }
        if let Some(rt) = &self.rt {
            rt.spawn(drain(body));
        }
    }
}

/// Read and drop the rest of `body`, within [`DRAIN_BYTES`] and [`DRAIN_TIME`].
async fn drain(mut body: Incoming) {
    let read = async {
        let mut read: u64 = 0;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return read;
            };
            if let Some(data) = frame.data_ref() {
                read += data.len() as u64;
                if read > DRAIN_BYTES {
                    break;
                }
            }
        }
        read
    };
    match tokio::time::timeout(DRAIN_TIME, read).await {
        Ok(n) if n > DRAIN_BYTES => {
            tracing::debug!("closing the connection: request body left unread past {n} bytes");
        }
        Ok(n) => tracing::trace!("drained {n} unread bytes of a request body"),
        Err(_) => tracing::debug!("closing the connection: request body still coming"),
    }
}

/// Docker's boolean query values: anything but "", "0", "false" is true.
/// The first value of a query parameter (`Query<Vec<(String, String)>>` keeps repeats).
pub(crate) fn first<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a String> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// A query parameter's first value, or empty.
pub(crate) fn text(q: &[(String, String)], key: &str) -> String {
    first(q, key).cloned().unwrap_or_default()
}

/// Every value of a repeated query parameter (`changes`).
pub(crate) fn all(q: &[(String, String)], key: &str) -> Vec<String> {
    q.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

pub fn truthy(v: Option<&String>) -> bool {
    v.is_some_and(|s| !matches!(s.as_str(), "" | "0" | "false" | "False" | "FALSE"))
}

/// Query parameters a route receives and Berth does not act on (`(name, what it asks for)`):
/// refused with a 501 naming them when set to anything but empty, `0` or `false`, rather
/// than ignored.
pub(crate) fn refuse_params(
    q: &std::collections::HashMap<String, String>,
    params: &[(&str, &str)],
) -> ApiResult<()> {
    match params.iter().find(|(name, _)| truthy(q.get(*name))) {
        Some((name, what)) => Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            format!("query parameter {name}: {what} is not supported yet"),
        )),
        None => Ok(()),
    }
}

/// `platform` of a container create (`os[/arch[/variant]]`, the docker CLI's `--platform`):
/// Berth runs images of the host's platform only, so any other is refused.
pub(crate) fn check_platform(q: &std::collections::HashMap<String, String>) -> ApiResult<()> {
    let Some(p) = q.get("platform").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let mut parts = p.split('/');
    let os_ok = parts.next() == Some("linux");
    let arch_ok = parts.next().is_none_or(|a| a == arch);
    if os_ok && arch_ok {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        format!(
            "platform {p} (--platform): only images of the host's platform (linux/{arch}) are supported"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truthy_matches_docker() {
        for t in ["1", "true", "True", "yes"] {
            assert!(truthy(Some(&t.to_string())), "{t}");
        }
        for f in ["", "0", "false", "False"] {
            assert!(!truthy(Some(&f.to_string())), "{f}");
        }
        assert!(!truthy(None));
    }
}
