//! The container's init process, between fork and execve. Runs in the child forked by the
//! shim (PID 1 of the new pid namespace). Any error is sent to the shim over the
//! close-on-exec `report` pipe as `E<message>`; `C` means created (blocked until started).
//! Exec success is seen by the shim as EOF on that pipe.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, sigaction};
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::execpath::{self, ExecError};
use crate::linux::cgroups::Layout;
use crate::linux::{caps::CapSets, mount, net, nix_err, pty};
use crate::spec::ContainerSpec;
use crate::user;

/// The fds the init's stdio is made of.
pub struct ChildStdio {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// With a TTY: the slave's path (the init binds it over /dev/console).
    pub console: Option<PathBuf>,
}

impl ChildStdio {
    /// A pty slave on 0, 1 and 2, `console` its path.
    pub(crate) fn from_pty_slave(slave: OwnedFd, console: PathBuf) -> crate::Result<ChildStdio> {
        let dup = |fd: &OwnedFd| fd.try_clone().map_err(|e| crate::Error::io("dup pty", e));
        Ok(ChildStdio {
            stdin: dup(&slave)?,
            stdout: dup(&slave)?,
            stderr: slave,
            console: Some(console),
        })
    }

    /// Become a session leader, take the terminal (with a TTY) and put the fds on 0, 1, 2.
    pub(crate) fn install(&self) -> Result<(), ExecError> {
        nix::unistd::setsid().map_err(|e| fail(nix_err("setsid", e)))?;
        if self.console.is_some() {
            pty::set_controlling(self.stdout.as_fd()).map_err(fail)?;
        }
        nix::unistd::dup2_stdin(&self.stdin).map_err(|e| fail(nix_err("dup2 stdin", e)))?;
        nix::unistd::dup2_stdout(&self.stdout).map_err(|e| fail(nix_err("dup2 stdout", e)))?;
        nix::unistd::dup2_stderr(&self.stderr).map_err(|e| fail(nix_err("dup2 stderr", e)))?;
        Ok(())
    }
}

/// The init's stdio as the shim hands it over.
pub enum InitStdio {
    /// Ready-made fds (pipes, or /dev/null for stdin).
    Fds(ChildStdio),
    /// With a TTY: a socket to the shim. Once the container's devpts is mounted and it is
    /// the root, the init opens a pty there (so the workload sees itself on `/dev/pts/0`,
    /// as with Docker), sends the shim the master and takes the slave as its stdio and
    /// `/dev/console`.
    Console(std::os::unix::net::UnixStream),
}

/// Everything the init needs, prepared by the shim before fork.
pub struct InitArgs<'a> {
    pub bundle: &'a Path,
    pub oci: &'a Spec,
    pub berth: &'a ContainerSpec,
    pub layout: &'a Layout,
    /// The container's cgroup, made before the fork: the init moves itself in first.
    pub cgroup: &'a crate::linux::cgroups::Cgroup,
    pub stdio: InitStdio,
    /// Shim -> init: `S` (start).
    pub sync: OwnedFd,
    /// Init -> shim, close-on-exec.
    pub report: OwnedFd,
    /// config.json's seccomp filter, compiled.
    pub seccomp: Option<&'a crate::linux::seccomp::Filter>,
}

/// Run the init; never returns (execs or exits).
pub fn run(args: InitArgs<'_>) -> ! {
    let report = args.report.try_clone();
    let err = match setup_and_exec(args) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    report_and_exit(report, &err)
}

/// A child's end when setting up failed: `E<message>` to the shim on the report pipe,
/// then `_exit` with the error's code (the init's and an exec's alike).
pub(super) fn report_and_exit(report: std::io::Result<OwnedFd>, err: &ExecError) -> ! {
    if let Ok(report) = report {
        let mut msg = Vec::with_capacity(err.message.len() + 1);
        msg.push(b'E');
        msg.extend_from_slice(err.message.as_bytes());
        let _ = nix::unistd::write(&report, &msg);
    }
    // SAFETY: _exit is always safe; it skips atexit handlers and stdio flushing, which
    // belong to the shim's image we were forked from.
    unsafe { libc::_exit(err.code) }
}

enum Never {}

pub(crate) fn fail(e: impl std::fmt::Display) -> ExecError {
    ExecError {
        message: e.to_string(),
        code: 1,
    }
}

/// With a TTY, in the new root: a pty from the container's own devpts; the master goes
/// to the shim, the slave becomes stdio, controlling terminal and `/dev/console`.
fn console_in_container(shim: &std::os::unix::net::UnixStream) -> Result<(), ExecError> {
    use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
    use std::os::fd::AsRawFd;
    let (master, slave) = pty::open_in(Path::new("/")).map_err(fail)?;
    let fds = [master.as_raw_fd()];
    sendmsg::<()>(
        shim.as_raw_fd(),
        &[std::io::IoSlice::new(b"M")],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(|e| fail(nix_err("sending the pty to the shim", e)))?;
    drop(master);
    let path = nix::unistd::ttyname(&slave).map_err(|e| fail(nix_err("ttyname", e)))?;
    ChildStdio::from_pty_slave(slave, path.clone())
        .map_err(fail)?
        .install()?;
    mount::bind_console(Path::new("/"), &path).map_err(fail)
}

fn wait_byte(sync: &OwnedFd, want: u8) -> Result<(), ExecError> {
    let mut b = [0u8; 1];
    loop {
        match nix::unistd::read(sync, &mut b) {
            Ok(1) if b[0] == want => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            _ => return Err(fail("shim went away before the container was started")),
        }
    }
}

fn setup_and_exec(a: InitArgs<'_>) -> Result<Never, ExecError> {
    nix::sys::stat::umask(nix::sys::stat::Mode::empty());
    // The container dies with its shim (nothing then could watch, stop or reap it). Should
    // the shim die before this, the read of `sync` below sees EOF and the init exits.
    crate::linux::die_with_parent().map_err(fail)?;
    // First, so that all it does and makes is in the container's cgroup.
    a.cgroup.enter().map_err(fail)?;

    // stdio, session and controlling terminal (a TTY's come once the root is set up).
    if let InitStdio::Fds(stdio) = &a.stdio {
        stdio.install()?;
    }

    let linux = a.oci.linux().as_ref();
    let namespaces = linux.and_then(|l| l.namespaces().as_ref());
    let mut flags = CloneFlags::empty();
    let mut new_net = false;
    let mut new_uts = false;
    for ns in namespaces.into_iter().flatten() {
        let flag = match ns.typ() {
            LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
            LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
            LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
            LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
            LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            // Created by the shim before fork.
            LinuxNamespaceType::Pid => continue,
            other => return Err(fail(format!("namespace {other:?} is not supported"))),
        };
        if let Some(path) = ns.path() {
            let f = std::fs::File::open(path)
                .map_err(|e| fail(format!("opening namespace {}: {e}", path.display())))?;
            nix::sched::setns(f, flag)
                .map_err(|e| fail(nix_err(format!("joining {}", path.display()), e)))?;
        } else {
            flags |= flag;
            new_net |= flag == CloneFlags::CLONE_NEWNET;
            new_uts |= flag == CloneFlags::CLONE_NEWUTS;
        }
    }
    nix::sched::unshare(flags).map_err(|e| fail(nix_err("unshare", e)))?;

    // Root filesystem.
    let propagation = linux.and_then(|l| l.rootfs_propagation().as_deref());
    mount::make_root_propagation(propagation).map_err(fail)?;
    let rootfs = a.bundle.join("rootfs");
    if matches!(propagation, Some("shared" | "rshared")) {
        mount::make_parent_private(&rootfs).map_err(fail)?;
    }
    mount::mount_overlay(
        &a.berth.layers,
        &a.bundle.join("empty-lower"),
        &a.berth.upper_dir,
        &a.berth.work_dir,
        &rootfs,
    )
    .map_err(fail)?;
    for m in a.oci.mounts().as_deref().unwrap_or(&[]) {
        mount::mount_entry(&rootfs, m, a.layout).map_err(fail)?;
    }
    for d in linux
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
    {
        mount::create_device(&rootfs, d).map_err(fail)?;
    }
    mount::dev_symlinks(&rootfs, Path::new("/proc/kcore").exists()).map_err(fail)?;
    mount::pivot_root(&rootfs).map_err(fail)?;
    if let InitStdio::Console(shim) = &a.stdio {
        console_in_container(shim)?;
    }
    // Sysctls while /proc/sys is still writable; they land in our new namespaces.
    for (k, v) in linux
        .and_then(|l| l.sysctl().as_ref())
        .into_iter()
        .flatten()
    {
        let path = Path::new("/proc/sys").join(k.replace('.', "/"));
        std::fs::write(&path, v).map_err(|e| fail(format!("setting sysctl {k}={v}: {e}")))?;
    }
    for p in linux
        .and_then(|l| l.masked_paths().as_ref())
        .into_iter()
        .flatten()
    {
        mount::mask_path(Path::new(p)).map_err(fail)?;
    }
    for p in linux
        .and_then(|l| l.readonly_paths().as_ref())
        .into_iter()
        .flatten()
    {
        mount::readonly_path(Path::new(p)).map_err(fail)?;
    }
    if a.oci
        .root()
        .as_ref()
        .is_some_and(|r| r.readonly().unwrap_or(false))
    {
        mount::readonly_root().map_err(fail)?;
    }

    if new_uts && let Some(h) = a.oci.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).map_err(|e| fail(nix_err("sethostname", e)))?;
    }
    if new_net {
        net::loopback_up().map_err(fail)?;
    }

    let process = a
        .oci
        .process()
        .as_ref()
        .ok_or_else(|| fail("config.json has no process"))?;
    for r in process.rlimits().as_deref().unwrap_or(&[]) {
        set_rlimit(r)?;
    }

    let cwd = process.cwd().clone();
    let caps = process
        .capabilities()
        .as_ref()
        .map(CapSets::from_spec)
        .transpose()
        .map_err(fail)?;
    crate::linux::cloexec_from_3().map_err(fail)?;
    if let Some(f) = a.seccomp {
        f.install().map_err(fail)?;
    }
    let u = become_user(&a.berth.user, &a.berth.group_add, caps.as_ref(), &cwd, true)?;
    // A new user cleared the parent-death signal; set it again, as runc does (best effort
    // under a seccomp profile that refuses prctl: the daemon kills what a dead shim leaves).
    let _ = crate::linux::die_with_parent();
    if process.no_new_privileges().unwrap_or(false) {
        crate::linux::seccomp::no_new_privs().map_err(fail)?;
    }
    let argv = process.args().as_deref().unwrap_or(&[]);
    let env: Vec<String> = process.env().clone().unwrap_or_default();
    // The exec arguments, prepared before we block.
    let prepared = Prepared::new(argv, env, &u.home, &cwd)?;

    nix::unistd::write(&a.report, b"C").map_err(|e| fail(nix_err("reporting created", e)))?;
    wait_byte(&a.sync, b'S')?;
    Err(prepared.exec())
}

/// Switch to the process's user (resolved in the container's /etc/passwd and
/// /etc/group), keeping the capabilities of `caps`, and change to `cwd` (created, owned
/// by the user, when missing and `create`).
pub(crate) fn become_user(
    user_spec: &str,
    group_add: &[String],
    caps: Option<&CapSets>,
    cwd: &Path,
    create: bool,
) -> Result<user::ExecUser, ExecError> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok();
    let group = std::fs::read_to_string("/etc/group").ok();
    let mut u = user::resolve(user_spec, passwd.as_deref(), group.as_deref()).map_err(fail)?;
    for g in group_add {
        let gid = user::group_id(g, group.as_deref()).map_err(fail)?;
        if !u.sgids.contains(&gid) {
            u.sgids.push(gid);
        }
    }
    let cwd = if cwd.as_os_str().is_empty() {
        Path::new("/")
    } else {
        cwd
    };
    if create {
        create_cwd(cwd, u.uid, u.gid)?;
    }
    if let Some(c) = caps {
        c.drop_bounding().map_err(fail)?;
    }
    let gids: Vec<nix::unistd::Gid> = user::supplementary_groups(&u)
        .into_iter()
        .map(nix::unistd::Gid::from_raw)
        .collect();
    nix::unistd::setgroups(&gids).map_err(|e| fail(nix_err("setgroups", e)))?;
    crate::linux::caps::keep_caps(true).map_err(fail)?;
    nix::unistd::setgid(nix::unistd::Gid::from_raw(u.gid))
        .map_err(|e| fail(nix_err("setgid", e)))?;
    nix::unistd::setuid(nix::unistd::Uid::from_raw(u.uid))
        .map_err(|e| fail(nix_err("setuid", e)))?;
    if let Some(c) = caps {
        c.apply().map_err(fail)?;
    }
    crate::linux::caps::keep_caps(false).map_err(fail)?;
    // Docker's (runc's) words, which the CLI shows as they are.
    nix::unistd::chdir(cwd).map_err(|e| {
        fail(format!(
            "chdir to cwd ({:?}) set in config.json failed: {}",
            cwd.display().to_string(),
            std::io::Error::from_raw_os_error(e as i32)
                .to_string()
                .split(" (os error")
                .next()
                .unwrap_or("")
                .to_lowercase()
        ))
    })?;
    Ok(u)
}

/// A process image ready to be exec'd: everything allocated beforehand.
pub(crate) struct Prepared {
    name: String,
    env: Vec<String>,
    cwd: PathBuf,
    c_args: Vec<CString>,
    c_env: Vec<CString>,
}

impl Prepared {
    pub(crate) fn new(
        argv: &[String],
        mut env: Vec<String>,
        home: &str,
        cwd: &Path,
    ) -> Result<Prepared, ExecError> {
        let name = argv.first().ok_or_else(|| fail("no command specified"))?;
        if !env.iter().any(|e| e.starts_with("HOME=")) {
            env.push(format!("HOME={home}"));
        }
        let c_args = cstrings(argv.iter().map(|s| s.as_bytes()))?;
        let c_env = cstrings(env.iter().map(|s| s.as_bytes()))?;
        let cwd = if cwd.as_os_str().is_empty() {
            PathBuf::from("/")
        } else {
            cwd.to_path_buf()
        };
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
        Ok(Prepared {
            name: name.clone(),
            env,
            cwd,
            c_args,
            c_env,
        })
    }

    /// Look the command up in the PATH and exec it; returns only on failure.
    pub(crate) fn exec(self) -> ExecError {
        let path = match execpath::lookup(
            &self.name,
            execpath::path_from_env(&self.env),
            &self.cwd,
            Path::new("/"),
        ) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let c_path = match CString::new(path.as_os_str().as_bytes()) {
            Ok(p) => p,
            Err(e) => return fail(e),
        };
        reset_signals();
        let e = match nix::unistd::execve(&c_path, &self.c_args, &self.c_env) {
            Ok(never) => match never {},
            Err(e) => e,
        };
        ExecError::from_errno(&self.name, e, false)
    }
}

fn cstrings<'a>(items: impl Iterator<Item = &'a [u8]>) -> Result<Vec<CString>, ExecError> {
    items
        .map(|s| CString::new(s).map_err(|_| fail("argument or environment contains a nul byte")))
        .collect()
}

/// Undo what the shim set for itself: blocked SIGCHLD, ignored SIGPIPE.
fn reset_signals() {
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    let dfl = nix::sys::signal::SigAction::new(
        SigHandler::SigDfl,
        nix::sys::signal::SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: installing SIG_DFL involves no handler code.
    let _ = unsafe { sigaction(Signal::SIGPIPE, &dfl) };
}

pub(crate) fn set_rlimit(r: &oci_spec::runtime::PosixRlimit) -> Result<(), ExecError> {
    use nix::sys::resource::Resource;
    use oci_spec::runtime::PosixRlimitType as T;
    let res = match r.typ() {
        T::RlimitCpu => Resource::RLIMIT_CPU,
        T::RlimitFsize => Resource::RLIMIT_FSIZE,
        T::RlimitData => Resource::RLIMIT_DATA,
        T::RlimitStack => Resource::RLIMIT_STACK,
        T::RlimitCore => Resource::RLIMIT_CORE,
        T::RlimitRss => Resource::RLIMIT_RSS,
        T::RlimitNproc => Resource::RLIMIT_NPROC,
        T::RlimitNofile => Resource::RLIMIT_NOFILE,
        T::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        T::RlimitAs => Resource::RLIMIT_AS,
        T::RlimitLocks => Resource::RLIMIT_LOCKS,
        T::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        T::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        T::RlimitNice => Resource::RLIMIT_NICE,
        T::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        T::RlimitRttime => Resource::RLIMIT_RTTIME,
    };
    nix::sys::resource::setrlimit(res, r.soft(), r.hard())
        .map_err(|e| fail(nix_err(format!("setrlimit {:?}", r.typ()), e)))
}

/// Create the working directory (and missing parents) owned by the user.
fn create_cwd(cwd: &Path, uid: u32, gid: u32) -> Result<(), ExecError> {
    if cwd.is_dir() {
        return Ok(());
    }
    let mut cur = PathBuf::from("/");
    for c in cwd.components().skip(1) {
        cur.push(c);
        if cur.exists() {
            continue;
        }
        std::fs::create_dir(&cur)
            .map_err(|e| fail(format!("creating cwd {}: {e}", cur.display())))?;
        std::fs::set_permissions(&cur, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .map_err(|e| fail(format!("chmod cwd {}: {e}", cur.display())))?;
        nix::unistd::chown(
            &cur,
            Some(nix::unistd::Uid::from_raw(uid)),
            Some(nix::unistd::Gid::from_raw(gid)),
        )
        .map_err(|e| fail(nix_err(format!("chown cwd {}", cur.display()), e)))?;
    }
    Ok(())
}
