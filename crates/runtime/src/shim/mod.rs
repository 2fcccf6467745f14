//! The shim: `berth-shim BUNDLE`. Creates the container described by the bundle, detaches
//! from the daemon, then watches the container in a single-threaded poll(2) loop
//! ([`server`]) until it exits.
//!
//! Processes: the daemon runs the shim (P0), which forks P1 and waits on a pipe. P1 calls
//! setsid, points its stdio at /dev/null and `<bundle>/shim.log`, unshares the pid
//! namespace and forks the container init ([`init`]), puts it in its cgroup, lets it set
//! itself up, listens on `<bundle>/shim.sock` and then tells P0, which exits 0 (or 1 with
//! the error on stderr). P1 is the shim proper; the init is its child.

pub mod exec;
pub mod init;
pub mod oci_runtime;
pub mod server;

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::ForkResult;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::linux::cgroups::{self, Cgroup, Limits};
use crate::linux::{nix_err, pty};
use crate::spec::{ContainerSpec, read_bundle};
use init::{ChildStdio, InitArgs, InitStdio};

/// The shim's entry point; returns the process exit code.
pub fn main(bundle: &Path) -> i32 {
    // Nothing that whoever started the daemon left open reaches the shim (or, through it,
    // the container): the shim was given its stdio only.
    if let Err(e) = crate::linux::close_from_3() {
        eprintln!("berth-shim: {e}");
        return 1;
    }
    let (oci, berth) = match read_bundle(bundle) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("berth-shim: {e}");
            return 1;
        }
    };
    let (report_r, report_w) = match nix::unistd::pipe2(OFlag::O_CLOEXEC) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("berth-shim: pipe: {e}");
            return 1;
        }
    };
    // SAFETY: the shim is single-threaded here, so the child may run arbitrary code.
    match unsafe { nix::unistd::fork() } {
        Err(e) => {
            eprintln!("berth-shim: fork: {e}");
            1
        }
        Ok(ForkResult::Parent { .. }) => {
            drop(report_w);
            wait_for_shim(report_r)
        }
        Ok(ForkResult::Child) => {
            drop(report_r);
            run_detached(bundle, oci, berth, report_w)
        }
    }
}

/// P0: relay P1's verdict.
fn wait_for_shim(report: OwnedFd) -> i32 {
    let mut msg = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match nix::unistd::read(&report, &mut buf) {
            Ok(0) => break,
            Ok(n) => {
                msg.extend_from_slice(&buf[..n]);
                // The container init inherited the write end and keeps it until it
                // execs, so a lone `K` is the whole verdict: don't wait for EOF.
                if msg == b"K" {
                    break;
                }
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    if msg == b"K" {
        return 0;
    }
    let text = String::from_utf8_lossy(msg.strip_prefix(b"E").unwrap_or(&msg));
    if text.is_empty() {
        eprintln!("berth-shim: shim exited before the container was created");
    } else {
        eprintln!("{text}");
    }
    1
}

/// P1: detach, create, report, serve.
fn run_detached(bundle: &Path, oci: Spec, berth: ContainerSpec, report: OwnedFd) -> i32 {
    let created = detach(bundle).and_then(|()| create(bundle, &oci, &berth));
    match created {
        Ok(shim) => {
            let _ = nix::unistd::write(&report, b"K");
            drop(report);
            shim.run()
        }
        Err(e) => {
            let msg = format!("E{e}");
            let _ = nix::unistd::write(&report, msg.as_bytes());
            1
        }
    }
}

fn detach(bundle: &Path) -> crate::Result<()> {
    nix::unistd::setsid().map_err(|e| nix_err("setsid", e))?;
    nix::unistd::chdir("/").map_err(|e| nix_err("chdir /", e))?;
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| crate::Error::io("opening /dev/null", e))?;
    let log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(bundle.join("shim.log"))
        .map_err(|e| crate::Error::io("opening shim.log", e))?;
    nix::unistd::dup2_stdin(&null).map_err(|e| nix_err("dup2", e))?;
    nix::unistd::dup2_stdout(&null).map_err(|e| nix_err("dup2", e))?;
    nix::unistd::dup2_stderr(&log).map_err(|e| nix_err("dup2", e))?;
    Ok(())
}

/// The shim's ends of the container's stdio.
pub struct ShimStdio {
    /// stdout pipe or pty master.
    pub out: OwnedFd,
    /// stderr pipe (none with a TTY).
    pub err: Option<OwnedFd>,
    /// Where client stdin goes (pipe or a dup of the pty master), when `open_stdin`.
    pub stdin: Option<OwnedFd>,
}

fn pipe() -> crate::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| nix_err("pipe", e))
}

fn set_nonblock(fd: &OwnedFd) -> crate::Result<()> {
    let flags =
        nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFL).map_err(|e| nix_err("fcntl", e))?;
    let flags = OFlag::from_bits_retain(flags) | OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFL(flags)).map_err(|e| nix_err("fcntl", e))?;
    Ok(())
}

/// The shim's side of a TTY: the pty master (non-blocking, sized as asked), and a dup of
/// it for stdin.
fn pty_stdio(
    master: OwnedFd,
    open_stdin: bool,
    size: Option<[u16; 2]>,
) -> crate::Result<ShimStdio> {
    set_nonblock(&master)?;
    set_console_size(&master, size)?;
    let stdin = if open_stdin {
        Some(
            master
                .try_clone()
                .map_err(|e| crate::Error::io("dup pty", e))?,
        )
    } else {
        None
    };
    Ok(ShimStdio {
        out: master,
        err: None,
        stdin,
    })
}

/// Size a pty (by its master) as `[height, width]`; zeros mean unknown.
pub(crate) fn set_console_size(master: &OwnedFd, size: Option<[u16; 2]>) -> crate::Result<()> {
    match size {
        Some([height, width]) if height > 0 && width > 0 => {
            pty::set_size(master.as_fd(), width, height)
        }
        _ => Ok(()),
    }
}

/// Pipes for a process without a TTY (stdin a pipe with `open_stdin`, else /dev/null).
fn pipe_stdio(open_stdin: bool) -> crate::Result<(ShimStdio, ChildStdio)> {
    stdio_in(false, open_stdin, None, None)
}

/// The stdio of a process in the container whose root is `container_root`: with a TTY,
/// the pty comes from the container's devpts when it can (exec), so that the process sees
/// itself on `/dev/pts/N`, sized `size` (`[height, width]`) from the start.
fn stdio_in(
    tty: bool,
    open_stdin: bool,
    container_root: Option<&Path>,
    size: Option<[u16; 2]>,
) -> crate::Result<(ShimStdio, ChildStdio)> {
    if tty {
        let theirs = container_root.and_then(|r| match pty::open_in(r) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("berth-shim: a pty from the host's devpts instead: {e}");
                None
            }
        });
        let from_container = theirs.is_some();
        let (master, slave) = match theirs {
            Some(p) => p,
            None => pty::open()?,
        };
        // Only the init binds it over /dev/console; execs just need to know they have one.
        let console = match nix::unistd::ttyname(&slave) {
            Ok(p) => p,
            Err(_) if from_container => std::path::PathBuf::from("/dev/tty"),
            Err(e) => return Err(nix_err("ttyname", e)),
        };
        let child = ChildStdio::from_pty_slave(slave, console)?;
        return Ok((pty_stdio(master, open_stdin, size)?, child));
    }
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    set_nonblock(&out_r)?;
    set_nonblock(&err_r)?;
    let (stdin_shim, stdin_child) = if open_stdin {
        let (r, w) = pipe()?;
        set_nonblock(&w)?;
        (Some(w), r)
    } else {
        let null = std::fs::OpenOptions::new()
            .read(true)
            .open("/dev/null")
            .map_err(|e| crate::Error::io("opening /dev/null", e))?;
        (None, OwnedFd::from(null))
    };
    Ok((
        ShimStdio {
            out: out_r,
            err: Some(err_r),
            stdin: stdin_shim,
        },
        ChildStdio {
            stdin: stdin_child,
            stdout: out_w,
            stderr: err_w,
            console: None,
        },
    ))
}

/// The pid namespace entry: `None` (host's), `Some(None)` (a new one), `Some(Some(path))`.
fn pid_ns(oci: &Spec) -> Option<Option<std::path::PathBuf>> {
    oci.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .and_then(|ns| ns.iter().find(|n| n.typ() == LinuxNamespaceType::Pid))
        .map(|n| n.path().clone())
}

/// The container's cgroup path: the bundle's `linux.cgroupsPath`, else Berth's.
fn cgroup_path(oci: &Spec, berth: &ContainerSpec) -> String {
    oci.linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_ref())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| berth.cgroup_path.clone())
}

/// Block SIGCHLD and read it from a signalfd instead (the shim's poll loop reaps).
fn sigchld_fd() -> crate::Result<SignalFd> {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)
        .map_err(|e| nix_err("blocking SIGCHLD", e))?;
    SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| nix_err("signalfd", e))
}

/// config.json's seccomp filter, compiled: as the daemon compiled it into berth.json, else
/// here.
fn seccomp_filter(
    oci: &Spec,
    berth: &ContainerSpec,
) -> crate::Result<Option<crate::linux::seccomp::Filter>> {
    let Some(s) = oci.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
        return Ok(None);
    };
    match &berth.seccomp_bpf {
        Some(p) => crate::linux::seccomp::Filter::unpack(p).map(Some),
        None => crate::linux::seccomp::Filter::new(s).map(Some),
    }
}

/// Create the container: returns once its init is blocked waiting for `start`.
fn create(bundle: &Path, oci: &Spec, berth: &ContainerSpec) -> crate::Result<server::Shim> {
    if let Some(binary) = &berth.runtime {
        return create_with_runtime(bundle, oci, berth, binary);
    }
    let layout = cgroups::detect()?;
    let limits = Limits::from_spec(oci);
    let cgroup_path = cgroup_path(oci, berth);
    let sigfd = sigchld_fd()?;

    let log = crate::jsonlog::LogWriter::open_spec(&berth.log_path, &berth.log)?;
    // With a TTY the init makes the pty inside the container and sends us the master.
    let (shim_stdio, init_stdio, console) = if berth.tty {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair()
            .map_err(|e| crate::Error::io("console socket pair", e))?;
        (None, InitStdio::Console(theirs), Some(ours))
    } else {
        let (shim_stdio, child_stdio) = pipe_stdio(berth.open_stdin)?;
        (Some(shim_stdio), InitStdio::Fds(child_stdio), None)
    };
    let (sync_r, sync_w) = pipe()?;
    let (report_r, report_w) = pipe()?;
    let seccomp = seccomp_filter(oci, berth)?;

    // The pid namespace applies to children: create it (or join another container's)
    // before forking the init.
    match pid_ns(oci) {
        Some(None) => {
            nix::sched::unshare(CloneFlags::CLONE_NEWPID).map_err(|e| nix_err("unshare pid", e))?
        }
        Some(Some(path)) => {
            let f = std::fs::File::open(&path)
                .map_err(|e| crate::Error::io(format!("opening {}", path.display()), e))?;
            nix::sched::setns(f, CloneFlags::CLONE_NEWPID)
                .map_err(|e| nix_err(format!("joining {}", path.display()), e))?;
        }
        None => {}
    }
    // Made before the fork: the init moves itself in (see `CgroupManager::enter`).
    let cgroup = Cgroup::create(&layout, &cgroup_path, &limits)?;
    // SAFETY: single-threaded; the child only runs the init code and then execs or exits.
    let forked = unsafe { nix::unistd::fork() }.map_err(|e| {
        cgroup.remove();
        nix_err("fork", e)
    })?;
    let pid = match forked {
        ForkResult::Child => {
            drop(sync_w);
            drop(report_r);
            drop(shim_stdio);
            drop(console);
            init::run(InitArgs {
                bundle,
                oci,
                berth,
                layout: &layout,
                cgroup: &cgroup,
                stdio: init_stdio,
                sync: sync_r,
                report: report_w,
                seccomp: seccomp.as_ref(),
            })
        }
        ForkResult::Parent { child } => child,
    };
    drop(init_stdio);
    drop(sync_r);
    drop(report_w);

    let fail = |e: crate::Error| {
        let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(pid, None);
        cgroup.remove();
        e
    };

    let sock_path = bundle.join(crate::client::SOCKET_FILE);
    let listener = listen(bundle).map_err(fail)?;

    // The init's failure, from its report: an error, then EOF.
    let init_failed = |msg: Vec<u8>| {
        let _ = std::fs::remove_file(&sock_path);
        let text = String::from_utf8_lossy(msg.strip_prefix(b"E").unwrap_or(&msg)).into_owned();
        let text = if text.is_empty() {
            "container init exited before it was created".to_string()
        } else {
            text
        };
        fail(crate::Error::Shim(text))
    };
    let shim_stdio = match (shim_stdio, console) {
        (Some(s), _) => s,
        (None, Some(sock)) => match oci_runtime::recv_fd(&sock) {
            Ok(master) => pty_stdio(master, berth.open_stdin, berth.console_size).map_err(fail)?,
            Err(_) => return Err(init_failed(read_report(&report_r, false))),
        },
        (None, None) => unreachable!("a TTY always has a console socket"),
    };
    // Wait for the init: `C` (created) or an error then EOF.
    let msg = read_report(&report_r, true);
    if msg.as_slice() != b"C" {
        return Err(init_failed(msg));
    }
    Ok(server::Shim::new(server::Parts {
        bundle: bundle.to_path_buf(),
        tty: berth.tty,
        stdin_once: berth.stdin_once,
        pid,
        cgroup,
        listener,
        sigfd,
        stdio: shim_stdio,
        sync: sync_w,
        report: report_r,
        log,
        oci: oci.clone(),
        user: berth.user.clone(),
        seccomp: seccomp.filter(|_| !berth.privileged && !berth.seccomp_unconfined),
        group_add: berth.group_add.clone(),
        runtime: None,
    }))
}

/// Create the container with another OCI runtime ([`oci_runtime`]): returns once it is
/// created (the runtime's init waits for `start`).
fn create_with_runtime(
    bundle: &Path,
    oci: &Spec,
    berth: &ContainerSpec,
    binary: &Path,
) -> crate::Result<server::Shim> {
    let rt = oci_runtime::OciRuntime::new(binary, bundle, &berth.id);
    let layout = cgroups::detect()?;
    let limits = Limits::from_spec(oci);
    let cgroup_path = cgroup_path(oci, berth);
    let sigfd = sigchld_fd()?;
    oci_runtime::become_subreaper()?;

    let mut oci = oci.clone();
    oci_runtime::prepare_bundle(bundle, &mut oci, berth)?;
    let log = crate::jsonlog::LogWriter::open_spec(&berth.log_path, &berth.log)?;
    // With a TTY the runtime makes the pty and sends us its master.
    let (shim_stdio, child_stdio) = pipe_stdio(berth.open_stdin)?;
    // The cgroup is made (with its limits) by us, as for our own containers; the runtime
    // finds it and applies the same limits.
    let cgroup = Cgroup::create(&layout, &cgroup_path, &limits)?;
    let (pid, master) = match rt.create(bundle, child_stdio, berth.tty) {
        Ok(c) => c,
        Err(e) => {
            cgroup.remove();
            return Err(e);
        }
    };
    let fail = |e: crate::Error| {
        rt.delete();
        cgroup.remove();
        e
    };
    oci_runtime::loopback_up(&oci, pid).map_err(fail)?;
    let shim_stdio = match master {
        Some(m) => pty_stdio(m, berth.open_stdin, berth.console_size).map_err(fail)?,
        None => shim_stdio,
    };

    let listener = listen(bundle).map_err(fail)?;
    // Unused with a runtime (start is its `start`), but the server holds them.
    let (sync_r, sync_w) = pipe().map_err(fail)?;
    drop(sync_r);
    let (report_r, report_w) = pipe().map_err(fail)?;
    drop(report_w);
    // For execs (the runtime installs the init's).
    let seccomp = if !berth.privileged && !berth.seccomp_unconfined {
        seccomp_filter(&oci, berth).map_err(fail)?
    } else {
        None
    };
    Ok(server::Shim::new(server::Parts {
        bundle: bundle.to_path_buf(),
        tty: berth.tty,
        stdin_once: berth.stdin_once,
        pid,
        cgroup,
        listener,
        sigfd,
        stdio: shim_stdio,
        sync: sync_w,
        report: report_r,
        log,
        user: berth.user.clone(),
        seccomp,
        group_add: berth.group_add.clone(),
        oci,
        runtime: Some(rt),
    }))
}

/// The shim's socket, `<bundle>/shim.sock` (a stale one replaced), non-blocking.
fn listen(bundle: &Path) -> crate::Result<std::os::unix::net::UnixListener> {
    let sock_path = bundle.join(crate::client::SOCKET_FILE);
    let _ = std::fs::remove_file(&sock_path);
    let listener = crate::fsutil::socket_path(bundle, crate::client::SOCKET_FILE)
        .and_then(|(short, _dir)| std::os::unix::net::UnixListener::bind(short))
        .map_err(|e| crate::Error::io(format!("listening on {}", sock_path.display()), e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| crate::Error::io("socket", e))?;
    Ok(listener)
}

/// Read the init's report pipe: with `created`, stop after a lone `C`; otherwise (and
/// after an `E`) read to EOF.
pub(crate) fn read_report(fd: &impl AsFd, created: bool) -> Vec<u8> {
    let mut msg = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) => break,
            Ok(n) => {
                msg.extend_from_slice(&buf[..n]);
                if created && msg.as_slice() == b"C" {
                    break;
                }
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    msg
}
