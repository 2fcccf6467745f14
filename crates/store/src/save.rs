//! `save`: images out as a classic `docker save` archive.
//!
//! Layout (what `docker load` of any version, dockerd 20.10 and skopeo's `docker-archive:`
//! read): `manifest.json` (`Config`, `RepoTags`, `Layers` per image), `repositories`,
//! `<config hex>.json`, and `<diff id hex>/layer.tar` for each layer once, uncompressed,
//! so its sha256 is the diff id. Stored blobs are decompressed and verified as they stream
//! out: a wrong digest or length aborts the archive with an error.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};

use redb::ReadableDatabase;
use sha2::{Digest, Sha256};

use crate::{Error, Image, Result, Store, TAGS, db_err, digest_hex, io_err, normalize};

/// One image to save.
struct SaveImage {
    id: String,
    tags: Vec<String>,
    config: Vec<u8>,
    diff_ids: Vec<String>,
}

/// One layer to save, its blob already open (a collection cannot take it away).
struct SaveLayer {
    diff_id: String,
    file: File,
    tar_size: u64,
}

/// Images chosen for a save, with everything they need read or opened.
pub struct SaveSet {
    images: Vec<SaveImage>,
    layers: Vec<SaveLayer>,
}

impl Store {
    /// Resolve `names` as `docker save` does (a name without a tag means every tag of
    /// that repository; a tag saves the image with that tag; an id saves it untagged) and
    /// open what the archive needs.
    pub fn prepare_save(&self, names: &[String]) -> Result<SaveSet> {
        if names.is_empty() {
            return Err(Error::Invalid("no images to save".into()));
        }
        let _ingest = self.ingest_guard();
        let mut chosen: Vec<(Image, Vec<String>)> = Vec::new();
        let mut add = |img: Image, tag: Option<String>| {
            let i = match chosen.iter().position(|(c, _)| c.id == img.id) {
                Some(i) => i,
                None => {
                    chosen.push((img, Vec::new()));
                    chosen.len() - 1
                }
            };
            if let Some(t) = tag
                && !chosen[i].1.contains(&t)
            {
                chosen[i].1.push(t);
            }
        };
        for name in names {
            let name_only = !name.contains('@')
                && !name.rsplit('/').next().unwrap_or("").contains(':')
                && normalize(name).is_ok();
            if name_only {
                let tags = self.tags_of_repo(name)?;
                if !tags.is_empty() {
                    for t in tags {
                        let img = self.get(&t)?;
                        add(img, Some(t));
                    }
                    continue;
                }
            }
            let img = self.get(name)?;
            let tag = normalize(name).ok().filter(|t| img.repo_tags.contains(t));
            add(img, tag);
        }
        let mut set = SaveSet {
            images: Vec::new(),
            layers: Vec::new(),
        };
        for (img, tags) in chosen {
            let hex =
                digest_hex(&img.id).ok_or_else(|| Error::Db(format!("bad image id {}", img.id)))?;
            let config = std::fs::read(self.blob_path(hex))
                .map_err(io_err(format!("reading the config of {}", img.id)))?;
            let got = format!("sha256:{}", hex::encode(Sha256::digest(&config)));
            if got != img.id {
                return Err(Error::Db(format!(
                    "stored config of image {} is corrupt (digest {got})",
                    img.id
                )));
            }
            for d in &img.diff_ids {
                if set.layers.iter().any(|l| l.diff_id == *d) {
                    continue;
                }
                let lb = self.layer_blob(d)?.ok_or_else(|| {
                    Error::Db(format!("layer {d} of image {} has no stored blob", img.id))
                })?;
                let bhex = digest_hex(&lb.blob)
                    .ok_or_else(|| Error::Db(format!("bad blob digest {}", lb.blob)))?;
                let file = File::open(self.blob_path(bhex))
                    .map_err(io_err(format!("opening the blob of layer {d}")))?;
                set.layers.push(SaveLayer {
                    diff_id: d.clone(),
                    file,
                    tar_size: lb.tar_size,
                });
            }
            set.images.push(SaveImage {
                id: img.id.clone(),
                tags,
                config,
                diff_ids: img.diff_ids.clone(),
            });
        }
        Ok(set)
    }

    /// Tags (`name:tag`) of repository `name`.
    fn tags_of_repo(&self, name: &str) -> Result<Vec<String>> {
        let full = normalize(name)?;
        let repo = full.rsplit_once(':').map_or(full.as_str(), |(r, _)| r);
        let prefix = format!("{repo}:");
        let txn = self.db.begin_read().map_err(db_err)?;
        let tags = txn.open_table(TAGS).map_err(db_err)?;
        let mut out = Vec::new();
        for row in tags.range(prefix.as_str()..).map_err(db_err)? {
            let (k, _) = row.map_err(db_err)?;
            let Some(tag) = k.value().strip_prefix(&prefix) else {
                break;
            };
            if !tag.contains(['/', ':']) {
                out.push(k.value().to_string());
            }
        }
        Ok(out)
    }
}

impl SaveSet {
    /// Ids of the images in the set.
    pub fn ids(&self) -> Vec<String> {
        self.images.iter().map(|i| i.id.clone()).collect()
    }

    /// Write the archive to `out`.
    pub fn write(self, out: impl Write) -> Result<()> {
        let err = |e: io::Error| Error::Io {
            context: "writing the archive".into(),
            source: e,
        };
        let mut tar = tar::Builder::new(out);
        for l in self.layers {
            let hex = &l.diff_id["sha256:".len()..];
            let mut dir = header(tar::EntryType::Directory, 0o755, 0);
            tar.append_data(&mut dir, format!("{hex}/"), io::empty())
                .map_err(err)?;
            let mut h = header(tar::EntryType::Regular, 0o644, l.tar_size);
            let input = crate::unpack::decompress(l.file).map_err(err)?;
            let reader = Verified {
                inner: input,
                hasher: Sha256::new(),
                count: 0,
                want_size: l.tar_size,
                want: l.diff_id.clone(),
                done: false,
            };
            tar.append_data(&mut h, format!("{hex}/layer.tar"), reader)
                .map_err(err)?;
        }
        let mut manifest = Vec::new();
        let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for img in &self.images {
            let hex = &img.id["sha256:".len()..];
            let config_name = format!("{hex}.json");
            let mut h = header(tar::EntryType::Regular, 0o644, img.config.len() as u64);
            tar.append_data(&mut h, &config_name, img.config.as_slice())
                .map_err(err)?;
            let layers: Vec<String> = img
                .diff_ids
                .iter()
                .map(|d| format!("{}/layer.tar", &d["sha256:".len()..]))
                .collect();
            if let Some(top) = img.diff_ids.last() {
                for t in &img.tags {
                    if let Some((repo, tag)) = t.rsplit_once(':') {
                        repositories
                            .entry(repo.to_string())
                            .or_default()
                            .insert(tag.to_string(), top["sha256:".len()..].to_string());
                    }
                }
            }
            manifest.push(serde_json::json!({
                "Config": config_name,
                "RepoTags": if img.tags.is_empty() { serde_json::Value::Null } else { serde_json::json!(img.tags) },
                "Layers": layers,
            }));
        }
        let data = serde_json::to_vec(&manifest).map_err(|e| Error::Db(e.to_string()))?;
        let mut h = header(tar::EntryType::Regular, 0o644, data.len() as u64);
        tar.append_data(&mut h, "manifest.json", data.as_slice())
            .map_err(err)?;
        if !repositories.is_empty() {
            let data = serde_json::to_vec(&repositories).map_err(|e| Error::Db(e.to_string()))?;
            let mut h = header(tar::EntryType::Regular, 0o644, data.len() as u64);
            tar.append_data(&mut h, "repositories", data.as_slice())
                .map_err(err)?;
        }
        let mut out = tar.into_inner().map_err(err)?;
        out.flush().map_err(err)
    }
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

/// A layer's tar as it streams out: exactly `want_size` bytes with sha256 `want`, or an
/// error.
struct Verified<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    want_size: u64,
    want: String,
    done: bool,
}

impl<R: Read> Read for Verified<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            if !self.done {
                self.done = true;
                let got = format!("sha256:{}", hex::encode(self.hasher.clone().finalize()));
                if got != self.want || self.count != self.want_size {
                    return Err(io::Error::other(format!(
                        "stored layer {} is corrupt: got {got} ({} bytes, expected {})",
                        self.want, self.count, self.want_size
                    )));
                }
            }
            return Ok(0);
        }
        self.count += n as u64;
        if self.count > self.want_size {
            return Err(io::Error::other(format!(
                "stored layer {} is corrupt: longer than {} bytes",
                self.want, self.want_size
            )));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
