//! Tars written from directories, and the changes of a writable layer.
//!
//! - [`write_layer`]: a container's writable layer (an overlayfs upper dir) as a layer tar:
//!   0/0 character devices become `.wh.<name>` entries, opaque directories get a
//!   `.wh..wh..opq` entry, overlay's own xattrs are left out.
//! - [`write_merged`]: the merged view of layers (top first) as overlayfs shows it, for
//!   `export`: whiteouts applied, opaque directories hiding what is below.
//! - [`changes`]: what `docker diff` lists for an upper dir against its lower dirs.
//!
//! Every directory is held open and entries are reached through `/proc/self/fd/<fd>/<name>`
//! without following the final symlink, so nothing here reads outside the trees it is
//! given, even if a running container swaps a directory for a symlink while we walk.
//! Hard links inside the tree become tar hard links; files keep mode, owner, mtime and
//! extended attributes (PAX `SCHILY.xattr.*`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::Metadata;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::sys::{self, borrow};
use crate::{Error, Result, xattr};

const OPAQUE: &std::ffi::CStr = c"trusted.overlay.opaque";

/// Files the runtime bind-mounts over: their copy in the upper dir is a mount point (or a
/// copy-up the mount hides), never something the container wrote. Docker keeps these in
/// an "init" layer below the writable one, so they show in neither `diff` nor `commit`.
const MOUNT_POINT_FILES: [&str; 3] = ["etc/hostname", "etc/hosts", "etc/resolv.conf"];
/// Directories the runtime creates as mount points when the image lacks them.
const MOUNT_POINT_DIRS: [&str; 4] = ["proc", "sys", "dev", "etc"];

fn io_err(ctx: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let context = ctx.into();
    move |source| Error::Io { context, source }
}

/// An open directory of a tree being read.
struct Dir(OwnedFd);

impl Dir {
    fn open(path: &Path) -> io::Result<Dir> {
        sys::open_dir(path).map(Dir)
    }

    /// `/proc/self/fd/<fd>/<name>`: `name` in this directory, whatever its path.
    fn child(&self, name: &OsStr) -> PathBuf {
        Path::new(&format!("/proc/self/fd/{}", self.0.as_raw_fd())).join(name)
    }

    /// Open the subdirectory `name`, refusing a symlink.
    fn sub(&self, name: &OsStr) -> io::Result<Dir> {
        let c = sys::cstr(name.as_bytes())?;
        sys::open_dir_at(borrow(&self.0), &c).map(Dir)
    }

    /// Entry names, sorted by bytes.
    fn names(&self) -> io::Result<Vec<OsString>> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(format!("/proc/self/fd/{}", self.0.as_raw_fd()))? {
            v.push(e?.file_name());
        }
        v.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        Ok(v)
    }

    /// `lstat` of `name`; `None` if it is gone.
    fn meta(&self, name: &OsStr) -> io::Result<Option<Metadata>> {
        match std::fs::symlink_metadata(self.child(name)) {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether the subdirectory `name` is an overlayfs opaque directory.
    fn opaque(&self, name: &OsStr) -> io::Result<bool> {
        Ok(xattr::get(&self.child(name), OPAQUE)?.as_deref() == Some(b"y"))
    }
}

fn is_whiteout(m: &Metadata) -> bool {
    m.file_type().is_char_device() && m.rdev() == 0
}

/// Overlayfs keeps its bookkeeping in these; they never go into a tar.
fn overlay_xattr(name: &[u8]) -> bool {
    name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay.")
}

/// A tar being written, remembering hard-linked files already in it.
pub struct TarOut<W: Write> {
    b: tar::Builder<W>,
    links: HashMap<(u64, u64), PathBuf>,
}

impl<W: Write> TarOut<W> {
    pub fn new(w: W) -> Self {
        TarOut {
            b: tar::Builder::new(w),
            links: HashMap::new(),
        }
    }

    /// Write the end-of-archive blocks and hand back the writer.
    pub fn finish(self) -> Result<W> {
        self.b.into_inner().map_err(io_err("finishing the tar"))
    }

    fn header(m: &Metadata, kind: tar::EntryType) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(m.mode() & 0o7777);
        h.set_uid(u64::from(m.uid()));
        h.set_gid(u64::from(m.gid()));
        h.set_mtime(m.mtime().max(0) as u64);
        h.set_size(0);
        h
    }

    /// A PAX extended header with `SCHILY.xattr.*` records, before the entry it is for.
    fn xattrs(&mut self, path: &Path, full: &Path) -> Result<()> {
        let mut names =
            xattr::list(full).map_err(io_err(format!("xattrs of {}", path.display())))?;
        // Sorted, so the same tree always gives the same tar (and diff id).
        names.sort();
        let mut records = Vec::new();
        for n in names {
            if overlay_xattr(n.as_bytes()) {
                continue;
            }
            let Some(v) =
                xattr::get(full, &n).map_err(io_err(format!("xattr of {}", path.display())))?
            else {
                continue;
            };
            let mut rec = Vec::new();
            rec.extend_from_slice(b"SCHILY.xattr.");
            rec.extend_from_slice(n.as_bytes());
            rec.push(b'=');
            rec.extend_from_slice(&v);
            rec.push(b'\n');
            // "<len> <key>=<value>\n" where <len> counts itself.
            let mut len = rec.len() + 2;
            while len.to_string().len() + 1 + rec.len() != len {
                len = len.to_string().len() + 1 + rec.len();
            }
            records.extend_from_slice(format!("{len} ").as_bytes());
            records.extend_from_slice(&rec);
        }
        if records.is_empty() {
            return Ok(());
        }
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::XHeader);
        h.set_mode(0o644);
        h.set_size(records.len() as u64);
        let name = path
            .file_name()
            .map(|n| n.as_bytes())
            .unwrap_or(b"x")
            .iter()
            .take(80)
            .copied()
            .collect::<Vec<u8>>();
        let mut pax_name = b"PaxHeaders.0/".to_vec();
        pax_name.extend_from_slice(&name);
        self.b
            .append_data(&mut h, OsStr::from_bytes(&pax_name), records.as_slice())
            .map_err(io_err("writing a PAX header"))
    }

    /// Add `name` of `dir` (whose `lstat` is `m`) as `path` in the tar.
    fn entry(&mut self, dir: &Dir, name: &OsStr, path: &Path, m: &Metadata) -> Result<()> {
        let ft = m.file_type();
        let full = dir.child(name);
        let what = || path.display().to_string();
        if ft.is_socket() {
            // A tar cannot hold a socket (Docker skips them too).
            tracing::warn!("not archiving socket {}", what());
            return Ok(());
        }
        if !ft.is_symlink() {
            self.xattrs(path, &full)?;
        }
        if ft.is_file() {
            if m.nlink() > 1 {
                if let Some(first) = self.links.get(&(m.dev(), m.ino())) {
                    let first = first.clone();
                    let mut h = Self::header(m, tar::EntryType::Link);
                    return self
                        .b
                        .append_link(&mut h, path, first)
                        .map_err(io_err(format!("archiving {}", what())));
                }
                self.links.insert((m.dev(), m.ino()), path.to_path_buf());
            }
            // O_NONBLOCK: if a running container swapped the file for a FIFO, opening it
            // must not hang; what was opened must still be a regular file.
            let f = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY | libc::O_NONBLOCK)
                .open(&full)
                .map_err(io_err(format!("opening {}", what())))?;
            if !f
                .metadata()
                .map_err(io_err(format!("stat {}", what())))?
                .is_file()
            {
                return Err(Error::Conflict(format!(
                    "{} changed while it was being archived",
                    what()
                )));
            }
            let mut h = Self::header(m, tar::EntryType::Regular);
            let size = m.len();
            h.set_size(size);
            // Exactly `size` bytes even if the file changes under us; read in big pieces.
            let data = io::BufReader::with_capacity(
                (size as usize).clamp(8 << 10, 1 << 20),
                f.take(size).chain(io::repeat(0)).take(size),
            );
            return self
                .b
                .append_data(&mut h, path, data)
                .map_err(io_err(format!("archiving {}", what())));
        }
        let (kind, dev) = if ft.is_dir() {
            (tar::EntryType::Directory, false)
        } else if ft.is_symlink() {
            let target =
                std::fs::read_link(&full).map_err(io_err(format!("reading {}", what())))?;
            let mut h = Self::header(m, tar::EntryType::Symlink);
            return self
                .b
                .append_link(&mut h, path, target)
                .map_err(io_err(format!("archiving {}", what())));
        } else if ft.is_char_device() {
            (tar::EntryType::Char, true)
        } else if ft.is_block_device() {
            (tar::EntryType::Block, true)
        } else {
            (tar::EntryType::Fifo, false)
        };
        let mut h = Self::header(m, kind);
        if dev {
            let rdev = m.rdev();
            h.set_device_major(libc::major(rdev))
                .map_err(io_err("device number"))?;
            h.set_device_minor(libc::minor(rdev))
                .map_err(io_err("device number"))?;
        }
        let mut p = path.as_os_str().to_os_string();
        if ft.is_dir() {
            p.push("/");
        }
        self.b
            .append_data(&mut h, &p, io::empty())
            .map_err(io_err(format!("archiving {}", what())))
    }

    /// An empty regular file entry (whiteouts), owned like `m`.
    fn marker(&mut self, path: &Path, m: &Metadata, mode: u32) -> Result<()> {
        let mut h = Self::header(m, tar::EntryType::Regular);
        h.set_mode(mode);
        self.b
            .append_data(&mut h, path, io::empty())
            .map_err(io_err(format!("archiving {}", path.display())))
    }
}

fn rel_str(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

fn is_mount_point_file(rel: &Path, m: &Metadata) -> bool {
    !m.is_dir()
        && MOUNT_POINT_FILES
            .iter()
            .any(|f| rel_str(rel) == f.as_bytes())
}

/// Write the upper dir `upper` as a layer tar into `out`.
pub fn write_layer<W: Write>(upper: &Path, out: &mut TarOut<W>) -> Result<()> {
    let root = Dir::open(upper).map_err(io_err(format!("opening {}", upper.display())))?;
    walk_layer(out, &root, Path::new(""))
}

fn walk_layer<W: Write>(out: &mut TarOut<W>, dir: &Dir, prefix: &Path) -> Result<()> {
    for name in dir.names().map_err(io_err("reading a directory"))? {
        let rel = prefix.join(&name);
        let Some(m) = dir.meta(&name).map_err(io_err("stat"))? else {
            continue;
        };
        if is_mount_point_file(&rel, &m) {
            continue;
        }
        if is_whiteout(&m) {
            let mut wh = OsString::from(".wh.");
            wh.push(&name);
            out.marker(&prefix.join(wh), &m, 0o600)?;
            continue;
        }
        out.entry(dir, &name, &rel, &m)?;
        if m.is_dir() {
            if dir.opaque(&name).map_err(io_err("reading xattrs"))? {
                out.marker(&rel.join(".wh..wh..opq"), &m, m.mode() & 0o777)?;
            }
            let sub = dir
                .sub(&name)
                .map_err(io_err(format!("opening {}", rel.display())))?;
            walk_layer(out, &sub, &rel)?;
        }
    }
    Ok(())
}

/// Write the merged view of `layers` (top-most first: the upper dir, then the image's
/// layers from the top down) into `out`.
pub fn write_merged<W: Write>(layers: &[PathBuf], out: &mut TarOut<W>) -> Result<()> {
    let dirs = layers
        .iter()
        .map(|l| Dir::open(l).map_err(io_err(format!("opening {}", l.display()))))
        .collect::<Result<Vec<_>>>()?;
    walk_merged(out, &dirs, Path::new(""))
}

/// `dirs`: the directory at `prefix` in each layer that contributes to it, top first.
fn walk_merged<W: Write>(out: &mut TarOut<W>, dirs: &[Dir], prefix: &Path) -> Result<()> {
    let mut seen: HashSet<OsString> = HashSet::new();
    let mut entries: BTreeMap<Vec<u8>, (usize, OsString, Metadata)> = BTreeMap::new();
    for (i, d) in dirs.iter().enumerate() {
        for name in d.names().map_err(io_err("reading a directory"))? {
            if !seen.insert(name.clone()) {
                continue;
            }
            let Some(m) = d.meta(&name).map_err(io_err("stat"))? else {
                continue;
            };
            if is_whiteout(&m) {
                continue;
            }
            entries.insert(name.as_bytes().to_vec(), (i, name, m));
        }
    }
    for (_, (i, name, m)) in entries {
        let rel = prefix.join(&name);
        out.entry(&dirs[i], &name, &rel, &m)?;
        if !m.is_dir() {
            continue;
        }
        // The same directory in the layers below, down to an opaque one or anything
        // that is not a directory.
        let mut subs = Vec::new();
        for d in &dirs[i..] {
            match d.meta(&name).map_err(io_err("stat"))? {
                None => continue,
                Some(lm) if lm.is_dir() => {
                    subs.push(
                        d.sub(&name)
                            .map_err(io_err(format!("opening {}", rel.display())))?,
                    );
                    if d.opaque(&name).map_err(io_err("reading xattrs"))? {
                        break;
                    }
                }
                Some(_) => break,
            }
        }
        walk_merged(out, &subs, &rel)?;
    }
    Ok(())
}

/// One entry of `GET /containers/{id}/changes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Absolute path in the container.
    pub path: String,
    /// 0: modified, 1: added, 2: deleted (Docker's `Kind`).
    pub kind: u8,
}

pub const MODIFIED: u8 = 0;
pub const ADDED: u8 = 1;
pub const DELETED: u8 = 2;

/// The changes of upper dir `upper` against `lowers` (top-most first), as Docker's
/// overlay driver reports them: whiteouts are deletions, an opaque directory that hides
/// something below is a deletion, an entry found below is a modification (directories
/// only when their size, mode or mtime differ), anything else an addition; the parent of
/// an addition or deletion shows as modified.
pub fn changes(upper: &Path, lowers: &[PathBuf]) -> Result<Vec<Change>> {
    let root = Dir::open(upper).map_err(io_err(format!("opening {}", upper.display())))?;
    let lower_dirs = lowers.iter().map(|l| Dir::open(l).ok()).collect::<Vec<_>>();
    let mut out = Vec::new();
    let mut changed_dirs = HashSet::new();
    walk_changes(
        &root,
        &lower_dirs,
        Path::new(""),
        &mut changed_dirs,
        &mut out,
    )?;
    Ok(out)
}

/// Docker's `sameFsTime`: equal, or equal seconds when one side has no nanoseconds.
fn same_time(a: &Metadata, b: &Metadata) -> bool {
    a.mtime() == b.mtime()
        && (a.mtime_nsec() == b.mtime_nsec() || a.mtime_nsec() == 0 || b.mtime_nsec() == 0)
}

fn abs(rel: &Path) -> String {
    format!("/{}", rel.display())
}

/// Whether the added directory `name` holds nothing but runtime mount points.
fn only_mount_points(dir: &Dir, name: &OsStr, rel: &Path) -> Result<bool> {
    if !MOUNT_POINT_DIRS
        .iter()
        .any(|d| rel_str(rel) == d.as_bytes())
    {
        return Ok(false);
    }
    let sub = dir.sub(name).map_err(io_err("opening a directory"))?;
    for n in sub.names().map_err(io_err("reading a directory"))? {
        let r = rel.join(&n);
        match sub.meta(&n).map_err(io_err("stat"))? {
            Some(m) if is_mount_point_file(&r, &m) => {}
            None => {}
            Some(_) => return Ok(false),
        }
    }
    Ok(true)
}

/// Add a change; the parent of an addition or deletion shows as modified (once).
fn record(
    out: &mut Vec<Change>,
    changed_dirs: &mut HashSet<PathBuf>,
    rel: &Path,
    kind: u8,
    is_dir: bool,
) {
    if is_dir {
        changed_dirs.insert(rel.to_path_buf());
    }
    let parent = rel.parent().unwrap_or(Path::new(""));
    if kind != MODIFIED
        && !parent.as_os_str().is_empty()
        && changed_dirs.insert(parent.to_path_buf())
    {
        out.push(Change {
            path: abs(parent),
            kind: MODIFIED,
        });
    }
    out.push(Change {
        path: abs(rel),
        kind,
    });
}

fn walk_changes(
    upper: &Dir,
    lowers: &[Option<Dir>],
    prefix: &Path,
    changed_dirs: &mut HashSet<PathBuf>,
    out: &mut Vec<Change>,
) -> Result<()> {
    let names = upper.names().map_err(io_err("reading a directory"))?;
    for name in &names {
        let rel = prefix.join(name);
        let Some(m) = upper.meta(name).map_err(io_err("stat"))? else {
            continue;
        };
        if is_mount_point_file(&rel, &m) {
            continue;
        }
        let below: Vec<Option<Metadata>> = lowers
            .iter()
            .map(|d| d.as_ref().and_then(|d| d.meta(name).ok().flatten()))
            .collect();
        // What the lower layers show at this path (a whiteout there: nothing).
        let lower = below.iter().flatten().next().filter(|lm| !is_whiteout(lm));
        let kind = if is_whiteout(&m) {
            lower.map(|_| DELETED)
        } else if let Some(lm) = lower {
            let same_dir = lm.is_dir()
                && m.is_dir()
                && lm.size() == m.size()
                && lm.mode() == m.mode()
                && same_time(&m, lm);
            if same_dir || (m.is_dir() && lm.is_dir() && only_mount_points(upper, name, &rel)?) {
                None
            } else {
                Some(MODIFIED)
            }
        } else if m.is_dir() && only_mount_points(upper, name, &rel)? {
            continue;
        } else {
            Some(ADDED)
        };
        if let Some(kind) = kind {
            record(out, changed_dirs, &rel, kind, m.is_dir());
        }
        if !m.is_dir() {
            continue;
        }
        let sub = upper
            .sub(name)
            .map_err(io_err(format!("opening {}", rel.display())))?;
        // The same directory in the lower layers, down to the first that is not one or
        // is opaque.
        let mut sub_lowers: Vec<Option<Dir>> = Vec::with_capacity(lowers.len());
        let mut open = lower.is_some_and(|lm| lm.is_dir());
        for (d, lm) in lowers.iter().zip(&below) {
            let next = match (open, d, lm) {
                (true, Some(d), Some(lm)) if lm.is_dir() => {
                    if d.opaque(name).unwrap_or(false) {
                        open = false;
                    }
                    d.sub(name).ok()
                }
                (true, _, Some(_)) => {
                    open = false;
                    None
                }
                _ => None,
            };
            sub_lowers.push(next);
        }
        walk_changes(&sub, &sub_lowers, &rel, changed_dirs, out)?;
        // An opaque directory hides everything below it: those entries are deleted.
        if lower.is_some_and(|lm| lm.is_dir()) && upper.opaque(name).map_err(io_err("xattrs"))? {
            let here: HashSet<OsString> = sub
                .names()
                .map_err(io_err("reading a directory"))?
                .into_iter()
                .collect();
            let mut seen: HashSet<OsString> = HashSet::new();
            let mut hidden: Vec<OsString> = Vec::new();
            for d in sub_lowers.iter().flatten() {
                for n in d.names().map_err(io_err("reading a directory"))? {
                    if !seen.insert(n.clone()) {
                        continue;
                    }
                    let visible = d
                        .meta(&n)
                        .map_err(io_err("stat"))?
                        .is_some_and(|lm| !is_whiteout(&lm));
                    if visible && !here.contains(&n) {
                        hidden.push(n);
                    }
                }
            }
            hidden.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            for n in hidden {
                record(out, changed_dirs, &rel.join(&n), DELETED, false);
            }
        }
    }
    Ok(())
}

/// Names of a tar's entries with their types, for tests.
#[cfg(test)]
pub(crate) fn list_tar(data: &[u8]) -> Vec<(String, tar::EntryType)> {
    let mut a = tar::Archive::new(data);
    a.entries()
        .expect("entries")
        .map(|e| {
            let e = e.expect("entry");
            (
                String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                e.header().entry_type(),
            )
        })
        .collect()
}
