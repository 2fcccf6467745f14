//! `/volumes/...`: list, inspect, create, remove, prune, and Berth's own `export`
//! (`GET /volumes/{name}/export`, a tar of the content), `import` (`PUT
//! /volumes/{name}/import`, a tar into an empty volume, made when missing) and `clone`
//! (`POST /volumes/{name}/clone?target=DST`).

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use berth_models::{Volume, VolumeCreateOptions, VolumeListResponse, VolumePruneResponse};

use crate::body::{blocking_body, body_reader};
use crate::{ApiError, ApiResult, ApiVersion, AppState, truthy};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/volumes", get(list))
        .route("/volumes/create", post(create))
        .route("/volumes/prune", post(prune))
        .route("/volumes/{name}", get(inspect).delete(remove).put(update))
        .route("/volumes/{name}/export", get(export))
        .route("/volumes/{name}/import", put(import))
        .route("/volumes/{name}/clone", post(clone))
}

async fn list(
    State(engine): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<VolumeListResponse>> {
    let volumes = engine.volume_list(q.get("filters").map(String::as_str))?;
    Ok(Json(VolumeListResponse {
        volumes: Some(volumes),
        warnings: None,
    }))
}

async fn inspect(
    State(engine): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Volume>> {
    Ok(Json(engine.volume_inspect(&name)?))
}

async fn create(State(engine): State<AppState>, raw: Bytes) -> ApiResult<Response> {
    let req: VolumeCreateOptions = if raw.is_empty() {
        VolumeCreateOptions::default()
    } else {
        serde_json::from_slice(&raw)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON in request body: {e}")))?
    };
    let v = engine.volume_create(req).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// `PUT /volumes/{name}`: cluster volumes only.
async fn update(Path(name): Path<String>) -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        format!("volume {name}: updating a cluster volume is not supported: Berth has no swarm"),
    )
}

async fn remove(
    State(engine): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    engine.volume_remove(&name, truthy(q.get("force")))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn prune(
    State(engine): State<AppState>,
    Extension(version): Extension<ApiVersion>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<VolumePruneResponse>> {
    // Before API 1.42 a prune took every unused volume, named ones too.
    let implied_all = version < ApiVersion(1, 42);
    Ok(Json(engine.volume_prune(
        q.get("filters").map(String::as_str),
        implied_all,
    )?))
}

async fn export(State(engine): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    let export = engine.volume_export(&name)?;
    let body = blocking_body(format!("exporting volume {name}"), move |w| export.write(w));
    Ok(([(header::CONTENT_TYPE, "application/x-tar")], body).into_response())
}

async fn import(
    State(engine): State<AppState>,
    Path(name): Path<String>,
    body: Body,
) -> ApiResult<Json<Volume>> {
    let reader = body_reader(body);
    let v = tokio::task::spawn_blocking(move || engine.volume_import(&name, reader))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    Ok(Json(v))
}

async fn clone(
    State(engine): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let target = q.get("target").cloned().unwrap_or_default();
    let v = tokio::task::spawn_blocking(move || engine.volume_clone(&name, &target))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}
