//! The Docker Engine API over axum: routes, version negotiation, error mapping.
//!
//! [`router`] builds the routes over an [`Engine`]; [`serve`] accepts connections on a
//! listener and serves each with hyper (HTTP/1.1 with upgrades, for attach). Each request's
//! `/vX.Y` prefix is stripped and checked before routing ([`version`]); handlers live in
//! [`system`], [`images`] and [`containers`]; [`error`] is the one place that picks status
//! codes.

#![recursion_limit = "256"]

pub mod commit;
pub mod containers;
pub mod error;
pub mod exec;
pub mod images;
pub mod system;
pub mod version;

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use berth_engine::Engine;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tower::ServiceExt;

pub use error::{ApiError, ApiResult};
pub use version::ApiVersion;

/// Shared state of every handler.
pub type AppState = Arc<Engine>;

/// All routes (paths without the version prefix).
pub fn router(engine: Arc<Engine>) -> Router {
    Router::new()
        .merge(system::routes())
        .merge(images::routes())
        .merge(containers::routes())
        .merge(exec::routes())
        .merge(commit::routes())
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "page not found") })
        .with_state(engine)
}

/// Strip and check the version prefix, route, and add Docker's response headers.
async fn handle(router: Router, mut req: Request) -> Response {
    let version = match version::split(req.uri()) {
        Ok((v, uri)) => {
            if let Some(uri) = uri {
                *req.uri_mut() = uri;
            }
            v
        }
        Err(e) => return e.into_response(),
    };
    req.extensions_mut().insert(version);
    let mut resp = match router.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let h = resp.headers_mut();
    h.insert(
        "Api-Version",
        HeaderValue::from_static(berth_models::API_VERSION_MAX),
    );
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert("Ostype", HeaderValue::from_static("linux"));
    h.insert(
        "Server",
        HeaderValue::from_static(concat!("Berth/", env!("CARGO_PKG_VERSION"), " (linux)")),
    );
    resp
}

/// Serve one accepted connection until it closes (HTTP/1.1, keep-alive, upgrades).
pub async fn serve_connection<IO>(io: IO, router: Router)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let router = router.clone();
        async move { Ok::<_, Infallible>(handle(router, req.map(Body::new)).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
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

/// Docker's boolean query values: anything but "", "0", "false" is true.
pub fn truthy(v: Option<&String>) -> bool {
    v.is_some_and(|s| !matches!(s.as_str(), "" | "0" | "false" | "False" | "FALSE"))
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
