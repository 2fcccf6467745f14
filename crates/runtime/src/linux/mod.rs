//! Thin wrappers over the kernel calls the shim and the container init make. Each module
//! is small and does one kind of thing, so the privileged paths are easy to audit.

pub mod caps;
pub mod cgroups;
pub mod mount;
pub mod net;
pub mod pty;
pub mod seccomp;
pub mod syscalls_x86_64;

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
    let dir = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| crate::Error::io("listing /proc/self/fd", e))?;
    let fds: Vec<i32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd >= 3)
        .collect();
    for fd in fds {
        // SAFETY: F_SETFD on a descriptor number changes only its flags; one that was the
        // read_dir's own (now closed) fails with EBADF, which is fine.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}
