//! Finding containers and shims again after a daemon restart: adopt, end or record.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use berth_models::{ContainerState, ZERO_TIME};
use berth_runtime::linux::cgroups::Cgroup;
use berth_runtime::{ExitStatus, ShimClient};

use super::{SHIM_LOST, START_CUT, is_container_id};
use crate::reap::Shims;
use crate::{Engine, Entry, lock, time};

impl Engine {
    /// Delete what removals left behind: renamed container directories, and directories
    /// and bundles of containers with no record (a create or remove cut short), after
    /// ending whatever runs for those (a shim that outlived its record, a start cut
    /// short); and end the shims of the exec root whose container has no record at all.
    pub(super) async fn sweep_unrecorded(&self, shim_ids: &HashSet<String>) {
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
                    let orphan = match name.strip_suffix(crate::containers::record::TRASH_SUFFIX) {
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
                    let pid = s.pid;
                    self.adopt(&entry, s).await;
                    self.adopt_networks(&entry, pid).await;
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
    pub(super) async fn lost_at_recovery(self: &Arc<Self>, entry: &Arc<Entry>, error: &str) {
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
    pub(super) async fn adopt(&self, entry: &Arc<Entry>, s: berth_runtime::ShimState) {
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
