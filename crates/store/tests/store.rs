//! The store against the archives in `../shared/images` and hand-made hostile layers.
#![allow(clippy::unwrap_used)]

use std::io::Cursor;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use berth_store::{ErrorKind, Store};

fn image(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/images")
        .join(name)
}

fn load_file(store: &Store, name: &str) -> berth_store::Result<Vec<berth_store::LoadedImage>> {
    let mut f = std::fs::File::open(image(name)).unwrap();
    store.load(&mut f)
}

fn is_root() -> bool {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn tmp_entries(store: &Store) -> usize {
    std::fs::read_dir(store.root().join("tmp")).unwrap().count()
}

#[test]
fn load_busybox_and_look_it_up() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let loaded = load_file(&store, "busybox.tar").unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].tags, ["busybox:latest"]);
    let id = loaded[0].id.clone();
    assert!(id.starts_with("sha256:") && id.len() == 71);
    for r in [
        "busybox",
        "busybox:latest",
        "docker.io/library/busybox",
        id.as_str(),
        &id[7..],
        &id[7..19],
        &id[..12],
    ] {
        assert_eq!(store.get(r).unwrap().id, id, "{r}");
    }
    let e = store.get("nosuch").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.to_string(), "No such image: nosuch");
    let img = store.get("busybox").unwrap();
    assert_eq!(
        img.config.config.cmd.as_deref(),
        Some(&["sh".to_string()][..])
    );
    assert!(img.size > 1_000_000, "{}", img.size);
    let dirs = store.layer_dirs(&img).unwrap();
    assert_eq!(dirs.len(), 1);
    assert!(dirs[0].join("bin/busybox").is_file() || dirs[0].join("bin/sh").exists());
    // The blob of the config is there under its digest.
    assert!(store.root().join("blobs/sha256").join(&id[7..]).is_file());
    assert_eq!(tmp_entries(&store), 0);

    // Reopening keeps everything; loading again changes nothing.
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.get("busybox").unwrap().id, id);
    load_file(&store, "busybox.tar").unwrap();
    assert_eq!(store.list().unwrap().len(), 1);
}

#[test]
fn layers_are_shared_and_tags_move() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    load_file(&store, "busybox.tar").unwrap();
    load_file(&store, "layers-test.docker.tar").unwrap();
    let bb = store.get("busybox").unwrap();
    let lt = store.get("layers-test:1").unwrap();
    assert_eq!(lt.diff_ids.len(), 4);
    assert_eq!(
        lt.diff_ids[0], bb.diff_ids[0],
        "layers-test is built on busybox"
    );
    assert_eq!(
        std::fs::read_dir(store.root().join("layers"))
            .unwrap()
            .count(),
        4
    );

    store.tag(&lt.id, "busybox").unwrap();
    assert_eq!(store.get("busybox:latest").unwrap().id, lt.id);
    assert!(store.get(&bb.id).unwrap().repo_tags.is_empty());
    let e = store.tag(&lt.id, "Bad Name").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn oci_layout_loads_the_same_image() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let docker = load_file(&store, "layers-test.docker.tar").unwrap();
    let oci = load_file(&store, "layers-test.oci.tar").unwrap();
    assert_eq!(oci[0].tags, ["layers-test:1"]);
    let img = store.get("layers-test:1").unwrap();
    assert_eq!(img.id, oci[0].id);
    let docker_img = store.get(&docker[0].id).unwrap();
    assert_eq!(img.diff_ids, docker_img.diff_ids, "same layers, shared");
    assert_eq!(
        std::fs::read_dir(store.root().join("layers"))
            .unwrap()
            .count(),
        4
    );
}

#[test]
fn layers_test_unpacks_exactly() {
    if !is_root() {
        eprintln!("skipping: needs root for overlayfs");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    load_file(&store, "layers-test.docker.tar").unwrap();
    let img = store.get("layers-test:1").unwrap();
    let mut lower: Vec<String> = store
        .layer_dirs(&img)
        .unwrap()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    lower.reverse();
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let st = Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o"])
        .arg(format!("lowerdir={}", lower.join(":")))
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(st.success());
    let check = std::panic::catch_unwind(|| {
        let opt = mnt.join("opt");
        let mut names: Vec<String> = std::fs::read_dir(&opt)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["hardlink", "keep", "mode600", "opaque", "sticky", "symlink"]
        );
        let hl = std::fs::metadata(opt.join("hardlink")).unwrap();
        let kf = std::fs::metadata(opt.join("keep/file")).unwrap();
        assert_eq!((hl.nlink(), hl.ino()), (2, kf.ino()));
        assert_eq!(
            std::fs::metadata(opt.join("mode600"))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(opt.join("sticky"))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777,
            0o1777
        );
        let opaque: Vec<_> = std::fs::read_dir(opt.join("opaque")).unwrap().collect();
        assert_eq!(opaque.len(), 1);
        assert_eq!(
            std::fs::read_link(opt.join("symlink")).unwrap(),
            Path::new("/opt/keep/file")
        );
        assert!(!opt.join("gone").exists());
        assert!(!mnt.join("bin/hostname").exists());
        assert!(mnt.join("bin/sh").exists());
    });
    let _ = Command::new("umount").arg(&mnt).status();
    check.unwrap();
}

fn sha(data: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

/// A docker-save archive holding one image with `layer` as its only layer.
fn archive_with_layer(layer: &[u8]) -> Vec<u8> {
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
        sha(layer)
    );
    let cid = sha(config.as_bytes());
    let manifest = format!(
        r#"[{{"Config":"{}.json","RepoTags":["hostile:1"],"Layers":["l/layer.tar"]}}]"#,
        &cid[7..]
    );
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [
        (format!("{}.json", &cid[7..]), config.as_bytes()),
        ("l/layer.tar".to_string(), layer),
        ("manifest.json".to_string(), manifest.as_bytes()),
    ] {
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

/// The archive crate's hostile cases, each as the only layer of a loaded image: the
/// escapes are refused (and leave nothing behind), the odd but harmless ones load.
#[test]
fn hostile_layers_stay_inside() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("victim"), "safe").unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let out = outside.display().to_string();
    for (what, layer) in berth_archive::hostile::escapes(&out) {
        let r = store.load(&mut Cursor::new(archive_with_layer(&layer)));
        let e = r.expect_err(what);
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{what}: {e}");
        assert!(e.to_string().contains("invalid layer"), "{what}: {e}");
        assert_eq!(
            std::fs::read_to_string(outside.join("victim")).unwrap(),
            "safe",
            "{what}"
        );
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 1, "{what}");
        assert!(store.list().unwrap().is_empty(), "{what}");
        assert_eq!(tmp_entries(&store), 0, "{what}");
    }
    for c in berth_archive::hostile::contained(&out) {
        store
            .load(&mut Cursor::new(archive_with_layer(&c.tar)))
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let img = store.get("hostile:1").unwrap();
        let dirs = store.layer_dirs(&img).unwrap();
        assert_eq!(
            std::fs::read(dirs[0].join(&c.check)).unwrap(),
            c.want,
            "{}",
            c.name
        );
        assert_eq!(
            std::fs::read_dir(&outside).unwrap().count(),
            1,
            "{}",
            c.name
        );
    }
}

#[test]
fn bad_archives_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    load_file(&store, "busybox.tar").unwrap();
    let good = std::fs::read(image("layers-test.docker.tar")).unwrap();

    // Truncated.
    let e = store
        .load(&mut Cursor::new(good[..good.len() / 2].to_vec()))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");

    // A layer byte flipped: the layer's digest no longer matches the config.
    let layer = {
        let mut a = tar::Archive::new(Cursor::new(&good));
        let mut found = None;
        for e in a.entries().unwrap() {
            let e = e.unwrap();
            if e.path().unwrap().to_string_lossy().ends_with("layer.tar") && e.size() > 100_000 {
                found = Some(e.raw_file_position() as usize);
            }
        }
        found.unwrap()
    };
    let mut bad = good.clone();
    bad[layer + 5000] ^= 0xff;
    let e = store.load(&mut Cursor::new(bad)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.to_string().contains("digest mismatch"), "{e}");

    // Not an archive at all.
    let e = store
        .load(&mut Cursor::new(b"hello world".repeat(100)))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");

    let names: Vec<_> = store
        .list()
        .unwrap()
        .into_iter()
        .flat_map(|i| i.repo_tags)
        .collect();
    assert_eq!(names, ["busybox:latest"]);
    assert_eq!(tmp_entries(&store), 0);
    assert_eq!(
        std::fs::read_dir(store.root().join("layers"))
            .unwrap()
            .count(),
        1
    );
}

#[test]
fn gzipped_archive_loads() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let loaded = load_file(&store, "debian-bookworm.tar.gz").unwrap();
    assert_eq!(loaded[0].tags, ["debian:bookworm"]);
    let img = store.get("debian:bookworm").unwrap();
    let dirs = store.layer_dirs(&img).unwrap();
    assert!(dirs[0].join("usr/bin/bash").is_file() || dirs[0].join("bin/bash").exists());
}

/// An OCI layout of one image (`oci:1`) with `layer` as its only layer, its index entry's
/// digest and size as `manifest_ref` makes them from the manifest's.
fn oci_layout(layer: &[u8], manifest_ref: impl Fn(&str, usize) -> (String, usize)) -> Vec<u8> {
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
        sha(layer)
    );
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{}","size":{}}}]}}"#,
        sha(config.as_bytes()),
        config.len(),
        sha(layer),
        layer.len()
    );
    let (digest, size) = manifest_ref(&sha(manifest.as_bytes()), manifest.len());
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{digest}","size":{size},"annotations":{{"org.opencontainers.image.ref.name":"oci:1"}}}}]}}"#
    );
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [
        (
            "oci-layout".to_string(),
            &br#"{"imageLayoutVersion":"1.0.0"}"#[..],
        ),
        (
            format!("blobs/sha256/{}", &sha(config.as_bytes())[7..]),
            config.as_bytes(),
        ),
        (format!("blobs/sha256/{}", &sha(layer)[7..]), layer),
        (
            format!("blobs/sha256/{}", &sha(manifest.as_bytes())[7..]),
            manifest.as_bytes(),
        ),
        ("index.json".to_string(), index.as_bytes()),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
    }
    b.into_inner().unwrap()
}

/// Descriptors are read with their digests checked: a size or digest that does not match
/// the blob, another algorithm, or a digest that is no digest, and nothing is loaded.
#[test]
fn oci_descriptors_are_verified() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut layer = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(2);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    layer.append_data(&mut h, "f", &b"hi"[..]).unwrap();
    let layer = layer.into_inner().unwrap();
    let other = sha(b"other");
    type Ref = Box<dyn Fn(&str, usize) -> (String, usize)>;
    let cases: Vec<(&str, Ref, &str)> = vec![
        (
            "wrong size",
            Box::new(|d: &str, n| (d.to_string(), n + 1)),
            "descriptor says",
        ),
        (
            "another blob's digest",
            Box::new(move |_: &str, n| (other.clone(), n)),
            "missing",
        ),
        (
            "sha512",
            Box::new(|_: &str, n| (format!("sha512:{}", "a".repeat(128)), n)),
            "unsupported digest algorithm",
        ),
        (
            "a path for a digest",
            Box::new(|_: &str, n| ("sha256:../../../etc/passwd".to_string(), n)),
            "index.json",
        ),
    ];
    for (what, make, says) in cases {
        let e = store
            .load(&mut Cursor::new(oci_layout(&layer, make)))
            .expect_err(what);
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{what}: {e}");
        assert!(e.to_string().contains(says), "{what}: {e}");
        assert!(store.list().unwrap().is_empty(), "{what}");
        assert_eq!(tmp_entries(&store), 0, "{what}");
    }
    let loaded = store
        .load(&mut Cursor::new(oci_layout(&layer, |d, n| {
            (d.to_string(), n)
        })))
        .unwrap();
    assert_eq!(loaded[0].tags, ["oci:1"]);
    let img = store.get(&loaded[0].id).unwrap();
    assert_eq!(img.diff_ids, [sha(&layer)]);
}
