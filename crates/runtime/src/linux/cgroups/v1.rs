//! cgroup v1: one directory per mounted hierarchy.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{
    CgroupManager, Hierarchy, Host, Limits, Stats, kill_rounds, mkdir, procs, relative, remove_dir,
    write,
};

/// A container's cgroup on a v1 host.
#[derive(Debug)]
pub struct V1 {
    host: Arc<dyn Host>,
    /// (hierarchy options, leaf dir), one per hierarchy.
    dirs: Vec<(String, PathBuf)>,
}

impl V1 {
    /// Create the directories at `path` in every hierarchy and apply `limits`; on failure
    /// what was made is removed again.
    pub fn create(
        host: Arc<dyn Host>,
        hierarchies: &[Hierarchy],
        path: &str,
        limits: &Limits,
    ) -> crate::Result<V1> {
        let mut cg = V1 {
            host,
            dirs: Vec::new(),
        };
        for h in hierarchies {
            let dir = h.mountpoint.join(relative(path));
            if let Err(e) = create_dir(cg.host.as_ref(), &h.mountpoint, &dir, h.has("cpuset")) {
                cg.remove();
                return Err(e);
            }
            cg.dirs.push((h.options.clone(), dir));
        }
        if let Err(e) = cg.apply(limits) {
            cg.remove();
            return Err(e);
        }
        Ok(cg)
    }

    /// The existing directories at `path` (nothing is created).
    pub fn open(host: Arc<dyn Host>, hierarchies: &[Hierarchy], path: &str) -> V1 {
        let dirs = hierarchies
            .iter()
            .map(|h| (h.options.clone(), h.mountpoint.join(relative(path))))
            .filter(|(_, d)| host.is_dir(d))
            .collect();
        V1 { host, dirs }
    }

    fn dir_with(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(o, _)| o.split(',').any(|c| c == controller))
            .map(|(_, d)| d.as_path())
    }

    fn write(&self, path: &Path, value: &str) -> crate::Result<()> {
        write(self.host.as_ref(), path, value)
    }
}

impl CgroupManager for V1 {
    fn apply(&self, l: &Limits) -> crate::Result<()> {
        let host = self.host.as_ref();
        if let Some(dir) = self.dir_with("memory") {
            if l.memory > 0 {
                self.write(&dir.join("memory.limit_in_bytes"), &l.memory.to_string())?;
                let memsw = dir.join("memory.memsw.limit_in_bytes");
                if l.memory_swap != 0 && host.exists(&memsw) {
                    self.write(&memsw, &l.memory_swap.to_string())?;
                }
            }
            if l.memory_reservation > 0 {
                self.write(
                    &dir.join("memory.soft_limit_in_bytes"),
                    &l.memory_reservation.to_string(),
                )?;
            }
            if l.oom_kill_disable {
                self.write(&dir.join("memory.oom_control"), "1")?;
            }
        }
        if let Some(dir) = self.dir_with("pids")
            && l.pids > 0
        {
            self.write(&dir.join("pids.max"), &l.pids.to_string())?;
        }
        if let Some(dir) = self.dir_with("cpu") {
            if l.cpu_shares > 0 {
                self.write(&dir.join("cpu.shares"), &l.cpu_shares.to_string())?;
            }
            if l.cpu_period > 0 {
                self.write(&dir.join("cpu.cfs_period_us"), &l.cpu_period.to_string())?;
            }
            if l.cpu_quota > 0 {
                self.write(&dir.join("cpu.cfs_quota_us"), &l.cpu_quota.to_string())?;
            }
        }
        if let Some(dir) = self.dir_with("cpuset") {
            if !l.cpus.is_empty() {
                self.write(&dir.join("cpuset.cpus"), &l.cpus)?;
            }
            if !l.mems.is_empty() {
                self.write(&dir.join("cpuset.mems"), &l.mems)?;
            }
        }
        if let Some(dir) = self.dir_with("devices") {
            for (allow, rule) in &l.devices {
                let file = if *allow {
                    "devices.allow"
                } else {
                    "devices.deny"
                };
                self.write(&dir.join(file), rule)?;
            }
        }
        if let Some(dir) = self.dir_with("blkio")
            && l.blkio_weight > 0
        {
            let w = l.blkio_weight.to_string();
            let cfq = dir.join("blkio.weight");
            let bfq = dir.join("blkio.bfq.weight");
            if host.exists(&cfq) {
                self.write(&cfq, &w)?;
            } else if host.exists(&bfq) {
                self.write(&bfq, &w)?;
            } else {
                eprintln!(
                    "berth-shim: no block I/O weight control on this host; --blkio-weight ignored"
                );
            }
        }
        Ok(())
    }

    fn enter(&self) -> crate::Result<()> {
        for (_, dir) in &self.dirs {
            self.write(&dir.join("tasks"), "0")?;
        }
        Ok(())
    }

    fn pids(&self) -> Vec<i32> {
        let dir = self
            .dir_with("pids")
            .or_else(|| self.dir_with("memory"))
            .or_else(|| self.dirs.first().map(|(_, d)| d.as_path()));
        dir.map(|d| procs(self.host.as_ref(), d))
            .unwrap_or_default()
    }

    fn all_pids(&self) -> Vec<i32> {
        let mut out: Vec<i32> = self
            .dirs
            .iter()
            .flat_map(|(_, d)| procs(self.host.as_ref(), d))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn kill_all(&self, timeout: Duration) -> crate::Result<()> {
        let freezer = self.dir_with("freezer").is_some();
        kill_rounds(self, self.host.as_ref(), None, freezer, timeout)
    }

    fn oom_killed(&self) -> bool {
        self.dir_with("memory")
            .and_then(|d| self.host.read(&d.join("memory.oom_control")).ok())
            .is_some_and(|s| super::oom_kill_count(&s) > 0)
    }

    fn exists(&self) -> bool {
        self.dirs.iter().any(|(_, d)| self.host.is_dir(d))
    }

    fn is_frozen(&self) -> bool {
        self.dir_with("freezer")
            .and_then(|d| self.host.read(&d.join("freezer.state")).ok())
            .is_some_and(|s| matches!(s.trim(), "FROZEN" | "FREEZING"))
    }

    fn freeze(&self, frozen: bool) -> crate::Result<()> {
        let d = self
            .dir_with("freezer")
            .ok_or_else(|| crate::Error::Invalid("no freezer cgroup on this host".into()))?;
        let state = if frozen { "FROZEN" } else { "THAWED" };
        let file = d.join("freezer.state");
        for i in 0..1000 {
            if frozen && i % 50 == 49 {
                // A cgroup that stays FREEZING (processes arriving, or one busy in the
                // kernel) freezes more readily after a moment thawed, as runc found.
                let _ = self.write(&file, "THAWED");
                std::thread::sleep(Duration::from_millis(10));
            }
            // v1 may need the write again to leave FREEZING.
            self.write(&file, state)?;
            let now = self.host.read(&file).unwrap_or_default();
            if now.lines().any(|l| l.trim() == state) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if frozen {
            // Never left half frozen: a task that froze meanwhile would stay stopped.
            let _ = self.write(&file, "THAWED");
        }
        Err(crate::Error::Shim(format!("cgroup did not reach {state}")))
    }

    fn stats(&self) -> Stats {
        let read = |dir: Option<&Path>, f: &str| -> String {
            dir.and_then(|d| self.host.read(&d.join(f)).ok())
                .unwrap_or_default()
        };
        let num = |s: String| s.trim().parse::<u64>().unwrap_or(0);
        let mut st = Stats::default();
        let cpu = self.dir_with("cpuacct");
        st.cpu_total_ns = num(read(cpu, "cpuacct.usage"));
        st.cpu_percpu_ns = read(cpu, "cpuacct.usage_percpu")
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        // cpuacct.stat counts USER_HZ ticks (100 per second).
        let ticks = read(cpu, "cpuacct.stat");
        st.cpu_user_ns = super::keyed(&ticks, "user ") * 10_000_000;
        st.cpu_system_ns = super::keyed(&ticks, "system ") * 10_000_000;
        let mem = self.dir_with("memory");
        st.memory_usage = num(read(mem, "memory.usage_in_bytes"));
        st.memory_limit = num(read(mem, "memory.limit_in_bytes"));
        st.memory_stat = read(mem, "memory.stat");
        let pids = self.dir_with("pids");
        st.pids_current = num(read(pids, "pids.current"));
        st.pids_limit = num(read(pids, "pids.max"));
        st
    }

    fn remove(&self) {
        for (_, dir) in &self.dirs {
            remove_dir(self.host.as_ref(), dir);
        }
    }

    fn paths(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|(_, d)| d.clone()).collect()
    }
}

/// mkdir each missing level below `mount`; for cpuset, copy cpus and mems from the parent
/// into each new level (the kernel leaves them empty and refuses tasks otherwise).
pub(super) fn create_dir(
    host: &dyn Host,
    mount: &Path,
    dir: &Path,
    cpuset: bool,
) -> crate::Result<()> {
    let rel = dir.strip_prefix(mount).unwrap_or(dir);
    let mut cur = mount.to_path_buf();
    for c in rel.components() {
        let parent = cur.clone();
        cur.push(c);
        mkdir(host, &cur)?;
        // A new cpuset cgroup starts with no CPUs and no memory nodes, and takes no
        // task until both are set. Fill them from the parent at every level, also when
        // the directory already existed: another start may have just made it and not
        // yet filled it (two containers started at once under a fresh parent).
        if cpuset {
            for f in ["cpuset.cpus", "cpuset.mems"] {
                // (A plain directory in the unit tests has no such file yet.)
                let own = host.read(&cur.join(f)).unwrap_or_default();
                if !own.trim().is_empty() {
                    continue;
                }
                let v = host
                    .read(&parent.join(f))
                    .map_err(|e| crate::Error::io(format!("reading {f}"), e))?;
                if !v.trim().is_empty() {
                    write(host, &cur.join(f), v.trim())?;
                }
            }
        }
    }
    Ok(())
}
