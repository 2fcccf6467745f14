//! `VolumeService` over `LocalDriver` and a second, in-memory driver: drivers by name,
//! anonymous volumes, list filters, prune and usage, with dockerd's messages.

#![allow(clippy::unwrap_used)] // a test file: the fake driver below panics on a poisoned lock

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use berth_volumes::{
    ANONYMOUS_LABEL, Driver, Error, Filters, LocalDriver, Result, Volume, VolumeService,
};

fn map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A driver keeping volumes in memory (a stand-in for a plugin).
struct Memory {
    vols: Mutex<BTreeMap<String, (Volume, BTreeSet<String>)>>,
}

impl Driver for Memory {
    fn name(&self) -> &str {
        "memory"
    }
    fn create(
        &self,
        name: &str,
        options: &BTreeMap<String, String>,
        labels: &BTreeMap<String, String>,
    ) -> Result<Volume> {
        let v = Volume {
            name: name.into(),
            driver: "memory".into(),
            mountpoint: PathBuf::from("/nonexistent").join(name),
            created_at: "2026-01-01T00:00:00Z".into(),
            labels: labels.clone(),
            options: options.clone(),
            scope: "local".into(),
        };
        let mut m = self.vols.lock().unwrap();
        Ok(m.entry(name.into())
            .or_insert((v, BTreeSet::new()))
            .0
            .clone())
    }
    fn get(&self, name: &str) -> Result<Volume> {
        let m = self.vols.lock().unwrap();
        m.get(name).map(|x| x.0.clone()).ok_or(Error::NotFound {
            op: "get",
            name: name.into(),
        })
    }
    fn list(&self) -> Result<Vec<Volume>> {
        Ok(self
            .vols
            .lock()
            .unwrap()
            .values()
            .map(|x| x.0.clone())
            .collect())
    }
    fn path(&self, name: &str) -> Result<PathBuf> {
        self.get(name).map(|v| v.mountpoint)
    }
    fn mount(&self, name: &str, user: &str) -> Result<PathBuf> {
        let p = self.path(name)?;
        let mut m = self.vols.lock().unwrap();
        m.get_mut(name).unwrap().1.insert(user.into());
        Ok(p)
    }
    fn unmount(&self, name: &str, user: &str) -> Result<()> {
        let mut m = self.vols.lock().unwrap();
        if let Some(x) = m.get_mut(name) {
            x.1.remove(user);
        }
        Ok(())
    }
    fn users(&self, name: &str) -> Result<Vec<String>> {
        self.get(name)?;
        let m = self.vols.lock().unwrap();
        Ok(m[name].1.iter().cloned().collect())
    }
    fn remove(&self, name: &str, _force: bool) -> Result<()> {
        self.vols.lock().unwrap().remove(name);
        Ok(())
    }
}

fn service(dir: &Path) -> VolumeService {
    let s = VolumeService::new(Arc::new(LocalDriver::open(dir).unwrap()));
    s.register(Arc::new(Memory {
        vols: Mutex::new(BTreeMap::new()),
    }));
    s
}

fn names(v: Vec<Volume>) -> Vec<String> {
    v.into_iter().map(|v| v.name).collect()
}

#[test]
fn unknown_driver_is_dockerds_404() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path());
    let e = s
        .create("vol-y", "nosuch", &BTreeMap::new(), &BTreeMap::new())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "create vol-y: error looking up volume plugin nosuch: plugin \"nosuch\" not found"
    );
    assert_eq!(e.status(), 404);
    assert!(s.list(&Filters::default()).unwrap().is_empty());
}

#[test]
fn empty_driver_is_local_and_a_name_belongs_to_one_driver() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path());
    let v = s
        .create("vol-a", "", &BTreeMap::new(), &BTreeMap::new())
        .unwrap();
    assert_eq!(v.driver, "local");
    let e = s
        .create("vol-a", "memory", &BTreeMap::new(), &BTreeMap::new())
        .unwrap_err();
    assert_eq!(e.status(), 409);
    assert_eq!(
        e.to_string(),
        "create vol-a: driver 'local' already has volume 'vol-a': volume name must be unique"
    );
}

#[test]
fn anonymous_volumes_have_hex_names_and_dockers_label() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path());
    let v = s
        .create("", "local", &BTreeMap::new(), &map(&[("x", "1")]))
        .unwrap();
    assert_eq!(v.name.len(), 64);
    assert!(v.name.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(v.labels, map(&[(ANONYMOUS_LABEL, ""), ("x", "1")]));
}

#[test]
fn list_filters_as_dockerd() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path());
    let none = BTreeMap::new();
    s.create(
        "vol-web",
        "",
        &none,
        &map(&[("env", "prod"), ("tier", "web")]),
    )
    .unwrap();
    s.create("vol-db", "", &none, &map(&[("env", "dev")]))
        .unwrap();
    s.create("vol-mem", "memory", &none, &none).unwrap();
    s.mount("vol-db", "c1").unwrap();
    let l = |f: &[(&str, &str)]| names(s.list(&Filters::of(f)).unwrap());
    assert_eq!(l(&[]), ["vol-db", "vol-mem", "vol-web"]);
    assert_eq!(l(&[("name", "web")]), ["vol-web"]);
    assert_eq!(l(&[("name", "^vol-d")]), ["vol-db"]);
    // Regular expressions, as the reference dockerd: `vol-.e` is vol-web, `b$` vol-db.
    assert_eq!(l(&[("name", "vol-.e")]), ["vol-mem", "vol-web"]);
    assert_eq!(l(&[("name", "b$")]), ["vol-db", "vol-web"]);
    assert!(l(&[("name", "(")]).is_empty());
    assert_eq!(l(&[("name", "db"), ("name", "mem")]), ["vol-db", "vol-mem"]);
    assert_eq!(l(&[("driver", "memory")]), ["vol-mem"]);
    assert_eq!(l(&[("label", "env")]), ["vol-db", "vol-web"]);
    assert_eq!(l(&[("label", "env=prod")]), ["vol-web"]);
    assert_eq!(l(&[("label", "env"), ("label", "tier=web")]), ["vol-web"]);
    assert_eq!(l(&[("dangling", "true")]), ["vol-mem", "vol-web"]);
    assert_eq!(l(&[("dangling", "0")]), ["vol-db"]);
    let e = s.list(&Filters::of(&[("bogus", "1")])).unwrap_err();
    assert_eq!(
        (e.to_string().as_str(), e.status()),
        ("Invalid filter 'bogus'", 400)
    );
    let e = s.list(&Filters::of(&[("dangling", "maybe")])).unwrap_err();
    assert_eq!(e.to_string(), "Invalid filter 'dangling=[maybe]'");
    s.unmount("vol-db", "c1").unwrap();
}

#[test]
fn filters_parse_both_json_forms() {
    assert_eq!(
        Filters::from_json(r#"{"label":["a=b"],"dangling":{"true":true}}"#).unwrap(),
        Filters::of(&[("dangling", "true"), ("label", "a=b")])
    );
    assert_eq!(Filters::from_json("").unwrap(), Filters::default());
    assert_eq!(Filters::from_json("[").unwrap_err().status(), 400);
}

#[test]
fn prune_takes_unused_anonymous_local_volumes_unless_all() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path());
    let none = BTreeMap::new();
    let a1 = s.create("", "", &none, &none).unwrap();
    let a2 = s.create("", "", &none, &map(&[("keep", "1")])).unwrap();
    let used = s.create("", "", &none, &none).unwrap();
    s.create("vol-named", "", &none, &none).unwrap();
    s.create("", "memory", &none, &none).unwrap();
    std::fs::write(a1.mountpoint.join("f"), vec![0u8; 1000]).unwrap();
    s.mount(&used.name, "c1").unwrap();

    let e = s.prune(&Filters::of(&[("bogus", "1")]), false).unwrap_err();
    assert_eq!(e.to_string(), "Invalid filter 'bogus'");

    let r = s.prune(&Filters::of(&[("label!", "keep")]), false).unwrap();
    assert_eq!(r.deleted, [a1.name.as_str()]);
    assert_eq!(r.space_reclaimed, 1000);
    assert!(!a1.mountpoint.exists());

    let r = s.prune(&Filters::default(), false).unwrap();
    assert_eq!(r.deleted, [a2.name.as_str()]);

    // all=true (API 1.42+), or any prune of an older API: named ones too, never one in
    // use, never another driver's.
    let r = s.prune(&Filters::of(&[("all", "true")]), false).unwrap();
    assert_eq!(r.deleted, ["vol-named"]);
    let left = names(s.list(&Filters::default()).unwrap());
    assert_eq!(left.len(), 2);
    assert!(left.contains(&used.name));
    s.unmount(&used.name, "c1").unwrap();
    let r = s.prune(&Filters::default(), true).unwrap();
    assert_eq!(r.deleted, [used.name.as_str()]);
}

#[test]
fn usage_counts_files_once_and_never_follows_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path());
    let none = BTreeMap::new();
    let v = s.create("vol-du", "", &none, &none).unwrap();
    let p = &v.mountpoint;
    std::fs::write(p.join("a"), vec![1u8; 3000]).unwrap();
    std::fs::hard_link(p.join("a"), p.join("a2")).unwrap();
    std::fs::create_dir(p.join("d")).unwrap();
    std::fs::write(p.join("d/b"), vec![1u8; 500]).unwrap();
    std::os::unix::fs::symlink("/usr", p.join("root")).unwrap();
    s.mount("vol-du", "c1").unwrap();
    s.mount("vol-du", "c2").unwrap();
    let u = s.usage().unwrap();
    let (_, usage) = u.iter().find(|(v, _)| v.name == "vol-du").unwrap();
    assert_eq!(usage.ref_count, 2);
    assert_eq!(usage.size, 3000 + 500 + "/usr".len() as i64);
    s.unmount("vol-du", "c1").unwrap();
    s.unmount("vol-du", "c2").unwrap();
}

#[test]
fn remove_missing_with_force_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path());
    assert_eq!(
        s.remove("vol-none", false).unwrap_err().to_string(),
        "get vol-none: no such volume"
    );
    s.remove("vol-none", true).unwrap();
}

/// A container that names a volume holds it from create to removal, running or not (the
/// reference dockerd refuses `volume rm` of one a created container names): remove is a
/// 409 naming it, it is not dangling, prune keeps it, df counts it; release frees it.
#[test]
fn references_of_stopped_containers_keep_a_volume_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path());
    let none = BTreeMap::new();
    let anon = s.create("", "", &none, &none).unwrap();
    s.create("vol-r", "", &none, &none).unwrap();
    assert_eq!(s.reference("vol-none", "c0").unwrap_err().status(), 404);
    s.reference("vol-r", "c9").unwrap();
    s.reference("vol-r", "c1").unwrap();
    s.mount("vol-r", "c1").unwrap();
    s.reference(&anon.name, "c1").unwrap();
    let e = s.remove("vol-r", true).unwrap_err();
    assert_eq!(e.to_string(), "remove vol-r: volume is in use - [c1, c9]");
    assert_eq!(e.status(), 409);
    assert!(names(s.list(&Filters::of(&[("dangling", "true")])).unwrap()).is_empty());
    assert!(
        s.prune(&Filters::default(), true)
            .unwrap()
            .deleted
            .is_empty()
    );
    let u = s.usage().unwrap();
    assert_eq!(
        u.iter()
            .find(|(v, _)| v.name == "vol-r")
            .unwrap()
            .1
            .ref_count,
        2
    );
    s.unmount("vol-r", "c1").unwrap();
    s.release("vol-r", "c1");
    assert_eq!(
        s.remove("vol-r", false).unwrap_err().to_string(),
        "remove vol-r: volume is in use - [c9]"
    );
    s.release("vol-r", "c9");
    s.remove("vol-r", false).unwrap();
    s.release(&anon.name, "c1");
    assert_eq!(
        s.prune(&Filters::default(), false).unwrap().deleted,
        [anon.name.as_str()]
    );
}
