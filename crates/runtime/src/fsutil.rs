//! Small file helpers shared by the daemon and the shim.

use std::io::Write;
use std::path::Path;

/// Write `data` to `path` through `<path>.tmp` and a rename, so readers see the old file or
/// the whole new one. With `sync`, the data is fsynced before the rename.
pub fn write_atomic(path: &Path, data: &[u8], sync: bool) -> crate::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = Path::new(&tmp);
    let ctx = || format!("writing {}", path.display());
    let mut f = std::fs::File::create(tmp).map_err(|e| crate::Error::io(ctx(), e))?;
    f.write_all(data).map_err(|e| crate::Error::io(ctx(), e))?;
    if sync {
        f.sync_all().map_err(|e| crate::Error::io(ctx(), e))?;
    }
    drop(f);
    std::fs::rename(tmp, path).map_err(|e| crate::Error::io(ctx(), e))
}

/// Longest socket path we hand to bind/connect directly (`sun_path` holds 108 bytes).
const MAX_SOCKET_PATH: usize = 100;

/// A path to the socket `name` in `dir` short enough for `sun_path`. Deep directories are
/// reached through `/proc/self/fd/<fd>/<name>`, with `fd` an `O_PATH` handle on `dir` that
/// the caller keeps open while it binds or connects.
pub fn socket_path(
    dir: &Path,
    name: &str,
) -> std::io::Result<(std::path::PathBuf, Option<std::fs::File>)> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    let full = dir.join(name);
    if full.as_os_str().len() <= MAX_SOCKET_PATH {
        return Ok((full, None));
    }
    let handle = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)?;
    let short = format!("/proc/self/fd/{}/{name}", handle.as_raw_fd());
    Ok((short.into(), Some(handle)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_directories_get_short_socket_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("a".repeat(60)).join("b".repeat(60));
        std::fs::create_dir_all(&deep).unwrap();
        let (path, handle) = socket_path(&deep, "x.sock").unwrap();
        assert!(handle.is_some());
        assert!(path.as_os_str().len() < 40);
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        assert!(deep.join("x.sock").exists());
        let (path2, _h2) = socket_path(&deep, "x.sock").unwrap();
        std::os::unix::net::UnixStream::connect(&path2).unwrap();
        listener.accept().unwrap();
        let (p, h) = socket_path(tmp.path(), "y.sock").unwrap();
        assert!(h.is_none());
        assert_eq!(p, tmp.path().join("y.sock"));
    }
}
