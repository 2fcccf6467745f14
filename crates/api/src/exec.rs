//! `docker exec`: `POST /containers/{id}/exec`, `POST /exec/{id}/start`,
//! `GET /exec/{id}/json`, `POST /exec/{id}/resize`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_engine::Result;
use berth_engine::exec::StdioSession;
use berth_models::{ExecConfig, ExecInspect, ExecStartConfig, ForVersion, IdResponse};
use serde::Deserialize;
use tokio::net::UnixStream;

use crate::containers::{dimension, stdio, upgraded_response};
use crate::version::ApiVersion;
use crate::{ApiError, ApiResult};

/// What the exec routes ask of the daemon (moby's `router/container` `execBackend`).
pub trait ExecBackend: Send + Sync + 'static {
    /// A new exec in container `container`: its id.
    fn exec_create(&self, container: &str, config: ExecConfig) -> Result<String>;
    /// The TTY size the start asked for.
    fn exec_console_size(&self, id: &str, size: [u16; 2]);
    /// Whether exec `id` can start, and how its stream runs (before the hijack).
    fn exec_check(&self, id: &str) -> Result<StdioSession>;
    /// Run exec `id`: its stdio stream unless `detach` (raw with `tty_stream`).
    fn exec_start(
        &self,
        id: &str,
        detach: bool,
        tty_stream: bool,
    ) -> impl Future<Output = Result<Option<UnixStream>>> + Send;
    fn exec_inspect(&self, id: &str) -> impl Future<Output = Result<ExecInspect>> + Send;
    fn exec_resize(
        &self,
        id: &str,
        width: u16,
        height: u16,
    ) -> impl Future<Output = Result<()>> + Send;
}

pub fn routes<B: ExecBackend>() -> Router<Arc<B>> {
    Router::new()
        .route("/containers/{id}/exec", post(create::<B>))
        .route("/exec/{id}/start", post(start::<B>))
        .route("/exec/{id}/json", get(inspect::<B>))
        .route("/exec/{id}/resize", post(resize::<B>))
}

fn parse_json<T: for<'de> Deserialize<'de> + Default>(body: &Bytes) -> ApiResult<T> {
    if body.is_empty() {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON in request body: {e}")))
}

async fn create<B: ExecBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    Extension(version): Extension<ApiVersion>,
    body: Bytes,
) -> ApiResult<Response> {
    let config: ExecConfig = parse_json::<ExecConfig>(&body)?.versioned(version);
    let id = backend.exec_create(&id, config)?;
    Ok((StatusCode::CREATED, Json(IdResponse { id })).into_response())
}

async fn start<B: ExecBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    Extension(version): Extension<ApiVersion>,
    mut req: Request,
) -> ApiResult<Response> {
    let body = axum::body::to_bytes(std::mem::take(req.body_mut()), 64 * 1024)
        .await
        .map_err(|e| ApiError::bad_request(format!("reading request body: {e}")))?;
    let start = parse_json::<ExecStartConfig>(&body)?.versioned(version);
    if let Some(size) = start.console_size {
        backend.exec_console_size(&id, size);
    }
    if start.detach {
        backend.exec_start(&id, true, false).await?;
        return Ok(StatusCode::OK.into_response());
    }
    let session = backend.exec_check(&id)?;
    // As dockerd: the start's `Tty` says whether the stream is raw or framed (the
    // create's says whether the process gets a pty).
    let tty = start.tty;
    let upgrade = req.headers().contains_key(header::UPGRADE);
    if !upgrade {
        // Old clients: run it and send the output as the response body.
        let stream = backend.exec_start(&id, false, tty).await?;
        let stream = stream.ok_or_else(|| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "exec has no stream")
        })?;
        let body = Body::from_stream(tokio_util_stream(stream));
        return Response::builder()
            .status(StatusCode::OK)
            .header(
                header::CONTENT_TYPE,
                crate::containers::stream_type(version, tty),
            )
            .body(body)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()));
    }
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                // The client hung up before the stream: the command runs all the same,
                // as with dockerd, its output going nowhere.
                tracing::debug!("exec upgrade failed: {e}; starting it detached");
                if let Err(e) = backend.exec_start(&id, true, false).await {
                    tracing::debug!("exec start: {}", e.message);
                }
                return;
            }
        };
        let client = stdio::Client::new(upgraded);
        match backend.exec_start(&id, false, tty).await {
            Ok(Some(shim)) => {
                let session = stdio::Session {
                    detach_keys: session.detach_keys,
                    // dockerd 20.10 ends a detached exec session with this error.
                    on_detach: stream_message(
                        "exec attach failed: error on attach stdin: read escape sequence",
                        tty,
                    ),
                    prologue: Vec::new(),
                };
                stdio::pump(client, shim, session).await;
            }
            Ok(None) => {}
            Err(e) => {
                // Like Docker: once hijacked, the error goes down the stream as output.
                let msg = Bytes::from(stream_message(&e.message, tty));
                client.send_and_close(&[msg]).await;
            }
        }
    });
    Ok(upgraded_response(version, tty))
}

/// `msg` and CRLF as dockerd writes an error into a hijacked stream: a stdout frame
/// unless the stream is raw.
fn stream_message(msg: &str, tty: bool) -> Vec<u8> {
    let msg = format!("{msg}\r\n");
    let mut out = Vec::with_capacity(msg.len() + 8);
    if !tty {
        out.push(1);
        out.extend_from_slice(&[0, 0, 0]);
        out.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    }
    out.extend_from_slice(msg.as_bytes());
    out
}

/// A Unix stream as a body stream of chunks.
fn tokio_util_stream(
    mut stream: tokio::net::UnixStream,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> {
    futures_util::stream::poll_fn(move |cx| {
        let mut buf = vec![0u8; 32 * 1024];
        let mut rb = tokio::io::ReadBuf::new(&mut buf);
        match tokio::io::AsyncRead::poll_read(std::pin::Pin::new(&mut stream), cx, &mut rb) {
            std::task::Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                if n == 0 {
                    std::task::Poll::Ready(None)
                } else {
                    buf.truncate(n);
                    std::task::Poll::Ready(Some(Ok(Bytes::from(buf))))
                }
            }
            std::task::Poll::Ready(Err(e)) => std::task::Poll::Ready(Some(Err(e))),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    })
}

async fn inspect<B: ExecBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
) -> ApiResult<Json<ExecInspect>> {
    Ok(Json(backend.exec_inspect(&id).await?))
}

async fn resize<B: ExecBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    backend
        .exec_resize(&id, dimension(&q, "w")?, dimension(&q, "h")?)
        .await?;
    Ok(StatusCode::OK)
}
