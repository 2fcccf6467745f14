//! Unpacking a layer tar (plain, gzip or zstd) into an overlayfs lower directory.
//!
//! Every entry is created relative to an open directory fd of its parent, found by walking
//! the path one component at a time with `O_NOFOLLOW`: `..`, absolute paths, writes
//! through symlinks and hard links to outside targets cannot leave the layer directory.
//! Whiteouts become 0/0 character devices, opaque markers the `trusted.overlay.opaque`
//! xattr, as overlayfs expects. The uncompressed stream's sha256 (the layer's diff id) is
//! computed on the way.

use std::ffi::{CStr, CString};
use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use sha2::{Digest, Sha256};
use tar::EntryType;

use crate::sys::{self, borrow, cstr};
use crate::{Error, Result};

/// What unpacking a layer found.
#[derive(Debug)]
pub struct Unpacked {
    /// `sha256:<hex>` of the uncompressed tar.
    pub diff_id: String,
    /// Sum of the regular files' sizes.
    pub size: u64,
    /// Bytes of the uncompressed tar.
    pub tar_size: u64,
}

/// Wrap `input` in the decompressor its first bytes call for.
pub fn decompress<'a>(input: impl Read + 'a) -> io::Result<Box<dyn Read + 'a>> {
    Ok(decompress_kind(input)?.0)
}

/// [`decompress`], and whether the input was compressed at all.
fn decompress_kind<'a>(input: impl Read + 'a) -> io::Result<(Box<dyn Read + 'a>, bool)> {
    let mut buf = BufReader::with_capacity(256 * 1024, input);
    let head = buf.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok((Box::new(flate2::bufread::MultiGzDecoder::new(buf)), true))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Ok((
            Box::new(zstd::stream::read::Decoder::with_buffer(buf)?),
            true,
        ))
    } else {
        Ok((Box::new(buf), false))
    }
}

/// A reader that hashes what passes through it.
pub struct HashReader<R> {
    inner: R,
    /// `None`: only count (the caller hashes the same bytes elsewhere).
    hasher: Option<Sha256>,
    count: u64,
}

impl<R: Read> HashReader<R> {
    pub fn new(inner: R) -> Self {
        HashReader {
            inner,
            hasher: Some(Sha256::new()),
            count: 0,
        }
    }

    /// Read to the end, then `sha256:<hex>` of everything.
    pub fn finish(self) -> io::Result<(String, u64)> {
        let (d, n) = self.finish_opt()?;
        Ok((d.unwrap_or_default(), n))
    }

    /// Read to the end, then the digest (if hashing) and the byte count.
    fn finish_opt(mut self) -> io::Result<(Option<String>, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((
            self.hasher
                .map(|h| format!("sha256:{}", hex::encode(h.finalize()))),
            self.count,
        ))
    }
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        self.count += n as u64;
        Ok(n)
    }
}

fn invalid(what: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("invalid layer: {what}"))
}

fn io_err(ctx: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let context = ctx.into();
    move |source| Error::Io { context, source }
}

/// Split a tar path into its components, refusing `..`; `.` and empty ones are dropped
/// (so absolute paths are taken relative to the layer root).
fn components(path: &[u8]) -> Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    for c in path.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                return Err(invalid(format!(
                    "{}: path escapes the layer root",
                    String::from_utf8_lossy(path)
                )));
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// The open layer root and a cache of the last parent directory used.
struct Root {
    fd: OwnedFd,
    last: Option<(Vec<Vec<u8>>, OwnedFd)>,
}

impl Root {
    /// The directory `comps` names, each component opened without following symlinks;
    /// missing ones are created (0755, root) when `create`.
    fn dir(&mut self, comps: &[&[u8]], create: bool, whole: &[u8]) -> Result<OwnedFd> {
        if let Some((p, fd)) = &self.last
            && p.len() == comps.len()
            && p.iter().zip(comps).all(|(a, b)| a.as_slice() == *b)
        {
            return fd.try_clone().map_err(io_err("dup"));
        }
        let mut cur = self.fd.try_clone().map_err(io_err("dup"))?;
        for c in comps {
            let name = cstr(c).map_err(invalid)?;
            cur = match sys::open_dir_at(borrow(&cur), &name) {
                Ok(fd) => fd,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) && create => {
                    sys::mkdir_at(borrow(&cur), &name, 0o755)
                        .map_err(io_err(format!("creating {}", String::from_utf8_lossy(c))))?;
                    sys::open_dir_at(borrow(&cur), &name).map_err(io_err("opening directory"))?
                }
                Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR)) => {
                    return Err(invalid(format!(
                        "{}: a parent is a symlink or not a directory",
                        String::from_utf8_lossy(whole)
                    )));
                }
                Err(e) => {
                    return Err(invalid(format!("{}: {e}", String::from_utf8_lossy(whole))));
                }
            };
        }
        self.last = Some((
            comps.iter().map(|c| c.to_vec()).collect(),
            cur.try_clone().map_err(io_err("dup"))?,
        ));
        Ok(cur)
    }

    fn forget(&mut self) {
        self.last = None;
    }
}

struct DirTimes {
    comps: Vec<Vec<u8>>,
    mtime: i64,
}

/// Unpack the layer tar `input` into the empty directory `dest`.
pub fn unpack_layer(input: impl Read, dest: &Path) -> Result<Unpacked> {
    let (diff_id, size, tar_size) = unpack_layer_opt(input, dest, true)?;
    Ok(Unpacked {
        diff_id: diff_id.unwrap_or_default(),
        size,
        tar_size,
    })
}

/// How a tar is written out: as a layer (whiteouts, owners from the tar) or as `docker cp`
/// writes into a container ([`extract`]).
#[derive(Debug, Clone, Copy)]
pub struct ExtractOptions {
    /// `.wh.` entries are overlay whiteouts (layers) rather than plain files.
    pub whiteouts: bool,
    /// Every entry owned by this uid and gid instead of the tar's.
    pub owner: Option<(u32, u32)>,
    /// A directory is never replaced by a non-directory nor the other way round (an error
    /// instead): `docker cp`'s `noOverwriteDirNonDir`.
    pub no_overwrite_dir_non_dir: bool,
}

/// Write the tar `input` (plain or compressed) into the existing directory `dest` with the
/// same hostile-input rules as layers (no `..`, parents opened without following
/// symlinks); returns the bytes of file data written.
pub fn extract(input: impl Read, dest: &Path, opts: ExtractOptions) -> Result<u64> {
    Ok(unpack_tar(input, dest, true, opts)?.1)
}

/// [`unpack_layer`]; when `input` is an uncompressed tar and `hash_plain` is false, its
/// digest is not computed (the caller hashes the very same bytes): `None`.
/// The diff id (if computed), the unpacked size and the tar's size.
pub(crate) fn unpack_layer_opt(
    input: impl Read,
    dest: &Path,
    hash_plain: bool,
) -> Result<(Option<String>, u64, u64)> {
    let layer = ExtractOptions {
        whiteouts: true,
        owner: None,
        no_overwrite_dir_non_dir: false,
    };
    unpack_tar(input, dest, hash_plain, layer)
}

fn unpack_tar(
    input: impl Read,
    dest: &Path,
    hash_plain: bool,
    opts: ExtractOptions,
) -> Result<(Option<String>, u64, u64)> {
    let (reader, compressed) = decompress_kind(input).map_err(invalid)?;
    let mut hr = HashReader::new(reader);
    if !compressed && !hash_plain {
        hr.hasher = None;
    }
    let mut archive = tar::Archive::new(hr);
    let mut root = Root {
        fd: sys::open_dir(dest).map_err(io_err(format!("opening {}", dest.display())))?,
        last: None,
    };
    let mut size = 0u64;
    let mut dirs: Vec<DirTimes> = Vec::new();
    // File data is copied in big pieces: fewer system calls than io::copy's 8 KiB.
    let mut buf = vec![0u8; 1 << 20];
    for entry in archive.entries().map_err(invalid)? {
        let mut entry = entry.map_err(invalid)?;
        let path = entry.path_bytes().into_owned();
        let comps = components(&path)?;
        let Some((name, parent)) = comps.split_last() else {
            // The root itself ("./"): nothing to create.
            continue;
        };
        let name_c = cstr(name).map_err(invalid)?;
        let h = entry.header();
        let kind = h.entry_type();
        let mode = h.mode().map_err(invalid)? & 0o7777;
        let (uid, gid) = match opts.owner {
            Some(owner) => owner,
            None => (
                h.uid().map_err(invalid)? as u32,
                h.gid().map_err(invalid)? as u32,
            ),
        };
        let mtime = h.mtime().map_err(invalid)? as i64;
        let pdir = root.dir(parent, true, &path)?;
        let pfd = borrow(&pdir);

        // Whiteouts.
        if let Some(hidden) = name.strip_prefix(b".wh.").filter(|_| opts.whiteouts) {
            if hidden == b".wh..opq" {
                sys::fsetxattr(pfd, c"trusted.overlay.opaque", b"y")
                    .map_err(io_err("marking an opaque directory"))?;
            } else {
                let target = cstr(hidden).map_err(invalid)?;
                remove_existing(pfd, &target, false, &mut root)?;
                sys::mknod_at(pfd, &target, libc::S_IFCHR, sys::makedev(0, 0))
                    .map_err(io_err("creating a whiteout"))?;
            }
            continue;
        }

        let is_dir = kind == EntryType::Directory;
        if opts.no_overwrite_dir_non_dir {
            refuse_dir_non_dir(pfd, &name_c, is_dir, &path)?;
        }
        remove_existing(pfd, &name_c, is_dir, &mut root)?;
        let what = || String::from_utf8_lossy(&path).into_owned();
        match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let fd = sys::create_file_at(pfd, &name_c, 0o600)
                    .map_err(io_err(format!("creating {}", what())))?;
                let mut file = std::fs::File::from(fd);
                let n = copy_data(&mut entry, &mut file, &mut buf)?;
                size += n;
                if n >= 256 * 1024 {
                    // Big files start going to disk now; the final syncfs waits less.
                    sys::start_writeback(&file, 0, n);
                }
                std::os::unix::fs::fchown(&file, Some(uid), Some(gid))
                    .map_err(io_err(format!("chown {}", what())))?;
                set_xattrs(&mut entry, file.as_fd())?;
                file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))
                    .map_err(io_err(format!("chmod {}", what())))?;
                drop(file);
                sys::set_mtime_at(pfd, &name_c, mtime).map_err(io_err("setting mtime"))?;
            }
            EntryType::Directory => {
                if sys::stat_at(pfd, &name_c)
                    .map_err(io_err("stat"))?
                    .is_none()
                {
                    sys::mkdir_at(pfd, &name_c, 0o700)
                        .map_err(io_err(format!("creating {}", what())))?;
                }
                sys::lchown_at(pfd, &name_c, uid, gid).map_err(io_err("chown"))?;
                sys::chmod_at(pfd, &name_c, mode).map_err(io_err("chmod"))?;
                let dfd = sys::open_dir_at(pfd, &name_c).map_err(io_err("opening directory"))?;
                set_xattrs(&mut entry, borrow(&dfd))?;
                let mut all: Vec<Vec<u8>> = parent.iter().map(|c| c.to_vec()).collect();
                all.push(name.to_vec());
                dirs.push(DirTimes { comps: all, mtime });
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| invalid(format!("{}: symlink without target", what())))?;
                // Counted as Docker counts a layer's size (lstat sizes).
                size += target.len() as u64;
                let target = cstr(&target).map_err(invalid)?;
                sys::symlink_at(&target, pfd, &name_c)
                    .map_err(io_err(format!("creating {}", what())))?;
                sys::lchown_at(pfd, &name_c, uid, gid).map_err(io_err("chown"))?;
                sys::set_mtime_at(pfd, &name_c, mtime).map_err(io_err("setting mtime"))?;
            }
            EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| invalid(format!("{}: hard link without target", what())))?
                    .into_owned();
                let tcomps = components(&target)?;
                let Some((tname, tparent)) = tcomps.split_last() else {
                    return Err(invalid(format!("{}: hard link to the root", what())));
                };
                let tdir = root.dir(tparent, false, &target)?;
                let tname = cstr(tname).map_err(invalid)?;
                sys::link_at(borrow(&tdir), &tname, pfd, &name_c).map_err(|e| {
                    invalid(format!(
                        "{}: hard link to {}: {e}",
                        what(),
                        String::from_utf8_lossy(&target)
                    ))
                })?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let typ = match kind {
                    EntryType::Char => libc::S_IFCHR,
                    EntryType::Block => libc::S_IFBLK,
                    _ => libc::S_IFIFO,
                };
                let major = h.device_major().map_err(invalid)?.unwrap_or(0);
                let minor = h.device_minor().map_err(invalid)?.unwrap_or(0);
                sys::mknod_at(pfd, &name_c, typ | mode, sys::makedev(major, minor))
                    .map_err(io_err(format!("creating {}", what())))?;
                sys::lchown_at(pfd, &name_c, uid, gid).map_err(io_err("chown"))?;
                sys::chmod_at(pfd, &name_c, mode).map_err(io_err("chmod"))?;
                sys::set_mtime_at(pfd, &name_c, mtime).map_err(io_err("setting mtime"))?;
            }
            // PAX and GNU long-name headers are consumed by the tar crate; anything else
            // (sockets cannot be in a tar) is skipped.
            _ => {}
        }
    }
    // Directory times last, deepest first: creating children changed them.
    root.forget();
    for d in dirs.iter().rev() {
        let comps: Vec<&[u8]> = d.comps.iter().map(Vec::as_slice).collect();
        let Some((name, parent)) = comps.split_last() else {
            continue;
        };
        if let Ok(pdir) = root.dir(parent, false, name) {
            let name = cstr(name).map_err(invalid)?;
            let _ = sys::set_mtime_at(borrow(&pdir), &name, d.mtime);
        }
    }
    let (diff_id, tar_size) = archive.into_inner().finish_opt().map_err(invalid)?;
    Ok((diff_id, size, tar_size))
}

/// Copy an entry's data into its file through `buf`.
fn copy_data(from: &mut impl Read, to: &mut std::fs::File, buf: &mut [u8]) -> Result<u64> {
    let mut n = 0u64;
    loop {
        let k = match from.read(buf) {
            Ok(0) => return Ok(n),
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(invalid(e)),
        };
        io::Write::write_all(to, &buf[..k]).map_err(io_err("writing a file"))?;
        n += k as u64;
    }
}

/// `noOverwriteDirNonDir`: an existing directory is not replaced by a non-directory, nor
/// an existing non-directory by a directory.
fn refuse_dir_non_dir(
    dir: std::os::fd::BorrowedFd<'_>,
    name: &CStr,
    new_is_dir: bool,
    path: &[u8],
) -> Result<()> {
    let Some(st) = sys::stat_at(dir, name).map_err(io_err("stat"))? else {
        return Ok(());
    };
    let path = String::from_utf8_lossy(path);
    match (sys::is_dir(&st), new_is_dir) {
        (true, false) => Err(invalid(format!(
            "cannot overwrite directory {path:?} with non-directory {path:?}"
        ))),
        (false, true) => Err(invalid(format!(
            "cannot overwrite non-directory {path:?} with directory {path:?}"
        ))),
        _ => Ok(()),
    }
}

/// Make room for a new entry `name`: an existing directory stays when the new entry is a
/// directory too; anything else is removed.
fn remove_existing(
    dir: std::os::fd::BorrowedFd<'_>,
    name: &CStr,
    new_is_dir: bool,
    root: &mut Root,
) -> Result<()> {
    let Some(st) = sys::stat_at(dir, name).map_err(io_err("stat"))? else {
        return Ok(());
    };
    if new_is_dir && sys::is_dir(&st) {
        return Ok(());
    }
    if sys::is_dir(&st) {
        root.forget();
    }
    sys::remove_all_at(dir, name).map_err(io_err("replacing an entry"))
}

/// PAX `SCHILY.xattr.*` records onto the open file or directory.
fn set_xattrs<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    fd: std::os::fd::BorrowedFd<'_>,
) -> Result<()> {
    let Some(exts) = entry.pax_extensions().map_err(invalid)? else {
        return Ok(());
    };
    let mut attrs: Vec<(CString, Vec<u8>)> = Vec::new();
    for ext in exts {
        let ext = ext.map_err(invalid)?;
        if let Ok(key) = ext.key()
            && let Some(name) = key.strip_prefix("SCHILY.xattr.")
        {
            attrs.push((
                cstr(name.as_bytes()).map_err(invalid)?,
                ext.value_bytes().to_vec(),
            ));
        }
    }
    for (name, value) in attrs {
        sys::fsetxattr(fd, &name, &value)
            .map_err(io_err(format!("setting xattr {}", name.to_string_lossy())))?;
    }
    Ok(())
}
