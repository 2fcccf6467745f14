//! A process exec'd into a running container (`docker exec`), between fork and execve.
//!
//! The shim forks it; since the shim unshared the pid namespace before forking the
//! container's init, its children are born in the container's pid namespace. The child
//! moves itself into the container's cgroup, joins the init's other namespaces (mount
//! last, which also puts it under the container's root), takes the container's
//! capabilities (all with `privileged`), rlimits, user and working directory, and execs.
//! Errors go to the shim over the close-on-exec `report` pipe, as for the init.

use std::os::fd::OwnedFd;
use std::path::Path;

use nix::sched::CloneFlags;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::init::{ChildStdio, Prepared, become_user, fail, report_and_exit, set_rlimit};
use crate::execpath::ExecError;
use crate::linux::caps::CapSets;
use crate::linux::cgroups::CgroupManager;
use crate::linux::nix_err;
use crate::protocol::ExecProcess;

/// Everything the exec'd process needs, prepared by the shim before fork.
pub struct ExecArgs<'a> {
    pub oci: &'a Spec,
    pub process: &'a ExecProcess,
    /// Host pid of the container's init, whose namespaces are joined.
    pub init_pid: Pid,
    pub cgroup: &'a dyn CgroupManager,
    pub stdio: ChildStdio,
    pub report: OwnedFd,
    /// The container's `--group-add`.
    pub group_add: &'a [String],
    /// The container's seccomp filter (config.json's, compiled; none with `--privileged`
    /// or `seccomp=unconfined`).
    pub seccomp: Option<&'a crate::linux::seccomp::Filter>,
}

/// Run the exec'd process; never returns.
pub fn run(args: ExecArgs<'_>) -> ! {
    let report = args.report.try_clone();
    let err = setup_and_exec(args);
    report_and_exit(report, &err)
}

fn setup_and_exec(a: ExecArgs<'_>) -> ExecError {
    match setup(&a) {
        Ok(prepared) => prepared.exec(),
        Err(e) => e,
    }
}

fn setup(a: &ExecArgs<'_>) -> Result<Prepared, ExecError> {
    // Dies with the shim, as the container's init does.
    crate::linux::die_with_parent().map_err(fail)?;
    a.cgroup.enter().map_err(fail)?;

    a.stdio.install()?;

    // Open every namespace first: once in the mount namespace, /proc is the container's.
    let linux = a.oci.linux().as_ref();
    let mut joins = Vec::new();
    let mut mnt = None;
    for ns in linux
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
    {
        let (name, flag) = match ns.typ() {
            LinuxNamespaceType::Mount => ("mnt", CloneFlags::CLONE_NEWNS),
            LinuxNamespaceType::Uts => ("uts", CloneFlags::CLONE_NEWUTS),
            LinuxNamespaceType::Ipc => ("ipc", CloneFlags::CLONE_NEWIPC),
            LinuxNamespaceType::Network => ("net", CloneFlags::CLONE_NEWNET),
            LinuxNamespaceType::Cgroup => ("cgroup", CloneFlags::CLONE_NEWCGROUP),
            // Already ours: we were forked into it.
            _ => continue,
        };
        let path = format!("/proc/{}/ns/{name}", a.init_pid);
        let f = std::fs::File::open(&path).map_err(|e| fail(format!("opening {path}: {e}")))?;
        if flag == CloneFlags::CLONE_NEWNS {
            mnt = Some((path, f));
        } else {
            joins.push((path, f, flag));
        }
    }
    for (path, f, flag) in joins {
        nix::sched::setns(f, flag).map_err(|e| fail(nix_err(format!("joining {path}"), e)))?;
    }
    if let Some((path, f)) = mnt {
        nix::sched::setns(f, CloneFlags::CLONE_NEWNS)
            .map_err(|e| fail(nix_err(format!("joining {path}"), e)))?;
    }

    let oci_process = a.oci.process().as_ref();
    for r in oci_process
        .and_then(|p| p.rlimits().as_deref())
        .unwrap_or(&[])
    {
        set_rlimit(r)?;
    }
    let caps = if a.process.privileged {
        Some(CapSets::all())
    } else {
        oci_process
            .and_then(|p| p.capabilities().as_ref())
            .map(CapSets::from_spec)
            .transpose()
            .map_err(fail)?
    };
    let container_cwd = oci_process.map(|p| p.cwd().clone()).unwrap_or_default();
    let cwd = if a.process.cwd.is_empty() {
        container_cwd
    } else {
        a.process.cwd.clone().into()
    };
    crate::linux::cloexec_from_3().map_err(fail)?;
    // As runc does for `docker exec`, even `exec --privileged` keeps the container's
    // filter (more capabilities, same system call policy).
    if let Some(f) = a.seccomp {
        f.install().map_err(fail)?;
    }
    let u = become_user(&a.process.user, a.group_add, caps.as_ref(), &cwd, false)?;
    // A new user cleared the parent-death signal (best effort under a seccomp profile
    // that refuses prctl: the daemon kills what a dead shim leaves).
    let _ = crate::linux::die_with_parent();
    if oci_process
        .and_then(|p| p.no_new_privileges())
        .unwrap_or(false)
    {
        crate::linux::seccomp::no_new_privs().map_err(fail)?;
    }
    Prepared::new(
        &a.process.args,
        a.process.env.clone(),
        &u.home,
        Path::new(&cwd),
    )
}
