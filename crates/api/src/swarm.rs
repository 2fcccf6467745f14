//! Swarm mode, which Berth does not have: `/swarm`, `/services`, `/nodes`, `/tasks`,
//! `/secrets` and `/configs` answer as dockerd answers on a node that is in no swarm (503
//! with its message, after the same checks of the request), so the docker CLI and the SDKs
//! print and handle what they know (the Python SDK's `leave_swarm(force=True)` takes that
//! 503 as done). Joining or creating a swarm is refused (501).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::routing::{get, post};

use crate::{ApiError, ApiResult, truthy};

/// dockerd's answer on a node that is no swarm manager.
pub const NOT_MANAGER: &str = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.";

/// dockerd's answer to `POST /swarm/leave` on a node that is in no swarm.
pub const NOT_IN_SWARM: &str = "This node is not part of a swarm";

type Params = Query<HashMap<String, String>>;

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/swarm", get(not_manager))
        .route("/swarm/init", post(init_or_join))
        .route("/swarm/join", post(init_or_join))
        .route("/swarm/leave", post(leave))
        .route(
            "/swarm/update",
            post(|Query(q): Params, body: Bytes| async move { update(Object::Swarm, &q, &body) }),
        )
        .route("/swarm/unlockkey", get(not_manager))
        .route("/swarm/unlock", post(create))
        .route("/services", get(not_manager))
        .route("/services/create", post(create))
        .route("/services/{id}", get(not_manager).delete(not_manager))
        .route(
            "/services/{id}/update",
            post(|Query(q): Params, body: Bytes| async move { update(Object::Service, &q, &body) }),
        )
        .route("/services/{id}/logs", get(logs))
        .route("/nodes", get(not_manager))
        .route("/nodes/{id}", get(not_manager).delete(not_manager))
        .route(
            "/nodes/{id}/update",
            post(|Query(q): Params, body: Bytes| async move { update(Object::Node, &q, &body) }),
        )
        .route("/tasks", get(not_manager))
        .route("/tasks/{id}", get(not_manager))
        .route("/tasks/{id}/logs", get(logs))
        .route("/secrets", get(not_manager))
        .route("/secrets/create", post(create))
        .route("/secrets/{id}", get(not_manager).delete(not_manager))
        .route(
            "/secrets/{id}/update",
            post(|Query(q): Params, body: Bytes| async move { update(Object::Secret, &q, &body) }),
        )
        .route("/configs", get(not_manager))
        .route("/configs/create", post(create))
        .route("/configs/{id}", get(not_manager).delete(not_manager))
        .route(
            "/configs/{id}/update",
            post(|Query(q): Params, body: Bytes| async move { update(Object::Config, &q, &body) }),
        )
}

fn not_manager_error() -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, NOT_MANAGER)
}

async fn not_manager() -> ApiError {
    not_manager_error()
}

async fn leave() -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, NOT_IN_SWARM)
}

/// dockerd decodes a request's JSON body before it finds it is in no swarm.
fn check_body(body: &Bytes) -> ApiResult<()> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("got EOF while reading request body"));
    }
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON in request body: {e}")))?;
    Ok(())
}

async fn init_or_join(body: Bytes) -> ApiResult<()> {
    check_body(&body)?;
    Err(ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "Berth does not support swarm mode",
    ))
}

/// `POST /services/create`, `/secrets/create`, `/configs/create`, `/swarm/unlock`.
async fn create(body: Bytes) -> ApiResult<()> {
    check_body(&body)?;
    Err(not_manager_error())
}

/// What an `update` changes, for dockerd's message about a bad `version`.
#[derive(Clone, Copy)]
enum Object {
    Swarm,
    Service,
    Node,
    Secret,
    Config,
}

/// `POST /{swarm,services/ID,nodes/ID,secrets/ID,configs/ID}/update?version=N`.
fn update(what: Object, q: &HashMap<String, String>, body: &Bytes) -> ApiResult<()> {
    check_body(body)?;
    let v = q.get("version").map_or("", String::as_str);
    if v.parse::<u64>().is_err() {
        let kind = match what {
            Object::Secret => return Err(ApiError::bad_request("invalid secret version")),
            Object::Config => return Err(ApiError::bad_request("invalid config version")),
            Object::Swarm => "swarm",
            Object::Service => "service",
            Object::Node => "node",
        };
        return Err(ApiError::bad_request(format!(
            "invalid {kind} version '{v}': strconv.ParseUint: parsing {v:?}: invalid syntax"
        )));
    }
    Err(not_manager_error())
}

/// `GET /services/{id}/logs`, `/tasks/{id}/logs`: dockerd checks the streams first.
async fn logs(Query(q): Params) -> ApiError {
    if !truthy(q.get("stdout")) && !truthy(q.get("stderr")) {
        return ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Bad parameters: you must choose at least one stream",
        );
    }
    not_manager_error()
}
