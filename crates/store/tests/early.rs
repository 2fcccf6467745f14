//! Layers unpacked while the archive streams in: a gzip OCI layer blob (its diff id is
//! computed by the unpacker, its blob digest by the spooler), a wrong diff id, and one
//! layer named twice.
#![allow(clippy::unwrap_used)]

use std::io::{Cursor, Write};

use berth_store::{ErrorKind, Store};

fn sha(data: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

/// A layer tar with `big` (incompressible, so its gzip blob stays big) and a small file.
fn layer_tar(big: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [("data/big.bin", big), ("etc/hello", &b"hello\n"[..])] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
    }
    b.into_inner().unwrap()
}

fn noise(n: usize) -> Vec<u8> {
    // xorshift: deterministic, incompressible enough.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn append(b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_cksum();
    b.append_data(&mut h, name, data).unwrap();
}

/// An OCI layout with one image whose only layer is `blob`, its config claiming `diff_id`.
fn oci_archive(blob: &[u8], diff_id: &str) -> Vec<u8> {
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#
    );
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":{}}}]}}"#,
        sha(config.as_bytes()),
        config.len(),
        sha(blob),
        blob.len()
    );
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},"annotations":{{"io.containerd.image.name":"docker.io/library/early:1"}}}}]}}"#,
        sha(manifest.as_bytes()),
        manifest.len()
    );
    let mut b = tar::Builder::new(Vec::new());
    append(&mut b, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    for data in [blob, config.as_bytes(), manifest.as_bytes()] {
        append(&mut b, &format!("blobs/sha256/{}", &sha(data)[7..]), data);
    }
    append(&mut b, "index.json", index.as_bytes());
    b.into_inner().unwrap()
}

#[test]
fn gzip_oci_layer_unpacked_while_streaming() {
    let big = noise(300 * 1024);
    let tar = layer_tar(&big);
    let blob = gzip(&tar);
    assert!(
        blob.len() > 200 * 1024,
        "the blob is big enough to be unpacked early"
    );
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();

    // The config lies about the diff id (it names the compressed blob's digest): refused,
    // nothing kept.
    let e = store
        .load(&mut Cursor::new(oci_archive(&blob, &sha(&blob))))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.to_string().contains("digest mismatch"), "{e}");
    assert!(store.list().unwrap().is_empty());
    assert_eq!(
        std::fs::read_dir(dir.path().join("layers"))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        0
    );

    // The right one loads; the layer is complete, the blob kept as it came.
    let loaded = store
        .load(&mut Cursor::new(oci_archive(&blob, &sha(&tar))))
        .unwrap();
    assert_eq!(loaded[0].tags, ["early:1"]);
    let img = store.get("early:1").unwrap();
    assert_eq!(img.diff_ids, [sha(&tar)]);
    let layer = &store.layer_dirs(&img).unwrap()[0];
    assert_eq!(std::fs::read(layer.join("data/big.bin")).unwrap(), big);
    assert_eq!(
        std::fs::read_to_string(layer.join("etc/hello")).unwrap(),
        "hello\n"
    );
    let lb = store.layer_blob(&sha(&tar)).unwrap().unwrap();
    assert_eq!(lb.blob, sha(&blob));
    assert_eq!(lb.tar_size, tar.len() as u64);
    assert_eq!(
        std::fs::read(dir.path().join("blobs/sha256").join(&sha(&blob)[7..])).unwrap(),
        blob
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        0
    );
}

#[test]
fn one_layer_file_named_by_two_images() {
    // A docker-save archive: two images (two configs) sharing one layer.tar.
    let tar = layer_tar(&noise(100 * 1024));
    let diff = sha(&tar);
    let mut b = tar::Builder::new(Vec::new());
    append(&mut b, "l/layer.tar", &tar);
    let mut entries = Vec::new();
    for (n, tag) in ["two:a", "two:b"].iter().enumerate() {
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","config":{{"Env":["N={n}"]}},"rootfs":{{"type":"layers","diff_ids":["{diff}"]}}}}"#
        );
        let cid = sha(config.as_bytes());
        append(&mut b, &format!("{}.json", &cid[7..]), config.as_bytes());
        entries.push(format!(
            r#"{{"Config":"{}.json","RepoTags":["{tag}"],"Layers":["l/layer.tar"]}}"#,
            &cid[7..]
        ));
    }
    append(
        &mut b,
        "manifest.json",
        format!("[{}]", entries.join(",")).as_bytes(),
    );
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let loaded = store
        .load(&mut Cursor::new(b.into_inner().unwrap()))
        .unwrap();
    assert_eq!(loaded.len(), 2);
    let a = store.get("two:a").unwrap();
    let bimg = store.get("two:b").unwrap();
    assert_ne!(a.id, bimg.id);
    assert_eq!(a.diff_ids, bimg.diff_ids);
    let layer = &store.layer_dirs(&a).unwrap()[0];
    assert_eq!(std::fs::read(layer.join("etc/hello")).unwrap(), b"hello\n");
    assert_eq!(
        std::fs::read_dir(dir.path().join("layers"))
            .unwrap()
            .count(),
        1
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        0
    );
}
