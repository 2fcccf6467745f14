//! `load`: a `docker save` archive or an OCI image layout, plain or compressed, spooled
//! and verified under `tmp/`, its layers unpacked (while the archive streams in, see
//! `early.rs`), moved into place and recorded in one transaction (see the crate doc).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use berth_archive::sys;
use berth_oci::{Digest, DockerManifest, ImageIndex, ImageManifest, host_arch, is_index};
use redb::ReadableTable;

use crate::{
    Error, IMAGES, ImageConfig, LAYER_BLOBS, LAYERS, LayerBlob, LoadedImage, Record, Result, Store,
    TAGS, db_err, digest_hex, early, invalid, io_err, move_tag, normalize, unpack,
};

/// A file of the archive, spooled to disk with its digest.
struct Spooled {
    path: PathBuf,
    digest: Digest,
    /// Unpacked as a layer while it was spooled (see `early.rs`), until used.
    early: Option<early::Done>,
}

/// The whole archive spooled under a temporary directory.
struct Spool {
    files: HashMap<String, Spooled>,
    links: HashMap<String, String>,
}

impl Spool {
    fn get(&self, name: &str) -> Result<&Spooled> {
        let mut name = clean(name);
        for _ in 0..8 {
            if let Some(f) = self.files.get(&name) {
                return Ok(f);
            }
            match self.links.get(&name) {
                Some(t) => name = t.clone(),
                None => break,
            }
        }
        Err(invalid(format!("{name} is missing")))
    }

    /// The early unpack of `name`, if there was one (once).
    fn take_early(&mut self, name: &str) -> Option<early::Done> {
        let mut name = clean(name);
        for _ in 0..8 {
            if self.files.contains_key(&name) {
                return self.files.get_mut(&name).and_then(|f| f.early.take());
            }
            name = self.links.get(&name)?.clone();
        }
        None
    }

    fn read(&self, name: &str) -> Result<Vec<u8>> {
        let f = self.get(name)?;
        std::fs::read(&f.path).map_err(io_err(format!("reading {name}")))
    }
}

/// `./a//b/` → `a/b`.
fn clean(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.join("/")
}

/// One layer of a load: unpacked into the work dir (`dir`) or already in the store.
struct StagedLayer {
    diff_id: Digest,
    /// Its file in the archive.
    file: String,
    /// Position in its image, for messages.
    index: usize,
    size: u64,
    tar_size: u64,
    dir: Option<PathBuf>,
}

/// One image found in an archive, verified, ready to be committed.
struct Staged {
    id: Digest,
    /// The config blob as it came.
    config: String,
    diff_ids: Vec<Digest>,
    layers: Vec<String>,
    tags: Vec<String>,
}

impl Store {
    /// Load a `docker save` archive or an OCI image layout tar, plain, gzip or zstd.
    pub fn load(&self, input: &mut dyn Read) -> Result<Vec<LoadedImage>> {
        let work = self.tmp_dir("load")?;
        let result = self.load_in(input, &work);
        let _ = std::fs::remove_dir_all(&work);
        result
    }

    fn load_in(&self, input: &mut dyn Read, work: &Path) -> Result<Vec<LoadedImage>> {
        let mut spool = spool(input, work)?;
        let staged = if spool.files.contains_key("manifest.json") {
            stage_docker(&spool)?
        } else if spool.files.contains_key("index.json") {
            stage_oci(&spool)?
        } else {
            return Err(invalid(
                "neither manifest.json (docker save) nor index.json (OCI layout) found",
            ));
        };
        if staged.is_empty() {
            return Err(invalid("no images in the archive"));
        }
        // Unpack each missing layer once into the work dir, verifying its diff id; check
        // the archive's copy of the layers we have.
        let mut layers: Vec<StagedLayer> = Vec::new();
        for img in &staged {
            for (index, (diff_id, file)) in img.diff_ids.iter().zip(&img.layers).enumerate() {
                if layers.iter().any(|l| l.diff_id == *diff_id) {
                    continue;
                }
                let (size, tar_size, dir) = match self.layer_size(diff_id.as_str())? {
                    Some(s) => (s, verify_layer(&spool, file, diff_id, index)?, None),
                    None => {
                        let (dir, u) = self.unpack(&mut spool, file, diff_id, index, work)?;
                        (u.size, u.tar_size, Some(dir))
                    }
                };
                layers.push(StagedLayer {
                    diff_id: diff_id.clone(),
                    file: file.clone(),
                    index,
                    size,
                    tar_size,
                    dir,
                });
            }
        }
        // From here files go into the store: garbage collection waits for the commit.
        let _ingest = self.ingest_guard();
        let mut sizes: HashMap<String, u64> = HashMap::new();
        let mut blobs: HashMap<String, LayerBlob> = HashMap::new();
        for mut l in layers {
            if l.dir.is_none() && self.layer_size(l.diff_id.as_str())?.is_none() {
                // Collected since we looked: unpack it after all.
                let (dir, u) = self.unpack(&mut spool, &l.file, &l.diff_id, l.index, work)?;
                l.size = u.size;
                l.dir = Some(dir);
            }
            if let Some(dir) = &l.dir {
                self.install_layer(dir, l.diff_id.as_str())?;
            }
            sizes.insert(l.diff_id.to_string(), l.size);
            // Keep the archive's copy of the layer unless a readable one is stored.
            if self.layer_blob(l.diff_id.as_str())?.is_none() {
                let f = spool.get(&l.file)?;
                let dst = self.blob_path(f.digest.hex());
                if !dst.exists() {
                    std::fs::rename(&f.path, &dst).map_err(io_err("storing a layer blob"))?;
                }
                blobs.insert(
                    l.diff_id.to_string(),
                    LayerBlob {
                        blob: f.digest.to_string(),
                        tar_size: l.tar_size,
                    },
                );
            }
        }
        // Configs, each once by digest.
        for img in &staged {
            self.put_blob(img.id.hex(), img.config.as_bytes())?;
        }
        let root = sys::open_dir(&self.root).map_err(io_err("opening the store"))?;
        sys::syncfs(sys::borrow(&root)).map_err(io_err("syncing the store"))?;
        self.commit(&staged, &sizes, &blobs)
    }

    fn unpack(
        &self,
        spool: &mut Spool,
        file: &str,
        diff_id: &Digest,
        index: usize,
        work: &Path,
    ) -> Result<(PathBuf, unpack::Unpacked)> {
        let hex = diff_id.hex();
        // Unpacked while spooled: only the digest is left to check. A failed attempt is
        // redone below, which reports the error.
        if let Some(done) = spool.take_early(file) {
            if let Ok((got, size, tar_size)) = done.result {
                let got = match got {
                    Some(d) => d,
                    None => spool.get(file)?.digest.to_string(),
                };
                if *diff_id != got {
                    return Err(invalid(format!(
                        "layer {} digest mismatch: expected {diff_id}, got {got}",
                        index + 1
                    )));
                }
                let unpacked = unpack::Unpacked {
                    diff_id: got,
                    size,
                    tar_size,
                };
                return Ok((done.dir, unpacked));
            }
            let _ = std::fs::remove_dir_all(&done.dir);
        }
        let src = spool.get(file)?;
        let dir = work.join(format!("layer-{hex}"));
        std::fs::create_dir(&dir).map_err(io_err("creating a layer directory"))?;
        let f = std::fs::File::open(&src.path).map_err(io_err("opening a layer"))?;
        let got = unpack::unpack_layer(f, &dir).map_err(|e| match e {
            Error::Invalid(m) => Error::Invalid(format!("layer {}: {m}", index + 1)),
            e => e,
        })?;
        if *diff_id != got.diff_id {
            return Err(invalid(format!(
                "layer {} digest mismatch: expected {diff_id}, got {}",
                index + 1,
                got.diff_id
            )));
        }
        Ok((dir, got))
    }

    /// Move an unpacked layer into `layers/` (with the ingest lock held), unless a
    /// recorded copy is there already (another load committed it meanwhile).
    fn install_layer(&self, dir: &Path, diff_id: &str) -> Result<()> {
        let hex = digest_hex(diff_id).ok_or_else(|| invalid(format!("bad diff id {diff_id}")))?;
        let _guard = self.commit.lock().unwrap_or_else(|p| p.into_inner());
        if self.layer_size(diff_id)?.is_some() {
            let _ = std::fs::remove_dir_all(dir);
            return Ok(());
        }
        let dst = self.root.join("layers").join(hex);
        if dst.exists() {
            // Unpacked but never recorded (a crash, or a load not committed yet): replace
            // it; nothing uses a layer before it is recorded.
            let _ = std::fs::remove_dir_all(&dst);
        }
        std::fs::rename(dir, &dst).map_err(io_err("storing a layer"))
    }

    fn commit(
        &self,
        staged: &[Staged],
        sizes: &HashMap<String, u64>,
        blobs: &HashMap<String, LayerBlob>,
    ) -> Result<Vec<LoadedImage>> {
        let _guard = self.commit.lock().unwrap_or_else(|p| p.into_inner());
        let txn = self.db.begin_write().map_err(db_err)?;
        let mut loaded = Vec::new();
        {
            let mut images = txn.open_table(IMAGES).map_err(db_err)?;
            let mut tags = txn.open_table(TAGS).map_err(db_err)?;
            let mut layers = txn.open_table(LAYERS).map_err(db_err)?;
            for (d, s) in sizes {
                layers.insert(d.as_str(), *s).map_err(db_err)?;
            }
            let mut layer_blobs = txn.open_table(LAYER_BLOBS).map_err(db_err)?;
            for (d, b) in blobs {
                if b.blob == *d {
                    // The convention: no row.
                    layer_blobs.remove(d.as_str()).map_err(db_err)?;
                } else {
                    let json = serde_json::to_vec(b).map_err(db_err)?;
                    layer_blobs
                        .insert(d.as_str(), json.as_slice())
                        .map_err(db_err)?;
                }
            }
            for img in staged {
                let mut rec = match images.get(img.id.as_str()).map_err(db_err)? {
                    Some(v) => serde_json::from_slice::<Record>(v.value()).map_err(db_err)?,
                    None => Record {
                        id: img.id.to_string(),
                        repo_tags: Vec::new(),
                        repo_digests: Vec::new(),
                        diff_ids: img.diff_ids.iter().map(Digest::to_string).collect(),
                        size: img
                            .diff_ids
                            .iter()
                            .filter_map(|d| sizes.get(d.as_str()))
                            .sum(),
                        config: img.config.clone(),
                    },
                };
                for tag in &img.tags {
                    move_tag(&mut images, &mut tags, tag, img.id.as_str())?;
                    if !rec.repo_tags.contains(tag) {
                        rec.repo_tags.push(tag.clone());
                    }
                }
                let json = serde_json::to_vec(&rec).map_err(db_err)?;
                images
                    .insert(img.id.as_str(), json.as_slice())
                    .map_err(db_err)?;
                loaded.push(LoadedImage {
                    id: img.id.to_string(),
                    tags: img.tags.clone(),
                });
            }
        }
        txn.commit().map_err(db_err)?;
        Ok(loaded)
    }
}

/// Check that the archive's copy of a layer we already have is what its config says;
/// the size of its uncompressed tar.
fn verify_layer(spool: &Spool, file: &str, diff_id: &Digest, index: usize) -> Result<u64> {
    let f = spool.get(file)?;
    let (got, tar_size) = if f.digest == *diff_id {
        let len = std::fs::metadata(&f.path)
            .map_err(io_err("reading a layer"))?
            .len();
        (f.digest.to_string(), len)
    } else {
        let input = std::fs::File::open(&f.path).map_err(io_err("opening a layer"))?;
        let reader = berth_archive::decompress(input).map_err(invalid)?;
        berth_archive::HashReader::new(reader)
            .finish()
            .map_err(invalid)?
    };
    if *diff_id != got {
        return Err(invalid(format!(
            "layer {} digest mismatch: expected {diff_id}, got {got}",
            index + 1
        )));
    }
    Ok(tar_size)
}

/// A tar header that does not parse is "invalid tar header", as Go's archive/tar (so
/// dockerd) says: the tar crate's message quotes the header's bytes, binary when the input
/// is no tar at all.
fn bad_header(e: std::io::Error) -> Error {
    let m = e.to_string();
    if m.contains("when getting cksum") || m.contains("checksum mismatch") {
        return invalid("invalid tar header");
    }
    invalid(m)
}

/// Read the whole (possibly compressed) archive into `work`, hashing each file.
fn spool(input: &mut dyn Read, work: &Path) -> Result<Spool> {
    let reader = berth_archive::decompress(input).map_err(invalid)?;
    let mut archive = tar::Archive::new(reader);
    let mut spool = Spool {
        files: HashMap::new(),
        links: HashMap::new(),
    };
    let mut buf = vec![0u8; early::CHUNK];
    let mut started: Vec<(String, early::Early)> = Vec::new();
    let mut finished: Vec<(String, early::Done)> = Vec::new();
    for (n, entry) in archive.entries().map_err(invalid)?.enumerate() {
        let mut entry = entry.map_err(bad_header)?;
        let name = clean(&String::from_utf8_lossy(&entry.path_bytes()));
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let path = work.join(format!("f{n}"));
                let mut f = std::fs::File::create(&path).map_err(io_err("spooling"))?;
                let mut h = berth_oci::Hasher::new();
                let want = entry.size();
                let mut early = None;
                if maybe_layer(&name, want) {
                    // At most two unpackers at a time: wait for the oldest.
                    if started.len() >= 2 {
                        let (name, e) = started.remove(0);
                        finished.push((name, e.finish()));
                    }
                    // Without a thread the layer is unpacked from its spool file later.
                    early = early::Early::start(work.join(format!("u{n}"))).ok();
                }
                let mut got = 0u64;
                let mut flushed = 0u64;
                loop {
                    let mut chunk = match &early {
                        Some(e) => e.buffer(),
                        None => std::mem::take(&mut buf),
                    };
                    let k = entry.read(&mut chunk).map_err(invalid)?;
                    if k > 0 {
                        got += k as u64;
                        h.update(&chunk[..k]);
                        f.write_all(&chunk[..k]).map_err(io_err("spooling"))?;
                    }
                    match &mut early {
                        Some(e) if k > 0 => e.feed(chunk, k),
                        Some(_) => {}
                        None => buf = chunk,
                    }
                    if k == 0 {
                        break;
                    }
                    if got - flushed >= WRITEBACK {
                        // Big files start going to disk now; the final syncfs waits less.
                        sys::start_writeback(&f, flushed, got - flushed);
                        flushed = got;
                    }
                }
                if got != want {
                    return Err(invalid(format!(
                        "unexpected end of archive in {name} ({got} of {want} bytes)"
                    )));
                }
                if flushed > 0 {
                    sys::start_writeback(&f, flushed, got - flushed);
                }
                if let Some(mut e) = early {
                    e.close();
                    started.push((name.clone(), e));
                }
                let digest = h.finish();
                spool.files.insert(
                    name,
                    Spooled {
                        path,
                        digest,
                        early: None,
                    },
                );
            }
            tar::EntryType::Symlink => {
                if let Some(t) = entry.link_name_bytes() {
                    let t = String::from_utf8_lossy(&t).into_owned();
                    let parent = name.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
                    let target = if t.starts_with('/') {
                        clean(&t)
                    } else {
                        clean(&format!("{parent}/{t}"))
                    };
                    spool.links.insert(name, target);
                }
            }
            tar::EntryType::Link => {
                if let Some(t) = entry.link_name_bytes() {
                    spool
                        .links
                        .insert(name, clean(&String::from_utf8_lossy(&t)));
                }
            }
            _ => {}
        }
    }
    finished.extend(started.into_iter().map(|(name, e)| (name, e.finish())));
    for (name, done) in finished {
        match spool.files.get_mut(&name) {
            Some(f) => f.early = Some(done),
            None => {
                let _ = std::fs::remove_dir_all(&done.dir);
            }
        }
    }
    Ok(spool)
}

/// Bytes written to a spool file between writeback starts.
const WRITEBACK: u64 = 8 << 20;

/// Whether an archive file may be a layer tar worth unpacking while it streams in: a
/// docker-save `layer.tar`, or an OCI blob too big to be a manifest or config.
fn maybe_layer(name: &str, size: u64) -> bool {
    name.ends_with("layer.tar") || (name.starts_with("blobs/sha256/") && size >= 64 * 1024)
}

/// The config `name` of the archive: its digest (the image id), its text, its diff ids.
fn parse_config(spool: &Spool, name: &str) -> Result<(Digest, String, Vec<Digest>)> {
    let f = spool.get(name)?;
    let data = spool.read(name)?;
    let text = String::from_utf8(data).map_err(|_| invalid("image config is not UTF-8"))?;
    let config = ImageConfig::parse(text.as_bytes()).map_err(invalid)?;
    let diff_ids = config
        .diff_ids()
        .iter()
        .map(|d| Digest::parse(d).map_err(|_| invalid(format!("bad diff id {d}"))))
        .collect::<Result<Vec<_>>>()?;
    Ok((f.digest.clone(), text, diff_ids))
}

fn normalize_tags(tags: &[String]) -> Result<Vec<String>> {
    tags.iter()
        .map(|t| normalize(t).map_err(|_| invalid(format!("invalid tag {t}"))))
        .collect()
}

fn stage_docker(spool: &Spool) -> Result<Vec<Staged>> {
    let manifest: Vec<DockerManifest> =
        berth_oci::from_json("manifest.json", &spool.read("manifest.json")?).map_err(invalid)?;
    let mut out = Vec::new();
    for m in manifest {
        let (id, config, diff_ids) = parse_config(spool, &m.config)?;
        // The file is named after its digest: it must match.
        let base = m.config.rsplit('/').next().unwrap_or("");
        let named = base.strip_suffix(".json").unwrap_or(base);
        if named.len() == 64 && named.bytes().all(|b| b.is_ascii_hexdigit()) && id.hex() != named {
            return Err(invalid(format!(
                "config digest mismatch: {} has digest {id}",
                m.config
            )));
        }
        if diff_ids.len() != m.layers.len() {
            return Err(invalid(format!(
                "config lists {} layers, manifest {}",
                diff_ids.len(),
                m.layers.len()
            )));
        }
        for l in &m.layers {
            spool.get(l)?;
        }
        out.push(Staged {
            id,
            config,
            diff_ids,
            layers: m.layers,
            tags: normalize_tags(m.repo_tags.as_deref().unwrap_or(&[]))?,
        });
    }
    Ok(out)
}

/// The blob a descriptor of an OCI layout points at, its digest and size verified.
fn oci_blob(spool: &Spool, desc: &berth_oci::Descriptor) -> Result<String> {
    let digest = Digest::try_from(desc.digest()).map_err(invalid)?;
    let name = format!("blobs/sha256/{}", digest.hex());
    let f = spool.get(&name)?;
    if f.digest != digest {
        return Err(invalid(format!(
            "blob digest mismatch: expected {digest}, got {}",
            f.digest
        )));
    }
    let len = std::fs::metadata(&f.path)
        .map_err(io_err(format!("reading {name}")))?
        .len();
    if len != desc.size() {
        return Err(invalid(format!(
            "blob {digest} is {len} bytes, its descriptor says {}",
            desc.size()
        )));
    }
    Ok(name)
}

/// A descriptor's annotation.
fn annotation<'a>(desc: &'a berth_oci::Descriptor, key: &str) -> Option<&'a String> {
    desc.annotations().as_ref()?.get(key)
}

fn stage_oci(spool: &Spool) -> Result<Vec<Staged>> {
    let index: ImageIndex =
        berth_oci::from_json("index.json", &spool.read("index.json")?).map_err(invalid)?;
    let mut out = Vec::new();
    for desc in index.manifests() {
        let mut name_ann = annotation(desc, "io.containerd.image.name")
            .or_else(|| annotation(desc, "org.opencontainers.image.ref.name"))
            .cloned();
        let mut mdesc = desc.clone();
        // A nested index: take the manifest for this machine's architecture, else the
        // first.
        if is_index(desc.media_type()) {
            let blob = oci_blob(spool, desc)?;
            let nested: ImageIndex =
                berth_oci::from_json("nested index", &spool.read(&blob)?).map_err(invalid)?;
            let arch = host_arch();
            let pick = nested
                .manifests()
                .iter()
                .min_by_key(|m| {
                    let ours = m.platform().as_ref().map(|p| p.architecture()) == Some(&arch);
                    u8::from(!ours)
                })
                .ok_or_else(|| invalid("empty nested index"))?;
            name_ann = name_ann.or(annotation(pick, "io.containerd.image.name").cloned());
            mdesc = pick.clone();
        }
        let blob = oci_blob(spool, &mdesc)?;
        let manifest: ImageManifest =
            berth_oci::from_json(&format!("manifest {}", mdesc.digest()), &spool.read(&blob)?)
                .map_err(invalid)?;
        let config_name = oci_blob(spool, manifest.config())?;
        let (id, config, diff_ids) = parse_config(spool, &config_name)?;
        if diff_ids.len() != manifest.layers().len() {
            return Err(invalid(format!(
                "config lists {} layers, manifest {}",
                diff_ids.len(),
                manifest.layers().len()
            )));
        }
        let layers = manifest
            .layers()
            .iter()
            .map(|l| oci_blob(spool, l))
            .collect::<Result<Vec<_>>>()?;
        // A bare tag ("1") names no repository: such images load untagged.
        let tags = match name_ann {
            Some(n) if n.contains(':') || n.contains('/') => normalize_tags(&[n])?,
            _ => Vec::new(),
        };
        out.push(Staged {
            id,
            config,
            diff_ids,
            layers,
            tags,
        });
    }
    Ok(out)
}
