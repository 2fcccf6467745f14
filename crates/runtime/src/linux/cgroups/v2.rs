//! cgroup v2: one directory in the unified hierarchy.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{
    CgroupManager, Host, Limits, Stats, kill_rounds, mkdir, procs, relative, remove_dir,
    shares_to_weight, write,
};

/// A container's cgroup on a pure v2 host.
#[derive(Debug)]
pub struct V2 {
    host: Arc<dyn Host>,
    dir: PathBuf,
}

impl V2 {
    /// Create the directory at `path` below `mountpoint` (enabling the controllers on the
    /// way) and apply `limits`; on a failure to apply, the directory is removed again.
    pub fn create(
        host: Arc<dyn Host>,
        mountpoint: &Path,
        path: &str,
        limits: &Limits,
    ) -> crate::Result<V2> {
        let dir = mountpoint.join(relative(path));
        create_dir(host.as_ref(), mountpoint, &dir)?;
        let cg = V2 { host, dir };
        if let Err(e) = cg.apply(limits) {
            cg.remove();
            return Err(e);
        }
        Ok(cg)
    }

    /// The directory at `path` (nothing is created).
    pub fn open(host: Arc<dyn Host>, mountpoint: &Path, path: &str) -> V2 {
        V2 {
            host,
            dir: mountpoint.join(relative(path)),
        }
    }

    fn write(&self, file: &str, value: &str) -> crate::Result<()> {
        write(self.host.as_ref(), &self.dir.join(file), value)
    }

    fn exists_file(&self, file: &str) -> bool {
        self.host.exists(&self.dir.join(file))
    }
}

impl CgroupManager for V2 {
    fn apply(&self, l: &Limits) -> crate::Result<()> {
        if l.memory > 0 {
            self.write("memory.max", &l.memory.to_string())?;
            if l.memory_swap != 0 && self.exists_file("memory.swap.max") {
                // v2 limits swap alone; Docker's --memory-swap is memory + swap.
                let v = if l.memory_swap < 0 {
                    "max".to_string()
                } else {
                    (l.memory_swap - l.memory).max(0).to_string()
                };
                self.write("memory.swap.max", &v)?;
            }
        }
        if l.memory_reservation > 0 {
            self.write("memory.low", &l.memory_reservation.to_string())?;
        }
        if l.pids > 0 {
            self.write("pids.max", &l.pids.to_string())?;
        }
        if l.cpu_shares > 0 {
            self.write("cpu.weight", &shares_to_weight(l.cpu_shares).to_string())?;
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
            self.write("cpu.max", &format!("{quota} {period}"))?;
        }
        if !l.cpus.is_empty() {
            self.write("cpuset.cpus", &l.cpus)?;
        }
        if !l.mems.is_empty() {
            self.write("cpuset.mems", &l.mems)?;
        }
        if l.blkio_weight > 0 {
            if self.exists_file("io.bfq.weight") {
                self.write("io.bfq.weight", &l.blkio_weight.to_string())?;
            } else if self.exists_file("io.weight") {
                self.write("io.weight", &format!("default {}", l.blkio_weight))?;
            }
        }
        Ok(())
    }

    fn enter(&self) -> crate::Result<()> {
        self.write("cgroup.procs", "0")
    }

    fn pids(&self) -> Vec<i32> {
        procs(self.host.as_ref(), &self.dir)
    }

    fn all_pids(&self) -> Vec<i32> {
        let mut out = self.pids();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn kill_all(&self, timeout: Duration) -> crate::Result<()> {
        let kill = self.dir.join("cgroup.kill");
        let one_shot = self.host.exists(&kill).then_some(kill);
        kill_rounds(self, self.host.as_ref(), one_shot, true, timeout)
    }

    fn oom_killed(&self) -> bool {
        self.host
            .read(&self.dir.join("memory.events"))
            .is_ok_and(|s| super::oom_kill_count(&s) > 0)
    }

    fn exists(&self) -> bool {
        self.host.is_dir(&self.dir)
    }

    fn is_frozen(&self) -> bool {
        self.host
            .read(&self.dir.join("cgroup.freeze"))
            .is_ok_and(|s| s.trim() == "1")
    }

    fn freeze(&self, frozen: bool) -> crate::Result<()> {
        let value = if frozen { "1" } else { "0" };
        let want = format!("frozen {value}");
        self.write("cgroup.freeze", value)?;
        for _ in 0..1000 {
            let now = self
                .host
                .read(&self.dir.join("cgroup.events"))
                .unwrap_or_default();
            if now.lines().any(|l| l.trim() == want) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if frozen {
            // Never left half frozen: the tasks that froze meanwhile would stay stopped.
            let _ = self.write("cgroup.freeze", "0");
        }
        Err(crate::Error::Shim(format!("cgroup did not reach {want}")))
    }

    fn stats(&self) -> Stats {
        let read = |f: &str| self.host.read(&self.dir.join(f)).unwrap_or_default();
        let num = |s: String| s.trim().parse::<u64>().unwrap_or(0);
        let cpu = read("cpu.stat");
        Stats {
            cpu_total_ns: super::keyed(&cpu, "usage_usec ") * 1000,
            cpu_percpu_ns: Vec::new(),
            cpu_user_ns: super::keyed(&cpu, "user_usec ") * 1000,
            cpu_system_ns: super::keyed(&cpu, "system_usec ") * 1000,
            memory_usage: num(read("memory.current")),
            memory_limit: num(read("memory.max")),
            memory_stat: read("memory.stat"),
            pids_current: num(read("pids.current")),
            pids_limit: num(read("pids.max")),
        }
    }

    fn remove(&self) {
        remove_dir(self.host.as_ref(), &self.dir);
    }

    fn paths(&self) -> Vec<PathBuf> {
        vec![self.dir.clone()]
    }
}

/// mkdir each missing level below `mount`, enabling the available controllers in
/// `cgroup.subtree_control` of every level above the leaf.
fn create_dir(host: &dyn Host, mount: &Path, dir: &Path) -> crate::Result<()> {
    let rel = dir.strip_prefix(mount).unwrap_or(dir);
    let mut cur = mount.to_path_buf();
    for c in rel.components() {
        let controllers = host.read(&cur.join("cgroup.controllers")).map_err(|e| {
            crate::Error::io(format!("reading {}/cgroup.controllers", cur.display()), e)
        })?;
        let enable = controllers
            .split_whitespace()
            .map(|c| format!("+{c}"))
            .collect::<Vec<_>>()
            .join(" ");
        if !enable.is_empty() {
            write(host, &cur.join("cgroup.subtree_control"), &enable)?;
        }
        cur.push(c);
        mkdir(host, &cur)?;
    }
    Ok(())
}
