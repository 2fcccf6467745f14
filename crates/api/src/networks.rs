//! `/networks/...`: list, inspect, create, remove, prune, connect, disconnect.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_engine::Result;
use berth_engine::filters::Filters;
use berth_models::{
    Network, NetworkConnectRequest, NetworkCreateRequest, NetworkCreateResponse,
    NetworkDisconnectRequest, NetworkPruneResponse,
};
use serde::de::DeserializeOwned;

use crate::{ApiError, ApiResult};

/// What the network routes ask of the daemon (moby's `router/network` `Backend`).
pub trait NetworkBackend: Send + Sync + 'static {
    fn network_list(&self, filters: &Filters) -> impl Future<Output = Result<Vec<Network>>> + Send;
    fn network_inspect(&self, id: &str) -> impl Future<Output = Result<Network>> + Send;
    fn network_create(
        &self,
        req: NetworkCreateRequest,
    ) -> impl Future<Output = Result<NetworkCreateResponse>> + Send;
    fn network_remove(&self, id: &str) -> impl Future<Output = Result<()>> + Send;
    fn network_prune(
        &self,
        filters: &Filters,
    ) -> impl Future<Output = Result<NetworkPruneResponse>> + Send;
    fn network_connect(
        self: &Arc<Self>,
        id: &str,
        req: NetworkConnectRequest,
    ) -> impl Future<Output = Result<()>> + Send;
    fn network_disconnect(
        &self,
        id: &str,
        req: NetworkDisconnectRequest,
    ) -> impl Future<Output = Result<()>> + Send;
}

pub fn routes<B: NetworkBackend>() -> Router<Arc<B>> {
    Router::new()
        .route("/networks", get(list::<B>))
        .route("/networks/create", post(create::<B>))
        .route("/networks/prune", post(prune::<B>))
        .route("/networks/{id}", get(inspect::<B>).delete(remove::<B>))
        .route("/networks/{id}/connect", post(connect::<B>))
        .route("/networks/{id}/disconnect", post(disconnect::<B>))
}

/// A JSON request body; an empty one is refused with `what`.
fn body<T: DeserializeOwned>(body: &Bytes, what: &str) -> ApiResult<T> {
    if body.is_empty() {
        return Err(ApiError::bad_request(what));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON in request body: {e}")))
}

fn filters(q: &HashMap<String, String>) -> ApiResult<Filters> {
    Ok(berth_engine::filters::parse_filters(
        q.get("filters").map(String::as_str),
    )?)
}

async fn list<B: NetworkBackend>(
    State(backend): State<Arc<B>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<Network>>> {
    Ok(Json(backend.network_list(&filters(&q)?).await?))
}

async fn inspect<B: NetworkBackend>(
    State(backend): State<Arc<B>>,
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
    Ok(Json(backend.network_inspect(&id).await?))
}

async fn create<B: NetworkBackend>(
    State(backend): State<Arc<B>>,
    raw: Bytes,
) -> ApiResult<Response> {
    let req: NetworkCreateRequest = body(&raw, "network name must not be empty")?;
    let resp = backend.network_create(req).await?;
    Ok((StatusCode::CREATED, Json(resp)).into_response())
}

async fn remove<B: NetworkBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    backend.network_remove(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn prune<B: NetworkBackend>(
    State(backend): State<Arc<B>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<NetworkPruneResponse>> {
    Ok(Json(backend.network_prune(&filters(&q)?).await?))
}

async fn connect<B: NetworkBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    raw: Bytes,
) -> ApiResult<StatusCode> {
    let req: NetworkConnectRequest = body(&raw, "a container to connect is required")?;
    backend.network_connect(&id, req).await?;
    Ok(StatusCode::OK)
}

async fn disconnect<B: NetworkBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    raw: Bytes,
) -> ApiResult<StatusCode> {
    let req: NetworkDisconnectRequest = body(&raw, "a container to disconnect is required")?;
    backend.network_disconnect(&id, req).await?;
    Ok(StatusCode::OK)
}
