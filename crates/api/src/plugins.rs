//! `/plugins`: Berth has no managed plugins, so the list is empty and every plugin named
//! is unknown, answered as dockerd answers for a plugin it does not have (404
//! `plugin "NAME" not found`). Installing or creating one is refused (501).

use std::collections::HashMap;

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

use crate::{ApiError, ApiResult};

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/plugins", get(list))
        .route("/plugins/privileges", get(install))
        .route("/plugins/pull", post(install))
        .route("/plugins/create", post(create))
        .route(
            "/plugins/{*rest}",
            get(by_name_get).post(by_name_post).delete(remove),
        )
}

/// `GET /plugins?filters=`: none, after dockerd's checks of the filters.
async fn list(Query(q): Query<HashMap<String, String>>) -> ApiResult<Json<Vec<Value>>> {
    let filters = berth_engine::filters::parse_filters(q.get("filters").map(String::as_str))?;
    for (key, values) in &filters {
        match key.as_str() {
            "capability" => {}
            "enabled" if matches!(values.as_slice(), [v] if v == "true" || v == "false") => {}
            "enabled" => {
                return Err(ApiError::bad_request(format!(
                    "Invalid filter 'enabled=[{}]'",
                    values.join(" ")
                )));
            }
            other => return Err(ApiError::bad_request(format!("Invalid filter '{other}'"))),
        }
    }
    Ok(Json(Vec::new()))
}

fn not_found(name: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("plugin {name:?} not found"))
}

/// `GET /plugins/privileges`, `POST /plugins/pull` (`docker plugin install`).
async fn install() -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "Berth does not support plugins: installing one is not possible",
    )
}

/// `POST /plugins/create` (`docker plugin create`).
async fn create() -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "Berth does not support plugins: creating one is not possible",
    )
}

/// `GET /plugins/{name}/json` (names may hold slashes).
async fn by_name_get(Path(rest): Path<String>) -> ApiError {
    match rest.strip_suffix("/json") {
        Some(name) if !name.is_empty() => not_found(name),
        _ => ApiError::new(StatusCode::NOT_FOUND, "page not found"),
    }
}

/// `POST /plugins/{name}/{enable,disable,push,set,upgrade}`.
async fn by_name_post(Path(rest): Path<String>) -> ApiError {
    let Some((name, verb)) = rest.rsplit_once('/').filter(|(n, _)| !n.is_empty()) else {
        return ApiError::new(StatusCode::NOT_FOUND, "page not found");
    };
    match verb {
        "enable" | "disable" | "push" | "set" => not_found(name),
        // dockerd names the plugin to upgrade in its familiar form, with its tag.
        "upgrade" => match berth_store::normalize(name) {
            Ok(n) => not_found(n.strip_prefix("library/").unwrap_or(&n)),
            Err(_) => not_found(name),
        },
        _ => ApiError::new(StatusCode::NOT_FOUND, "page not found"),
    }
}

/// `DELETE /plugins/{name}`.
async fn remove(Path(name): Path<String>) -> ApiError {
    not_found(&name)
}
