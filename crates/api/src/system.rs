//! `/_ping`, `/version`, `/info`, `/system/df`, `/events`, and the prunes of what Berth
//! does not have yet (user networks, build cache).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_ping", get(ping).head(ping))
        .route("/version", get(version))
        .route("/info", get(info))
        .route("/system/df", get(df))
        .route("/events", get(events))
        .route("/networks/prune", post(networks_prune))
        .route("/build/prune", post(build_prune))
}

/// `POST /networks/prune` (part of `docker system prune`): Berth has no user-defined
/// networks yet, so there is never one to remove.
async fn networks_prune() -> Json<Value> {
    Json(json!({ "NetworksDeleted": null }))
}

/// `POST /build/prune` (part of `docker system prune`): no build cache yet.
async fn build_prune() -> Json<Value> {
    Json(json!({ "CachesDeleted": null, "SpaceReclaimed": 0 }))
}

async fn df(State(engine): State<AppState>) -> crate::ApiResult<Json<Value>> {
    Ok(Json(engine.system_df().await?))
}

async fn ping() -> Response {
    let mut r = "OK".into_response();
    let h = r.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert("Builder-Version", HeaderValue::from_static("1"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn uname() -> (String, String, String) {
    match nix_uname() {
        Some(u) => u,
        None => ("unknown".into(), "unknown".into(), "unknown".into()),
    }
}

/// (kernel release, machine in Go's naming, host name)
fn nix_uname() -> Option<(String, String, String)> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    Some((release.trim().into(), arch.into(), host.trim().into()))
}

async fn version() -> Json<Value> {
    let (kernel, arch, _) = uname();
    let v = env!("CARGO_PKG_VERSION");
    Json(json!({
        "Platform": { "Name": "Berth" },
        "Components": [{
            "Name": "Engine",
            "Version": v,
            "Details": {
                "ApiVersion": berth_models::API_VERSION_MAX,
                "MinAPIVersion": berth_models::API_VERSION_MIN,
                "Os": "linux",
                "Arch": arch,
                "KernelVersion": kernel,
            }
        }],
        "Version": v,
        "ApiVersion": berth_models::API_VERSION_MAX,
        "MinAPIVersion": berth_models::API_VERSION_MIN,
        "GitCommit": option_env!("BERTH_GIT_COMMIT").unwrap_or("unknown"),
        "GoVersion": "n/a (Rust)",
        "Os": "linux",
        "Arch": arch,
        "KernelVersion": kernel,
        "BuildTime": "",
    }))
}

fn mem_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into())
}

async fn info(
    State(engine): State<AppState>,
    axum::Extension(version): axum::Extension<crate::ApiVersion>,
) -> Json<Value> {
    let (kernel, arch, host) = uname();
    let (total, running, paused, stopped) = engine.counts();
    let images = engine.store().list().map(|l| l.len()).unwrap_or(0);
    let cgroup_version = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "2"
    } else {
        "1"
    };
    let (runtimes, default_runtime) = engine.runtimes_info();
    // dockerd: InitCommit's `Expected` (the ID again) only below API 1.49.
    let (init_binary, init_commit) = engine.init_info();
    let mut init_commit = json!({ "ID": init_commit });
    if version < crate::ApiVersion(1, 49) {
        init_commit["Expected"] = init_commit["ID"].clone();
    }
    Json(json!({
        "ID": "",
        "Containers": total,
        "ContainersRunning": running,
        "ContainersPaused": paused,
        "ContainersStopped": stopped,
        "Images": images,
        "Driver": "overlay",
        "DriverStatus": [["Backing Filesystem", "overlayfs lower dirs"]],
        "Plugins": {
            "Volume": ["local"],
            "Network": ["host", "none"],
            "Authorization": null,
            "Log": ["json-file"],
        },
        "MemoryLimit": true,
        "SwapLimit": false,
        "CpuCfsPeriod": true,
        "CpuCfsQuota": true,
        "CPUShares": true,
        "CPUSet": true,
        "PidsLimit": true,
        "IPv4Forwarding": false,
        "Debug": false,
        "NFd": 0,
        "NGoroutines": 0,
        "SystemTime": berth_engine::time::now_rfc3339(),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": cgroup_version,
        "NEventsListener": 0,
        "KernelVersion": kernel,
        "OperatingSystem": os_name(),
        "OSVersion": "",
        "OSType": "linux",
        "Architecture": arch,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": null,
        "NCPU": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "MemTotal": mem_total(),
        "DockerRootDir": engine.data_root(),
        "Name": host,
        "Labels": [],
        "ExperimentalBuild": false,
        "ServerVersion": env!("CARGO_PKG_VERSION"),
        "Runtimes": runtimes,
        "DefaultRuntime": default_runtime,
        "InitBinary": init_binary,
        "InitCommit": init_commit,
        "LiveRestoreEnabled": true,
        "Isolation": "",
        "SecurityOptions": ["name=seccomp,profile=default"],
        "Warnings": [],
    }))
}

/// `GET /events?since=&until=&filters=`: the kept events from `since`, then live ones, as
/// a stream of JSON objects; ends at `until` if given.
async fn events(
    State(engine): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> crate::ApiResult<Response> {
    use berth_engine::events::{Event, now_nano, parse_time};
    use tokio::sync::broadcast::error::RecvError;
    let time = |key: &str| {
        q.get(key)
            .filter(|s| !s.is_empty())
            .map(|s| parse_time(s))
            .transpose()
    };
    let (since, until) = (time("since")?, time("until")?);
    let filters = berth_engine::image_ops::parse_filters(q.get("filters").map(String::as_str))?;
    let (past, rx) = engine.events().subscribe(since);
    let deadline = until.map(|u| {
        let left = u64::try_from((u - now_nano()).max(0)).unwrap_or(u64::MAX);
        tokio::time::Instant::now() + std::time::Duration::from_nanos(left)
    });
    struct Feed {
        past: std::collections::VecDeque<std::sync::Arc<Event>>,
        rx: tokio::sync::broadcast::Receiver<std::sync::Arc<Event>>,
        filters: berth_engine::image_ops::Filters,
        until: Option<i128>,
        deadline: Option<tokio::time::Instant>,
    }
    let feed = Feed {
        past: past.into(),
        rx,
        filters,
        until,
        deadline,
    };
    let body = futures_util::stream::unfold(feed, |mut f| async move {
        loop {
            let (e, replayed) = match f.past.pop_front() {
                Some(e) => (e, true),
                None => {
                    let next = match f.deadline {
                        Some(d) => tokio::select! {
                            r = f.rx.recv() => r,
                            () = tokio::time::sleep_until(d) => return None,
                        },
                        None => f.rx.recv().await,
                    };
                    match next {
                        Ok(e) => (e, false),
                        Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return None,
                    }
                }
            };
            if f.until.is_some_and(|u| e.time_nano > u) {
                if replayed {
                    continue;
                }
                return None;
            }
            if !e.matches(&f.filters) {
                continue;
            }
            let mut line = serde_json::to_vec(&e.to_json()).ok()?;
            line.push(b'\n');
            return Some((
                Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(line)),
                f,
            ));
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from_stream(body))
        .map_err(|e| {
            crate::ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        })
}
