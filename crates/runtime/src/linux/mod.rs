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
