//! The container's cgroup, on cgroup v1 (one directory per hierarchy) or a pure v2 host
//! (cgroup2 mounted at /sys/fs/cgroup): memory, pids, cpu, cpuset and block I/O limits,
//! freezer, stats, kill-all.
//!
//! [`CgroupManager`] is what callers use, through the [`Cgroup`] handle; [`V1`] and [`V2`]
//! implement it over a [`Host`] (cgroupfs files and signals): [`RealHost`] for real,
//! [`fake::FakeHost`] in unit tests, which records every write and signal.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub mod fake;
mod v1;
mod v2;

pub use v1::V1;
pub use v2::V2;

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// One v1 hierarchy as mounted on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub mountpoint: PathBuf,
    /// Controllers (and `name=`) from the super options, e.g. "cpu,cpuacct".
    pub options: String,
}

impl Hierarchy {
    pub(crate) fn has(&self, controller: &str) -> bool {
        self.options.split(',').any(|o| o == controller)
    }
}

/// How cgroups are mounted on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    V1 { hierarchies: Vec<Hierarchy> },
    V2 { mountpoint: PathBuf },
}

/// Limits to apply (0, negative or empty = none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub memory: i64,
    /// Memory + swap, v1 style (`memory.memsw.limit_in_bytes`); -1 unlimited.
    pub memory_swap: i64,
    pub memory_reservation: i64,
    pub oom_kill_disable: bool,
    pub pids: i64,
    pub cpu_shares: u64,
    pub cpu_quota: i64,
    pub cpu_period: u64,
    pub cpus: String,
    pub mems: String,
    pub blkio_weight: u16,
    /// Device rules in order, as v1 `devices.allow`/`devices.deny` lines (`true` = allow).
    pub devices: Vec<(bool, String)>,
}

impl Limits {
    pub fn from_spec(spec: &oci_spec::runtime::Spec) -> Self {
        let res = spec.linux().as_ref().and_then(|l| l.resources().as_ref());
        let mem = res.and_then(|r| r.memory().as_ref());
        let cpu = res.and_then(|r| r.cpu().as_ref());
        Limits {
            memory: mem.and_then(|m| m.limit()).unwrap_or(0),
            memory_swap: mem.and_then(|m| m.swap()).unwrap_or(0),
            memory_reservation: mem.and_then(|m| m.reservation()).unwrap_or(0),
            oom_kill_disable: mem.and_then(|m| m.disable_oom_killer()).unwrap_or(false),
            pids: res
                .and_then(|r| r.pids().as_ref())
                .map(|p| p.limit())
                .unwrap_or(0),
            cpu_shares: cpu.and_then(|c| c.shares()).unwrap_or(0),
            cpu_quota: cpu.and_then(|c| c.quota()).unwrap_or(0),
            cpu_period: cpu.and_then(|c| c.period()).unwrap_or(0),
            cpus: cpu.and_then(|c| c.cpus().clone()).unwrap_or_default(),
            mems: cpu.and_then(|c| c.mems().clone()).unwrap_or_default(),
            blkio_weight: res
                .and_then(|r| r.block_io().as_ref())
                .and_then(|b| b.weight())
                .unwrap_or(0),
            devices: res
                .and_then(|r| r.devices().as_ref())
                .into_iter()
                .flatten()
                .map(|d| {
                    let num = |n: Option<i64>| n.map_or("*".to_string(), |n| n.to_string());
                    let typ = d.typ().map_or("a".to_string(), |t| t.as_str().to_string());
                    let line = if typ == "a" {
                        "a".to_string()
                    } else {
                        format!(
                            "{typ} {}:{} {}",
                            num(d.major()),
                            num(d.minor()),
                            d.access().clone().unwrap_or_else(|| "rwm".into())
                        )
                    };
                    (d.allow(), line)
                })
                .collect(),
        }
    }
}

/// cgroup v1 `cpu.shares` (2..262144) as a v2 `cpu.weight` (1..10000), as runc converts.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142
}

/// Parse /proc/self/mountinfo: pure v2 when cgroup2 is mounted at /sys/fs/cgroup, else the
/// v1 hierarchies (a hybrid host's cgroup2 at /sys/fs/cgroup/unified is ignored).
pub fn parse_mountinfo(mountinfo: &str) -> Layout {
    let mut hierarchies = Vec::new();
    for m in crate::linux::mountinfo::parse(mountinfo) {
        match m.fstype {
            "cgroup2" if m.mount_point == std::path::Path::new(CGROUP_ROOT) => {
                return Layout::V2 {
                    mountpoint: m.mount_point,
                };
            }
            "cgroup" => {
                let options = m
                    .super_options
                    .split(',')
                    .filter(|o| !matches!(*o, "rw" | "ro") && !o.starts_with("release_agent"))
                    .collect::<Vec<_>>()
                    .join(",");
                hierarchies.push(Hierarchy {
                    mountpoint: m.mount_point,
                    options,
                });
            }
            _ => {}
        }
    }
    Layout::V1 { hierarchies }
}

/// The host's layout.
pub fn detect() -> crate::Result<Layout> {
    Ok(parse_mountinfo(&crate::linux::mountinfo::read()?))
}

/// The host's layout, detected once (`None`: no cgroup mounts found).
fn host_layout() -> Option<&'static Layout> {
    static LAYOUT: std::sync::OnceLock<Option<Layout>> = std::sync::OnceLock::new();
    LAYOUT.get_or_init(|| detect().ok()).as_ref()
}

/// Whether moving a container's process into its cgroup takes the kernel's migration lock
/// ([`warm_migration_lock`]): on v2 always; on v1 only for an `external_runtime` (runc
/// writes `cgroup.procs`), as Berth's own runtime enters through `tasks`
/// ([`CgroupManager::enter`]).
pub fn moves_take_migration_lock(external_runtime: bool) -> bool {
    match host_layout() {
        Some(Layout::V2 { .. }) => true,
        Some(Layout::V1 { .. }) => external_runtime,
        None => false,
    }
}

/// Take the kernel's cgroup migration lock once, moving nothing, so that a move that
/// follows soon does not wait.
///
/// Every move of a process between cgroups through `cgroup.procs` takes the global
/// `cgroup_threadgroup_rwsem` for writing. The first writer after a quiet spell waits for
/// an RCU grace period (7-15 ms on the 2-CPU VMs we measure on); writers during the
/// following grace period do not. Writing our own pid into the cgroup we are already in
/// takes the lock without moving anything, so the daemon calls this (on a blocking
/// thread) when it knows that a process will soon be moved, and pays that wait in
/// parallel with its other work (only where [`moves_take_migration_lock`]). Best effort:
/// a cgroup we may not write to just means no head start.
pub fn warm_migration_lock() -> crate::Result<()> {
    let Some(layout) = host_layout() else {
        return Ok(());
    };
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| crate::Error::io("reading /proc/self/cgroup", e))?;
    for line in own.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let dir = match layout {
            Layout::V2 { mountpoint } if controllers.is_empty() => mountpoint.join(relative(path)),
            Layout::V1 { hierarchies } if !controllers.is_empty() => {
                match hierarchies.iter().find(|h| h.options == controllers) {
                    Some(h) => h.mountpoint.join(relative(path)),
                    None => continue,
                }
            }
            _ => continue,
        };
        return write(
            &RealHost,
            &dir.join("cgroup.procs"),
            &std::process::id().to_string(),
        );
    }
    Ok(())
}

/// What a cgroup manager does to the host: cgroupfs files and directories, and signals.
/// The one place that touches them, so that the limit, freeze and kill logic of [`V1`] and
/// [`V2`] can run against [`fake::FakeHost`] in unit tests, without root.
pub trait Host: Send + Sync + std::fmt::Debug {
    fn read(&self, path: &Path) -> std::io::Result<String>;
    fn write(&self, path: &Path, value: &str) -> std::io::Result<()>;
    /// Whether a file or directory exists.
    fn exists(&self, path: &Path) -> bool;
    fn is_dir(&self, path: &Path) -> bool;
    fn create_dir(&self, path: &Path) -> std::io::Result<()>;
    fn remove_dir(&self, path: &Path) -> std::io::Result<()>;
    /// SIGKILL `pid` (best effort: it may be gone).
    fn kill(&self, pid: i32);
}

/// The real host: /sys/fs/cgroup and kill(2).
#[derive(Debug, Clone, Copy, Default)]
pub struct RealHost;

impl Host for RealHost {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
    fn write(&self, path: &Path, value: &str) -> std::io::Result<()> {
        std::fs::write(path, value)
    }
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
    fn create_dir(&self, path: &Path) -> std::io::Result<()> {
        std::fs::create_dir(path)
    }
    fn remove_dir(&self, path: &Path) -> std::io::Result<()> {
        std::fs::remove_dir(path)
    }
    fn kill(&self, pid: i32) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

fn write(host: &dyn Host, path: &Path, value: &str) -> crate::Result<()> {
    host.write(path, value)
        .map_err(|e| crate::Error::io(format!("writing {} to {}", value.trim(), path.display()), e))
}

fn relative(cgroup_path: &str) -> &Path {
    Path::new(cgroup_path.trim_start_matches('/'))
}

/// A container's cgroup, whatever the host's layout: what the shim (create, exec, exit),
/// the engine (pause, stats, top, update, commit, reaping) and the API use.
pub trait CgroupManager: Send + Sync + std::fmt::Debug {
    /// Apply `limits` to the existing cgroup (at create, and for `docker update`).
    fn apply(&self, limits: &Limits) -> crate::Result<()>;
    /// Move the calling process, which must have a single thread (a child the
    /// single-threaded shim just forked), into the cgroup, in every hierarchy.
    ///
    /// v1 writes 0 to each `tasks` file: moving one thread of one's own, the kernel does
    /// not take its global `cgroup_threadgroup_rwsem`, whose first writer after a quiet
    /// spell waits for an RCU grace period (7-15 ms on the 2-CPU VMs we measure on, the
    /// largest single cost of starting a container there, whoever writes the pid into
    /// `cgroup.procs`). v2 writes 0 to `cgroup.procs` (its `cgroup.threads` is for
    /// threaded cgroups only), which takes that lock.
    fn enter(&self) -> crate::Result<()>;
    /// Host pids of the processes in the cgroup.
    fn pids(&self) -> Vec<i32>;
    /// Host pids in any of the cgroup's directories (each v1 hierarchy lists its own).
    fn all_pids(&self) -> Vec<i32>;
    /// SIGKILL every process of the cgroup and wait until none is left, as containerd
    /// cleans up after a shim that died: v2's `cgroup.kill` where the kernel has it
    /// (5.14+), else rounds of freeze, kill, thaw (frozen, no process can fork or exit and
    /// give its pid away between the read of `cgroup.procs` and the signal; runc does the
    /// same). Fails when processes are still there after `timeout`. A cgroup that does
    /// not exist is empty.
    fn kill_all(&self, timeout: Duration) -> crate::Result<()>;
    /// Whether the kernel's OOM killer killed a process of the cgroup.
    fn oom_killed(&self) -> bool;
    /// Whether any of its directories exists.
    fn exists(&self) -> bool;
    /// Whether it is frozen (or freezing).
    fn is_frozen(&self) -> bool;
    /// Freeze (pause) or thaw every process of the cgroup; returns once the kernel says
    /// the state was reached (v1: `freezer.state` leaves FREEZING; v2: `cgroup.events`
    /// shows `frozen`, as runc waits for both).
    fn freeze(&self, frozen: bool) -> crate::Result<()>;
    /// Current usage counters, for `docker stats`.
    fn stats(&self) -> Stats;
    /// Remove the cgroup's directories (the processes must be gone). Best effort: a busy
    /// directory is retried briefly, as the kernel frees cgroups asynchronously.
    fn remove(&self);
    /// Its directories.
    fn paths(&self) -> Vec<PathBuf>;
}

/// A container's cgroup on this host: the manager for the host's layout ([`V1`] or [`V2`]
/// on the real host), used through [`CgroupManager`].
#[derive(Debug)]
pub struct Cgroup(Box<dyn CgroupManager>);

impl std::ops::Deref for Cgroup {
    type Target = dyn CgroupManager;
    fn deref(&self) -> &Self::Target {
        self.0.as_ref()
    }
}

impl Cgroup {
    /// Create the cgroup at `path` (e.g. "/berth/<id>") and apply `limits`.
    pub fn create(layout: &Layout, path: &str, limits: &Limits) -> crate::Result<Cgroup> {
        Self::create_on(Arc::new(RealHost), layout, path, limits)
    }

    /// The existing cgroup at `path` (nothing is created): for pause, stats, top.
    pub fn open(layout: &Layout, path: &str) -> Cgroup {
        Self::open_on(Arc::new(RealHost), layout, path)
    }

    /// [`Cgroup::create`] on `host`.
    pub fn create_on(
        host: Arc<dyn Host>,
        layout: &Layout,
        path: &str,
        limits: &Limits,
    ) -> crate::Result<Cgroup> {
        if relative(path).as_os_str().is_empty() {
            return Err(crate::Error::Invalid("empty cgroup path".into()));
        }
        Ok(Cgroup(match layout {
            Layout::V1 { hierarchies } => Box::new(V1::create(host, hierarchies, path, limits)?),
            Layout::V2 { mountpoint } => Box::new(V2::create(host, mountpoint, path, limits)?),
        }))
    }

    /// [`Cgroup::open`] on `host`.
    pub fn open_on(host: Arc<dyn Host>, layout: &Layout, path: &str) -> Cgroup {
        Cgroup(match layout {
            Layout::V1 { hierarchies } => Box::new(V1::open(host, hierarchies, path)),
            Layout::V2 { mountpoint } => Box::new(V2::open(host, mountpoint, path)),
        })
    }
}

/// Rounds of `kill_all` for a manager: `one_shot` is v2's `cgroup.kill` when the kernel has
/// it; else, with a freezer, freeze, kill every pid, thaw.
fn kill_rounds(
    cg: &dyn CgroupManager,
    host: &dyn Host,
    one_shot: Option<PathBuf>,
    freezer: bool,
    timeout: Duration,
) -> crate::Result<()> {
    let deadline = std::time::Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        let pids = cg.all_pids();
        if pids.is_empty() {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(crate::Error::Shim(format!(
                "processes {pids:?} are still in the container's cgroup"
            )));
        }
        match &one_shot {
            Some(f) => write(host, f, "1")?,
            None => {
                // Best effort: a process stuck in the kernel may keep the cgroup
                // FREEZING; it is signalled all the same and dies once it returns.
                if freezer {
                    let _ = cg.freeze(true);
                }
                for pid in &pids {
                    host.kill(*pid);
                }
                if freezer {
                    let _ = cg.freeze(false);
                }
            }
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// The pids listed in `dir`'s `cgroup.procs` (none when it cannot be read).
fn procs(host: &dyn Host, dir: &Path) -> Vec<i32> {
    host.read(&dir.join("cgroup.procs"))
        .map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

/// Remove `dir`, retrying briefly while the kernel still holds it (EBUSY).
fn remove_dir(host: &dyn Host, dir: &Path) {
    for attempt in 0..20 {
        match host.remove_dir(dir) {
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < 19 => {
                std::thread::sleep(Duration::from_millis(2 + attempt * 2));
            }
            _ => break,
        }
    }
}

/// mkdir `dir`, fine if it exists.
fn mkdir(host: &dyn Host, dir: &Path) -> crate::Result<()> {
    match host.create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(crate::Error::io(
            format!("creating cgroup {}", dir.display()),
            e,
        )),
    }
}

/// Usage counters of a cgroup (0 where the host does not say).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub cpu_total_ns: u64,
    pub cpu_percpu_ns: Vec<u64>,
    pub cpu_user_ns: u64,
    pub cpu_system_ns: u64,
    pub memory_usage: u64,
    /// 0 or a huge number when unlimited.
    pub memory_limit: u64,
    /// memory.stat as the kernel wrote it.
    pub memory_stat: String,
    pub pids_current: u64,
    /// 0 when unlimited ("max").
    pub pids_limit: u64,
}

/// The number after `key` on the line that starts with it (0 if none).
fn keyed(s: &str, key: &str) -> u64 {
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
        .unwrap_or(0)
}

/// `oom_kill N` from memory.oom_control (v1) or memory.events (v2).
pub fn oom_kill_count(s: &str) -> u64 {
    s.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
