//! `/volumes/...`: list, inspect, create, remove, prune, and Berth's own `export`
//! (`GET /volumes/{name}/export`, a tar of the content), `import` (`PUT
//! /volumes/{name}/import`, a tar into an empty volume, made when missing) and `clone`
//! (`POST /volumes/{name}/clone?target=DST`).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use berth_engine::Result;
use berth_models::{Volume, VolumeCreateOptions, VolumeListResponse, VolumePruneResponse};

use crate::body::{blocking_body, body_reader};
use crate::{ApiError, ApiResult, ApiVersion, truthy};

/// What the volume routes ask of the daemon (moby's `router/volume` `Backend`).
pub trait VolumeBackend: Send + Sync + 'static {
    /// `filters` as the query has it (JSON).
    fn volume_list(&self, filters: Option<&str>) -> Result<Vec<Volume>>;
    fn volume_inspect(&self, name: &str) -> Result<Volume>;
    fn volume_create(
        &self,
        req: VolumeCreateOptions,
    ) -> impl Future<Output = Result<Volume>> + Send;
    fn volume_remove(&self, name: &str, force: bool) -> Result<()>;
    /// `implied_all`: every unused volume, named ones too (API < 1.42).
    fn volume_prune(&self, filters: Option<&str>, implied_all: bool)
    -> Result<VolumePruneResponse>;
    /// What writes the tar of volume `name` (on a blocking thread); the volume is in use
    /// until it is dropped.
    fn volume_export(
        self: &Arc<Self>,
        name: &str,
    ) -> Result<impl FnOnce(&mut dyn Write) -> Result<()> + Send + 'static>;
    /// A tar into the empty volume `name`, made when missing. Blocking.
    fn volume_import(&self, name: &str, input: impl Read) -> Result<Volume>;
    /// Volume `name`'s content into the empty volume `target`. Blocking.
    fn volume_clone(&self, name: &str, target: &str) -> Result<Volume>;
}

pub fn routes<B: VolumeBackend>() -> Router<Arc<B>> {
    Router::new()
        .route("/volumes", get(list::<B>))
        .route("/volumes/create", post(create::<B>))
        .route("/volumes/prune", post(prune::<B>))
        .route(
            "/volumes/{name}",
            get(inspect::<B>).delete(remove::<B>).put(update),
        )
        .route("/volumes/{name}/export", get(export::<B>))
        .route("/volumes/{name}/import", put(import::<B>))
        .route("/volumes/{name}/clone", post(clone::<B>))
}

async fn list<B: VolumeBackend>(
    State(backend): State<Arc<B>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<VolumeListResponse>> {
    let volumes = backend.volume_list(q.get("filters").map(String::as_str))?;
    Ok(Json(VolumeListResponse {
        volumes: Some(volumes),
        warnings: None,
    }))
}

async fn inspect<B: VolumeBackend>(
    State(backend): State<Arc<B>>,
    Path(name): Path<String>,
) -> ApiResult<Json<Volume>> {
    Ok(Json(backend.volume_inspect(&name)?))
}

async fn create<B: VolumeBackend>(
    State(backend): State<Arc<B>>,
    raw: Bytes,
) -> ApiResult<Response> {
    let req: VolumeCreateOptions = if raw.is_empty() {
        VolumeCreateOptions::default()
    } else {
        serde_json::from_slice(&raw)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON in request body: {e}")))?
    };
    let v = backend.volume_create(req).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// `PUT /volumes/{name}`: cluster volumes only.
async fn update(Path(name): Path<String>) -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        format!("volume {name}: updating a cluster volume is not supported: Berth has no swarm"),
    )
}

async fn remove<B: VolumeBackend>(
    State(backend): State<Arc<B>>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    backend.volume_remove(&name, truthy(q.get("force")))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn prune<B: VolumeBackend>(
    State(backend): State<Arc<B>>,
    Extension(version): Extension<ApiVersion>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<VolumePruneResponse>> {
    // Before API 1.42 a prune took every unused volume, named ones too.
    let implied_all = version < ApiVersion(1, 42);
    Ok(Json(backend.volume_prune(
        q.get("filters").map(String::as_str),
        implied_all,
    )?))
}

async fn export<B: VolumeBackend>(
    State(backend): State<Arc<B>>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let export = backend.volume_export(&name)?;
    let body = blocking_body(format!("exporting volume {name}"), move |w| export(w));
    Ok(([(header::CONTENT_TYPE, "application/x-tar")], body).into_response())
}

async fn import<B: VolumeBackend>(
    State(backend): State<Arc<B>>,
    Path(name): Path<String>,
    body: Body,
) -> ApiResult<Json<Volume>> {
    let reader = body_reader(body);
    let v = tokio::task::spawn_blocking(move || backend.volume_import(&name, reader))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    Ok(Json(v))
}

async fn clone<B: VolumeBackend>(
    State(backend): State<Arc<B>>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let target = q.get("target").cloned().unwrap_or_default();
    let v = tokio::task::spawn_blocking(move || backend.volume_clone(&name, &target))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// The volume routes served over a fake backend: what the handlers do with a request and
/// an answer (status codes, bodies, errors as Docker's `{"message"}`), without a daemon.
#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use axum::http::Request;
    use berth_engine::Error;
    use http_body_util::BodyExt;
    use serde_json::{Value, json};

    use super::*;

    /// Volumes in a map; `busy` is in use. Remembers the last prune's `implied_all`.
    #[derive(Default)]
    struct Fake {
        volumes: Mutex<BTreeMap<String, Volume>>,
        implied_all: Mutex<Option<bool>>,
    }

    fn no_such(name: &str) -> Error {
        Error::not_found(format!("get {name}: no such volume"))
    }

    impl VolumeBackend for Fake {
        fn volume_list(&self, _: Option<&str>) -> Result<Vec<Volume>> {
            Ok(self.volumes.lock().unwrap().values().cloned().collect())
        }

        fn volume_inspect(&self, name: &str) -> Result<Volume> {
            let volumes = self.volumes.lock().unwrap();
            volumes.get(name).cloned().ok_or_else(|| no_such(name))
        }

        async fn volume_create(&self, req: VolumeCreateOptions) -> Result<Volume> {
            let v = Volume {
                driver: "local".into(),
                mountpoint: format!("/fake/{}/_data", req.name),
                name: req.name.clone(),
                labels: req.labels,
                scope: "local".into(),
                ..Volume::default()
            };
            self.volumes.lock().unwrap().insert(req.name, v.clone());
            Ok(v)
        }

        fn volume_remove(&self, name: &str, force: bool) -> Result<()> {
            if name == "busy" {
                return Err(Error::conflict(format!("remove {name}: volume is in use")));
            }
            match self.volumes.lock().unwrap().remove(name) {
                None if !force => Err(no_such(name)),
                _ => Ok(()),
            }
        }

        fn volume_prune(&self, _: Option<&str>, implied_all: bool) -> Result<VolumePruneResponse> {
            *self.implied_all.lock().unwrap() = Some(implied_all);
            Ok(VolumePruneResponse::default())
        }

        fn volume_export(
            self: &Arc<Self>,
            name: &str,
        ) -> Result<impl FnOnce(&mut dyn Write) -> Result<()> + Send + 'static> {
            self.volume_inspect(name)?;
            Ok(|out: &mut dyn Write| {
                out.write_all(b"tar bytes")
                    .map_err(|e| Error::io("writing", e))
            })
        }

        fn volume_import(&self, name: &str, _: impl Read) -> Result<Volume> {
            self.volume_inspect(name)
        }

        fn volume_clone(&self, name: &str, _: &str) -> Result<Volume> {
            self.volume_inspect(name)
        }
    }

    /// Send a request through the whole pipeline (version prefix, body type check, error
    /// answers): the status, the content type and the body.
    async fn call(
        fake: &Arc<Fake>,
        method: &str,
        uri: &str,
        body: &str,
    ) -> (StatusCode, String, Bytes) {
        let mut req = Request::builder().method(method).uri(uri);
        if !body.is_empty() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req.body(Body::from(body.to_string())).unwrap();
        let resp = crate::handle(routes().with_state(Arc::clone(fake)), req).await;
        let status = resp.status();
        let content_type = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, content_type, body)
    }

    async fn call_json(fake: &Arc<Fake>, method: &str, uri: &str, body: &str) -> (u16, Value) {
        let (status, _, body) = call(fake, method, uri, body).await;
        let v = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).unwrap()
        };
        (status.as_u16(), v)
    }

    #[tokio::test]
    async fn backend_errors_become_docker_answers() {
        let fake = Arc::new(Fake::default());
        assert_eq!(
            call_json(&fake, "GET", "/v1.50/volumes/nope", "").await,
            (404, json!({"message": "get nope: no such volume"}))
        );
        assert_eq!(
            call_json(&fake, "DELETE", "/volumes/nope", "").await,
            (404, json!({"message": "get nope: no such volume"}))
        );
        assert_eq!(
            call_json(&fake, "DELETE", "/volumes/nope?force=1", "").await,
            (204, Value::Null)
        );
        assert_eq!(
            call_json(&fake, "DELETE", "/v1.41/volumes/busy", "").await,
            (409, json!({"message": "remove busy: volume is in use"}))
        );
        let (status, body) = call_json(&fake, "POST", "/volumes/create", "{").await;
        assert_eq!(status, 400);
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("invalid JSON in request body"),
            "{body}"
        );
        assert_eq!(
            call_json(&fake, "PUT", "/volumes/x", "").await,
            (
                501,
                json!({"message": "volume x: updating a cluster volume is not supported: Berth has no swarm"})
            )
        );
    }

    #[tokio::test]
    async fn create_inspect_list_remove() {
        let fake = Arc::new(Fake::default());
        let (status, created) = call_json(
            &fake,
            "POST",
            "/v1.50/volumes/create",
            r#"{"Name": "data", "Labels": {"tier": "db"}}"#,
        )
        .await;
        assert_eq!(status, 201);
        assert_eq!(created["Name"], "data");
        assert_eq!(created["Labels"], json!({"tier": "db"}));
        assert_eq!(
            call_json(&fake, "GET", "/volumes/data", "").await,
            (200, created.clone())
        );
        let (status, list) = call_json(&fake, "GET", "/volumes", "").await;
        assert_eq!(status, 200);
        assert_eq!(list["Volumes"], json!([created]));
        assert_eq!(
            call_json(&fake, "DELETE", "/volumes/data", "").await,
            (204, Value::Null)
        );
        let (_, list) = call_json(&fake, "GET", "/volumes", "").await;
        assert_eq!(list["Volumes"], json!([]));
    }

    #[tokio::test]
    async fn prune_before_api_1_42_takes_named_volumes_too() {
        let fake = Arc::new(Fake::default());
        for (version, implied_all) in [("1.41", true), ("1.42", false), ("1.50", false)] {
            let (status, _) =
                call_json(&fake, "POST", &format!("/v{version}/volumes/prune"), "").await;
            assert_eq!(status, 200);
            assert_eq!(
                *fake.implied_all.lock().unwrap(),
                Some(implied_all),
                "{version}"
            );
        }
    }

    #[tokio::test]
    async fn export_streams_what_the_backend_writes() {
        let fake = Arc::new(Fake::default());
        call_json(&fake, "POST", "/volumes/create", r#"{"Name": "data"}"#).await;
        let (status, content_type, body) = call(&fake, "GET", "/volumes/data/export", "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "application/x-tar");
        assert_eq!(&body[..], b"tar bytes");
        let (status, _, _) = call(&fake, "GET", "/volumes/nope/export", "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
