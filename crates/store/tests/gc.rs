//! Save, delete and garbage collection of the store, against `../shared/images`.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use berth_store::Store;
use sha2::Digest;

fn image(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/images")
        .join(name)
}

fn load_file(store: &Store, name: &str) -> Vec<berth_store::LoadedImage> {
    let mut f = std::fs::File::open(image(name)).unwrap();
    store.load(&mut f).unwrap()
}

fn entries(dir: &Path) -> HashSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn save(store: &Store, names: &[&str]) -> berth_store::Result<Vec<u8>> {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let set = store.prepare_save(&names)?;
    let mut out = Vec::new();
    set.write(&mut out)?;
    Ok(out)
}

/// The files of a tar, by name.
fn files(tar_bytes: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut a = tar::Archive::new(tar_bytes);
    let mut out = HashMap::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if e.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.insert(name, data);
    }
    out
}

fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

#[test]
fn save_round_trip_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // docker-save (plain layers) and OCI (gzip layers) archives.
    load_file(&store, "busybox.tar");
    load_file(&store, "layers-test.oci.tar");
    let bb = store.get("busybox").unwrap();
    let lt = store.get("layers-test:1").unwrap();

    let archive = save(&store, &["busybox", "layers-test:1", &lt.id]).unwrap();
    let f = files(&archive);
    let manifest: serde_json::Value = serde_json::from_slice(&f["manifest.json"]).unwrap();
    let m = manifest.as_array().unwrap();
    assert_eq!(m.len(), 2, "{manifest}");
    assert_eq!(m[0]["RepoTags"], serde_json::json!(["busybox:latest"]));
    assert_eq!(m[1]["RepoTags"], serde_json::json!(["layers-test:1"]));
    // Every blob once, uncompressed layers named and hashed by their diff id.
    for (name, data) in &f {
        if let Some(hex) = name.strip_prefix("blobs/sha256/") {
            assert_eq!(sha(data), format!("sha256:{hex}"), "{name}");
        }
    }
    for (img, entry) in [(&bb, &m[0]), (&lt, &m[1])] {
        let layers = entry["Layers"].as_array().unwrap();
        assert_eq!(layers.len(), img.diff_ids.len());
        for (l, d) in layers.iter().zip(&img.diff_ids) {
            assert_eq!(l.as_str().unwrap(), format!("blobs/sha256/{}", &d[7..]));
            assert_eq!(sha(&f[l.as_str().unwrap()]), *d);
        }
        let config = &f[entry["Config"].as_str().unwrap()];
        assert_eq!(sha(config), img.id);
    }
    let repos: serde_json::Value = serde_json::from_slice(&f["repositories"]).unwrap();
    assert!(repos["busybox"]["latest"].is_string(), "{repos}");
    // It is an OCI image layout too: one index entry per tag, plus one for the untagged id.
    assert_eq!(f["oci-layout"], br#"{"imageLayoutVersion":"1.0.0"}"#);
    let index: serde_json::Value = serde_json::from_slice(&f["index.json"]).unwrap();
    let names: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["annotations"]["io.containerd.image.name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "docker.io/library/busybox:latest",
            "docker.io/library/layers-test:1"
        ]
    );
    let oci_only: Vec<u8> = {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in f.iter().filter(|(n, _)| !n.ends_with("manifest.json")) {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, data.as_slice()).unwrap();
        }
        b.into_inner().unwrap()
    };
    let dir3 = tempfile::tempdir().unwrap();
    let store3 = Store::open(dir3.path()).unwrap();
    store3.load(&mut oci_only.as_slice()).unwrap();
    assert_eq!(store3.get("busybox:latest").unwrap().id, bb.id);
    assert_eq!(store3.get("layers-test:1").unwrap().id, lt.id);

    // Into a fresh store: the same images.
    let dir2 = tempfile::tempdir().unwrap();
    let store2 = Store::open(dir2.path()).unwrap();
    let loaded = store2.load(&mut archive.as_slice()).unwrap();
    assert_eq!(loaded.len(), 2);
    let lt2 = store2.get("layers-test:1").unwrap();
    assert_eq!(lt2.id, lt.id);
    assert_eq!(lt2.diff_ids, lt.diff_ids);
    assert_eq!(store2.get("busybox").unwrap().id, bb.id);

    // Saved by id only: no tags.
    let by_id = save(&store, &[&bb.id[7..19]]).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&files(&by_id)["manifest.json"]).unwrap();
    assert!(manifest[0]["RepoTags"].is_null(), "{manifest}");
    assert!(!files(&by_id).contains_key("repositories"));

    // A repository name without a tag saves all of its tags.
    store.tag(&bb.id, "busybox:other").unwrap();
    let all_tags = save(&store, &["busybox"]).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&files(&all_tags)["manifest.json"]).unwrap();
    let mut tags: Vec<String> = manifest[0]["RepoTags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    tags.sort();
    assert_eq!(tags, ["busybox:latest", "busybox:other"]);

    let e = save(&store, &["nosuch"]).unwrap_err();
    assert_eq!(e.kind(), berth_store::ErrorKind::NotFound);
}

#[test]
fn save_refuses_a_corrupt_blob() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    load_file(&store, "layers-test.oci.tar");
    let lt = store.get("layers-test:1").unwrap();
    // Damage the (gzip) blob of the top layer, keeping its length.
    let top = lt.diff_ids.last().unwrap();
    let lb = store.layer_blob(top).unwrap().unwrap();
    assert_ne!(lb.blob, *top, "an OCI layer is kept compressed");
    let path = store.root().join("blobs/sha256").join(&lb.blob[7..]);
    // Replace the blob with a gzip of other content of the same tar size: it decodes,
    // only the digest tells.
    let mut other = vec![0u8; lb.tar_size as usize];
    other[0] = b'x';
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &other).unwrap();
    let data = gz.finish().unwrap();
    std::fs::write(&path, &data).unwrap();
    let e = save(&store, &["layers-test:1"]).unwrap_err();
    assert!(e.to_string().contains("corrupt"), "{e}");
    // A truncated blob too.
    std::fs::write(&path, &data[..data.len() / 2]).unwrap();
    assert!(save(&store, &["layers-test:1"]).is_err());
}

#[test]
fn gc_keeps_shared_and_in_use_layers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    load_file(&store, "busybox.tar");
    load_file(&store, "layers-test.oci.tar");
    let bb = store.get("busybox").unwrap();
    let lt = store.get("layers-test:1").unwrap();
    assert_eq!(bb.diff_ids[0], lt.diff_ids[0], "the fixtures share a layer");
    let layers = dir.path().join("layers");
    let blobs = dir.path().join("blobs/sha256");

    // busybox goes: its only layer stays, layers-test uses it.
    let d = store.delete(&bb.id, false).unwrap();
    assert_eq!(d.untagged, ["busybox:latest"]);
    let r = store.gc(&HashSet::new()).unwrap();
    assert!(r.layers.is_empty(), "{r:?}");
    assert!(layers.join(&bb.diff_ids[0][7..]).is_dir());
    assert!(!blobs.join(&bb.id[7..]).exists(), "the config blob went");
    assert!(store.get("busybox").is_err());

    // layers-test goes while a container uses it: everything stays, for the container.
    store.delete(&lt.id, true).unwrap();
    assert!(store.get("layers-test:1").is_err());
    assert!(store.list().unwrap().is_empty());
    let in_use: HashSet<String> = [lt.id.clone()].into();
    let r = store.gc(&in_use).unwrap();
    assert!(r.layers.is_empty(), "{r:?}");
    let dirs = store.layer_dirs_of(&lt.id).unwrap();
    assert_eq!(dirs.len(), 4);
    assert!(dirs.iter().all(|d| d.is_dir()));
    // Saving needs no retained image: it is not found by name or id.
    assert!(store.prepare_save(std::slice::from_ref(&lt.id)).is_err());

    // The container is gone: everything goes.
    let r = store.gc(&HashSet::new()).unwrap();
    assert_eq!(r.layers.len(), 4, "{r:?}");
    assert!(r.bytes > 1_000_000);
    assert!(store.layer_dirs_of(&lt.id).is_err());
    assert!(entries(&layers).is_empty(), "{:?}", entries(&layers));
    assert!(entries(&blobs).is_empty(), "{:?}", entries(&blobs));
    assert!(entries(&dir.path().join("tmp")).is_empty());

    // And it all loads again.
    load_file(&store, "layers-test.oci.tar");
    let again = store.get("layers-test:1").unwrap();
    assert!(store.layer_dirs(&again).unwrap().iter().all(|d| d.is_dir()));
    save(&store, &["layers-test:1"]).unwrap();
}

#[test]
fn untag_keeps_the_image_until_the_last_tag() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    load_file(&store, "busybox.tar");
    let bb = store.get("busybox").unwrap();
    store.tag(&bb.id, "mine/box:1").unwrap();
    assert_eq!(store.untag("mine/box:1").unwrap(), bb.id);
    assert_eq!(store.get(&bb.id).unwrap().repo_tags, ["busybox:latest"]);
    assert!(store.get("mine/box:1").is_err());
    assert!(store.untag("mine/box:1").is_err());
    store.untag("busybox").unwrap();
    // Dangling now, still there.
    assert!(store.get(&bb.id).unwrap().repo_tags.is_empty());
    assert_eq!(store.list().unwrap().len(), 1);
}

#[test]
fn files_left_by_a_crash_are_swept_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    load_file(&store, "busybox.tar");
    let bb = store.get("busybox").unwrap();
    drop(store);
    // A layer renamed into place and a blob stored, never recorded.
    let stray = "ab".repeat(32);
    std::fs::create_dir_all(dir.path().join("layers").join(&stray).join("etc")).unwrap();
    std::fs::write(dir.path().join("blobs/sha256").join(&stray), b"x").unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(!dir.path().join("layers").join(&stray).exists());
    assert!(!dir.path().join("blobs/sha256").join(&stray).exists());
    let dirs = store.layer_dirs(&store.get("busybox").unwrap()).unwrap();
    assert!(dirs[0].is_dir());
    assert!(dir.path().join("blobs/sha256").join(&bb.id[7..]).is_file());
    save(&store, &["busybox"]).unwrap();

    // A crash after an image's records went, before its files did (between `delete`
    // and `gc`): the next open removes the files.
    store.delete(&bb.id, false).unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert!(store.list().unwrap().is_empty());
    assert!(entries(&dir.path().join("layers")).is_empty());
    assert!(entries(&dir.path().join("blobs/sha256")).is_empty());
}

#[test]
fn gc_running_with_loads_never_takes_their_layers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let collector = {
        let store = store.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut runs = 0u32;
            while !done.load(Ordering::Relaxed) {
                store.gc(&HashSet::new()).unwrap();
                runs += 1;
            }
            runs
        })
    };
    for _ in 0..15 {
        for name in ["layers-test.oci.tar", "busybox.tar"] {
            let loaded = load_file(&store, name);
            for l in loaded {
                // Loaded means complete: every layer unpacked, every blob there, even
                // with collections running all along.
                let img = store.get(&l.id).unwrap();
                for d in store.layer_dirs(&img).unwrap() {
                    assert!(d.is_dir(), "{} missing", d.display());
                }
                for d in &img.diff_ids {
                    assert!(
                        store.layer_blob(d).unwrap().is_some(),
                        "blob of {d} missing"
                    );
                }
                store.delete(&l.id, false).unwrap();
            }
        }
    }
    done.store(true, Ordering::Relaxed);
    let runs = collector.join().unwrap();
    assert!(runs > 0);
    store.gc(&HashSet::new()).unwrap();
    assert!(entries(&dir.path().join("layers")).is_empty());
}

#[test]
fn zstd_layers_save_uncompressed() {
    // busybox's layer and config, re-packed as an OCI layout with a zstd layer.
    let bb = files(&std::fs::read(image("busybox.tar")).unwrap());
    let manifest: serde_json::Value = serde_json::from_slice(&bb["manifest.json"]).unwrap();
    let config = bb[manifest[0]["Config"].as_str().unwrap()].clone();
    let layer = bb[manifest[0]["Layers"][0].as_str().unwrap()].clone();
    let zst = zstd::encode_all(layer.as_slice(), 3).unwrap();
    let oci_manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
                    "digest": sha(&zst), "size": zst.len()}],
    })
    .to_string()
    .into_bytes();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": sha(&oci_manifest), "size": oci_manifest.len(),
                       "annotations": {"org.opencontainers.image.ref.name": "zbox:1"}}],
    })
    .to_string()
    .into_bytes();
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: String, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
    };
    add("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#);
    add("index.json".into(), &index);
    for blob in [&config, &zst, &oci_manifest] {
        add(format!("blobs/sha256/{}", &sha(blob)[7..]), blob);
    }
    let archive = b.into_inner().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.load(&mut archive.as_slice()).unwrap();
    let img = store.get("zbox:1").unwrap();
    assert_eq!(img.diff_ids, [sha(&layer)]);
    let lb = store.layer_blob(&img.diff_ids[0]).unwrap().unwrap();
    assert_eq!(lb.blob, sha(&zst), "kept as it came");
    assert_eq!(lb.tar_size, layer.len() as u64);
    let saved = files(&save(&store, &["zbox:1"]).unwrap());
    let m: serde_json::Value = serde_json::from_slice(&saved["manifest.json"]).unwrap();
    assert_eq!(saved[m[0]["Layers"][0].as_str().unwrap()], layer);
    assert_eq!(saved[m[0]["Config"].as_str().unwrap()], config);
}
