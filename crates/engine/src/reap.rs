//! Ending what a container left running: its shim processes, every process in its cgroup,
//! the cgroup itself, and another OCI runtime's record of it.
//!
//! A shim is the only thing that watches, stops and reaps a container. When it is gone
//! (killed, crashed) or nobody will ever talk to it again (a start the daemon did not live
//! to finish, a container removed or never recorded), what it ran must not run on: the
//! daemon kills it, as containerd kills the task of a shim that died. The engine calls
//! [`Engine::end_processes`] when it loses a shim, before every start (so a start never
//! runs a second copy beside a live one), in every removal, and in recovery for every shim
//! of its exec root it does not adopt.

use std::time::Duration;

use berth_runtime::ShimClient;
use berth_runtime::client::{ShimProcess, shim_processes};
use berth_runtime::linux::cgroups::{self, Cgroup, Layout};
use berth_runtime::shim::oci_runtime::OciRuntime;

use crate::{Engine, Error, Result};

/// The host's cgroup layout, read once.
fn layout() -> Result<&'static Layout> {
    static LAYOUT: std::sync::OnceLock<Layout> = std::sync::OnceLock::new();
    if let Some(l) = LAYOUT.get() {
        return Ok(l);
    }
    let l = cgroups::detect().map_err(|e| Error::internal(e.to_string()))?;
    Ok(LAYOUT.get_or_init(|| l))
}

/// How long the processes of a cgroup may take to die after SIGKILL (only a process stuck
/// in the kernel takes more than a few milliseconds).
const KILL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a shim killed with SIGKILL may take to be gone.
const SHIM_EXIT_TIMEOUT: Duration = Duration::from_secs(5);

/// Which of a container's shim processes [`Engine::end_processes`] kills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shims {
    /// Those that still watch a process (an init, an exec); a shim that has recorded the
    /// exit and only hands the rest of the output to slow clients finishes by itself.
    Busy,
    /// All, also one in the middle of creating the container and one finishing: after a
    /// daemon restart nobody is connected to them any more.
    All,
}

impl Engine {
    /// End container `id`'s processes: SIGKILL its shim processes (`which`; the
    /// container's init dies with its shim), then every process in its cgroup, wait until
    /// they are gone, delete the cgroup and an OCI runtime's record of it. Returns how
    /// many processes it killed (shims and cgroup members).
    pub(crate) async fn end_processes(&self, id: &str, which: Shims) -> Result<usize> {
        let exec_root = self.cfg.exec_root.clone();
        let shim_name = self.shim_name();
        let cgroup_path = format!("/{}/{id}", self.cfg.cgroup_parent);
        let runtimes: Vec<OciRuntime> = self
            .cfg
            .runtimes
            .values()
            .map(|bin| OciRuntime::new(bin, &exec_root.join(id), id))
            .collect();
        let id = id.to_string();
        tokio::task::spawn_blocking(move || {
            let began = std::time::Instant::now();
            let shims: Vec<ShimProcess> = shim_processes(&exec_root, &shim_name)
                .into_iter()
                .filter(|s| s.id == id && (which == Shims::All || s.has_children()))
                .collect();
            for s in &shims {
                tracing::info!(
                    id,
                    pid = s.process.pid(),
                    "killing a shim process nobody watches"
                );
                if let Err(e) = s.process.kill(libc::SIGKILL) {
                    tracing::warn!(id, "killing shim process {}: {e}", s.process.pid());
                }
            }
            let cg = Cgroup::open(layout()?, &cgroup_path);
            let members = cg.all_pids().len();
            if members > 0 {
                tracing::info!(
                    id,
                    "killing {members} processes left in the container's cgroup"
                );
            }
            let killed = cg.kill_all(KILL_TIMEOUT);
            for s in &shims {
                if !s.process.wait_exit(SHIM_EXIT_TIMEOUT) {
                    tracing::warn!(id, "shim process {} did not exit", s.process.pid());
                }
            }
            killed.map_err(|e| Error::internal(format!("ending container {id}: {e}")))?;
            cg.remove();
            for rt in runtimes.iter().filter(|rt| rt.has_state()) {
                if let Err(e) = rt.force_delete() {
                    tracing::warn!(id, "{e}");
                }
            }
            tracing::debug!(id, "ending leftovers took {:?}", began.elapsed());
            Ok(shims.len() + members)
        })
        .await
        .map_err(|e| Error::internal(e.to_string()))?
    }

    /// Whether container `id`, which the daemon knows is not running, may have something
    /// to end: a shim that answers as created or running (or does not answer), or a
    /// cgroup. Cheap (no scan of /proc) for the start and removal of containers: in a
    /// running daemon every shim it spawned answers on its bundle's socket until it has
    /// recorded the exit (recovery, at start, ended every other one).
    pub(crate) async fn has_leftovers(&self, id: &str) -> bool {
        let bundle = self.paths(id).bundle;
        if bundle.join(berth_runtime::client::SOCKET_FILE).exists() {
            let shim = ShimClient::new(&bundle);
            match tokio::time::timeout(Duration::from_secs(5), shim.state()).await {
                Ok(Ok(s)) if s.status == "stopped" => {}
                // A stale socket: its shim is gone (what it left is in the cgroup).
                Ok(Err(berth_runtime::Error::ShimGone(_))) => {}
                _ => return true,
            }
        }
        self.has_cgroup(id)
    }

    /// Whether container `id` has a cgroup directory in some hierarchy.
    pub(crate) fn has_cgroup(&self, id: &str) -> bool {
        let path = format!("/{}/{id}", self.cfg.cgroup_parent);
        layout().is_ok_and(|l| Cgroup::open(l, &path).exists())
    }

    /// The file name shim processes run under (what the /proc scan looks for).
    fn shim_name(&self) -> std::ffi::OsString {
        self.cfg
            .shim_binary
            .file_name()
            .unwrap_or_default()
            .to_os_string()
    }

    /// Ids of every container some shim process of the exec root is for.
    pub(crate) async fn shim_ids(&self) -> Vec<String> {
        let exec_root = self.cfg.exec_root.clone();
        let shim_name = self.shim_name();
        tokio::task::spawn_blocking(move || {
            let mut ids: Vec<String> = shim_processes(&exec_root, &shim_name)
                .into_iter()
                .map(|s| s.id)
                .collect();
            ids.sort();
            ids.dedup();
            ids
        })
        .await
        .unwrap_or_default()
    }
}
