//! Start, the monitor of a running container, its exits and the restart policy.

use std::sync::Arc;
use std::time::Duration;

use berth_models::{ContainerState, ZERO_TIME, list};
use berth_runtime::{BindMount, ContainerSpec, ExitStatus, NetworkMode, ShimClient};

use super::mounts::tmpfs_mounts;
use super::spec::{console_size, namespace_mode, network_mode, runtime_options, security_opts};
use super::{SHIM_LOST, parse_signal};
use crate::containers::record::Container;
use crate::fault;
use crate::reap::Shims;
use crate::{Engine, Entry, Error, ErrorKind, PendingAttach, Result, lock, time};

/// Wait through `shim` for the container to exit. A lost connection is not a lost shim: it
/// is asked again while it answers. `Err(why)` once it is gone without an exit record, or
/// keeps failing.
pub(super) async fn wait_for_exit(shim: &ShimClient) -> std::result::Result<ExitStatus, String> {
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
pub(super) fn should_restart(r: &Container) -> bool {
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

impl Engine {
    /// `POST /containers/{id}/start`.
    pub async fn start(self: &Arc<Self>, key: &str) -> Result<()> {
        let entry = self.lookup(key)?;
        self.start_entry(&entry, false).await
    }

    /// Start a container: for a user (which also cancels a pending restart and forgets an
    /// earlier manual stop), or for its restart policy (`by_policy`: only if that restart is
    /// still due, i.e. nobody stopped, started or removed it meanwhile).
    pub(super) async fn start_entry(
        self: &Arc<Self>,
        entry: &Arc<Entry>,
        by_policy: bool,
    ) -> Result<()> {
        crate::warm_cgroups(self, &entry.record().host_config.runtime);
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
        // `--network container:NAME`: its namespace, hostname and network files.
        // A start that cannot begin is recorded like one that failed (and an `--rm`
        // container goes), as dockerd does.
        let joined = match self.joined_network(&c.host_config.network_mode) {
            Ok(j) => j,
            Err(e) => return Err(self.start_failed(entry, e).await),
        };
        let files = joined.as_ref().map_or(&paths, |j| &j.paths);
        let binds = vec![
            BindMount {
                source: files.hostname(),
                destination: "/etc/hostname".into(),
                readonly: false,
                propagation: String::new(),
                non_recursive: false,
            },
            BindMount {
                source: files.hosts(),
                destination: "/etc/hosts".into(),
                readonly: false,
                propagation: String::new(),
                non_recursive: false,
            },
            BindMount {
                source: files.resolv_conf(),
                destination: "/etc/resolv.conf".into(),
                readonly: false,
                propagation: String::new(),
                non_recursive: false,
            },
        ];
        let (tmpfs, _) = tmpfs_mounts(&c.host_config)?;
        let hostname = joined
            .as_ref()
            .map_or(c.config.hostname.clone(), |j| j.hostname.clone());
        let mut env = c.config.env.clone();
        if !env.iter().any(|e| e.starts_with("HOSTNAME=")) {
            env.push(format!("HOSTNAME={hostname}"));
        }
        // Legacy links' variables, under the container's own (which win).
        let links = match self.links(&c) {
            Ok(l) => l,
            Err(e) => return Err(self.start_failed(entry, e).await),
        };
        for var in links.legacy.iter().flat_map(|l| &l.env) {
            let key = var.split('=').next().unwrap_or(var);
            if !env.iter().any(|e| e.split('=').next() == Some(key)) {
                env.push(var.clone());
            }
        }
        let stop_signal = match &c.config.stop_signal {
            Some(s) => parse_signal(s)?,
            None => libc::SIGTERM,
        };
        let sec = security_opts(list(&c.host_config.security_opt))?;
        let (_, runtime) = self.runtime_for(&c.host_config.runtime)?;
        let opts = runtime_options(&c.host_config)?;
        let hc = &c.host_config;
        let namespaces = (|| {
            Ok::<_, Error>((
                namespace_mode(self, &hc.pid_mode, "PidMode", "pid")?,
                namespace_mode(self, &hc.ipc_mode, "IpcMode", "ipc")?,
                namespace_mode(self, &hc.uts_mode, "UTSMode", "uts")?,
            ))
        })();
        let (pid_ns, ipc_ns, uts_ns) = match namespaces {
            Ok(n) => n,
            Err(e) => return Err(self.start_failed(entry, e).await),
        };
        // `--init` as dockerd: only in a pid namespace of its own, and without an init
        // binary the start fails with dockerd's message.
        let init = match &self.cfg.init.path {
            _ if hc.init != Some(true) || !pid_ns.is_empty() => None,
            Ok(path) => Some(path.clone()),
            Err(e) => return Err(self.start_failed(entry, Error::internal(e.clone())).await),
        };
        let mut spec = ContainerSpec {
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
            hostname,
            tty: c.config.tty,
            open_stdin: c.config.open_stdin,
            stdin_once: c.config.stdin_once,
            layers,
            upper_dir: paths.upper(),
            work_dir: paths.work(),
            binds,
            tmpfs,
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
            net_ns: joined.as_ref().map(|j| j.netns.clone()).unwrap_or_default(),
            devices: opts.devices,
            masked_paths: hc.masked_paths.clone(),
            readonly_paths: hc.readonly_paths.clone(),
            log: crate::containers::logs::log_spec(&hc.log_config, &c)?,
            // Compiled by write_bundle.
            seccomp_bpf: None,
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
        // Its volumes, last before the bundle: from here every failure unmounts them.
        match self.mount_volumes(&c, &spec.layers).await {
            Ok(b) => spec.binds.extend(b),
            Err(e) => return Err(self.start_failed(entry, e).await),
        }
        if let Err(e) = berth_runtime::write_bundle(&paths.bundle, &spec) {
            self.unmount_volumes(entry);
            return Err(e.into());
        }
        fault::point("start.bundle");

        let shim = match berth_runtime::spawn_shim(&self.cfg.shim_binary, &paths.bundle).await {
            Ok(s) => s,
            Err(e) => return Err(self.start_failed(entry, e.into()).await),
        };
        fault::point("start.created");
        // Its networks, while the process waits in its namespaces: it sees them from its
        // first instruction.
        if !c.networks.is_empty() {
            let attached = match shim.state().await {
                Ok(st) => self.attach_networks(entry, st.pid, &links).await,
                Err(e) => Err(e.into()),
            };
            if let Err(e) = attached {
                if let Err(e) = self.end_processes(&c.id, Shims::Busy).await {
                    tracing::warn!("ending a failed start: {}", e.message);
                }
                return Err(self.start_failed(entry, e).await);
            }
        }
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
    pub(super) async fn start_failed(self: &Arc<Self>, entry: &Arc<Entry>, err: Error) -> Error {
        self.detach_networks(entry).await;
        self.unmount_volumes(entry);
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
    pub(super) fn monitor(self: Arc<Self>, entry: Arc<Entry>, shim: ShimClient) {
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
    pub(super) async fn shim_lost(&self, entry: &Arc<Entry>, why: &str) -> ExitStatus {
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

    pub(super) async fn exited(self: &Arc<Self>, entry: &Arc<Entry>, status: ExitStatus) {
        self.detach_networks(entry).await;
        self.unmount_volumes(entry);
        let (auto_remove, restart, unsaved) = {
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
            let unsaved = match self.db.save(&r, durable) {
                Ok(()) => false,
                Err(e) => {
                    tracing::warn!("saving container state: {e}");
                    true
                }
            };
            if r.state.oom_killed {
                self.container_event(&r, "oom", &[]);
            }
            self.container_event(&r, "die", &[("exitCode", r.state.exit_code.to_string())]);
            (r.host_config.auto_remove, restart.then_some(ran), unsaved)
        };
        entry.progress.send_modify(|p| {
            p.running = false;
            p.exits += 1;
            p.exit_unsaved = unsaved;
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
    pub(super) fn schedule_restart(self: &Arc<Self>, entry: &Arc<Entry>, ran: Duration) {
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
}
