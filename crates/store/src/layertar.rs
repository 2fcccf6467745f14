//! Layer tars written from overlay directories, and the changes of a writable layer, on
//! the archive crate's [`Writer`] and [`Dir`] (directory fds all the way down, so nothing
//! here reads outside the trees it is given, even if a running container swaps a
//! directory for a symlink while we walk).
//!
//! - [`write_layer`]: a container's writable layer (an overlayfs upper dir) as a layer tar:
//!   0/0 character devices become `.wh.<name>` entries, opaque directories get a
//!   `.wh..wh..opq` entry, overlay's own xattrs are left out.
//! - [`write_merged`]: the merged view of layers (top first) as overlayfs shows it, for
//!   `export`: whiteouts applied, opaque directories hiding what is below.
//! - [`changes`]: what `docker diff` lists for an upper dir against its lower dirs.

use std::collections::{BTreeMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use berth_archive::{Dir, Stat, Writer};

use crate::{Error, Result};

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

/// Whether the subdirectory `name` of `dir` is an overlayfs opaque directory.
fn opaque(dir: &Dir, name: &OsStr) -> io::Result<bool> {
    Ok(dir.sub(name)?.xattr(OPAQUE)?.as_deref() == Some(b"y"))
}

fn rel_str(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

fn is_mount_point_file(rel: &Path, m: &Stat) -> bool {
    !m.is_dir()
        && MOUNT_POINT_FILES
            .iter()
            .any(|f| rel_str(rel) == f.as_bytes())
}

/// Write the upper dir `upper` as a layer tar into `out`.
pub fn write_layer<W: Write>(upper: &Path, out: &mut Writer<W>) -> Result<()> {
    let root = Dir::open(upper).map_err(io_err(format!("opening {}", upper.display())))?;
    walk_layer(out, &root, Path::new(""))
}

fn walk_layer<W: Write>(out: &mut Writer<W>, dir: &Dir, prefix: &Path) -> Result<()> {
    for name in dir.names().map_err(io_err("reading a directory"))? {
        let rel = prefix.join(&name);
        let Some(m) = dir.stat(&name).map_err(io_err("stat"))? else {
            continue;
        };
        if is_mount_point_file(&rel, &m) {
            continue;
        }
        if m.is_whiteout() {
            let mut wh = OsString::from(".wh.");
            wh.push(&name);
            out.marker(rel_str(&prefix.join(wh)), &m, 0o600)?;
            continue;
        }
        out.entry(dir, &name, rel_str(&rel), &m)?;
        if m.is_dir() {
            if opaque(dir, &name).map_err(io_err("reading xattrs"))? {
                out.marker(rel_str(&rel.join(".wh..wh..opq")), &m, m.mode() & 0o777)?;
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
pub fn write_merged<W: Write>(layers: &[PathBuf], out: &mut Writer<W>) -> Result<()> {
    let dirs = layers
        .iter()
        .map(|l| Dir::open(l).map_err(io_err(format!("opening {}", l.display()))))
        .collect::<Result<Vec<_>>>()?;
    walk_merged(out, &dirs, Path::new(""))
}

/// `dirs`: the directory at `prefix` in each layer that contributes to it, top first.
fn walk_merged<W: Write>(out: &mut Writer<W>, dirs: &[Dir], prefix: &Path) -> Result<()> {
    let mut seen: HashSet<OsString> = HashSet::new();
    let mut entries: BTreeMap<Vec<u8>, (usize, OsString, Stat)> = BTreeMap::new();
    for (i, d) in dirs.iter().enumerate() {
        for name in d.names().map_err(io_err("reading a directory"))? {
            if !seen.insert(name.clone()) {
                continue;
            }
            let Some(m) = d.stat(&name).map_err(io_err("stat"))? else {
                continue;
            };
            if m.is_whiteout() {
                continue;
            }
            entries.insert(name.as_bytes().to_vec(), (i, name, m));
        }
    }
    for (_, (i, name, m)) in entries {
        let rel = prefix.join(&name);
        out.entry(&dirs[i], &name, rel_str(&rel), &m)?;
        if !m.is_dir() {
            continue;
        }
        // The same directory in the layers below, down to an opaque one or anything
        // that is not a directory.
        let mut subs = Vec::new();
        for d in &dirs[i..] {
            match d.stat(&name).map_err(io_err("stat"))? {
                None => continue,
                Some(lm) if lm.is_dir() => {
                    subs.push(
                        d.sub(&name)
                            .map_err(io_err(format!("opening {}", rel.display())))?,
                    );
                    if opaque(d, &name).map_err(io_err("reading xattrs"))? {
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
fn same_time(a: &Stat, b: &Stat) -> bool {
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
        match sub.stat(&n).map_err(io_err("stat"))? {
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
        let Some(m) = upper.stat(name).map_err(io_err("stat"))? else {
            continue;
        };
        if is_mount_point_file(&rel, &m) {
            continue;
        }
        let below: Vec<Option<Stat>> = lowers
            .iter()
            .map(|d| d.as_ref().and_then(|d| d.stat(name).ok().flatten()))
            .collect();
        // What the lower layers show at this path (a whiteout there: nothing).
        let lower = below.iter().flatten().next().filter(|lm| !lm.is_whiteout());
        let kind = if m.is_whiteout() {
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
                    if opaque(d, name).unwrap_or(false) {
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
        if lower.is_some_and(|lm| lm.is_dir()) && opaque(upper, name).map_err(io_err("xattrs"))? {
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
                        .stat(&n)
                        .map_err(io_err("stat"))?
                        .is_some_and(|lm| !lm.is_whiteout());
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
