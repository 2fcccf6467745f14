//! Removing images and collecting what no image or container references.
//!
//! Deletion is metadata first, files after: `delete` and `untag` only change records (one
//! redb transaction each); [`Store::gc`] then drops the records of layers nothing
//! references and of retained images no container uses (one transaction, durable), and
//! only after that commit moves the unreferenced layer directories to `tmp/` and unlinks
//! the unreferenced blobs. A crash in between leaves files without records, which the next
//! collection (or the sweep at open) removes: a record never points at a missing file.
//!
//! Collection holds the store's ingest lock exclusively, so it never runs between a load
//! putting files in place and committing the records that reference them.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use redb::{ReadableTable, ReadableTableMetadata};
use sha2::{Digest, Sha256};

use crate::{
    Error, IMAGES, LAYER_BLOBS, LAYERS, LayerBlob, META, RETAINED, Record, Result, SCHEMA, Store,
    TAGS, db_err, digest_hex, io_err, normalize,
};

/// What [`Store::delete`] removed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Deleted {
    /// The tags the image had, now gone.
    pub untagged: Vec<String>,
}

/// What a collection removed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GcReport {
    /// Diff ids of the layers removed.
    pub layers: Vec<String>,
    /// Their unpacked sizes, summed.
    pub bytes: u64,
}

/// Chain ids of a stack of diff ids, bottom-most first (as Docker names layers).
pub fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => format!(
                "sha256:{}",
                hex::encode(Sha256::digest(format!("{prev} {d}").as_bytes()))
            ),
        };
        out.push(next);
    }
    out
}

impl Store {
    /// Remove tag `reference` (`name[:tag]`) from the image it points at; that image's id.
    pub fn untag(&self, reference: &str) -> Result<String> {
        let name = normalize(reference)?;
        let _guard = self.commit.lock().unwrap_or_else(|p| p.into_inner());
        let txn = self.db.begin_write().map_err(db_err)?;
        let id;
        {
            let mut images = txn.open_table(IMAGES).map_err(db_err)?;
            let mut tags = txn.open_table(TAGS).map_err(db_err)?;
            id = match tags.remove(name.as_str()).map_err(db_err)? {
                Some(v) => v.value().to_string(),
                None => return Err(Error::NotFound(format!("No such image: {reference}"))),
            };
            let rec = images
                .get(id.as_str())
                .map_err(db_err)?
                .map(|v| serde_json::from_slice::<Record>(v.value()));
            if let Some(rec) = rec {
                let mut rec = rec.map_err(db_err)?;
                rec.repo_tags.retain(|t| *t != name);
                let json = serde_json::to_vec(&rec).map_err(db_err)?;
                images
                    .insert(id.as_str(), json.as_slice())
                    .map_err(db_err)?;
            }
        }
        txn.commit().map_err(db_err)?;
        Ok(id)
    }

    /// Delete image `id` and all its tags. With `retain`, containers still use it: its
    /// record moves aside (not listed, not found by name) and keeps its layers and config
    /// until a collection finds no container using it. Files go at the next [`Store::gc`].
    pub fn delete(&self, id: &str, retain: bool) -> Result<Deleted> {
        let _guard = self.commit.lock().unwrap_or_else(|p| p.into_inner());
        let txn = self.db.begin_write().map_err(db_err)?;
        let mut out = Deleted::default();
        {
            let mut images = txn.open_table(IMAGES).map_err(db_err)?;
            let mut tags = txn.open_table(TAGS).map_err(db_err)?;
            let rec: Record = match images.remove(id).map_err(db_err)? {
                Some(v) => serde_json::from_slice(v.value()).map_err(db_err)?,
                None => return Err(Error::NotFound(format!("No such image: {id}"))),
            };
            for t in &rec.repo_tags {
                let points_here = tags
                    .get(t.as_str())
                    .map_err(db_err)?
                    .is_some_and(|v| v.value() == id);
                if points_here {
                    tags.remove(t.as_str()).map_err(db_err)?;
                    out.untagged.push(t.clone());
                }
            }
            // Its link to the image it was committed on.
            txn.open_table(crate::newimage::PARENTS)
                .map_err(db_err)?
                .remove(id)
                .map_err(db_err)?;
            if retain {
                let mut kept = rec.clone();
                kept.repo_tags.clear();
                kept.repo_digests.clear();
                let json = serde_json::to_vec(&kept).map_err(db_err)?;
                let mut retained = txn.open_table(RETAINED).map_err(db_err)?;
                retained.insert(id, json.as_slice()).map_err(db_err)?;
            }
        }
        txn.commit().map_err(db_err)?;
        Ok(out)
    }

    /// Unpacked layer directories of image `id`, bottom-most first, for a container: also
    /// for an image deleted while the container kept it.
    pub fn layer_dirs_of(&self, id: &str) -> Result<Vec<PathBuf>> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let images = txn.open_table(IMAGES).map_err(db_err)?;
        let retained = txn.open_table(RETAINED).map_err(db_err)?;
        let row: Option<Vec<u8>> = match images.get(id).map_err(db_err)? {
            Some(v) => Some(v.value().to_vec()),
            None => retained
                .get(id)
                .map_err(db_err)?
                .map(|v| v.value().to_vec()),
        };
        let Some(row) = row else {
            return Err(Error::NotFound(format!("No such image: {id}")));
        };
        let rec: Record = serde_json::from_slice(&row).map_err(db_err)?;
        self.layer_dirs(&rec.image()?)
    }

    /// Whether image `id` was deleted and is kept for containers.
    pub fn is_retained(&self, id: &str) -> Result<bool> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let retained = txn.open_table(RETAINED).map_err(db_err)?;
        Ok(retained.get(id).map_err(db_err)?.is_some())
    }

    /// Unpacked sizes of the recorded layers, by diff id.
    pub fn layer_sizes(&self) -> Result<HashMap<String, u64>> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(LAYERS).map_err(db_err)?;
        let mut out = HashMap::new();
        for row in t.iter().map_err(db_err)? {
            let (k, v) = row.map_err(db_err)?;
            out.insert(k.value().to_string(), v.value());
        }
        Ok(out)
    }

    /// Remove layers and blobs that no image, and no image kept for the containers whose
    /// image ids are `in_use`, references.
    pub fn gc(&self, in_use: &HashSet<String>) -> Result<GcReport> {
        self.collect(Some(in_use))
    }

    /// At open: remove files a crash left without records (retained images all stay).
    pub(crate) fn sweep(&self) -> Result<()> {
        self.collect(None).map(|_| ())
    }

    fn collect(&self, in_use: Option<&HashSet<String>>) -> Result<GcReport> {
        let _excl = self.ingest.write().unwrap_or_else(|p| p.into_inner());
        let mut report = GcReport::default();
        let mut keep_layers: HashSet<String> = HashSet::new();
        let mut keep_blobs: HashSet<String> = HashSet::new();
        let txn = self.db.begin_write().map_err(db_err)?;
        {
            let images = txn.open_table(IMAGES).map_err(db_err)?;
            let mut retained = txn.open_table(RETAINED).map_err(db_err)?;
            let mut layers = txn.open_table(LAYERS).map_err(db_err)?;
            let mut layer_blobs = txn.open_table(LAYER_BLOBS).map_err(db_err)?;
            let mut keep = |rec: &Record| {
                keep_blobs.insert(rec.id.clone());
                keep_layers.extend(rec.diff_ids.iter().cloned());
            };
            for row in images.iter().map_err(db_err)? {
                let (_, v) = row.map_err(db_err)?;
                keep(&serde_json::from_slice::<Record>(v.value()).map_err(db_err)?);
            }
            let mut drop_retained = Vec::new();
            for row in retained.iter().map_err(db_err)? {
                let (k, v) = row.map_err(db_err)?;
                if in_use.is_none_or(|u| u.contains(k.value())) {
                    keep(&serde_json::from_slice::<Record>(v.value()).map_err(db_err)?);
                } else {
                    drop_retained.push(k.value().to_string());
                }
            }
            for id in &drop_retained {
                retained.remove(id.as_str()).map_err(db_err)?;
            }
            let mut gone = Vec::new();
            for row in layers.iter().map_err(db_err)? {
                let (k, v) = row.map_err(db_err)?;
                if !keep_layers.contains(k.value()) {
                    gone.push((k.value().to_string(), v.value()));
                }
            }
            for (d, size) in gone {
                layers.remove(d.as_str()).map_err(db_err)?;
                report.bytes += size;
                report.layers.push(d);
            }
            let mut gone = Vec::new();
            for row in layer_blobs.iter().map_err(db_err)? {
                let (k, v) = row.map_err(db_err)?;
                if keep_layers.contains(k.value()) {
                    let lb: LayerBlob = serde_json::from_slice(v.value()).map_err(db_err)?;
                    keep_blobs.insert(lb.blob);
                } else {
                    gone.push(k.value().to_string());
                }
            }
            for d in gone {
                layer_blobs.remove(d.as_str()).map_err(db_err)?;
            }
        }
        txn.commit().map_err(db_err)?;
        // The convention: a layer's uncompressed tar is named by its diff id.
        keep_blobs.extend(keep_layers.iter().cloned());
        let keep_hex = |set: &HashSet<String>| -> HashSet<String> {
            set.iter()
                .filter_map(|d| digest_hex(d).map(str::to_string))
                .collect()
        };
        let (keep_layers, keep_blobs) = (keep_hex(&keep_layers), keep_hex(&keep_blobs));

        // Files, now that no record points at them. Layer directories are renamed out
        // of the way under the lock and deleted after it.
        let mut doomed = Vec::new();
        let layers_dir = self.root.join("layers");
        for e in std::fs::read_dir(&layers_dir).map_err(io_err("reading layers"))? {
            let e = e.map_err(io_err("reading layers"))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if keep_layers.contains(&name) {
                continue;
            }
            let tmp = self.tmp_path(&format!("gc-{name}"));
            match std::fs::rename(e.path(), &tmp) {
                Ok(()) => doomed.push(tmp),
                Err(err) => tracing::warn!("collecting layer {name}: {err}"),
            }
        }
        let blobs_dir = self.root.join("blobs/sha256");
        for e in std::fs::read_dir(&blobs_dir).map_err(io_err("reading blobs"))? {
            let e = e.map_err(io_err("reading blobs"))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if !keep_blobs.contains(&name)
                && let Err(err) = std::fs::remove_file(e.path())
            {
                tracing::warn!("collecting blob {name}: {err}");
            }
        }
        drop(_excl);
        for d in doomed {
            if let Err(err) = std::fs::remove_dir_all(&d) {
                tracing::warn!("removing {}: {err}", d.display());
            }
        }
        Ok(report)
    }

    /// Data roots from before layer blobs were recorded kept compressed layer blobs
    /// under their compressed digest without saying whose they are: find out once.
    pub(crate) fn migrate(&self) -> Result<()> {
        {
            let txn = self.db.begin_read().map_err(db_err)?;
            let meta = txn.open_table(META).map_err(db_err)?;
            if meta
                .get("schema")
                .map_err(db_err)?
                .map(|v| v.value() == SCHEMA)
                == Some(true)
            {
                return Ok(());
            }
        }
        let sizes = self.layer_sizes()?;
        let mut found: Vec<(String, LayerBlob)> = Vec::new();
        let mut missing: HashSet<&String> = sizes
            .keys()
            .filter(|d| self.layer_blob(d).ok().flatten().is_none())
            .collect();
        if !missing.is_empty() {
            let dir = self.root.join("blobs/sha256");
            for e in std::fs::read_dir(&dir).map_err(io_err("reading blobs"))? {
                let e = e.map_err(io_err("reading blobs"))?;
                let name = e.file_name().to_string_lossy().into_owned();
                let Ok(f) = std::fs::File::open(e.path()) else {
                    continue;
                };
                let Ok(reader) = berth_archive::decompress(f) else {
                    continue;
                };
                let Ok((diff_id, tar_size)) = berth_archive::HashReader::new(reader).finish()
                else {
                    continue;
                };
                if missing.remove(&diff_id) {
                    found.push((
                        diff_id,
                        LayerBlob {
                            blob: format!("sha256:{name}"),
                            tar_size,
                        },
                    ));
                }
                if missing.is_empty() {
                    break;
                }
            }
        }
        let txn = self.db.begin_write().map_err(db_err)?;
        {
            let mut t = txn.open_table(LAYER_BLOBS).map_err(db_err)?;
            for (d, lb) in &found {
                let json = serde_json::to_vec(lb).map_err(db_err)?;
                t.insert(d.as_str(), json.as_slice()).map_err(db_err)?;
            }
            let mut meta = txn.open_table(META).map_err(db_err)?;
            meta.insert("schema", SCHEMA).map_err(db_err)?;
        }
        txn.commit().map_err(db_err)?;
        Ok(())
    }

    /// Number of images (cheap, for `info`).
    pub fn count(&self) -> Result<u64> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(IMAGES).map_err(db_err)?;
        t.len().map_err(db_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_data_roots_learn_where_layer_blobs_are() {
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/images/layers-test.oci.tar");
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let mut f = std::fs::File::open(fixture).expect("fixture");
        store.load(&mut f).expect("load");
        let img = store.get("layers-test:1").expect("image");
        let top = img.diff_ids.last().expect("layers").clone();
        let want = store.layer_blob(&top).expect("blob").expect("recorded");
        // As a root written before blobs were recorded: no rows, no schema.
        let txn = store.db.begin_write().expect("txn");
        {
            let mut t = txn.open_table(LAYER_BLOBS).expect("table");
            for d in &img.diff_ids {
                t.remove(d.as_str()).expect("remove");
            }
            txn.open_table(META)
                .expect("table")
                .remove("schema")
                .expect("remove");
        }
        txn.commit().expect("commit");
        drop(store);
        let store = Store::open(dir.path()).expect("reopen");
        assert_eq!(store.layer_blob(&top).expect("blob"), Some(want));
        let set = store
            .prepare_save(&["layers-test:1".to_string()])
            .expect("save");
        set.write(std::io::sink()).expect("write");
    }

    #[test]
    fn chain_ids_follow_docker() {
        let a = format!("sha256:{}", "a".repeat(64));
        let b = format!("sha256:{}", "b".repeat(64));
        let c = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(c[0], a);
        let want = format!(
            "sha256:{}",
            hex::encode(Sha256::digest(format!("{a} {b}").as_bytes()))
        );
        assert_eq!(c[1], want);
    }
}
