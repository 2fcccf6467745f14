//! `--runtime NAME`: which OCI runtime creates a container. Berth's own (the shim's init)
//! is the default; others (`berthd --add-runtime NAME=PATH`, and `runc` when it is on
//! PATH) are driven by the shim through their command line. `berthd --default-runtime`
//! picks the one for containers that name none.
//!
//! Also `--init`'s binary ([`InitBinary`], `berthd --init-path`): a static tini that every
//! runtime bind-mounts at `/sbin/docker-init` and runs as PID 1, as dockerd does.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};

use berth_models::Runtime;

use crate::Engine;
use crate::error::{Error, Result};

/// The name of Berth's own runtime, the default.
pub const DEFAULT_RUNTIME: &str = "berth";

impl Engine {
    /// The runtime a container asks for (HostConfig.Runtime, "" for the default): its name
    /// as recorded, and the binary for another runtime. 400 like Docker for an unknown one.
    pub(crate) fn runtime_for(&self, requested: &str) -> Result<(String, Option<PathBuf>)> {
        let requested = if requested.is_empty() {
            self.config().default_runtime.as_str()
        } else {
            requested
        };
        if requested.is_empty() || requested == DEFAULT_RUNTIME {
            return Ok((DEFAULT_RUNTIME.to_string(), None));
        }
        match self.config().runtimes.get(requested) {
            Some(path) => Ok((requested.to_string(), Some(path.clone()))),
            None => Err(Error::invalid(format!(
                "unknown or invalid runtime name: {requested}"
            ))),
        }
    }

    /// `GET /info` Runtimes and DefaultRuntime.
    pub fn runtimes_info(&self) -> (BTreeMap<String, Runtime>, &str) {
        let runtime = |path: &Path| Runtime {
            path: path.display().to_string(),
            ..Default::default()
        };
        let mut m = BTreeMap::new();
        m.insert(
            DEFAULT_RUNTIME.to_string(),
            runtime(&self.config().shim_binary),
        );
        for (name, path) in &self.config().runtimes {
            m.insert(name.clone(), runtime(path));
        }
        let default = match self.config().default_runtime.as_str() {
            "" => DEFAULT_RUNTIME,
            d => d,
        };
        (m, default)
    }
}

/// The init binary of `--init`, found when berthd starts.
#[derive(Debug, Clone)]
pub struct InitBinary {
    /// `/info`'s `InitBinary`: `--init-path` as given, else `docker-init` (as dockerd).
    pub name: String,
    /// The static executable containers bind-mount at `/sbin/docker-init`, or why there is
    /// none (the message a start with `--init` then fails with).
    pub path: std::result::Result<PathBuf, String>,
    /// `/info`'s `InitCommit.ID`: the git commit its `--version` prints (tini's
    /// `tini version 0.19.0 - git.de40ad0`; Debian's prints none).
    pub commit: String,
}

/// The name dockerd looks for when no `--init-path` is given.
const DOCKER_INIT: &str = "docker-init";
/// Debian's static tini (package `tini`), which its docker.io links `docker-init` to.
const TINI_STATIC: &str = "tini-static";

impl InitBinary {
    /// Find the init binary. With `--init-path` (`flag`): that path, or that name looked up
    /// as dockerd does (its libexec dirs, then PATH); it must be a static executable, else
    /// an error. Without: `docker-init`, then `tini-static`, the first static one; with
    /// none, `path` holds dockerd's message and `--init` containers fail to start with it.
    pub fn find(flag: Option<&str>) -> Result<InitBinary> {
        let (name, path) = match flag {
            Some(f) => {
                let path = lookup_bin_path(f).ok_or_else(|| {
                    Error::invalid(if f.contains('/') {
                        format!("{f}: no such executable file")
                    } else {
                        not_found(f)
                    })
                })?;
                check_static(f, &path).map_err(Error::invalid)?;
                (f.to_string(), Ok(path))
            }
            None => {
                let mut path = Err(not_found(DOCKER_INIT));
                for name in [DOCKER_INIT, TINI_STATIC] {
                    let Some(p) = lookup_bin_path(name) else {
                        continue;
                    };
                    match check_static(name, &p) {
                        Ok(()) => {
                            path = Ok(p);
                            break;
                        }
                        Err(e) => {
                            tracing::warn!("{e}");
                            if path.as_ref().is_err_and(|m| m.starts_with("exec: ")) {
                                path = Err(e);
                            }
                        }
                    }
                }
                (DOCKER_INIT.to_string(), path)
            }
        };
        let commit = match &path {
            Ok(p) => init_commit(p),
            Err(e) => {
                tracing::warn!("--init will not work: {e}");
                String::new()
            }
        };
        Ok(InitBinary { name, path, commit })
    }
}

/// Go's `exec.LookPath` error, which dockerd returns as it is.
fn not_found(name: &str) -> String {
    format!("exec: {name:?}: executable file not found in $PATH")
}

/// dockerd's `lookupBinPath`: a path as it is; a name in the libexec dirs (FHS 3.0 and
/// 2.3, with a `docker/` subdir, and without for `docker-*` names), then in PATH.
fn lookup_bin_path(binary: &str) -> Option<PathBuf> {
    if binary.contains('/') {
        let p = std::path::absolute(binary).ok()?;
        return is_executable(&p).then_some(p);
    }
    let mut dirs: Vec<PathBuf> = [
        "/usr/local/libexec/docker",
        "/usr/libexec/docker",
        "/usr/local/lib/docker",
        "/usr/lib/docker",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    if binary.starts_with("docker-") {
        dirs.extend(["/usr/local/libexec", "/usr/libexec"].map(PathBuf::from));
    }
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    dirs.into_iter()
        .map(|d| d.join(binary))
        .find(|p| is_executable(p))
}

/// A regular file (symlinks followed) with an execute bit, as `exec.LookPath` checks.
fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The init runs inside the container, whose image may have no libc at all: it must be
/// an ELF executable without a program interpreter (statically linked, static-pie too).
fn check_static(name: &str, path: &Path) -> std::result::Result<(), String> {
    match elf_interpreter(path) {
        Ok(false) => Ok(()),
        Ok(true) => Err(format!(
            "init binary {name} ({}) is dynamically linked: --init runs it in the container, \
             whose image may lack its libraries (give a static one with berthd --init-path)",
            path.display()
        )),
        Err(e) => Err(format!(
            "init binary {name} ({}) is not a static executable: {e}",
            path.display()
        )),
    }
}

/// Whether the ELF file at `path` asks for a program interpreter (`PT_INTERP`), i.e. is
/// dynamically linked. An error for what is not an ELF executable.
fn elf_interpreter(path: &Path) -> std::io::Result<bool> {
    const PT_INTERP: u32 = 3;
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let f = std::fs::File::open(path)?;
    let mut h = [0u8; 64];
    f.read_exact_at(&mut h, 0)
        .map_err(|_| bad("not an ELF file"))?;
    if h[..4] != *b"\x7fELF" {
        return Err(bad("not an ELF file"));
    }
    let le = match h[5] {
        1 => true,
        2 => false,
        _ => return Err(bad("unknown ELF byte order")),
    };
    let uint = |b: &[u8]| -> u64 {
        let mut v = 0u64;
        for (i, x) in b.iter().enumerate() {
            let shift = if le { i } else { b.len() - 1 - i };
            v |= u64::from(*x) << (8 * shift);
        }
        v
    };
    // (e_phoff, e_phentsize, e_phnum) for ELF32 and ELF64.
    let (phoff, phentsize, phnum) = match h[4] {
        1 => (
            uint(&h[0x1c..0x20]),
            uint(&h[0x2a..0x2c]),
            uint(&h[0x2c..0x2e]),
        ),
        2 => (
            uint(&h[0x20..0x28]),
            uint(&h[0x36..0x38]),
            uint(&h[0x38..0x3a]),
        ),
        _ => return Err(bad("unknown ELF class")),
    };
    if phnum == 0 || phentsize < 4 || phnum > 4096 {
        return Err(bad("no program headers"));
    }
    let mut table = vec![0u8; usize::try_from(phentsize * phnum).map_err(|_| bad("too big"))?];
    f.read_exact_at(&mut table, phoff)?;
    Ok(table
        .chunks_exact(usize::try_from(phentsize).map_err(|_| bad("too big"))?)
        .any(|ph| uint(&ph[..4]) == u64::from(PT_INTERP)))
}

/// The commit in `PATH --version`, parsed as dockerd's `parseInitVersion` does: the
/// `git.HASH` after ` - ` (none from Debian's tini); "" when it cannot be run.
fn init_commit(path: &Path) -> String {
    let out = match std::process::Command::new(path).arg("--version").output() {
        Ok(o) if o.status.success() => o.stdout,
        Ok(o) => {
            tracing::warn!("{} --version: {}", path.display(), o.status);
            return String::new();
        }
        Err(e) => {
            tracing::warn!("{} --version: {e}", path.display());
            return String::new();
        }
    };
    parse_init_commit(&String::from_utf8_lossy(&out))
}

fn parse_init_commit(version: &str) -> String {
    version
        .split(" - ")
        .nth(1)
        .and_then(|g| g.trim().split_once('.'))
        .filter(|(git, hash)| *git == "git" && !hash.contains('.'))
        .map(|(_, hash)| hash.to_string())
        .unwrap_or_default()
}

impl Engine {
    /// `GET /info` InitBinary and InitCommit.ID.
    pub fn init_info(&self) -> (&str, &str) {
        let init = &self.config().init;
        (&init.name, &init.commit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_commit_as_dockerd_parses_it() {
        assert_eq!(
            parse_init_commit("tini version 0.18.0 - git.fec3683\n"),
            "fec3683"
        );
        assert_eq!(parse_init_commit("tini version 0.19.0\n"), "");
        assert_eq!(parse_init_commit("tini version 0.19.0 - git.a.b"), "");
    }

    #[test]
    fn only_static_executables_make_an_init() {
        // This test binary is dynamically linked (Rust's default on glibc).
        let me = std::env::current_exe().unwrap();
        assert!(elf_interpreter(&me).unwrap());
        let err = check_static("x", &me).unwrap_err();
        assert!(err.contains("dynamically linked"), "{err}");
        // A script is not an ELF file.
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("init");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        assert!(
            check_static("x", &script)
                .unwrap_err()
                .contains("not an ELF file")
        );
        // Debian's tini-static, where installed, is the real thing.
        if Path::new("/usr/bin/tini-static").is_file() {
            assert!(!elf_interpreter(Path::new("/usr/bin/tini-static")).unwrap());
        }
        assert_eq!(
            InitBinary::find(Some("berth-no-such-init"))
                .unwrap_err()
                .message,
            "exec: \"berth-no-such-init\": executable file not found in $PATH"
        );
    }
}
