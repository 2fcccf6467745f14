//! Pseudo-terminals for containers started with a TTY.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::nix_err;

/// A new pty pair: (master, slave), both close-on-exec.
pub fn open() -> crate::Result<(OwnedFd, OwnedFd)> {
    let pty = nix::pty::openpty(None, None).map_err(|e| nix_err("openpty", e))?;
    for fd in [&pty.master, &pty.slave] {
        nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )
        .map_err(|e| nix_err("setting close-on-exec on pty", e))?;
    }
    Ok((pty.master, pty.slave))
}

/// Set the terminal size (TIOCSWINSZ).
pub fn set_size(fd: BorrowedFd<'_>, width: u16, height: u16) -> crate::Result<()> {
    let ws = libc::winsize {
        ws_row: height,
        ws_col: width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize from the pointer, which is valid for the call.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    if r < 0 {
        return Err(crate::Error::io(
            "resizing pty",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Make `fd` (a pty slave) the controlling terminal of the calling session leader.
pub fn set_controlling(fd: BorrowedFd<'_>) -> crate::Result<()> {
    // SAFETY: TIOCSCTTY takes an int argument and no pointers.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) };
    if r < 0 {
        return Err(crate::Error::io(
            "setting controlling terminal",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}
