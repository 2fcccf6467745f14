//! What containers do with volumes: at create, [`Engine::resolve_mounts`] finds or makes
//! each volume a container names and references it; at start, [`Engine::mount_volumes`]
//! mounts them and fills a new, empty one with the image's content at its destination
//! (copy-up); every exit unmounts them; removal releases them (and with `rm -v`/`--rm`
//! removes the anonymous ones). The parsing of `-v`/`--mount` is in `mounts.rs`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_models::{ContainerConfig, HostConfig, MountPoint, list};
use berth_runtime::BindMount;

use super::mounts::{
    ContainerMount, Wanted, clean_target, not_absolute, tmpfs_mounts, volumes_from_spec,
    wanted_mounts,
};
use crate::containers::record::Container;
use crate::{Engine, Entry, Error, ErrorKind, Result, lock};

/// Whether some layer (or the writable one) may hold `dir`: it has the path, or a symlink
/// on the way to it. Sound for overlay: a directory the union shows at a path is in a
/// layer at that literal path unless a symlink leads there, and that symlink is in a
/// layer. A copy-up is tried only then, which spares the overlay mount of every start
/// with an empty volume where the image has nothing.
fn layers_may_hold(layers: &[PathBuf], dir: &str) -> bool {
    let parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    layers.iter().any(|layer| {
        let mut p = layer.clone();
        for part in &parts {
            p.push(part);
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.file_type().is_symlink() => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        true
    })
}

/// Whether the directory `path` has no entries (a missing one counts as empty).
fn is_empty_dir(path: &Path) -> bool {
    std::fs::read_dir(path).map_or(true, |mut d| d.next().is_none())
}

/// Where copy-ups mount a container's overlay (in a mount namespace of their own).
pub(crate) fn copy_up_scratch(exec_root: &Path) -> PathBuf {
    exec_root.join("copy-up")
}

/// Copy-up of `dirs` (`(image directory, volume path)`) from the container's root made of
/// `layers` (bottom first), `upper` and `work`: on a thread of its own that unshares its
/// mount namespace, mounts the overlay there, copies and unmounts, so nothing is ever
/// mounted in the daemon's namespace (and a crash leaves no mount behind).
async fn copy_up(
    layers: Vec<PathBuf>,
    upper: PathBuf,
    work: PathBuf,
    scratch: PathBuf,
    dirs: Vec<(String, PathBuf)>,
) -> Result<()> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("copy-up".into())
        .spawn(move || {
            let run = || -> Result<()> {
                std::fs::create_dir_all(&scratch)
                    .map_err(|e| Error::io(&format!("creating {}", scratch.display()), e))?;
                let root =
                    berth_runtime::linux::mount::private_overlay(&layers, &upper, &work, &scratch)?;
                let mut result = Ok(());
                for (dir, data) in &dirs {
                    if let Err(e) = berth_volumes::copy::copy_up(&root, Path::new(dir), data) {
                        result = Err(volume_error(e));
                        break;
                    }
                }
                // Unmounted here rather than with the namespace, so that the container's
                // own overlay of the same upper directory never meets this one.
                if let Err(e) = nix::mount::umount2(&root, nix::mount::MntFlags::MNT_DETACH) {
                    tracing::warn!("unmounting the copy-up overlay: {e}");
                }
                let _ = std::fs::remove_dir_all(&scratch);
                result
            };
            let _ = tx.send(run());
        })
        .map_err(|e| Error::io("starting the copy-up thread", e))?;
    rx.await
        .map_err(|_| Error::internal("the copy-up thread ended without an answer"))?
}

/// An error of the volumes library as the engine's.
pub(crate) fn volume_error(e: berth_volumes::Error) -> Error {
    let kind = match e.kind() {
        berth_volumes::ErrorKind::NotFound => ErrorKind::NotFound,
        berth_volumes::ErrorKind::Conflict => ErrorKind::Conflict,
        berth_volumes::ErrorKind::InvalidParameter => ErrorKind::InvalidArgument,
        berth_volumes::ErrorKind::System => ErrorKind::Internal,
    };
    Error::new(kind, e.to_string())
}

impl Engine {
    /// At create: the container's binds and volumes. Named volumes are found or created
    /// (with `VolumeDriver` or the mount's driver), anonymous ones created for `-v /path`,
    /// `--mount type=volume` without a source and each path of `Config.Volumes` (the
    /// image's `VOLUME`s merged in) that nothing else covers; `--volumes-from` copies
    /// another container's, under the request's own. Every volume is then referenced by
    /// `id`. On an error nothing is left: references dropped, anonymous volumes removed.
    pub(super) fn resolve_mounts(
        &self,
        id: &str,
        config: &ContainerConfig,
        hc: &HostConfig,
    ) -> Result<Vec<ContainerMount>> {
        let wanted = wanted_mounts(hc, true)?;
        let mut taken: HashSet<String> = wanted.iter().map(|w| clean_target(w.target())).collect();
        let (tmpfs, _) = tmpfs_mounts(hc)?;
        taken.extend(tmpfs.into_iter().map(|t| t.destination));
        let mut copied = Vec::new();
        for spec in list(&hc.volumes_from) {
            let (name, readonly) = volumes_from_spec(spec)?;
            // dockerd answers an unknown one with a 400 (a 404 would make the docker CLI
            // pull the image).
            let other = self.lookup(name).map_err(|e| Error::invalid(e.message))?;
            let mounts = other.record().mount_list();
            for mut m in mounts {
                if !taken.insert(clean_target(&m.point.destination)) {
                    continue;
                }
                // dockerd lists them without a mode, the access as asked.
                if let Some(ro) = readonly {
                    m.point.rw = !ro;
                }
                m.point.mode = String::new();
                m.anonymous = false;
                m.copy = false;
                copied.push(m);
            }
        }
        let mut wanted = wanted;
        for path in config.volumes.iter().flatten().map(|(p, _)| p) {
            if !path.starts_with('/') {
                return Err(not_absolute("volume", path));
            }
            if taken.insert(clean_target(path)) {
                wanted.push(Wanted::Volume {
                    name: String::new(),
                    target: path.clone(),
                    readonly: false,
                    mode: String::new(),
                    nocopy: false,
                    driver: String::new(),
                    options: BTreeMap::new(),
                    labels: BTreeMap::new(),
                });
            }
        }
        let mut out: Vec<ContainerMount> = Vec::new();
        let result = (|| -> Result<()> {
            for w in wanted {
                let m = match w {
                    Wanted::Bind(b) => b.into_mount(),
                    Wanted::Volume {
                        name,
                        target,
                        readonly,
                        mode,
                        nocopy,
                        driver,
                        options,
                        labels,
                    } => {
                        let driver = if driver.is_empty() {
                            hc.volume_driver.clone()
                        } else {
                            driver
                        };
                        let anonymous = name.is_empty();
                        let volume =
                            self.volume_for_container(&name, &driver, &options, &labels)?;
                        let m = ContainerMount {
                            point: MountPoint {
                                r#type: "volume".into(),
                                name: volume.name.clone(),
                                source: volume.mountpoint.to_string_lossy().into_owned(),
                                destination: target,
                                driver: volume.driver.clone(),
                                mode: if mode.is_empty() && !anonymous {
                                    "z".into()
                                } else {
                                    mode
                                },
                                rw: !readonly,
                                propagation: String::new(),
                            },
                            copy: !nocopy,
                            anonymous,
                            create_source: false,
                            non_recursive: false,
                        };
                        // Pushed before the reference, so a failure removes a new
                        // anonymous volume all the same.
                        out.push(m.clone());
                        self.volumes
                            .reference(&volume.name, id)
                            .map_err(volume_error)?;
                        continue;
                    }
                };
                out.push(m);
            }
            for m in &copied {
                if m.is_volume() {
                    self.volumes
                        .reference(&m.point.name, id)
                        .map_err(volume_error)?;
                }
                out.push(m.clone());
            }
            Ok(())
        })();
        if let Err(e) = result {
            self.release_volumes(id, &out, true);
            return Err(e);
        }
        Ok(out)
    }

    /// The volume `name` (created when missing, as dockerd creates a volume on first use),
    /// or a new anonymous one when `name` is empty; a `create` event either way, as
    /// dockerd sends one at each container create that names a volume.
    fn volume_for_container(
        &self,
        name: &str,
        driver: &str,
        options: &BTreeMap<String, String>,
        labels: &BTreeMap<String, String>,
    ) -> Result<berth_volumes::Volume> {
        if !name.is_empty() {
            match self.volumes.get(name) {
                Ok(v) => {
                    self.volume_event("create", &v.name, &v.driver, &[]);
                    return Ok(v);
                }
                Err(berth_volumes::Error::NotFound { .. }) => {}
                Err(e) => return Err(volume_error(e)),
            }
        }
        let v = self
            .volumes
            .create(name, driver, options, labels)
            .map_err(volume_error)?;
        self.volume_event("create", &v.name, &v.driver, &[]);
        Ok(v)
    }

    /// Drop container `id`'s references to its volumes; with `remove_anonymous`, remove
    /// its anonymous ones that nothing else uses (a `--volumes-from` container keeps
    /// them, as with dockerd).
    pub(crate) fn release_volumes(
        &self,
        id: &str,
        mounts: &[ContainerMount],
        remove_anonymous: bool,
    ) {
        for m in mounts.iter().filter(|m| m.is_volume()) {
            self.volumes.release(&m.point.name, id);
        }
        if !remove_anonymous {
            return;
        }
        for m in mounts.iter().filter(|m| m.is_volume() && m.anonymous) {
            match self.volumes.remove(&m.point.name, false) {
                Ok(()) => self.volume_event("destroy", &m.point.name, &m.point.driver, &[]),
                Err(berth_volumes::Error::InUse { .. } | berth_volumes::Error::NotFound { .. }) => {
                }
                Err(e) => {
                    tracing::warn!(volume = %m.point.name, "removing an anonymous volume: {e}")
                }
            }
        }
    }

    /// At start: the binds of the container's mounts (its volumes mounted for it, each
    /// new, empty one filled first with what the image has there; missing `-v` sources
    /// made). On an error, what was mounted is unmounted again.
    pub(crate) async fn mount_volumes(
        &self,
        c: &Container,
        layers: &[PathBuf],
    ) -> Result<Vec<BindMount>> {
        let mounts = c.mount_list();
        let mut binds = Vec::with_capacity(mounts.len());
        let mut copies = Vec::new();
        let mut mounted = Vec::new();
        let result = (|| -> Result<()> {
            for m in &mounts {
                let p = &m.point;
                let source = if m.is_volume() {
                    let path = self.volumes.mount(&p.name, &c.id).map_err(volume_error)?;
                    mounted.push(m.clone());
                    if m.copy && is_empty_dir(&path) && {
                        let mut all = layers.to_vec();
                        all.push(self.paths(&c.id).upper());
                        layers_may_hold(&all, &p.destination)
                    } {
                        copies.push((p.destination.clone(), path.clone()));
                    }
                    path
                } else {
                    let source = PathBuf::from(&p.source);
                    if m.create_source && !source.exists() {
                        std::fs::create_dir_all(&source).map_err(|e| {
                            Error::io(&format!("creating bind source {}", source.display()), e)
                        })?;
                    }
                    crate::containers::mounts::check_propagation_source(&source, &p.propagation)?;
                    source
                };
                binds.push(BindMount {
                    source,
                    destination: clean_target(&p.destination),
                    readonly: !p.rw,
                    propagation: p.propagation.clone(),
                    non_recursive: m.non_recursive,
                });
            }
            Ok(())
        })();
        if let Err(e) = result {
            self.unmount_list(&c.id, &mounted, false);
            return Err(e);
        }
        if !copies.is_empty() {
            // One copy-up at a time: two containers starting on one new volume must not
            // both fill it.
            let _guard = self.copy_up_lock.lock().await;
            // Filled meanwhile by another container's start: leave it as it is.
            copies.retain(|(_, path)| is_empty_dir(path));
            let paths = self.paths(&c.id);
            let scratch = copy_up_scratch(&self.cfg.exec_root).join(&c.id);
            if let Err(e) = copy_up(
                layers.to_vec(),
                paths.upper(),
                paths.work(),
                scratch,
                copies,
            )
            .await
            {
                self.unmount_list(&c.id, &mounted, false);
                return Err(e);
            }
        }
        for m in &mounted {
            let p = &m.point;
            self.volume_event(
                "mount",
                &p.name,
                &p.driver,
                &[
                    ("container", c.id.clone()),
                    ("destination", p.destination.clone()),
                    ("propagation", p.propagation.clone()),
                    ("read/write", p.rw.to_string()),
                ],
            );
        }
        Ok(binds)
    }

    fn unmount_list(&self, id: &str, mounts: &[ContainerMount], events: bool) {
        for m in mounts.iter().filter(|m| m.is_volume()) {
            let p = &m.point;
            if !self
                .volumes
                .users(&p.name)
                .is_ok_and(|u| u.iter().any(|x| x == id))
            {
                continue;
            }
            if let Err(e) = self.volumes.unmount(&p.name, id) {
                tracing::warn!(volume = %p.name, "unmounting: {}", e);
            }
            if events {
                self.volume_event(
                    "unmount",
                    &p.name,
                    &p.driver,
                    &[("container", id.to_string())],
                );
            }
        }
    }

    /// At every exit (and a failed start): the container's volumes are no longer its.
    pub(super) fn unmount_volumes(&self, entry: &Arc<Entry>) {
        let c = entry.record().clone();
        self.unmount_container_volumes(&c);
    }

    /// Container `c`'s volumes unmounted, with events (also after a `docker cp` of a
    /// stopped container, which mounts them).
    pub(crate) fn unmount_container_volumes(&self, c: &Container) {
        self.unmount_list(&c.id, &c.mount_list(), true);
    }

    /// At daemon start: the references of every container on record, and the mounts of
    /// each running one, which live in memory only.
    pub(crate) fn restore_volume_users(&self) {
        let entries: Vec<Arc<Entry>> = lock(&self.containers).values().cloned().collect();
        for entry in entries {
            let c = entry.record().clone();
            for m in c.mount_list().iter().filter(|m| m.is_volume()) {
                let name = &m.point.name;
                if let Err(e) = self.volumes.reference(name, &c.id) {
                    tracing::warn!(volume = %name, container = %c.id, "volume of a container: {e}");
                    continue;
                }
                if c.state.running
                    && let Err(e) = self.volumes.mount(name, &c.id)
                {
                    tracing::warn!(volume = %name, container = %c.id, "mounting again: {e}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_may_hold_follows_literal_paths_and_symlinks() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::create_dir_all(a.join("opt/keep")).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::os::unix::fs::symlink("/opt", b.join("link")).unwrap();
        let layers = [a, b];
        assert!(layers_may_hold(&layers, "/opt/keep"));
        assert!(layers_may_hold(&layers, "/opt/"));
        assert!(layers_may_hold(&layers, "/link/keep"));
        assert!(!layers_may_hold(&layers, "/data"));
        assert!(!layers_may_hold(&layers, "/opt/none"));
    }
}
