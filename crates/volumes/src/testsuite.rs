//! The checks every [`Driver`] runs, as containerd's `snapshots/testsuite`: each is a
//! function of a [`Factory`] that makes the driver under test in a fresh directory, so a
//! plugin driver later gets the same checks as `local`. [`driver_tests!`](crate::driver_tests)
//! makes one `#[test]` of each for a factory:
//!
//! ```ignore
//! fn local(dir: &Path) -> Fixture { ... }
//! berth_volumes::driver_tests!(local);
//! ```
//!
//! Each check works in its own temporary directory (so they run in parallel) and leaves
//! nothing behind when it fails: the fixture's cleanup (unmounting) runs on drop, before
//! the directory is removed.

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::Arc;

use crate::{Driver, Error, ErrorKind};

/// A driver under test.
pub struct Fixture {
    pub driver: Arc<dyn Driver>,
    /// The options each check creates its volumes with (a tmpfs-backed configuration of
    /// `local`, a plugin's own...).
    pub options: BTreeMap<String, String>,
    /// Runs when the fixture is dropped, also when a check panics: undo mounts.
    pub cleanup: Option<Box<dyn FnOnce()>>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(c) = self.cleanup.take() {
            c();
        }
    }
}

/// Makes the driver under test with its state under the given directory; called again
/// on the same directory, it opens what the first one left (a daemon restart).
pub type Factory = dyn Fn(&Path) -> Fixture;

fn labels(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Create, get and list agree; the mountpoint is a directory; `created_at` is RFC 3339.
pub fn create_get_list(make: &Factory) {
    let dir = tempdir();
    let fx = make(dir.path());
    let d = &fx.driver;
    let v = d
        .create("vol-a", &fx.options, &labels(&[("k", "v")]))
        .expect("create");
    assert_eq!(v.name, "vol-a");
    assert_eq!(v.driver, d.name());
    assert_eq!(v.scope, "local");
    assert_eq!(v.labels, labels(&[("k", "v")]));
    assert_eq!(v.options, fx.options);
    assert!(
        humantime::parse_rfc3339(&v.created_at).is_ok(),
        "{}",
        v.created_at
    );
    assert!(v.mountpoint.is_dir());
    assert_eq!(d.get("vol-a").expect("get"), v);
    assert_eq!(d.path("vol-a").expect("path"), v.mountpoint);
    d.create("vol-b", &fx.options, &BTreeMap::new())
        .expect("create b");
    let names: Vec<String> = d
        .list()
        .expect("list")
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(names, ["vol-a", "vol-b"]);
}

/// Creating a volume that exists gives it back unchanged (dockerd keeps the first labels).
pub fn create_existing_returns_it(make: &Factory) {
    let dir = tempdir();
    let fx = make(dir.path());
    let first = fx
        .driver
        .create("vol-x", &fx.options, &labels(&[("a", "b")]))
        .expect("create");
    let again = fx
        .driver
        .create("vol-x", &fx.options, &labels(&[("x", "y")]))
        .expect("create again");
    assert_eq!(first, again);
    assert_eq!(fx.driver.list().expect("list").len(), 1);
}

/// A bad name is a 400 with Docker's message, and nothing is made.
pub fn bad_names_refused(make: &Factory) {
    let dir = tempdir();
    let fx = make(dir.path());
    for bad in ["bad/name", "a", "../up", ".hidden", "x y"] {
        let e = fx
            .driver
            .create(bad, &fx.options, &BTreeMap::new())
            .expect_err(bad);
        assert_eq!(e.kind(), ErrorKind::InvalidParameter, "{bad}: {e}");
        assert!(e.to_string().starts_with(&format!("create {bad}: ")), "{e}");
    }
    assert!(fx.driver.list().expect("list").is_empty());
}

/// A missing volume is a 404 `get NAME: no such volume`; `force` removes it silently.
pub fn missing_is_not_found(make: &Factory) {
    let dir = tempdir();
    let fx = make(dir.path());
    let e = fx.driver.get("vol-none").expect_err("get");
    assert_eq!(e.to_string(), "get vol-none: no such volume");
    assert_eq!(e.status(), 404);
    let e = fx.driver.remove("vol-none", false).expect_err("remove");
    assert_eq!(e.status(), 404);
    fx.driver.remove("vol-none", true).expect("remove -f");
    assert_eq!(
        fx.driver
            .mount("vol-none", "c1")
            .expect_err("mount")
            .status(),
        404
    );
}

/// In use (mounted by one or more users) cannot be removed, `force` or not, with
/// dockerd's 409 message naming the users; once the last user is gone it can.
pub fn remove_refused_while_in_use(make: &Factory) {
    let dir = tempdir();
    let fx = make(dir.path());
    let d = &fx.driver;
    d.create("vol-u", &fx.options, &BTreeMap::new())
        .expect("create");
    let p1 = d.mount("vol-u", "c2").expect("mount c2");
    let p2 = d.mount("vol-u", "c1").expect("mount c1");
    assert_eq!(p1, p2);
    assert_eq!(d.users("vol-u").expect("users"), ["c1", "c2"]);
    for force in [false, true] {
        let e = d.remove("vol-u", force).expect_err("in use");
        assert!(matches!(e, Error::InUse { .. }));
        assert_eq!(e.status(), 409);
        assert_eq!(e.to_string(), "remove vol-u: volume is in use - [c1, c2]");
    }
    d.unmount("vol-u", "c1").expect("unmount c1");
    assert_eq!(
        d.remove("vol-u", false).expect_err("still c2").status(),
        409
    );
    d.unmount("vol-u", "c2").expect("unmount c2");
    assert!(d.users("vol-u").expect("users").is_empty());
    d.remove("vol-u", false).expect("remove");
    assert_eq!(d.get("vol-u").expect_err("gone").status(), 404);
    assert!(!p1.exists());
}

/// A user mounting twice counts once; an unmount of a user who has none is harmless.
pub fn mount_counts_each_user_once(make: &Factory) {
    let dir = tempdir();
    let fx = make(dir.path());
    let d = &fx.driver;
    d.create("vol-m", &fx.options, &BTreeMap::new())
        .expect("create");
    d.mount("vol-m", "c1").expect("mount");
    d.mount("vol-m", "c1").expect("mount again");
    d.unmount("vol-m", "nobody").expect("unmount of no user");
    assert_eq!(d.users("vol-m").expect("users"), ["c1"]);
    d.unmount("vol-m", "c1").expect("unmount");
    d.remove("vol-m", false).expect("remove");
}

/// What one user writes the next sees, while the volume is mounted.
pub fn content_shared_between_users(make: &Factory) {
    let dir = tempdir();
    let fx = make(dir.path());
    let d = &fx.driver;
    d.create("vol-s", &fx.options, &BTreeMap::new())
        .expect("create");
    let p = d.mount("vol-s", "c1").expect("mount");
    std::fs::write(p.join("f"), b"hello").expect("write");
    let q = d.mount("vol-s", "c2").expect("mount 2");
    assert_eq!(std::fs::read(q.join("f")).expect("read"), b"hello");
    d.unmount("vol-s", "c1").expect("unmount");
    assert_eq!(std::fs::read(q.join("f")).expect("read"), b"hello");
    d.unmount("vol-s", "c2").expect("unmount 2");
}

/// Removing a volume holding symlinks out (`root -> /`, a link to a directory outside)
/// deletes the links, never what they point to.
pub fn remove_never_follows_symlinks(make: &Factory) {
    let dir = tempdir();
    let outside = tempdir();
    std::fs::write(outside.path().join("keep"), b"keep").expect("write");
    let fx = make(dir.path());
    let d = &fx.driver;
    d.create("vol-l", &fx.options, &BTreeMap::new())
        .expect("create");
    let p = d.mount("vol-l", "c1").expect("mount");
    symlink("/", p.join("root")).expect("symlink");
    symlink(outside.path(), p.join("out")).expect("symlink");
    std::fs::create_dir(p.join("sub")).expect("mkdir");
    symlink(outside.path().join("keep"), p.join("sub/keep")).expect("symlink");
    d.unmount("vol-l", "c1").expect("unmount");
    d.remove("vol-l", false).expect("remove");
    assert_eq!(
        std::fs::read(outside.path().join("keep")).expect("outside intact"),
        b"keep"
    );
    assert!(Path::new("/etc").is_dir());
}

/// Volumes and their metadata outlive the driver (a daemon restart); users do not (the
/// engine counts them again from the running containers).
pub fn survives_reopen(make: &Factory) {
    let dir = tempdir();
    let before = {
        let fx = make(dir.path());
        let v = fx
            .driver
            .create("vol-r", &fx.options, &labels(&[("l", "1")]))
            .expect("create");
        fx.driver.mount("vol-r", "c1").expect("mount");
        fx.driver.unmount("vol-r", "c1").expect("unmount");
        v
    };
    let fx = make(dir.path());
    assert_eq!(fx.driver.get("vol-r").expect("get after reopen"), before);
    assert!(fx.driver.users("vol-r").expect("users").is_empty());
    fx.driver.remove("vol-r", false).expect("remove");
    drop(fx);
    let fx = make(dir.path());
    assert_eq!(fx.driver.get("vol-r").expect_err("removed").status(), 404);
}

/// The path a mount gives takes a copy-up, keeps it while mounted, and exports it; a
/// symlink `root -> /` copied up stays a link.
pub fn copy_up_into_the_mounted_volume(make: &Factory) {
    let dir = tempdir();
    let rootfs = tempdir();
    let img = rootfs.path().join("app");
    std::fs::create_dir_all(img.join("conf")).expect("mkdir");
    std::fs::write(img.join("conf/a"), b"image").expect("write");
    symlink("/", img.join("root")).expect("symlink");
    let fx = make(dir.path());
    let d = &fx.driver;
    d.create("vol-c", &fx.options, &BTreeMap::new())
        .expect("create");
    let p = d.mount("vol-c", "c1").expect("mount");
    assert!(crate::copy::copy_up(rootfs.path(), Path::new("/app"), &p).expect("copy-up"));
    assert!(!crate::copy::copy_up(rootfs.path(), Path::new("/app"), &p).expect("again"));
    assert_eq!(std::fs::read(p.join("conf/a")).expect("read"), b"image");
    assert_eq!(
        std::fs::read_link(p.join("root")).expect("link"),
        Path::new("/")
    );
    let tar = crate::copy::export(&p, Vec::new()).expect("export");
    let other = tempdir();
    crate::copy::import(tar.as_slice(), other.path(), "other").expect("import");
    assert_eq!(
        std::fs::read(other.path().join("conf/a")).expect("read"),
        b"image"
    );
    d.unmount("vol-c", "c1").expect("unmount");
    d.remove("vol-c", false).expect("remove");
}

/// Makes one `#[test]` per check of [`testsuite`](crate::testsuite) for a factory
/// function `fn(&Path) -> Fixture`, in a module named after it.
#[macro_export]
macro_rules! driver_tests {
    ($factory:ident) => {
        mod $factory {
            $crate::driver_tests!(@each super::$factory;
                create_get_list, create_existing_returns_it, bad_names_refused,
                missing_is_not_found, remove_refused_while_in_use,
                mount_counts_each_user_once, content_shared_between_users,
                remove_never_follows_symlinks, survives_reopen,
                copy_up_into_the_mounted_volume);
        }
    };
    (@each $f:path; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::testsuite::$check(&$f);
            }
        )*
    };
}
