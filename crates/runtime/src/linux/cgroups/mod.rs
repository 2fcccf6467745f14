//! The container's cgroup, on cgroup v1 (one directory per hierarchy) or a pure v2 host
//! (cgroup2 mounted at /sys/fs/cgroup): memory, pids, cpu, cpuset and block I/O limits.

use std::path::{Path, PathBuf};

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// One v1 hierarchy as mounted on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub mountpoint: PathBuf,
    /// Controllers (and `name=`) from the super options, e.g. "cpu,cpuacct".
    pub options: String,
}

impl Hierarchy {
    fn has(&self, controller: &str) -> bool {
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
        return write(&dir.join("cgroup.procs"), &std::process::id().to_string());
    }
    Ok(())
}

fn write(path: &Path, value: &str) -> crate::Result<()> {
    std::fs::write(path, value)
        .map_err(|e| crate::Error::io(format!("writing {} to {}", value.trim(), path.display()), e))
}

fn relative(cgroup_path: &str) -> &Path {
    Path::new(cgroup_path.trim_start_matches('/'))
}

/// A container's cgroup: the directories created for it.
#[derive(Debug, Clone)]
pub struct Cgroup {
    v2: bool,
    /// (hierarchy options, leaf dir) for v1; one entry for v2.
    dirs: Vec<(String, PathBuf)>,
}

impl Cgroup {
    /// Create the cgroup at `path` (e.g. "/berth/<id>") and apply `limits`.
    pub fn create(layout: &Layout, path: &str, limits: &Limits) -> crate::Result<Cgroup> {
        if relative(path).as_os_str().is_empty() {
            return Err(crate::Error::Invalid("empty cgroup path".into()));
        }
        match layout {
            Layout::V1 { hierarchies } => {
                let mut cg = Cgroup {
                    v2: false,
                    dirs: Vec::new(),
                };
                for h in hierarchies {
                    let dir = h.mountpoint.join(relative(path));
                    if let Err(e) = create_v1_dir(&h.mountpoint, &dir, h.has("cpuset")) {
                        cg.remove();
                        return Err(e);
                    }
                    cg.dirs.push((h.options.clone(), dir));
                }
                if let Err(e) = cg.apply_v1(limits) {
                    cg.remove();
                    return Err(e);
                }
                Ok(cg)
            }
            Layout::V2 { mountpoint } => {
                let dir = mountpoint.join(relative(path));
                create_v2_dir(mountpoint, &dir)?;
                let cg = Cgroup {
                    v2: true,
                    dirs: vec![(String::new(), dir)],
                };
                if let Err(e) = cg.apply_v2(limits) {
                    cg.remove();
                    return Err(e);
                }
                Ok(cg)
            }
        }
    }

    fn dir_with(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(o, _)| o.split(',').any(|c| c == controller))
            .map(|(_, d)| d.as_path())
    }

    /// Apply `limits` to the existing cgroup (`docker update`).
    pub fn apply(&self, limits: &Limits) -> crate::Result<()> {
        if self.v2 {
            self.apply_v2(limits)
        } else {
            self.apply_v1(limits)
        }
    }

    fn apply_v1(&self, l: &Limits) -> crate::Result<()> {
        if let Some(dir) = self.dir_with("memory") {
            if l.memory > 0 {
                write(&dir.join("memory.limit_in_bytes"), &l.memory.to_string())?;
                let memsw = dir.join("memory.memsw.limit_in_bytes");
                if l.memory_swap != 0 && memsw.exists() {
                    write(&memsw, &l.memory_swap.to_string())?;
                }
            }
            if l.memory_reservation > 0 {
                write(
                    &dir.join("memory.soft_limit_in_bytes"),
                    &l.memory_reservation.to_string(),
                )?;
            }
            if l.oom_kill_disable {
                write(&dir.join("memory.oom_control"), "1")?;
            }
        }
        if let Some(dir) = self.dir_with("pids")
            && l.pids > 0
        {
            write(&dir.join("pids.max"), &l.pids.to_string())?;
        }
        if let Some(dir) = self.dir_with("cpu") {
            if l.cpu_shares > 0 {
                write(&dir.join("cpu.shares"), &l.cpu_shares.to_string())?;
            }
            if l.cpu_period > 0 {
                write(&dir.join("cpu.cfs_period_us"), &l.cpu_period.to_string())?;
            }
            if l.cpu_quota > 0 {
                write(&dir.join("cpu.cfs_quota_us"), &l.cpu_quota.to_string())?;
            }
        }
        if let Some(dir) = self.dir_with("cpuset") {
            if !l.cpus.is_empty() {
                write(&dir.join("cpuset.cpus"), &l.cpus)?;
            }
            if !l.mems.is_empty() {
                write(&dir.join("cpuset.mems"), &l.mems)?;
            }
        }
        if let Some(dir) = self.dir_with("devices") {
            for (allow, rule) in &l.devices {
                let file = if *allow {
                    "devices.allow"
                } else {
                    "devices.deny"
                };
                write(&dir.join(file), rule)?;
            }
        }
        if let Some(dir) = self.dir_with("blkio")
            && l.blkio_weight > 0
        {
            let w = l.blkio_weight.to_string();
            let cfq = dir.join("blkio.weight");
            let bfq = dir.join("blkio.bfq.weight");
            if cfq.exists() {
                write(&cfq, &w)?;
            } else if bfq.exists() {
                write(&bfq, &w)?;
            } else {
                eprintln!(
                    "berth-shim: no block I/O weight control on this host; --blkio-weight ignored"
                );
            }
        }
        Ok(())
    }

    fn apply_v2(&self, l: &Limits) -> crate::Result<()> {
        let dir = &self.dirs[0].1;
        if l.memory > 0 {
            write(&dir.join("memory.max"), &l.memory.to_string())?;
            let swap = dir.join("memory.swap.max");
            if l.memory_swap != 0 && swap.exists() {
                let v = if l.memory_swap < 0 {
                    "max".to_string()
                } else {
                    (l.memory_swap - l.memory).max(0).to_string()
                };
                write(&swap, &v)?;
            }
        }
        if l.memory_reservation > 0 {
            write(&dir.join("memory.low"), &l.memory_reservation.to_string())?;
        }
        if l.pids > 0 {
            write(&dir.join("pids.max"), &l.pids.to_string())?;
        }
        if l.cpu_shares > 0 {
            write(
                &dir.join("cpu.weight"),
                &shares_to_weight(l.cpu_shares).to_string(),
            )?;
        }
        if l.cpu_quota > 0 || l.cpu_period > 0 {
            let quota = if l.cpu_quota > 0 {
                l.cpu_quota.to_string()
            } else {
                "max".to_string()
            };
            let period = if l.cpu_period > 0 {
                l.cpu_period
            } else {
                100_000
            };
            write(&dir.join("cpu.max"), &format!("{quota} {period}"))?;
        }
        if !l.cpus.is_empty() {
            write(&dir.join("cpuset.cpus"), &l.cpus)?;
        }
        if !l.mems.is_empty() {
            write(&dir.join("cpuset.mems"), &l.mems)?;
        }
        if l.blkio_weight > 0 {
            let bfq = dir.join("io.bfq.weight");
            let io = dir.join("io.weight");
            if bfq.exists() {
                write(&bfq, &l.blkio_weight.to_string())?;
            } else if io.exists() {
                write(&io, &format!("default {}", l.blkio_weight))?;
            }
        }
        Ok(())
    }

    /// Move `pid` into the cgroup (every hierarchy).
    pub fn add(&self, pid: i32) -> crate::Result<()> {
        let pid = pid.to_string();
        for (_, dir) in &self.dirs {
            write(&dir.join("cgroup.procs"), &pid)?;
        }
        Ok(())
    }

    /// Host pids of the processes in the cgroup.
    pub fn pids(&self) -> Vec<i32> {
        let dir = self
            .dir_with("pids")
            .or_else(|| self.dir_with("memory"))
            .or_else(|| self.dirs.first().map(|(_, d)| d.as_path()));
        let Some(dir) = dir else {
            return Vec::new();
        };
        std::fs::read_to_string(dir.join("cgroup.procs"))
            .map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect())
            .unwrap_or_default()
    }

    /// Host pids in any of the cgroup's directories (each hierarchy lists its own).
    pub fn all_pids(&self) -> Vec<i32> {
        let mut out: Vec<i32> = self
            .dirs
            .iter()
            .filter_map(|(_, d)| std::fs::read_to_string(d.join("cgroup.procs")).ok())
            .flat_map(|s| {
                s.lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .collect::<Vec<i32>>()
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// SIGKILL every process of the cgroup and wait until none is left, as containerd
    /// cleans up after a shim that died: v2's `cgroup.kill` where the kernel has it (5.14+),
    /// else rounds of freeze, kill, thaw (frozen, no process can fork or exit and give its
    /// pid away between the read of `cgroup.procs` and the signal; runc does the same).
    /// Fails when processes are still there after `timeout`. A cgroup that does not exist
    /// is empty.
    pub fn kill_all(&self, timeout: std::time::Duration) -> crate::Result<()> {
        let deadline = std::time::Instant::now() + timeout;
        let kill_file = self.dirs.first().map(|(_, d)| d.join("cgroup.kill"));
        let one_shot = self.v2 && kill_file.as_ref().is_some_and(|f| f.exists());
        let freezer = self.v2 || self.dir_with("freezer").is_some();
        let mut pause = std::time::Duration::from_millis(1);
        loop {
            let pids = self.all_pids();
            if pids.is_empty() {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                return Err(crate::Error::Shim(format!(
                    "processes {pids:?} are still in the container's cgroup"
                )));
            }
            match &kill_file {
                Some(f) if one_shot => write(f, "1")?,
                _ => {
                    // Best effort: a process stuck in the kernel may keep the cgroup
                    // FREEZING; it is signalled all the same and dies once it returns.
                    if freezer {
                        let _ = self.freeze(true);
                    }
                    for pid in &pids {
                        // SAFETY: kill has no memory-safety preconditions.
                        unsafe { libc::kill(*pid, libc::SIGKILL) };
                    }
                    if freezer {
                        let _ = self.freeze(false);
                    }
                }
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(std::time::Duration::from_millis(50));
        }
    }

    /// Whether the kernel's OOM killer killed a process of the cgroup.
    pub fn oom_killed(&self) -> bool {
        let (dir, file) = if self.v2 {
            (self.dirs.first().map(|(_, d)| d.as_path()), "memory.events")
        } else {
            (self.dir_with("memory"), "memory.oom_control")
        };
        let Some(dir) = dir else { return false };
        std::fs::read_to_string(dir.join(file))
            .map(|s| oom_kill_count(&s) > 0)
            .unwrap_or(false)
    }

    /// The existing cgroup at `path` (nothing is created): for pause, stats, top.
    pub fn open(layout: &Layout, path: &str) -> Cgroup {
        match layout {
            Layout::V1 { hierarchies } => Cgroup {
                v2: false,
                dirs: hierarchies
                    .iter()
                    .map(|h| (h.options.clone(), h.mountpoint.join(relative(path))))
                    .filter(|(_, d)| d.is_dir())
                    .collect(),
            },
            Layout::V2 { mountpoint } => Cgroup {
                v2: true,
                dirs: vec![(String::new(), mountpoint.join(relative(path)))],
            },
        }
    }

    /// Whether any of its directories exists.
    pub fn exists(&self) -> bool {
        self.dirs.iter().any(|(_, d)| d.is_dir())
    }

    /// Whether it is frozen (or freezing).
    pub fn is_frozen(&self) -> bool {
        if self.v2 {
            let Some((_, d)) = self.dirs.first() else {
                return false;
            };
            return std::fs::read_to_string(d.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1");
        }
        let Some(d) = self.dir_with("freezer") else {
            return false;
        };
        std::fs::read_to_string(d.join("freezer.state"))
            .is_ok_and(|s| matches!(s.trim(), "FROZEN" | "FREEZING"))
    }

    /// Freeze (pause) or thaw every process of the cgroup; returns once the kernel says
    /// the state was reached (v1: `freezer.state` leaves FREEZING; v2: `cgroup.events`
    /// shows `frozen`, as runc waits for both).
    pub fn freeze(&self, frozen: bool) -> crate::Result<()> {
        let (file, value, state_file, want) = if self.v2 {
            let d = self.dirs.first().map(|(_, d)| d.clone());
            let d = d.ok_or_else(|| crate::Error::Invalid("no cgroup".into()))?;
            let value = if frozen { "1" } else { "0" };
            (
                d.join("cgroup.freeze"),
                value,
                d.join("cgroup.events"),
                format!("frozen {value}"),
            )
        } else {
            let d = self
                .dir_with("freezer")
                .ok_or_else(|| crate::Error::Invalid("no freezer cgroup on this host".into()))?;
            let state = if frozen { "FROZEN" } else { "THAWED" };
            let file = d.join("freezer.state");
            (file.clone(), state, file, state.to_string())
        };
        write(&file, value)?;
        for _ in 0..1000 {
            let now = std::fs::read_to_string(&state_file).unwrap_or_default();
            if now.lines().any(|l| l.trim() == want) {
                return Ok(());
            }
            // v1 may need the write again to leave FREEZING.
            if !self.v2 {
                write(&file, value)?;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Err(crate::Error::Shim(format!("cgroup did not reach {want}")))
    }

    /// Current usage counters, for `docker stats`.
    pub fn stats(&self) -> Stats {
        let read = |dir: Option<&Path>, f: &str| -> String {
            dir.and_then(|d| std::fs::read_to_string(d.join(f)).ok())
                .unwrap_or_default()
        };
        let num = |s: String| s.trim().parse::<u64>().unwrap_or(0);
        let keyed = |s: &str, key: &str| -> u64 {
            s.lines()
                .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
                .unwrap_or(0)
        };
        let mut st = Stats::default();
        if self.v2 {
            let d = self.dirs.first().map(|(_, d)| d.as_path());
            let cpu = read(d, "cpu.stat");
            st.cpu_total_ns = keyed(&cpu, "usage_usec ") * 1000;
            st.cpu_user_ns = keyed(&cpu, "user_usec ") * 1000;
            st.cpu_system_ns = keyed(&cpu, "system_usec ") * 1000;
            st.memory_usage = num(read(d, "memory.current"));
            st.memory_limit = num(read(d, "memory.max"));
            st.memory_stat = read(d, "memory.stat");
            st.pids_current = num(read(d, "pids.current"));
            st.pids_limit = num(read(d, "pids.max"));
        } else {
            let cpu = self.dir_with("cpuacct");
            st.cpu_total_ns = num(read(cpu, "cpuacct.usage"));
            st.cpu_percpu_ns = read(cpu, "cpuacct.usage_percpu")
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            // cpuacct.stat counts USER_HZ ticks (100 per second).
            let ticks = read(cpu, "cpuacct.stat");
            st.cpu_user_ns = keyed(&ticks, "user ") * 10_000_000;
            st.cpu_system_ns = keyed(&ticks, "system ") * 10_000_000;
            let mem = self.dir_with("memory");
            st.memory_usage = num(read(mem, "memory.usage_in_bytes"));
            st.memory_limit = num(read(mem, "memory.limit_in_bytes"));
            st.memory_stat = read(mem, "memory.stat");
            let pids = self.dir_with("pids");
            st.pids_current = num(read(pids, "pids.current"));
            st.pids_limit = num(read(pids, "pids.max"));
        }
        st
    }

    /// Remove the cgroup's directories (the processes must be gone). Best effort: a busy
    /// directory is retried briefly, as the kernel frees cgroups asynchronously.
    pub fn remove(&self) {
        for (_, dir) in &self.dirs {
            for attempt in 0..20 {
                match std::fs::remove_dir(dir) {
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < 19 => {
                        std::thread::sleep(std::time::Duration::from_millis(2 + attempt * 2));
                    }
                    _ => break,
                }
            }
        }
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

/// `oom_kill N` from memory.oom_control (v1) or memory.events (v2).
pub fn oom_kill_count(s: &str) -> u64 {
    s.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// mkdir each missing level below `mount`; for cpuset, copy cpus and mems from the parent
/// into each new level (the kernel leaves them empty and refuses tasks otherwise).
fn create_v1_dir(mount: &Path, dir: &Path, cpuset: bool) -> crate::Result<()> {
    let rel = dir.strip_prefix(mount).unwrap_or(dir);
    let mut cur = mount.to_path_buf();
    for c in rel.components() {
        let parent = cur.clone();
        cur.push(c);
        match std::fs::create_dir(&cur) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(crate::Error::io(
                    format!("creating cgroup {}", cur.display()),
                    e,
                ));
            }
        }
        // A new cpuset cgroup starts with no CPUs and no memory nodes, and takes no
        // task until both are set. Fill them from the parent at every level, also when
        // the directory already existed: another start may have just made it and not
        // yet filled it (two containers started at once under a fresh parent).
        if cpuset {
            for f in ["cpuset.cpus", "cpuset.mems"] {
                // (A plain directory in the unit tests has no such file yet.)
                let own = std::fs::read_to_string(cur.join(f)).unwrap_or_default();
                if !own.trim().is_empty() {
                    continue;
                }
                let v = std::fs::read_to_string(parent.join(f))
                    .map_err(|e| crate::Error::io(format!("reading {f}"), e))?;
                if !v.trim().is_empty() {
                    write(&cur.join(f), v.trim())?;
                }
            }
        }
    }
    Ok(())
}

/// mkdir each missing level below `mount`, enabling the available controllers in
/// `cgroup.subtree_control` of every level above the leaf.
fn create_v2_dir(mount: &Path, dir: &Path) -> crate::Result<()> {
    let rel = dir.strip_prefix(mount).unwrap_or(dir);
    let mut cur = mount.to_path_buf();
    for c in rel.components() {
        let controllers = std::fs::read_to_string(cur.join("cgroup.controllers")).map_err(|e| {
            crate::Error::io(format!("reading {}/cgroup.controllers", cur.display()), e)
        })?;
        let enable = controllers
            .split_whitespace()
            .map(|c| format!("+{c}"))
            .collect::<Vec<_>>()
            .join(" ");
        if !enable.is_empty() {
            write(&cur.join("cgroup.subtree_control"), &enable)?;
        }
        cur.push(c);
        match std::fs::create_dir(&cur) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(crate::Error::io(
                    format!("creating cgroup {}", cur.display()),
                    e,
                ));
            }
        }
    }
    Ok(())
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
        let cg = Cgroup {
            v2: true,
            dirs: vec![(String::new(), dir.path().to_path_buf())],
        };
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
        create_v1_dir(d.path(), &leaf, true).unwrap();
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
        create_v1_dir(d.path(), &d.path().join("berth/abc"), true).unwrap();
        for dir in ["berth", "berth/abc"] {
            let p = d.path().join(dir);
            assert_eq!(
                std::fs::read_to_string(p.join("cpuset.cpus")).unwrap(),
                "0-1"
            );
            assert_eq!(std::fs::read_to_string(p.join("cpuset.mems")).unwrap(), "0");
        }
    }
}
