//! Container lifecycle: create, start, attach, wait, stop, kill, remove, logs, and finding
//! running containers again after a daemon restart.

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use berth_models::{
    ContainerState, CreateRequest, CreateResponse, MountPoint, WaitError, WaitResponse, ZERO_TIME,
    list,
};
use berth_runtime::linux::cgroups::Cgroup;
use berth_runtime::{BindMount, ContainerSpec, ExitStatus, NetworkMode, ShimClient, TmpfsMount};
use bytes::Bytes;
use nix::sys::signal::Signal;
use serde_json::Value;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

mod fields;

use crate::container::Container;
use crate::fault;
use crate::image_ops::{Filters, labels_match};
use crate::reap::Shims;
use crate::{
    Engine, Entry, Error, ErrorKind, LogOptions, PendingAttach, Result, lock, names, time,
};

/// `State.Error` of a container whose shim died while it ran (its exit code is 137).
const SHIM_LOST: &str = "the container's shim exited unexpectedly: container killed";
/// `State.Error` of a container recorded as running whose new start the daemon did not
/// live to finish.
const START_CUT: &str = "the daemon was stopped during a start: container killed";

const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const HOSTS: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// `--add-host` entries (`ExtraHosts`, `HOST:IP`) as `/etc/hosts` lines.
fn extra_host_lines(hc: &berth_models::HostConfig) -> Result<String> {
    let mut out = String::new();
    for entry in list(&hc.extra_hosts) {
        let (host, ip) = entry
            .split_once(':')
            .or_else(|| entry.split_once('='))
            .ok_or_else(|| Error::invalid(format!("bad format for add-host: {entry:?}")))?;
        if ip == "host-gateway" {
            return Err(Error::new(
                ErrorKind::NotImplemented,
                "--add-host with host-gateway needs bridge networking, which is not supported yet",
            ));
        }
        if host.is_empty() || ip.parse::<std::net::IpAddr>().is_err() {
            return Err(Error::invalid(format!(
                "invalid IP address in add-host: {ip:?}"
            )));
        }
        out.push_str(&format!("{ip}\t{host}\n"));
    }
    Ok(out)
}

/// The container's `/etc/resolv.conf`: the host's, with its nameservers, search domains and
/// options replaced by `--dns`, `--dns-search` and `--dns-option` where given.
fn resolv_conf(hc: &berth_models::HostConfig, host: &str) -> Result<String> {
    let dns = list(&hc.dns).to_vec();
    let search = list(&hc.dns_search).to_vec();
    let options = list(&hc.dns_options).to_vec();
    for ip in &dns {
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(Error::invalid(format!(
                "IP address is not correctly formatted: {ip}"
            )));
        }
    }
    if dns.is_empty() && search.is_empty() && options.is_empty() {
        return Ok(host.to_string());
    }
    let host_values = |key: &str| -> Vec<String> {
        host.lines()
            .filter_map(|l| l.trim().strip_prefix(key))
            .filter(|rest| rest.starts_with([' ', '\t']))
            .flat_map(|rest| rest.split_whitespace().map(str::to_string))
            .collect()
    };
    let pick = |user: Vec<String>, key: &str| {
        if user.is_empty() {
            host_values(key)
        } else {
            user
        }
    };
    let mut out = String::new();
    let search = pick(search, "search");
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    for ns in pick(dns, "nameserver") {
        out.push_str(&format!("nameserver {ns}\n"));
    }
    let options = pick(options, "options");
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    Ok(out)
}

/// `condition` of `POST /containers/{id}/wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    NotRunning,
    NextExit,
    Removed,
}

impl FromStr for WaitCondition {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "" | "not-running" => Ok(WaitCondition::NotRunning),
            "next-exit" => Ok(WaitCondition::NextExit),
            "removed" => Ok(WaitCondition::Removed),
            other => Err(Error::invalid(format!(
                "invalid condition: \"{other}\" (must be one of not-running, next-exit, removed)"
            ))),
        }
    }
}

/// Whether `name` has the shape of a container id (as [`random_id`] makes them).
fn is_container_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// 32 random bytes as 64 hex characters.
pub(crate) fn random_id() -> Result<String> {
    let mut buf = [0u8; 32];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom")
            .map_err(|e| Error::io("opening /dev/urandom", e))?,
        &mut buf,
    )
    .map_err(|e| Error::io("reading /dev/urandom", e))?;
    Ok(hex::encode(buf))
}

/// Parse a signal as Docker accepts it: `SIGTERM`, `TERM`, `15`.
pub fn parse_signal(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n)
            .map(|sig| sig as i32)
            .map_err(|_| Error::invalid(format!("Invalid signal: {s}")));
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name)
        .map(|sig| sig as i32)
        .map_err(|_| Error::invalid(format!("Invalid signal: {s}")))
}

/// Merge `KEY=value` lists: later entries replace earlier ones with the same key.
fn merge_env(base: &[String], over: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(base.len() + over.len());
    for kv in base.iter().chain(over) {
        let key = kv.split('=').next().unwrap_or(kv);
        if let Some(slot) = out
            .iter_mut()
            .find(|e| e.split('=').next().unwrap_or(e) == key)
        {
            *slot = kv.clone();
        } else {
            out.push(kv.clone());
        }
    }
    out
}

fn network_mode(mode: &str) -> Result<NetworkMode> {
    match mode {
        // No bridge networking yet: containers on the default network get a namespace of
        // their own with loopback only, as with `none`.
        "" | "default" | "bridge" | "none" => Ok(NetworkMode::Loopback),
        "host" => Ok(NetworkMode::Host),
        other => Err(Error::new(
            ErrorKind::NotImplemented,
            format!("network mode {other:?} is not supported yet"),
        )),
    }
}

/// Runtime settings that Docker keeps in HostConfig fields Berth does not model one by
/// one: resources, ulimits, /dev/shm size, sysctls, extra groups. Checked at create.
#[derive(Debug, Default)]
pub(crate) struct RuntimeOptions {
    pub(crate) resources: berth_runtime::spec::Resources,
    ulimits: Vec<berth_runtime::spec::Ulimit>,
    shm_size: i64,
    sysctls: std::collections::BTreeMap<String, String>,
    group_add: Vec<String>,
    devices: Vec<berth_runtime::spec::Device>,
}

/// `--device HOST[:CONTAINER[:PERMS]]` entries, looked up on the host.
fn devices(hc: &berth_models::HostConfig) -> Result<Vec<berth_runtime::spec::Device>> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut out = Vec::new();
    for d in hc.resources.devices.iter().flatten() {
        let host = d.path_on_host.as_str();
        let inside = Some(d.path_in_container.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or(host);
        let perms = Some(d.cgroup_permissions.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or("rwm");
        if !perms.chars().all(|c| "rwm".contains(c)) || !inside.starts_with('/') {
            return Err(Error::invalid(format!(
                "invalid device mapping {host}:{inside}:{perms}"
            )));
        }
        let bad = |why: String| {
            Error::invalid(format!(
                "error gathering device information while adding custom device {host:?}: {why}"
            ))
        };
        let meta = std::fs::metadata(host).map_err(|e| bad(e.to_string()))?;
        let ft = meta.file_type();
        let kind = if ft.is_char_device() {
            'c'
        } else if ft.is_block_device() {
            'b'
        } else {
            return Err(bad("not a device node".into()));
        };
        let rdev = meta.rdev();
        out.push(berth_runtime::spec::Device {
            path_in_container: inside.to_string(),
            kind,
            major: libc::major(rdev) as i64,
            minor: libc::minor(rdev) as i64,
            file_mode: meta.mode() & 0o777,
            permissions: perms.to_string(),
        });
    }
    Ok(out)
}

/// IPC and network sysctls are per namespace; Docker allows only these.
fn namespaced_sysctl(key: &str, host_network: bool) -> bool {
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    IPC.contains(&key)
        || key.starts_with("fs.mqueue.")
        || (!host_network && key.starts_with("net."))
}

/// [`runtime_options`] for `update`.
pub(crate) fn runtime_options_for(hc: &berth_models::HostConfig) -> Result<RuntimeOptions> {
    runtime_options(hc)
}

/// Whether a container passes the value filters of `ps`: any value of a key may match,
/// every key must (labels: every one given).
fn ps_filters_match(r: &Container, filters: &Filters) -> bool {
    let name_matches = |pattern: &str| {
        let name = r.name.as_str();
        match (pattern.strip_prefix('^'), pattern.strip_suffix('$')) {
            (Some(p), _) if p.ends_with('$') => name == &p[..p.len() - 1],
            (Some(p), _) => name.starts_with(p.trim_start_matches('/')),
            (None, Some(p)) => name.ends_with(p),
            (None, None) => name.contains(pattern.trim_start_matches('/')),
        }
    };
    let health = r
        .state
        .health
        .as_ref()
        .map_or("none", |h| h.status.as_str());
    let image_matches = |v: &str| {
        let short = |s: &str| s.trim_start_matches("sha256:").to_string();
        r.config.image == v
            || berth_store::normalize(v).ok() == berth_store::normalize(&r.config.image).ok()
            || (v.len() >= 4 && short(&r.image_id).starts_with(&short(v)))
    };
    filters.iter().all(|(key, values)| {
        let any = |f: &dyn Fn(&str) -> bool| values.is_empty() || values.iter().any(|v| f(v));
        match key.as_str() {
            "id" => any(&|v| r.id.starts_with(v)),
            "name" => any(&name_matches),
            "label" => labels_match(|k| r.config.labels.get(k), values),
            "status" => any(&|v| r.state.status == v),
            "exited" => any(&|v| r.state.status == "exited" && r.state.exit_code.to_string() == v),
            "ancestor" => any(&image_matches),
            "health" => any(&|v| v == health),
            "network" => any(&|v| {
                let mode = r.host_config.network_mode.as_str();
                v == mode || (mode.is_empty() && v == "default")
            }),
            "volume" => any(&|v| {
                list(&r.host_config.binds)
                    .iter()
                    .any(|b| b.split(':').take(2).any(|part| part == v))
            }),
            // No published or exposed ports yet; no swarm tasks.
            "publish" | "expose" => false,
            "is-task" => any(&|v| v == "false"),
            _ => true,
        }
    })
}

/// Wait through `shim` for the container to exit. A lost connection is not a lost shim: it
/// is asked again while it answers. `Err(why)` once it is gone without an exit record, or
/// keeps failing.
async fn wait_for_exit(shim: &ShimClient) -> std::result::Result<ExitStatus, String> {
    let mut failures = 0u32;
    loop {
        let err = match shim.wait().await {
            Ok(status) => return Ok(status),
            Err(e) => e,
        };
        // `state` reads `exit.json` when the shim is gone: an exit it recorded is found.
        match shim.state().await {
            Ok(s) if s.status == "stopped" => {
                if let Some(exit) = s.exit {
                    return Ok(exit);
                }
            }
            Err(berth_runtime::Error::ShimGone(why)) => return Err(why),
            _ => {}
        }
        failures += 1;
        if failures >= 5 {
            return Err(err.to_string());
        }
        tracing::debug!("waiting on a container's shim: {err}; asking again");
        tokio::time::sleep(Duration::from_millis(100 << failures)).await;
    }
}

/// Docker's restart policy names, checked at create and update (its messages).
pub(crate) fn validate_restart_policy(p: &berth_models::RestartPolicy) -> Result<()> {
    match p.name.as_str() {
        "" => Ok(()),
        "always" | "unless-stopped" | "no" if p.maximum_retry_count != 0 => {
            Err(Error::invalid(format!(
                "maximum retry count cannot be used with restart policy '{}'",
                p.name
            )))
        }
        "always" | "unless-stopped" | "no" => Ok(()),
        "on-failure" if p.maximum_retry_count < 0 => {
            Err(Error::invalid("maximum retry count cannot be negative"))
        }
        "on-failure" => Ok(()),
        other => Err(Error::invalid(format!("invalid restart policy '{other}'"))),
    }
}

/// Whether an exit (already recorded in `r`) calls for a restart under its policy.
fn should_restart(r: &Container) -> bool {
    if r.manually_stopped {
        return false;
    }
    let p = &r.host_config.restart_policy;
    match p.name.as_str() {
        "always" | "unless-stopped" => true,
        "on-failure" => {
            r.state.exit_code != 0
                && (p.maximum_retry_count == 0 || r.restart_count < p.maximum_retry_count)
        }
        _ => false,
    }
}

/// `HostConfig.ConsoleSize`: `[height, width]` of a TTY from the start (API 1.42+); the
/// docker CLI sends zeros when it has no terminal.
fn console_size(hc: &berth_models::HostConfig) -> Option<[u16; 2]> {
    let dim = |n: u32| u16::try_from(n).ok().filter(|&n| n > 0);
    Some([dim(hc.console_size[0])?, dim(hc.console_size[1])?])
}

/// Docker's smallest memory limit and reservation.
const MIN_MEMORY: i64 = 6 << 20;
/// The range of CPU shares the kernel takes (runc's checks).
const CPU_SHARES: std::ops::RangeInclusive<i64> = 2..=262_144;

/// What dockerd normalizes in a create's resources before it checks them: a swappiness of
/// -1 is none, a PIDs limit of 0 or less is no limit.
fn normalize_resources(res: &mut berth_models::Resources) {
    if res.memory_swappiness == Some(-1) {
        res.memory_swappiness = None;
    }
    if res.pids_limit.is_some_and(|p| p <= 0) {
        res.pids_limit = None;
    }
}

/// A cpuset list (`0-3,6`) as numbers; dockerd's error for one that does not parse.
fn cpuset_list(v: &str) -> std::result::Result<Vec<u32>, String> {
    let bad = || format!("invalid format: {v}");
    let mut out = Vec::new();
    for part in v.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if a > b || b - a > 65_536 {
            return Err(bad());
        }
        out.extend(a..=b);
    }
    Ok(out)
}

/// Check `CpusetCpus` or `CpusetMems` (`what`: "cpus" or "mems") against what the host
/// has online (`online`: the kernel's list), with dockerd's messages.
fn check_cpuset(v: &str, what: &str, online: &str) -> Result<()> {
    if v.is_empty() {
        return Ok(());
    }
    let wanted = cpuset_list(v)
        .map_err(|e| Error::invalid(format!("Invalid value {v} for cpuset {what}: {e}")))?;
    let online = online.trim();
    let have = cpuset_list(online).unwrap_or_default();
    if let Some(_missing) = wanted.iter().find(|n| !have.contains(n)) {
        let kind = if what == "cpus" {
            "CPUs"
        } else {
            "memory nodes"
        };
        return Err(Error::invalid(format!(
            "Requested {kind} are not available - requested {v}, available: {online}"
        )));
    }
    Ok(())
}

/// dockerd's checks of resource limits at create and update (`verifyPlatformContainerResources`
/// and the OCI runtime's), with their messages: 400 rather than a container that fails to
/// start or whose limit is not what was asked. `update`: the merged settings of a
/// `docker update` (a swap limit may be there without a memory limit).
pub(crate) fn validate_resources(res: &berth_models::Resources, update: bool) -> Result<()> {
    let invalid = |m: String| Err(Error::invalid(m));
    if res.memory != 0 && res.memory < MIN_MEMORY {
        return invalid("Minimum memory limit allowed is 6MB".into());
    }
    if res.memory > 0 && res.memory_swap > 0 && res.memory_swap < res.memory {
        return invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage".into(),
        );
    }
    if res.memory == 0 && res.memory_swap > 0 && !update {
        return invalid(
            "You should always set the Memory limit when using Memoryswap limit, see usage".into(),
        );
    }
    if let Some(s) = res.memory_swappiness
        && s != -1
        && !(0..=100).contains(&s)
    {
        return invalid(format!(
            "Invalid value: {s}, valid memory swappiness range is 0-100"
        ));
    }
    if res.memory_reservation > 0 && res.memory_reservation < MIN_MEMORY {
        return invalid("Minimum memory reservation allowed is 6MB".into());
    }
    if res.memory > 0 && res.memory_reservation > 0 && res.memory < res.memory_reservation {
        return invalid(
            "Minimum memory limit can not be less than memory reservation limit, see usage".into(),
        );
    }
    if res.nano_cpus > 0 && res.cpu_period > 0 {
        return invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set".into());
    }
    if res.nano_cpus > 0 && res.cpu_quota > 0 {
        return invalid("Conflicting options: Nano CPUs and CPU Quota cannot both be set".into());
    }
    if res.cpu_shares < 0 {
        return invalid(format!(
            "invalid CPU shares ({}): value must be a positive integer",
            res.cpu_shares
        ));
    }
    if res.cpu_shares != 0 && res.cpu_shares < *CPU_SHARES.start() {
        return invalid(format!(
            "the minimum allowed cpu-shares is {}",
            CPU_SHARES.start()
        ));
    }
    if res.cpu_shares > *CPU_SHARES.end() {
        return invalid(format!(
            "the maximum allowed cpu-shares is {}",
            CPU_SHARES.end()
        ));
    }
    if res.cpu_period != 0 && !(1000..=1_000_000).contains(&res.cpu_period) {
        return invalid(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
                .into(),
        );
    }
    if res.cpu_quota > 0 && res.cpu_quota < 1000 {
        return invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)".into());
    }
    let sys = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    check_cpuset(
        &res.cpuset_cpus,
        "cpus",
        &sys("/sys/devices/system/cpu/online"),
    )?;
    let nodes = sys("/sys/devices/system/node/online");
    check_cpuset(
        &res.cpuset_mems,
        "mems",
        if nodes.trim().is_empty() { "0" } else { &nodes },
    )?;
    if res.blkio_weight > 0 && !(10..=1000).contains(&res.blkio_weight) {
        return invalid("Range of blkio weight is from 10 to 1000".into());
    }
    if res.io_maximum_bandwidth != 0 || res.io_maximum_iops != 0 {
        return invalid(
            "Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps"
                .into(),
        );
    }
    Ok(())
}

/// dockerd's range check of `OomScoreAdj` (a 400 before the field table's 501: the value is
/// wrong whatever Berth supports).
fn check_oom_score_adj(hc: &berth_models::HostConfig) -> Result<()> {
    if !(-1000..=1000).contains(&hc.oom_score_adj) {
        return Err(Error::invalid(format!(
            "Invalid value {}, range for oom score adj is [-1000, 1000]",
            hc.oom_score_adj
        )));
    }
    Ok(())
}

fn runtime_options(hc: &berth_models::HostConfig) -> Result<RuntimeOptions> {
    let res = &hc.resources;
    let mut r = berth_runtime::spec::Resources {
        memory_swap: res.memory_swap,
        memory_reservation: res.memory_reservation,
        oom_kill_disable: res.oom_kill_disable,
        cpu_shares: res.cpu_shares.max(0) as u64,
        cpu_quota: res.cpu_quota,
        cpu_period: res.cpu_period.max(0) as u64,
        cpuset_cpus: res.cpuset_cpus.clone(),
        cpuset_mems: res.cpuset_mems.clone(),
        blkio_weight: res.blkio_weight,
    };
    if r.memory_swap > 0 && res.memory > 0 && r.memory_swap < res.memory {
        return Err(Error::invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    let nano = res.nano_cpus;
    if nano != 0 {
        let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get()) as i64;
        if nano < 10_000_000 || nano > ncpu * 1_000_000_000 {
            return Err(Error::invalid(format!(
                "Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
            )));
        }
        if r.cpu_period > 0 {
            return Err(Error::invalid(
                "Conflicting options: Nano CPUs and CPU Period cannot both be set",
            ));
        }
        if r.cpu_quota > 0 {
            return Err(Error::invalid(
                "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
            ));
        }
        r.cpu_period = 100_000;
        r.cpu_quota = nano * 100_000 / 1_000_000_000;
    }
    let mut ulimits = Vec::new();
    for u in res.ulimits.iter().flatten() {
        let (name, soft, hard) = (u.name.clone(), u.soft, u.hard);
        if berth_runtime::spec::rlimit_type(&name).is_none() {
            return Err(Error::invalid(format!("invalid ulimit type: {name}")));
        }
        if soft < 0 || hard < soft {
            return Err(Error::invalid(format!(
                "ulimit {name}: soft limit {soft} must not be above hard limit {hard}"
            )));
        }
        if name == "nofile" {
            let (_, host_hard) =
                nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
                    .map_err(|e| Error::internal(format!("getrlimit: {e}")))?;
            if hard as u64 > host_hard {
                return Err(Error::invalid(format!(
                    "ulimit nofile: hard limit {hard} is above the host's hard limit {host_hard}"
                )));
            }
        }
        ulimits.push(berth_runtime::spec::Ulimit {
            name,
            soft: soft as u64,
            hard: hard as u64,
        });
    }
    let host_network = hc.network_mode == "host";
    let mut sysctls = std::collections::BTreeMap::new();
    for (k, v) in hc.sysctls.iter().flatten() {
        if !namespaced_sysctl(k, host_network) {
            return Err(Error::invalid(format!(
                "sysctl {k:?} is not allowed: only namespaced sysctls (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.*) can be set"
            )));
        }
        sysctls.insert(k.clone(), v.clone());
    }
    Ok(RuntimeOptions {
        devices: devices(hc)?,
        resources: r,
        ulimits,
        shm_size: hc.shm_size.max(0),
        sysctls,
        group_add: list(&hc.group_add).to_vec(),
    })
}

/// `--pid`, `--ipc`, `--uts` as the runtime takes them: "" (own), "host", or the
/// namespace path of the running container named by `container:<name>`.
fn namespace_mode(engine: &Engine, mode: &str, key: &str, kind: &str) -> Result<String> {
    match mode {
        "" | "private" | "shareable" => Ok(String::new()),
        "host" => Ok("host".into()),
        m if m.starts_with("container:") => {
            let other = engine.lookup(&m["container:".len()..])?;
            let r = other.record();
            if !r.state.running || r.state.pid <= 0 {
                return Err(Error::conflict(format!(
                    "cannot join {kind} namespace of a non running container: {}",
                    r.id
                )));
            }
            Ok(format!("/proc/{}/ns/{kind}", r.state.pid))
        }
        other => Err(Error::invalid(format!("invalid {key}: {other:?}"))),
    }
}

/// What `--security-opt` asks for.
#[derive(Debug, Default)]
struct SecurityOpts {
    no_new_privileges: bool,
    seccomp_unconfined: bool,
    /// A custom profile (Docker's JSON, as the CLI sends it), checked.
    seccomp_profile: Option<String>,
}

fn security_opts(opts: &[String]) -> Result<SecurityOpts> {
    let mut out = SecurityOpts::default();
    for o in opts {
        let (k, v) = o
            .split_once(['=', ':'])
            .map_or((o.as_str(), ""), |(k, v)| (k, v));
        match (k, v) {
            ("no-new-privileges", "" | "true") => out.no_new_privileges = true,
            ("no-new-privileges", "false") => out.no_new_privileges = false,
            ("seccomp", "unconfined") => out.seccomp_unconfined = true,
            ("seccomp", "builtin" | "") => {}
            ("seccomp", profile) => {
                // Checked against Docker's default capabilities here; the container's own
                // set decides which rules apply when it starts.
                let caps: Vec<String> = berth_runtime::spec::DEFAULT_CAPS
                    .iter()
                    .map(|c| c.to_string())
                    .collect();
                berth_runtime::seccomp_profile::to_oci(profile, &caps).map_err(|e| match e {
                    berth_runtime::Error::Invalid(m) => Error::invalid(m),
                    e => Error::invalid(e.to_string()),
                })?;
                out.seccomp_profile = Some(profile.to_string());
            }
            // Berth confines with neither AppArmor nor SELinux: asking for none is honest,
            // asking for a profile or a label is not something it can do.
            ("apparmor", "unconfined") | ("label", "disable") => {}
            ("apparmor" | "label", _) => {
                return Err(Error::new(
                    ErrorKind::NotImplemented,
                    format!(
                        "HostConfig.SecurityOpt: {k} (--security-opt {o}) is not supported yet"
                    ),
                ));
            }
            _ => {
                return Err(Error::invalid(format!("Invalid --security-opt: {o:?}")));
            }
        }
    }
    Ok(out)
}

/// One `-v SRC:DST[:OPTS]` (host paths only so far); the bind and its mode string.
fn parse_bind(b: &str) -> Result<(BindMount, String)> {
    let parts: Vec<&str> = b.split(':').collect();
    let (src, dst, opts) = match parts.as_slice() {
        [s, d] => (*s, *d, ""),
        [s, d, o] => (*s, *d, *o),
        _ => {
            return Err(Error::invalid(format!(
                "invalid volume specification: '{b}'"
            )));
        }
    };
    if !src.starts_with('/') {
        return Err(Error::new(
            ErrorKind::NotImplemented,
            format!("named volumes are not supported yet: '{b}'"),
        ));
    }
    if !dst.starts_with('/') {
        return Err(Error::invalid(format!(
            "invalid volume specification: '{b}': invalid mount config: destination must be an absolute path"
        )));
    }
    let bind = BindMount {
        source: src.into(),
        destination: dst.into(),
        readonly: opts.split(',').any(|o| o == "ro"),
    };
    Ok((bind, opts.to_string()))
}

/// A container's own mounts (`Binds`, `Mounts` of type bind or tmpfs, `Tmpfs`), as the
/// runtime takes them and as `inspect` and `ps` list them (`Mounts`).
#[derive(Debug, Default)]
pub(crate) struct UserMounts {
    pub binds: Vec<BindMount>,
    pub tmpfs: Vec<TmpfsMount>,
    /// Docker's `Mounts` entries (binds and `--mount`s; `Tmpfs` is not listed there).
    pub listed: Vec<MountPoint>,
}

/// Read and check the mounts of `hc` with Docker's messages; `check_sources`: a bind's
/// source must exist (at create and start; not for listing).
pub(crate) fn user_mounts(
    hc: &berth_models::HostConfig,
    check_sources: bool,
) -> Result<UserMounts> {
    let mut out = UserMounts::default();
    let source_exists = |typ: &str, src: &str| {
        if check_sources && !std::path::Path::new(src).exists() {
            return Err(Error::invalid(format!(
                "invalid mount config for type \"{typ}\": bind source path does not exist: {src}"
            )));
        }
        Ok(())
    };
    for b in list(&hc.binds) {
        let (mut bind, mode) = parse_bind(b)?;
        source_exists("bind", &bind.source.to_string_lossy())?;
        out.listed.push(MountPoint {
            r#type: "bind".into(),
            source: bind.source.to_string_lossy().into_owned(),
            destination: bind.destination.clone(),
            mode,
            rw: !bind.readonly,
            propagation: "rprivate".into(),
            ..Default::default()
        });
        bind.destination = clean_target(&bind.destination);
        out.binds.push(bind);
    }
    for m in hc.mounts.iter().flatten() {
        let typ = m.r#type.as_str();
        let target = m.target.as_str();
        let readonly = m.read_only;
        let bad =
            |why: String| Error::invalid(format!("invalid mount config for type \"{typ}\": {why}"));
        if typ == "volume" {
            return Err(Error::new(
                ErrorKind::NotImplemented,
                "named volumes are not supported yet (--mount type=volume)",
            ));
        }
        if !matches!(typ, "bind" | "tmpfs") {
            return Err(bad("mount type unknown".into()));
        }
        if !target.starts_with('/') {
            return Err(bad(format!(
                "invalid mount path: '{target}' mount path must be absolute"
            )));
        }
        if typ == "bind" {
            let src = m.source.as_str();
            if !src.starts_with('/') {
                return Err(bad(format!(
                    "invalid mount path: '{src}' mount path must be absolute"
                )));
            }
            source_exists("bind", src)?;
            out.binds.push(BindMount {
                source: src.into(),
                destination: clean_target(target),
                readonly,
            });
        } else {
            let mut options = Vec::new();
            let tmpfs = m.tmpfs_options.clone().unwrap_or_default();
            if tmpfs.size_bytes > 0 {
                options.push(format!("size={}", tmpfs.size_bytes));
            }
            if tmpfs.mode > 0 {
                options.push(format!("mode={:o}", tmpfs.mode & 0o7777));
            }
            if readonly {
                options.push("ro".into());
            }
            out.tmpfs.push(TmpfsMount {
                destination: clean_target(target),
                options,
            });
        }
        let propagation = if typ == "bind" { "rprivate" } else { "" };
        out.listed.push(MountPoint {
            r#type: typ.into(),
            source: m.source.clone(),
            destination: target.into(),
            mode: String::new(),
            rw: !readonly,
            propagation: propagation.into(),
            ..Default::default()
        });
    }
    for (target, opts) in hc.tmpfs.iter().flatten() {
        if !target.starts_with('/') {
            return Err(Error::invalid(format!(
                "invalid mount path: '{target}' mount path must be absolute"
            )));
        }
        out.tmpfs.push(TmpfsMount {
            destination: clean_target(target),
            options: opts
                .split(',')
                .filter(|o| !o.is_empty())
                .map(str::to_string)
                .collect(),
        });
    }
    let mut seen = HashSet::new();
    let targets = out.binds.iter().map(|b| &b.destination);
    for t in targets.chain(out.tmpfs.iter().map(|t| &t.destination)) {
        if !seen.insert(t.clone()) {
            return Err(Error::invalid(format!("Duplicate mount point: {t}")));
        }
    }
    Ok(out)
}

/// Docker's default size of /dev/shm.
const DEFAULT_SHM_SIZE: i64 = 64 << 20;

/// What dockerd fills in at create where a request left a field empty, so that `inspect`
/// shows what the container really gets (clients such as the Python SDK read them).
fn fill_host_defaults(hc: &mut berth_models::HostConfig) -> Result<()> {
    if hc.network_mode.is_empty() {
        hc.network_mode = "default".into();
    }
    if hc.ipc_mode.is_empty() {
        hc.ipc_mode = "private".into();
    }
    if hc.shm_size < 0 {
        return Err(Error::invalid("SHM size can not be less than 0"));
    }
    if hc.shm_size == 0 {
        hc.shm_size = DEFAULT_SHM_SIZE;
    }
    // Berth always gives a container a cgroup namespace of its own.
    match hc.cgroupns_mode.as_str() {
        "" => hc.cgroupns_mode = "private".into(),
        "private" => {}
        "host" => {
            return Err(Error::new(
                ErrorKind::NotImplemented,
                "cgroup namespace mode host (--cgroupns host) is not supported yet",
            ));
        }
        other => {
            return Err(Error::invalid(format!(
                "invalid cgroup namespace mode: {other}"
            )));
        }
    }
    if !hc.privileged {
        let defaults = |paths: &[&str]| Some(paths.iter().map(|p| p.to_string()).collect());
        if hc.masked_paths.is_none() {
            hc.masked_paths = defaults(&berth_runtime::spec::MASKED_PATHS);
        }
        if hc.readonly_paths.is_none() {
            hc.readonly_paths = defaults(&berth_runtime::spec::READONLY_PATHS);
        }
    }
    Ok(())
}

/// A mount target without trailing or doubled slashes.
fn clean_target(t: &str) -> String {
    let parts: Vec<&str> = t.split('/').filter(|p| !p.is_empty()).collect();
    format!("/{}", parts.join("/"))
}

impl Engine {
    /// `POST /containers/create`.
    pub async fn create(&self, name: Option<&str>, req: CreateRequest) -> Result<CreateResponse> {
        crate::warm_cgroups();
        let mut req = req;
        if req.config.image.is_empty() {
            return Err(Error::invalid("no image specified"));
        }
        // dockerd checks the settings before it looks for the image.
        normalize_resources(&mut req.host_config.resources);
        validate_resources(&req.host_config.resources, false)?;
        check_oom_score_adj(&req.host_config)?;
        fields::check_create(&req)?;
        let CreateRequest {
            mut config,
            mut host_config,
            ..
        } = req;
        let _image_gate = self.image_gate.read().await;
        let image = self.store.get(&config.image)?;
        network_mode(&host_config.network_mode)?;
        validate_restart_policy(&host_config.restart_policy)?;
        if host_config.auto_remove && !matches!(host_config.restart_policy.name.as_str(), "" | "no")
        {
            return Err(Error::invalid(
                "can't create 'AutoRemove' container with restart policy",
            ));
        }
        user_mounts(&host_config, true)?;
        security_opts(list(&host_config.security_opt))?;
        runtime_options(&host_config)?;
        let (runtime, _) = self.runtime_for(&host_config.runtime)?;
        host_config.runtime = runtime;
        for (key, kind, mode) in [
            ("PidMode", "pid", &host_config.pid_mode),
            ("IpcMode", "ipc", &host_config.ipc_mode),
            ("UTSMode", "uts", &host_config.uts_mode),
        ] {
            if !(matches!(mode.as_str(), "" | "private" | "shareable" | "host")
                || mode.starts_with("container:") && kind != "uts")
            {
                return Err(Error::invalid(format!("invalid {key}: {mode:?}")));
            }
        }
        // Docker silently runs no init outside a pid namespace of the container's own;
        // Berth says so instead.
        let pid_mode = host_config.pid_mode.as_str();
        if host_config.init == Some(true)
            && (pid_mode == "host" || pid_mode.starts_with("container:"))
        {
            return Err(Error::invalid(format!(
                "--init needs a pid namespace of the container's own: it cannot be used with --pid {pid_mode}"
            )));
        }
        for c in list(&host_config.cap_add)
            .iter()
            .chain(list(&host_config.cap_drop))
        {
            if !c.eq_ignore_ascii_case("ALL") {
                berth_runtime::spec::normalize_capability(c)
                    .map_err(|e| Error::invalid(e.to_string()))?;
            }
        }
        crate::logs::check_log_config(&mut host_config.log_config, &self.cfg.default_log)?;
        fill_host_defaults(&mut host_config)?;
        let ic = &image.config.config;
        config.healthcheck =
            crate::health::merge(config.healthcheck.take(), ic.healthcheck.as_ref());

        // Docker merges the image's defaults into the container's Config at create time.
        let image_env = ic.env.clone().unwrap_or_default();
        config.env = merge_env(&image_env, &config.env);
        if !config.env.iter().any(|e| e.starts_with("PATH=")) {
            config.env.insert(0, DEFAULT_PATH.into());
        }
        // `--entrypoint ""` (sent as [""]) resets the image's entrypoint.
        if config.entrypoint.as_deref() == Some(&[String::new()][..]) {
            config.entrypoint = Some(Vec::new());
        }
        let user_entrypoint = config.entrypoint.is_some();
        if config.entrypoint.is_none() {
            config.entrypoint = ic.entrypoint.clone();
        }
        if config.cmd.as_ref().is_none_or(|c| c.is_empty()) && !user_entrypoint {
            config.cmd = ic.cmd.clone();
        }
        if config.working_dir.is_empty() {
            config.working_dir = ic.working_dir.clone().unwrap_or_default();
        }
        if config.user.is_empty() {
            config.user = ic.user.clone().unwrap_or_default();
        }
        if config.stop_signal.is_none() {
            config.stop_signal = ic.stop_signal.clone();
        }
        if let Some(labels) = &ic.labels {
            for (k, v) in labels {
                config.labels.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        if config.exposed_ports.is_none() {
            config.exposed_ports = ic.exposed_ports.clone();
        }
        if config.volumes.is_none() {
            config.volumes = ic.volumes.clone();
        }
        if let Some(sig) = &config.stop_signal {
            parse_signal(sig)?;
        }
        let mut argv: Vec<String> = config.entrypoint.clone().unwrap_or_default();
        argv.extend(config.cmd.clone().unwrap_or_default());
        if argv.is_empty() {
            return Err(Error::invalid("no command specified"));
        }

        let id = random_id()?;
        if config.hostname.is_empty() {
            config.hostname = id[..12].to_string();
        }
        let requested = name
            .filter(|n| !n.is_empty())
            .map(names::validate)
            .transpose()?;
        let c = Container {
            id: id.clone(),
            name: String::new(),
            created: time::now_rfc3339(),
            path: argv[0].clone(),
            args: argv[1..].to_vec(),
            config,
            host_config,
            image_id: image.id.clone(),
            state: ContainerState::default(),
            restart_count: 0,
            manually_stopped: false,
        };

        let paths = self.paths(&id);
        let entry = {
            // Pick or check the name and register the container in one step, so two
            // creates cannot take the same name.
            let mut map = lock(&self.containers);
            let taken = |n: &str| map.values().find(|e| e.record().name == n).cloned();
            let name = match requested {
                Some(n) => {
                    if let Some(other) = taken(&n) {
                        let other_id = other.record().id.clone();
                        return Err(Error::conflict(format!(
                            "Conflict. The container name \"/{n}\" is already in use by container \"{other_id}\". You have to remove (or rename) that container to be able to reuse that name."
                        )));
                    }
                    n
                }
                None => {
                    let seed = u64::from_str_radix(&id[..16], 16).unwrap_or(0);
                    (0..)
                        .map(|i| names::generate(seed.rotate_left(i * 7), i))
                        .find(|n| taken(n).is_none())
                        .unwrap_or_else(|| id[..12].to_string())
                }
            };
            let mut c = c;
            c.name = name;
            let entry = Entry::new(c);
            map.insert(id.clone(), entry.clone());
            entry
        };
        let result = (|| -> Result<()> {
            let c = entry.record().clone();
            for d in [paths.upper(), paths.work()] {
                std::fs::create_dir_all(&d)
                    .map_err(|e| Error::io(&format!("creating {}", d.display()), e))?;
            }
            let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
            let resolv = resolv_conf(&c.host_config, &host_resolv)?;
            let extra = extra_host_lines(&c.host_config)?;
            let mut files: Vec<(std::path::PathBuf, Vec<u8>)> = vec![
                (
                    paths.hostname(),
                    format!("{}\n", c.config.hostname).into_bytes(),
                ),
                (
                    paths.hosts(),
                    format!("{HOSTS}{extra}127.0.1.1\t{}\n", c.config.hostname).into_bytes(),
                ),
                (paths.resolv_conf(), resolv.into_bytes()),
            ];
            if let Some(log) = c.log_file(&paths) {
                if let Some(dir) = log.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| Error::io(&format!("creating {}", dir.display()), e))?;
                }
                files.push((log, Vec::new()));
            }
            for (path, content) in files {
                std::fs::write(&path, content)
                    .map_err(|e| Error::io(&format!("writing {}", path.display()), e))?;
            }
            fault::point("create.files");
            self.db.save(&c, true)
        })();
        if let Err(e) = result {
            lock(&self.containers).remove(&id);
            self.drop_execs(&id);
            let _ = std::fs::remove_dir_all(&paths.dir);
            return Err(e);
        }
        fault::point("create.recorded");
        self.container_event(&entry.record().clone(), "create", &[]);
        Ok(CreateResponse {
            id,
            warnings: Vec::new(),
        })
    }

    /// `POST /containers/{id}/start`.
    pub async fn start(self: &Arc<Self>, key: &str) -> Result<()> {
        let entry = self.lookup(key)?;
        self.start_entry(&entry, false).await
    }

    /// Start a container: for a user (which also cancels a pending restart and forgets an
    /// earlier manual stop), or for its restart policy (`by_policy`: only if that restart is
    /// still due, i.e. nobody stopped, started or removed it meanwhile).
    async fn start_entry(self: &Arc<Self>, entry: &Arc<Entry>, by_policy: bool) -> Result<()> {
        crate::warm_cgroups();
        let _op = entry.op.lock().await;
        {
            let mut r = entry.record();
            if by_policy {
                if !r.state.restarting || r.manually_stopped || entry.progress.borrow().removed {
                    return Ok(());
                }
            } else {
                r.manually_stopped = false;
                if r.state.restarting {
                    r.state.restarting = false;
                } else {
                    r.restart_count = 0;
                    *lock(&entry.restart_delay) = Duration::ZERO;
                }
            }
        }
        let c = entry.record().clone();
        if c.state.running {
            return Err(Error::new(
                ErrorKind::NotModified,
                "container already started",
            ));
        }
        if c.state.status == "removing" || entry.progress.borrow().removed {
            return Err(Error::conflict(format!(
                "cannot start container {}: it is being removed",
                c.id
            )));
        }
        let paths = self.paths(&c.id);
        let layers = self.store.layer_dirs_of(&c.image_id)?;
        let mut binds = vec![
            BindMount {
                source: paths.hostname(),
                destination: "/etc/hostname".into(),
                readonly: false,
            },
            BindMount {
                source: paths.hosts(),
                destination: "/etc/hosts".into(),
                readonly: false,
            },
            BindMount {
                source: paths.resolv_conf(),
                destination: "/etc/resolv.conf".into(),
                readonly: false,
            },
        ];
        let user = user_mounts(&c.host_config, true)?;
        binds.extend(user.binds);
        let mut env = c.config.env.clone();
        if !env.iter().any(|e| e.starts_with("HOSTNAME=")) {
            env.push(format!("HOSTNAME={}", c.config.hostname));
        }
        let stop_signal = match &c.config.stop_signal {
            Some(s) => parse_signal(s)?,
            None => libc::SIGTERM,
        };
        let sec = security_opts(list(&c.host_config.security_opt))?;
        let (_, runtime) = self.runtime_for(&c.host_config.runtime)?;
        let opts = runtime_options(&c.host_config)?;
        let hc = &c.host_config;
        let pid_ns = namespace_mode(self, &hc.pid_mode, "PidMode", "pid")?;
        let ipc_ns = namespace_mode(self, &hc.ipc_mode, "IpcMode", "ipc")?;
        let uts_ns = namespace_mode(self, &hc.uts_mode, "UTSMode", "uts")?;
        // `--init` as dockerd: only in a pid namespace of its own, and without an init
        // binary the start fails with dockerd's message.
        let init = match &self.cfg.init.path {
            _ if hc.init != Some(true) || !pid_ns.is_empty() => None,
            Ok(path) => Some(path.clone()),
            Err(e) => return Err(self.start_failed(entry, Error::internal(e.clone())).await),
        };
        let spec = ContainerSpec {
            id: c.id.clone(),
            args: std::iter::once(c.path.clone())
                .chain(c.args.clone())
                .collect(),
            env,
            cwd: if c.config.working_dir.is_empty() {
                "/".into()
            } else {
                c.config.working_dir.clone()
            },
            user: c.config.user.clone(),
            hostname: c.config.hostname.clone(),
            tty: c.config.tty,
            open_stdin: c.config.open_stdin,
            stdin_once: c.config.stdin_once,
            layers,
            upper_dir: paths.upper(),
            work_dir: paths.work(),
            binds,
            tmpfs: user.tmpfs,
            log_path: c.log_file(&paths).unwrap_or_default(),
            cgroup_path: format!("/{}/{}", self.cfg.cgroup_parent, c.id),
            // `NetworkDisabled`: no network, as `--network none`.
            network: if c.config.network_disabled {
                NetworkMode::Loopback
            } else {
                network_mode(&c.host_config.network_mode)?
            },
            memory: hc.resources.memory,
            pids_limit: hc.resources.pids_limit.unwrap_or(0).max(0),
            stop_signal,
            cap_add: list(&hc.cap_add).to_vec(),
            cap_drop: list(&hc.cap_drop).to_vec(),
            privileged: c.host_config.privileged,
            no_new_privileges: sec.no_new_privileges,
            seccomp_unconfined: sec.seccomp_unconfined,
            seccomp_profile: sec.seccomp_profile,
            runtime,
            init,
            console_size: console_size(&c.host_config),
            resources: opts.resources,
            ulimits: opts.ulimits,
            shm_size: opts.shm_size,
            sysctls: opts.sysctls,
            group_add: opts.group_add,
            readonly_rootfs: c.host_config.readonly_rootfs,
            pid_ns,
            ipc_ns,
            uts_ns,
            devices: opts.devices,
            masked_paths: hc.masked_paths.clone(),
            readonly_paths: hc.readonly_paths.clone(),
            log: crate::logs::log_spec(&hc.log_config, &c)?,
        };
        // Nothing of an earlier run may be left beside the new one: a shim that still
        // watches a process (one whose start failed half-way, whose daemon died), or
        // processes left in the container's cgroup.
        if self.has_leftovers(&c.id).await {
            self.end_processes(&c.id, Shims::Busy).await?;
        }
        match std::fs::remove_dir_all(&paths.bundle) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("clearing the old bundle", e)),
        }
        std::fs::create_dir_all(&paths.bundle).map_err(|e| Error::io("creating the bundle", e))?;
        berth_runtime::write_bundle(&paths.bundle, &spec)?;
        fault::point("start.bundle");

        let shim = match berth_runtime::spawn_shim(&self.cfg.shim_binary, &paths.bundle).await {
            Ok(s) => s,
            Err(e) => return Err(self.start_failed(entry, e.into()).await),
        };
        fault::point("start.created");
        // Attaches that came before start get their streams before the process runs, so
        // they see all of its output.
        let pending: Vec<PendingAttach> = std::mem::take(&mut *lock(&entry.pending));
        for p in pending {
            let r = shim
                .attach(p.stdin, p.stdout, p.stderr)
                .await
                .map_err(Error::from);
            let _ = p.tx.send(r);
        }
        let pid = match shim.start().await {
            Ok(pid) => pid,
            Err(e) => {
                // A process that could not be exec'd ends with its shim; any other failure
                // (the shim did not answer) must not leave the container created or running
                // unwatched.
                if !matches!(e, berth_runtime::Error::Exec(_))
                    && let Err(e) = self.end_processes(&c.id, Shims::Busy).await
                {
                    tracing::warn!("ending a failed start: {}", e.message);
                }
                return Err(self.start_failed(entry, e.into()).await);
            }
        };
        fault::point("start.exec");
        {
            let mut r = entry.record();
            r.state = ContainerState {
                status: "running".into(),
                running: true,
                pid: i64::from(pid),
                started_at: time::now_rfc3339(),
                ..ContainerState::default()
            };
            // It runs whether or not this is written (a full disk): answering an error
            // would leave it running unwatched. A restarted daemon learns the start from
            // the shim.
            if let Err(e) = self.db.save(&r, false) {
                tracing::warn!("saving container state: {e}");
            }
            // Before the monitor exists: its "die" (and "destroy") come after this.
            self.container_event(&r, "start", &[]);
        }
        entry.progress.send_modify(|p| p.running = true);
        self.clone().monitor(entry.clone(), shim);
        fault::point("start.recorded");
        Ok(())
    }

    /// Record a failed start (Docker keeps the container, with the error and exit code
    /// 126/127/128) and remove it when it was to be removed on exit.
    async fn start_failed(self: &Arc<Self>, entry: &Arc<Entry>, err: Error) -> Error {
        let code = if err.message.contains("permission denied") {
            126
        } else if err.message.contains("executable file not found")
            || err.message.contains("no such file or directory")
        {
            127
        } else {
            128
        };
        let auto_remove = {
            let mut r = entry.record();
            r.state.error = err.message.clone();
            r.state.exit_code = code;
            r.state.restarting = false;
            r.state.status = if r.state.started_at == ZERO_TIME {
                "created".into()
            } else {
                "exited".into()
            };
            if let Err(e) = self.db.save(&r, false) {
                tracing::warn!("saving container state: {e}");
            }
            r.host_config.auto_remove
        };
        lock(&entry.pending).clear();
        entry.progress.send_modify(|p| p.exits += 1);
        if auto_remove && entry.claim_removal_on_exit() {
            self.remove_entry(entry).await;
        }
        err
    }

    /// Watch a started (or found running) container: its health check, if it has one, and
    /// its exit (or the loss of its shim).
    fn monitor(self: Arc<Self>, entry: Arc<Entry>, shim: ShimClient) {
        self.start_health_check(&entry);
        tokio::spawn(async move {
            let status = match wait_for_exit(&shim).await {
                Ok(s) => s,
                Err(why) => self.shim_lost(&entry, &why).await,
            };
            fault::point("exit.reported");
            self.exited(&entry, status).await;
        });
    }

    /// The shim of a started container is gone without an exit record (killed, crashed):
    /// nothing watches, stops or reaps the container any more, so kill everything it ran,
    /// as containerd does for a shim that died; the exit is a kill (137), with the reason
    /// in `State.Error`.
    async fn shim_lost(&self, entry: &Arc<Entry>, why: &str) -> ExitStatus {
        let id = entry.record().id.clone();
        tracing::warn!(id, "lost the container's shim ({why}): killing what it ran");
        let error = match self.end_processes(&id, Shims::All).await {
            Ok(_) => SHIM_LOST.to_string(),
            Err(e) => format!("{SHIM_LOST}, but not all of it: {}", e.message),
        };
        entry.record().state.error = error;
        ExitStatus {
            exit_code: 128 + libc::SIGKILL,
            oom_killed: false,
            finished_at: time::now_rfc3339(),
        }
    }

    async fn exited(self: &Arc<Self>, entry: &Arc<Entry>, status: ExitStatus) {
        let (auto_remove, restart) = {
            let mut r = entry.record();
            let ran = time::since(&r.state.started_at);
            r.state.status = "exited".into();
            r.state.running = false;
            r.state.paused = false;
            r.state.pid = 0;
            r.state.exit_code = i64::from(status.exit_code);
            r.state.oom_killed = status.oom_killed;
            r.state.finished_at = status.finished_at;
            let restart = !r.host_config.auto_remove
                && !entry.progress.borrow().removed
                && should_restart(&r);
            if restart {
                r.state.status = "restarting".into();
                r.state.restarting = true;
                r.restart_count += 1;
            }
            // Durable when no shim can tell it again after a crash: the daemon's own
            // verdict on a lost shim, a stop by hand (the restart policy must not undo it),
            // a restart (the next start rewrites the bundle and its `exit.json`).
            let durable = restart || r.manually_stopped || !r.state.error.is_empty();
            if let Err(e) = self.db.save(&r, durable) {
                tracing::warn!("saving container state: {e}");
            }
            if r.state.oom_killed {
                self.container_event(&r, "oom", &[]);
            }
            self.container_event(&r, "die", &[("exitCode", r.state.exit_code.to_string())]);
            (r.host_config.auto_remove, restart.then_some(ran))
        };
        entry.progress.send_modify(|p| {
            p.running = false;
            p.exits += 1;
        });
        if auto_remove {
            if entry.claim_removal_on_exit() {
                self.remove_entry(entry).await;
            }
        } else if let Some(ran) = restart {
            self.schedule_restart(entry, ran);
        }
    }

    /// Start the container again after Docker's back-off: 100 ms, doubled at each restart up
    /// to a minute, back to 100 ms after a run of 10 s or more.
    fn schedule_restart(self: &Arc<Self>, entry: &Arc<Entry>, ran: Duration) {
        let delay = {
            let mut d = lock(&entry.restart_delay);
            *d = if d.is_zero() || ran >= Duration::from_secs(10) {
                Duration::from_millis(100)
            } else {
                (*d * 2).min(Duration::from_secs(60))
            };
            *d
        };
        let engine = Arc::clone(self);
        let entry = Arc::clone(entry);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if let Err(e) = engine.start_entry(&entry, true).await {
                tracing::warn!("restarting a container by its policy: {}", e.message);
            }
        });
    }

    /// `POST /containers/{id}/wait`: checks the container now, then returns a future that
    /// resolves when `condition` is met.
    pub fn wait(
        &self,
        key: &str,
        condition: WaitCondition,
    ) -> Result<impl Future<Output = WaitResponse> + Send + 'static> {
        let entry = self.lookup(key)?;
        let mut rx = entry.progress.subscribe();
        let start = rx.borrow_and_update().clone();
        Ok(async move {
            let _ = rx
                .wait_for(|p| {
                    p.removed
                        || match condition {
                            WaitCondition::NotRunning => !p.running,
                            WaitCondition::NextExit => p.exits > start.exits,
                            WaitCondition::Removed => false,
                        }
                })
                .await;
            // As in Docker, a removed container's wait carries no error (`run --rm` of a
            // command that cannot be executed reports the start error only).
            let removed = rx.borrow().removed;
            let r = entry.record();
            WaitResponse {
                status_code: r.state.exit_code,
                error: (!r.state.error.is_empty() && !removed).then(|| WaitError {
                    message: r.state.error.clone(),
                }),
            }
        })
    }

    /// `POST /containers/{id}/attach`: a receiver for the container's stdio stream (framed
    /// when it has no TTY), available at once if it runs, else once it starts; and whether
    /// it has a TTY.
    pub async fn attach(
        &self,
        key: &str,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<(oneshot::Receiver<Result<UnixStream>>, bool)> {
        let entry = self.lookup(key)?;
        let (tx, rx) = oneshot::channel();
        let (running, tty, id) = {
            let r = entry.record();
            self.container_event(&r, "attach", &[]);
            (r.state.running, r.config.tty, r.id.clone())
        };
        if running {
            let shim = ShimClient::new(&self.paths(&id).bundle);
            let _ = tx.send(
                shim.attach(stdin, stdout, stderr)
                    .await
                    .map_err(Error::from),
            );
        } else {
            lock(&entry.pending).push(PendingAttach {
                stdin,
                stdout,
                stderr,
                tx,
            });
        }
        Ok((rx, tty))
    }

    /// `POST /containers/{id}/kill`.
    pub async fn kill(&self, key: &str, signal: Option<&str>) -> Result<()> {
        let entry = self.lookup(key)?;
        let sig = match signal.filter(|s| !s.is_empty()) {
            Some(s) => parse_signal(s)?,
            None => libc::SIGKILL,
        };
        let (running, id) = {
            let mut r = entry.record();
            if r.state.restarting {
                // Between two runs: as dockerd, the restart is called off and the kill
                // answered (durably: the restart policy must not undo it after a crash;
                // nothing changes if that cannot be written).
                let mut stopped = r.clone();
                stopped.manually_stopped = true;
                stopped.state.restarting = false;
                stopped.state.status = "exited".into();
                self.db.save(&stopped, true)?;
                *r = stopped;
                self.container_event(&r, "kill", &[("signal", sig.to_string())]);
                return Ok(());
            }
            (r.state.running, r.id.clone())
        };
        if !running {
            return Err(Error::conflict(format!(
                "Cannot kill container: {key}: Container {id} is not running"
            )));
        }
        {
            let mut r = entry.record();
            r.manually_stopped = true;
            self.container_event(&r, "kill", &[("signal", sig.to_string())]);
        }
        self.thaw_for_signal(&id).await;
        let mut rx = entry.progress.subscribe();
        match ShimClient::new(&self.paths(&id).bundle)
            .kill(sig, false)
            .await
        {
            // The shim is gone: the container exited and its exit is being recorded (or
            // the shim was lost, which ends the container too).
            Ok(()) | Err(berth_runtime::Error::ShimGone(_)) => {}
            Err(e) => return Err(e.into()),
        }
        fault::point("kill.signalled");
        // As Docker: SIGKILL (the default) returns once the container is down, so a
        // `rm` right after a `kill` finds it stopped. Other signals return at once.
        if sig == libc::SIGKILL {
            let stopped = rx.wait_for(|p| !p.running);
            if tokio::time::timeout(Duration::from_secs(10), stopped)
                .await
                .is_err()
            {
                return Err(Error::internal(format!(
                    "tried to kill container {id}, but did not receive an exit event"
                )));
            }
        }
        Ok(())
    }

    /// `POST /containers/{id}/stop`: the stop signal, then SIGKILL after the timeout.
    pub async fn stop(&self, key: &str, timeout: Option<i64>, signal: Option<&str>) -> Result<()> {
        let entry = self.lookup(key)?;
        let _op = entry.op.lock().await;
        if entry.progress.borrow().removed {
            // Removed while this stop waited for it.
            return Err(Error::not_found(format!("No such container: {key}")));
        }
        // Stopped by hand: the restart policy leaves it alone (and a pending restart is off).
        {
            let mut r = entry.record();
            r.manually_stopped = true;
            if r.state.restarting {
                r.state.restarting = false;
                r.state.status = "exited".into();
                // Durable: a stop that was answered holds after a crash.
                if let Err(e) = self.db.save(&r, true) {
                    tracing::warn!("saving container state: {e}");
                }
                return Ok(());
            }
        }
        let (running, id, sig, default_timeout) = {
            let r = entry.record();
            let sig = match signal
                .filter(|s| !s.is_empty())
                .or(r.config.stop_signal.as_deref())
            {
                Some(s) => parse_signal(s)?,
                None => libc::SIGTERM,
            };
            (
                r.state.running,
                r.id.clone(),
                sig,
                r.config.stop_timeout.unwrap_or(10),
            )
        };
        if !running {
            return Err(Error::new(
                ErrorKind::NotModified,
                "container already stopped",
            ));
        }
        self.thaw_for_signal(&id).await;
        let shim = ShimClient::new(&self.paths(&id).bundle);
        let timeout = timeout.unwrap_or(default_timeout);
        let mut rx = entry.progress.subscribe();
        if timeout != 0 {
            self.container_event(
                &entry.record().clone(),
                "kill",
                &[("signal", sig.to_string())],
            );
            if let Err(e) = shim.kill(sig, false).await {
                tracing::warn!("sending stop signal: {e}");
            }
            fault::point("stop.signalled");
        }
        let stopped = async {
            let _ = rx.wait_for(|p| !p.running).await;
        };
        let waited = if timeout < 0 {
            stopped.await;
            true
        } else {
            tokio::time::timeout(Duration::from_secs(timeout as u64), stopped)
                .await
                .is_ok()
        };
        if !waited {
            self.container_event(
                &entry.record().clone(),
                "kill",
                &[("signal", libc::SIGKILL.to_string())],
            );
            let _ = shim.kill(libc::SIGKILL, true).await;
            let _ = entry.progress.subscribe().wait_for(|p| !p.running).await;
        }
        self.container_event(&entry.record().clone(), "stop", &[]);
        Ok(())
    }

    /// `DELETE /containers/{id}`. One removal at a time: while one is under way, others
    /// get Docker's 409 (and a 404 once it is done), so exactly one caller removed it.
    pub async fn remove(self: &Arc<Self>, key: &str, force: bool) -> Result<()> {
        let entry = self.lookup(key)?;
        if !entry.claim_removal() {
            if entry.progress.borrow().removed {
                return Err(Error::not_found(format!("No such container: {key}")));
            }
            return Err(Error::conflict(format!(
                "removal of container {key} is already in progress"
            )));
        }
        let result = self.remove_claimed(&entry, force).await;
        if result.is_err() && entry.release_removal() {
            // It exited to be removed (AutoRemove) while this removal held the claim.
            self.remove_entry(&entry).await;
        }
        result
    }

    /// [`Engine::remove`] once its removal is claimed.
    async fn remove_claimed(self: &Arc<Self>, entry: &Arc<Entry>, force: bool) -> Result<()> {
        let _op = entry.op.lock().await;
        let (running, paused, restarting, id) = {
            let r = entry.record();
            (
                r.state.running,
                r.state.paused,
                r.state.restarting,
                r.id.clone(),
            )
        };
        if restarting && !force {
            // Between two runs (its restart pending): Docker refuses it as well.
            return Err(Error::conflict(format!(
                "You cannot remove a restarting container {id}. Stop the container before attempting removal or force remove"
            )));
        }
        if running {
            if !force {
                let name = entry.record().name.clone();
                return Err(Error::conflict(if paused {
                    format!(
                        "cannot remove container \"/{name}\": container is paused and must be unpaused first"
                    )
                } else {
                    format!(
                        "cannot remove container \"/{name}\": container is running: stop the container before removing or force remove"
                    )
                }));
            }
            {
                let mut r = entry.record();
                r.manually_stopped = true;
                self.container_event(&r, "kill", &[("signal", libc::SIGKILL.to_string())]);
            }
            self.thaw_for_signal(&id).await;
            let shim = ShimClient::new(&self.paths(&id).bundle);
            let mut rx = entry.progress.subscribe();
            let _ = shim.kill(libc::SIGKILL, true).await;
            let _ = rx.wait_for(|p| !p.running).await;
        }
        self.remove_entry(entry).await;
        Ok(())
    }

    /// Forget a stopped container and delete its files. Runs once per container.
    async fn remove_entry(self: &Arc<Self>, entry: &Arc<Entry>) {
        let mut first = false;
        entry.progress.send_if_modified(|p| {
            first = !p.removed;
            false
        });
        if !first {
            return;
        }
        let id = {
            let mut r = entry.record();
            r.state.status = "removing".into();
            r.id.clone()
        };
        let paths = self.paths(&id);
        lock(&self.containers).remove(&id);
        // Whatever state it is in, nothing it ran outlives it: a created container's
        // blocked init and its shim, processes left in its cgroup.
        if self.has_leftovers(&id).await
            && let Err(e) = self.end_processes(&id, Shims::Busy).await
        {
            tracing::warn!("removing container {id}: {}", e.message);
        }
        fault::point("remove.ended");
        // Rename first: from here on the removal is decided (a crash before the record is
        // gone, or before that is on disk, is finished at the next start).
        let trash = paths.trash();
        if let Err(e) = std::fs::rename(&paths.dir, &trash)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("moving {} away: {e}", paths.dir.display());
        }
        fault::point("remove.renamed");
        if let Err(e) = self.db.remove(&id) {
            tracing::warn!("removing container record {id}: {e}");
        }
        fault::point("remove.unrecorded");
        let _ = tokio::task::spawn_blocking(move || {
            for d in [&trash, &paths.dir, &paths.bundle] {
                if let Err(e) = std::fs::remove_dir_all(d)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::warn!("removing {}: {e}", d.display());
                }
            }
        })
        .await;
        lock(&entry.pending).clear();
        self.container_event(&entry.record().clone(), "destroy", &[]);
        entry.progress.send_modify(|p| {
            p.removed = true;
            p.running = false;
        });
        let image_id = entry.record().image_id.clone();
        self.release_image(&image_id).await;
    }

    /// `POST /containers/{id}/rename?name=`: Docker's checks and messages, the record
    /// saved, a `rename` event with the old name.
    pub async fn rename(&self, key: &str, new_name: &str) -> Result<()> {
        if key.is_empty() || new_name.is_empty() {
            return Err(Error::invalid("Neither old nor new names may be empty"));
        }
        let entry = self.lookup(key)?;
        let _op = entry.op.lock().await;
        if entry.progress.borrow().removed {
            // Removed while this rename waited for it: its record is gone for good.
            return Err(Error::not_found(format!("No such container: {key}")));
        }
        let allocating = |e: Error| {
            Error::new(
                e.kind,
                format!("Error when allocating new name: {}", e.message),
            )
        };
        let bare = new_name.strip_prefix('/').unwrap_or(new_name);
        let name = names::validate(&format!("/{bare}")).map_err(allocating)?;
        let (old, c) = {
            // Check and take the name in one step, as create does.
            let map = lock(&self.containers);
            let mut r = entry.record();
            if r.name == name {
                return Err(Error::invalid(
                    "Renaming a container with the same name as its current name",
                ));
            }
            let other = map
                .values()
                .filter(|e| !Arc::ptr_eq(e, &entry))
                .find(|e| e.record().name == name);
            if let Some(other) = other {
                let other_id = other.record().id.clone();
                return Err(allocating(Error::conflict(format!(
                    "Conflict. The container name \"/{name}\" is already in use by container \"{other_id}\". You have to remove (or rename) that container to be able to reuse that name."
                ))));
            }
            let old = std::mem::replace(&mut r.name, name);
            (old, r.clone())
        };
        if let Err(e) = self.db.save(&c, true) {
            entry.record().name = old;
            return Err(e);
        }
        fault::point("rename.saved");
        self.container_event(&c, "rename", &[("oldName", format!("/{old}"))]);
        Ok(())
    }

    /// `POST /containers/prune`: remove every container that is not running, paused or
    /// restarting (filters `until`, `label`, `label!`); the ids and the writable layers'
    /// bytes reclaimed.
    pub async fn prune(self: &Arc<Self>, filters: &Filters) -> Result<Value> {
        if let Some(k) = filters
            .keys()
            .find(|k| !["until", "label", "label!"].contains(&k.as_str()))
        {
            return Err(Error::invalid(format!("Invalid filter '{k}'")));
        }
        let until = match filters.get("until").and_then(|v| v.last()) {
            Some(u) => Some(crate::image_ops::parse_until(u)?),
            None => None,
        };
        let candidates: Vec<(String, std::path::PathBuf)> = lock(&self.containers)
            .values()
            .filter_map(|e| {
                let c = e.record();
                let busy = c.state.running || c.state.paused || c.state.restarting;
                let has = |w: &[String]| labels_match(|k| c.config.labels.get(k), w);
                let labels_ok = filters.get("label").is_none_or(|w| has(w))
                    && filters
                        .get("label!")
                        .is_none_or(|w| !w.iter().any(|w| has(std::slice::from_ref(w))));
                let created = time::unix_seconds(&c.created);
                let old_enough = until.is_none_or(|u| created < u);
                (!busy && labels_ok && old_enough)
                    .then(|| (c.id.clone(), self.paths(&c.id).upper()))
            })
            .collect();
        let mut deleted = Vec::new();
        let mut reclaimed = 0;
        for (id, upper) in candidates {
            let size = tokio::task::spawn_blocking(move || crate::image_ops::dir_size(&upper))
                .await
                .unwrap_or(0);
            // One that was started meanwhile is refused by remove and left alone.
            match self.remove(&id, false).await {
                Ok(()) => {
                    reclaimed += size;
                    deleted.push(id);
                }
                Err(e) => tracing::debug!("prune {id}: {e}"),
            }
        }
        self.prune_event("container", reclaimed);
        Ok(serde_json::json!({
            "ContainersDeleted": if deleted.is_empty() { Value::Null } else { serde_json::json!(deleted) },
            "SpaceReclaimed": reclaimed,
        }))
    }

    /// `GET /containers/json`, newest first.
    /// `GET /containers/json?filters=`: Docker's `ps` filters (id, name, label, status,
    /// exited, ancestor, before, since, health, network, volume, publish, expose, is-task).
    /// A `status` filter looks at every container, as without it only running ones.
    pub fn list_filtered(
        &self,
        all: bool,
        filters: &Filters,
    ) -> Result<Vec<berth_models::ContainerSummary>> {
        const KEYS: &[&str] = &[
            "id", "name", "label", "status", "exited", "ancestor", "before", "since", "health",
            "network", "volume", "publish", "expose", "is-task",
        ];
        if let Some(k) = filters.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(Error::invalid(format!("invalid filter '{k}'")));
        }
        let values = |k: &str| filters.get(k).map(Vec::as_slice).unwrap_or(&[]);
        let allowed: [(&str, &[&str]); 2] = [
            (
                "status",
                &[
                    "created",
                    "restarting",
                    "running",
                    "removing",
                    "paused",
                    "exited",
                    "dead",
                ],
            ),
            ("health", &["starting", "healthy", "unhealthy", "none"]),
        ];
        for (k, ok) in allowed {
            if let Some(v) = values(k).iter().find(|v| !ok.contains(&v.as_str())) {
                return Err(Error::invalid(format!("invalid filter '{k}={v}'")));
            }
        }
        if let Some(v) = values("exited").iter().find(|v| v.parse::<i64>().is_err()) {
            return Err(Error::invalid(format!("invalid filter 'exited={v}'")));
        }
        let created_of = |k: &str| -> Result<Option<String>> {
            values(k)
                .first()
                .map(|key| self.lookup(key).map(|e| e.record().created.clone()))
                .transpose()
        };
        let (before, since) = (created_of("before")?, created_of("since")?);
        let all = all || filters.contains_key("status");
        let map = lock(&self.containers);
        let mut rows: Vec<(String, berth_models::ContainerSummary)> = map
            .values()
            .filter_map(|e| {
                let r = e.record();
                let keep = (all || r.state.running)
                    && before.as_ref().is_none_or(|t| r.created < *t)
                    && since.as_ref().is_none_or(|t| r.created > *t)
                    && ps_filters_match(&r, filters);
                keep.then(|| (r.created.clone(), r.summary()))
            })
            .collect();
        rows.sort_by(|a, b| b.0.cmp(&a.0));
        Ok(rows.into_iter().map(|(_, v)| v).collect())
    }

    /// `GET /containers/{id}/json`.
    pub fn inspect(&self, key: &str) -> Result<berth_models::ContainerInspect> {
        let entry = self.lookup(key)?;
        let c = entry.record().clone();
        let layers = self.store.layer_dirs_of(&c.image_id).unwrap_or_default();
        Ok(c.inspect(&self.paths(&c.id), &layers))
    }

    /// `GET /containers/{id}/logs`: a receiver of output chunks, and whether it has a TTY.
    pub fn logs(&self, key: &str, opts: LogOptions) -> Result<(mpsc::Receiver<Bytes>, bool)> {
        let entry = self.lookup(key)?;
        let (path, tty) = {
            let r = entry.record();
            (r.log_file(&self.paths(&r.id)), r.config.tty)
        };
        let path = path.ok_or_else(|| {
            Error::new(
                ErrorKind::NotImplemented,
                "configured logging driver does not support reading",
            )
        })?;
        let (tx, rx) = mpsc::channel(16);
        let progress = entry.progress.subscribe();
        tokio::spawn(crate::logs::stream(path, opts, tty, progress, tx));
        Ok((rx, tty))
    }

    /// `POST /containers/{id}/resize`.
    pub async fn resize(&self, key: &str, width: u16, height: u16) -> Result<()> {
        let entry = self.lookup(key)?;
        let (running, id) = {
            let r = entry.record();
            (r.state.running, r.id.clone())
        };
        if !running {
            return Err(Error::conflict(format!("Container {id} is not running")));
        }
        ShimClient::new(&self.paths(&id).bundle)
            .resize(width, height)
            .await
            .map_err(Error::from)
    }

    /// Delete what removals left behind: renamed container directories, and directories
    /// and bundles of containers with no record (a create or remove cut short), after
    /// ending whatever runs for those (a shim that outlived its record, a start cut
    /// short); and end the shims of the exec root whose container has no record at all.
    async fn sweep_unrecorded(&self, shim_ids: &HashSet<String>) {
        let known: HashSet<String> = lock(&self.containers).keys().cloned().collect();
        let containers = self.cfg.data_root.join("containers");
        let exec_root = self.cfg.exec_root.clone();
        let listed = tokio::task::spawn_blocking(move || {
            let mut gone = Vec::new();
            let mut ids = HashSet::new();
            for root in [&containers, &exec_root] {
                let Ok(dir) = std::fs::read_dir(root) else {
                    continue;
                };
                for e in dir.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let orphan = match name.strip_suffix(crate::container::TRASH_SUFFIX) {
                        Some(_) => true,
                        None => is_container_id(&name) && !known.contains(&name),
                    };
                    if orphan && e.file_type().is_ok_and(|t| t.is_dir()) {
                        if root == &exec_root {
                            ids.insert(name);
                        }
                        gone.push(e.path());
                    }
                }
            }
            (gone, ids)
        })
        .await;
        let Ok((gone, mut ids)) = listed else { return };
        let known: HashSet<String> = lock(&self.containers).keys().cloned().collect();
        ids.extend(shim_ids.iter().filter(|id| !known.contains(*id)).cloned());
        for id in &ids {
            match self.end_processes(id, Shims::All).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(id, "ended {n} processes of a container with no record"),
                Err(e) => tracing::warn!(id, "{}", e.message),
            }
        }
        let _ = tokio::task::spawn_blocking(move || {
            for d in gone {
                tracing::info!(
                    "deleting {}, left by an unfinished create or remove",
                    d.display()
                );
                if let Err(e) = std::fs::remove_dir_all(&d) {
                    tracing::warn!("deleting {}: {e}", d.display());
                }
            }
        })
        .await;
    }

    /// After a daemon (re)start, make every record agree with what runs: adopt the shims
    /// of running containers (and of started ones whose start was not recorded: start and
    /// exit state are committed without fsync, so a record can be older than its shim),
    /// record the exits that happened meanwhile (the shim's `exit.json`), end what nobody
    /// will watch (a start that was not answered, a lost shim and what it left, shims of
    /// containers with no record), finish interrupted removals and pending restarts.
    pub(crate) async fn recover(self: &Arc<Self>) {
        let shim_ids: HashSet<String> = self.shim_ids().await.into_iter().collect();
        self.sweep_unrecorded(&shim_ids).await;
        self.sweep_archive_scratch();
        let entries: Vec<Arc<Entry>> = lock(&self.containers).values().cloned().collect();
        for entry in entries {
            let (running, status, id, finished_at) = {
                let r = entry.record();
                let s = &r.state;
                (
                    s.running,
                    s.status.clone(),
                    r.id.clone(),
                    s.finished_at.clone(),
                )
            };
            // Its directory was moved away by a removal the daemon did not live to finish
            // (the removal ends its processes).
            if status == "removing" || !self.paths(&id).dir.exists() {
                if entry.claim_removal() {
                    self.remove_entry(&entry).await;
                }
                continue;
            }
            let shim = ShimClient::new(&self.paths(&id).bundle);
            let state = shim.state().await;
            match state {
                Ok(s) if s.status == "running" => {
                    self.adopt(&entry, s).await;
                    self.clone().monitor(entry, shim);
                    continue;
                }
                Ok(s) if s.status == "stopped" => {
                    let exit = s.exit.unwrap_or(ExitStatus {
                        exit_code: 255,
                        oom_killed: false,
                        finished_at: time::now_rfc3339(),
                    });
                    // An exit newer than the record (or a run it did not record at all).
                    let newer = running
                        || finished_at == ZERO_TIME
                        || finished_at.as_str() < exit.finished_at.as_str();
                    if newer {
                        {
                            let mut r = entry.record();
                            if r.state.started_at == ZERO_TIME {
                                r.state.started_at =
                                    s.started_at.unwrap_or_else(|| exit.finished_at.clone());
                            }
                        }
                        self.exited(&entry, exit).await;
                        continue;
                    }
                }
                Ok(_) => {
                    // `created`: a start the daemon did not live to answer. Nobody will
                    // start it; the container stays as its record says.
                    tracing::info!(id, "ending the shim of a start that was not finished");
                    if let Err(e) = self.end_processes(&id, Shims::All).await {
                        tracing::warn!(id, "{}", e.message);
                    }
                    let _ = std::fs::remove_dir_all(&self.paths(&id).bundle);
                    if running {
                        self.lost_at_recovery(&entry, START_CUT).await;
                        continue;
                    }
                }
                Err(e) => {
                    // No shim answers (and it left no exit record): whatever it left runs
                    // unwatched, or it died in the middle of creating the container.
                    if (shim_ids.contains(&id) || self.has_cgroup(&id))
                        && let Err(e) = self.end_processes(&id, Shims::All).await
                    {
                        tracing::warn!(id, "{}", e.message);
                    }
                    // A run whose end the record has not seen (its start may not be
                    // recorded either: start state is committed without fsync).
                    let unseen = berth_runtime::client::read_started(&self.paths(&id).bundle)
                        .and_then(|s| s.started_at)
                        .filter(|at| {
                            finished_at == ZERO_TIME || finished_at.as_str() < at.as_str()
                        });
                    if running || unseen.is_some() {
                        tracing::warn!(id, "container's shim is gone and left no exit record: {e}");
                        if let Some(at) = unseen {
                            entry.record().state.started_at = at;
                        }
                        self.lost_at_recovery(&entry, SHIM_LOST).await;
                        continue;
                    }
                }
            }
            if status == "restarting" {
                // The daemon went away during a restart's back-off: do it now.
                self.schedule_restart(&entry, Duration::ZERO);
            }
        }
    }

    /// Recovery found the shim of a container recorded as running gone: its processes were
    /// ended; record the exit as [`Engine::shim_lost`] does.
    async fn lost_at_recovery(self: &Arc<Self>, entry: &Arc<Entry>, error: &str) {
        entry.record().state.error = error.to_string();
        self.exited(
            entry,
            ExitStatus {
                exit_code: 128 + libc::SIGKILL,
                oom_killed: false,
                finished_at: time::now_rfc3339(),
            },
        )
        .await;
    }

    /// A shim found running at recovery: the record says so too (a start the daemon did
    /// not record is caught up), and its cgroup is frozen exactly when the record says
    /// paused (a commit that froze it, or a pause that was not answered, is undone).
    async fn adopt(&self, entry: &Arc<Entry>, s: berth_runtime::ShimState) {
        let (id, paused) = {
            let mut r = entry.record();
            // A record of an earlier run (its pid, its start) is as stale as one of no run.
            let pid = i64::from(s.pid);
            if !r.state.running || r.state.pid != pid {
                r.state = ContainerState {
                    status: "running".into(),
                    running: true,
                    pid,
                    started_at: s.started_at.clone().unwrap_or_else(time::now_rfc3339),
                    ..ContainerState::default()
                };
                if let Err(e) = self.db.save(&r, false) {
                    tracing::warn!("saving container state: {e}");
                }
            }
            (r.id.clone(), r.state.paused)
        };
        entry.progress.send_modify(|p| p.running = true);
        let path = format!("/{}/{id}", self.cfg.cgroup_parent);
        let frozen = tokio::task::spawn_blocking(move || {
            let layout = berth_runtime::linux::cgroups::detect().ok()?;
            let cg = Cgroup::open(&layout, &path);
            let frozen = cg.is_frozen();
            if frozen && !paused {
                cg.freeze(false).ok()?;
                return Some(false);
            }
            Some(frozen)
        })
        .await
        .ok()
        .flatten();
        if let Some(frozen) = frozen {
            let mut r = entry.record();
            if r.state.paused != frozen {
                r.state.paused = frozen;
                r.state.status = if frozen { "paused" } else { "running" }.into();
                if let Err(e) = self.db.save(&r, false) {
                    tracing::warn!("saving container state: {e}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpusets_parse_and_are_checked_like_dockerd() {
        assert_eq!(cpuset_list("0-2,5").unwrap(), [0, 1, 2, 5]);
        assert_eq!(cpuset_list("7").unwrap(), [7]);
        for bad in ["", "a", "2-1", "1,", "-1", "0-4294967295"] {
            assert!(cpuset_list(bad).is_err(), "{bad}");
        }
        assert!(check_cpuset("", "cpus", "0-1\n").is_ok());
        assert!(check_cpuset("0-1", "cpus", "0-1\n").is_ok());
        let e = check_cpuset("3", "cpus", "0-1\n").unwrap_err();
        assert_eq!(
            e.message,
            "Requested CPUs are not available - requested 3, available: 0-1"
        );
        let e = check_cpuset("x", "mems", "0").unwrap_err();
        assert_eq!(
            e.message,
            "Invalid value x for cpuset mems: invalid format: x"
        );
    }

    #[test]
    fn resources_are_checked_like_dockerd() {
        let res = |v: Value| -> berth_models::Resources { serde_json::from_value(v).unwrap() };
        let msg = |v: Value, update: bool| {
            validate_resources(&res(v), update)
                .err()
                .map(|e| e.message)
                .unwrap_or_default()
        };
        assert_eq!(
            msg(serde_json::json!({"Memory": -1}), false),
            "Minimum memory limit allowed is 6MB"
        );
        // A swap limit alone is fine in an update (the memory limit is the container's).
        assert!(!msg(serde_json::json!({"MemorySwap": 9000000}), false).is_empty());
        assert_eq!(msg(serde_json::json!({"MemorySwap": 9000000}), true), "");
        assert_eq!(
            msg(serde_json::json!({"CpuQuota": -1, "Memory": 0}), false),
            ""
        );
        let mut r = res(serde_json::json!({"PidsLimit": 0, "MemorySwappiness": -1}));
        normalize_resources(&mut r);
        assert_eq!((r.pids_limit, r.memory_swappiness), (None, None));
    }

    #[test]
    fn signals_parse_like_docker() {
        assert_eq!(parse_signal("SIGTERM").expect("ok"), 15);
        assert_eq!(parse_signal("term").expect("ok"), 15);
        assert_eq!(parse_signal("9").expect("ok"), 9);
        assert_eq!(parse_signal("KILL").expect("ok"), 9);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("999").is_err());
    }

    #[test]
    fn env_merge_overrides_by_key() {
        let base = vec!["PATH=/bin".to_string(), "A=1".to_string()];
        let over = vec!["A=2".to_string(), "B=3".to_string()];
        assert_eq!(merge_env(&base, &over), vec!["PATH=/bin", "A=2", "B=3"]);
    }

    #[test]
    fn wait_conditions_parse() {
        assert_eq!(
            "".parse::<WaitCondition>().expect("ok"),
            WaitCondition::NotRunning
        );
        assert_eq!(
            "removed".parse::<WaitCondition>().expect("ok"),
            WaitCondition::Removed
        );
        assert!("soon".parse::<WaitCondition>().is_err());
    }

    #[test]
    fn resolv_conf_takes_the_users_dns_settings() {
        let hc = |v: Value| -> berth_models::HostConfig {
            serde_json::from_value(if v.is_null() {
                serde_json::json!({})
            } else {
                v
            })
            .expect("host config")
        };
        let host = "# generated\nsearch corp.example\nnameserver 10.0.0.1\nnameserver 10.0.0.2\noptions rotate\n";
        assert_eq!(resolv_conf(&hc(Value::Null), host).unwrap(), host);
        assert_eq!(
            resolv_conf(&hc(serde_json::json!({"Dns": ["1.1.1.1"]})), host).unwrap(),
            "search corp.example\nnameserver 1.1.1.1\noptions rotate\n"
        );
        assert_eq!(
            resolv_conf(
                &hc(serde_json::json!({"DnsSearch": ["a.b"], "DnsOptions": ["ndots:2"]})),
                host
            )
            .unwrap(),
            "search a.b\nnameserver 10.0.0.1\nnameserver 10.0.0.2\noptions ndots:2\n"
        );
        assert!(resolv_conf(&hc(serde_json::json!({"Dns": ["nope"]})), host).is_err());
        let hosts = hc(serde_json::json!({"ExtraHosts": ["a:1.2.3.4", "b:::1"]}));
        assert_eq!(extra_host_lines(&hosts).unwrap(), "1.2.3.4\ta\n::1\tb\n");
    }

    #[test]
    fn binds_need_absolute_existing_paths() {
        let hc = |binds: &[&str], extra: Value| {
            let mut hc: berth_models::HostConfig = serde_json::from_value(if extra.is_null() {
                serde_json::json!({})
            } else {
                extra
            })
            .expect("host config");
            hc.binds = Some(binds.iter().map(|s| s.to_string()).collect());
            hc
        };
        let m = user_mounts(&hc(&["/tmp:/data:ro"], Value::Null), true).expect("ok");
        assert!(m.binds[0].readonly);
        assert_eq!(m.listed[0].mode, "ro");
        let kind = |binds: &[&str], extra: Value| {
            user_mounts(&hc(binds, extra), true)
                .expect_err("refused")
                .kind
        };
        assert_eq!(kind(&["vol:/data"], Value::Null), ErrorKind::NotImplemented);
        assert_eq!(
            kind(&["/nonexistent-berth:/data"], Value::Null),
            ErrorKind::InvalidArgument
        );
        // Listing does not look at the host.
        let listed = user_mounts(&hc(&["/nonexistent-berth:/data"], Value::Null), false);
        assert_eq!(listed.expect("listed").listed.len(), 1);
        let tmpfs = serde_json::json!({
            "Mounts": [{"Type": "tmpfs", "Target": "/m/", "TmpfsOptions": {"SizeBytes": 1024, "Mode": 0o1770}}],
            "Tmpfs": {"/t": "size=1m,exec"},
        });
        let m = user_mounts(&hc(&[], tmpfs), true).expect("ok");
        assert_eq!(m.tmpfs[0].destination, "/m");
        assert_eq!(m.tmpfs[0].options, ["size=1024", "mode=1770"]);
        assert_eq!(m.tmpfs[1].options, ["size=1m", "exec"]);
        let dup = serde_json::json!({"Tmpfs": {"/data/": ""}});
        assert_eq!(kind(&["/tmp:/data"], dup), ErrorKind::InvalidArgument);
    }
    #[test]
    fn security_opts_take_seccomp_profiles() {
        let o = |v: &[&str]| security_opts(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let d = o(&["seccomp=builtin", "no-new-privileges"]).unwrap();
        assert!(d.no_new_privileges && !d.seccomp_unconfined && d.seccomp_profile.is_none());
        assert!(o(&["seccomp:unconfined"]).unwrap().seccomp_unconfined);
        let json = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#;
        let p = o(&[&format!("seccomp={json}")]).unwrap();
        assert_eq!(p.seccomp_profile.as_deref(), Some(json));
        let e = o(&[r#"seccomp={"defaultAction":"SCMP_ACT_BOOM"}"#]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(
            e.message.starts_with("Decoding seccomp profile failed:"),
            "{}",
            e.message
        );
        assert_eq!(o(&["bogus"]).unwrap_err().kind, ErrorKind::InvalidArgument);
    }
}
