//! `POST /commit`, `GET /containers/{id}/changes`, `GET /containers/{id}/export`.

use std::io::Write;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_engine::{CommitOptions, Result};
use berth_models::{ContainerConfig, FilesystemChange, IdResponse};
use bytes::Bytes;

use crate::body::blocking_body;
use crate::{ApiError, ApiResult, all, first, text, truthy};

/// Query parameters in order, repeated keys kept (`changes`).
type Pairs = Query<Vec<(String, String)>>;

/// What commit, diff and export ask of the daemon (moby's `router/container`
/// `commitBackend`, with the changes and the export).
pub trait CommitBackend: Send + Sync + 'static {
    /// A new image of container `container`: its id.
    fn commit(
        &self,
        container: &str,
        opts: CommitOptions,
    ) -> impl Future<Output = Result<String>> + Send;
    fn changes(
        &self,
        container: &str,
    ) -> impl Future<Output = Result<Vec<FilesystemChange>>> + Send;
    /// What writes the tar of container `container`'s filesystem (on a blocking thread).
    fn export(
        &self,
        container: &str,
    ) -> Result<impl FnOnce(&mut dyn Write) -> Result<()> + Send + 'static>;
}

pub fn routes<B: CommitBackend>() -> Router<Arc<B>> {
    Router::new()
        .route("/commit", post(commit::<B>))
        .route("/containers/{id}/changes", get(changes::<B>))
        .route("/containers/{id}/export", get(export::<B>))
}

async fn commit<B: CommitBackend>(
    State(backend): State<Arc<B>>,
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
    let id = backend.commit(&container, opts).await?;
    Ok((StatusCode::CREATED, Json(IdResponse { id })).into_response())
}

async fn changes<B: CommitBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<FilesystemChange>>> {
    Ok(Json(backend.changes(&id).await?))
}

/// The tar streams as it is written; an error midway ends the body abruptly, so the
/// client sees a truncated transfer rather than a tar that looks complete.
async fn export<B: CommitBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let write = backend.export(&id)?;
    let body = blocking_body(format!("export of {id}"), move |w| write(w));
    Ok((
        // dockerd's type (Go's guess for a tar), the one the API description gives.
        [(header::CONTENT_TYPE, "application/octet-stream")],
        body,
    )
        .into_response())
}
