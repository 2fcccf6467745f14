//! `docker cp`: `HEAD`, `GET` and `PUT /containers/{id}/archive`.
//!
//! The filesystem work runs in a helper process, berthd itself run again with
//! [`HELPER_ARG`] (single-threaded, as Docker re-executes itself for its chroot archive
//! helpers), which first makes the container's root its own root directory: paths, `..`
//! and symlinks then resolve as they do in the container, and nothing outside it can be
//! reached whatever the path or the archive holds. A running container's root is
//! `/proc/<pid>/root` (its mounts included), opened by the daemon and inherited by the
//! helper, so a container that stops meanwhile is still read (or, if it is gone before
//! the open, read as a stopped one); a stopped one's overlay is mounted in the
//! helper's own mount namespace, which goes away with the helper, while the container's
//! operation lock keeps it from being started or removed meanwhile; its volumes are
//! mounted for the copy (as dockerd mounts them, with their events; a new one filled from
//! the image first) and bound there with its binds, so that what is copied in lands
//! where the container will see it. Writes into a read-only mount, or into a read-only
//! root outside the mounts, are refused with dockerd's messages. The tar work itself is
//! the archive crate's: `get` writes with [`berth_archive::Writer`] (names as Docker names
//! them), `put` extracts with [`berth_archive::extract`] (its rules for hostile archives,
//! plain `.wh.` files, owners per `copyUIDGID`).

use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

use crate::{Engine, Error, Result};

pub mod helper;

/// berthd's first argument that makes it the archive helper instead of the daemon.
pub const HELPER_ARG: &str = "__archive";

/// Helper exit codes besides 0 (done) and 1 (failed, message on stderr).
const EXIT_NOT_FOUND: i32 = 2;
const EXIT_NOT_DIR: i32 = 3;
const EXIT_VOLUME_READ_ONLY: i32 = 4;
const EXIT_ROOT_READ_ONLY: i32 = 5;

/// Go's `os.ModeDir` bit in a [`PathStat`]'s mode.
const GO_DIR: u32 = 1 << 31;

/// What the archive API reports of a path (`X-Docker-Container-Path-Stat`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathStat {
    pub name: String,
    pub size: i64,
    /// Go's `os.FileMode` bits, which is what the docker CLI reads.
    pub mode: u32,
    pub mtime: String,
    #[serde(rename = "linkTarget")]
    pub link_target: String,
}

impl PathStat {
    pub fn is_dir(&self) -> bool {
        self.mode & GO_DIR != 0
    }
}

/// `PUT` query options.
#[derive(Debug, Clone, Copy, Default)]
pub struct PutOptions {
    /// `noOverwriteDirNonDir`.
    pub no_overwrite_dir_non_dir: bool,
    /// `copyUIDGID`: keep the archive's owners (else everything is root's).
    pub copy_uid_gid: bool,
}

/// A running helper and what it holds until it is done.
struct Helper {
    child: Child,
    container: String,
    path: String,
    /// A stopped container's operation lock.
    _op: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// The mount point directory of a stopped container's overlay.
    scratch: Option<PathBuf>,
    /// A stopped container's volumes, mounted for the copy.
    _volumes: Option<VolumesForCopy>,
}

impl Drop for Helper {
    fn drop(&mut self) {
        // The overlay is mounted in the helper's namespace only: here the directory is
        // empty, and the mount goes with the helper.
        if let Some(s) = &self.scratch {
            let _ = std::fs::remove_dir_all(s);
        }
    }
}

/// A stopped container's volumes mounted for a copy, unmounted (with dockerd's events)
/// when it is dropped.
struct VolumesForCopy {
    engine: Arc<Engine>,
    container: crate::containers::record::Container,
}

impl Drop for VolumesForCopy {
    fn drop(&mut self) {
        self.engine.unmount_container_volumes(&self.container);
    }
}

impl Helper {
    /// The helper's exit status as the API error it stands for.
    async fn finish(mut self) -> Result<()> {
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err).await;
        }
        let status = self
            .child
            .wait()
            .await
            .map_err(|e| Error::io("waiting for the archive helper", e))?;
        let err = err.trim();
        match status.code() {
            Some(0) => Ok(()),
            Some(EXIT_NOT_FOUND) => Err(Error::not_found(format!(
                "Could not find the file {} in container {}",
                self.path, self.container
            ))),
            Some(EXIT_NOT_DIR) => Err(Error::internal("extraction point is not a directory")),
            // dockerd's errors: the first a bad parameter, the second a plain error.
            Some(EXIT_VOLUME_READ_ONLY) => {
                Err(Error::invalid("mounted volume is marked read-only"))
            }
            Some(EXIT_ROOT_READ_ONLY) => {
                Err(Error::internal("container rootfs is marked read-only"))
            }
            _ if err.is_empty() => Err(Error::internal(format!("archive helper: {status}"))),
            _ => Err(Error::internal(err.to_string())),
        }
    }
}

impl Engine {
    /// `HEAD /containers/{id}/archive?path=`.
    pub async fn archive_stat(self: &Arc<Self>, key: &str, path: &str) -> Result<PathStat> {
        let mut h = self.archive_helper(key, path, "stat", &[]).await?;
        let mut out = String::new();
        if let Some(mut o) = h.child.stdout.take() {
            let _ = o.read_to_string(&mut out).await;
        }
        h.finish().await?;
        parse_stat(&out)
    }

    /// `GET /containers/{id}/archive?path=`: the path's stat and a tar of it, its entries
    /// named after the path's last element.
    pub async fn archive_get(
        self: &Arc<Self>,
        key: &str,
        path: &str,
    ) -> Result<(PathStat, impl Stream<Item = std::io::Result<Bytes>> + use<>)> {
        let mut h = self.archive_helper(key, path, "get", &[]).await?;
        let stdout = h.child.stdout.take().expect("piped stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line).await;
        if line.is_empty() {
            h.finish().await?;
            return Err(Error::internal("archive helper: no output"));
        }
        let stat = parse_stat(&line)?;
        Ok((stat, tar_stream(reader, h)))
    }

    /// `PUT /containers/{id}/archive?path=`: write the tar `body` into the directory `path`.
    pub async fn archive_put(
        self: &Arc<Self>,
        key: &str,
        path: &str,
        opts: PutOptions,
        body: impl Stream<Item = std::io::Result<Bytes>>,
    ) -> Result<()> {
        let mut flags = Vec::new();
        if opts.no_overwrite_dir_non_dir {
            flags.push("--no-overwrite-dir-non-dir");
        }
        if opts.copy_uid_gid {
            flags.push("--copy-uid-gid");
        }
        let mut h = self.archive_helper(key, path, "put", &flags).await?;
        let mut stdin = h.child.stdin.take().expect("piped stdin");
        let mut body = std::pin::pin!(body);
        let mut fed: std::result::Result<(), std::io::Error> = Ok(());
        while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    fed = Err(e);
                    break;
                }
            };
            // The helper stops reading when it fails: its error says why (the API server
            // reads the rest of the request body, so the client gets it).
            if stdin.write_all(&chunk).await.is_err() {
                break;
            }
        }
        drop(stdin);
        let done = h.finish().await;
        if let Err(e) = fed {
            return Err(Error::io("reading the request body", e));
        }
        done.map_err(|e| match e.kind {
            crate::ErrorKind::Internal if e.message != "extraction point is not a directory" => {
                Error::internal(format!("Error processing tar file: {}", e.message))
            }
            _ => e,
        })
    }

    async fn archive_helper(
        self: &Arc<Self>,
        key: &str,
        path: &str,
        op: &str,
        flags: &[&str],
    ) -> Result<Helper> {
        if path.is_empty() {
            return Err(Error::invalid("bad parameter: path cannot be empty"));
        }
        let entry = self.lookup(key)?;
        let op_lock = entry.op.clone().lock_owned().await;
        let (mut running, pid, id, image_id, record) = {
            let r = entry.record();
            (
                r.state.running,
                r.state.pid,
                r.id.clone(),
                r.image_id.clone(),
                r.clone(),
            )
        };
        // A running container's root, held open from here: if the container stops
        // before the helper is in it, the helper still gets in.
        let root = if running && pid > 0 {
            running_root(pid, &id)
        } else {
            None
        };
        if running && root.is_none() {
            // It stopped (its exit may not be recorded yet): wait for that, then go in
            // as into a stopped container.
            let mut rx = entry.progress.subscribe();
            let stopped = rx.wait_for(|p| !p.running);
            if tokio::time::timeout(STOP_WAIT, stopped).await.is_err() {
                return Err(Error::conflict(format!(
                    "container {id} stopped while its files were being opened: try again"
                )));
            }
            running = false;
        }
        // The running binary itself, even when an upgrade replaced the file meanwhile.
        let mut cmd = Command::new("/proc/self/exe");
        cmd.arg(HELPER_ARG).arg(op).arg(path).args(flags);
        if record.host_config.readonly_rootfs {
            cmd.arg("--read-only-root");
        }
        let mode = |rw: bool| if rw { "rw" } else { "ro" };
        let (op_lock, scratch, volumes) = if let Some(root) = &root {
            // Running: its mounts are in its root already; the helper checks their modes.
            for m in record.mount_list() {
                let p = &m.point;
                cmd.arg("--mount")
                    .arg(crate::containers::mounts::clean_target(&p.destination))
                    .arg(mode(p.rw))
                    .arg("");
            }
            let fd = root.as_raw_fd();
            cmd.arg("--root-fd").arg(fd.to_string());
            // SAFETY: between fork and exec the closure only calls fcntl(2), which is
            // async-signal-safe, on a descriptor this process owns (kept open by `root`
            // until the helper is spawned).
            unsafe {
                cmd.pre_exec(move || {
                    // The helper inherits the root directory (without FD_CLOEXEC).
                    if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            (None, None, None)
        } else {
            debug_assert!(!running);
            let paths = self.paths(&id);
            let scratch = self
                .cfg
                .exec_root
                .join(SCRATCH)
                .join(crate::containers::random_id()?);
            std::fs::create_dir_all(&scratch)
                .map_err(|e| Error::io(&format!("creating {}", scratch.display()), e))?;
            cmd.arg("--upper")
                .arg(paths.upper())
                .arg("--work")
                .arg(paths.work())
                .arg("--scratch")
                .arg(&scratch);
            let layers = self.store.layer_dirs_of(&image_id)?;
            for l in &layers {
                cmd.arg("--lower").arg(l);
            }
            let binds = match self.mount_volumes(&record, &layers).await {
                Ok(b) => b,
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&scratch);
                    return Err(e);
                }
            };
            let held = VolumesForCopy {
                engine: self.clone(),
                container: record,
            };
            for b in binds {
                cmd.arg("--mount")
                    .arg(&b.destination)
                    .arg(mode(!b.readonly))
                    .arg(&b.source);
            }
            (Some(op_lock), Some(scratch), Some(held))
        };
        let stdin = if op == "put" {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        cmd.stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .map_err(|e| Error::io("starting the archive helper", e))?;
        // The helper has its own copy now.
        drop(root);
        Ok(Helper {
            child,
            container: key.to_string(),
            path: path.to_string(),
            _op: op_lock,
            scratch,
            _volumes: volumes,
        })
    }

    /// Delete what archive helpers of a daemon that went away left (their mount points).
    pub(crate) fn sweep_archive_scratch(&self) {
        let _ = std::fs::remove_dir_all(self.cfg.exec_root.join(SCRATCH));
    }
}

/// Under the exec root: the mount points of stopped containers' overlays for `docker cp`.
const SCRATCH: &str = "archive";

/// How long `docker cp` of a container that has just stopped waits for its exit to be
/// recorded.
const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The root directory of running container `id` whose init is `pid`, opened (`O_PATH`),
/// or `None` if that process is gone. The process is checked to be in the container's
/// cgroup after the open, so a pid the kernel gave to another process meanwhile is not
/// taken for the container.
fn running_root(pid: i64, id: &str) -> Option<std::os::fd::OwnedFd> {
    use nix::fcntl::{OFlag, open};
    use nix::sys::stat::Mode;
    let root = open(
        format!("/proc/{pid}/root").as_str(),
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let suffix = format!("/{id}");
    cgroups
        .lines()
        .any(|l| l.trim_end().ends_with(&suffix))
        .then_some(root)
}

fn parse_stat(line: &str) -> Result<PathStat> {
    serde_json::from_str(line.trim())
        .map_err(|e| Error::internal(format!("archive helper: bad stat {line:?}: {e}")))
}

/// The helper's tar output as a body stream; at its end, the helper's failure (if any)
/// becomes the stream's error, so a broken archive is not taken for a whole one.
fn tar_stream(
    reader: BufReader<ChildStdout>,
    helper: Helper,
) -> impl Stream<Item = std::io::Result<Bytes>> {
    futures_util::stream::unfold(
        Some((reader, helper)),
        |state: Option<(BufReader<ChildStdout>, Helper)>| async move {
            let (mut reader, helper) = state?;
            let mut buf = vec![0u8; 64 * 1024];
            match reader.read(&mut buf).await {
                Ok(0) => match helper.finish().await {
                    Ok(()) => None,
                    Err(e) => Some((Err(std::io::Error::other(e.message)), None)),
                },
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(Bytes::from(buf)), Some((reader, helper))))
                }
                Err(e) => Some((Err(e), None)),
            }
        },
    )
}
