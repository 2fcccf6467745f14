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

/// A new pty pair from the devpts instance of a container whose root is `root` (e.g.
/// `/proc/<pid>/root`), so that inside it the slave is `/dev/pts/N` (ttyname works).
/// `dev/pts/ptmx` is resolved inside `root` without following any symlink and must be
/// the ptmx device before it is opened for real; the slave comes from TIOCGPTPEER.
pub fn open_in(root: &std::path::Path) -> crate::Result<(OwnedFd, OwnedFd)> {
    use std::os::fd::FromRawFd;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let io = |what: &str| crate::Error::io(what.to_string(), std::io::Error::last_os_error());
    let dir = std::fs::File::open(root)
        .map_err(|e| crate::Error::io(format!("opening {}", root.display()), e))?;
    /// `struct open_how` (linux/openat2.h).
    #[repr(C)]
    struct OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    }
    let how = OpenHow {
        flags: (libc::O_PATH | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS,
    };
    let path = c"dev/pts/ptmx";
    // SAFETY: openat2 reads `path` and `how`, both valid for the call; it returns a new fd.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        return Err(io("opening the container's dev/pts/ptmx"));
    }
    // SAFETY: the kernel just returned this fd to us; nobody else owns it.
    let handle = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let meta = std::fs::metadata(format!("/proc/self/fd/{}", handle.as_raw_fd()))
        .map_err(|e| crate::Error::io("stat of the container's ptmx", e))?;
    if !meta.file_type().is_char_device() || meta.rdev() != libc::makedev(5, 2) {
        return Err(crate::Error::Invalid(
            "the container's dev/pts/ptmx is not the ptmx device".into(),
        ));
    }
    let master = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags_noctty()
        .open(format!("/proc/self/fd/{}", handle.as_raw_fd()))
        .map_err(|e| crate::Error::io("opening the container's ptmx", e))?;
    let master = OwnedFd::from(master);
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads an int from the pointer, valid for the call.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) } < 0 {
        return Err(io("unlocking the pty"));
    }
    // SAFETY: TIOCGPTPEER takes open flags and returns a new fd for the slave.
    let slave = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if slave < 0 {
        return Err(io("opening the pty's slave"));
    }
    // SAFETY: the kernel just returned this fd to us; nobody else owns it.
    Ok((master, unsafe { OwnedFd::from_raw_fd(slave) }))
}

/// `O_NOCTTY | O_CLOEXEC` for [`std::fs::OpenOptions`].
trait NoCtty {
    fn custom_flags_noctty(&mut self) -> &mut Self;
}

impl NoCtty for std::fs::OpenOptions {
    fn custom_flags_noctty(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
    }
}
