//! The shared driver test suite (`berth_volumes::testsuite`) on `LocalDriver`, plain and
//! tmpfs-backed, and the checks only `local` has: its options, mounts and crash
//! leftovers. Needs root (mounts).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_volumes::testsuite::Fixture;
use berth_volumes::{Driver, LocalDriver};

fn opts(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn fixture(dir: &Path, options: BTreeMap<String, String>) -> Fixture {
    let d = Arc::new(LocalDriver::open(dir).expect("open"));
    let c = d.clone();
    Fixture {
        driver: d,
        options,
        cleanup: Some(Box::new(move || {
            let _ = c.unmount_all();
        })),
    }
}

fn local(dir: &Path) -> Fixture {
    fixture(dir, BTreeMap::new())
}

fn local_tmpfs(dir: &Path) -> Fixture {
    fixture(
        dir,
        opts(&[
            ("type", "tmpfs"),
            ("device", "tmpfs"),
            ("o", "size=16m,uid=1000"),
        ]),
    )
}

berth_volumes::driver_tests!(local);
berth_volumes::driver_tests!(local_tmpfs);

fn mounted(p: &Path) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .expect("mountinfo")
        .lines()
        .any(|l| l.split(' ').nth(4) == p.to_str())
}

/// Unmounts what a test mounted, also when it fails.
struct Unmount(PathBuf);
impl Drop for Unmount {
    fn drop(&mut self) {
        if mounted(&self.0) {
            let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

/// `type=tmpfs,device=tmpfs,o=size=..,uid=1000`: mounted at the first user with its
/// options, unmounted after the last.
#[test]
fn tmpfs_mounted_at_first_use_unmounted_at_last() {
    let dir = tempfile::tempdir().unwrap();
    let fx = local_tmpfs(dir.path());
    let d = &fx.driver;
    let v = d.create("vol-t", &fx.options, &BTreeMap::new()).unwrap();
    let _g = Unmount(v.mountpoint.clone());
    assert!(!mounted(&v.mountpoint));
    d.mount("vol-t", "c1").unwrap();
    assert!(mounted(&v.mountpoint));
    let line = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .find(|l| l.split(' ').nth(4) == v.mountpoint.to_str())
        .unwrap()
        .to_string();
    assert!(line.contains(" - tmpfs tmpfs "), "{line}");
    assert!(
        line.contains("size=16384k") && line.contains("uid=1000"),
        "{line}"
    );
    d.mount("vol-t", "c2").unwrap();
    d.unmount("vol-t", "c1").unwrap();
    assert!(mounted(&v.mountpoint));
    d.unmount("vol-t", "c2").unwrap();
    assert!(!mounted(&v.mountpoint));
}

/// A tmpfs volume still mounted when the daemon restarts is not mounted again: the
/// first user after the restart sees what was there.
#[test]
fn mounted_volume_not_mounted_again_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m")]);
    let mp = {
        let d = LocalDriver::open(dir.path()).unwrap();
        let v = d.create("vol-k", &o, &BTreeMap::new()).unwrap();
        d.mount("vol-k", "c1").unwrap();
        std::fs::write(v.mountpoint.join("f"), b"kept").unwrap();
        v.mountpoint
    };
    let _g = Unmount(mp.clone());
    let d = LocalDriver::open(dir.path()).unwrap();
    d.mount("vol-k", "c1").unwrap();
    assert_eq!(std::fs::read(mp.join("f")).unwrap(), b"kept");
    d.unmount("vol-k", "c1").unwrap();
    assert!(!mounted(&mp));
}

/// `type=none,o=bind,device=DIR` binds a host directory; removing the volume leaves the
/// host directory's files alone.
#[test]
fn bind_volume_mounts_device_and_remove_keeps_host_files() {
    let dir = tempfile::tempdir().unwrap();
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("h"), b"host").unwrap();
    let d = LocalDriver::open(dir.path()).unwrap();
    let o = opts(&[
        ("type", "none"),
        ("o", "bind"),
        ("device", host.path().to_str().unwrap()),
    ]);
    let v = d.create("vol-b", &o, &BTreeMap::new()).unwrap();
    let _g = Unmount(v.mountpoint.clone());
    let p = d.mount("vol-b", "c1").unwrap();
    assert_eq!(std::fs::read(p.join("h")).unwrap(), b"host");
    d.unmount("vol-b", "c1").unwrap();
    d.remove("vol-b", false).unwrap();
    assert_eq!(std::fs::read(host.path().join("h")).unwrap(), b"host");
}

/// Bad options: dockerd's 400 messages, and nothing left (no record, no directory).
#[test]
fn bad_options_refused_with_dockerds_messages() {
    let dir = tempfile::tempdir().unwrap();
    let d = LocalDriver::open(dir.path()).unwrap();
    for (o, msg) in [
        (
            opts(&[("foo", "bar")]),
            "create vol-x: invalid option: \"foo\"",
        ),
        (
            opts(&[("type", "tmpfs")]),
            "create vol-x: missing required option: \"device\"",
        ),
        (
            opts(&[("device", "/tmp")]),
            "create vol-x: missing required option: \"type\"",
        ),
        (
            opts(&[("size", "1m")]),
            "create vol-x: quota size requested but no quota support",
        ),
    ] {
        let e = d.create("vol-x", &o, &BTreeMap::new()).unwrap_err();
        assert_eq!(e.to_string(), msg);
        assert_eq!(e.status(), 400);
        assert!(!d.root().join("vol-x").exists());
        assert!(d.list().unwrap().is_empty());
    }
}

/// A mount that fails is dockerd's message (moby/sys/mount's error inside), the
/// volume is not counted as in use, and it can be removed.
#[test]
fn failed_mount_is_dockerds_message_and_not_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let d = LocalDriver::open(dir.path()).unwrap();
    let o = opts(&[
        ("type", "none"),
        ("o", "bind"),
        ("device", "/nonexistent-vol"),
    ]);
    let v = d.create("vol-f", &o, &BTreeMap::new()).unwrap();
    let e = d.mount("vol-f", "c1").unwrap_err();
    let mp = v.mountpoint.display();
    assert_eq!(
        e.to_string(),
        format!(
            "error while mounting volume '{mp}': failed to mount local volume: \
             mount /nonexistent-vol:{mp}, flags: 0x1000: no such file or directory"
        )
    );
    assert!(d.users("vol-f").unwrap().is_empty());
    let o = opts(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "bogus=1")]);
    let v = d.create("vol-g", &o, &BTreeMap::new()).unwrap();
    let mp = v.mountpoint.display();
    assert_eq!(
        d.mount("vol-g", "c1").unwrap_err().to_string(),
        format!(
            "error while mounting volume '{mp}': failed to mount local volume: \
             mount tmpfs:{mp}, data: bogus=1: invalid argument"
        )
    );
    d.remove("vol-f", false).unwrap();
    d.remove("vol-g", false).unwrap();
}

/// What a crash leaves (a directory without a record, a `.trash-*` of a remove cut
/// short) is deleted at the next open; the metadata file stays where dockerd has it.
#[test]
fn crash_leftovers_deleted_at_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let d = LocalDriver::open(dir.path()).unwrap();
        d.create("vol-keep", &BTreeMap::new(), &BTreeMap::new())
            .unwrap();
    }
    let root = dir.path().join("volumes");
    assert!(root.join("metadata.db").is_file());
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&root).unwrap().permissions());
    assert_eq!(mode & 0o7777, 0o701, "dockerd's mode of volumes/");
    for (p, want) in [("vol-keep", 0o701), ("vol-keep/_data", 0o755)] {
        let m = std::fs::metadata(root.join(p)).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777,
            want,
            "{p}"
        );
    }
    std::fs::create_dir_all(root.join("vol-half/_data")).unwrap();
    std::fs::create_dir_all(root.join(".trash-vol-gone/_data/x")).unwrap();
    std::os::unix::fs::symlink("/", root.join(".trash-vol-gone/_data/x/root")).unwrap();
    let d = LocalDriver::open(dir.path()).unwrap();
    assert!(!root.join("vol-half").exists());
    assert!(!root.join(".trash-vol-gone").exists());
    assert!(root.join("vol-keep/_data").is_dir());
    let names: Vec<_> = d.list().unwrap().into_iter().map(|v| v.name).collect();
    assert_eq!(names, ["vol-keep"]);
}

/// A record whose directory is gone (a power loss before the directory reached the
/// disk) gets an empty `_data` again at open: never a volume whose mountpoint is missing.
#[test]
fn missing_directory_of_a_record_made_again_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let mp = {
        let d = LocalDriver::open(dir.path()).unwrap();
        d.create("vol-lost", &BTreeMap::new(), &BTreeMap::new())
            .unwrap()
            .mountpoint
    };
    std::fs::remove_dir_all(mp.parent().unwrap()).unwrap();
    let d = LocalDriver::open(dir.path()).unwrap();
    assert!(mp.is_dir());
    assert_eq!(d.get("vol-lost").unwrap().mountpoint, mp);
}
