//! The archive helper process: `berthd __archive OP PATH [flags]`, started by the daemon
//! (see the parent module), single-threaded, in the container's root: `stat`, `get` (a
//! tar of a path on stdout) and `put` (a tar from stdin extracted at a path).

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{
    EXIT_NOT_DIR, EXIT_NOT_FOUND, EXIT_ROOT_READ_ONLY, EXIT_VOLUME_READ_ONLY, GO_DIR, PathStat,
};

/// Entry point of `berthd __archive OP PATH [flags]` (before any thread or runtime exists);
/// returns the exit code.
pub fn helper_main(args: &[String]) -> i32 {
    match helper(args) {
        Ok(()) => 0,
        Err((code, message)) => {
            eprintln!("{message}");
            code
        }
    }
}

type HelperResult<T> = std::result::Result<T, (i32, String)>;

fn failed(e: impl std::fmt::Display) -> (i32, String) {
    (1, e.to_string())
}

fn helper(args: &[String]) -> HelperResult<()> {
    let (Some(op), Some(path)) = (args.first(), args.get(1)) else {
        return Err(failed("usage: berthd __archive stat|get|put PATH [flags]"));
    };
    let mut root_fd = None;
    let (mut upper, mut work, mut scratch) = (None, None, None);
    let mut lowers = Vec::new();
    // (destination, writable, source: empty when already mounted in a running root)
    let mut mounts: Vec<(String, bool, PathBuf)> = Vec::new();
    let mut read_only_root = false;
    // What `docker cp` writes into a container: `.wh.` names are plain files, everything
    // is root's unless `copyUIDGID`; device nodes are made (the container's device cgroup
    // decides who opens them).
    let mut opts = berth_archive::Options {
        whiteouts: berth_archive::Whiteouts::Plain,
        owners: berth_archive::Owners::Force { uid: 0, gid: 0 },
        devices: berth_archive::Devices::Allow,
        xattrs: berth_archive::Xattrs::Apply,
        ..berth_archive::Options::default()
    };
    let mut it = args[2..].iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| failed(format!("{a}: no value")))
        };
        match a.as_str() {
            "--root-fd" => root_fd = Some(value()?),
            "--upper" => upper = Some(PathBuf::from(value()?)),
            "--work" => work = Some(PathBuf::from(value()?)),
            "--scratch" => scratch = Some(PathBuf::from(value()?)),
            "--lower" => lowers.push(PathBuf::from(value()?)),
            "--mount" => {
                let (dst, mode, src) = (value()?, value()?, value()?);
                mounts.push((dst, mode == "rw", PathBuf::from(src)));
            }
            "--read-only-root" => read_only_root = true,
            "--copy-uid-gid" => opts.owners = berth_archive::Owners::FromArchive,
            "--no-overwrite-dir-non-dir" => opts.no_overwrite_dir_non_dir = true,
            other => return Err(failed(format!("unknown flag {other}"))),
        }
    }
    let root = match (root_fd, upper, work, scratch) {
        // A running container's root, opened by the daemon.
        (Some(fd), ..) => PathBuf::from(format!("/proc/self/fd/{fd}")),
        (None, Some(upper), Some(work), Some(scratch)) => {
            berth_runtime::linux::mount::private_overlay(&lowers, &upper, &work, &scratch)
                .map_err(failed)?
        }
        _ => return Err(failed("no container root given")),
    };
    // A stopped container's volumes and binds, parents first, in the helper's namespace.
    mounts.sort_by_key(|(dst, ..)| dst.matches('/').count());
    for (dst, rw, src) in &mounts {
        if !src.as_os_str().is_empty() {
            berth_runtime::linux::mount::bind_in_root(&root, src, Path::new(dst), !rw)
                .map_err(failed)?;
        }
    }
    berth_runtime::linux::mount::chroot_into(&root).map_err(failed)?;

    let req = Request::new(path);
    let resolved = req.resolve().map_err(not_found_or_failed)?;
    let stat = path_stat(&req.name(), &resolved).map_err(not_found_or_failed)?;
    let mut out = std::io::stdout().lock();
    match op.as_str() {
        "stat" => {
            let line = serde_json::to_string(&stat).map_err(failed)?;
            writeln!(out, "{line}").map_err(failed)
        }
        "get" => {
            let line = serde_json::to_string(&stat).map_err(failed)?;
            writeln!(out, "{line}").map_err(failed)?;
            // Docker's cp carries only file capabilities among extended attributes.
            let opts = berth_archive::WriteOptions {
                xattrs: berth_archive::XattrSet::Capability,
            };
            let mut tar = berth_archive::Writer::new(
                std::io::BufWriter::with_capacity(256 * 1024, out),
                opts,
            );
            tar.path(&resolved, stat.name.as_bytes()).map_err(failed)?;
            tar.finish().map_err(failed)?.flush().map_err(failed)
        }
        "put" => {
            if !stat.is_dir() {
                return Err((EXIT_NOT_DIR, "extraction point is not a directory".into()));
            }
            // dockerd's check on the resolved path: the innermost mount that holds it.
            let inner = mounts
                .iter()
                .filter(|(dst, ..)| within(&resolved, Path::new(dst)))
                .max_by_key(|(dst, ..)| dst.len());
            match inner {
                Some((_, false, _)) => {
                    return Err((
                        EXIT_VOLUME_READ_ONLY,
                        "mounted volume is marked read-only".into(),
                    ));
                }
                None if read_only_root => {
                    return Err((
                        EXIT_ROOT_READ_ONLY,
                        "container rootfs is marked read-only".into(),
                    ));
                }
                _ => {}
            }
            berth_archive::extract(std::io::stdin().lock(), &resolved, &opts)
                .map(drop)
                .map_err(failed)
        }
        other => Err(failed(format!("unknown operation {other}"))),
    }
}

/// Whether `path` is `dir` or below it.
fn within(path: &Path, dir: &Path) -> bool {
    path.starts_with(dir)
}

fn not_found_or_failed(e: std::io::Error) -> (i32, String) {
    if matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    ) {
        (EXIT_NOT_FOUND, e.to_string())
    } else {
        failed(e)
    }
}

/// A requested path as Docker reads it: absolute, cleaned, a trailing `/` or `/.` kept
/// (they ask to follow a final symlink, or for a directory's contents).
#[derive(Debug, PartialEq, Eq)]
struct Request {
    abs: String,
}

impl Request {
    fn new(path: &str) -> Request {
        let mut abs = clean(&format!("/{path}"));
        let base = |p: &str| p.rsplit('/').next().unwrap_or("").to_string();
        if base(&abs) != "." && (path == "." || path.ends_with("/.")) {
            if !abs.ends_with('/') {
                abs.push('/');
            }
            abs.push('.');
        }
        if !abs.ends_with('/') && path.ends_with('/') {
            abs.push('/');
        }
        Request { abs }
    }

    /// Go's `filepath.Base` of the path: the name its archive entries get.
    fn name(&self) -> String {
        let t = self.abs.trim_end_matches('/');
        if t.is_empty() {
            "/".into()
        } else {
            t.rsplit('/').next().unwrap_or("/").to_string()
        }
    }

    /// Every symlink of the directory part followed (inside the root), the last element
    /// kept as it is (a trailing `/` makes the kernel follow it too).
    fn resolve(&self) -> std::io::Result<PathBuf> {
        let split = self.abs.rfind('/').unwrap_or(0) + 1;
        let (dir, base) = self.abs.split_at(split);
        let dir = std::fs::canonicalize(dir)?;
        let mut s = dir.to_string_lossy().into_owned();
        if !s.ends_with('/') {
            s.push('/');
        }
        s.push_str(base);
        Ok(PathBuf::from(s))
    }
}

/// Go's `path.Clean` of an absolute path.
fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Go's `os.FileMode` bits (`GO_DIR` is the parent's, which [`PathStat`] reads).
const GO_SYMLINK: u32 = 1 << 27;
const GO_DEVICE: u32 = 1 << 26;
const GO_PIPE: u32 = 1 << 25;
const GO_SOCKET: u32 = 1 << 24;
const GO_SETUID: u32 = 1 << 23;
const GO_SETGID: u32 = 1 << 22;
const GO_CHAR: u32 = 1 << 21;
const GO_STICKY: u32 = 1 << 20;

/// A Unix `st_mode` as Go's `os.FileMode`.
fn go_mode(st_mode: u32) -> u32 {
    let mut m = st_mode & 0o777;
    m |= match st_mode & libc::S_IFMT {
        libc::S_IFDIR => GO_DIR,
        libc::S_IFLNK => GO_SYMLINK,
        libc::S_IFBLK => GO_DEVICE,
        libc::S_IFCHR => GO_DEVICE | GO_CHAR,
        libc::S_IFIFO => GO_PIPE,
        libc::S_IFSOCK => GO_SOCKET,
        _ => 0,
    };
    for (bit, go) in [
        (libc::S_ISUID, GO_SETUID),
        (libc::S_ISGID, GO_SETGID),
        (libc::S_ISVTX, GO_STICKY),
    ] {
        if st_mode & bit != 0 {
            m |= go;
        }
    }
    m
}

/// RFC 3339 with nanoseconds as Go prints them (trailing zeros dropped).
fn go_rfc3339(t: std::time::SystemTime) -> String {
    let s = humantime::format_rfc3339_nanos(t).to_string();
    match s.strip_suffix('Z').and_then(|b| b.split_once('.')) {
        Some((secs, frac)) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                format!("{secs}Z")
            } else {
                format!("{secs}.{frac}Z")
            }
        }
        None => s,
    }
}

fn path_stat(name: &str, resolved: &Path) -> std::io::Result<PathStat> {
    let md = std::fs::symlink_metadata(resolved)?;
    let link_target = if md.file_type().is_symlink() {
        match std::fs::canonicalize(resolved) {
            Ok(p) => p.to_string_lossy().into_owned(),
            Err(_) => std::fs::read_link(resolved)?.to_string_lossy().into_owned(),
        }
    } else {
        String::new()
    };
    Ok(PathStat {
        name: name.to_string(),
        size: md.len() as i64,
        mode: go_mode(md.mode()),
        mtime: go_rfc3339(md.modified()?),
        link_target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_as_docker_reads_them() {
        let abs = |p: &str| Request::new(p).abs;
        assert_eq!(abs("d"), "/d");
        assert_eq!(abs("/d/"), "/d/");
        assert_eq!(abs("/d/."), "/d/.");
        assert_eq!(abs("/d//e/../f"), "/d/f");
        assert_eq!(abs("/../.."), "/");
        assert_eq!(abs("/"), "/");
        assert_eq!(abs("."), "/.");
        let name = |p: &str| Request::new(p).name();
        assert_eq!(name("/d/"), "d");
        assert_eq!(name("/d/."), ".");
        assert_eq!(name("/"), "/");
        assert_eq!(name("/a/b"), "b");
    }

    #[test]
    fn modes_and_times_as_go_prints_them() {
        assert_eq!(go_mode(libc::S_IFDIR | 0o755), 2_147_484_141);
        assert_eq!(go_mode(libc::S_IFLNK | 0o777), 134_218_239);
        assert_eq!(go_mode(libc::S_IFREG | 0o644), 420);
        assert_eq!(
            go_mode(libc::S_IFREG | libc::S_ISUID | 0o755),
            (1 << 23) | 0o755
        );
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_500);
        assert_eq!(go_rfc3339(t), "1970-01-01T00:00:01.5Z");
        assert_eq!(
            go_rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_secs(2)),
            "1970-01-01T00:00:02Z"
        );
    }
}
