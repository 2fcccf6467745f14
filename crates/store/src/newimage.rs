//! New images made here rather than loaded: `commit` (a container's writable layer on top
//! of its image) and `import` (a rootfs tar as a one-layer image).
//!
//! The layer tar is written once, uncompressed, as blob `blobs/sha256/<diff id hex>` (a
//! blob whose digest is its layer's diff id needs no other record), hashed on the way, and
//! unpacked at the same time by the hostile-input-safe unpacker on a second thread, which
//! computes the diff id again: both must agree. Everything is built under `tmp/`, renamed
//! into place, flushed with `syncfs`, and only then are the layer, the image, its tag and
//! its parent recorded in one redb transaction: a crash before that commit leaves no image
//! listed and nothing referenced missing.

use std::collections::HashMap;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use berth_oci::{Digest, HistoryBuilder, Os, RootFsBuilder, RunConfig, host_arch};
use redb::{ReadableTable, TableDefinition};
use serde_json::Value;

use berth_archive::{WriteOptions, Writer, sys};

use crate::layertar;
use crate::{Error, ImageConfig};
use crate::{IMAGES, Image, LAYERS, Record, Result, Store, TAGS, db_err, io_err, move_tag, unpack};

/// image id → parent image id, for committed images.
pub(crate) const PARENTS: TableDefinition<&str, &str> = TableDefinition::new("parents");

/// Bytes handed to the unpacker at a time.
const CHUNK: usize = 1 << 20;
/// Blob bytes between two starts of writeback.
const WRITEBACK: u64 = 8 << 20;

/// What the new image's config says besides its layers.
#[derive(Debug, Clone, Default)]
pub struct NewImage {
    /// The `config` part: a container config as Docker writes it.
    pub config: Value,
    /// The image committed on (its layers and history come first).
    pub parent: Option<Image>,
    pub author: Option<String>,
    pub comment: Option<String>,
    /// Id of the container committed.
    pub container: Option<String>,
    /// That container's config.
    pub container_config: Option<Value>,
    /// RFC 3339 creation time.
    pub created: String,
    /// `created_by` of the history entry.
    pub created_by: Option<String>,
    /// A normalised `name:tag` to point at the new image.
    pub tag: Option<String>,
}

/// A layer written and unpacked under `tmp/`.
struct Ingested {
    diff_id: String,
    size: u64,
    blob: PathBuf,
    dir: PathBuf,
}

/// Writes to the blob file and feeds the same bytes to the unpacker, which hashes them.
struct Tee {
    file: BufWriter<std::fs::File>,
    /// Bytes written so far and how far writeback has been started.
    written: u64,
    flushed: u64,
    tx: Option<SyncSender<Vec<u8>>>,
    buf: Vec<u8>,
    /// The unpacker stopped reading (it failed): its error is the one to report.
    unpacker_gone: bool,
}

impl Tee {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        if let Some(tx) = &self.tx
            && tx.send(chunk).is_err()
        {
            self.unpacker_gone = true;
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the layer unpacker stopped",
            ));
        }
        Ok(())
    }

    /// Send what is left, flush the file, and close the unpacker's input.
    fn finish(&mut self) -> io::Result<()> {
        self.send()?;
        self.file.flush()?;
        self.tx = None;
        Ok(())
    }
}

impl Write for Tee {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.file.write_all(data)?;
        self.buf.extend_from_slice(data);
        self.written += data.len() as u64;
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        if self.written - self.flushed >= WRITEBACK {
            // Start writing the blob out now, so the final syncfs has less to wait for.
            self.file.flush()?;
            sys::start_writeback(
                self.file.get_ref(),
                self.flushed,
                self.written - self.flushed,
            );
            self.flushed = self.written;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The unpacker's side of the channel.
struct ChanReader {
    rx: Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for ChanReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.cur.len() {
            match self.rx.recv() {
                Ok(c) => {
                    self.cur = c;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Store {
    /// Commit the writable layer `upper` on top of `new.parent` as a new image; returns its
    /// id (`sha256:<hex>`).
    pub fn commit_layer(&self, upper: &Path, new: NewImage) -> Result<String> {
        let work = self.tmp_dir("commit")?;
        let t0 = std::time::Instant::now();
        let result = self
            .ingest(&work, |w| {
                let mut out = Writer::new(w, WriteOptions::default());
                layertar::write_layer(upper, &mut out)?;
                out.finish()?;
                Ok(())
            })
            .and_then(|layer| {
                tracing::debug!("commit: layer written and unpacked in {:?}", t0.elapsed());
                self.record_new(new, layer)
            });
        tracing::debug!("commit: done in {:?}", t0.elapsed());
        let _ = std::fs::remove_dir_all(&work);
        result
    }

    /// Import a rootfs tar (plain, gzip or zstd) as a one-layer image.
    pub fn import_layer(&self, input: &mut dyn Read, new: NewImage) -> Result<String> {
        let work = self.tmp_dir("import")?;
        let result = self
            .ingest(&work, |w| {
                let mut input = io::BufReader::with_capacity(64 * 1024, input);
                let head =
                    io::BufRead::fill_buf(&mut input).map_err(io_err("reading the archive"))?;
                if head.is_empty() {
                    return Err(Error::Invalid("invalid tar: the archive is empty".into()));
                }
                if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) || head.starts_with(b"BZh")
                {
                    return Err(Error::Invalid(
                        "xz and bzip2 archives are not supported: use a plain, gzip or zstd tar"
                            .into(),
                    ));
                }
                let mut r = berth_archive::decompress(input)
                    .map_err(|e| Error::Invalid(format!("invalid tar: {e}")))?;
                io::copy(&mut r, w).map_err(io_err("reading the archive"))?;
                Ok(())
            })
            .and_then(|layer| self.record_new(new, layer));
        let _ = std::fs::remove_dir_all(&work);
        result
    }

    /// The image `id` was committed on, if it still exists.
    pub fn parent_of(&self, id: &str) -> Result<Option<String>> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let parents = match txn.open_table(PARENTS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(db_err(e)),
        };
        let Some(p) = parents.get(id).map_err(db_err)? else {
            return Ok(None);
        };
        let p = p.value().to_string();
        let images = txn.open_table(IMAGES).map_err(db_err)?;
        Ok(images.get(p.as_str()).map_err(db_err)?.map(|_| p))
    }

    /// Every image committed on another that still exists: child id → parent id. One read,
    /// for listings that need the links of every image.
    pub fn parent_links(&self) -> Result<HashMap<String, String>> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let parents = match txn.open_table(PARENTS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(HashMap::new()),
            Err(e) => return Err(db_err(e)),
        };
        let images = txn.open_table(IMAGES).map_err(db_err)?;
        let mut out = HashMap::new();
        for row in parents.iter().map_err(db_err)? {
            let (child, parent) = row.map_err(db_err)?;
            if images.get(parent.value()).map_err(db_err)?.is_some() {
                out.insert(child.value().to_string(), parent.value().to_string());
            }
        }
        Ok(out)
    }

    /// Whether some image was committed on image `id` (Docker refuses to delete it).
    pub fn has_children(&self, id: &str) -> Result<bool> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let parents = match txn.open_table(PARENTS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(false),
            Err(e) => return Err(db_err(e)),
        };
        for row in parents.iter().map_err(db_err)? {
            if row.map_err(db_err)?.1.value() == id {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Write a layer tar with `fill` into `work`, unpacking it at the same time.
    fn ingest(
        &self,
        work: &Path,
        fill: impl FnOnce(&mut dyn Write) -> Result<()>,
    ) -> Result<Ingested> {
        let blob = work.join("layer.tar");
        let dir = work.join("layer");
        std::fs::create_dir(&dir).map_err(io_err("creating a layer directory"))?;
        let file = std::fs::File::create(&blob).map_err(io_err("creating a layer blob"))?;
        let (tx, rx) = sync_channel::<Vec<u8>>(8);
        std::thread::scope(|s| {
            let unpacker = s.spawn(|| {
                let r = ChanReader {
                    rx,
                    cur: Vec::new(),
                    pos: 0,
                };
                unpack::unpack_layer(r, &dir)
            });
            let mut tee = Tee {
                file: BufWriter::with_capacity(CHUNK, file),
                written: 0,
                flushed: 0,
                tx: Some(tx),
                buf: Vec::with_capacity(CHUNK),
                unpacker_gone: false,
            };
            let filled = fill(&mut tee)
                .and_then(|()| tee.finish().map_err(io_err("writing the layer blob")));
            let gone = tee.unpacker_gone;
            drop(tee);
            let unpacked = unpacker
                .join()
                .map_err(|_| Error::Db("the layer unpacker panicked".into()))?;
            match (filled, unpacked) {
                // The unpacker hashed exactly the bytes written to the blob.
                (Ok(()), Ok(u)) => Ok(Ingested {
                    diff_id: u.diff_id,
                    size: u.size,
                    blob: blob.clone(),
                    dir: dir.clone(),
                }),
                (Err(_), Err(ue)) if gone => Err(ue),
                (Err(e), _) => Err(e),
                (Ok(_), Err(ue)) => Err(ue),
            }
        })
    }

    /// Store the ingested layer and record the new image (and its tag and parent).
    fn record_new(&self, new: NewImage, layer: Ingested) -> Result<String> {
        let diff_id = Digest::parse(&layer.diff_id).map_err(|e| Error::Db(e.to_string()))?;
        let hex = diff_id.hex().to_string();
        let empty = ImageConfig::default();
        let pcfg = new.parent.as_ref().map_or(&empty, |p| &p.config);
        let mut diff_ids = new
            .parent
            .as_ref()
            .map(|p| p.diff_ids.clone())
            .unwrap_or_default();
        diff_ids.push(diff_id.to_string());
        let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        let mut entry = HistoryBuilder::default().created(new.created.clone());
        if let Some(a) = given(&new.author) {
            entry = entry.author(a);
        }
        if let Some(c) = given(&new.created_by) {
            entry = entry.created_by(c);
        }
        if let Some(c) = given(&new.comment) {
            entry = entry.comment(c);
        }
        let mut history = pcfg.history.clone();
        history.push(entry.build().map_err(db_err)?);
        // As Docker makes a child image: the parent's platform, this config and layer.
        let config = ImageConfig {
            created: Some(new.created.clone()),
            author: given(&new.author),
            architecture: Some(pcfg.architecture.clone().unwrap_or_else(host_arch)),
            os: Some(Os::Linux),
            os_version: pcfg.os_version.clone(),
            os_features: pcfg.os_features.clone(),
            variant: pcfg.variant.clone(),
            config: serde_json::from_value::<RunConfig>(new.config)
                .map_err(|e| Error::Invalid(format!("invalid container config: {e}")))?,
            rootfs: RootFsBuilder::default()
                .typ("layers")
                .diff_ids(diff_ids.clone())
                .build()
                .map_err(db_err)?,
            history,
            comment: given(&new.comment),
            container: new.container.clone(),
            container_config: new.container_config.clone(),
            docker_version: None,
        };
        let text = config.to_json().map_err(db_err)?;
        let id = Digest::of(text.as_bytes());
        let id_hex = id.hex().to_string();
        let id = id.to_string();
        // From the first file put into the store to the commit: garbage collection waits.
        let _ingest = self.ingest_guard();
        // The parent's layers must still be there (it may have been removed meanwhile).
        for d in new.parent.iter().flat_map(|p| &p.diff_ids) {
            if self.layer_size(d)?.is_none() {
                return Err(Error::NotFound(format!(
                    "image {} was removed during the commit",
                    new.parent.as_ref().map_or("", |p| p.id.as_str())
                )));
            }
        }
        self.put_blob(&id_hex, text.as_bytes())?;

        let _guard = self.commit.lock().unwrap_or_else(|p| p.into_inner());
        let dst = self.root.join("layers").join(&hex);
        // Whether this commit put the layer into place (it was not recorded before), and
        // whether the records were being committed (a commit that fails may still have
        // reached the disk: what it references stays, for the sweep at the next open).
        let mut placed = false;
        let mut committing = false;
        let result = (|| -> Result<()> {
            let size = match self.layer_size(&layer.diff_id)? {
                Some(s) => s,
                None => {
                    // Not recorded: whatever is at the destination is left from a crash.
                    if dst.exists() {
                        let _ = std::fs::remove_dir_all(&dst);
                    }
                    std::fs::rename(&layer.dir, &dst).map_err(io_err("storing a layer"))?;
                    placed = true;
                    std::fs::rename(&layer.blob, self.blob_path(&hex))
                        .map_err(io_err("storing a layer blob"))?;
                    layer.size
                }
            };
            if !self.blob_path(&hex).exists() {
                std::fs::rename(&layer.blob, self.blob_path(&hex))
                    .map_err(io_err("storing a layer blob"))?;
            }
            let root = sys::open_dir(&self.root).map_err(io_err("opening the store"))?;
            let t0 = std::time::Instant::now();
            sys::syncfs(sys::borrow(&root)).map_err(io_err("syncing the store"))?;
            tracing::debug!("commit: syncfs took {:?}", t0.elapsed());

            let txn = self.db.begin_write().map_err(db_err)?;
            {
                let mut images = txn.open_table(IMAGES).map_err(db_err)?;
                let mut tags = txn.open_table(TAGS).map_err(db_err)?;
                let mut layers = txn.open_table(LAYERS).map_err(db_err)?;
                let mut parents = txn.open_table(PARENTS).map_err(db_err)?;
                layers
                    .insert(layer.diff_id.as_str(), size)
                    .map_err(db_err)?;
                let existing = images
                    .get(id.as_str())
                    .map_err(db_err)?
                    .map(|v| serde_json::from_slice::<Record>(v.value()));
                let mut rec = match existing {
                    Some(r) => r.map_err(db_err)?,
                    None => Record {
                        id: id.clone(),
                        repo_tags: Vec::new(),
                        repo_digests: Vec::new(),
                        diff_ids,
                        size: new.parent.as_ref().map_or(0, |p| p.size) + size,
                        config: text,
                    },
                };
                if let Some(tag) = &new.tag {
                    move_tag(&mut images, &mut tags, tag, &id)?;
                    if !rec.repo_tags.contains(tag) {
                        rec.repo_tags.push(tag.clone());
                    }
                }
                let json = serde_json::to_vec(&rec).map_err(db_err)?;
                images
                    .insert(id.as_str(), json.as_slice())
                    .map_err(db_err)?;
                if let Some(p) = &new.parent {
                    parents.insert(id.as_str(), p.id.as_str()).map_err(db_err)?;
                }
            }
            committing = true;
            txn.commit().map_err(db_err)?;
            Ok(())
        })();
        if let Err(e) = result {
            // Not recorded: the layer goes again rather than stay unreferenced until the
            // next open's sweep (on a full disk its space is what is missing).
            if placed && !committing {
                let _ = std::fs::remove_dir_all(&dst);
                let _ = std::fs::remove_file(self.blob_path(&hex));
            }
            return Err(e);
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layertar::{ADDED, Change, DELETED, MODIFIED, changes, list_tar};
    use berth_archive::xattr::Target;
    use serde_json::json;
    use sha2::{Digest as _, Sha256};
    use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};

    fn mknod_whiteout(p: &Path) {
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).expect("cstr");
        // SAFETY: valid path; creates a 0/0 character device (a test whiteout).
        let r = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR, 0) };
        assert_eq!(r, 0, "mknod {}", p.display());
    }

    fn set_opaque(p: &Path) {
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).expect("cstr");
        // SAFETY: valid strings and value buffer.
        let r = unsafe {
            libc::setxattr(
                c.as_ptr(),
                c"trusted.overlay.opaque".as_ptr(),
                b"y".as_ptr().cast(),
                1,
                0,
            )
        };
        assert_eq!(r, 0, "setxattr {}", p.display());
    }

    fn root() -> bool {
        // SAFETY: no preconditions.
        unsafe { libc::geteuid() == 0 }
    }

    /// An upper dir with a whiteout, an opaque dir, a hard link, a symlink, modes.
    fn make_upper(dir: &Path) {
        std::fs::create_dir_all(dir.join("data/sub")).expect("mkdir");
        std::fs::write(dir.join("data/x"), b"hello").expect("write");
        let c = std::ffi::CString::new(dir.join("data/x").as_os_str().as_encoded_bytes())
            .expect("cstr");
        // SAFETY: valid strings and value buffer.
        let r = unsafe {
            libc::setxattr(
                c.as_ptr(),
                c"user.berth.test".as_ptr(),
                b"v1".as_ptr().cast(),
                2,
                0,
            )
        };
        assert_eq!(r, 0, "setxattr user.berth.test");
        std::fs::hard_link(dir.join("data/x"), dir.join("data/x-link")).expect("link");
        symlink("/data/x", dir.join("data/sym")).expect("symlink");
        std::fs::write(dir.join("data/sub/secret"), b"s").expect("write");
        std::fs::set_permissions(
            dir.join("data/sub/secret"),
            std::fs::Permissions::from_mode(0o600),
        )
        .expect("chmod");
        std::fs::create_dir_all(dir.join("etc")).expect("mkdir");
        mknod_whiteout(&dir.join("etc/motd"));
        std::fs::create_dir_all(dir.join("opq")).expect("mkdir");
        set_opaque(&dir.join("opq"));
        std::fs::write(dir.join("opq/new"), b"n").expect("write");
        // A runtime mount point: never part of a commit.
        std::fs::write(dir.join("etc/hosts"), b"").expect("write");
    }

    #[test]
    fn upper_dir_tar_round_trips_through_unpack() {
        if !root() {
            eprintln!("skipping: needs root (whiteouts, trusted xattrs)");
            return;
        }
        let t = tempfile::tempdir().expect("tempdir");
        let upper = t.path().join("upper");
        make_upper(&upper);
        let mut out = Writer::new(Vec::new(), WriteOptions::default());
        layertar::write_layer(&upper, &mut out).expect("tar");
        let data = out.finish().expect("finish");
        let names: Vec<String> = list_tar(&data).into_iter().map(|(n, _)| n).collect();
        assert!(names.contains(&"etc/.wh.motd".to_string()), "{names:?}");
        assert!(names.contains(&"opq/.wh..wh..opq".to_string()), "{names:?}");
        assert!(!names.iter().any(|n| n == "etc/hosts"), "{names:?}");
        let kinds = list_tar(&data);
        assert!(
            kinds
                .iter()
                .any(|(n, k)| n == "data/x-link" && *k == tar::EntryType::Link),
            "{kinds:?}"
        );

        let back = t.path().join("back");
        std::fs::create_dir(&back).expect("mkdir");
        let got = unpack::unpack_layer(data.as_slice(), &back).expect("unpack");
        assert_eq!(
            got.diff_id,
            format!("sha256:{}", hex::encode(Sha256::digest(&data)))
        );
        assert_eq!(std::fs::read(back.join("data/x")).expect("read"), b"hello");
        assert_eq!(
            berth_archive::xattr::get(Target::Path(&back.join("data/x")), c"user.berth.test")
                .expect("xattr"),
            Some(b"v1".to_vec())
        );
        // The same tree gives the same tar.
        let mut again = Writer::new(Vec::new(), WriteOptions::default());
        layertar::write_layer(&upper, &mut again).expect("tar");
        assert!(
            again.finish().expect("finish") == data,
            "tar not deterministic"
        );
        let a = std::fs::metadata(back.join("data/x")).expect("stat");
        let b = std::fs::metadata(back.join("data/x-link")).expect("stat");
        assert_eq!(a.ino(), b.ino(), "hard link kept");
        assert_eq!(
            std::fs::read_link(back.join("data/sym")).expect("readlink"),
            Path::new("/data/x")
        );
        let m = std::fs::metadata(back.join("data/sub/secret")).expect("stat");
        assert_eq!(m.mode() & 0o7777, 0o600);
        let wh = std::fs::symlink_metadata(back.join("etc/motd")).expect("whiteout");
        assert!(std::os::unix::fs::FileTypeExt::is_char_device(
            &wh.file_type()
        ));
        assert_eq!(wh.rdev(), 0);
        assert_eq!(
            berth_archive::xattr::get(Target::Path(&back.join("opq")), c"trusted.overlay.opaque")
                .expect("xattr"),
            Some(b"y".to_vec())
        );
        assert!(!back.join("etc/hosts").exists());
    }

    #[test]
    fn changes_and_merged_view() {
        if !root() {
            eprintln!("skipping: needs root (whiteouts, trusted xattrs)");
            return;
        }
        let t = tempfile::tempdir().expect("tempdir");
        let lower = t.path().join("lower");
        std::fs::create_dir_all(lower.join("etc")).expect("mkdir");
        std::fs::write(lower.join("etc/motd"), b"hi").expect("write");
        std::fs::write(lower.join("etc/passwd"), b"root").expect("write");
        std::fs::create_dir_all(lower.join("opq")).expect("mkdir");
        std::fs::write(lower.join("opq/old"), b"o").expect("write");
        let upper = t.path().join("upper");
        make_upper(&upper);
        // Same mode and times as below: not a change by itself.
        let lm = std::fs::metadata(lower.join("etc")).expect("stat");
        let c =
            std::ffi::CString::new(upper.join("etc").as_os_str().as_encoded_bytes()).expect("cstr");
        let ts = [
            libc::timespec {
                tv_sec: lm.atime(),
                tv_nsec: lm.atime_nsec(),
            },
            libc::timespec {
                tv_sec: lm.mtime(),
                tv_nsec: lm.mtime_nsec(),
            },
        ];
        // SAFETY: valid path and a two-element timespec array.
        assert_eq!(
            unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), ts.as_ptr(), 0) },
            0
        );
        let got = changes(&upper, std::slice::from_ref(&lower)).expect("changes");
        let want = vec![
            Change {
                path: "/data".into(),
                kind: ADDED,
            },
            Change {
                path: "/data/sub".into(),
                kind: ADDED,
            },
            Change {
                path: "/data/sub/secret".into(),
                kind: ADDED,
            },
            Change {
                path: "/data/sym".into(),
                kind: ADDED,
            },
            Change {
                path: "/data/x".into(),
                kind: ADDED,
            },
            Change {
                path: "/data/x-link".into(),
                kind: ADDED,
            },
            Change {
                path: "/etc".into(),
                kind: MODIFIED,
            },
            Change {
                path: "/etc/motd".into(),
                kind: DELETED,
            },
            // An opaque directory: modified, its new entries added, what it hides below
            // deleted (as the reference engine reports it).
            Change {
                path: "/opq".into(),
                kind: MODIFIED,
            },
            Change {
                path: "/opq/new".into(),
                kind: ADDED,
            },
            Change {
                path: "/opq/old".into(),
                kind: DELETED,
            },
        ];
        assert_eq!(got, want);

        let mut out = Writer::new(Vec::new(), WriteOptions::default());
        layertar::write_merged(&[upper, lower], &mut out).expect("merged");
        let data = out.finish().expect("finish");
        let names: Vec<String> = list_tar(&data).into_iter().map(|(n, _)| n).collect();
        for want in ["etc/passwd", "data/x", "opq/new", "etc/hosts"] {
            assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
        }
        for gone in ["etc/motd", "opq/old", "opq/.wh..wh..opq"] {
            assert!(!names.iter().any(|n| n == gone), "{gone} in {names:?}");
        }
    }

    #[test]
    fn import_and_commit_record_images_with_parent() {
        if !root() {
            eprintln!("skipping: needs root (whiteouts, trusted xattrs)");
            return;
        }
        let t = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&t.path().join("store")).expect("open");
        // A rootfs tar, gzipped.
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o755);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        b.append_data(&mut h, "bin/tool", &b"abc"[..])
            .expect("append");
        let plain = b.into_inner().expect("tar");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&plain).expect("gz");
        let gz = gz.finish().expect("gz");
        let base = store
            .import_layer(
                &mut gz.as_slice(),
                NewImage {
                    config: json!({"Cmd": ["/bin/tool"]}),
                    created: "2024-01-01T00:00:00Z".into(),
                    comment: Some("imported".into()),
                    tag: Some("base:1".into()),
                    ..Default::default()
                },
            )
            .expect("import");
        let img = store.get("base:1").expect("get");
        assert_eq!(img.id, base);
        let diff = format!("sha256:{}", hex::encode(Sha256::digest(&plain)));
        assert_eq!(img.diff_ids, vec![diff.clone()]);
        assert_eq!(img.config.config.cmd, Some(vec!["/bin/tool".to_string()]));
        let blob = store.blob_path(&diff[7..]);
        assert_eq!(std::fs::read(&blob).expect("blob"), plain);
        assert!(
            store
                .root()
                .join("layers")
                .join(&diff[7..])
                .join("bin/tool")
                .is_file()
        );

        let upper = t.path().join("upper");
        make_upper(&upper);
        let id = store
            .commit_layer(
                &upper,
                NewImage {
                    config: json!({"Cmd": ["sh"]}),
                    parent: Some(img.clone()),
                    created: "2024-01-02T00:00:00Z".into(),
                    created_by: Some("sh".into()),
                    container: Some("c".repeat(64)),
                    tag: Some("child:latest".into()),
                    ..Default::default()
                },
            )
            .expect("commit");
        let child = store.get("child").expect("get");
        assert_eq!(child.id, id);
        assert_eq!(child.diff_ids.len(), 2);
        assert_eq!(child.diff_ids[0], diff);
        assert_eq!(child.config.history.len(), 2);
        assert_eq!(store.parent_of(&id).expect("parent"), Some(base.clone()));
        assert_eq!(store.parent_of(&base).expect("parent"), None);
        let dirs = store.layer_dirs(&child).expect("dirs");
        assert!(dirs[1].join("data/x").is_file());
        // Nothing left behind in tmp/.
        assert_eq!(
            std::fs::read_dir(store.root().join("tmp"))
                .expect("tmp")
                .count(),
            0
        );
        // A tar the unpacker refuses leaves no image and no layer.
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        // `append_data` refuses `..`; write the name by hand.
        h.as_gnu_mut().expect("gnu").name[..8].copy_from_slice(b"../evil\0");
        h.set_cksum();
        b.append(&h, &b"x"[..]).expect("append");
        let bad = b.into_inner().expect("tar");
        let before = store.list().expect("list").len();
        let err = store
            .import_layer(&mut bad.as_slice(), NewImage::default())
            .expect_err("hostile tar");
        assert!(err.to_string().contains("escapes"), "{err}");
        let xz = [0xfd, b'7', b'z', b'X', b'Z', 0, 0, 0];
        let err = store
            .import_layer(&mut &xz[..], NewImage::default())
            .expect_err("xz");
        assert!(err.to_string().contains("not supported"), "{err}");
        assert_eq!(store.list().expect("list").len(), before);
    }
}
