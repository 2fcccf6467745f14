//! `/images/...`: load, save, list, inspect, tag, history, remove, prune, and
//! `POST /images/create` (import with `fromSrc`; pulls are answered as not supported).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_engine::Result;
use berth_engine::filters::Filters;
use berth_models::{
    ForVersion, ImageDeleteResponseItem, ImageHistoryResponseItem, ImageInspect,
    ImagePruneResponse, ImageSummary, JsonMessage,
};
use berth_store::LoadedImage;

use crate::body::{blocking_body, body_reader};
use crate::{ApiError, ApiResult, ApiVersion};

/// What the image routes ask of the daemon (moby's `router/image` `Backend`).
pub trait ImageBackend: Send + Sync + 'static {
    fn image_list_filtered(&self, filters: &Filters, all: bool) -> Result<Vec<ImageSummary>>;
    fn image_prune(
        &self,
        filters: &Filters,
    ) -> impl Future<Output = Result<ImagePruneResponse>> + Send;
    /// What writes the archive of `names` (on a blocking thread); errors about the names
    /// come before it.
    fn image_save(
        &self,
        names: Vec<String>,
    ) -> impl Future<Output = Result<impl FnOnce(&mut dyn Write) -> Result<()> + Send + 'static>> + Send;
    /// An image of the tar `input` (`import`, `fromSrc=-`): its id.
    fn import(
        &self,
        input: Box<dyn Read + Send>,
        repo: &str,
        tag: &str,
        message: &str,
        changes: &[String],
    ) -> impl Future<Output = Result<String>> + Send;
    fn load_images(
        &self,
        input: Box<dyn Read + Send>,
    ) -> impl Future<Output = Result<Vec<LoadedImage>>> + Send;
    fn image_inspect(&self, name: &str) -> Result<ImageInspect>;
    fn image_history(&self, name: &str) -> Result<Vec<ImageHistoryResponseItem>>;
    /// Tag image `name` as `repo:tag`.
    fn image_tag(&self, name: &str, repo: &str, tag: &str) -> Result<()>;
    fn image_remove(
        &self,
        name: &str,
        force: bool,
        noprune: bool,
    ) -> impl Future<Output = Result<Vec<ImageDeleteResponseItem>>> + Send;
}

pub fn routes<B: ImageBackend>() -> Router<Arc<B>> {
    Router::new()
        .route("/images/json", get(list::<B>))
        .route("/images/load", post(load::<B>))
        .route("/images/get", get(save_many::<B>))
        .route("/images/prune", post(prune::<B>))
        .route("/images/create", post(create::<B>))
        .route(
            "/images/{*rest}",
            get(by_name_get::<B>)
                .post(by_name_post::<B>)
                .delete(by_name_delete::<B>),
        )
}

async fn list<B: ImageBackend>(
    State(backend): State<Arc<B>>,
    Extension(version): Extension<ApiVersion>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<ImageSummary>>> {
    // `digests`: RepoDigests are always listed.
    crate::refuse_params(
        &q,
        &[
            ("shared-size", "the shared size of images"),
            ("manifests", "image manifests (docker image ls --tree)"),
        ],
    )?;
    let filters = berth_engine::filters::parse_filters(q.get("filters").map(String::as_str))?;
    let all = crate::truthy(q.get("all"));
    let list = backend.image_list_filtered(&filters, all)?;
    Ok(Json(list.versioned(version)))
}

async fn prune<B: ImageBackend>(
    State(backend): State<Arc<B>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<ImagePruneResponse>> {
    let filters = berth_engine::filters::parse_filters(q.get("filters").map(String::as_str))?;
    Ok(Json(backend.image_prune(&filters).await?))
}

/// `GET /images/get?names=a&names=b`.
async fn save_many<B: ImageBackend>(
    State(backend): State<Arc<B>>,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    if q.iter().any(|(k, v)| k == "platform" && !v.is_empty()) {
        let platform: HashMap<String, String> = [("platform".into(), "x".into())].into();
        crate::refuse_params(
            &platform,
            &[("platform", "saving one platform (--platform)")],
        )?;
    }
    let names: Vec<String> = q
        .into_iter()
        .filter(|(k, _)| k == "names")
        .map(|(_, v)| v)
        .collect();
    save(backend, names).await
}

/// Stream the archive of `names`; errors found before the first byte get a status code,
/// later ones abort the body (the client sees a truncated transfer, never a bad archive
/// that looks complete).
async fn save<B: ImageBackend>(backend: Arc<B>, names: Vec<String>) -> ApiResult<Response> {
    let set = backend.image_save(names).await?;
    let body = blocking_body("save".into(), move |w| set(w));
    Ok(([(header::CONTENT_TYPE, "application/x-tar")], body).into_response())
}

/// `POST /images/load`: as dockerd, always 200 with a stream of JSON lines, the images
/// loaded (`{"stream":"Loaded image: ..."}`) or the error (`{"errorDetail":...}`), which
/// the docker CLI prints and the SDKs raise (Python's `ImageLoadError`). `quiet` only asks
/// `POST /images/create`: an import with `fromSrc`, else a pull.
async fn create<B: ImageBackend>(
    State(backend): State<Arc<B>>,
    Query(q): Query<Vec<(String, String)>>,
    body: Body,
) -> ApiResult<Response> {
    let Some(src) = crate::first(&q, "fromSrc").cloned() else {
        let map: HashMap<String, String> = q.into_iter().collect();
        return Err(pull(Query(map)).await);
    };
    if src != "-" {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            format!(
                "importing from a URL ({src}) is not supported: download the file and import it from a file or stdin"
            ),
        ));
    }
    let reader = body_reader(body);
    let id = backend
        .import(
            Box::new(reader),
            &crate::text(&q, "repo"),
            &crate::text(&q, "tag"),
            &crate::text(&q, "message"),
            &crate::all(&q, "changes"),
        )
        .await?;
    let line = JsonMessage::status(id).to_line();
    Ok(([(header::CONTENT_TYPE, "application/json")], line).into_response())
}

/// dockerd to leave out progress bars, which Berth does not send.
async fn load<B: ImageBackend>(
    State(backend): State<Arc<B>>,
    Query(q): Query<HashMap<String, String>>,
    body: Body,
) -> Response {
    if let Err(e) = crate::refuse_params(&q, &[("platform", "loading one platform (--platform)")]) {
        return e.into_response();
    }
    let reader = body_reader(body);
    let mut out = String::new();
    match backend.load_images(Box::new(reader)).await {
        Ok(loaded) => {
            for img in loaded {
                let lines: Vec<String> = if img.tags.is_empty() {
                    vec![format!("Loaded image ID: {}\n", img.id)]
                } else {
                    img.tags
                        .iter()
                        .map(|t| format!("Loaded image: {t}\n"))
                        .collect()
                };
                for l in lines {
                    out.push_str(&JsonMessage::stream(l).to_line());
                }
            }
        }
        Err(e) => {
            let e = ApiError::from(e);
            if e.status.is_server_error() {
                tracing::warn!("load: {}", e.message);
            } else {
                tracing::debug!("load: {}", e.message);
            }
            out = JsonMessage::error(e.message).to_line();
        }
    }
    ([(header::CONTENT_TYPE, "application/json")], out).into_response()
}

async fn pull(Query(q): Query<HashMap<String, String>>) -> ApiError {
    let image = q.get("fromImage").cloned().unwrap_or_default();
    let tag = q
        .get("tag")
        .filter(|t| !t.is_empty())
        .cloned()
        .unwrap_or_else(|| "latest".into());
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        format!(
            "pulling {image}:{tag} from a registry is not supported yet: load the image with `docker load` or `berth load`"
        ),
    )
}

/// Split `NAME/suffix` where NAME may itself contain slashes.
fn split_suffix<'a>(rest: &'a str, suffixes: &[&'a str]) -> (&'a str, Option<&'a str>) {
    for s in suffixes {
        if let Some(name) = rest.strip_suffix(s).and_then(|n| n.strip_suffix('/')) {
            return (name, Some(s));
        }
    }
    (rest, None)
}

/// docker-compose 1.x (the Python one) negotiates the newest API version and then reads
/// the image's `ContainerConfig`, which API 1.45 removed: it fails to recreate a service
/// against dockerd 25+ (`KeyError: 'ContainerConfig'`). Berth answers it as API 1.44 did.
fn inspect_version(version: ApiVersion, headers: &axum::http::HeaderMap) -> ApiVersion {
    let compose_v1 = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.starts_with("docker-compose/1."));
    if compose_v1 {
        version.min(ApiVersion(1, 44))
    } else {
        version
    }
}

async fn by_name_get<B: ImageBackend>(
    State(backend): State<Arc<B>>,
    Extension(version): Extension<ApiVersion>,
    headers: axum::http::HeaderMap,
    Path(rest): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    crate::refuse_params(
        &q,
        &[
            ("platform", "one platform of an image (--platform)"),
            ("manifests", "image manifests (--format with .Manifests)"),
        ],
    )?;
    match split_suffix(&rest, &["json", "history", "get"]) {
        (name, Some("json")) => {
            let inspect = backend
                .image_inspect(name)?
                .versioned(inspect_version(version, &headers));
            Ok(Json(inspect).into_response())
        }
        (name, Some("history")) => Ok(Json(backend.image_history(name)?).into_response()),
        (name, Some("get")) => save(backend, vec![name.to_string()]).await,
        _ => Err(ApiError::new(StatusCode::NOT_FOUND, "page not found")),
    }
}

async fn by_name_post<B: ImageBackend>(
    State(backend): State<Arc<B>>,
    Path(rest): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    match split_suffix(&rest, &["tag"]) {
        (name, Some("tag")) => {
            let repo = q.get("repo").cloned().unwrap_or_default();
            if repo.is_empty() {
                return Err(ApiError::bad_request(
                    "repository name must have at least one component",
                ));
            }
            let tag = q
                .get("tag")
                .filter(|t| !t.is_empty())
                .cloned()
                .unwrap_or_else(|| "latest".into());
            backend.image_tag(name, &repo, &tag)?;
            Ok(StatusCode::CREATED.into_response())
        }
        _ => Err(ApiError::new(StatusCode::NOT_FOUND, "page not found")),
    }
}

/// `DELETE /images/{name}?force=&noprune=`.
async fn by_name_delete<B: ImageBackend>(
    State(backend): State<Arc<B>>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<ImageDeleteResponseItem>>> {
    crate::refuse_params(&q, &[("platforms", "removing one platform of an image")])?;
    let force = crate::truthy(q.get("force"));
    let noprune = crate::truthy(q.get("noprune"));
    Ok(Json(backend.image_remove(&name, force, noprune).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_v1_gets_the_image_inspect_of_api_1_44() {
        let mut h = axum::http::HeaderMap::new();
        assert_eq!(inspect_version(ApiVersion(1, 50), &h), ApiVersion(1, 50));
        h.insert(
            axum::http::header::USER_AGENT,
            "docker-compose/1.29.2 docker-py/5.0.3 Linux/6.1"
                .parse()
                .unwrap(),
        );
        assert_eq!(inspect_version(ApiVersion(1, 50), &h), ApiVersion(1, 44));
        assert_eq!(inspect_version(ApiVersion(1, 41), &h), ApiVersion(1, 41));
        h.insert(
            axum::http::header::USER_AGENT,
            "Docker-Client/28.2.2 (linux)".parse().unwrap(),
        );
        assert_eq!(inspect_version(ApiVersion(1, 50), &h), ApiVersion(1, 50));
    }

    #[test]
    fn names_with_slashes_split_from_suffix() {
        assert_eq!(
            split_suffix("busybox/json", &["json"]),
            ("busybox", Some("json"))
        );
        assert_eq!(
            split_suffix("library/busybox:1/json", &["json"]),
            ("library/busybox:1", Some("json"))
        );
        assert_eq!(split_suffix("busybox", &["json"]), ("busybox", None));
    }
}
