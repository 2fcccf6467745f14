//! `--runtime NAME`: the container made by another OCI runtime (runc, crun, youki...),
//! driven through its command line: `create --bundle B --pid-file P [--console-socket S]
//! ID`, `start ID`, `kill [--all] ID SIG`, `delete --force ID`. The shim keeps everything
//! else: stdio, logs, attach, exec (through its own setns path), the exit record.
//!
//! The runtime gets a complete bundle: the shim mounts the overlay root on
//! `<bundle>/rootfs` in a mount namespace of its own (so the mount dies with the shim),
//! resolves the user against the image's /etc/passwd and /etc/group (in a child chrooted
//! into the root, so image symlinks cannot reach host files), and rewrites `config.json`
//! with numeric ids. Runtime state lives in `<exec-root>/runtime-<name>` (`--root`), never
//! in a system runtime's. The shim is a child subreaper, so the container init, orphaned
//! when `runtime create` exits, is reparented to it and reaped by it.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sched::CloneFlags;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceType, Spec, UserBuilder};

use super::init::ChildStdio;
use crate::linux::{mount, net, nix_err};
use crate::spec::{CONFIG_FILE, ContainerSpec};

/// How long `create` may take before the shim gives up on it.
const CREATE_TIMEOUT: Duration = Duration::from_secs(60);

/// One container's OCI runtime command line.
#[derive(Debug, Clone)]
pub struct OciRuntime {
    pub binary: PathBuf,
    pub root: PathBuf,
    pub id: String,
}

fn rt_err(msg: impl Into<String>) -> crate::Error {
    crate::Error::Shim(msg.into())
}

impl OciRuntime {
    pub fn new(binary: &Path, bundle: &Path, id: &str) -> Self {
        let name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "oci".into());
        let root = bundle
            .parent()
            .unwrap_or(Path::new("/run/berth"))
            .join(format!("runtime-{name}"));
        OciRuntime {
            binary: binary.to_path_buf(),
            root,
            id: id.to_string(),
        }
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.binary);
        c.arg("--root").arg(&self.root);
        c
    }

    /// Run a short subcommand; its stderr (or log) is the error.
    fn run(&self, args: &[&str]) -> crate::Result<()> {
        let out = self
            .command()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| crate::Error::io(format!("running {}", self.binary.display()), e))?;
        if out.status.success() {
            return Ok(());
        }
        Err(rt_err(format!(
            "{} {}: {}",
            self.binary.display(),
            args.first().copied().unwrap_or(""),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }

    /// `create`: returns the container init's host pid and, with a TTY, the pty master
    /// the runtime made.
    pub fn create(
        &self,
        bundle: &Path,
        stdio: ChildStdio,
        tty: bool,
    ) -> crate::Result<(Pid, Option<OwnedFd>)> {
        std::fs::create_dir_all(&self.root)
            .map_err(|e| crate::Error::io(format!("creating {}", self.root.display()), e))?;
        // A container of that id left by a shim that died: the new one replaces it.
        let _ = self.run(&["delete", "--force", &self.id]);
        let pid_file = bundle.join("init.pid");
        let log_file = bundle.join("runtime.log");
        let _ = std::fs::remove_file(&pid_file);
        let _ = std::fs::remove_file(&log_file);
        let mut cmd = self.command();
        cmd.arg("--log")
            .arg(&log_file)
            .arg("--log-format")
            .arg("json")
            .arg("create")
            .arg("--bundle")
            .arg(bundle)
            .arg("--pid-file")
            .arg(&pid_file);
        let console = if tty {
            // The runtime connects to this path itself: it must fit in sun_path.
            let mut sock = bundle.join("console.sock");
            if sock.as_os_str().len() > 100 {
                sock = std::env::temp_dir().join(format!(
                    "berth-console-{}-{}.sock",
                    &self.id[..self.id.len().min(12)],
                    std::process::id()
                ));
            }
            let _ = std::fs::remove_file(&sock);
            let l = UnixListener::bind(&sock)
                .map_err(|e| crate::Error::io("binding the console socket", e))?;
            l.set_nonblocking(true)
                .map_err(|e| crate::Error::io("console socket", e))?;
            cmd.arg("--console-socket").arg(&sock);
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            Some((l, sock))
        } else {
            cmd.stdin(Stdio::from(stdio.stdin))
                .stdout(Stdio::from(stdio.stdout))
                .stderr(Stdio::from(stdio.stderr));
            None
        };
        cmd.arg(&self.id);
        let mut child = cmd
            .spawn()
            .map_err(|e| crate::Error::io(format!("running {}", self.binary.display()), e))?;
        drop(cmd);
        let started = Instant::now();
        let mut master = None;
        let status = loop {
            if let Some((l, _)) = &console
                && master.is_none()
                && let Ok((conn, _)) = l.accept()
            {
                master = Some(recv_fd(&conn)?);
            }
            if let Some(s) = child
                .try_wait()
                .map_err(|e| crate::Error::io("waiting for create", e))?
            {
                break s;
            }
            if started.elapsed() > CREATE_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                return Err(rt_err(format!(
                    "{} create timed out",
                    self.binary.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        if let Some((_, sock)) = &console {
            let _ = std::fs::remove_file(sock);
        }
        if !status.success() {
            let msg = last_error(&log_file)
                .unwrap_or_else(|| format!("{} create failed: {status}", self.binary.display()));
            // The process could not be executed: the engine answers like Docker (126/127).
            return Err(if msg.contains(" exec: \"") {
                crate::Error::Exec(msg)
            } else {
                rt_err(msg)
            });
        }
        let pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .ok_or_else(|| rt_err(format!("{} create wrote no pid", self.binary.display())))?;
        if tty && master.is_none() {
            let _ = self.run(&["delete", "--force", &self.id]);
            return Err(rt_err("the runtime sent no console"));
        }
        Ok((Pid::from_raw(pid), master))
    }

    pub fn start(&self) -> crate::Result<()> {
        self.run(&["start", &self.id])
    }

    pub fn kill(&self, signal: i32, all: bool) -> crate::Result<()> {
        let sig = signal.to_string();
        if all {
            self.run(&["kill", "--all", &self.id, &sig])
        } else {
            self.run(&["kill", &self.id, &sig])
        }
    }

    pub fn delete(&self) {
        if let Err(e) = self.force_delete() {
            eprintln!("berth-shim: {e}");
        }
    }

    /// `delete --force`: the runtime kills what is left of the container and forgets it.
    pub fn force_delete(&self) -> crate::Result<()> {
        self.run(&["delete", "--force", &self.id])
    }

    /// Whether the runtime still keeps a record of the container (its state directory).
    pub fn has_state(&self) -> bool {
        self.root.join(&self.id).exists()
    }
}

/// The last error an OCI runtime logged (`--log-format json`), e.g. runc's
/// `runc create failed: unable to start container process: exec: "x": executable file not
/// found in $PATH`.
fn last_error(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["level"] == "error" || v["level"] == "fatal")
        .and_then(|v| v["msg"].as_str().map(str::to_string))
}

/// Receive the one fd a runtime sends over the console socket (SCM_RIGHTS).
pub(crate) fn recv_fd(conn: &std::os::unix::net::UnixStream) -> crate::Result<OwnedFd> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    conn.set_nonblocking(false)
        .map_err(|e| crate::Error::io("console socket", e))?;
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| nix_err("receiving the console", e))?;
    for c in msg.cmsgs().map_err(|e| nix_err("console message", e))? {
        if let ControlMessageOwned::ScmRights(fds) = c
            && let Some(&fd) = fds.first()
        {
            // SAFETY: the kernel just installed `fd` in our table; we own it from here.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }
    Err(rt_err("the runtime sent no console fd"))
}

/// Become a child subreaper: the container init, orphaned when `create` exits, is ours.
pub fn become_subreaper() -> crate::Result<()> {
    // SAFETY: plain prctl with integer arguments.
    let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if r != 0 {
        return Err(crate::Error::io(
            "becoming a subreaper",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Mount the container's root on `<bundle>/rootfs` in a private mount namespace of the
/// shim's, and make `config.json` complete for an OCI runtime: numeric user and groups,
/// HOME.
pub fn prepare_bundle(bundle: &Path, oci: &mut Spec, berth: &ContainerSpec) -> crate::Result<()> {
    nix::sched::unshare(CloneFlags::CLONE_NEWNS).map_err(|e| nix_err("unshare mnt", e))?;
    mount::make_root_private()?;
    let rootfs = bundle.join("rootfs");
    mount::mount_overlay(
        &berth.layers,
        &bundle.join("empty-lower"),
        &berth.upper_dir,
        &berth.work_dir,
        &rootfs,
    )?;
    let u = resolve_user(&rootfs, &berth.user, &berth.group_add)?;
    if let Some(p) = oci.process_mut() {
        p.set_user(
            UserBuilder::default()
                .uid(u.uid)
                .gid(u.gid)
                .additional_gids(crate::user::supplementary_groups(&u))
                .build()
                .map_err(|e| crate::Error::Invalid(format!("user: {e}")))?,
        );
        let mut env = p.env().clone().unwrap_or_default();
        if !env.iter().any(|e| e.starts_with("HOME=")) {
            env.push(format!("HOME={}", u.home));
            p.set_env(Some(env));
        }
    }
    let data = serde_json::to_vec_pretty(oci)
        .map_err(|e| crate::Error::Invalid(format!("serializing config.json: {e}")))?;
    crate::fsutil::write_atomic(&bundle.join(CONFIG_FILE), &data, false)
}

/// Resolve the user in a child chrooted into `rootfs`.
fn resolve_user(
    rootfs: &Path,
    spec: &str,
    group_add: &[String],
) -> crate::Result<crate::user::ExecUser> {
    let (r, w) = nix::unistd::pipe().map_err(|e| nix_err("pipe", e))?;
    // SAFETY: the shim is single-threaded; the child only reads two files and exits.
    match unsafe { nix::unistd::fork() }.map_err(|e| nix_err("fork", e))? {
        nix::unistd::ForkResult::Child => {
            drop(r);
            let result = (|| -> Result<(u32, u32, Vec<u32>, String), String> {
                nix::unistd::chroot(rootfs).map_err(|e| format!("chroot: {e}"))?;
                let passwd = std::fs::read_to_string("/etc/passwd").ok();
                let group = std::fs::read_to_string("/etc/group").ok();
                let mut u = crate::user::resolve(spec, passwd.as_deref(), group.as_deref())?;
                for g in group_add {
                    let gid = crate::user::group_id(g, group.as_deref())?;
                    if !u.sgids.contains(&gid) {
                        u.sgids.push(gid);
                    }
                }
                Ok((u.uid, u.gid, u.sgids, u.home))
            })();
            let data = serde_json::to_vec(&result).unwrap_or_default();
            let _ = nix::unistd::write(&w, &data);
            // SAFETY: _exit skips the shim's atexit handlers and buffers.
            unsafe { libc::_exit(0) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(w);
            let mut data = Vec::new();
            let _ = std::fs::File::from(r).read_to_end(&mut data);
            let _ = nix::sys::wait::waitpid(child, None);
            let result: Result<(u32, u32, Vec<u32>, String), String> =
                serde_json::from_slice(&data)
                    .map_err(|e| crate::Error::Invalid(format!("resolving the user: {e}")))?;
            let (uid, gid, sgids, home) = result.map_err(rt_err)?;
            Ok(crate::user::ExecUser {
                uid,
                gid,
                sgids,
                home,
            })
        }
    }
}

/// Bring loopback up in the container's new network namespace (runtimes leave that to
/// whoever sets up networking).
pub fn loopback_up(oci: &Spec, pid: Pid) -> crate::Result<()> {
    let new_net = oci
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
        .any(|n| n.typ() == LinuxNamespaceType::Network && n.path().is_none());
    if !new_net {
        return Ok(());
    }
    let path = format!("/proc/{pid}/ns/net");
    let f =
        std::fs::File::open(&path).map_err(|e| crate::Error::io(format!("opening {path}"), e))?;
    // SAFETY: the shim is single-threaded; the child only joins the namespace, sets an
    // interface flag and exits.
    match unsafe { nix::unistd::fork() }.map_err(|e| nix_err("fork", e))? {
        nix::unistd::ForkResult::Child => {
            let ok = nix::sched::setns(f, CloneFlags::CLONE_NEWNET).is_ok()
                && net::loopback_up().is_ok();
            // SAFETY: _exit skips the shim's atexit handlers and buffers.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) }
        }
        nix::unistd::ForkResult::Parent { child } => match nix::sys::wait::waitpid(child, None) {
            Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => Ok(()),
            _ => Err(rt_err("bringing up loopback in the container failed")),
        },
    }
}

/// Fork a child born in the pid namespace of `pid` (the shim is not in the container's
/// pid namespace when another runtime made it): setns there, fork, and (in the parent)
/// back.
pub fn fork_in_pid_ns_of(pid: Pid) -> crate::Result<nix::unistd::ForkResult> {
    let theirs = std::fs::File::open(format!("/proc/{pid}/ns/pid"))
        .map_err(|e| crate::Error::io("opening the container's pid namespace", e))?;
    let ours = std::fs::File::open("/proc/self/ns/pid")
        .map_err(|e| crate::Error::io("opening our pid namespace", e))?;
    nix::sched::setns(theirs, CloneFlags::CLONE_NEWPID)
        .map_err(|e| nix_err("joining the container's pid namespace", e))?;
    // SAFETY: the shim is single-threaded; the child only sets itself up and execs.
    let forked = unsafe { nix::unistd::fork() };
    if let Ok(nix::unistd::ForkResult::Child) = forked {
        return Ok(nix::unistd::ForkResult::Child);
    }
    let back = nix::sched::setns(ours, CloneFlags::CLONE_NEWPID);
    let forked = forked.map_err(|e| nix_err("fork", e))?;
    if let Err(e) = back {
        // Later children would be born in the container: this shim cannot go on.
        eprintln!("berth-shim: returning to our pid namespace: {e}");
        std::process::abort();
    }
    Ok(forked)
}
