//! `save`: images out as an archive in the layout Docker 25+ writes, which is both a
//! classic `docker save` archive and an OCI image layout.
//!
//! - `manifest.json` (`Config`, `RepoTags`, `Layers` per image) and `repositories`: what
//!   `docker load` of any version (dockerd 20.10 included) and skopeo's `docker-archive:`
//!   read;
//! - `oci-layout`, `index.json` (one entry per tag, named by `io.containerd.image.name`
//!   and `org.opencontainers.image.ref.name`) and an OCI manifest blob per image: what
//!   OCI tools (`skopeo ... oci-archive:`) read;
//! - `blobs/sha256/<hex>`: each config, manifest and layer once. Layers are uncompressed,
//!   so their sha256 is the diff id. Stored blobs are decompressed and verified as they
//!   stream out: a wrong digest or length aborts the archive with an error.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};

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
        let json =
            |v: &serde_json::Value| serde_json::to_vec(v).map_err(|e| Error::Db(e.to_string()));
        let mut tar = tar::Builder::new(out);
        let add = |tar: &mut tar::Builder<_>, name: &str, data: &[u8]| {
            let mut h = header(tar::EntryType::Regular, 0o644, data.len() as u64);
            tar.append_data(&mut h, name, data).map_err(err)
        };
        for d in ["blobs/", "blobs/sha256/"] {
            let mut h = header(tar::EntryType::Directory, 0o755, 0);
            tar.append_data(&mut h, d, io::empty()).map_err(err)?;
        }
        add(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        let mut layer_sizes = BTreeMap::new();
        for l in self.layers {
            layer_sizes.insert(l.diff_id.clone(), l.tar_size);
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
            tar.append_data(&mut h, blob_name(&l.diff_id), reader)
                .map_err(err)?;
        }
        let mut manifest = Vec::new();
        let mut index = Vec::new();
        let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for img in &self.images {
            add(&mut tar, &blob_name(&img.id), &img.config)?;
            let layers: Vec<String> = img.diff_ids.iter().map(|d| blob_name(d)).collect();
            let oci = json(&serde_json::json!({
                "schemaVersion": 2,
                "mediaType": MANIFEST_TYPE,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": img.id,
                    "size": img.config.len(),
                },
                "layers": img.diff_ids.iter().map(|d| serde_json::json!({
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": d,
                    "size": layer_sizes.get(d).copied().unwrap_or_default(),
                })).collect::<Vec<_>>(),
            }))?;
            let oci_digest = format!("sha256:{}", hex::encode(Sha256::digest(&oci)));
            add(&mut tar, &blob_name(&oci_digest), &oci)?;
            let descriptor = |annotations: Option<serde_json::Value>| {
                let mut d = serde_json::json!({
                    "mediaType": MANIFEST_TYPE,
                    "digest": oci_digest,
                    "size": oci.len(),
                });
                if let Some(a) = annotations {
                    d["annotations"] = a;
                }
                d
            };
            if img.tags.is_empty() {
                index.push(descriptor(None));
            }
            for t in &img.tags {
                let (repo, tag) = t.rsplit_once(':').unwrap_or((t.as_str(), "latest"));
                index.push(descriptor(Some(serde_json::json!({
                    "io.containerd.image.name": qualified(t),
                    "org.opencontainers.image.ref.name": tag,
                }))));
                if let Some(top) = img.diff_ids.last() {
                    repositories
                        .entry(repo.to_string())
                        .or_default()
                        .insert(tag.to_string(), top["sha256:".len()..].to_string());
                }
            }
            manifest.push(serde_json::json!({
                "Config": blob_name(&img.id),
                "RepoTags": if img.tags.is_empty() { serde_json::Value::Null } else { serde_json::json!(img.tags) },
                "Layers": layers,
            }));
        }
        let index = json(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": index,
        }))?;
        add(&mut tar, "index.json", &index)?;
        add(
            &mut tar,
            "manifest.json",
            &json(&serde_json::json!(manifest))?,
        )?;
        if !repositories.is_empty() {
            add(
                &mut tar,
                "repositories",
                &json(&serde_json::json!(repositories))?,
            )?;
        }
        let mut out = tar.into_inner().map_err(err)?;
        out.flush().map_err(err)
    }
}

const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// `sha256:<hex>` → `blobs/sha256/<hex>`.
fn blob_name(digest: &str) -> String {
    format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"))
}

/// `busybox:latest` → `docker.io/library/busybox:latest`, as containerd names images.
fn qualified(tag: &str) -> String {
    let first = tag.split('/').next().unwrap_or("");
    let has_registry =
        tag.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    match (has_registry, tag.contains('/')) {
        (true, _) => tag.to_string(),
        (false, true) => format!("docker.io/{tag}"),
        (false, false) => format!("docker.io/library/{tag}"),
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
