//! Moving content into and out of volumes, all through `berth-archive` so that one set of
//! rules keeps everything inside the volume: no `..`, parents opened one component at a
//! time without following symlinks, hard links inside only.
//!
//! - [`copy_up`]: an image's directory (resolved inside the container's root, its
//!   symlinks taken as if chrooted there) into an empty volume, as Docker fills a new
//!   volume: owners, modes, mtimes (whole seconds), extended attributes, hard links,
//!   symlinks as they are (never followed), device nodes and FIFOs made; the volume's
//!   root takes the owner and mode of the image's directory.
//! - [`export`]: a plain tar of a volume's content (names relative, owners, modes and
//!   extended attributes kept; not the volume root's own owner and mode, which
//!   `import` leaves as the new volume has them).
//! - [`import`]: a tar (plain, gzip or zstd) into an empty volume, owners kept, device
//!   nodes refused; on any error the volume is emptied again, so nothing is left
//!   half-done.
//! - [`clone`]: copy-up from one volume to another (empty) one.
//!
//! A copy runs as a [`berth_archive::Writer`] in a thread feeding a pipe that
//! [`berth_archive::extract`] reads: one reader of trees and one writer of files. What it
//! does not keep: sub-second mtimes, and holes of sparse files (a sparse file is copied
//! at its full length; `import` of a GNU sparse entry does keep its holes).
//!
//! The caller mounts the volumes involved first (a tmpfs volume's content exists only
//! while it is mounted) and passes their `_data` paths.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use berth_archive::{Devices, Dir, Options, Owners, WriteOptions, Writer, XattrSet, Xattrs};

use crate::{Error, Result};

fn io(ctx: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let c = ctx.into();
    move |e| Error::io(c, e)
}

/// Whether the directory `dir` has no entries.
fn is_empty(dir: &Dir) -> std::io::Result<bool> {
    Ok(dir.names()?.is_empty())
}

/// Open the directory `path` of the tree at `root` as if `root` were `/`: each symlink
/// on the way is read and followed inside `root` (an absolute one from `root`, `..` never
/// above it), no more than 40 of them. `None` if it is missing or not a directory.
pub fn open_in_root(root: &Path, path: &Path) -> Result<Option<Dir>> {
    let mut stack = vec![Dir::open(root).map_err(io(format!("opening {}", root.display())))?];
    let mut pending: Vec<Vec<u8>> = comps(path.as_os_str().as_bytes());
    pending.reverse();
    let mut links = 0;
    while let Some(c) = pending.pop() {
        match c.as_slice() {
            b"" | b"." => continue,
            b".." => {
                if stack.len() > 1 {
                    stack.pop();
                }
                continue;
            }
            _ => {}
        }
        let name = OsStr::from_bytes(&c);
        let Some(cur) = stack.last() else { break };
        let what = || format!("resolving {} in {}", path.display(), root.display());
        match cur.stat(name).map_err(io(what()))? {
            None => return Ok(None),
            Some(st) if st.is_dir() => {
                let sub = cur.sub(name).map_err(io(what()))?;
                stack.push(sub);
            }
            Some(st) if st.is_symlink() => {
                links += 1;
                if links > 40 {
                    return Err(Error::io(
                        what(),
                        std::io::Error::from_raw_os_error(libc::ELOOP),
                    ));
                }
                let cname = berth_archive::sys::cstr(&c).map_err(io(what()))?;
                let target =
                    berth_archive::sys::readlink_at(cur.as_fd(), &cname).map_err(io(what()))?;
                if target.starts_with(b"/") {
                    stack.truncate(1);
                }
                let mut t = comps(&target);
                t.reverse();
                pending.extend(t);
            }
            Some(_) => return Ok(None),
        }
    }
    Ok(stack.pop())
}

fn comps(p: &[u8]) -> Vec<Vec<u8>> {
    p.split(|&b| b == b'/').map(<[u8]>::to_vec).collect()
}

/// Write the content of `src` (read through directory fds) into the directory `dst`
/// with `opts`, through a pipe.
fn pipe_copy(src: Dir, dst: &Path, opts: &Options) -> Result<()> {
    let (r, w) = nix::unistd::pipe().map_err(|e| Error::io("pipe", e.into()))?;
    let writer = std::thread::spawn(move || -> Result<()> {
        let mut t = Writer::new(
            std::io::BufWriter::with_capacity(256 * 1024, File::from(w)),
            WriteOptions {
                xattrs: XattrSet::All,
            },
        );
        t.contents(&src, b"")?;
        t.finish()?.flush().map_err(io("writing the copy"))?;
        Ok(())
    });
    let mut reader = File::from(r);
    let extracted = berth_archive::extract(&mut reader, dst, opts);
    if extracted.is_ok() {
        // The reader may stop at the first end-of-archive block: take the rest, so the
        // writer's last write never meets a closed pipe.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    }
    // Unblock a writer still writing after an extract that failed early.
    drop(reader);
    let written = writer
        .join()
        .map_err(|_| Error::io("copy", std::io::Error::other("the tar writer panicked")))?;
    extracted?;
    written
}

fn copy_options() -> Options {
    Options {
        owners: Owners::FromArchive,
        devices: Devices::Allow,
        xattrs: Xattrs::BestEffort,
        ..Options::default()
    }
}

/// Give `dst` the owner and mode of `src` (Docker's copy-up does this to the volume root).
fn copy_root_owner(src: &Dir, dst: &Dir) -> Result<()> {
    let st = src.own_stat().map_err(io("stat of the copy source"))?;
    nix::unistd::fchown(
        dst.as_fd(),
        Some(nix::unistd::Uid::from_raw(st.uid())),
        Some(nix::unistd::Gid::from_raw(st.gid())),
    )
    .map_err(|e| Error::io("chown of the volume", e.into()))?;
    nix::sys::stat::fchmod(
        dst.as_fd(),
        nix::sys::stat::Mode::from_bits_truncate(st.mode() & 0o7777),
    )
    .map_err(|e| Error::io("chmod of the volume", e.into()))
}

/// Fill the empty volume directory `volume_data` with what the image has at `dir` in the
/// container's root `rootfs` (`dir` resolved inside `rootfs`). Returns whether anything
/// was copied: nothing when the volume is not empty or the image has no directory
/// there (Docker copies only into a new, empty volume; `nocopy` is the caller's).
pub fn copy_up(rootfs: &Path, dir: &Path, volume_data: &Path) -> Result<bool> {
    let Some(src) = open_in_root(rootfs, dir)? else {
        return Ok(false);
    };
    let dst = Dir::open(volume_data).map_err(io(format!("opening {}", volume_data.display())))?;
    if !is_empty(&dst).map_err(io("reading the volume"))? {
        return Ok(false);
    }
    let src_root = src
        .sub(OsStr::new("."))
        .map_err(io("opening the copy source"))?;
    pipe_copy(src, volume_data, &copy_options())?;
    copy_root_owner(&src_root, &dst)?;
    Ok(true)
}

/// Copy the content of volume `src_data` into the empty volume `dst_data` (`berth
/// volume clone`). Refused (409) when `dst_data` is not empty.
pub fn clone(src_data: &Path, dst_data: &Path, dst_name: &str) -> Result<()> {
    let dst = Dir::open(dst_data).map_err(io(format!("opening {}", dst_data.display())))?;
    if !is_empty(&dst).map_err(io("reading the volume"))? {
        return Err(not_empty("clone", dst_name));
    }
    let src = Dir::open(src_data).map_err(io(format!("opening {}", src_data.display())))?;
    let src_root = src.sub(OsStr::new(".")).map_err(io("opening the source"))?;
    if let Err(e) = pipe_copy(src, dst_data, &copy_options()) {
        empty_out(&dst);
        return Err(e);
    }
    copy_root_owner(&src_root, &dst)
}

fn not_empty(op: &'static str, name: &str) -> Error {
    Error::Conflict {
        op,
        name: name.to_string(),
        reason: "volume is not empty".into(),
    }
}

/// Delete everything in `dir` (after a failed import or clone), never following a
/// symlink.
fn empty_out(dir: &Dir) {
    let Ok(names) = dir.names() else { return };
    for n in names {
        let Ok(c) = berth_archive::sys::cstr(n.as_bytes()) else {
            continue;
        };
        if let Err(e) = berth_archive::sys::remove_all_at(dir.as_fd(), &c) {
            tracing::warn!("emptying a volume after a failed copy: {e}");
        }
    }
}

/// Write a tar of the volume content at `volume_data` to `out` (`berth volume export`):
/// names relative to the volume, owners, modes and all extended attributes kept, every
/// symlink as a symlink.
pub fn export<W: Write>(volume_data: &Path, out: W) -> Result<W> {
    let d = Dir::open(volume_data).map_err(io(format!("opening {}", volume_data.display())))?;
    let mut t = Writer::new(
        out,
        WriteOptions {
            xattrs: XattrSet::All,
        },
    );
    t.contents(&d, b"")?;
    Ok(t.finish()?)
}

/// Extract the tar `input` (plain, gzip or zstd) into the empty volume at `volume_data`
/// (`berth volume import`), owners kept, device nodes refused, under berth-archive's
/// hostile-archive rules. Refused (409) when the volume is not empty; on any error the
/// volume is emptied again. Returns the entries written.
pub fn import(input: impl Read, volume_data: &Path, name: &str) -> Result<u64> {
    let dst = Dir::open(volume_data).map_err(io(format!("opening {}", volume_data.display())))?;
    if !is_empty(&dst).map_err(io("reading the volume"))? {
        return Err(not_empty("import", name));
    }
    let opts = Options {
        owners: Owners::FromArchive,
        devices: Devices::Refuse,
        xattrs: Xattrs::BestEffort,
        ..Options::default()
    };
    match berth_archive::extract(input, volume_data, &opts) {
        Ok(x) => Ok(x.entries),
        Err(e) => {
            empty_out(&dst);
            Err(e.into())
        }
    }
}
