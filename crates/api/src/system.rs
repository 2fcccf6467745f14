//! `/_ping`, `/version`, `/info` (with what the host's cgroups and mounts allow), `/system/df`,
//! `/events`, and the prunes of what Berth does not have yet (user networks, build cache).

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
    let commit = option_env!("BERTH_GIT_COMMIT").unwrap_or("unknown");
    Json(json!({
        "Platform": { "Name": "Berth" },
        "Components": [{
            "Name": "Engine",
            "Version": v,
            "Details": {
                "ApiVersion": berth_models::API_VERSION_MAX,
                "Arch": arch,
                "BuildTime": "",
                "Experimental": "false",
                "GitCommit": commit,
                "GoVersion": GO_VERSION,
                "KernelVersion": kernel,
                "MinAPIVersion": berth_models::API_VERSION_MIN,
                "Os": "linux",
            }
        }],
        "Version": v,
        "ApiVersion": berth_models::API_VERSION_MAX,
        "MinAPIVersion": berth_models::API_VERSION_MIN,
        "GitCommit": commit,
        "GoVersion": GO_VERSION,
        "Os": "linux",
        "Arch": arch,
        "KernelVersion": kernel,
        "BuildTime": "",
    }))
}

/// `GoVersion` of `/version`: Berth is no Go program.
const GO_VERSION: &str = "n/a (Rust)";

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

/// `PRETTY_NAME` and `VERSION_ID` of /etc/os-release, as dockerd reports them.
fn os_release() -> (String, String) {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').to_string())
    };
    (
        field("PRETTY_NAME").unwrap_or_else(|| "Linux".into()),
        field("VERSION_ID").unwrap_or_default(),
    )
}

/// What the host's cgroups allow, as `/info` reports it.
#[derive(Debug, Default, PartialEq)]
struct CgroupInfo {
    version: &'static str,
    memory: bool,
    swap: bool,
    oom_kill_disable: bool,
}

/// The memory controller and its swap and OOM-killer files, as moby's sysinfo looks for
/// them (on v2 swap goes with memory and the OOM killer cannot be disabled).
fn cgroup_info() -> CgroupInfo {
    use berth_runtime::linux::cgroups::{Layout, detect};
    match detect() {
        Ok(Layout::V2 { mountpoint }) => {
            let controllers =
                std::fs::read_to_string(mountpoint.join("cgroup.controllers")).unwrap_or_default();
            let memory = controllers.split_whitespace().any(|c| c == "memory");
            CgroupInfo {
                version: "2",
                memory,
                swap: memory,
                oom_kill_disable: false,
            }
        }
        Ok(Layout::V1 { hierarchies }) => {
            let memory = hierarchies
                .iter()
                .find(|h| h.options.split(',').any(|o| o == "memory"));
            CgroupInfo {
                version: "1",
                memory: memory.is_some(),
                swap: memory
                    .is_some_and(|h| h.mountpoint.join("memory.memsw.limit_in_bytes").exists()),
                oom_kill_disable: memory
                    .is_some_and(|h| h.mountpoint.join("memory.oom_control").exists()),
            }
        }
        Err(e) => {
            tracing::debug!("cgroups: {e}");
            CgroupInfo {
                version: "1",
                ..CgroupInfo::default()
            }
        }
    }
}

/// A `/proc/sys` switch is on (`1`).
fn sysctl_on(name: &str) -> bool {
    std::fs::read_to_string(std::path::Path::new("/proc/sys").join(name))
        .is_ok_and(|v| v.trim() == "1")
}

/// The file system `path` is on, named as Docker's graph drivers name it ("Backing
/// Filesystem": `extfs` for ext2/3/4), from the mount table.
fn backing_fs(mountinfo: &str, path: &std::path::Path) -> String {
    let mut best: Option<(usize, &str)> = None;
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let (Some(mountpoint), Some(fstype)) = (pre.split(' ').nth(4), post.split(' ').next())
        else {
            continue;
        };
        let mountpoint = unescape_mountinfo(mountpoint);
        if path.starts_with(&mountpoint) && best.is_none_or(|(len, _)| mountpoint.len() >= len) {
            best = Some((mountpoint.len(), fstype));
        }
    }
    match best.map_or("unknown", |(_, t)| t) {
        "ext2" | "ext3" | "ext4" => "extfs".into(),
        "overlay" => "overlayfs".into(),
        "nfs4" => "nfs".into(),
        other => other.into(),
    }
}

/// Mount points in /proc/self/mountinfo escape space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The log drivers Berth writes (`--log-driver`), as `Plugins.Log` lists them: like
/// dockerd, `none` (no log at all) is accepted but not listed.
fn listed_log_drivers() -> Vec<&'static str> {
    berth_engine::logs::LOG_DRIVERS
        .into_iter()
        .filter(|d| *d != "none")
        .collect()
}

async fn info(
    State(engine): State<AppState>,
    axum::Extension(version): axum::Extension<crate::ApiVersion>,
) -> Json<Value> {
    let (kernel, _, host) = uname();
    let (total, running, paused, stopped) = engine.counts();
    let images = engine.store().list().map(|l| l.len()).unwrap_or(0);
    let cgroups = cgroup_info();
    let (os, os_version) = os_release();
    let data_root = engine.data_root();
    let backing = backing_fs(
        &std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default(),
        &data_root
            .canonicalize()
            .unwrap_or_else(|_| data_root.to_path_buf()),
    );
    let (runtimes, default_runtime) = engine.runtimes_info();
    // dockerd: InitCommit's `Expected` (the ID again) only below API 1.49.
    let (init_binary, init_commit) = engine.init_info();
    let mut init_commit = json!({ "ID": init_commit });
    if version < crate::ApiVersion(1, 49) {
        init_commit["Expected"] = init_commit["ID"].clone();
    }
    let no_commit = json!({ "ID": "", "Expected": "" });
    Json(json!({
        "ID": "",
        "Containers": total,
        "ContainersRunning": running,
        "ContainersPaused": paused,
        "ContainersStopped": stopped,
        "Images": images,
        "Driver": "overlay",
        "DriverStatus": [["Backing Filesystem", backing]],
        // No volume, network or authorization plugins: none of those drivers yet.
        "Plugins": {
            "Volume": [],
            "Network": [],
            "Authorization": null,
            "Log": listed_log_drivers(),
        },
        "MemoryLimit": cgroups.memory,
        "SwapLimit": cgroups.swap,
        "KernelMemory": false,
        "KernelMemoryTCP": false,
        "CpuCfsPeriod": true,
        "CpuCfsQuota": true,
        "CPUShares": true,
        "CPUSet": true,
        "PidsLimit": true,
        "IPv4Forwarding": sysctl_on("net/ipv4/ip_forward"),
        "BridgeNfIptables": sysctl_on("net/bridge/bridge-nf-call-iptables"),
        "BridgeNfIp6tables": sysctl_on("net/bridge/bridge-nf-call-ip6tables"),
        "Debug": false,
        "NFd": 0,
        "OomKillDisable": cgroups.oom_kill_disable,
        "NGoroutines": 0,
        "SystemTime": berth_engine::time::now_rfc3339(),
        "LoggingDriver": engine.config().default_log.r#type,
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": cgroups.version,
        "NEventsListener": 0,
        "KernelVersion": kernel,
        "OperatingSystem": os,
        "OSVersion": os_version,
        "OSType": "linux",
        "Architecture": std::env::consts::ARCH,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": null,
        "NCPU": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "MemTotal": mem_total(),
        "GenericResources": null,
        "DockerRootDir": data_root,
        // Berth makes no outgoing connections (no registry client yet): no proxies.
        "HttpProxy": "",
        "HttpsProxy": "",
        "NoProxy": "",
        "Name": host,
        "Labels": [],
        "ExperimentalBuild": false,
        "ServerVersion": env!("CARGO_PKG_VERSION"),
        "Runtimes": runtimes,
        "DefaultRuntime": default_runtime,
        "InitBinary": init_binary,
        "InitCommit": init_commit,
        "Swarm": {
            "NodeID": "",
            "NodeAddr": "",
            "LocalNodeState": "inactive",
            "ControlAvailable": false,
            "Error": "",
            "RemoteManagers": null,
        },
        "LiveRestoreEnabled": true,
        "Isolation": "",
        // No containerd, and no runc by default.
        "ContainerdCommit": no_commit,
        "RuncCommit": no_commit,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn backing_fs_is_the_longest_mount_holding_the_path() {
        let mountinfo = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:25 / /tmp rw,nosuid shared:5 - tmpfs tmpfs rw
31 22 0:26 / /var/lib/my\\040root rw shared:6 - xfs /dev/sdb rw
32 22 0:27 / /tmpx rw shared:7 - btrfs /dev/sdc rw
";
        assert_eq!(backing_fs(mountinfo, Path::new("/var/lib/berth")), "extfs");
        assert_eq!(backing_fs(mountinfo, Path::new("/tmp/b/root")), "tmpfs");
        assert_eq!(backing_fs(mountinfo, Path::new("/tmpx/root")), "btrfs");
        assert_eq!(
            backing_fs(mountinfo, Path::new("/var/lib/my root/x")),
            "xfs"
        );
        assert_eq!(backing_fs("", Path::new("/x")), "unknown");
    }
}
