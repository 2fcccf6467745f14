//! Copy-up, export, import and clone (`berth_volumes::copy`), on plain directories
//! standing for a container's root and volumes' `_data`, and against hostile content:
//! symlinks out (`root -> /`), `..` entries, absolute symlinks, device nodes, a huge
//! sparse file. Needs root (owners, device nodes).

#![allow(clippy::unwrap_used)] // a test file: its helpers panic on failure like the tests

use std::ffi::CString;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;

use berth_archive::hostile::{RawTar, contained, escapes};
use berth_volumes::copy::{clone, copy_up, export, import};
use tar::EntryType;

fn chown(p: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), Some(gid)).unwrap();
}

fn set_xattr(p: &Path, name: &str, value: &[u8]) -> bool {
    let p = CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    let n = CString::new(name).unwrap();
    // SAFETY: valid C strings and a buffer of the given length.
    unsafe {
        libc::lsetxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        ) == 0
    }
}

fn get_xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
    let p = CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    let n = CString::new(name).unwrap();
    let mut buf = vec![0u8; 256];
    // SAFETY: valid C strings and a buffer of the given length.
    let r = unsafe { libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (r >= 0).then(|| {
        buf.truncate(r as usize);
        buf
    })
}

fn mknod_char(p: &Path, major: u32, minor: u32) {
    let c = CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid C string.
    let r = unsafe {
        libc::mknod(
            c.as_ptr(),
            libc::S_IFCHR | 0o600,
            libc::makedev(major, minor),
        )
    };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
}

/// An image directory with every kind of entry is copied as it is: owners, modes,
/// mtimes, xattrs, hard links, symlinks (not followed), a device node, a FIFO; the
/// volume's root takes the directory's owner and mode.
#[test]
fn copy_up_keeps_everything_as_it_is() {
    let rootfs = tempfile::tempdir().unwrap();
    let vol = tempfile::tempdir().unwrap();
    let src = rootfs.path().join("data");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    chown(&src, 33, 34);
    std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o750)).unwrap();
    std::fs::write(src.join("f"), b"content").unwrap();
    chown(&src.join("f"), 1000, 1001);
    std::fs::set_permissions(src.join("f"), std::fs::Permissions::from_mode(0o4751)).unwrap();
    let xattr_ok = set_xattr(&src.join("f"), "user.berth", b"x1");
    std::fs::hard_link(src.join("f"), src.join("sub/hl")).unwrap();
    symlink("/", src.join("root")).unwrap();
    symlink("../f", src.join("sub/rel")).unwrap();
    mknod_char(&src.join("null"), 1, 3);
    nix::unistd::mkfifo(
        &src.join("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    let t = nix::sys::time::TimeSpec::new(1_000_000_000, 0);
    nix::sys::stat::utimensat(
        nix::fcntl::AT_FDCWD,
        &src.join("f"),
        &t,
        &t,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .unwrap();

    assert!(copy_up(rootfs.path(), Path::new("/data"), vol.path()).unwrap());
    let v = vol.path();
    let m = std::fs::metadata(v).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (33, 34, 0o750));
    let f = std::fs::symlink_metadata(v.join("f")).unwrap();
    assert_eq!((f.uid(), f.gid(), f.mode() & 0o7777), (1000, 1001, 0o4751));
    assert_eq!(f.mtime(), 1_000_000_000);
    assert_eq!(std::fs::read(v.join("f")).unwrap(), b"content");
    if xattr_ok {
        assert_eq!(
            get_xattr(&v.join("f"), "user.berth").as_deref(),
            Some(&b"x1"[..])
        );
    }
    let hl = std::fs::symlink_metadata(v.join("sub/hl")).unwrap();
    assert_eq!(hl.ino(), f.ino());
    assert_eq!(std::fs::read_link(v.join("root")).unwrap(), Path::new("/"));
    assert_eq!(
        std::fs::read_link(v.join("sub/rel")).unwrap(),
        Path::new("../f")
    );
    let n = std::fs::symlink_metadata(v.join("null")).unwrap();
    assert_eq!(n.mode() & libc::S_IFMT, libc::S_IFCHR);
    assert_eq!(n.rdev(), libc::makedev(1, 3));
    let fifo = std::fs::symlink_metadata(v.join("fifo")).unwrap();
    assert_eq!(fifo.mode() & libc::S_IFMT, libc::S_IFIFO);
}

/// A volume with content is not filled again; a missing image directory copies nothing.
#[test]
fn copy_up_only_into_an_empty_volume() {
    let rootfs = tempfile::tempdir().unwrap();
    let vol = tempfile::tempdir().unwrap();
    std::fs::create_dir(rootfs.path().join("data")).unwrap();
    std::fs::write(rootfs.path().join("data/img"), b"img").unwrap();
    std::fs::write(vol.path().join("mine"), b"mine").unwrap();
    assert!(!copy_up(rootfs.path(), Path::new("/data"), vol.path()).unwrap());
    assert!(!vol.path().join("img").exists());
    std::fs::remove_file(vol.path().join("mine")).unwrap();
    assert!(!copy_up(rootfs.path(), Path::new("/nothing"), vol.path()).unwrap());
    assert!(copy_up(rootfs.path(), Path::new("/data"), vol.path()).unwrap());
    assert_eq!(std::fs::read(vol.path().join("img")).unwrap(), b"img");
}

/// The image directory is resolved inside the container's root: `/data -> /etc` and
/// `/up -> ../../../..` lead to the root's own `etc`, never the host's.
#[test]
fn copy_up_source_symlinks_resolve_inside_the_root() {
    let rootfs = tempfile::tempdir().unwrap();
    std::fs::create_dir(rootfs.path().join("etc")).unwrap();
    std::fs::write(rootfs.path().join("etc/marker"), b"inside").unwrap();
    symlink("/etc", rootfs.path().join("data")).unwrap();
    symlink("../../../../../..", rootfs.path().join("up")).unwrap();
    for dir in ["/data", "/up/etc", "/up/up/data", "../../etc"] {
        let vol = tempfile::tempdir().unwrap();
        assert!(
            copy_up(rootfs.path(), Path::new(dir), vol.path()).unwrap(),
            "{dir}"
        );
        assert_eq!(std::fs::read(vol.path().join("marker")).unwrap(), b"inside");
        assert!(
            !vol.path().join("passwd").exists(),
            "{dir}: the host's /etc"
        );
    }
    // A loop is an error, not a hang.
    symlink("loop", rootfs.path().join("loop")).unwrap();
    let vol = tempfile::tempdir().unwrap();
    assert!(copy_up(rootfs.path(), Path::new("/loop"), vol.path()).is_err());
}

/// Export writes what is in the volume and nothing a symlink points to; import of that
/// tar into another volume gives the same tree back with owners and modes.
#[test]
fn export_then_import_round_trip_and_symlinks_stay_links() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    std::fs::create_dir(a.path().join("d")).unwrap();
    std::fs::write(a.path().join("d/f"), b"data").unwrap();
    chown(&a.path().join("d/f"), 7, 8);
    std::fs::set_permissions(a.path().join("d/f"), std::fs::Permissions::from_mode(0o640)).unwrap();
    symlink("/", a.path().join("root")).unwrap();
    symlink("/etc/passwd", a.path().join("pw")).unwrap();
    let tar = export(a.path(), Vec::new()).unwrap();
    let mut names = Vec::new();
    for e in tar::Archive::new(tar.as_slice()).entries().unwrap() {
        let e = e.unwrap();
        names.push(e.path().unwrap().display().to_string());
        assert!(
            !names.last().unwrap().starts_with("root/"),
            "followed root -> /"
        );
    }
    assert_eq!(names, ["d/", "d/f", "pw", "root"]);
    assert_eq!(import(tar.as_slice(), b.path(), "vol-b").unwrap(), 4);
    let f = std::fs::metadata(b.path().join("d/f")).unwrap();
    assert_eq!((f.uid(), f.gid(), f.mode() & 0o777), (7, 8, 0o640));
    assert_eq!(
        std::fs::read_link(b.path().join("root")).unwrap(),
        Path::new("/")
    );
    // Not empty now: a second import is refused and changes nothing.
    let e = import(tar.as_slice(), b.path(), "vol-b").unwrap_err();
    assert_eq!(e.to_string(), "import vol-b: volume is not empty");
    assert_eq!(e.status(), 409);
}

/// Every hostile archive of berth-archive's suite is refused by import, the target
/// outside is untouched and the volume is left empty; the odd-but-harmless ones land
/// inside.
#[test]
fn import_refuses_hostile_archives_and_leaves_nothing() {
    let outside = tempfile::tempdir().unwrap();
    let o = outside.path().to_str().unwrap();
    for (what, tar) in escapes(o) {
        let vol = tempfile::tempdir().unwrap();
        let e = import(tar.as_slice(), vol.path(), "vol-h");
        assert!(e.is_err(), "{what}: accepted");
        assert_eq!(e.unwrap_err().status(), 400, "{what}");
        assert!(
            !outside.path().join("victim").exists(),
            "{what}: wrote outside"
        );
        assert_eq!(
            std::fs::read_dir(vol.path()).unwrap().count(),
            0,
            "{what}: half-done"
        );
    }
    for c in contained(o) {
        let vol = tempfile::tempdir().unwrap();
        import(c.tar.as_slice(), vol.path(), "vol-h").unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(
            std::fs::read(vol.path().join(&c.check)).unwrap(),
            c.want,
            "{}",
            c.name
        );
    }
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

/// Import refuses device nodes (a tar is the user's, the files land on the host); a
/// huge sparse file is written with its holes.
#[test]
fn import_refuses_devices_and_keeps_sparse_holes() {
    let vol = tempfile::tempdir().unwrap();
    let tar = RawTar::new()
        .entry("ok", EntryType::Regular, "", b"ok")
        .device("sda", EntryType::Block, 8, 0)
        .finish();
    assert!(import(tar.as_slice(), vol.path(), "vol-d").is_err());
    assert!(!vol.path().join("sda").exists());
    assert!(!vol.path().join("ok").exists());

    let len = 1u64 << 30;
    let tar = RawTar::new().sparse("big", len, b"end").finish();
    import(tar.as_slice(), vol.path(), "vol-d").unwrap();
    let m = std::fs::metadata(vol.path().join("big")).unwrap();
    assert_eq!(m.len(), len);
    assert!(
        m.blocks() * 512 < 1 << 20,
        "holes written: {} blocks",
        m.blocks()
    );
}

/// Clone copies a volume holding `root -> /` and an absolute link as links, writes
/// nothing outside, and refuses a destination that is not empty.
#[test]
fn clone_copies_links_as_links_into_an_empty_volume_only() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    symlink("/", a.path().join("root")).unwrap();
    symlink(outside.path(), a.path().join("out")).unwrap();
    std::fs::create_dir(a.path().join("d")).unwrap();
    std::fs::write(a.path().join("d/f"), b"f").unwrap();
    clone(a.path(), b.path(), "vol-b").unwrap();
    assert_eq!(
        std::fs::read_link(b.path().join("root")).unwrap(),
        Path::new("/")
    );
    assert_eq!(
        std::fs::read_link(b.path().join("out")).unwrap(),
        outside.path()
    );
    assert_eq!(std::fs::read(b.path().join("d/f")).unwrap(), b"f");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    assert_eq!(
        clone(a.path(), b.path(), "vol-b").unwrap_err().status(),
        409
    );
}
