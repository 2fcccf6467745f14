//! Finding the container's program like Go's `exec.LookPath` (which is what gives Docker
//! its error messages), relative to a root directory (`/` inside the container).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// PATH when the container's environment has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Why the program could not be run; `code` is the exit code Docker reports (127 or 126).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecError {
    pub message: String,
    pub code: i32,
}

impl ExecError {
    pub fn not_found(name: &str) -> Self {
        ExecError {
            message: format!("exec: \"{name}\": executable file not found in $PATH"),
            code: 127,
        }
    }

    /// From an errno of `execve` or `stat`.
    pub fn from_errno(name: &str, errno: nix::errno::Errno, stat: bool) -> Self {
        use nix::errno::Errno;
        let code = match errno {
            Errno::ENOENT | Errno::ENOTDIR => 127,
            _ => 126,
        };
        let desc = errno.desc().to_lowercase();
        let message = if stat {
            format!("exec: \"{name}\": stat {name}: {desc}")
        } else {
            format!("exec: \"{name}\": {desc}")
        };
        ExecError { message, code }
    }
}

/// The PATH value in `env` (`KEY=value` list), or [`DEFAULT_PATH`].
pub fn path_from_env(env: &[String]) -> &str {
    env.iter()
        .rev()
        .find_map(|kv| kv.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH)
}

fn check(root: &Path, path: &Path) -> Result<(), nix::errno::Errno> {
    let full = root.join(path.strip_prefix("/").unwrap_or(path));
    let meta = std::fs::metadata(full)
        .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::ENOENT)))?;
    if meta.is_dir() || meta.permissions().mode() & 0o111 == 0 {
        return Err(nix::errno::Errno::EACCES);
    }
    Ok(())
}

/// Look `name` up: with a `/` it is used as is, otherwise each PATH entry is tried. The
/// returned path is relative to the container (as given to execve after pivot_root).
pub fn lookup(name: &str, path_var: &str, cwd: &Path, root: &Path) -> Result<PathBuf, ExecError> {
    if name.is_empty() {
        return Err(ExecError::not_found(name));
    }
    if name.contains('/') {
        let p = cwd.join(name);
        return match check(root, &p) {
            Ok(()) => Ok(PathBuf::from(name)),
            Err(e) => Err(ExecError::from_errno(
                name,
                e,
                e != nix::errno::Errno::EACCES,
            )),
        };
    }
    let mut denied = false;
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(name);
        match check(root, &cwd.join(&candidate)) {
            Ok(()) => return Ok(candidate),
            Err(nix::errno::Errno::EACCES) => denied = true,
            Err(_) => {}
        }
    }
    if denied {
        Err(ExecError::from_errno(
            name,
            nix::errno::Errno::EACCES,
            false,
        ))
    } else {
        Err(ExecError::not_found(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(root: &Path, rel: &str, mode: u32) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn finds_in_path_order() {
        let d = tempfile::tempdir().unwrap();
        file(d.path(), "usr/bin/tool", 0o755);
        file(d.path(), "bin/tool", 0o755);
        let cwd = Path::new("/");
        assert_eq!(
            lookup("tool", "/usr/bin:/bin", cwd, d.path()).unwrap(),
            PathBuf::from("/usr/bin/tool")
        );
        assert_eq!(
            lookup("tool", "/nope:/bin", cwd, d.path()).unwrap(),
            PathBuf::from("/bin/tool")
        );
    }

    #[test]
    fn errors_read_like_docker() {
        let d = tempfile::tempdir().unwrap();
        file(d.path(), "bin/noexec", 0o644);
        std::fs::create_dir_all(d.path().join("bin/adir")).unwrap();
        let cwd = Path::new("/");
        let e = lookup("nosuch", DEFAULT_PATH, cwd, d.path()).unwrap_err();
        assert_eq!(
            e.message,
            "exec: \"nosuch\": executable file not found in $PATH"
        );
        assert_eq!(e.code, 127);
        let e = lookup("noexec", "/bin", cwd, d.path()).unwrap_err();
        assert_eq!(e.message, "exec: \"noexec\": permission denied");
        assert_eq!(e.code, 126);
        let e = lookup("/bin/noexec", "/bin", cwd, d.path()).unwrap_err();
        assert_eq!(e.message, "exec: \"/bin/noexec\": permission denied");
        let e = lookup("/bin/adir", "/bin", cwd, d.path()).unwrap_err();
        assert_eq!(e.code, 126);
        let e = lookup("/no/such", "/bin", cwd, d.path()).unwrap_err();
        assert_eq!(
            e.message,
            "exec: \"/no/such\": stat /no/such: no such file or directory"
        );
        assert_eq!(e.code, 127);
    }

    #[test]
    fn relative_names_use_cwd() {
        let d = tempfile::tempdir().unwrap();
        file(d.path(), "app/run.sh", 0o755);
        assert_eq!(
            lookup("./run.sh", "/bin", Path::new("/app"), d.path()).unwrap(),
            PathBuf::from("./run.sh")
        );
        assert!(lookup("./run.sh", "/bin", Path::new("/"), d.path()).is_err());
    }

    #[test]
    fn path_env() {
        let env = vec!["A=1".to_string(), "PATH=/x:/y".to_string()];
        assert_eq!(path_from_env(&env), "/x:/y");
        assert_eq!(path_from_env(&[]), DEFAULT_PATH);
    }
}
