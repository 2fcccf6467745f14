//! Thin wrappers over the kernel calls the shim and the container init make. Each module
//! is small and does one kind of thing, so the privileged paths are easy to audit.

pub mod caps;
pub mod cgroups;
pub mod mount;
pub mod mountinfo;
pub mod net;
pub mod procs;
pub mod pty;
pub mod seccomp;

/// Turn a `nix` error into this crate's error with context.
pub(crate) fn nix_err(context: impl Into<String>, e: nix::errno::Errno) -> crate::Error {
    crate::Error::io(context, std::io::Error::from_raw_os_error(e as i32))
}

/// Mark every descriptor from 3 up close-on-exec, so nothing the shim inherited (from the
/// daemon, or from whatever started the daemon) reaches the container's process, as runc
/// does before its exec. close_range(2) where the kernel has it (5.11+), else one fcntl per
/// open descriptor listed in /proc/self/fd.
pub fn cloexec_from_3() -> crate::Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only changes descriptor flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r == 0 {
        return Ok(());
    }
    for fd in fds_from_3()? {
        // SAFETY: F_SETFD on a descriptor number changes only its flags; one that was the
        // read_dir's own (now closed) fails with EBADF, which is fine.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

/// The descriptors of this process from 3 up, as /proc/self/fd lists them (the listing's
/// own descriptor, closed when this returns, included).
fn fds_from_3() -> crate::Result<Vec<i32>> {
    let dir = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| crate::Error::io("listing /proc/self/fd", e))?;
    Ok(dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd >= 3)
        .collect())
}

/// Close every descriptor from 3 up: a process that starts from a clean table (the shim)
/// keeps nothing that whoever started it left open. close_range(2) where the kernel has it
/// (5.9+), else each descriptor listed in /proc/self/fd.
pub fn close_from_3() -> crate::Result<()> {
    // SAFETY: close_range only closes descriptors; the caller owns none above 2 yet.
    let r = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    if r == 0 {
        return Ok(());
    }
    for fd in fds_from_3()? {
        // SAFETY: closing a descriptor number nothing in this process owns (the listing's
        // own, already closed, fails with EBADF).
        unsafe { libc::close(fd) };
    }
    Ok(())
}

/// Have the kernel send SIGKILL to this process when its parent (the shim) dies, so a
/// container never outlives its shim. Cleared by a change of credentials (setuid, setgid),
/// so it is set again after the switch to the container's user.
pub fn die_with_parent() -> crate::Result<()> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    if r != 0 {
        return Err(crate::Error::io(
            "setting the parent-death signal",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}
