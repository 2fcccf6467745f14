//! Remove and rename.

use std::sync::Arc;

use berth_runtime::ShimClient;

use crate::fault;
use crate::reap::Shims;
use crate::{Engine, Entry, Error, Result, lock, names};

impl Engine {
    /// `DELETE /containers/{id}`. One removal at a time: while one is under way, others
    /// get Docker's 409 (and a 404 once it is done), so exactly one caller removed it.
    /// `volumes` (`rm -v`): its anonymous volumes go with it.
    pub async fn remove(self: &Arc<Self>, key: &str, force: bool, volumes: bool) -> Result<()> {
        let entry = self.lookup(key)?;
        if !entry.claim_removal() {
            if entry.progress.borrow().removed {
                return Err(Error::not_found(format!("No such container: {key}")));
            }
            return Err(Error::conflict(format!(
                "removal of container {key} is already in progress"
            )));
        }
        lock(&entry.removal).volumes = volumes;
        let result = self.remove_claimed(&entry, force).await;
        if result.is_err() && entry.release_removal() {
            // It exited to be removed (AutoRemove) while this removal held the claim.
            self.remove_entry(&entry).await;
        }
        result
    }

    /// [`Engine::remove`] once its removal is claimed.
    pub(super) async fn remove_claimed(
        self: &Arc<Self>,
        entry: &Arc<Entry>,
        force: bool,
    ) -> Result<()> {
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
    pub(super) async fn remove_entry(self: &Arc<Self>, entry: &Arc<Entry>) {
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
        // The files go in the background: the container is already gone (no record, its
        // directory renamed), and what a crash cuts short the next start deletes.
        drop(tokio::task::spawn_blocking(move || {
            for d in [&trash, &paths.dir, &paths.bundle] {
                if let Err(e) = std::fs::remove_dir_all(d)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::warn!("removing {}: {e}", d.display());
                }
            }
        }));
        lock(&entry.pending).clear();
        self.container_event(&entry.record().clone(), "destroy", &[]);
        entry.progress.send_modify(|p| {
            p.removed = true;
            p.running = false;
        });
        let (image_id, mounts, auto_remove) = {
            let r = entry.record();
            (
                r.image_id.clone(),
                r.mount_list(),
                r.host_config.auto_remove,
            )
        };
        let anonymous_too = auto_remove || lock(&entry.removal).volumes;
        self.release_volumes(&id, &mounts, anonymous_too);
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
}
