//! `/networks/...`: list, inspect, create, remove, prune, connect, disconnect.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_models::{
    Network, NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
    NetworkPruneResponse,
};
use serde::de::DeserializeOwned;

use crate::{ApiError, ApiResult, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/networks", get(list))
        .route("/networks/create", post(create))
        .route("/networks/prune", post(prune))
        .route("/networks/{id}", get(inspect).delete(remove))
        .route("/networks/{id}/connect", post(connect))
        .route("/networks/{id}/disconnect", post(disconnect))
}

/// A JSON request body; an empty one is refused with `what`.
fn body<T: DeserializeOwned>(body: &Bytes, what: &str) -> ApiResult<T> {
    if body.is_empty() {
        return Err(ApiError::bad_request(what));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON in request body: {e}")))
}

fn filters(q: &HashMap<String, String>) -> ApiResult<berth_engine::filters::Filters> {
    Ok(berth_engine::filters::parse_filters(
        q.get("filters").map(String::as_str),
    )?)
}

async fn list(
    State(engine): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<Network>>> {
    Ok(Json(engine.network_list(&filters(&q)?).await?))
}

async fn inspect(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Network>> {
    // `verbose` adds swarm services and tasks, which a local network has none of.
    if let Some(scope) = q.get("scope").filter(|s| !s.is_empty() && *s != "local") {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("network {id} not found (scope {scope})"),
        ));
    }
    Ok(Json(engine.network_inspect(&id).await?))
}

async fn create(State(engine): State<AppState>, raw: Bytes) -> ApiResult<Response> {
    let req: NetworkCreateRequest = body(&raw, "network name must not be empty")?;
    let resp = engine.network_create(req).await?;
    Ok((StatusCode::CREATED, Json(resp)).into_response())
}

async fn remove(State(engine): State<AppState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    engine.network_remove(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn prune(
    State(engine): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<NetworkPruneResponse>> {
    Ok(Json(engine.network_prune(&filters(&q)?).await?))
}

async fn connect(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    raw: Bytes,
) -> ApiResult<StatusCode> {
    let req: NetworkConnectRequest = body(&raw, "a container to connect is required")?;
    engine.network_connect(&id, req).await?;
    Ok(StatusCode::OK)
}

async fn disconnect(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    raw: Bytes,
) -> ApiResult<StatusCode> {
    let req: NetworkDisconnectRequest = body(&raw, "a container to disconnect is required")?;
    engine.network_disconnect(&id, req).await?;
    Ok(StatusCode::OK)
}
