//! Reading extended attributes without following symlinks (`llistxattr`, `lgetxattr`),
//! as small safe wrappers. Callers pass `/proc/self/fd/<dirfd>/<name>` paths, so the
//! parent directory is the one they hold open and the entry itself is never followed.

use std::ffi::{CStr, CString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn c_path(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "nul byte in path"))
}

/// Names of the extended attributes of `path` (the entry itself, not a symlink's target).
pub fn list(path: &Path) -> io::Result<Vec<CString>> {
    let p = c_path(path)?;
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: valid nul-terminated path and a buffer of the given length.
        let n = unsafe { libc::llistxattr(p.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
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

/// The value of attribute `name` of `path`, `None` if it has none.
pub fn get(path: &Path, name: &CStr) -> io::Result<Option<Vec<u8>>> {
    let p = c_path(path)?;
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: valid nul-terminated strings and a buffer of the given length.
        let n = unsafe {
            libc::lgetxattr(
                p.as_ptr(),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
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
