//! Operations on a running container's cgroup: pause/unpause (freezer), `top` and
//! `stats`. The cgroup is read and written from the daemon; the shim does not take part.

use std::sync::Arc;

use berth_runtime::linux::cgroups::{self, Cgroup};
use std::collections::BTreeMap;

use berth_models::{
    ContainerStatsResponse, ContainerTopResponse, CpuStats, CpuUsage, MemoryStats, PidsStats,
    ThrottlingData,
};

use crate::{Engine, Entry, Error, Result, time};

impl Engine {
    fn running_cgroup(&self, key: &str) -> Result<(Arc<Entry>, String, Cgroup)> {
        let entry = self.lookup(key)?;
        let (id, running) = {
            let r = entry.record();
            (r.id.clone(), r.state.running)
        };
        if !running {
            return Err(Error::conflict(format!("Container {id} is not running")));
        }
        let layout = cgroups::detect().map_err(|e| Error::internal(e.to_string()))?;
        let cg = Cgroup::open(&layout, &format!("/{}/{id}", self.cfg.cgroup_parent));
        Ok((entry, id, cg))
    }

    /// `POST /containers/{id}/pause` (`pause` true) and `/unpause`.
    pub async fn set_paused(&self, key: &str, pause: bool) -> Result<()> {
        let (entry, id, cg) = self.running_cgroup(key)?;
        let paused = entry.record().state.paused;
        if pause && paused {
            return Err(Error::conflict(format!("Container {id} is already paused")));
        }
        if !pause && !paused {
            return Err(Error::conflict(format!("Container {id} is not paused")));
        }
        tokio::task::spawn_blocking(move || cg.freeze(pause))
            .await
            .map_err(|e| Error::internal(e.to_string()))?
            .map_err(|e| Error::internal(e.to_string()))?;
        let mut r = entry.record();
        if !r.state.running {
            // It exited meanwhile (and its exit is recorded): no longer paused or not.
            return Err(Error::conflict(format!("Container {id} is not running")));
        }
        r.state.paused = pause;
        r.state.status = if pause { "paused" } else { "running" }.into();
        if let Err(e) = self.db.save(&r, false) {
            tracing::warn!("saving container state: {e}");
        }
        self.container_event(&r, if pause { "pause" } else { "unpause" }, &[]);
        Ok(())
    }

    /// Pause a running container for a commit: whether it was paused. A container that
    /// is not running, or that exits before or while it is frozen (its cgroup goes with
    /// it, possibly before the daemon recorded the exit), is committed as it is.
    pub(crate) async fn pause_for_commit(&self, id: &str) -> Result<bool> {
        match self.set_paused(id, true).await {
            Ok(()) => Ok(true),
            Err(_) if self.has_exited(id).await => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Thaw a container [`Engine::pause_for_commit`] paused (nothing to do if it exited
    /// meanwhile: recording its exit clears the pause).
    pub(crate) async fn unpause_after_commit(&self, id: &str) {
        if let Err(e) = self.set_paused(id, false).await
            && !self.has_exited(id).await
        {
            tracing::warn!("unpausing {id} after commit: {}", e.message);
        }
    }

    /// Whether the container's process is gone or going: its exit recorded, its init
    /// exiting (a freeze waits for a task in `do_exit`, which a shim has not seen exit
    /// yet), or its shim says so (or is gone itself).
    async fn has_exited(&self, id: &str) -> bool {
        let Ok(entry) = self.lookup(id) else {
            return true;
        };
        let (running, pid) = {
            let r = entry.record();
            (r.state.running, r.state.pid)
        };
        if !running || (pid > 0 && berth_runtime::linux::procs::exiting(pid as i32)) {
            return true;
        }
        let shim = berth_runtime::ShimClient::new(&self.paths(id).bundle);
        match shim.state().await {
            Ok(s) => s.status == "stopped",
            Err(_) => true,
        }
    }

    /// Thaw a paused container before it is signalled, so the signal can act.
    pub(crate) async fn thaw_for_signal(&self, key: &str) {
        let Ok((entry, _, cg)) = self.running_cgroup(key) else {
            return;
        };
        if !entry.record().state.paused {
            return;
        }
        if tokio::task::spawn_blocking(move || cg.freeze(false))
            .await
            .is_ok()
        {
            let mut r = entry.record();
            r.state.paused = false;
            r.state.status = "running".into();
        }
    }

    /// `POST /containers/{id}/update`: change resource limits (and the restart policy),
    /// in the record and, when it runs, in the container's cgroup.
    pub async fn update(
        &self,
        key: &str,
        req: berth_models::ContainerUpdate,
    ) -> Result<berth_models::UpdateResponse> {
        let u = &req.resources;
        // What `docker update` cannot change on a Berth container: refused, not ignored.
        crate::containers::fields::check_update(&req)?;
        let entry = self.lookup(key)?;
        // One update (or start, stop, removal) of the container at a time: the record and
        // the cgroup say the same.
        let _op = entry.op.lock().await;
        let marked = |id: &str| {
            Error::conflict(format!(
                "Cannot update container {id}: container is marked for removal and cannot be \"update\""
            ))
        };
        let (id, mut hc) = {
            let r = entry.record();
            (r.id.clone(), r.host_config.clone())
        };
        if entry.removal_claimed() || entry.progress.borrow().removed {
            return Err(marked(&id));
        }
        let r = &mut hc.resources;
        // Docker's update: a zero (or empty) field leaves the value as it was.
        fn set<T: Default + PartialEq + Clone>(to: &mut T, new: &T) {
            if *new != T::default() {
                *to = new.clone();
            }
        }
        set(&mut r.memory, &u.memory);
        set(&mut r.memory_swap, &u.memory_swap);
        set(&mut r.memory_reservation, &u.memory_reservation);
        set(&mut r.cpu_shares, &u.cpu_shares);
        set(&mut r.cpu_quota, &u.cpu_quota);
        set(&mut r.cpu_period, &u.cpu_period);
        set(&mut r.cpuset_cpus, &u.cpuset_cpus);
        set(&mut r.cpuset_mems, &u.cpuset_mems);
        set(&mut r.blkio_weight, &u.blkio_weight);
        set(&mut r.nano_cpus, &u.nano_cpus);
        set(&mut r.oom_kill_disable, &u.oom_kill_disable);
        match u.pids_limit {
            Some(p) if p > 0 => r.pids_limit = Some(p),
            // As dockerd: 0 or less is no limit, which Berth cannot put back on a
            // running container's cgroup.
            Some(_) if r.pids_limit.is_some_and(|p| p > 0) && entry.record().state.running => {
                return Err(Error::invalid(
                    "Cannot update container: removing the PIDs limit (PidsLimit 0 or less) of a running container is not supported",
                ));
            }
            Some(_) => r.pids_limit = None,
            None => {}
        }
        if u.nano_cpus != 0 {
            r.cpu_quota = 0;
            r.cpu_period = 0;
        }
        if let Some(policy) = req.restart_policy.filter(|p| !p.name.is_empty()) {
            crate::containers::start::validate_restart_policy(&policy)?;
            if hc.auto_remove && !matches!(policy.name.as_str(), "" | "no") {
                return Err(Error::invalid(
                    "Restart policy cannot be updated because AutoRemove is enabled for the container",
                ));
            }
            hc.restart_policy = policy;
        }
        crate::containers::limits::validate_resources(&hc.resources, true)?;
        let opts = crate::containers::spec::runtime_options_for(&hc)?;
        let running = entry.record().state.running;
        if running {
            let (_, _, cg) = self.running_cgroup(key)?;
            let r = &opts.resources;
            let limits = cgroups::Limits {
                memory: hc.resources.memory,
                memory_swap: r.memory_swap,
                memory_reservation: r.memory_reservation,
                oom_kill_disable: r.oom_kill_disable,
                pids: hc.resources.pids_limit.unwrap_or(0),
                cpu_shares: r.cpu_shares,
                cpu_quota: r.cpu_quota,
                cpu_period: r.cpu_period,
                cpus: r.cpuset_cpus.clone(),
                mems: r.cpuset_mems.clone(),
                blkio_weight: r.blkio_weight,
                ..Default::default()
            };
            tokio::task::spawn_blocking(move || cg.apply(&limits))
                .await
                .map_err(|e| Error::internal(e.to_string()))?
                .map_err(|e| Error::invalid(format!("Cannot update container: {e}")))?;
        }
        let mut r = entry.record();
        if r.state.status == "removing" || entry.progress.borrow().removed {
            // Its removal began meanwhile (on exit): its record is not to come back.
            return Err(marked(&id));
        }
        r.host_config = hc;
        self.db.save(&r, true)?;
        self.container_event(&r, "update", &[]);
        Ok(berth_models::UpdateResponse::default())
    }

    /// `GET /containers/{id}/top?ps_args=`: the host's `ps` output, keeping the rows of
    /// the container's processes.
    pub async fn top(&self, key: &str, ps_args: Option<&str>) -> Result<ContainerTopResponse> {
        let (_, _, cg) = self.running_cgroup(key)?;
        let pids = cg.pids();
        let args: Vec<String> = ps_args
            .filter(|a| !a.is_empty())
            .unwrap_or("-ef")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let out = tokio::process::Command::new("ps")
            .args(&args)
            .output()
            .await
            .map_err(|e| Error::internal(format!("running ps: {e}")))?;
        if !out.status.success() {
            // The arguments are the client's (dockerd answers 500; this is their fault).
            let stderr = String::from_utf8_lossy(&out.stderr);
            let why = stderr
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("failed");
            return Err(Error::invalid(format!("ps: {}", why.trim())));
        }
        parse_ps(&String::from_utf8_lossy(&out.stdout), &pids)
    }

    /// One sample of `GET /containers/{id}/stats`, with the previous one (if any) as
    /// `precpu_stats`/`preread`.
    pub async fn stats_sample(
        &self,
        key: &str,
        previous: Option<&ContainerStatsResponse>,
    ) -> Result<ContainerStatsResponse> {
        let (entry, id, cg) = self.running_cgroup(key)?;
        let name = format!("/{}", entry.record().name);
        let st = tokio::task::spawn_blocking(move || cg.stats())
            .await
            .map_err(|e| Error::internal(e.to_string()))?;
        let online = std::thread::available_parallelism().map_or(1, |n| n.get());
        let memory_stat: BTreeMap<String, u64> = st
            .memory_stat
            .lines()
            .filter_map(|l| {
                let (k, v) = l.split_once(' ')?;
                Some((k.to_string(), v.trim().parse::<u64>().ok()?))
            })
            .collect();
        let limit = if st.memory_limit == 0 || st.memory_limit > host_memory() {
            host_memory()
        } else {
            st.memory_limit
        };
        let cpu = CpuStats {
            cpu_usage: CpuUsage {
                total_usage: st.cpu_total_ns,
                percpu_usage: Some(st.cpu_percpu_ns),
                usage_in_kernelmode: st.cpu_system_ns,
                usage_in_usermode: st.cpu_user_ns,
            },
            system_cpu_usage: Some(system_cpu_ns()),
            online_cpus: Some(u32::try_from(online).unwrap_or(u32::MAX)),
            throttling_data: ThrottlingData::default(),
        };
        Ok(ContainerStatsResponse {
            read: time::now_rfc3339(),
            preread: previous.map_or_else(|| berth_models::ZERO_TIME.into(), |p| p.read.clone()),
            id,
            name,
            pids_stats: PidsStats {
                current: Some(st.pids_current),
                limit: (st.pids_limit > 0).then_some(st.pids_limit),
            },
            cpu_stats: cpu,
            precpu_stats: previous.map(|p| p.cpu_stats.clone()).unwrap_or_default(),
            memory_stats: MemoryStats {
                usage: Some(st.memory_usage),
                limit: Some(limit),
                stats: Some(memory_stat),
                ..MemoryStats::default()
            },
            networks: Some(BTreeMap::new()),
            ..ContainerStatsResponse::default()
        })
    }
}

/// Total memory of the host in bytes.
fn host_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// The host's total CPU time in nanoseconds (the `cpu` line of /proc/stat), as Docker
/// reports `system_cpu_usage`.
fn system_cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: u64 = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .take(7)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    ticks * 10_000_000
}

/// `ps` output as Docker's top answer, keeping rows whose PID is in `pids`.
fn parse_ps(output: &str, pids: &[i32]) -> Result<ContainerTopResponse> {
    let mut lines = output.lines();
    let header = lines.next().unwrap_or("");
    let titles: Vec<&str> = header.split_whitespace().collect();
    let pid_col = titles
        .iter()
        .position(|t| *t == "PID")
        .ok_or_else(|| Error::invalid("Couldn't find PID field in ps output"))?;
    let mut processes = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < titles.len() {
            continue;
        }
        let Ok(pid) = fields[pid_col].parse::<i32>() else {
            continue;
        };
        if !pids.contains(&pid) {
            continue;
        }
        // The last column (the command) keeps its spaces.
        let mut row: Vec<String> = fields[..titles.len() - 1]
            .iter()
            .map(|s| s.to_string())
            .collect();
        row.push(fields[titles.len() - 1..].join(" "));
        processes.push(row);
    }
    Ok(ContainerTopResponse {
        titles: Some(titles.iter().map(|t| t.to_string()).collect()),
        processes: Some(processes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_rows_are_filtered_by_pid() {
        let out = "UID PID PPID C STIME TTY TIME CMD\n\
                   root 10 1 0 10:00 ? 00:00:00 sleep 1000\n\
                   root 11 1 0 10:00 ? 00:00:00 other thing\n";
        let v = parse_ps(out, &[10]).unwrap();
        assert_eq!(v.titles.unwrap()[1], "PID");
        let rows = v.processes.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0][7], "sleep 1000");
        assert!(parse_ps("A B\n", &[]).is_err());
    }
}
