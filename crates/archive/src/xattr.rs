//! Reading extended attributes without following symlinks, as small safe wrappers: of an
//! open file or directory (`flistxattr`, `fgetxattr`), or of an entry named by a
//! `/proc/self/fd/<dirfd>/<name>` path (`llistxattr`, `lgetxattr`), so the parent
//! directory is the one the caller holds open and the entry itself is never followed.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// What to read the attributes of.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// An open file or directory.
    Fd(BorrowedFd<'a>),
    /// A path whose last element is not followed.
    Path(&'a Path),
}

/// A [`Target`] ready for the system calls.
enum Raw {
    Fd(std::os::fd::RawFd),
    Path(CString),
}

impl Raw {
    fn of(target: Target<'_>) -> io::Result<Raw> {
        Ok(match target {
            Target::Fd(fd) => Raw::Fd(fd.as_raw_fd()),
            Target::Path(p) => Raw::Path(
                CString::new(p.as_os_str().as_bytes())
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "nul byte in path"))?,
            ),
        })
    }
}

/// Names of the extended attributes of `target`.
pub fn list(target: Target<'_>) -> io::Result<Vec<CString>> {
    let raw = Raw::of(target)?;
    let mut buf = vec![0u8; 1024];
    loop {
        let n = match &raw {
            // SAFETY: valid nul-terminated path and a buffer of the given length.
            Raw::Path(p) => unsafe {
                libc::llistxattr(p.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
            },
            // SAFETY: valid fd and a buffer of the given length.
            Raw::Fd(fd) => unsafe { libc::flistxattr(*fd, buf.as_mut_ptr().cast(), buf.len()) },
        };
        if n >= 0 {
            buf.truncate(n as usize);
            break;
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::ERANGE) => buf.resize(buf.len() * 4, 0),
            Some(libc::ENOTSUP) => return Ok(Vec::new()),
            _ => return Err(e),
        }
    }
    Ok(buf
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .filter_map(|s| CString::new(s).ok())
        .collect())
}

/// The value of attribute `name` of `target`, `None` if it has none.
pub fn get(target: Target<'_>, name: &CStr) -> io::Result<Option<Vec<u8>>> {
    let raw = Raw::of(target)?;
    let mut buf = vec![0u8; 256];
    loop {
        let n = match &raw {
            // SAFETY: valid nul-terminated strings and a buffer of the given length.
            Raw::Path(p) => unsafe {
                libc::lgetxattr(
                    p.as_ptr(),
                    name.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            },
            // SAFETY: valid fd, nul-terminated name and a buffer of the given length.
            Raw::Fd(fd) => unsafe {
                libc::fgetxattr(*fd, name.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
            },
        };
        if n >= 0 {
            buf.truncate(n as usize);
            return Ok(Some(buf));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::ERANGE) => buf.resize(buf.len() * 4, 0),
            Some(libc::ENODATA) | Some(libc::ENOTSUP) => return Ok(None),
            _ => return Err(e),
        }
    }
}
