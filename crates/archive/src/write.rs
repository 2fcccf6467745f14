//! Writing tars from directory trees.
//!
//! Trees are read through open directory fds ([`Dir`]): each entry is reached by its name
//! in its parent's fd, never following a final symlink, so a walk cannot leave the tree it
//! was given even if a running container swaps a directory for a symlink meanwhile. None
//! of it needs `/proc` (the `docker cp` helper runs chrooted into a container), except
//! reading the extended attributes of device nodes and FIFOs with [`XattrSet::All`].
//!
//! [`Writer`] writes names exactly as it is given them (`./f`, `/bin`, `d/`: the docker
//! CLI rebases what it receives by the names' first element), directories with a
//! trailing `/`, names and link targets over 100 bytes in GNU long-name entries; every
//! file with several links once, its other names as hard links to the first; owners,
//! modes and mtimes (seconds) as they are, the chosen extended attributes as PAX
//! `SCHILY.xattr.*` records. Sockets, which a tar cannot hold, are left out.

use std::collections::HashMap;
use std::ffi::{CStr, OsStr, OsString};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::sys::{self, borrow, cstr};
use crate::{Error, Result, xattr};

fn io_err(ctx: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let context = ctx.into();
    move |source| Error::Io { context, source }
}

/// An entry's `lstat`.
#[derive(Clone, Copy)]
pub struct Stat(libc::stat);

impl std::fmt::Debug for Stat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stat")
            .field("mode", &format_args!("{:o}", self.0.st_mode))
            .field("size", &self.0.st_size)
            .finish_non_exhaustive()
    }
}

impl Stat {
    fn fmt_is(&self, t: libc::mode_t) -> bool {
        self.0.st_mode & libc::S_IFMT == t
    }
    pub fn is_dir(&self) -> bool {
        self.fmt_is(libc::S_IFDIR)
    }
    pub fn is_file(&self) -> bool {
        self.fmt_is(libc::S_IFREG)
    }
    pub fn is_symlink(&self) -> bool {
        self.fmt_is(libc::S_IFLNK)
    }
    pub fn is_char_device(&self) -> bool {
        self.fmt_is(libc::S_IFCHR)
    }
    pub fn is_block_device(&self) -> bool {
        self.fmt_is(libc::S_IFBLK)
    }
    pub fn is_fifo(&self) -> bool {
        self.fmt_is(libc::S_IFIFO)
    }
    pub fn is_socket(&self) -> bool {
        self.fmt_is(libc::S_IFSOCK)
    }
    /// An overlayfs whiteout: a 0/0 character device.
    pub fn is_whiteout(&self) -> bool {
        self.is_char_device() && self.0.st_rdev == 0
    }
    /// `st_mode`: type and permission bits.
    pub fn mode(&self) -> u32 {
        self.0.st_mode
    }
    pub fn uid(&self) -> u32 {
        self.0.st_uid
    }
    pub fn gid(&self) -> u32 {
        self.0.st_gid
    }
    pub fn size(&self) -> u64 {
        self.0.st_size as u64
    }
    pub fn mtime(&self) -> i64 {
        self.0.st_mtime
    }
    pub fn mtime_nsec(&self) -> i64 {
        self.0.st_mtime_nsec
    }
    pub fn nlink(&self) -> u64 {
        self.0.st_nlink
    }
    pub fn dev(&self) -> u64 {
        self.0.st_dev
    }
    pub fn ino(&self) -> u64 {
        self.0.st_ino
    }
    pub fn rdev(&self) -> u64 {
        self.0.st_rdev
    }
}

/// An open directory of a tree being read.
pub struct Dir(OwnedFd);

impl Dir {
    /// Open the directory `path` (a tree's root: a final symlink is followed).
    pub fn open(path: &Path) -> io::Result<Dir> {
        sys::open_dir(path).map(Dir)
    }

    /// Open the subdirectory `name`, refusing a symlink.
    pub fn sub(&self, name: &OsStr) -> io::Result<Dir> {
        let c = cstr(name.as_bytes())?;
        sys::open_dir_at(borrow(&self.0), &c).map(Dir)
    }

    /// Entry names, sorted by bytes.
    pub fn names(&self) -> io::Result<Vec<OsString>> {
        let mut v: Vec<OsString> = sys::names(borrow(&self.0))?
            .into_iter()
            .map(OsString::from_vec)
            .collect();
        v.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        Ok(v)
    }

    /// `lstat` of `name`; `None` if it is gone.
    pub fn stat(&self, name: &OsStr) -> io::Result<Option<Stat>> {
        let c = cstr(name.as_bytes())?;
        Ok(sys::stat_at(borrow(&self.0), &c)?.map(Stat))
    }

    /// `fstat` of the directory itself.
    pub fn own_stat(&self) -> io::Result<Stat> {
        sys::stat_fd(borrow(&self.0)).map(Stat)
    }

    /// The extended attribute `attr` of the directory itself.
    pub fn xattr(&self, attr: &CStr) -> io::Result<Option<Vec<u8>>> {
        xattr::get(xattr::Target::Fd(borrow(&self.0)), attr)
    }

    /// `/proc/self/fd/<fd>/<name>`: `name` in this directory, whatever its path.
    fn proc_child(&self, name: &OsStr) -> PathBuf {
        Path::new(&format!("/proc/self/fd/{}", self.0.as_raw_fd())).join(name)
    }
}

impl AsFd for Dir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// Which extended attributes go into the tar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XattrSet {
    /// All but overlayfs' own bookkeeping (`trusted.overlay.*`, `user.overlay.*`): layers.
    #[default]
    All,
    /// `security.capability` of regular files only, as Docker's `docker cp` and build
    /// contexts carry.
    Capability,
    /// None.
    None,
}

/// How to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteOptions {
    pub xattrs: XattrSet,
}

/// Overlayfs keeps its bookkeeping in these; they never go into a tar.
fn overlay_xattr(name: &[u8]) -> bool {
    name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay.")
}

/// `prefix/name` (`name` alone under an empty prefix).
fn join(prefix: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = prefix.to_vec();
    if !p.is_empty() && !p.ends_with(b"/") {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

/// A tar being written, remembering hard-linked files already in it.
pub struct Writer<W: Write> {
    b: tar::Builder<W>,
    links: HashMap<(u64, u64), Vec<u8>>,
    opts: WriteOptions,
}

impl<W: Write> Writer<W> {
    pub fn new(w: W, opts: WriteOptions) -> Self {
        Writer {
            b: tar::Builder::new(w),
            links: HashMap::new(),
            opts,
        }
    }

    /// Write the end-of-archive blocks and hand back the writer.
    pub fn finish(self) -> Result<W> {
        self.b.into_inner().map_err(io_err("finishing the tar"))
    }

    fn header(st: &Stat, kind: tar::EntryType) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(st.mode() & 0o7777);
        h.set_uid(u64::from(st.uid()));
        h.set_gid(u64::from(st.gid()));
        h.set_mtime(st.mtime().max(0) as u64);
        h.set_size(0);
        h
    }

    /// Append `h` named `name` (and linking to `link`) with `data`, names as given: one
    /// over the header's 100 bytes goes first in a GNU long-name (long-link) entry, as GNU
    /// tar writes it.
    fn append(
        &mut self,
        h: &mut tar::Header,
        name: &[u8],
        link: Option<&[u8]>,
        data: impl Read,
    ) -> io::Result<()> {
        if let Some(link) = link {
            self.long_name(h, link, true)?;
        }
        self.long_name(h, name, false)?;
        h.set_cksum();
        self.b.append(h, data)
    }

    fn long_name(&mut self, h: &mut tar::Header, value: &[u8], link: bool) -> io::Result<()> {
        let old = h.as_old_mut();
        let slot: &mut [u8; 100] = if link {
            &mut old.linkname
        } else {
            &mut old.name
        };
        slot.fill(0);
        if value.len() <= slot.len() {
            slot[..value.len()].copy_from_slice(value);
            return Ok(());
        }
        slot.copy_from_slice(&value[..100]);
        let mut ext = tar::Header::new_gnu();
        ext.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
        ext.set_mode(0o644);
        ext.set_uid(0);
        ext.set_gid(0);
        ext.set_mtime(0);
        ext.set_entry_type(if link {
            tar::EntryType::GNULongLink
        } else {
            tar::EntryType::GNULongName
        });
        ext.set_size(value.len() as u64 + 1);
        ext.set_cksum();
        self.b.append(&ext, Read::chain(value, &[0u8][..]))
    }

    /// A PAX extended header with the `SCHILY.xattr.*` records of `target`, before the
    /// entry (named `path`) it is for.
    fn xattrs(&mut self, path: &[u8], target: xattr::Target<'_>) -> Result<()> {
        let what = || String::from_utf8_lossy(path).into_owned();
        let mut names = match self.opts.xattrs {
            XattrSet::None => return Ok(()),
            XattrSet::Capability => vec![c"security.capability".to_owned()],
            XattrSet::All => {
                xattr::list(target).map_err(io_err(format!("xattrs of {}", what())))?
            }
        };
        // Sorted, so the same tree always gives the same tar (and diff id).
        names.sort();
        let mut records = Vec::new();
        for n in names {
            if overlay_xattr(n.as_bytes()) {
                continue;
            }
            let Some(v) = xattr::get(target, &n).map_err(io_err(format!("xattr of {}", what())))?
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
        let base = path
            .split(|&b| b == b'/')
            .rfind(|c| !c.is_empty())
            .unwrap_or(b"x");
        let mut pax_name = b"PaxHeaders.0/".to_vec();
        pax_name.extend(base.iter().take(80));
        self.b
            .append_data(&mut h, OsStr::from_bytes(&pax_name), records.as_slice())
            .map_err(io_err("writing a PAX header"))
    }

    /// Add `name` of `dir` (whose `lstat` is `st`) as `path`, without what a directory
    /// holds.
    pub fn entry(&mut self, dir: &Dir, name: &OsStr, path: &[u8], st: &Stat) -> Result<()> {
        let what = || String::from_utf8_lossy(path).into_owned();
        let c = cstr(name.as_bytes()).map_err(io_err(format!("archiving {}", what())))?;
        if st.is_socket() {
            // A tar cannot hold a socket (Docker skips them too).
            tracing::warn!("not archiving socket {}", what());
            return Ok(());
        }
        if st.is_dir() {
            let sub = dir
                .sub(name)
                .map_err(io_err(format!("opening {}", what())))?;
            return self.dir_entry(&sub, path, st);
        }
        if st.is_file() {
            if st.nlink() > 1 {
                if let Some(first) = self.links.get(&(st.dev(), st.ino())) {
                    let first = first.clone();
                    let mut h = Self::header(st, tar::EntryType::Link);
                    return self
                        .append(&mut h, path, Some(&first), io::empty())
                        .map_err(io_err(format!("archiving {}", what())));
                }
                self.links.insert((st.dev(), st.ino()), path.to_vec());
            }
            let fd = sys::open_file_at(dir.as_fd(), &c)
                .map_err(io_err(format!("opening {}", what())))?;
            let f = std::fs::File::from(fd);
            // What was opened must still be a regular file (a running container may have
            // swapped it for a FIFO, which O_NONBLOCK opened without waiting).
            let now = sys::stat_fd(f.as_fd()).map_err(io_err(format!("stat {}", what())))?;
            if !Stat(now).is_file() {
                return Err(Error::Changed(format!(
                    "{} changed while it was being archived",
                    what()
                )));
            }
            self.xattrs(path, xattr::Target::Fd(f.as_fd()))?;
            let mut h = Self::header(st, tar::EntryType::Regular);
            let size = st.size();
            h.set_size(size);
            // Exactly `size` bytes even if the file changes under us (zeros for what went
            // missing); read in big pieces.
            let data = io::BufReader::with_capacity(
                (size as usize).clamp(8 << 10, 1 << 20),
                f.take(size).chain(io::repeat(0)).take(size),
            );
            return self
                .append(&mut h, path, None, data)
                .map_err(io_err(format!("archiving {}", what())));
        }
        if st.is_symlink() {
            let target =
                sys::readlink_at(dir.as_fd(), &c).map_err(io_err(format!("reading {}", what())))?;
            let mut h = Self::header(st, tar::EntryType::Symlink);
            return self
                .append(&mut h, path, Some(&target), io::empty())
                .map_err(io_err(format!("archiving {}", what())));
        }
        let (kind, dev) = if st.is_char_device() {
            (tar::EntryType::Char, true)
        } else if st.is_block_device() {
            (tar::EntryType::Block, true)
        } else {
            (tar::EntryType::Fifo, false)
        };
        if self.opts.xattrs == XattrSet::All {
            // No fd without opening the node (and a device's open can do things).
            self.xattrs(path, xattr::Target::Path(&dir.proc_child(name)))?;
        }
        let mut h = Self::header(st, kind);
        // A FIFO's device fields are zeros, as GNU tar writes them (left empty, readers
        // that parse them, the extractor among them, refuse the entry).
        let rdev = if dev { st.rdev() } else { 0 };
        h.set_device_major(libc::major(rdev))
            .map_err(io_err("device number"))?;
        h.set_device_minor(libc::minor(rdev))
            .map_err(io_err("device number"))?;
        self.append(&mut h, path, None, io::empty())
            .map_err(io_err(format!("archiving {}", what())))
    }

    /// The directory `dir` (whose `lstat` is `st`) as `path`, with a trailing `/`.
    fn dir_entry(&mut self, dir: &Dir, path: &[u8], st: &Stat) -> Result<()> {
        let mut name = path.to_vec();
        if !name.ends_with(b"/") {
            name.push(b'/');
        }
        self.xattrs(&name, xattr::Target::Fd(dir.as_fd()))?;
        let mut h = Self::header(st, tar::EntryType::Directory);
        self.append(&mut h, &name, None, io::empty())
            .map_err(io_err(format!(
                "archiving {}",
                String::from_utf8_lossy(path)
            )))
    }

    /// An empty regular file entry (a whiteout), owned like `st`, with mode `mode`.
    pub fn marker(&mut self, path: &[u8], st: &Stat, mode: u32) -> Result<()> {
        let mut h = Self::header(st, tar::EntryType::Regular);
        h.set_mode(mode);
        self.append(&mut h, path, None, io::empty())
            .map_err(io_err(format!(
                "archiving {}",
                String::from_utf8_lossy(path)
            )))
    }

    /// `name` of `dir` as `path` and, for a directory, everything below it (named
    /// `path/...`); nothing if it is gone.
    pub fn tree(&mut self, dir: &Dir, name: &OsStr, path: &[u8]) -> Result<()> {
        let what = || String::from_utf8_lossy(path).into_owned();
        let Some(st) = dir.stat(name).map_err(io_err(format!("stat {}", what())))? else {
            return Ok(());
        };
        if !st.is_dir() {
            return self.entry(dir, name, path, &st);
        }
        let sub = dir
            .sub(name)
            .map_err(io_err(format!("opening {}", what())))?;
        self.dir_entry(&sub, path, &st)?;
        self.contents(&sub, path)
    }

    /// What directory `dir` holds, each entry named `prefix/NAME` (`NAME` under an empty
    /// prefix), in byte order.
    pub fn contents(&mut self, dir: &Dir, prefix: &[u8]) -> Result<()> {
        let names = dir.names().map_err(io_err(format!(
            "reading {}",
            String::from_utf8_lossy(prefix)
        )))?;
        for n in names {
            let p = join(prefix, n.as_bytes());
            self.tree(dir, &n, &p)?;
        }
        Ok(())
    }

    /// The file or tree at `path` as `name`, as `docker cp` reads a path: one ending in
    /// `/` or `/.` is a directory whose final symlink is followed; otherwise the last
    /// element is taken as it is (a symlink stays a symlink), from its parent directory.
    pub fn path(&mut self, path: &Path, name: &[u8]) -> Result<()> {
        let what = || path.display().to_string();
        let bytes = path.as_os_str().as_bytes();
        if bytes.ends_with(b"/") || bytes.ends_with(b"/.") || bytes == b"." {
            let d = Dir::open(path).map_err(io_err(format!("opening {}", what())))?;
            let st = d.own_stat().map_err(io_err(format!("stat {}", what())))?;
            self.dir_entry(&d, name, &st)?;
            return self.contents(&d, name);
        }
        let (Some(parent), Some(base)) = (path.parent(), path.file_name()) else {
            return Err(Error::Invalid(format!("{}: not a file name", what())));
        };
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        let d = Dir::open(parent).map_err(io_err(format!("opening {}", parent.display())))?;
        match d.stat(base).map_err(io_err(format!("stat {}", what())))? {
            Some(_) => self.tree(&d, base, name),
            None => Err(Error::Io {
                context: format!("stat {}", what()),
                source: io::ErrorKind::NotFound.into(),
            }),
        }
    }
}
