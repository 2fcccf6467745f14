//! A [`Host`] in memory for unit tests of the cgroup logic: files and directories in a
//! map, every write and signal recorded in order, and the kernel's side played by rules
//! (a write to one file changes another, as `cgroup.freeze` changes `cgroup.events`; a
//! signalled pid leaves every `cgroup.procs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::Host;

/// What the kernel does after a write: `file` written with `value` sets `then` to `to`.
#[derive(Debug, Clone)]
struct Rule {
    file: String,
    value: String,
    then: String,
    to: String,
}

#[derive(Debug, Default)]
struct State {
    files: BTreeMap<PathBuf, String>,
    dirs: BTreeSet<PathBuf>,
    writes: Vec<(PathBuf, String)>,
    killed: Vec<i32>,
    rules: Vec<Rule>,
}

/// The fake host. Writes replace a file's content (creating it), unless the directory
/// does not exist.
#[derive(Debug, Default)]
pub struct FakeHost {
    state: Mutex<State>,
}

fn err(kind: std::io::ErrorKind) -> std::io::Error {
    std::io::Error::from(kind)
}

impl FakeHost {
    pub fn new() -> FakeHost {
        FakeHost::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding it has failed already.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A directory and its parents.
    pub fn dir(&self, path: impl AsRef<Path>) -> &Self {
        let mut st = self.lock();
        for a in path.as_ref().ancestors() {
            st.dirs.insert(a.to_path_buf());
        }
        drop(st);
        self
    }

    /// A file with `content` (its directory is made too); not recorded as a write.
    pub fn file(&self, path: impl AsRef<Path>, content: &str) -> &Self {
        let path = path.as_ref();
        if let Some(parent) = path.parent() {
            self.dir(parent);
        }
        self.lock()
            .files
            .insert(path.to_path_buf(), content.to_string());
        self
    }

    /// When a file named `file` (any directory) is written `value`, the kernel sets the
    /// file `then` of the same directory to `to`.
    pub fn on_write(&self, file: &str, value: &str, then: &str, to: &str) -> &Self {
        self.lock().rules.push(Rule {
            file: file.into(),
            value: value.into(),
            then: then.into(),
            to: to.into(),
        });
        self
    }

    /// Every write so far, in order.
    pub fn writes(&self) -> Vec<(PathBuf, String)> {
        self.lock().writes.clone()
    }

    /// The values written to `path`, in order.
    pub fn written(&self, path: impl AsRef<Path>) -> Vec<String> {
        self.lock()
            .writes
            .iter()
            .filter(|(p, _)| p == path.as_ref())
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Pids signalled so far.
    pub fn killed(&self) -> Vec<i32> {
        self.lock().killed.clone()
    }

    /// Whether the directory exists.
    pub fn has_dir(&self, path: impl AsRef<Path>) -> bool {
        self.lock().dirs.contains(path.as_ref())
    }
}

impl Host for FakeHost {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        self.lock()
            .files
            .get(path)
            .cloned()
            .ok_or_else(|| err(std::io::ErrorKind::NotFound))
    }

    fn write(&self, path: &Path, value: &str) -> std::io::Result<()> {
        let mut st = self.lock();
        let parent = path.parent().unwrap_or(Path::new("/"));
        if !st.dirs.contains(parent) {
            return Err(err(std::io::ErrorKind::NotFound));
        }
        st.writes.push((path.to_path_buf(), value.to_string()));
        st.files.insert(path.to_path_buf(), value.to_string());
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let then: Vec<(PathBuf, String)> = st
            .rules
            .iter()
            .filter(|r| r.file == name && r.value == value)
            .map(|r| (parent.join(&r.then), r.to.clone()))
            .collect();
        for (p, v) in then {
            st.files.insert(p, v);
        }
        Ok(())
    }

    fn exists(&self, path: &Path) -> bool {
        let st = self.lock();
        st.files.contains_key(path) || st.dirs.contains(path)
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.lock().dirs.contains(path)
    }

    fn create_dir(&self, path: &Path) -> std::io::Result<()> {
        let mut st = self.lock();
        if st.dirs.contains(path) {
            return Err(err(std::io::ErrorKind::AlreadyExists));
        }
        if !path.parent().is_some_and(|p| st.dirs.contains(p)) {
            return Err(err(std::io::ErrorKind::NotFound));
        }
        st.dirs.insert(path.to_path_buf());
        Ok(())
    }

    fn remove_dir(&self, path: &Path) -> std::io::Result<()> {
        let mut st = self.lock();
        let procs = path.join("cgroup.procs");
        if st.files.get(&procs).is_some_and(|p| !p.trim().is_empty()) {
            return Err(std::io::Error::from_raw_os_error(libc::EBUSY));
        }
        if !st.dirs.remove(path) {
            return Err(err(std::io::ErrorKind::NotFound));
        }
        st.files.retain(|p, _| !p.starts_with(path));
        Ok(())
    }

    fn kill(&self, pid: i32) {
        let mut st = self.lock();
        st.killed.push(pid);
        let pid = pid.to_string();
        for (p, content) in st.files.iter_mut() {
            if p.ends_with("cgroup.procs") {
                *content = content
                    .lines()
                    .filter(|l| l.trim() != pid)
                    .map(|l| format!("{l}\n"))
                    .collect();
            }
        }
    }
}
