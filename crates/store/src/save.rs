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

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Read, Write};

use berth_oci::{
    Descriptor, Digest, DockerManifest, Hasher, ImageIndexBuilder, ImageManifestBuilder, MediaType,
    OciLayoutBuilder, Repositories,
};

use crate::{Error, Image, Result, Store, TAGS, db_err, digest_hex, io_err, normalize};

/// One image to save.
struct SaveImage {
    id: Digest,
    tags: Vec<String>,
    config: Vec<u8>,
    diff_ids: Vec<Digest>,
}

/// One layer to save, its blob already open (a collection cannot take it away).
struct SaveLayer {
    diff_id: Digest,
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
            let id = Digest::parse(&img.id).map_err(db_err)?;
            let config = std::fs::read(self.blob_path(id.hex()))
                .map_err(io_err(format!("reading the config of {}", img.id)))?;
            let got = Digest::of(&config);
            if got != id {
                return Err(Error::Db(format!(
                    "stored config of image {} is corrupt (digest {got})",
                    img.id
                )));
            }
            let diff_ids = img
                .diff_ids
                .iter()
                .map(|d| Digest::parse(d).map_err(db_err))
                .collect::<Result<Vec<_>>>()?;
            for (d, diff_id) in img.diff_ids.iter().zip(&diff_ids) {
                if set.layers.iter().any(|l| l.diff_id == *diff_id) {
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
                    diff_id: diff_id.clone(),
                    file,
                    tar_size: lb.tar_size,
                });
            }
            set.images.push(SaveImage {
                id,
                tags,
                config,
                diff_ids,
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
        self.images.iter().map(|i| i.id.to_string()).collect()
    }

    /// Write the archive to `out`.
    pub fn write(self, out: impl Write) -> Result<()> {
        let err = |e: io::Error| Error::Io {
            context: "writing the archive".into(),
            source: e,
        };
        let mut tar = tar::Builder::new(out);
        let add = |tar: &mut tar::Builder<_>, name: &str, data: &[u8]| {
            let mut h = header(tar::EntryType::Regular, 0o644, data.len() as u64);
            tar.append_data(&mut h, name, data).map_err(err)
        };
        for d in ["blobs/", "blobs/sha256/"] {
            let mut h = header(tar::EntryType::Directory, 0o755, 0);
            tar.append_data(&mut h, d, io::empty()).map_err(err)?;
        }
        let layout = OciLayoutBuilder::default()
            .image_layout_version("1.0.0")
            .build()
            .map_err(db_err)?;
        add(&mut tar, "oci-layout", &to_json(&layout)?)?;
        let mut layer_sizes = BTreeMap::new();
        for l in self.layers {
            layer_sizes.insert(l.diff_id.clone(), l.tar_size);
            let mut h = header(tar::EntryType::Regular, 0o644, l.tar_size);
            let input = berth_archive::decompress(l.file).map_err(err)?;
            let reader = Verified {
                inner: input,
                hasher: Hasher::new(),
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
        let mut repositories = Repositories::new();
        for img in &self.images {
            add(&mut tar, &blob_name(&img.id), &img.config)?;
            let layers = img
                .diff_ids
                .iter()
                .map(|d| {
                    let size = layer_sizes.get(d).copied().unwrap_or_default();
                    Descriptor::new(MediaType::ImageLayer, size, d.as_oci().clone())
                })
                .collect::<Vec<_>>();
            let config = Descriptor::new(
                MediaType::ImageConfig,
                img.config.len() as u64,
                img.id.as_oci().clone(),
            );
            let oci = ImageManifestBuilder::default()
                .schema_version(2u32)
                .media_type(MediaType::ImageManifest)
                .config(config)
                .layers(layers)
                .build()
                .map_err(db_err)?;
            let oci = to_json(&oci)?;
            let oci_digest = Digest::of(&oci);
            add(&mut tar, &blob_name(&oci_digest), &oci)?;
            let descriptor = |annotations: Option<HashMap<String, String>>| {
                let mut d = Descriptor::new(
                    MediaType::ImageManifest,
                    oci.len() as u64,
                    oci_digest.as_oci().clone(),
                );
                d.set_annotations(annotations);
                d
            };
            if img.tags.is_empty() {
                index.push(descriptor(None));
            }
            for t in &img.tags {
                let (repo, tag) = t.rsplit_once(':').unwrap_or((t.as_str(), "latest"));
                index.push(descriptor(Some(HashMap::from([
                    ("io.containerd.image.name".to_string(), qualified(t)),
                    (
                        "org.opencontainers.image.ref.name".to_string(),
                        tag.to_string(),
                    ),
                ]))));
                if let Some(top) = img.diff_ids.last() {
                    repositories
                        .entry(repo.to_string())
                        .or_default()
                        .insert(tag.to_string(), top.hex().to_string());
                }
            }
            manifest.push(DockerManifest {
                config: blob_name(&img.id),
                repo_tags: (!img.tags.is_empty()).then(|| img.tags.clone()),
                layers: img.diff_ids.iter().map(blob_name).collect(),
                parent: None,
                layer_sources: None,
            });
        }
        let index = ImageIndexBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageIndex)
            .manifests(index)
            .build()
            .map_err(db_err)?;
        add(&mut tar, "index.json", &index_json(&index)?)?;
        add(&mut tar, "manifest.json", &to_json(&manifest)?)?;
        if !repositories.is_empty() {
            add(&mut tar, "repositories", &to_json(&repositories)?)?;
        }
        let mut out = tar.into_inner().map_err(err)?;
        out.flush().map_err(err)
    }
}

fn to_json(v: &impl serde::Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(db_err)
}

/// `index.json`, its annotations in key order: oci-spec keeps them in a `HashMap`, whose
/// order changes from run to run, and the same images must give the same archive.
fn index_json(index: &berth_oci::ImageIndex) -> Result<Vec<u8>> {
    let mut v = serde_json::to_value(index).map_err(db_err)?;
    if let Some(ms) = v.get_mut("manifests").and_then(|m| m.as_array_mut()) {
        for m in ms {
            if let Some(serde_json::Value::Object(a)) = m.get_mut("annotations") {
                a.sort_keys();
            }
        }
    }
    to_json(&v)
}

/// `sha256:<hex>` → `blobs/sha256/<hex>`.
fn blob_name(digest: &Digest) -> String {
    format!("blobs/sha256/{}", digest.hex())
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
    hasher: Hasher,
    count: u64,
    want_size: u64,
    want: Digest,
    done: bool,
}

impl<R: Read> Read for Verified<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            if !self.done {
                self.done = true;
                let got = self.hasher.clone().finish();
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
