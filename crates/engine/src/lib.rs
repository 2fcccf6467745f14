//! Berth's engine: containers and images, their state and lifecycle.
//!
//! [`Engine`] owns the image [`Store`](berth_store::Store), the container records (in an
//! embedded transactional database, see `db`), and one shim per running container (through
//! [`berth_runtime::ShimClient`]). It never forks container processes itself: `start` writes
//! an OCI bundle and runs `berth-shim`, which creates and watches the container and outlives
//! the daemon. On start-up the engine finds the shims of running containers again.
//!
//! One module per domain, each holding its part of the engine's methods and, where it has
//! one, the service struct that owns its state: `containers`, `images`, `exec`, `health`,
//! `events`, `networks`, `volumes`, `archive` (`docker cp`). The API layer (`berth-api`)
//! reaches the methods through the small backend trait each of its route groups declares,
//! and maps [`Error`] kinds to HTTP status codes.

pub mod archive;
mod containers;
mod db;
mod error;
pub mod events;
pub mod exec;
pub mod fault;
pub mod filters;
pub mod health;
pub mod images;
pub mod names;
pub mod networks;
mod reap;
pub mod runtimes;
pub mod time;
pub mod volumes;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use berth_store::Store;
use tokio::net::UnixStream;
use tokio::sync::{oneshot, watch};

pub use berth_models::ExecConfig;
pub use containers::WaitCondition;
pub use containers::logs;
pub use containers::logs::LogOptions;
pub use containers::record::{Container, Paths};
pub use error::{Error, ErrorKind, Result};
pub use images::commit::CommitOptions;

/// Where the engine keeps things and which helper binaries it runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Persistent state: images, container layers and logs, metadata.
    pub data_root: PathBuf,
    /// Runtime state: bundles and shim sockets.
    pub exec_root: PathBuf,
    /// The `berth-shim` executable.
    pub shim_binary: PathBuf,
    /// cgroup parent below each hierarchy's root (e.g. `berth`).
    pub cgroup_parent: String,
    /// Other OCI runtimes by name (`--add-runtime NAME=PATH`), for `--runtime NAME`.
    pub runtimes: std::collections::BTreeMap<String, PathBuf>,
    /// The runtime of containers that ask for none (`--default-runtime`): `berth` (the
    /// shim's own) or one of `runtimes`.
    pub default_runtime: String,
    /// The log driver and options of containers that name no driver (`--log-driver`,
    /// `--log-opt`).
    pub default_log: berth_models::LogConfig,
    /// `--init`'s binary (`berthd --init-path`).
    pub init: runtimes::InitBinary,
    /// The default bridge and the firewall table (`--bridge`, `--bip`, `--firewall-table`).
    pub network: networks::NetConfig,
}

/// What waiters watch on a container.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// How many times it has exited (or failed to start) since the daemon knows it.
    pub exits: u64,
    pub running: bool,
    pub removed: bool,
    /// The last exit's record could not be written (a full disk): a stop or kill by hand
    /// writes it again before it is answered.
    pub exit_unsaved: bool,
}

/// An attach that waits for the container to start.
struct PendingAttach {
    stdin: bool,
    stdout: bool,
    stderr: bool,
    tx: oneshot::Sender<Result<UnixStream>>,
}

/// One container as the running daemon holds it.
pub(crate) struct Entry {
    record: Mutex<Container>,
    progress: watch::Sender<Progress>,
    pending: Mutex<Vec<PendingAttach>>,
    /// Serializes start, stop and remove of this container (and `docker cp` of a stopped
    /// one, which mounts its filesystem).
    op: Arc<tokio::sync::Mutex<()>>,
    /// The restart policy's current back-off (zero before the first restart).
    restart_delay: Mutex<std::time::Duration>,
    /// Who removes it: see [`Removal`].
    removal: Mutex<Removal>,
}

/// A container's removal is claimed once: by a `DELETE` (others meanwhile get Docker's
/// 409, "removal of container ... is already in progress") or by its removal on exit
/// (`AutoRemove`). A `DELETE` that then refuses (running, not forced) gives its claim up.
#[derive(Debug, Default)]
struct Removal {
    /// A removal is under way (or done).
    claimed: bool,
    /// An `AutoRemove` exit came while a claim that may be given up was held: whoever
    /// gives it up removes the container.
    on_release: bool,
    /// The removal takes the container's anonymous volumes with it (`rm -v`).
    volumes: bool,
}

impl Entry {
    fn new(c: Container) -> Arc<Entry> {
        let running = c.state.running;
        Arc::new(Entry {
            record: Mutex::new(c),
            progress: watch::Sender::new(Progress {
                running,
                ..Default::default()
            }),
            pending: Mutex::new(Vec::new()),
            op: Arc::new(tokio::sync::Mutex::new(())),
            restart_delay: Mutex::new(std::time::Duration::ZERO),
            removal: Mutex::new(Removal::default()),
        })
    }

    /// Claim the removal: false if it is someone else's.
    fn claim_removal(&self) -> bool {
        !std::mem::replace(&mut lock(&self.removal).claimed, true)
    }

    /// For a removal on exit: claim it, or leave it to the claim's holder (see
    /// [`Entry::release_removal`]).
    fn claim_removal_on_exit(&self) -> bool {
        let mut r = lock(&self.removal);
        if r.claimed {
            r.on_release = true;
            return false;
        }
        r.claimed = true;
        true
    }

    /// Give a claim up (a removal refused): true if the container is to be removed all
    /// the same (it exited meanwhile to be removed); the claim is then kept for that.
    fn release_removal(&self) -> bool {
        let mut r = lock(&self.removal);
        if std::mem::take(&mut r.on_release) {
            return true;
        }
        r.claimed = false;
        false
    }

    /// Whether its removal is claimed (under way, or done).
    fn removal_claimed(&self) -> bool {
        lock(&self.removal).claimed
    }

    fn record(&self) -> MutexGuard<'_, Container> {
        lock(&self.record)
    }
}

/// Pay the kernel's wait for the cgroup migration lock in the background when a container
/// process of `runtime` will soon be moved into its cgroup (create, start, exec) and that
/// move takes the lock: see [`berth_runtime::linux::cgroups::warm_migration_lock`]. At
/// most one at a time; nothing at all where the move does not take it (Berth's own
/// runtime on v1).
fn warm_cgroups(engine: &Engine, runtime: &str) {
    use berth_runtime::linux::cgroups;
    use std::sync::atomic::{AtomicBool, Ordering};
    static BUSY: AtomicBool = AtomicBool::new(false);
    let external = engine
        .runtime_for(runtime)
        .is_ok_and(|(_, path)| path.is_some());
    if !cgroups::moves_take_migration_lock(external) || BUSY.swap(true, Ordering::AcqRel) {
        return;
    }
    tokio::task::spawn_blocking(|| {
        if let Err(e) = cgroups::warm_migration_lock() {
            tracing::debug!("warming the cgroup migration lock: {e}");
        }
        BUSY.store(false, Ordering::Release);
    });
}

/// Lock a std mutex, going on with the data if a panicking thread poisoned it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The engine. Share it in an `Arc`.
pub struct Engine {
    cfg: Config,
    store: Arc<Store>,
    db: db::Db,
    containers: Mutex<BTreeMap<String, Arc<Entry>>>,
    /// The exec instances.
    execs: exec::ExecTable,
    /// Held shared by container create (image lookup to record), exclusively by image
    /// removal and prune, so an image is not removed between the two.
    image_gate: tokio::sync::RwLock<()>,
    /// What happened, for `GET /events`.
    events: events::Events,
    /// Networks, addresses, published ports, the embedded DNS.
    networks: networks::Networks,
    /// Volumes, their drivers and who references and mounts them.
    volumes: berth_volumes::VolumeService,
    /// Held by a copy-up into new volumes (see `containers::mounts`).
    copy_up_lock: tokio::sync::Mutex<()>,
}

impl Engine {
    /// Open the state under `cfg`'s roots and find running containers' shims again.
    pub async fn open(cfg: Config) -> Result<Arc<Engine>> {
        for dir in [cfg.data_root.join("containers"), cfg.exec_root.clone()] {
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(&format!("creating {}", dir.display()), e))?;
        }
        let image_root = cfg.data_root.join("image");
        let store = tokio::task::spawn_blocking(move || Store::open(&image_root))
            .await
            .map_err(|e| Error::internal(e.to_string()))??;
        let db = db::Db::open(&cfg.data_root.join("containers.redb"))?;
        let records = db.all()?;
        let networks = networks::Networks::new(cfg.network.clone(), db.all_networks()?)?;
        let local = berth_volumes::LocalDriver::open(&cfg.data_root)
            .map_err(containers::volumes::volume_error)?;
        let volumes = berth_volumes::VolumeService::new(Arc::new(local));
        let _ = std::fs::remove_dir_all(containers::volumes::copy_up_scratch(&cfg.exec_root));
        let engine = Arc::new(Engine {
            cfg,
            store: Arc::new(store),
            db,
            containers: Mutex::new(BTreeMap::new()),
            execs: exec::ExecTable::default(),
            image_gate: tokio::sync::RwLock::new(()),
            events: events::Events::default(),
            networks,
            volumes,
            copy_up_lock: tokio::sync::Mutex::new(()),
        });
        {
            let mut map = lock(&engine.containers);
            for c in records {
                map.insert(c.id.clone(), Entry::new(c));
            }
        }
        engine.restore_volume_users();
        engine.open_networks().await?;
        engine.restore_endpoints().await;
        engine.recover().await;
        engine.detach_stopped().await;
        Ok(engine)
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub(crate) fn paths(&self, id: &str) -> Paths {
        Paths::new(&self.cfg.data_root, &self.cfg.exec_root, id)
    }

    /// Find a container by full id, name (with or without `/`) or unique id prefix.
    pub(crate) fn lookup(&self, key: &str) -> Result<Arc<Entry>> {
        let map = lock(&self.containers);
        if let Some(e) = map.get(key) {
            return Ok(e.clone());
        }
        let name = key.strip_prefix('/').unwrap_or(key);
        if let Some(e) = map.values().find(|e| e.record().name == name) {
            return Ok(e.clone());
        }
        if !key.is_empty() && key.chars().all(|c| c.is_ascii_hexdigit()) {
            let mut found = map
                .range(key.to_string()..)
                .take_while(|(k, _)| k.starts_with(key));
            if let Some((_, e)) = found.next() {
                if found.next().is_some() {
                    return Err(Error::invalid(format!(
                        "multiple IDs found with provided prefix: {key}"
                    )));
                }
                return Ok(e.clone());
            }
        }
        Err(Error::not_found(format!("No such container: {key}")))
    }

    /// Counts for `info`: (total, running, paused, stopped).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let map = lock(&self.containers);
        let mut running = 0;
        let mut paused = 0;
        for e in map.values() {
            let r = e.record();
            if r.state.paused {
                paused += 1;
            } else if r.state.running {
                running += 1;
            }
        }
        (map.len(), running, paused, map.len() - running - paused)
    }

    /// At daemon shutdown: Berth's firewall table goes if no container runs.
    pub async fn shutdown(&self) {
        let any_running = lock(&self.containers)
            .values()
            .any(|e| e.record().state.running);
        self.networks.shutdown(any_running).await;
    }

    /// Where the image store and its layers are, for `info`.
    pub fn data_root(&self) -> &Path {
        &self.cfg.data_root
    }
}
