//! `POST /commit`, `GET /containers/{id}/changes`, `GET /containers/{id}/export`, and
//! `POST /images/create?fromSrc=` (import).

use std::collections::HashMap;
use std::io::Write;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_engine::CommitOptions;
use berth_models::{ContainerConfig, FilesystemChange, IdResponse, JsonMessage};
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::{ApiError, ApiResult, AppState, truthy};

/// Query parameters in order, repeated keys kept (`changes`).
type Pairs = Query<Vec<(String, String)>>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/commit", post(commit))
        .route("/containers/{id}/changes", get(changes))
        .route("/containers/{id}/export", get(export))
}

fn first<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a String> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn text(q: &[(String, String)], key: &str) -> String {
    first(q, key).cloned().unwrap_or_default()
}

fn all(q: &[(String, String)], key: &str) -> Vec<String> {
    q.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

async fn commit(
    State(engine): State<AppState>,
    Query(q): Pairs,
    body: Bytes,
) -> ApiResult<Response> {
    let container = text(&q, "container");
    if container.is_empty() {
        return Err(ApiError::bad_request("container is required"));
    }
    // The body is a container config to commit instead of the container's (`null` or
    // none: the container's).
    let config: Option<ContainerConfig> = if body.is_empty() {
        None
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON in request body: {e}")))?
    };
    let opts = CommitOptions {
        repo: text(&q, "repo"),
        tag: text(&q, "tag"),
        comment: text(&q, "comment"),
        author: text(&q, "author"),
        // Docker pauses unless told `pause=0`.
        pause: first(&q, "pause").is_none_or(|p| p.is_empty() || truthy(Some(p))),
        changes: all(&q, "changes"),
        config,
    };
    let id = engine.commit(&container, opts).await?;
    Ok((StatusCode::CREATED, Json(IdResponse { id })).into_response())
}

async fn changes(
    State(engine): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<FilesystemChange>>> {
    Ok(Json(engine.changes(&id).await?))
}

/// A blocking writer that sends 256 KiB chunks to an async body.
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(256 * 1024),
        ));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 256 * 1024 {
            self.send()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// The tar streams as it is written; an error midway ends the body abruptly, so the
/// client sees a truncated transfer rather than a tar that looks complete.
async fn export(State(engine): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let write = engine.export(&id)?;
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(256 * 1024),
        };
        let result = write(&mut w).and_then(|()| {
            w.flush()
                .map_err(|e| berth_engine::Error::io("sending the export", e))
        });
        if let Err(e) = result {
            tracing::warn!("export of {id}: {e}");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok((
        // dockerd's type (Go's guess for a tar), the one the API description gives.
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from_stream(body),
    )
        .into_response())
}

/// `POST /images/create`: an import with `fromSrc`, else a pull.
pub(crate) async fn create(
    State(engine): State<AppState>,
    Query(q): Pairs,
    body: Body,
) -> ApiResult<Response> {
    let Some(src) = first(&q, "fromSrc").cloned() else {
        let map: HashMap<String, String> = q.into_iter().collect();
        return Err(crate::images::pull(Query(map)).await);
    };
    if src != "-" {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            format!(
                "importing from a URL ({src}) is not supported: download the file and import it from a file or stdin"
            ),
        ));
    }
    let reader = crate::images::body_reader(body);
    let id = engine
        .import(
            Box::new(reader),
            &text(&q, "repo"),
            &text(&q, "tag"),
            &text(&q, "message"),
            &all(&q, "changes"),
        )
        .await?;
    let line = JsonMessage::status(id).to_line();
    Ok(([(header::CONTENT_TYPE, "application/json")], line).into_response())
}
