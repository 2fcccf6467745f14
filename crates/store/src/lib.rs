//! Berth's image store: content-addressed blobs, unpacked layers shared between images,
//! and image metadata (configs, tags) in an embedded transactional database (redb).
//!
//! Main type: [`Store`]. Layout under its root:
//! - `blobs/sha256/<hex>`: every blob (layer tars as they came, configs, manifests) once,
//!   by digest, verified before it is stored;
//! - `layers/<diffid-hex>/`: each layer unpacked once, as an overlayfs lower dir
//!   (whiteouts as 0/0 char devices, opaque dirs with `trusted.overlay.opaque=y`), shared
//!   by every image that has it;
//! - `meta.redb`: images, tags and layers;
//! - `tmp/`: work in progress, emptied at open.
//!
//! Crash safety: a load spools and verifies everything under `tmp/`, unpacks layers there
//! (while the archive streams in, see `early.rs`)
//! and renames them into place, flushes the filesystem (`syncfs`), and only then records
//! the images, their tags and layers in one redb transaction (from the first file moved
//! into place to that commit a load holds the ingest lock shared; garbage collection takes
//! it exclusively). A crash at any point leaves either the old state or the new one;
//! files not referenced by the database (a layer renamed but never recorded) are swept at
//! the next open or collection (see `gc.rs`).
//!
//! Modules: `load.rs` (docker-save and OCI archives in), `save.rs` (out), `newimage.rs`
//! (commit and import), `gc.rs` (delete, retained images, collection), `layertar.rs` (layer
//! tars and changes), `unpack.rs` and `early.rs` (layers unpacked by the archive crate),
//! `metadb.rs` (the redb database, opened again after an I/O error), `reference.rs` (names).

mod early;
pub mod error;
mod gc;
pub mod layertar;
mod load;
mod metadb;
mod newimage;
mod reference;
mod save;
mod unpack;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard};

use berth_oci::Digest;
use redb::{ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

pub use berth_oci::ImageConfig;
pub use error::{Error, ErrorKind, Result};
pub use gc::{Deleted, GcReport, chain_ids};
pub use newimage::NewImage;
pub use reference::normalize;
pub use save::SaveSet;

const IMAGES: TableDefinition<&str, &[u8]> = TableDefinition::new("images");
const TAGS: TableDefinition<&str, &str> = TableDefinition::new("tags");
const LAYERS: TableDefinition<&str, u64> = TableDefinition::new("layers");
/// diff id → [`LayerBlob`] (JSON): which blob holds the layer's tar, when it is not the
/// uncompressed tar at `blobs/sha256/<hex of the diff id>` (the convention when no row is
/// recorded).
const LAYER_BLOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("layer_blobs");
/// Images deleted while containers still use them: id → [`Record`] (JSON). Their layers
/// and config stay until no container uses them.
const RETAINED: TableDefinition<&str, &[u8]> = TableDefinition::new("retained");
/// Store-wide facts (`schema`).
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
const SCHEMA: &str = "2";

/// Where a layer's tar is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerBlob {
    /// `sha256:<hex>` of the blob as stored (compressed or not).
    pub blob: String,
    /// Bytes of the uncompressed tar (whose sha256 is the diff id).
    pub tar_size: u64,
}

/// The image store.
pub struct Store {
    root: PathBuf,
    db: metadb::MetaDb,
    /// Serialises metadata commits (load, tag).
    commit: Mutex<()>,
    /// Held shared by anything that adds files to `layers/` or `blobs/` until it has
    /// committed the records that reference them (loads, commits, imports); held
    /// exclusively by garbage collection, which removes unreferenced files.
    ingest: RwLock<()>,
    seq: AtomicU64,
}

/// An image as `load` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedImage {
    /// `sha256:<hex>` of the config.
    pub id: String,
    /// Tags it was loaded with, e.g. `busybox:latest` (empty when untagged).
    pub tags: Vec<String>,
}

/// An image as the store knows it.
#[derive(Debug, Clone)]
pub struct Image {
    /// `sha256:<hex>` of the config blob.
    pub id: String,
    /// e.g. `busybox:latest`.
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub config: ImageConfig,
    /// Sum of the unpacked layer sizes in bytes.
    pub size: u64,
    /// Layer diff ids (`sha256:<hex>`), bottom-most first.
    pub diff_ids: Vec<String>,
}

/// What the database keeps per image.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    id: String,
    repo_tags: Vec<String>,
    #[serde(default)]
    repo_digests: Vec<String>,
    diff_ids: Vec<String>,
    size: u64,
    /// The raw config JSON (also in `blobs/`).
    config: String,
}

impl Record {
    fn image(&self) -> Result<Image> {
        let config = ImageConfig::parse(self.config.as_bytes())
            .map_err(|e| Error::Db(format!("image {}: bad {e}", self.id)))?;
        Ok(Image {
            id: self.id.clone(),
            repo_tags: self.repo_tags.clone(),
            repo_digests: self.repo_digests.clone(),
            config,
            size: self.size,
            diff_ids: self.diff_ids.clone(),
        })
    }
}

fn db_err(e: impl std::fmt::Display) -> Error {
    Error::Db(e.to_string())
}

fn io_err(ctx: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let context = ctx.into();
    move |source| Error::Io { context, source }
}

fn invalid(msg: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("invalid archive: {msg}"))
}

/// `sha256:<64 hex>` → the hex, if `d` is a valid [`Digest`].
fn digest_hex(d: &str) -> Option<&str> {
    Digest::parse(d).is_ok().then(|| &d["sha256:".len()..])
}

impl Store {
    /// Open (creating if needed) the store at `root`.
    pub fn open(root: &Path) -> Result<Store> {
        for d in ["blobs/sha256", "layers", "tmp"] {
            std::fs::create_dir_all(root.join(d))
                .map_err(io_err(format!("creating {}", root.join(d).display())))?;
        }
        // Work in progress from before a crash.
        let tmp = root.join("tmp");
        for e in std::fs::read_dir(&tmp).map_err(io_err("reading tmp"))? {
            let p = e.map_err(io_err("reading tmp"))?.path();
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
        let db = metadb::MetaDb::open(&root.join("meta.redb")).map_err(db_err)?;
        let txn = db.begin_write().map_err(db_err)?;
        txn.open_table(IMAGES).map_err(db_err)?;
        txn.open_table(TAGS).map_err(db_err)?;
        txn.open_table(LAYERS).map_err(db_err)?;
        txn.open_table(LAYER_BLOBS).map_err(db_err)?;
        txn.open_table(RETAINED).map_err(db_err)?;
        txn.open_table(META).map_err(db_err)?;
        txn.commit().map_err(db_err)?;
        let store = Store {
            root: root.to_path_buf(),
            db,
            commit: Mutex::new(()),
            ingest: RwLock::new(()),
            seq: AtomicU64::new(0),
        };
        store.migrate()?;
        // Files a crash left unreferenced (renamed into place, never recorded; or
        // recorded as deleted, not yet removed).
        store.sweep()?;
        Ok(store)
    }

    /// Hold this (shared) from the moment files are put into `layers/` or `blobs/` until
    /// the records referencing them are committed: garbage collection waits for it.
    pub fn ingest_guard(&self) -> RwLockReadGuard<'_, ()> {
        self.ingest.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A fresh name under `tmp/`.
    fn tmp_path(&self, what: &str) -> PathBuf {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        self.root
            .join("tmp")
            .join(format!("{what}-{}-{n}", std::process::id()))
    }

    fn tmp_dir(&self, what: &str) -> Result<PathBuf> {
        let p = self.tmp_path(what);
        std::fs::create_dir(&p).map_err(io_err(format!("creating {}", p.display())))?;
        Ok(p)
    }

    /// Where the tar of layer `diff_id` is stored, if it is.
    pub fn layer_blob(&self, diff_id: &str) -> Result<Option<LayerBlob>> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(LAYER_BLOBS).map_err(db_err)?;
        if let Some(v) = t.get(diff_id).map_err(db_err)? {
            let lb: LayerBlob = serde_json::from_slice(v.value()).map_err(db_err)?;
            if digest_hex(&lb.blob).is_some_and(|h| self.blob_path(h).is_file()) {
                return Ok(Some(lb));
            }
        }
        let Some(hex) = digest_hex(diff_id) else {
            return Ok(None);
        };
        Ok(std::fs::metadata(self.blob_path(hex))
            .ok()
            .filter(|m| m.is_file())
            .map(|m| LayerBlob {
                blob: diff_id.to_string(),
                tar_size: m.len(),
            }))
    }

    fn blob_path(&self, hex: &str) -> PathBuf {
        self.root.join("blobs/sha256").join(hex)
    }

    fn put_blob(&self, hex: &str, data: &[u8]) -> Result<()> {
        let dst = self.blob_path(hex);
        if dst.exists() {
            return Ok(());
        }
        let tmp = self.root.join("tmp").join(format!(
            "blob-{hex}-{}",
            self.seq.fetch_add(1, Ordering::Relaxed)
        ));
        let written = std::fs::File::create(&tmp)
            .and_then(|mut f| f.write_all(data))
            .map_err(io_err("writing a blob"))
            .and_then(|()| std::fs::rename(&tmp, &dst).map_err(io_err("storing a blob")));
        if written.is_err() {
            // Not left in tmp/ until the next open (on a full disk, its space is missing).
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }

    /// The recorded size of layer `diff_id`, if it is recorded and on disk.
    fn layer_size(&self, diff_id: &str) -> Result<Option<u64>> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(LAYERS).map_err(db_err)?;
        let size = t.get(diff_id).map_err(db_err)?.map(|v| v.value());
        let hex = digest_hex(diff_id).unwrap_or_default();
        Ok(size.filter(|_| self.root.join("layers").join(hex).is_dir()))
    }

    /// All images.
    pub fn list(&self) -> Result<Vec<Image>> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(IMAGES).map_err(db_err)?;
        let mut out = Vec::new();
        for row in t.iter().map_err(db_err)? {
            let (_, v) = row.map_err(db_err)?;
            let rec: Record = serde_json::from_slice(v.value()).map_err(db_err)?;
            out.push(rec.image()?);
        }
        out.sort_by(|a, b| b.config.created.cmp(&a.config.created));
        Ok(out)
    }

    /// Look up by `name[:tag]` (tag defaults to `latest`; `docker.io/library/` prefixes
    /// accepted), by full or `sha256:`-prefixed id, or by a unique id prefix.
    /// `ErrorKind::NotFound` with message `No such image: <reference>` otherwise.
    pub fn get(&self, reference: &str) -> Result<Image> {
        let not_found = || Error::NotFound(format!("No such image: {reference}"));
        let txn = self.db.begin_read().map_err(db_err)?;
        let images = txn.open_table(IMAGES).map_err(db_err)?;
        let fetch = |id: &str| -> Result<Option<Image>> {
            match images.get(id).map_err(db_err)? {
                Some(v) => {
                    let rec: Record = serde_json::from_slice(v.value()).map_err(db_err)?;
                    Ok(Some(rec.image()?))
                }
                None => Ok(None),
            }
        };
        if let Ok(name) = normalize(reference) {
            let tags = txn.open_table(TAGS).map_err(db_err)?;
            if let Some(id) = tags.get(name.as_str()).map_err(db_err)? {
                let id = id.value().to_string();
                return fetch(&id)?.ok_or_else(not_found);
            }
        }
        let hex = reference.strip_prefix("sha256:").unwrap_or(reference);
        if hex.is_empty() || hex.len() > 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found());
        }
        let prefix = format!("sha256:{hex}");
        let mut found = Vec::new();
        for row in images.range(prefix.as_str()..).map_err(db_err)? {
            let (k, _) = row.map_err(db_err)?;
            if !k.value().starts_with(&prefix) {
                break;
            }
            found.push(k.value().to_string());
            if found.len() > 1 {
                return Err(Error::Invalid(format!(
                    "multiple images match the prefix {reference}"
                )));
            }
        }
        match found.first() {
            Some(id) => fetch(id)?.ok_or_else(not_found),
            None => Err(not_found()),
        }
    }

    /// Point `reference` (`name[:tag]`) at image `id`, moving it if it pointed elsewhere.
    pub fn tag(&self, id: &str, reference: &str) -> Result<()> {
        let name = normalize(reference)?;
        let _guard = self.commit.lock().unwrap_or_else(|p| p.into_inner());
        let txn = self.db.begin_write().map_err(db_err)?;
        {
            let mut images = txn.open_table(IMAGES).map_err(db_err)?;
            let mut tags = txn.open_table(TAGS).map_err(db_err)?;
            let mut rec: Record = match images.get(id).map_err(db_err)? {
                Some(v) => serde_json::from_slice(v.value()).map_err(db_err)?,
                None => return Err(Error::NotFound(format!("No such image: {id}"))),
            };
            move_tag(&mut images, &mut tags, &name, id)?;
            if !rec.repo_tags.contains(&name) {
                rec.repo_tags.push(name.clone());
            }
            let json = serde_json::to_vec(&rec).map_err(db_err)?;
            images.insert(id, json.as_slice()).map_err(db_err)?;
        }
        txn.commit().map_err(db_err)
    }

    /// Unpacked layer directories of `image`, bottom-most first.
    pub fn layer_dirs(&self, image: &Image) -> Result<Vec<PathBuf>> {
        image
            .diff_ids
            .iter()
            .map(|d| {
                let hex = digest_hex(d)
                    .ok_or_else(|| Error::Db(format!("image {}: bad diff id {d}", image.id)))?;
                Ok(self.root.join("layers").join(hex))
            })
            .collect()
    }
}

/// Point `tag` at `id`, taking it off the image that had it.
fn move_tag(
    images: &mut redb::Table<'_, &'static str, &'static [u8]>,
    tags: &mut redb::Table<'_, &'static str, &'static str>,
    tag: &str,
    id: &str,
) -> Result<()> {
    let old = tags
        .get(tag)
        .map_err(db_err)?
        .map(|v| v.value().to_string());
    if let Some(old) = old.filter(|o| o != id) {
        let rec = images
            .get(old.as_str())
            .map_err(db_err)?
            .map(|v| serde_json::from_slice::<Record>(v.value()));
        if let Some(Ok(mut rec)) = rec {
            rec.repo_tags.retain(|t| t != tag);
            let json = serde_json::to_vec(&rec).map_err(db_err)?;
            images
                .insert(old.as_str(), json.as_slice())
                .map_err(db_err)?;
        }
    }
    tags.insert(tag, id).map_err(db_err)?;
    Ok(())
}
