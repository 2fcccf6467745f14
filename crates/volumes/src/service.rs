//! [`VolumeService`]: the drivers by name and what `docker volume` does over all of them
//! (create, get, list with filters, remove, prune, usage), as dockerd's volume service.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use berth_archive::Dir;

use crate::{ANONYMOUS_LABEL, Driver, Error, Result, Volume, anonymous_name};

/// The `filters` of `GET /volumes` and `POST /volumes/prune`: each key's values, as
/// Docker's `filters.Args`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters(pub BTreeMap<String, Vec<String>>);

impl Filters {
    /// Parse the query's `filters` JSON, either form Docker takes:
    /// `{"label":["a=b"]}` or the old `{"label":{"a=b":true}}`.
    pub fn from_json(s: &str) -> Result<Filters> {
        if s.trim().is_empty() {
            return Ok(Filters::default());
        }
        let v: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(s).map_err(|e| Error::Filter(format!("invalid filter: {e}")))?;
        let mut out = BTreeMap::new();
        for (k, v) in v {
            let vals: Vec<String> = match v {
                serde_json::Value::Array(a) => a
                    .into_iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
                serde_json::Value::Object(o) => o
                    .into_iter()
                    .filter(|(_, b)| b.as_bool() == Some(true))
                    .map(|(k, _)| k)
                    .collect(),
                _ => return Err(Error::Filter("invalid filter".into())),
            };
            out.insert(k, vals);
        }
        Ok(Filters(out))
    }

    /// Filters from `key=value` pairs (tests, the engine's own calls).
    pub fn of(pairs: &[(&str, &str)]) -> Filters {
        let mut f = Filters::default();
        for (k, v) in pairs {
            f.0.entry(k.to_string()).or_default().push(v.to_string());
        }
        f
    }

    fn validate(&self, accepted: &[&str]) -> Result<()> {
        match self.0.keys().find(|k| !accepted.contains(&k.as_str())) {
            Some(k) => Err(Error::Filter(format!("Invalid filter '{k}'"))),
            None => Ok(()),
        }
    }

    fn get(&self, key: &str) -> &[String] {
        self.0.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A `true`/`1`/`false`/`0` filter (`dangling`, `all`), as dockerd reads it.
    fn bool(&self, key: &str) -> Result<Option<bool>> {
        let v = self.get(key);
        if !self.0.contains_key(key) {
            return Ok(None);
        }
        if v.iter().any(|x| x == "true" || x == "1") {
            Ok(Some(true))
        } else if v.iter().any(|x| x == "false" || x == "0") {
            Ok(Some(false))
        } else {
            let shown = format!("[{}]", v.join(" "));
            Err(Error::Filter(format!("Invalid filter '{key}={shown}'")))
        }
    }

    /// Docker's `MatchKVList`: every `key` or `key=value` of the filter is in `labels`.
    fn match_labels(&self, key: &str, labels: &BTreeMap<String, String>) -> bool {
        self.get(key).iter().all(|f| match f.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
            None => labels.contains_key(f.as_str()),
        })
    }

    /// `label` all match and `label!` not all match (dockerd's `byLabelFilter`).
    fn labels_ok(&self, labels: &BTreeMap<String, String>) -> bool {
        (!self.0.contains_key("label") || self.match_labels("label", labels))
            && !(self.0.contains_key("label!") && self.match_labels("label!", labels))
    }
}

/// `name=` as dockerd's `filters.Match`: the exact name, or a regular expression found
/// in it (`^vol-d`, `vol-f.`); an invalid expression matches nothing.
fn name_matches(pattern: &str, name: &str) -> bool {
    pattern == name || regex::Regex::new(pattern).is_ok_and(|re| re.is_match(name))
}

/// A volume's `UsageData` (`system df -v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Bytes of its files (each hard-linked file once), or -1 when not computed.
    pub size: i64,
    /// How many containers reference or use it.
    pub ref_count: i64,
}

/// What a prune removed (`VolumesDeleted`, `SpaceReclaimed`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub deleted: Vec<String>,
    pub space_reclaimed: u64,
}

/// The volume drivers by name, `local` first, and `docker volume` over them.
///
/// Two counts make a volume "in use", as in dockerd: the containers that *reference* it
/// ([`VolumeService::reference`] from container create to container removal, a stopped
/// container included: dockerd refuses `volume rm` of a volume a created or exited
/// container names), and the driver's *users* ([`VolumeService::mount`] from start to
/// stop). `remove`, `prune`, `dangling` and `RefCount` look at both.
pub struct VolumeService {
    drivers: RwLock<BTreeMap<String, Arc<dyn Driver>>>,
    refs: Mutex<HashMap<String, BTreeSet<String>>>,
}

impl VolumeService {
    /// A service with `local` (the default driver) registered.
    pub fn new(local: Arc<dyn Driver>) -> VolumeService {
        let s = VolumeService {
            drivers: RwLock::new(BTreeMap::new()),
            refs: Mutex::new(HashMap::new()),
        };
        s.register(local);
        s
    }

    /// Add (or replace) a driver under its name.
    pub fn register(&self, driver: Arc<dyn Driver>) {
        let mut d = self.drivers.write().unwrap_or_else(|p| p.into_inner());
        d.insert(driver.name().to_string(), driver);
    }

    fn all(&self) -> Vec<Arc<dyn Driver>> {
        let d = self.drivers.read().unwrap_or_else(|p| p.into_inner());
        d.values().cloned().collect()
    }

    /// The driver `driver` (`""` is `local`), or dockerd's 404 for an unknown one.
    pub fn driver(&self, op: &'static str, name: &str, driver: &str) -> Result<Arc<dyn Driver>> {
        let driver = if driver.is_empty() { "local" } else { driver };
        let d = self.drivers.read().unwrap_or_else(|p| p.into_inner());
        d.get(driver).cloned().ok_or_else(|| Error::UnknownDriver {
            op,
            name: name.to_string(),
            driver: driver.to_string(),
        })
    }

    /// The volume `name` and its driver.
    fn find(&self, op: &'static str, name: &str) -> Result<(Arc<dyn Driver>, Volume)> {
        for d in self.all() {
            match d.get(name) {
                Ok(v) => return Ok((d, v)),
                Err(Error::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::not_found(op, name))
    }

    /// `POST /volumes/create`: an empty `name` makes an anonymous volume. A name held by
    /// another driver is dockerd's 409.
    pub fn create(
        &self,
        name: &str,
        driver: &str,
        options: &BTreeMap<String, String>,
        labels: &BTreeMap<String, String>,
    ) -> Result<Volume> {
        if name.is_empty() {
            return self.create_anonymous(driver, options, labels);
        }
        let drv = self.driver("create", name, driver)?;
        if let Ok((other, _)) = self.find("create", name)
            && other.name() != drv.name()
        {
            return Err(Error::Conflict {
                op: "create",
                name: name.to_string(),
                reason: format!(
                    "driver '{}' already has volume '{name}': volume name must be unique",
                    other.name()
                ),
            });
        }
        drv.create(name, options, labels)
    }

    /// A new anonymous volume: 64 hex digits, labelled `com.docker.volume.anonymous`.
    pub fn create_anonymous(
        &self,
        driver: &str,
        options: &BTreeMap<String, String>,
        labels: &BTreeMap<String, String>,
    ) -> Result<Volume> {
        let name = anonymous_name()?;
        let drv = self.driver("create", &name, driver)?;
        let mut labels = labels.clone();
        labels.insert(ANONYMOUS_LABEL.to_string(), String::new());
        drv.create(&name, options, &labels)
    }

    /// `GET /volumes/{name}`.
    pub fn get(&self, name: &str) -> Result<Volume> {
        self.find("get", name).map(|(_, v)| v)
    }

    fn refs(&self) -> std::sync::MutexGuard<'_, HashMap<String, BTreeSet<String>>> {
        self.refs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Record that container `id` names volume `name` (at container create, and at
    /// daemon start for every container found). Missing volume: 404.
    pub fn reference(&self, name: &str, id: &str) -> Result<()> {
        self.find("get", name)?;
        self.refs()
            .entry(name.to_string())
            .or_default()
            .insert(id.to_string());
        Ok(())
    }

    /// Container `id` no longer names `name` (at container removal).
    pub fn release(&self, name: &str, id: &str) {
        let mut refs = self.refs();
        if let Some(set) = refs.get_mut(name) {
            set.remove(id);
            if set.is_empty() {
                refs.remove(name);
            }
        }
    }

    /// The containers referencing or using `name`, sorted, each once.
    fn in_use_by(&self, d: &dyn Driver, name: &str) -> Result<BTreeSet<String>> {
        let mut all: BTreeSet<String> = d.users(name)?.into_iter().collect();
        if let Some(r) = self.refs().get(name) {
            all.extend(r.iter().cloned());
        }
        Ok(all)
    }

    /// Count `user`'s use of `name` (mounting it at the first) and give its host path.
    pub fn mount(&self, name: &str, user: &str) -> Result<PathBuf> {
        let (d, _) = self.find("mount", name)?;
        d.mount(name, user)
    }

    /// Drop `user`'s use of `name`.
    pub fn unmount(&self, name: &str, user: &str) -> Result<()> {
        let (d, _) = self.find("unmount", name)?;
        d.unmount(name, user)
    }

    /// The users of `name`.
    pub fn users(&self, name: &str) -> Result<Vec<String>> {
        let (d, _) = self.find("get", name)?;
        d.users(name)
    }

    /// `DELETE /volumes/{name}`: in use is a 409 with or without `force`; `force` makes a
    /// missing volume not an error.
    pub fn remove(&self, name: &str, force: bool) -> Result<()> {
        match self.find("get", name) {
            Ok((d, _)) => {
                let by = self.in_use_by(d.as_ref(), name)?;
                if !by.is_empty() {
                    return Err(Error::InUse {
                        op: "remove",
                        name: name.to_string(),
                        users: by.into_iter().collect(),
                    });
                }
                d.remove(name, force)?;
                self.refs().remove(name);
                Ok(())
            }
            Err(Error::NotFound { .. }) if force => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn list_all(&self) -> Result<Vec<(Arc<dyn Driver>, Volume)>> {
        let mut out = Vec::new();
        for d in self.all() {
            for v in d.list()? {
                out.push((d.clone(), v));
            }
        }
        out.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        Ok(out)
    }

    /// `GET /volumes` with the filters `name`, `driver`, `label`, `dangling`.
    pub fn list(&self, filters: &Filters) -> Result<Vec<Volume>> {
        filters.validate(&["name", "driver", "label", "dangling"])?;
        let dangling = filters.bool("dangling")?;
        let mut out = Vec::new();
        for (d, v) in self.list_all()? {
            let names = filters.get("name");
            if !names.is_empty() && !names.iter().any(|p| name_matches(p, &v.name)) {
                continue;
            }
            let drivers = filters.get("driver");
            if !drivers.is_empty() && !drivers.contains(&v.driver) {
                continue;
            }
            if !filters.labels_ok(&v.labels) {
                continue;
            }
            if let Some(want) = dangling
                && self.in_use_by(d.as_ref(), &v.name)?.is_empty() != want
            {
                continue;
            }
            out.push(v);
        }
        Ok(out)
    }

    /// `POST /volumes/prune`: unused `local` volumes, anonymous ones only unless `all`
    /// (the filter `all=true`, API 1.42+; the engine passes `implied_all` for requests of
    /// older versions, which pruned every unused volume), filtered by `label`/`label!`.
    /// A volume that cannot be removed is skipped, as dockerd does.
    pub fn prune(&self, filters: &Filters, implied_all: bool) -> Result<PruneReport> {
        filters.validate(&["label", "label!", "all"])?;
        let all = implied_all || filters.bool("all")?.unwrap_or(false);
        let mut report = PruneReport::default();
        for (d, v) in self.list_all()? {
            if d.name() != "local"
                || (!all && !v.labels.contains_key(ANONYMOUS_LABEL))
                || !filters.labels_ok(&v.labels)
                || !self.in_use_by(d.as_ref(), &v.name)?.is_empty()
            {
                continue;
            }
            let size = dir_size(&v.mountpoint).unwrap_or(0);
            match d.remove(&v.name, false) {
                Ok(()) => {
                    report.deleted.push(v.name);
                    report.space_reclaimed += size;
                }
                Err(e) => tracing::warn!(volume = %v.name, "prune: {e}"),
            }
        }
        Ok(report)
    }

    /// Each volume with its [`Usage`] (`system df -v`): sizes of `local` volumes
    /// computed by walking them without following symlinks, -1 for other drivers.
    pub fn usage(&self) -> Result<Vec<(Volume, Usage)>> {
        let mut out = Vec::new();
        for (d, v) in self.list_all()? {
            let size = if d.name() == "local" {
                dir_size(&v.mountpoint)
                    .map_err(|e| Error::io(format!("walking {}", v.mountpoint.display()), e))?
                    as i64
            } else {
                -1
            };
            let ref_count = self.in_use_by(d.as_ref(), &v.name)?.len() as i64;
            out.push((v, Usage { size, ref_count }));
        }
        Ok(out)
    }
}

/// Bytes of the regular files and symlinks under `path` (each inode once), through
/// directory fds: no symlink is followed, no other tree is entered by one.
pub fn dir_size(path: &Path) -> std::io::Result<u64> {
    fn walk(d: &Dir, seen: &mut HashSet<(u64, u64)>, total: &mut u64) -> std::io::Result<()> {
        for n in d.names()? {
            let Some(st) = d.stat(&n)? else { continue };
            if st.is_dir() {
                walk(&d.sub(OsStr::new(&n))?, seen, total)?;
            } else if st.nlink() <= 1 || seen.insert((st.dev(), st.ino())) {
                *total += st.size();
            }
        }
        Ok(())
    }
    let mut total = 0;
    walk(&Dir::open(path)?, &mut HashSet::new(), &mut total)?;
    Ok(total)
}
