//! Extracting a tar (plain, gzip or zstd) into a directory, with one set of safety rules
//! for every caller and the caller's policy in [`Options`].
//!
//! The rules that always hold: every entry is created relative to an open directory fd
//! of its parent, found by walking the path one component at a time with `O_NOFOLLOW`,
//! so `..` (refused), absolute paths (taken relative to the destination), writes through
//! symlinks (a parent that is a symlink is refused, whether the archive or the destination
//! made it) and hard links to anything outside cannot leave the destination. Files are
//! created with `O_EXCL` after what was there is removed, so nothing is written through an
//! existing file or link. Names are bytes, never normalised by anyone else first.
//!
//! What callers choose: whiteouts (overlayfs form for layers, plain files for `docker cp`,
//! or refused), owners (from the archive, mapped through an id map, forced, or left to
//! the extracting process), device nodes (allowed or refused), extended attributes,
//! Docker's `noOverwriteDirNonDir`, limits on entries and bytes, a renaming of the first
//! element (`docker cp`'s `RebaseArchiveEntries`), and whether the stream is hashed.
//!
//! Sparse files (GNU sparse entries) are written with holes, so a huge sparse file costs
//! no disk (but its length counts against [`Limits::max_bytes`]).

use std::ffi::{CStr, CString};
use std::io::{self, Read, Seek, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use tar::EntryType;

use crate::compress::{Compression, HashReader, decompress_kind};
use crate::sys::{self, borrow, cstr};
use crate::{Error, Result};

/// What `.wh.` entries are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Whiteouts {
    /// Layer whiteouts, written as overlayfs reads them: `.wh.NAME` removes NAME and
    /// leaves a 0/0 character device, `.wh..wh..opq` marks its directory opaque
    /// (`trusted.overlay.opaque=y`).
    Overlay,
    /// Plain files with those names (`docker cp`).
    #[default]
    Plain,
    /// An error.
    Refuse,
}

/// Who owns what is extracted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Owners {
    /// The archive's uid and gid.
    #[default]
    FromArchive,
    /// The archive's, mapped through an id map (a user namespace's); ids it does not map
    /// are an error.
    Map(IdMap),
    /// Everything owned by this uid and gid.
    Force { uid: u32, gid: u32 },
    /// No chown at all: the extracting process owns everything (`docker cp` to the host).
    Unchanged,
}

/// One range of an id map, as in `/proc/PID/uid_map`: ids `inside..inside+len` of the
/// archive are `outside..outside+len` on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub inside: u32,
    pub outside: u32,
    pub len: u32,
}

/// A user namespace's uid and gid maps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IdMap {
    pub uids: Vec<IdRange>,
    pub gids: Vec<IdRange>,
}

impl IdMap {
    fn map(ranges: &[IdRange], id: u32) -> Option<u32> {
        ranges.iter().find_map(|r| {
            let off = id.checked_sub(r.inside)?;
            (off < r.len).then(|| r.outside.checked_add(off)).flatten()
        })
    }

    /// The on-disk uid and gid of an archive's `uid` and `gid`.
    pub fn to_host(&self, uid: u32, gid: u32) -> Option<(u32, u32)> {
        Some((Self::map(&self.uids, uid)?, Self::map(&self.gids, gid)?))
    }
}

/// Whether device nodes (character and block) may be created. FIFOs always may; the
/// 0/0 character devices of [`Whiteouts::Overlay`] are whiteouts, not device nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Devices {
    Allow,
    /// An error: nothing that could open a host device is created.
    #[default]
    Refuse,
}

/// What to do with extended attributes (PAX `SCHILY.xattr.*` records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Xattrs {
    /// Set them; a failure is an error.
    Apply,
    /// Set them; the filesystem not supporting one or not letting us set it (`ENOTSUP`,
    /// `EPERM`) is no error, as Docker's `BestEffortXattrs`.
    #[default]
    BestEffort,
    /// Leave them out.
    Ignore,
}

/// Bounds on what an archive may make. `None`: no bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// Entries (files, directories, links, whiteouts...).
    pub max_entries: Option<u64>,
    /// Bytes of file data, sparse files at their full length.
    pub max_bytes: Option<u64>,
}

/// Whether the uncompressed stream's sha256 is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Digesting {
    #[default]
    Never,
    Always,
    /// Only when the input was compressed: the caller hashes plain input itself.
    IfCompressed,
}

/// The docker CLI's `RebaseArchiveEntries`: the first `from` in each entry's name (and
/// hard link target) becomes `to`; `from` = `/` puts every name under `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rename {
    pub from: Vec<u8>,
    pub to: Vec<u8>,
}

impl Rename {
    /// `name` renamed.
    pub fn apply(&self, name: &[u8]) -> Vec<u8> {
        if self.from == b"/" {
            let mut rest = name;
            while let Some(r) = rest.strip_prefix(b"/") {
                rest = r;
            }
            let mut out = self.to.clone();
            out.push(b'/');
            out.extend_from_slice(rest);
            while out.last() == Some(&b'/') {
                out.pop();
            }
            return out;
        }
        if self.from.is_empty() {
            return name.to_vec();
        }
        match name.windows(self.from.len()).position(|w| w == self.from) {
            Some(i) => {
                let mut out = name[..i].to_vec();
                out.extend_from_slice(&self.to);
                out.extend_from_slice(&name[i + self.from.len()..]);
                out
            }
            None => name.to_vec(),
        }
    }
}

/// How to extract: the caller's policy (see the module doc for what always holds).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub whiteouts: Whiteouts,
    pub owners: Owners,
    pub devices: Devices,
    pub xattrs: Xattrs,
    /// A directory is never replaced by a non-directory nor the other way round (an error
    /// instead): Docker's `noOverwriteDirNonDir`.
    pub no_overwrite_dir_non_dir: bool,
    pub limits: Limits,
    pub rename: Option<Rename>,
    pub digest: Digesting,
}

impl Options {
    /// An image layer: overlayfs whiteouts, the archive's owners, device nodes, every
    /// extended attribute (an error if one cannot be set), the stream's sha256 (the
    /// layer's diff id).
    pub fn layer() -> Options {
        Options {
            whiteouts: Whiteouts::Overlay,
            owners: Owners::FromArchive,
            devices: Devices::Allow,
            xattrs: Xattrs::Apply,
            no_overwrite_dir_non_dir: false,
            limits: Limits::default(),
            rename: None,
            digest: Digesting::Always,
        }
    }
}

/// What an extraction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// `sha256:<hex>` of the uncompressed tar, when asked for.
    pub digest: Option<String>,
    /// Docker's size of a layer: the regular files' lengths and the symlinks' targets'.
    pub size: u64,
    /// Bytes of the uncompressed tar.
    pub tar_size: u64,
    /// Entries in the archive.
    pub entries: u64,
}

fn invalid(what: impl std::fmt::Display) -> Error {
    Error::Invalid(what.to_string())
}

fn io_err(ctx: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let context = ctx.into();
    move |source| Error::Io { context, source }
}

/// Split a tar path into its components, refusing `..`; `.` and empty ones are dropped
/// (so absolute paths are taken relative to the destination).
pub(crate) fn components(path: &[u8]) -> Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    for c in path.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                return Err(invalid(format!(
                    "{}: path escapes the destination",
                    String::from_utf8_lossy(path)
                )));
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// The open destination and a cache of the last parent directory used.
struct Root {
    fd: OwnedFd,
    last: Option<(Vec<Vec<u8>>, OwnedFd)>,
}

impl Root {
    /// The directory `comps` names, each component opened without following symlinks;
    /// missing ones are created (0755, owned by the extracting process) when `create`.
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

/// Extract the tar `input` (plain, gzip or zstd) into the existing directory `dest`.
pub fn extract(input: impl Read, dest: &Path, opts: &Options) -> Result<Extracted> {
    let (reader, compression) = decompress_kind(input).map_err(invalid)?;
    let hash = match opts.digest {
        Digesting::Always => true,
        Digesting::Never => false,
        Digesting::IfCompressed => compression != Compression::None,
    };
    let hr = if hash {
        HashReader::new(reader)
    } else {
        HashReader::counting(reader)
    };
    let mut archive = tar::Archive::new(hr);
    let mut root = Root {
        fd: sys::open_dir(dest).map_err(io_err(format!("opening {}", dest.display())))?,
        last: None,
    };
    let mut size = 0u64;
    let mut bytes = 0u64;
    let mut entries = 0u64;
    let mut dirs: Vec<DirTimes> = Vec::new();
    // File data is copied in big pieces: fewer system calls than io::copy's 8 KiB.
    let mut buf = vec![0u8; 1 << 20];
    for entry in archive.entries().map_err(invalid)? {
        let mut entry = entry.map_err(invalid)?;
        entries += 1;
        if let Some(max) = opts.limits.max_entries.filter(|&max| entries > max) {
            return Err(Error::Limit(format!("more than {max} entries")));
        }
        let kind = entry.header().entry_type();
        if !matches!(
            kind,
            EntryType::Regular
                | EntryType::Continuous
                | EntryType::GNUSparse
                | EntryType::Directory
                | EntryType::Symlink
                | EntryType::Link
                | EntryType::Char
                | EntryType::Block
                | EntryType::Fifo
        ) {
            // PAX global headers and anything else that is no file (the tar crate reads
            // PAX and GNU long-name headers into the entry they are for).
            continue;
        }
        let raw_path = entry.path_bytes().into_owned();
        let path = match &opts.rename {
            Some(r) => r.apply(&raw_path),
            None => raw_path,
        };
        let comps = components(&path)?;
        let Some((name, parent)) = comps.split_last() else {
            // The root itself ("./"): nothing to create.
            continue;
        };
        let name_c = cstr(name).map_err(invalid)?;
        let h = entry.header();
        let mode = h.mode().map_err(invalid)? & 0o7777;
        let owner = match &opts.owners {
            Owners::Unchanged => None,
            Owners::Force { uid, gid } => Some((*uid, *gid)),
            Owners::FromArchive | Owners::Map(_) => {
                let uid = u32::try_from(h.uid().map_err(invalid)?)
                    .map_err(|_| invalid("uid out of range"))?;
                let gid = u32::try_from(h.gid().map_err(invalid)?)
                    .map_err(|_| invalid("gid out of range"))?;
                match &opts.owners {
                    Owners::Map(m) => Some(m.to_host(uid, gid).ok_or_else(|| {
                        invalid(format!(
                            "{}: owner {uid}:{gid} cannot be mapped",
                            String::from_utf8_lossy(&path)
                        ))
                    })?),
                    _ => Some((uid, gid)),
                }
            }
        };
        let mtime = h.mtime().map_err(invalid)? as i64;
        let what = || String::from_utf8_lossy(&path).into_owned();
        if kind.is_file() || kind == EntryType::GNUSparse {
            let len = entry.size();
            bytes = bytes.saturating_add(len);
            if let Some(max) = opts.limits.max_bytes.filter(|&max| bytes > max) {
                return Err(Error::Limit(format!(
                    "{}: more than {max} bytes of files",
                    what()
                )));
            }
        }
        let pdir = root.dir(parent, true, &path)?;
        let pfd = borrow(&pdir);

        // Whiteouts.
        if let Some(hidden) = name.strip_prefix(b".wh.") {
            match opts.whiteouts {
                Whiteouts::Plain => {}
                Whiteouts::Refuse => {
                    return Err(invalid(format!("{}: whiteouts are not allowed", what())));
                }
                Whiteouts::Overlay => {
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
            }
        }

        let is_dir = kind == EntryType::Directory;
        if matches!(kind, EntryType::Char | EntryType::Block) && opts.devices == Devices::Refuse {
            return Err(invalid(format!(
                "{}: device nodes are not allowed here",
                what()
            )));
        }
        if opts.no_overwrite_dir_non_dir {
            refuse_dir_non_dir(pfd, &name_c, is_dir, &path)?;
        }
        let regular = matches!(
            kind,
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse
        );
        if !regular {
            remove_existing(pfd, &name_c, is_dir, &mut root)?;
        }
        let chown = |fd: BorrowedFd<'_>, n: &CStr| -> Result<()> {
            match owner {
                Some((uid, gid)) => sys::lchown_at(fd, n, uid, gid).map_err(io_err("chown")),
                None => Ok(()),
            }
        };
        match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                // Created with O_EXCL: what is there already is removed first (and only
                // then looked at: most archives land in a new or empty directory).
                let fd = match sys::create_file_at(pfd, &name_c, 0o600) {
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                        remove_existing(pfd, &name_c, false, &mut root)?;
                        sys::create_file_at(pfd, &name_c, 0o600)
                    }
                    r => r,
                }
                .map_err(io_err(format!("creating {}", what())))?;
                let mut file = std::fs::File::from(fd);
                let n = copy_data(
                    &mut entry,
                    &mut file,
                    &mut buf,
                    kind == EntryType::GNUSparse,
                )?;
                size += n;
                if n >= 256 * 1024 {
                    // Big files start going to disk now; a final syncfs waits less.
                    sys::start_writeback(&file, 0, n);
                }
                if let Some((uid, gid)) = owner {
                    std::os::unix::fs::fchown(&file, Some(uid), Some(gid))
                        .map_err(io_err(format!("chown {}", what())))?;
                }
                set_xattrs(&mut entry, file.as_fd(), opts.xattrs)?;
                file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))
                    .map_err(io_err(format!("chmod {}", what())))?;
                sys::set_mtime_fd(file.as_fd(), mtime).map_err(io_err("setting mtime"))?;
                drop(file);
            }
            EntryType::Directory => {
                if sys::stat_at(pfd, &name_c)
                    .map_err(io_err("stat"))?
                    .is_none()
                {
                    sys::mkdir_at(pfd, &name_c, 0o700)
                        .map_err(io_err(format!("creating {}", what())))?;
                }
                chown(pfd, &name_c)?;
                sys::chmod_at(pfd, &name_c, mode).map_err(io_err("chmod"))?;
                let dfd = sys::open_dir_at(pfd, &name_c).map_err(io_err("opening directory"))?;
                set_xattrs(&mut entry, borrow(&dfd), opts.xattrs)?;
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
                chown(pfd, &name_c)?;
                sys::set_mtime_at(pfd, &name_c, mtime).map_err(io_err("setting mtime"))?;
            }
            EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| invalid(format!("{}: hard link without target", what())))?
                    .into_owned();
                let target = match &opts.rename {
                    Some(r) => r.apply(&target),
                    None => target,
                };
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
                chown(pfd, &name_c)?;
                sys::chmod_at(pfd, &name_c, mode).map_err(io_err("chmod"))?;
                sys::set_mtime_at(pfd, &name_c, mtime).map_err(io_err("setting mtime"))?;
            }
            // Left out above.
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
    let (digest, tar_size) = archive.into_inner().finish_opt().map_err(invalid)?;
    Ok(Extracted {
        digest,
        size,
        tar_size,
        entries,
    })
}

/// Copy an entry's data into its file through `buf`. A sparse entry's holes (the runs of
/// zeros the tar reader makes of them) are skipped, not written.
fn copy_data(
    from: &mut impl Read,
    to: &mut std::fs::File,
    buf: &mut [u8],
    sparse: bool,
) -> Result<u64> {
    let mut n = 0u64;
    let mut hole = false;
    loop {
        let k = match from.read(buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(invalid(e)),
        };
        if sparse && is_zero(&buf[..k]) {
            to.seek(io::SeekFrom::Current(k as i64))
                .map_err(io_err("writing a file"))?;
            hole = true;
        } else {
            to.write_all(&buf[..k]).map_err(io_err("writing a file"))?;
            hole = false;
        }
        n += k as u64;
    }
    if hole {
        // A hole at the end: the length says where the file ends.
        to.set_len(n).map_err(io_err("writing a file"))?;
    }
    Ok(n)
}

fn is_zero(data: &[u8]) -> bool {
    let (head, words, tail) = {
        // SAFETY: reinterpreting bytes as u64 words is valid for any bit pattern;
        // align_to puts what is not aligned in head and tail.
        unsafe { data.align_to::<u64>() }
    };
    head.iter().all(|&b| b == 0) && words.iter().all(|&w| w == 0) && tail.iter().all(|&b| b == 0)
}

/// `noOverwriteDirNonDir`: an existing directory is not replaced by a non-directory, nor
/// an existing non-directory by a directory.
fn refuse_dir_non_dir(
    dir: BorrowedFd<'_>,
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
    dir: BorrowedFd<'_>,
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
    fd: BorrowedFd<'_>,
    policy: Xattrs,
) -> Result<()> {
    if policy == Xattrs::Ignore {
        return Ok(());
    }
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
        match sys::fsetxattr(fd, &name, &value) {
            Ok(()) => {}
            Err(e)
                if policy == Xattrs::BestEffort
                    && matches!(e.raw_os_error(), Some(libc::ENOTSUP) | Some(libc::EPERM)) => {}
            Err(e) => {
                return Err(Error::Io {
                    context: format!("setting xattr {}", name.to_string_lossy()),
                    source: e,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_as_the_docker_cli_rebases() {
        let r = |from: &str, to: &str, name: &str| {
            let r = Rename {
                from: from.into(),
                to: to.into(),
            };
            String::from_utf8(r.apply(name.as_bytes())).expect("utf-8")
        };
        assert_eq!(r("d", "e", "d/f"), "e/f");
        assert_eq!(r(".", "e", "./f"), "e/f");
        assert_eq!(r("/", "root", "/bin"), "root/bin");
        assert_eq!(r("/", "root", "/"), "root");
        assert_eq!(r("x", "y", "a/b"), "a/b");
    }

    #[test]
    fn id_maps_map_inside_ranges_only() {
        let m = IdMap {
            uids: vec![IdRange {
                inside: 0,
                outside: 100_000,
                len: 65_536,
            }],
            gids: vec![IdRange {
                inside: 0,
                outside: 200_000,
                len: 10,
            }],
        };
        assert_eq!(m.to_host(0, 0), Some((100_000, 200_000)));
        assert_eq!(m.to_host(1000, 9), Some((101_000, 200_009)));
        assert_eq!(m.to_host(1000, 10), None);
        assert_eq!(m.to_host(70_000, 0), None);
    }

    #[test]
    fn zero_runs_are_found() {
        let mut v = vec![0u8; 4099];
        assert!(is_zero(&v));
        assert!(is_zero(&v[1..]));
        v[4098] = 1;
        assert!(!is_zero(&v));
        assert!(is_zero(&v[..4098]));
    }
}
