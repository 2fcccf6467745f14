//! The hostile-archive suite against the archive crate itself, under each caller's
//! policy; and the writer, round-tripped through the extractor.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt, symlink};
use std::path::Path;

use berth_archive::hostile::{RawTar, contained, escapes};
use berth_archive::{
    Devices, Digesting, Error, IdMap, IdRange, Limits, Options, Owners, Rename, Whiteouts,
    WriteOptions, Writer, XattrSet, Xattrs, extract,
};
use tar::EntryType::{Block, Char, Directory, Link, Regular};

fn is_root() -> bool {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The policies of the callers: a layer (load, commit, import), `docker cp` into a
/// container (the daemon's helper), `berth cp` to the host.
fn policies() -> Vec<(&'static str, Options)> {
    vec![
        ("layer", Options::layer()),
        (
            "cp into a container",
            Options {
                whiteouts: Whiteouts::Plain,
                owners: Owners::Force { uid: 0, gid: 0 },
                devices: Devices::Allow,
                xattrs: Xattrs::Apply,
                no_overwrite_dir_non_dir: true,
                ..Options::default()
            },
        ),
        (
            "cp to the host",
            Options {
                whiteouts: Whiteouts::Plain,
                owners: Owners::Unchanged,
                devices: Devices::Refuse,
                xattrs: Xattrs::BestEffort,
                no_overwrite_dir_non_dir: true,
                ..Options::default()
            },
        ),
    ]
}

/// A scratch area: `outside/victim` says `safe`; destinations are made beside it.
struct Scene {
    dir: tempfile::TempDir,
    n: usize,
}

impl Scene {
    fn new() -> Scene {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("outside")).unwrap();
        std::fs::write(dir.path().join("outside/victim"), "safe").unwrap();
        Scene { dir, n: 0 }
    }
    fn outside(&self) -> String {
        self.dir.path().join("outside").display().to_string()
    }
    fn dest(&mut self) -> std::path::PathBuf {
        self.n += 1;
        let d = self.dir.path().join(format!("dest{}", self.n));
        std::fs::create_dir(&d).unwrap();
        d
    }
    /// `outside` as it was, and nothing next to the destinations but them.
    fn check(&self, what: &str) {
        let o = self.dir.path().join("outside");
        assert_eq!(
            std::fs::read_to_string(o.join("victim")).unwrap(),
            "safe",
            "{what}"
        );
        assert_eq!(std::fs::read_dir(&o).unwrap().count(), 1, "{what}");
        for e in std::fs::read_dir(self.dir.path()).unwrap() {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                n == "outside" || n.starts_with("dest"),
                "{what}: {n} appeared"
            );
        }
        assert!(!Path::new("/x").exists(), "{what}");
    }
}

#[test]
fn escapes_are_refused_under_every_policy() {
    let mut s = Scene::new();
    for (policy, opts) in policies() {
        for (what, tar) in escapes(&s.outside()) {
            let dest = s.dest();
            let r = extract(tar.as_slice(), &dest, &opts);
            assert!(r.is_err(), "{policy}: {what}: accepted");
            s.check(&format!("{policy}: {what}"));
        }
    }
}

#[test]
fn odd_but_harmless_archives_land_inside() {
    let mut s = Scene::new();
    for (policy, opts) in policies() {
        for c in contained(&s.outside()) {
            let dest = s.dest();
            extract(c.tar.as_slice(), &dest, &opts)
                .unwrap_or_else(|e| panic!("{policy}: {}: {e}", c.name));
            assert_eq!(
                std::fs::read(dest.join(&c.check)).unwrap(),
                c.want,
                "{policy}: {}",
                c.name
            );
            s.check(&format!("{policy}: {}", c.name));
        }
    }
}

#[test]
fn a_symlink_already_in_the_destination_is_not_followed() {
    let mut s = Scene::new();
    let dest = s.dest();
    symlink(s.outside(), dest.join("pre")).unwrap();
    let through = RawTar::new()
        .entry("pre/victim", Regular, "", b"pwned")
        .finish();
    assert!(extract(through.as_slice(), &dest, &Options::layer()).is_err());
    s.check("through an existing symlink");
    // An entry of that name replaces the link itself.
    let over = RawTar::new().entry("pre", Regular, "", b"file").finish();
    extract(over.as_slice(), &dest, &Options::layer()).unwrap();
    assert_eq!(std::fs::read(dest.join("pre")).unwrap(), b"file");
    s.check("over an existing symlink");
}

#[test]
fn device_nodes_follow_the_policy() {
    let mut s = Scene::new();
    let tar = RawTar::new().device("null", Char, 1, 3).finish();
    let refuse = Options {
        devices: Devices::Refuse,
        ..Options::layer()
    };
    let dest = s.dest();
    let e = extract(tar.as_slice(), &dest, &refuse).unwrap_err();
    assert!(e.to_string().contains("device nodes"), "{e}");
    assert!(!dest.join("null").exists());
    let block = RawTar::new().device("sda", Block, 8, 0).finish();
    assert!(extract(block.as_slice(), &dest, &refuse).is_err());
    if !is_root() {
        eprintln!("skipping the rest: mknod needs root");
        return;
    }
    extract(tar.as_slice(), &dest, &Options::layer()).unwrap();
    let md = std::fs::symlink_metadata(dest.join("null")).unwrap();
    assert!(md.file_type().is_char_device());
    assert_eq!(md.rdev(), libc::makedev(1, 3));
    // Layer whiteouts are 0/0 character devices, not device nodes: made even so.
    let wh = RawTar::new().entry(".wh.gone", Regular, "", b"").finish();
    let dest = s.dest();
    let overlay = Options {
        devices: Devices::Refuse,
        ..Options::layer()
    };
    extract(wh.as_slice(), &dest, &overlay).unwrap();
    let md = std::fs::symlink_metadata(dest.join("gone")).unwrap();
    assert!(md.file_type().is_char_device() && md.rdev() == 0);
}

#[test]
fn whiteouts_follow_the_policy() {
    let mut s = Scene::new();
    let tar = RawTar::new()
        .entry("d/", Directory, "", b"")
        .entry("d/.wh..wh..opq", Regular, "", b"")
        .entry("d/.wh.gone", Regular, "", b"")
        .finish();
    let plain = Options {
        whiteouts: Whiteouts::Plain,
        ..Options::layer()
    };
    let dest = s.dest();
    extract(tar.as_slice(), &dest, &plain).unwrap();
    assert!(dest.join("d/.wh.gone").is_file());
    assert!(dest.join("d/.wh..wh..opq").is_file());
    let refuse = Options {
        whiteouts: Whiteouts::Refuse,
        ..Options::layer()
    };
    let e = extract(tar.as_slice(), &s.dest(), &refuse).unwrap_err();
    assert!(e.to_string().contains("whiteouts"), "{e}");
    if !is_root() {
        eprintln!("skipping the rest: whiteouts and trusted xattrs need root");
        return;
    }
    let dest = s.dest();
    extract(tar.as_slice(), &dest, &Options::layer()).unwrap();
    let md = std::fs::symlink_metadata(dest.join("d/gone")).unwrap();
    assert!(md.file_type().is_char_device() && md.rdev() == 0);
    let d = berth_archive::Dir::open(&dest.join("d")).unwrap();
    assert_eq!(
        d.xattr(c"trusted.overlay.opaque").unwrap().as_deref(),
        Some(&b"y"[..])
    );
}

#[test]
fn owners_follow_the_policy() {
    if !is_root() {
        eprintln!("skipping: chown needs root");
        return;
    }
    let mut s = Scene::new();
    let tar = {
        let mut h = tar::Header::new_gnu();
        h.set_path("f").unwrap();
        h.set_size(1);
        h.set_mode(0o640);
        h.set_uid(1234);
        h.set_gid(99);
        h.set_cksum();
        let mut b = tar::Builder::new(Vec::new());
        b.append(&h, &b"x"[..]).unwrap();
        b.into_inner().unwrap()
    };
    let mut owner = |owners: Owners| {
        let dest = s.dest();
        let opts = Options {
            owners,
            ..Options::layer()
        };
        extract(tar.as_slice(), &dest, &opts).map(|_| {
            let md = std::fs::metadata(dest.join("f")).unwrap();
            assert_eq!(md.permissions().mode() & 0o7777, 0o640);
            (md.uid(), md.gid())
        })
    };
    assert_eq!(owner(Owners::FromArchive).unwrap(), (1234, 99));
    assert_eq!(owner(Owners::Force { uid: 7, gid: 8 }).unwrap(), (7, 8));
    assert_eq!(owner(Owners::Unchanged).unwrap(), (0, 0));
    let map = IdMap {
        uids: vec![IdRange {
            inside: 0,
            outside: 100_000,
            len: 65_536,
        }],
        gids: vec![IdRange {
            inside: 0,
            outside: 100_000,
            len: 65_536,
        }],
    };
    assert_eq!(owner(Owners::Map(map)).unwrap(), (101_234, 100_099));
    let small = IdMap {
        uids: vec![IdRange {
            inside: 0,
            outside: 100_000,
            len: 1000,
        }],
        gids: vec![IdRange {
            inside: 0,
            outside: 100_000,
            len: 1000,
        }],
    };
    let e = owner(Owners::Map(small)).unwrap_err();
    assert!(e.to_string().contains("cannot be mapped"), "{e}");
}

#[test]
fn a_huge_sparse_file_is_written_with_holes_and_counts_against_the_limit() {
    let mut s = Scene::new();
    let len = 1u64 << 30;
    let tar = RawTar::new().sparse("sparse", len, b"the end").finish();
    assert!(tar.len() < 8192);
    let dest = s.dest();
    let got = extract(tar.as_slice(), &dest, &Options::layer()).unwrap();
    assert_eq!(got.size, len);
    let md = std::fs::metadata(dest.join("sparse")).unwrap();
    assert_eq!(md.len(), len);
    assert!(md.blocks() * 512 < 1 << 20, "{} blocks", md.blocks());
    let mut f = std::fs::File::open(dest.join("sparse")).unwrap();
    std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(len - 512)).unwrap();
    let mut end = [0u8; 7];
    std::io::Read::read_exact(&mut f, &mut end).unwrap();
    assert_eq!(&end, b"the end");
    let limited = Options {
        limits: Limits {
            max_bytes: Some(len / 2),
            ..Limits::default()
        },
        ..Options::layer()
    };
    let e = extract(tar.as_slice(), &s.dest(), &limited).unwrap_err();
    assert!(matches!(e, Error::Limit(_)), "{e}");
}

#[test]
fn too_many_entries_are_refused() {
    let mut s = Scene::new();
    let mut raw = RawTar::new();
    for i in 0..10 {
        raw.entry(&format!("f{i}"), Regular, "", b"x");
    }
    let tar = raw.finish();
    let opts = Options {
        limits: Limits {
            max_entries: Some(5),
            ..Limits::default()
        },
        ..Options::layer()
    };
    let e = extract(tar.as_slice(), &s.dest(), &opts).unwrap_err();
    assert!(matches!(e, Error::Limit(_)), "{e}");
    let opts = Options {
        limits: Limits {
            max_entries: Some(10),
            max_bytes: Some(10),
        },
        ..Options::layer()
    };
    extract(tar.as_slice(), &s.dest(), &opts).unwrap();
}

#[test]
fn a_file_replacing_a_directory_and_the_other_way_round() {
    let mut s = Scene::new();
    let tar = RawTar::new()
        .entry("d/", Directory, "", b"")
        .entry("d/x", Regular, "", b"x")
        .entry("d", Regular, "", b"file now")
        .finish();
    let dest = s.dest();
    extract(tar.as_slice(), &dest, &Options::layer()).unwrap();
    assert_eq!(std::fs::read(dest.join("d")).unwrap(), b"file now");
    let no_overwrite = Options {
        no_overwrite_dir_non_dir: true,
        ..Options::layer()
    };
    let dest = s.dest();
    let e = extract(tar.as_slice(), &dest, &no_overwrite).unwrap_err();
    assert!(e.to_string().contains("cannot overwrite directory"), "{e}");
    assert!(dest.join("d/x").is_file());
    let back = RawTar::new()
        .entry("f", Regular, "", b"f")
        .entry("f/", Directory, "", b"")
        .finish();
    let e = extract(back.as_slice(), &s.dest(), &no_overwrite).unwrap_err();
    assert!(
        e.to_string().contains("cannot overwrite non-directory"),
        "{e}"
    );
    let dest = s.dest();
    extract(back.as_slice(), &dest, &Options::layer()).unwrap();
    assert!(dest.join("f").is_dir());
}

#[test]
fn a_name_too_long_for_the_filesystem_fails_cleanly() {
    let mut s = Scene::new();
    let tar = RawTar::new()
        .entry(&"n".repeat(300), Regular, "", b"x")
        .finish();
    let dest = s.dest();
    assert!(extract(tar.as_slice(), &dest, &Options::layer()).is_err());
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0);
}

#[test]
fn pax_xattrs_are_applied_per_policy() {
    let mut s = Scene::new();
    let tar = RawTar::new()
        .pax(&[("SCHILY.xattr.user.berth", b"v1")])
        .entry("f", Regular, "", b"x")
        .finish();
    let dest = s.dest();
    extract(tar.as_slice(), &dest, &Options::layer()).unwrap();
    let f = std::fs::File::open(dest.join("f")).unwrap();
    let got = berth_archive::xattr::get(
        berth_archive::xattr::Target::Fd(std::os::fd::AsFd::as_fd(&f)),
        c"user.berth",
    )
    .unwrap();
    assert_eq!(got.as_deref(), Some(&b"v1"[..]));
    let dest = s.dest();
    let ignore = Options {
        xattrs: Xattrs::Ignore,
        ..Options::layer()
    };
    extract(tar.as_slice(), &dest, &ignore).unwrap();
    let f = std::fs::File::open(dest.join("f")).unwrap();
    let got = berth_archive::xattr::get(
        berth_archive::xattr::Target::Fd(std::os::fd::AsFd::as_fd(&f)),
        c"user.berth",
    )
    .unwrap();
    assert_eq!(got, None);
}

#[test]
fn rename_rebases_names_and_link_targets() {
    let mut s = Scene::new();
    let tar = RawTar::new()
        .entry("d/", Directory, "", b"")
        .entry("d/f", Regular, "", b"f")
        .entry("d/hl", Link, "d/f", b"")
        .finish();
    let opts = Options {
        rename: Some(Rename {
            from: b"d".to_vec(),
            to: b"e".to_vec(),
        }),
        ..Options::layer()
    };
    let dest = s.dest();
    extract(tar.as_slice(), &dest, &opts).unwrap();
    let a = std::fs::metadata(dest.join("e/f")).unwrap();
    let b = std::fs::metadata(dest.join("e/hl")).unwrap();
    assert_eq!(a.ino(), b.ino());
    assert!(!dest.join("d").exists());
}

#[test]
fn digests_are_of_the_uncompressed_stream() {
    use sha2::Digest;
    let mut s = Scene::new();
    let tar = RawTar::new().entry("f", Regular, "", b"x").finish();
    let want = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&tar)));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    for (input, digesting, expect) in [
        (&tar, Digesting::Always, Some(&want)),
        (&gz, Digesting::Always, Some(&want)),
        (&gz, Digesting::IfCompressed, Some(&want)),
        (&tar, Digesting::IfCompressed, None),
        (&gz, Digesting::Never, None),
    ] {
        let opts = Options {
            digest: digesting,
            ..Options::layer()
        };
        let got = extract(input.as_slice(), &s.dest(), &opts).unwrap();
        assert_eq!(got.digest.as_ref(), expect, "{digesting:?}");
        assert_eq!(got.tar_size, tar.len() as u64);
        assert_eq!(got.entries, 1);
    }
}

/// Names of a tar's entries, with their types and link targets.
fn list(data: &[u8]) -> Vec<(String, tar::EntryType, String)> {
    let mut a = tar::Archive::new(data);
    a.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                e.header().entry_type(),
                e.link_name_bytes()
                    .map(|l| String::from_utf8_lossy(&l).into_owned())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn the_writer_names_entries_as_given_and_keeps_links() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("d");
    std::fs::create_dir_all(d.join("sub")).unwrap();
    std::fs::write(d.join("f"), "hi").unwrap();
    symlink("/etc/passwd", d.join("pw")).unwrap();
    std::fs::hard_link(d.join("f"), d.join("sub/f2")).unwrap();
    let long = "x".repeat(150);
    std::fs::write(d.join("sub").join(&long), "").unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(d.join("sock")).unwrap();
    let tar_of = |path: &Path, name: &str| {
        let mut w = Writer::new(Vec::new(), WriteOptions::default());
        w.path(path, name.as_bytes()).unwrap();
        list(&w.finish().unwrap())
    };
    let names = |v: Vec<(String, tar::EntryType, String)>| -> Vec<String> {
        v.into_iter().map(|(n, _, _)| n).collect()
    };
    assert_eq!(
        names(tar_of(&d, "d")),
        [
            "d/",
            "d/f",
            "d/pw",
            "d/sub/",
            "d/sub/f2",
            &format!("d/sub/{long}")
        ]
    );
    assert_eq!(
        names(tar_of(&d.join("."), ".")),
        [
            "./",
            "./f",
            "./pw",
            "./sub/",
            "./sub/f2",
            &format!("./sub/{long}")
        ]
    );
    let mut slash = d.as_os_str().to_owned();
    slash.push("/");
    assert_eq!(names(tar_of(Path::new(&slash), "/"))[..2], ["/", "/f"]);
    assert_eq!(names(tar_of(&d.join("f"), "f")), ["f"]);
    let pw = tar_of(&d.join("pw"), "pw");
    assert_eq!(pw[0].1, tar::EntryType::Symlink);
    assert_eq!(pw[0].2, "/etc/passwd");
    let all = tar_of(&d, "d");
    let link = all.iter().find(|(n, _, _)| n == "d/sub/f2").unwrap();
    assert_eq!((link.1, link.2.as_str()), (tar::EntryType::Link, "d/f"));
    // A missing path is an error.
    let mut w = Writer::new(Vec::new(), WriteOptions::default());
    assert!(w.path(&d.join("nosuch"), b"nosuch").is_err());
}

#[test]
fn a_tree_round_trips_through_the_writer_and_the_extractor() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("a/b")).unwrap();
    std::fs::write(src.join("a/b/file"), "data").unwrap();
    std::fs::set_permissions(src.join("a/b/file"), PermissionsExt::from_mode(0o4751)).unwrap();
    std::fs::hard_link(src.join("a/b/file"), src.join("hard")).unwrap();
    symlink("a/b/file", src.join("soft")).unwrap();
    let f = std::fs::File::open(src.join("a/b/file")).unwrap();
    // SAFETY: valid fd, name and value buffer.
    let r = unsafe {
        libc::fsetxattr(
            std::os::fd::AsRawFd::as_raw_fd(&f),
            c"user.kept".as_ptr(),
            b"yes".as_ptr().cast(),
            3,
            0,
        )
    };
    assert_eq!(r, 0);
    for (set, kept) in [
        (XattrSet::All, true),
        (XattrSet::Capability, false),
        (XattrSet::None, false),
    ] {
        let mut w = Writer::new(Vec::new(), WriteOptions { xattrs: set });
        w.contents(&berth_archive::Dir::open(&src).unwrap(), b"")
            .unwrap();
        let data = w.finish().unwrap();
        let out = dir.path().join(format!("out-{set:?}"));
        std::fs::create_dir(&out).unwrap();
        extract(data.as_slice(), &out, &Options::layer()).unwrap();
        let a = std::fs::metadata(out.join("a/b/file")).unwrap();
        let b = std::fs::metadata(out.join("hard")).unwrap();
        assert_eq!(a.ino(), b.ino(), "{set:?}");
        assert_eq!(a.permissions().mode() & 0o7777, 0o4751, "{set:?}");
        assert_eq!(
            std::fs::read_link(out.join("soft")).unwrap(),
            Path::new("a/b/file")
        );
        let f = std::fs::File::open(out.join("a/b/file")).unwrap();
        let got = berth_archive::xattr::get(
            berth_archive::xattr::Target::Fd(std::os::fd::AsFd::as_fd(&f)),
            c"user.kept",
        )
        .unwrap();
        assert_eq!(got.is_some(), kept, "{set:?}");
    }
}
