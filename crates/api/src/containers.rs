//! `/containers/...`: create, list, inspect, start, stop, kill, wait, attach, logs, resize,
//! remove, rename, prune, and the archive (`docker cp`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use berth_engine::{LogOptions, WaitCondition};
use berth_models::{
    ContainerPruneResponse, ContainerStatsResponse, ContainerTopResponse, CreateRequest, ForVersion,
};

use crate::version::ApiVersion;
use crate::{ApiError, ApiResult, truthy};

mod backend;
pub(crate) mod stdio;

pub use backend::ContainerBackend;

type Params = Query<HashMap<String, String>>;

pub fn routes<B: ContainerBackend>() -> Router<Arc<B>> {
    Router::new()
        .route("/containers/create", post(create::<B>))
        .route("/containers/json", get(list::<B>))
        .route("/containers/{id}/json", get(inspect::<B>))
        .route("/containers/{id}/start", post(start::<B>))
        .route("/containers/{id}/stop", post(stop::<B>))
        .route("/containers/{id}/restart", post(restart::<B>))
        .route("/containers/{id}/kill", post(kill::<B>))
        .route("/containers/{id}/wait", post(wait::<B>))
        .route("/containers/{id}/attach", post(attach::<B>))
        .route("/containers/{id}/logs", get(logs::<B>))
        .route("/containers/{id}/resize", post(resize::<B>))
        .route("/containers/{id}", delete(remove::<B>))
        .route("/containers/{id}/pause", post(pause::<B>))
        .route("/containers/{id}/update", post(update::<B>))
        .route("/containers/{id}/unpause", post(unpause::<B>))
        .route("/containers/{id}/top", get(top::<B>))
        .route("/containers/{id}/stats", get(stats::<B>))
        .route("/containers/{id}/rename", post(rename::<B>))
        .route("/containers/prune", post(prune::<B>))
        .route(
            "/containers/{id}/archive",
            get(archive_get::<B>)
                .head(archive_head::<B>)
                .put(archive_put::<B>),
        )
}

async fn create<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Extension(version): Extension<ApiVersion>,
    Query(q): Params,
    body: Bytes,
) -> ApiResult<Response> {
    let mut req: CreateRequest = if body.is_empty() {
        return Err(ApiError::bad_request(
            "config cannot be empty in order to create a container",
        ));
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON in request body: {e}")))?
    };
    req.for_version(version);
    crate::check_platform(&q)?;
    let resp = backend
        .create(q.get("name").map(String::as_str), req)
        .await?;
    Ok((StatusCode::CREATED, Json(resp)).into_response())
}

async fn list<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Extension(version): Extension<ApiVersion>,
    Query(q): Params,
) -> ApiResult<Response> {
    let filters = berth_engine::filters::parse_filters(q.get("filters").map(String::as_str))?;
    let mut rows = backend.list_filtered(truthy(q.get("all")), &filters)?;
    if let Some(limit) = q
        .get("limit")
        .and_then(|l| l.parse::<i64>().ok())
        .filter(|l| *l > 0)
    {
        rows.truncate(limit as usize);
    }
    if truthy(q.get("size")) {
        rows = backend.with_sizes(rows).await?;
    }
    Ok(Json(rows.versioned(version)).into_response())
}

async fn inspect<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Extension(version): Extension<ApiVersion>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Response> {
    let mut v = backend.inspect(&id)?;
    if truthy(q.get("size")) {
        v = backend.inspect_with_size(v).await?;
    }
    Ok(Json(v.versioned(version)).into_response())
}

/// `detachKeys` is the attach's business (dockerd reads it there too, not here).
async fn start<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<StatusCode> {
    crate::refuse_params(
        &q,
        &[
            ("checkpoint", "starting from a checkpoint (--checkpoint)"),
            (
                "checkpoint-dir",
                "starting from a checkpoint (--checkpoint-dir)",
            ),
        ],
    )?;
    backend.start(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn timeout_param(q: &HashMap<String, String>) -> ApiResult<Option<i64>> {
    q.get("t")
        .or_else(|| q.get("timeout"))
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid value for t: {t}")))
        })
        .transpose()
}

async fn stop<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<StatusCode> {
    backend
        .stop(&id, timeout_param(&q)?, q.get("signal").map(String::as_str))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn restart<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<StatusCode> {
    match backend
        .stop(&id, timeout_param(&q)?, q.get("signal").map(String::as_str))
        .await
    {
        Ok(()) => {}
        Err(e) if e.kind == berth_engine::ErrorKind::NotModified => {}
        Err(e) => return Err(e.into()),
    }
    match backend.start(&id).await {
        Ok(()) => {}
        // Started by another request meanwhile (a concurrent restart): it runs, which is
        // what a restart answers 204 for, as dockerd does.
        Err(e) if e.kind == berth_engine::ErrorKind::NotModified => {}
        Err(e) => return Err(e.into()),
    }
    backend.container_event_by_key(&id, "restart");
    Ok(StatusCode::NO_CONTENT)
}

async fn kill<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<StatusCode> {
    backend
        .kill(&id, q.get("signal").map(String::as_str))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn update<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let req: berth_models::ContainerUpdate = if body.is_empty() {
        Default::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON in request body: {e}")))?
    };
    Ok(Json(backend.update(&id, req).await?).into_response())
}

async fn pause<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    backend.set_paused(&id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unpause<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    backend.set_paused(&id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn top<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Json<ContainerTopResponse>> {
    let v = backend
        .top(&id, q.get("ps_args").map(String::as_str))
        .await?;
    Ok(Json(v))
}

/// One JSON sample per second while the container runs (`stream`, the default), or one
/// sample (`stream=false`: taken a second after a first one, so CPU deltas mean
/// something; `one-shot=true`: at once).
async fn stats<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Response> {
    let stream = q.get("stream").is_none_or(|v| truthy(Some(v)));
    let first = backend.stats_sample(&id, None).await?;
    if !stream {
        let v = if truthy(q.get("one-shot")) {
            first
        } else {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            backend.stats_sample(&id, Some(&first)).await?
        };
        return Ok(Json(v).into_response());
    }
    let body = futures_util::stream::unfold(
        (backend, id, Some(first), None::<ContainerStatsResponse>),
        |(backend, id, next, prev)| async move {
            let sample = match next {
                Some(s) => s,
                None => {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    backend.stats_sample(&id, prev.as_ref()).await.ok()?
                }
            };
            let mut line = serde_json::to_vec(&sample).ok()?;
            line.push(b'\n');
            Some((
                Ok::<_, Infallible>(Bytes::from(line)),
                (backend, id, None, Some(sample)),
            ))
        },
    );
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(body))
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// Headers go out at once; the body follows when the condition is met.
async fn wait<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Response> {
    let cond: WaitCondition = q
        .get("condition")
        .map(String::as_str)
        .unwrap_or("")
        .parse()?;
    let fut = backend.wait(&id, cond)?;
    let body = futures_util::stream::once(async move {
        let mut v = serde_json::to_vec(&fut.await).unwrap_or_default();
        v.push(b'\n');
        Ok::<_, Infallible>(Bytes::from(v))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}

/// The content type of a container's stdio stream for this API version.
pub(crate) fn stream_type(version: ApiVersion, tty: bool) -> &'static str {
    berth_models::compat::stdio_media_type(version, tty)
}

/// `POST /containers/{id}/attach`: with `logs`, what the log holds first (framed unless
/// TTY); with `stream`, the live stdio stream (parked until the container starts), ended
/// by the detach keys (`detachKeys`) with a TTY and stdin. Without `stream` the answer
/// ends after the logs, also without an upgrade (a plain 200 as dockerd sends it).
async fn attach<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    Query(q): Params,
    Extension(version): Extension<ApiVersion>,
    mut req: Request,
) -> ApiResult<Response> {
    let (stdin, stdout, stderr) = (
        truthy(q.get("stdin")),
        truthy(q.get("stdout")),
        truthy(q.get("stderr")),
    );
    let stream = truthy(q.get("stream"));
    let upgrade = req.headers().contains_key(header::UPGRADE);
    let keys = q.get("detachKeys").map_or("", String::as_str);
    let session = backend.attach_session(&id, stdin, keys)?;
    if stream && !upgrade {
        return Err(ApiError::bad_request(
            "attach needs a connection upgrade (Connection: Upgrade, Upgrade: tcp)",
        ));
    }
    // The log as it is now, before the live stream (a line written in between is in
    // neither, as with dockerd).
    let mut replay = Vec::new();
    if truthy(q.get("logs")) && (stdout || stderr) {
        let opts = LogOptions {
            stdout,
            stderr,
            ..LogOptions::default()
        };
        let (mut rx, _) = backend.logs(&id, opts)?;
        while let Some(chunk) = rx.recv().await {
            replay.push(chunk);
        }
    }
    let content_type = stream_type(version, session.tty);
    if !stream && !upgrade {
        return Ok((
            [
                (header::CONTENT_TYPE, content_type),
                (header::CONNECTION, "close"),
            ],
            Body::from(replay.concat()),
        )
            .into_response());
    }
    let on_upgrade = hyper::upgrade::on(&mut req);
    if !stream {
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(u) => stdio::Client::new(u).send_and_close(&replay).await,
                Err(e) => tracing::debug!("attach upgrade failed: {e}"),
            }
        });
        return Ok(upgraded_response(version, session.tty));
    }
    let (rx, tty) = backend.attach(&id, stdin, stdout, stderr).await?;
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!("attach upgrade failed: {e}");
                return;
            }
        };
        let client = stdio::Client::new(upgraded);
        let shim = match rx.await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::debug!("attach: {e}");
                return;
            }
            Err(_) => return,
        };
        let session = stdio::Session {
            detach_keys: session.detach_keys,
            on_detach: Vec::new(),
            prologue: replay,
        };
        if stdio::pump(client, shim, session).await == stdio::Ended::Detached {
            backend.container_event_by_key(&id, "detach");
        }
    });
    Ok(upgraded_response(version, tty))
}

/// The 101 answer that hands the connection over to a stdio stream.
pub(crate) fn upgraded_response(version: ApiVersion, tty: bool) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(stream_type(version, tty)),
    );
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    resp
}

fn time_param(q: &HashMap<String, String>, key: &str) -> i64 {
    q.get(key)
        .and_then(|s| s.split('.').next().and_then(|n| n.parse::<i64>().ok()))
        .unwrap_or(0)
}

async fn logs<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    Query(q): Params,
    Extension(version): Extension<ApiVersion>,
) -> ApiResult<Response> {
    let opts = LogOptions {
        stdout: truthy(q.get("stdout")),
        stderr: truthy(q.get("stderr")),
        follow: truthy(q.get("follow")),
        tail: q.get("tail").and_then(|t| t.parse::<usize>().ok()),
        timestamps: truthy(q.get("timestamps")),
        details: truthy(q.get("details")),
        since: time_param(&q, "since"),
        until: time_param(&q, "until"),
    };
    if !opts.stdout && !opts.stderr {
        return Err(ApiError::bad_request(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let (rx, tty) = backend.logs(&id, opts)?;
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    Ok((
        [(header::CONTENT_TYPE, stream_type(version, tty))],
        Body::from_stream(body),
    )
        .into_response())
}

async fn resize<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<StatusCode> {
    backend
        .resize(&id, dimension(&q, "w")?, dimension(&q, "h")?)
        .await?;
    Ok(StatusCode::OK)
}

/// A `w` or `h` query parameter of a resize.
pub(crate) fn dimension(q: &HashMap<String, String>, k: &str) -> ApiResult<u16> {
    q.get(k)
        .map(|v| v.parse::<u16>())
        .transpose()
        .map_err(|_| ApiError::bad_request(format!("invalid value for {k}")))
        .map(Option::unwrap_or_default)
}

async fn rename<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<StatusCode> {
    let name = q.get("name").map_or("", String::as_str);
    backend.rename(&id, name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn prune<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Query(q): Params,
) -> ApiResult<Json<ContainerPruneResponse>> {
    let filters = berth_engine::filters::parse_filters(q.get("filters").map(String::as_str))?;
    Ok(Json(backend.prune(&filters).await?))
}

/// `X-Docker-Container-Path-Stat`: the path's stat as base64 of its JSON.
fn path_stat_header(stat: &berth_engine::archive::PathStat) -> (&'static str, String) {
    use base64::Engine as _;
    let json = serde_json::to_vec(stat).unwrap_or_default();
    (
        "X-Docker-Container-Path-Stat",
        base64::engine::general_purpose::STANDARD.encode(json),
    )
}

fn archive_path(q: &HashMap<String, String>) -> &str {
    q.get("path").map_or("", String::as_str)
}

async fn archive_head<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Response> {
    let stat = backend.archive_stat(&id, archive_path(&q)).await?;
    Ok(([path_stat_header(&stat)], ()).into_response())
}

async fn archive_get<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Response> {
    let (stat, body) = backend.archive_get(&id, archive_path(&q)).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE.as_str(),
                "application/x-tar".to_string(),
            ),
            path_stat_header(&stat),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

async fn archive_put<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    Query(q): Params,
    body: Body,
) -> ApiResult<StatusCode> {
    let opts = berth_engine::archive::PutOptions {
        no_overwrite_dir_non_dir: truthy(q.get("noOverwriteDirNonDir")),
        copy_uid_gid: truthy(q.get("copyUIDGID")),
    };
    let stream =
        futures_util::TryStreamExt::map_err(body.into_data_stream(), std::io::Error::other);
    backend
        .archive_put(&id, archive_path(&q), opts, stream)
        .await?;
    Ok(StatusCode::OK)
}

async fn remove<B: ContainerBackend>(
    State(backend): State<Arc<B>>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<StatusCode> {
    crate::refuse_params(&q, &[("link", "removing a link (docker rm --link)")])?;
    backend
        .remove(&id, truthy(q.get("force")), truthy(q.get("v")))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_types_follow_api_version() {
        assert_eq!(
            stream_type(ApiVersion(1, 50), false),
            "application/vnd.docker.multiplexed-stream"
        );
        assert_eq!(
            stream_type(ApiVersion(1, 50), true),
            "application/vnd.docker.raw-stream"
        );
        assert_eq!(
            stream_type(ApiVersion(1, 41), false),
            "application/vnd.docker.raw-stream"
        );
    }
}
