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
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let Some(mountpoint) = pre.split(' ').nth(4) else {
            continue;
        };
        let mut post = post.split(' ');
        let fstype = post.next().unwrap_or("");
        let _source = post.next();
        let options = post.next().unwrap_or("");
        match fstype {
            "cgroup2" if mountpoint == CGROUP_ROOT => {
                return Layout::V2 {
                    mountpoint: PathBuf::from(mountpoint),
                };
            }
            "cgroup" => {
                let options = options
                    .split(',')
                    .filter(|o| !matches!(*o, "rw" | "ro") && !o.starts_with("release_agent"))
                    .collect::<Vec<_>>()
                    .join(",");
                hierarchies.push(Hierarchy {
                    mountpoint: PathBuf::from(mountpoint),
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
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| crate::Error::io("reading /proc/self/mountinfo", e))?;
    Ok(parse_mountinfo(&info))
}

/// Take the kernel's cgroup migration lock once, moving nothing, so that a move that
/// follows soon does not wait.
///
/// Every move of a process between cgroups (`cgroup.procs`) takes the global
/// `cgroup_threadgroup_rwsem` for writing. The first writer after a quiet spell waits for
/// an RCU grace period (7-8 ms on the 2-CPU VMs we measure on, the largest single cost of
/// starting a container there); writers during the following grace period do not.
/// Writing our own pid into the cgroup we are already in takes the lock without moving
/// anything, so the daemon calls this (on a blocking thread) when it knows that a shim
/// will soon move a container's process, and pays that wait in parallel with its other
/// work. Best effort: a cgroup we may not write to just means no head start.
pub fn warm_migration_lock() -> crate::Result<()> {
    static LAYOUT: std::sync::OnceLock<Option<Layout>> = std::sync::OnceLock::new();
    let Some(layout) = LAYOUT.get_or_init(|| detect().ok()) else {
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
    /// Move `pid` into the cgroup (every hierarchy; 0 is the caller).
    fn add(&self, pid: i32) -> crate::Result<()>;
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
mod tests {
    use super::*;

    #[test]
    fn detects_v1_and_hybrid() {
        let info = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
            32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n\
            34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n\
            40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n\
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        let Layout::V1 { hierarchies } = parse_mountinfo(info) else {
            panic!("expected v1");
        };
        assert_eq!(hierarchies.len(), 3);
        assert_eq!(hierarchies[0].options, "cpu,cpuacct");
        assert!(hierarchies[0].has("cpuacct"));
        assert_eq!(hierarchies[2].options, "xattr,name=systemd");
        assert_eq!(
            hierarchies[1].mountpoint,
            Path::new("/sys/fs/cgroup/cpuset")
        );
    }

    /// v2's freeze returns once `cgroup.events` says the state was reached (here a plain
    /// directory stands in for the cgroup, its events file already showing the state).
    #[test]
    fn v2_freeze_waits_for_cgroup_events() {
        let dir = tempfile::tempdir().unwrap();
        let cg = V2::open(Arc::new(RealHost), dir.path(), "/");
        std::fs::write(dir.path().join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
        cg.freeze(true).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("cgroup.freeze")).unwrap(),
            "1"
        );
        // Never reported thawed: an error, not a silent success.
        assert!(cg.freeze(false).is_err());
    }

    #[test]
    fn detects_pure_v2() {
        let info = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            parse_mountinfo(info),
            Layout::V2 {
                mountpoint: PathBuf::from("/sys/fs/cgroup")
            }
        );
    }

    #[test]
    fn oom_count() {
        assert_eq!(
            oom_kill_count("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"),
            2
        );
        assert_eq!(
            oom_kill_count("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"),
            1
        );
        assert_eq!(oom_kill_count("oom_kill_disable 0\n"), 0);
    }

    #[test]
    fn v1_dirs_copy_cpuset() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("cpuset.cpus"), "0-1\n").unwrap();
        std::fs::write(d.path().join("cpuset.mems"), "0\n").unwrap();
        let leaf = d.path().join("berth/abc");
        v1::create_dir(&RealHost, d.path(), &leaf, true).unwrap();
        assert_eq!(
            std::fs::read_to_string(leaf.join("cpuset.cpus")).unwrap(),
            "0-1"
        );
        assert_eq!(
            std::fs::read_to_string(d.path().join("berth/cpuset.mems")).unwrap(),
            "0"
        );
    }

    #[test]
    fn v1_cpuset_filled_when_another_start_made_the_parent() {
        // Another start created berth/ and has not filled it yet.
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("cpuset.cpus"), "0-1\n").unwrap();
        std::fs::write(d.path().join("cpuset.mems"), "0\n").unwrap();
        std::fs::create_dir(d.path().join("berth")).unwrap();
        std::fs::write(d.path().join("berth/cpuset.cpus"), "\n").unwrap();
        std::fs::write(d.path().join("berth/cpuset.mems"), "").unwrap();
        v1::create_dir(&RealHost, d.path(), &d.path().join("berth/abc"), true).unwrap();
        for dir in ["berth", "berth/abc"] {
            let p = d.path().join(dir);
            assert_eq!(
                std::fs::read_to_string(p.join("cpuset.cpus")).unwrap(),
                "0-1"
            );
            assert_eq!(std::fs::read_to_string(p.join("cpuset.mems")).unwrap(), "0");
        }
    }

    use fake::FakeHost;

    fn v1_layout() -> Layout {
        let h = |m: &str, o: &str| Hierarchy {
            mountpoint: PathBuf::from(m),
            options: o.into(),
        };
        Layout::V1 {
            hierarchies: vec![
                h("/cg/memory", "memory"),
                h("/cg/cpu,cpuacct", "cpu,cpuacct"),
                h("/cg/cpuset", "cpuset"),
                h("/cg/pids", "pids"),
                h("/cg/blkio", "blkio"),
                h("/cg/freezer", "freezer"),
                h("/cg/devices", "devices"),
            ],
        }
    }

    /// A v1 host as the kernel lays it out: the hierarchies' roots with their files.
    fn v1_host() -> Arc<FakeHost> {
        let host = Arc::new(FakeHost::new());
        host.file("/cg/cpuset/cpuset.cpus", "0-1\n")
            .file("/cg/cpuset/cpuset.mems", "0\n")
            .file("/cg/blkio/blkio.weight", "500\n")
            .dir("/cg/memory")
            .dir("/cg/cpu,cpuacct")
            .dir("/cg/pids")
            .dir("/cg/freezer")
            .dir("/cg/devices");
        // With swap accounting the kernel gives every memory cgroup its memsw file; the
        // fake makes it when the memory limit is written.
        host.on_write(
            "memory.limit_in_bytes",
            "67108864",
            "memory.memsw.limit_in_bytes",
            "9223372036854771712",
        );
        host
    }

    fn v2_host() -> Arc<FakeHost> {
        let host = Arc::new(FakeHost::new());
        host.file("/cg2/cgroup.controllers", "cpuset cpu io memory pids\n");
        host.file(
            "/cg2/berth/cgroup.controllers",
            "cpuset cpu io memory pids\n",
        );
        host
    }

    fn limits() -> Limits {
        Limits {
            memory: 64 << 20,
            memory_swap: 128 << 20,
            pids: 50,
            cpu_quota: 150_000,
            cpu_period: 100_000,
            cpu_shares: 512,
            cpus: "1".into(),
            mems: "0".into(),
            blkio_weight: 300,
            devices: vec![(false, "a".into()), (true, "c 1:3 rwm".into())],
            ..Limits::default()
        }
    }

    #[test]
    fn v1_limits_write_docker_values() {
        let host = v1_host();
        let cg = Cgroup::create_on(host.clone(), &v1_layout(), "/berth/c1", &limits()).unwrap();
        let w = |p: &str| host.written(p);
        assert_eq!(w("/cg/memory/berth/c1/memory.limit_in_bytes"), ["67108864"]);
        // memory + swap, as v1 takes it.
        assert_eq!(
            w("/cg/memory/berth/c1/memory.memsw.limit_in_bytes"),
            ["134217728"]
        );
        assert_eq!(w("/cg/pids/berth/c1/pids.max"), ["50"]);
        assert_eq!(w("/cg/cpu,cpuacct/berth/c1/cpu.cfs_quota_us"), ["150000"]);
        assert_eq!(w("/cg/cpu,cpuacct/berth/c1/cpu.cfs_period_us"), ["100000"]);
        assert_eq!(w("/cg/cpu,cpuacct/berth/c1/cpu.shares"), ["512"]);
        // cpuset filled from the parent at each level, then the container's own.
        assert_eq!(w("/cg/cpuset/berth/cpuset.cpus"), ["0-1"]);
        assert_eq!(w("/cg/cpuset/berth/c1/cpuset.cpus"), ["0-1", "1"]);
        assert_eq!(w("/cg/cpuset/berth/c1/cpuset.mems"), ["0", "0"]);
        // No blkio.weight in a new v1 blkio cgroup here: nothing written, no error.
        assert!(w("/cg/blkio/berth/c1/blkio.weight").is_empty());
        // Device rules in order: deny all, then the allow list.
        assert_eq!(w("/cg/devices/berth/c1/devices.deny"), ["a"]);
        assert_eq!(w("/cg/devices/berth/c1/devices.allow"), ["c 1:3 rwm"]);
        assert_eq!(cg.paths().len(), 7);

        // Update: only what is set is written.
        let before = host.writes().len();
        cg.apply(&Limits {
            pids: 10,
            ..Limits::default()
        })
        .unwrap();
        assert_eq!(
            host.writes()[before..],
            [(PathBuf::from("/cg/pids/berth/c1/pids.max"), "10".into())]
        );
    }

    #[test]
    fn v2_limits_write_docker_values() {
        let host = v2_host();
        let layout = Layout::V2 {
            mountpoint: "/cg2".into(),
        };
        let mut l = limits();
        host.file("/cg2/berth/c2/memory.swap.max", "max\n")
            .file("/cg2/berth/c2/io.weight", "default 100\n");
        let cg = Cgroup::create_on(host.clone(), &layout, "/berth/c2", &l).unwrap();
        let w = |f: &str| host.written(Path::new("/cg2/berth/c2").join(f));
        assert_eq!(w("memory.max"), ["67108864"]);
        // v2 limits swap alone: 128m - 64m.
        assert_eq!(w("memory.swap.max"), ["67108864"]);
        assert_eq!(w("pids.max"), ["50"]);
        assert_eq!(w("cpu.max"), ["150000 100000"]);
        assert_eq!(w("cpu.weight"), [shares_to_weight(512).to_string()]);
        assert_eq!(w("cpuset.cpus"), ["1"]);
        assert_eq!(w("cpuset.mems"), ["0"]);
        assert_eq!(w("io.weight"), ["default 300"]);
        // Controllers enabled on the way down.
        assert_eq!(
            host.written("/cg2/cgroup.subtree_control"),
            ["+cpuset +cpu +io +memory +pids"]
        );
        // Unlimited swap; a period alone keeps the quota unlimited.
        l = Limits {
            memory: 64 << 20,
            memory_swap: -1,
            cpu_period: 50_000,
            ..Limits::default()
        };
        cg.apply(&l).unwrap();
        assert_eq!(w("memory.swap.max").last().unwrap(), "max");
        assert_eq!(w("cpu.max").last().unwrap(), "max 50000");
    }

    #[test]
    fn freeze_waits_for_the_kernel() {
        // v1: a cgroup stuck FREEZING: an error after the retries, and it counts as frozen.
        let host = v1_host();
        let cg =
            Cgroup::create_on(host.clone(), &v1_layout(), "/berth/f", &Limits::default()).unwrap();
        host.on_write("freezer.state", "FROZEN", "freezer.state", "FREEZING");
        cg.freeze(true).unwrap_err();
        assert!(cg.is_frozen(), "FREEZING counts as frozen");
        let host = v1_host();
        let cg =
            Cgroup::create_on(host.clone(), &v1_layout(), "/berth/f", &Limits::default()).unwrap();
        cg.freeze(true).unwrap();
        assert!(cg.is_frozen());
        cg.freeze(false).unwrap();
        assert_eq!(
            host.written("/cg/freezer/berth/f/freezer.state"),
            ["FROZEN", "THAWED"]
        );
        // v2: returns once cgroup.events says frozen, fails if it never does.
        let host = v2_host();
        let layout = Layout::V2 {
            mountpoint: "/cg2".into(),
        };
        let cg = Cgroup::create_on(host.clone(), &layout, "/berth/f", &Limits::default()).unwrap();
        host.on_write(
            "cgroup.freeze",
            "1",
            "cgroup.events",
            "populated 1\nfrozen 1\n",
        );
        cg.freeze(true).unwrap();
        assert!(cg.is_frozen());
        assert!(cg.freeze(false).is_err(), "never reported thawed");
    }

    #[test]
    fn kill_all_then_remove() {
        // v1: rounds of freeze, kill, thaw until every hierarchy is empty.
        let host = v1_host();
        let cg =
            Cgroup::create_on(host.clone(), &v1_layout(), "/berth/k", &Limits::default()).unwrap();
        host.file("/cg/memory/berth/k/cgroup.procs", "101\n102\n")
            .file("/cg/pids/berth/k/cgroup.procs", "102\n103\n");
        assert_eq!(cg.all_pids(), [101, 102, 103]);
        assert_eq!(cg.pids(), [102, 103], "the pids hierarchy answers");
        cg.kill_all(Duration::from_secs(5)).unwrap();
        assert_eq!(host.killed(), [101, 102, 103]);
        assert_eq!(
            host.written("/cg/freezer/berth/k/freezer.state"),
            ["FROZEN", "THAWED"]
        );
        cg.remove();
        assert!(!cg.exists());
        assert!(!host.has_dir("/cg/memory/berth/k"));
        assert!(host.has_dir("/cg/memory/berth"), "the parent stays");

        // v2 with cgroup.kill: one write, no signal of our own.
        let host = v2_host();
        let layout = Layout::V2 {
            mountpoint: "/cg2".into(),
        };
        let cg = Cgroup::create_on(host.clone(), &layout, "/berth/k", &Limits::default()).unwrap();
        host.file("/cg2/berth/k/cgroup.procs", "7\n")
            .file("/cg2/berth/k/cgroup.kill", "");
        host.on_write("cgroup.kill", "1", "cgroup.procs", "");
        cg.kill_all(Duration::from_secs(5)).unwrap();
        assert_eq!(host.written("/cg2/berth/k/cgroup.kill"), ["1"]);
        assert!(host.killed().is_empty());
        cg.remove();
        assert!(!cg.exists());

        // A process that does not die: an error after the timeout.
        let host = v2_host();
        let cg = Cgroup::create_on(host.clone(), &layout, "/berth/z", &Limits::default()).unwrap();
        host.file("/cg2/berth/z/cgroup.procs", "9\n")
            .file("/cg2/berth/z/cgroup.kill", "");
        assert!(cg.kill_all(Duration::from_millis(20)).is_err());
    }

    #[test]
    fn a_failed_create_removes_what_it_made() {
        let host = v1_host();
        // The second hierarchy's directory cannot be made: the first one's goes again.
        let layout = Layout::V1 {
            hierarchies: vec![
                Hierarchy {
                    mountpoint: "/cg/memory".into(),
                    options: "memory".into(),
                },
                Hierarchy {
                    mountpoint: "/cg/missing".into(),
                    options: "pids".into(),
                },
            ],
        };
        assert!(Cgroup::create_on(host.clone(), &layout, "/berth/x", &Limits::default()).is_err());
        assert!(!host.has_dir("/cg/memory/berth/x"));
    }

    #[test]
    fn stats_read_the_counters() {
        let host = v2_host();
        let layout = Layout::V2 {
            mountpoint: "/cg2".into(),
        };
        let cg = Cgroup::create_on(host.clone(), &layout, "/berth/s", &Limits::default()).unwrap();
        host.file(
            "/cg2/berth/s/cpu.stat",
            "usage_usec 300\nuser_usec 200\nsystem_usec 100\n",
        )
        .file("/cg2/berth/s/memory.current", "4096\n")
        .file("/cg2/berth/s/pids.current", "3\n")
        .file("/cg2/berth/s/pids.max", "max\n")
        .file("/cg2/berth/s/memory.events", "oom 1\noom_kill 1\n");
        let st = cg.stats();
        assert_eq!(
            (st.cpu_total_ns, st.cpu_user_ns, st.cpu_system_ns),
            (300_000, 200_000, 100_000)
        );
        assert_eq!(
            (st.memory_usage, st.pids_current, st.pids_limit),
            (4096, 3, 0)
        );
        assert!(cg.oom_killed());
    }
}
