//! `/_ping`, `/version`, `/info` (with what the host's cgroups and mounts allow), `/system/df`,
//! `/events`, and the prunes of what Berth does not have yet (user networks, build cache).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_engine::Result;
use berth_engine::events::Event;
use berth_models::{
    BuildPruneResponse, Commit, ComponentVersion, DiskUsage, ForVersion, PlatformName, PluginsInfo,
    Runtime, SwarmInfo, SystemInfo, SystemVersion, compat,
};
use tokio::sync::broadcast;

use crate::ApiVersion;

/// What the system routes ask of the daemon (moby's `router/system` `Backend`).
pub trait SystemBackend: Send + Sync + 'static {
    fn system_df(&self) -> impl Future<Output = Result<DiskUsage>> + Send;
    /// Containers: (total, running, paused, stopped).
    fn counts(&self) -> (usize, usize, usize, usize);
    fn image_count(&self) -> usize;
    fn data_root(&self) -> &Path;
    /// The runtimes by name, and the default one's name.
    fn runtimes_info(&self) -> (BTreeMap<String, Runtime>, &str);
    /// `--init`'s binary and its commit.
    fn init_info(&self) -> (&str, &str);
    /// The log driver of containers that name none.
    fn default_log_driver(&self) -> &str;
    /// The kept events at or after `since` (nanoseconds), and the ones to come.
    fn subscribe_events(
        &self,
        since: Option<i128>,
    ) -> (Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>);
}

pub fn routes<B: SystemBackend>() -> Router<Arc<B>> {
    Router::new()
        .route("/_ping", get(ping).head(ping))
        .route("/version", get(version))
        .route("/info", get(info::<B>))
        .route("/system/df", get(df::<B>))
        .route("/events", get(events::<B>))
        .route("/build/prune", post(build_prune))
}

/// `POST /build/prune` (part of `docker system prune`): no build cache yet.
async fn build_prune() -> Json<BuildPruneResponse> {
    Json(BuildPruneResponse::default())
}

async fn df<B: SystemBackend>(
    State(backend): State<Arc<B>>,
    Extension(version): Extension<ApiVersion>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> crate::ApiResult<Json<DiskUsage>> {
    crate::refuse_params(&q, &[("type", "disk usage of some object types only")])?;
    Ok(Json(backend.system_df().await?.versioned(version)))
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

async fn version() -> Json<SystemVersion> {
    let (kernel, arch, _) = uname();
    let v = env!("CARGO_PKG_VERSION");
    let commit = option_env!("BERTH_GIT_COMMIT").unwrap_or("unknown");
    let details = [
        ("ApiVersion", berth_models::API_VERSION_MAX),
        ("Arch", arch.as_str()),
        ("BuildTime", ""),
        ("Experimental", "false"),
        ("GitCommit", commit),
        ("GoVersion", GO_VERSION),
        ("KernelVersion", kernel.as_str()),
        ("MinAPIVersion", berth_models::API_VERSION_MIN),
        ("Os", "linux"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Json(SystemVersion {
        platform: PlatformName {
            name: "Berth".into(),
        },
        components: Some(vec![ComponentVersion {
            name: "Engine".into(),
            version: v.into(),
            details: Some(details),
        }]),
        version: v.into(),
        api_version: berth_models::API_VERSION_MAX.into(),
        min_api_version: berth_models::API_VERSION_MIN.into(),
        git_commit: commit.into(),
        go_version: GO_VERSION.into(),
        os: "linux".into(),
        arch,
        kernel_version: kernel,
        experimental: false,
        build_time: String::new(),
    })
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
    std::fs::read_to_string(Path::new("/proc/sys").join(name)).is_ok_and(|v| v.trim() == "1")
}

/// The file system `path` is on, named as Docker's graph drivers name it ("Backing
/// Filesystem": `extfs` for ext2/3/4), from the mount table.
fn backing_fs(mountinfo: &str, path: &Path) -> String {
    let best = berth_runtime::linux::mountinfo::mount_of(mountinfo, path);
    match best.as_ref().map_or("unknown", |m| m.fstype) {
        "ext2" | "ext3" | "ext4" => "extfs".into(),
        "overlay" => "overlayfs".into(),
        "nfs4" => "nfs".into(),
        other => other.into(),
    }
}

/// The log drivers Berth writes (`--log-driver`), as `Plugins.Log` lists them: like
/// dockerd, `none` (no log at all) is accepted but not listed.
fn listed_log_drivers() -> Vec<String> {
    berth_engine::logs::LOG_DRIVERS
        .into_iter()
        .filter(|d| *d != "none")
        .map(str::to_string)
        .collect()
}

async fn info<B: SystemBackend>(
    State(backend): State<Arc<B>>,
    Extension(version): Extension<ApiVersion>,
) -> Json<SystemInfo> {
    let (kernel, _, host) = uname();
    let (total, running, paused, stopped) = backend.counts();
    let images = backend.image_count();
    let cgroups = cgroup_info();
    let (os, os_version) = os_release();
    let data_root = backend.data_root();
    let backing = backing_fs(
        &std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default(),
        &data_root
            .canonicalize()
            .unwrap_or_else(|_| data_root.to_path_buf()),
    );
    let (runtimes, default_runtime) = backend.runtimes_info();
    let (init_binary, init_commit) = backend.init_info();
    let commit = |id: &str| Commit {
        id: id.into(),
        expected: None,
    };
    let info = SystemInfo {
        id: String::new(),
        containers: total as i64,
        containers_running: running as i64,
        containers_paused: paused as i64,
        containers_stopped: stopped as i64,
        images: images as i64,
        driver: "overlay".into(),
        driver_status: vec![["Backing Filesystem".into(), backing]],
        system_status: None,
        // No volume, network or authorization plugins: none of those drivers yet.
        plugins: PluginsInfo {
            volume: Some(Vec::new()),
            network: Some(Vec::new()),
            authorization: None,
            log: Some(listed_log_drivers()),
        },
        memory_limit: cgroups.memory,
        swap_limit: cgroups.swap,
        kernel_memory: Some(false),
        kernel_memory_tcp: Some(false),
        cpu_cfs_period: true,
        cpu_cfs_quota: true,
        cpu_shares: true,
        cpu_set: true,
        pids_limit: true,
        ipv4_forwarding: sysctl_on("net/ipv4/ip_forward"),
        bridge_nf_iptables: Some(sysctl_on("net/bridge/bridge-nf-call-iptables")),
        bridge_nf_ip6tables: Some(sysctl_on("net/bridge/bridge-nf-call-ip6tables")),
        debug: false,
        n_fd: 0,
        oom_kill_disable: cgroups.oom_kill_disable,
        n_goroutines: 0,
        system_time: berth_engine::time::now_rfc3339(),
        logging_driver: backend.default_log_driver().into(),
        cgroup_driver: "cgroupfs".into(),
        cgroup_version: cgroups.version.into(),
        n_events_listener: 0,
        kernel_version: kernel,
        operating_system: os,
        os_version,
        os_type: "linux".into(),
        architecture: std::env::consts::ARCH.into(),
        index_server_address: "https://index.docker.io/v1/".into(),
        registry_config: None,
        ncpu: std::thread::available_parallelism().map_or(1, |n| n.get() as i64),
        mem_total: mem_total() as i64,
        generic_resources: None,
        docker_root_dir: data_root.display().to_string(),
        // Berth makes no outgoing connections (no registry client yet): no proxies.
        http_proxy: String::new(),
        https_proxy: String::new(),
        no_proxy: String::new(),
        name: host,
        labels: Vec::new(),
        experimental_build: false,
        server_version: env!("CARGO_PKG_VERSION").into(),
        runtimes,
        default_runtime: default_runtime.into(),
        swarm: SwarmInfo::default(),
        live_restore_enabled: true,
        isolation: String::new(),
        init_binary: init_binary.into(),
        // No containerd, and no runc by default.
        containerd_commit: commit(""),
        runc_commit: commit(""),
        init_commit: commit(init_commit),
        security_options: vec!["name=seccomp,profile=default".into()],
        product_license: String::new(),
        default_address_pools: None,
        firewall_backend: None,
        // No CDI devices.
        cdi_spec_dirs: Some(Vec::new()),
        discovered_devices: None,
        containerd: None,
        warnings: None,
    };
    Json(info.versioned(version))
}

/// `GET /events?since=&until=&filters=`: the kept events from `since`, then live ones, as
/// a stream of JSON objects; ends at `until` if given.
async fn events<B: SystemBackend>(
    State(backend): State<Arc<B>>,
    Extension(version): Extension<ApiVersion>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> crate::ApiResult<Response> {
    use berth_engine::events::{now_nano, parse_time};
    use tokio::sync::broadcast::error::RecvError;
    let time = |key: &str| {
        q.get(key)
            .filter(|s| !s.is_empty())
            .map(|s| parse_time(s))
            .transpose()
    };
    let (since, until) = (time("since")?, time("until")?);
    let filters = berth_engine::filters::parse_filters(q.get("filters").map(String::as_str))?;
    berth_engine::events::check_filters(&filters)?;
    let (past, rx) = backend.subscribe_events(since);
    let deadline = until.map(|u| {
        let left = u64::try_from((u - now_nano()).max(0)).unwrap_or(u64::MAX);
        tokio::time::Instant::now() + std::time::Duration::from_nanos(left)
    });
    struct Feed {
        past: std::collections::VecDeque<Arc<Event>>,
        rx: broadcast::Receiver<Arc<Event>>,
        filters: berth_engine::filters::Filters,
        version: ApiVersion,
        until: Option<i128>,
        deadline: Option<tokio::time::Instant>,
    }
    let feed = Feed {
        past: past.into(),
        rx,
        filters,
        version,
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
            let message = e.message();
            if !compat::event_visible(&message, f.version) {
                continue;
            }
            let mut line = serde_json::to_vec(&message).ok()?;
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
