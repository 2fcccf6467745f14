//! The `local` driver, as dockerd's `volume/local`.
//!
//! Layout: `<data-root>/volumes/<name>/_data` holds a volume's content;
//! `<data-root>/volumes/metadata.db` (redb) holds each volume's record (creation time,
//! labels, options). The driver keeps its own small database, as dockerd does, rather
//! than a table in the engine's: it is then whole by itself (a test, a tool or another
//! daemon configuration opens it from a directory alone), and a volume's record and its
//! directory live and die together in one place.
//!
//! Crash safety: create makes the directory, then commits the record; remove commits the
//! record's removal, then renames the directory to `.trash-*` and deletes it. A crash in
//! between leaves a directory without a record or a `.trash-*`, both deleted at the next
//! [`LocalDriver::open`]. The directories are synced before the record is committed,
//! and a record found without its directory at open gets an empty one again. Names cannot
//! start with `.`, so nothing there is taken for a volume.
//!
//! Options (`--opt`): `type`, `device`, `o` (and `size`, refused as dockerd refuses it
//! without quota support); `type` and `device` go together and `o` needs `device`, with
//! dockerd's messages. A volume with options is mounted (`mount -t TYPE -o O DEVICE
//! _data`) at its first [`Driver::mount`] and unmounted (detached) after its last
//! [`Driver::unmount`]; one still mounted after a daemon restart is not mounted again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use berth_archive::sys;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::{Driver, Error, Result, Volume, now_rfc3339, validate_name};

const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("volumes");
const DB_FILE: &str = "metadata.db";
const TRASH: &str = ".trash-";

/// What the database keeps of a volume.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    created_at: String,
    labels: BTreeMap<String, String>,
    options: BTreeMap<String, String>,
}

/// Docker's `local` volume driver.
pub struct LocalDriver {
    /// `<data-root>/volumes`.
    root: PathBuf,
    db: Database,
    /// Users of each volume in use. One lock for every change, so that a create, a
    /// mount and a remove of the same volume never interleave.
    users: Mutex<HashMap<String, BTreeSet<String>>>,
}

impl std::fmt::Debug for LocalDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalDriver")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl LocalDriver {
    /// Open (or make) `<data_root>/volumes` and its database, and delete what a crash
    /// left half-done.
    pub fn open(data_root: &Path) -> Result<LocalDriver> {
        let root = data_root.join("volumes");
        std::fs::create_dir_all(&root)
            .map_err(|e| Error::io(format!("creating {}", root.display()), e))?;
        // 0701 as dockerd's (other users may reach a volume they are told of, not list
        // them).
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o701))
            .map_err(|e| Error::io(format!("chmod {}", root.display()), e))?;
        let db = Database::create(root.join(DB_FILE)).map_err(Error::db)?;
        let w = db.begin_write().map_err(Error::db)?;
        w.open_table(TABLE).map_err(Error::db)?;
        w.commit().map_err(Error::db)?;
        let d = LocalDriver {
            root,
            db,
            users: Mutex::new(HashMap::new()),
        };
        d.clean_leftovers()?;
        d.restore_dirs()?;
        Ok(d)
    }

    /// Make again the `_data` of a record whose directory is missing (a power loss
    /// after the record's commit but before the directory reached the disk, or a
    /// directory deleted by hand): the volume is then empty, never a dangling record.
    fn restore_dirs(&self) -> Result<()> {
        for v in self.list()? {
            if !v.mountpoint.is_dir() {
                tracing::warn!(volume = %v.name, "volume directory missing; made again, empty");
                std::fs::create_dir_all(&v.mountpoint)
                    .map_err(|e| Error::io(format!("creating {}", v.mountpoint.display()), e))?;
            }
        }
        Ok(())
    }

    /// `<data-root>/volumes`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, BTreeSet<String>>> {
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn data(&self, name: &str) -> PathBuf {
        self.root.join(name).join("_data")
    }

    fn record(&self, name: &str) -> Result<Option<Record>> {
        let r = self.db.begin_read().map_err(Error::db)?;
        let t = r.open_table(TABLE).map_err(Error::db)?;
        match t.get(name).map_err(Error::db)? {
            Some(v) => Ok(Some(serde_json::from_slice(v.value()).map_err(Error::db)?)),
            None => Ok(None),
        }
    }

    fn volume(&self, name: &str, r: Record) -> Volume {
        Volume {
            name: name.to_string(),
            driver: "local".into(),
            mountpoint: self.data(name),
            created_at: r.created_at,
            labels: r.labels,
            options: r.options,
            scope: "local".into(),
        }
    }

    /// Directories without a record (a create or remove cut short) and `.trash-*`.
    fn clean_leftovers(&self) -> Result<()> {
        let r = self.db.begin_read().map_err(Error::db)?;
        let t = r.open_table(TABLE).map_err(Error::db)?;
        let entries = std::fs::read_dir(&self.root)
            .map_err(|e| Error::io(format!("reading {}", self.root.display()), e))?;
        let mounts = mount_points()?;
        for e in entries {
            let e = e.map_err(|e| Error::io("reading the volumes directory", e))?;
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if name == DB_FILE || !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let leftover = name.starts_with(TRASH) || t.get(name).map_err(Error::db)?.is_none();
            if !leftover {
                continue;
            }
            let dir = self.root.join(name);
            if mounts.iter().any(|m| m.starts_with(&dir)) {
                tracing::warn!(dir = %dir.display(), "leftover volume directory has a mount; kept");
                continue;
            }
            tracing::info!(dir = %dir.display(), "removing a leftover volume directory");
            self.remove_dir(name)?;
        }
        Ok(())
    }

    /// Delete `<root>/<name>` without following any symlink in it.
    fn remove_dir(&self, name: &str) -> Result<()> {
        let rootfd = sys::open_dir(&self.root)
            .map_err(|e| Error::io(format!("opening {}", self.root.display()), e))?;
        let c = sys::cstr(name.as_bytes()).map_err(|e| Error::io("name", e))?;
        sys::remove_all_at(sys::borrow(&rootfd), &c)
            .map_err(|e| Error::io(format!("removing {}", self.root.join(name).display()), e))
    }

    fn do_mount(&self, name: &str, options: &BTreeMap<String, String>) -> Result<()> {
        let data = self.data(name);
        if mount_points()?.contains(&data) {
            return Ok(());
        }
        let device = options.get("device").map(String::as_str).unwrap_or("");
        let fstype = options.get("type").map(String::as_str).unwrap_or("");
        let (flags, mdata) = parse_mount_options(options.get("o").map(String::as_str));
        let fail = |reason: String| Error::Mount {
            path: data.display().to_string(),
            reason: format!("failed to mount local volume: {reason}"),
        };
        if device.is_empty() {
            return Err(fail("missing device in volume options".into()));
        }
        let flags_nix = nix::mount::MsFlags::from_bits_retain(flags);
        let r = nix::mount::mount(
            Some(device),
            &data,
            Some(fstype),
            flags_nix,
            (!mdata.is_empty()).then_some(mdata.as_str()),
        );
        if let Err(errno) = r {
            // moby/sys/mount's mountError, word for word.
            let mut m = format!("mount {device}:{}", data.display());
            if flags != 0 {
                m.push_str(&format!(", flags: 0x{flags:x}"));
            }
            if !mdata.is_empty() {
                m.push_str(&format!(", data: {}", hide_password(&mdata)));
            }
            m.push_str(&format!(": {}", go_errno(errno)));
            return Err(fail(m));
        }
        Ok(())
    }

    fn do_unmount(&self, name: &str) -> Result<()> {
        let data = self.data(name);
        if !mount_points()?.contains(&data) {
            return Ok(());
        }
        nix::mount::umount2(&data, nix::mount::MntFlags::MNT_DETACH).map_err(|e| {
            Error::io(
                format!("unmounting {}", data.display()),
                std::io::Error::from(e),
            )
        })
    }

    /// Unmount every volume this driver mounted and forget all users (tests' cleanup,
    /// daemon shutdown without running containers).
    pub fn unmount_all(&self) -> Result<()> {
        let mut users = self.lock();
        users.clear();
        for v in self.list()? {
            if !v.options.is_empty() {
                self.do_unmount(&v.name)?;
            }
        }
        Ok(())
    }
}

/// dockerd's local driver's option check (`validateOpts`).
fn validate_options(options: &BTreeMap<String, String>) -> std::result::Result<(), String> {
    for k in options.keys() {
        if !matches!(k.as_str(), "type" | "device" | "o" | "size") {
            return Err(format!("invalid option: {k:?}"));
        }
    }
    for (opt, needs) in [("device", "type"), ("type", "device"), ("o", "device")] {
        if options.contains_key(opt) && !options.contains_key(needs) {
            return Err(format!("missing required option: {needs:?}"));
        }
    }
    if options.contains_key("size") {
        return Err("quota size requested but no quota support".into());
    }
    Ok(())
}

/// moby/sys/mount's `parseOptions`: flags by name, everything else as the data string.
fn parse_mount_options(o: Option<&str>) -> (libc::c_ulong, String) {
    use libc::{
        MS_BIND, MS_DIRSYNC, MS_MANDLOCK, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC,
        MS_NOSUID, MS_RDONLY, MS_REC, MS_RELATIME, MS_REMOUNT, MS_STRICTATIME, MS_SYNCHRONOUS,
    };
    let mut flags: libc::c_ulong = 0;
    let mut data = Vec::new();
    for opt in o.unwrap_or("").split(',').filter(|s| !s.is_empty()) {
        let (clear, f) = match opt {
            "defaults" => (false, 0),
            "ro" => (false, MS_RDONLY),
            "rw" => (true, MS_RDONLY),
            "suid" => (true, MS_NOSUID),
            "nosuid" => (false, MS_NOSUID),
            "dev" => (true, MS_NODEV),
            "nodev" => (false, MS_NODEV),
            "exec" => (true, MS_NOEXEC),
            "noexec" => (false, MS_NOEXEC),
            "sync" => (false, MS_SYNCHRONOUS),
            "async" => (true, MS_SYNCHRONOUS),
            "dirsync" => (false, MS_DIRSYNC),
            "remount" => (false, MS_REMOUNT),
            "mand" => (false, MS_MANDLOCK),
            "nomand" => (true, MS_MANDLOCK),
            "atime" => (true, MS_NOATIME),
            "noatime" => (false, MS_NOATIME),
            "diratime" => (true, MS_NODIRATIME),
            "nodiratime" => (false, MS_NODIRATIME),
            "bind" => (false, MS_BIND),
            "rbind" => (false, MS_BIND | MS_REC),
            "relatime" => (false, MS_RELATIME),
            "norelatime" => (true, MS_RELATIME),
            "strictatime" => (false, MS_STRICTATIME),
            "nostrictatime" => (true, MS_STRICTATIME),
            other => {
                data.push(other);
                continue;
            }
        };
        if clear {
            flags &= !f;
        } else {
            flags |= f;
        }
    }
    (flags, data.join(","))
}

/// dockerd hides a CIFS password in its mount errors.
fn hide_password(data: &str) -> String {
    data.split(',')
        .map(|o| {
            if o.starts_with("password=") {
                "password=********"
            } else {
                o
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// An errno as Go prints it (`no such file or directory`).
fn go_errno(e: nix::errno::Errno) -> String {
    let d = e.desc();
    let mut c = d.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The mount points of this mount namespace.
fn mount_points() -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::io("reading /proc/self/mountinfo", e))?;
    Ok(berth_runtime::linux::mountinfo::parse(&text)
        .map(|m| m.mount_point)
        .collect())
}

impl Driver for LocalDriver {
    fn name(&self) -> &str {
        "local"
    }

    fn create(
        &self,
        name: &str,
        options: &BTreeMap<String, String>,
        labels: &BTreeMap<String, String>,
    ) -> Result<Volume> {
        validate_name(name).map_err(|r| Error::invalid("create", name, r))?;
        let _users = self.lock();
        if let Some(r) = self.record(name)? {
            return Ok(self.volume(name, r));
        }
        validate_options(options).map_err(|r| Error::invalid("create", name, r))?;
        let dir = self.root.join(name);
        std::fs::create_dir(&dir)
            .map_err(|e| Error::io(format!("create {}: {}", name, dir.display()), e))?;
        let made = (|| -> Result<Volume> {
            std::fs::create_dir(dir.join("_data"))
                .map_err(|e| Error::io(format!("create {name}: _data"), e))?;
            // dockerd's modes: the volume's directory 0701, `_data` 0755.
            for (d, mode) in [(dir.clone(), 0o701), (dir.join("_data"), 0o755)] {
                std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode))
                    .map_err(|e| Error::io(format!("create {name}: chmod"), e))?;
            }
            // The directories on disk before the record that names them.
            for d in [&dir, &self.root] {
                std::fs::File::open(d)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| Error::io(format!("create {name}: sync"), e))?;
            }
            let rec = Record {
                created_at: now_rfc3339(),
                labels: labels.clone(),
                options: options.clone(),
            };
            let bytes = serde_json::to_vec(&rec).map_err(Error::db)?;
            let w = self.db.begin_write().map_err(Error::db)?;
            {
                let mut t = w.open_table(TABLE).map_err(Error::db)?;
                t.insert(name, bytes.as_slice()).map_err(Error::db)?;
            }
            w.commit().map_err(Error::db)?;
            Ok(self.volume(name, rec))
        })();
        if made.is_err()
            && let Err(e) = self.remove_dir(name)
        {
            tracing::warn!(
                volume = name,
                "removing a volume directory after a failed create: {e}"
            );
        }
        made
    }

    fn get(&self, name: &str) -> Result<Volume> {
        match self.record(name)? {
            Some(r) => Ok(self.volume(name, r)),
            None => Err(Error::not_found("get", name)),
        }
    }

    fn list(&self) -> Result<Vec<Volume>> {
        let r = self.db.begin_read().map_err(Error::db)?;
        let t = r.open_table(TABLE).map_err(Error::db)?;
        let mut out = Vec::new();
        for row in t.iter().map_err(Error::db)? {
            let (k, v) = row.map_err(Error::db)?;
            let rec: Record = serde_json::from_slice(v.value()).map_err(Error::db)?;
            out.push(self.volume(k.value(), rec));
        }
        Ok(out)
    }

    fn path(&self, name: &str) -> Result<PathBuf> {
        self.get(name).map(|v| v.mountpoint)
    }

    fn mount(&self, name: &str, user: &str) -> Result<PathBuf> {
        let mut users = self.lock();
        let Some(rec) = self.record(name)? else {
            return Err(Error::not_found("mount", name));
        };
        let first = users.get(name).is_none_or(BTreeSet::is_empty);
        if first && !rec.options.is_empty() {
            self.do_mount(name, &rec.options)?;
        }
        users
            .entry(name.to_string())
            .or_default()
            .insert(user.to_string());
        Ok(self.data(name))
    }

    fn unmount(&self, name: &str, user: &str) -> Result<()> {
        let mut users = self.lock();
        let Some(rec) = self.record(name)? else {
            return Err(Error::not_found("unmount", name));
        };
        let Some(set) = users.get_mut(name) else {
            return Ok(());
        };
        if !set.remove(user) {
            return Ok(());
        }
        if set.is_empty() {
            users.remove(name);
            if !rec.options.is_empty() {
                self.do_unmount(name)?;
            }
        }
        Ok(())
    }

    fn users(&self, name: &str) -> Result<Vec<String>> {
        let users = self.lock();
        if self.record(name)?.is_none() {
            return Err(Error::not_found("get", name));
        }
        Ok(users
            .get(name)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default())
    }

    fn remove(&self, name: &str, force: bool) -> Result<()> {
        let users = self.lock();
        let Some(rec) = self.record(name)? else {
            return if force {
                Ok(())
            } else {
                Err(Error::not_found("get", name))
            };
        };
        if let Some(u) = users.get(name).filter(|s| !s.is_empty()) {
            return Err(Error::InUse {
                op: "remove",
                name: name.to_string(),
                users: u.iter().cloned().collect(),
            });
        }
        // Never delete through a mount (a bind mount's files are the host's).
        if !rec.options.is_empty() {
            self.do_unmount(name)?;
        }
        let dir = self.root.join(name);
        if mount_points()?.iter().any(|m| m.starts_with(&dir)) {
            return Err(Error::io(
                format!("remove {name}"),
                std::io::Error::other("something is still mounted in the volume"),
            ));
        }
        let w = self.db.begin_write().map_err(Error::db)?;
        {
            let mut t = w.open_table(TABLE).map_err(Error::db)?;
            t.remove(name).map_err(Error::db)?;
        }
        w.commit().map_err(Error::db)?;
        let trash = format!("{TRASH}{name}");
        std::fs::rename(&dir, self.root.join(&trash))
            .map_err(|e| Error::io(format!("remove {name}: {}", dir.display()), e))?;
        self.remove_dir(&trash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The reference dockerd 20.10's answers to `docker volume create -o ...`.
    #[test]
    fn options_are_checked_as_dockerd_does() {
        assert_eq!(
            validate_options(&opts(&[("foo", "bar")])).unwrap_err(),
            "invalid option: \"foo\""
        );
        assert_eq!(
            validate_options(&opts(&[("type", "tmpfs")])).unwrap_err(),
            "missing required option: \"device\""
        );
        assert_eq!(
            validate_options(&opts(&[("o", "size=1m")])).unwrap_err(),
            "missing required option: \"device\""
        );
        assert_eq!(
            validate_options(&opts(&[("device", "/tmp")])).unwrap_err(),
            "missing required option: \"type\""
        );
        assert_eq!(
            validate_options(&opts(&[("size", "1m")])).unwrap_err(),
            "quota size requested but no quota support"
        );
        assert!(
            validate_options(&opts(&[
                ("type", "tmpfs"),
                ("device", "tmpfs"),
                ("o", "size=1m,uid=1000")
            ]))
            .is_ok()
        );
        assert!(validate_options(&BTreeMap::new()).is_ok());
    }

    #[test]
    fn mount_options_split_into_flags_and_data() {
        assert_eq!(
            parse_mount_options(Some("size=64m,uid=1000")),
            (0, "size=64m,uid=1000".into())
        );
        assert_eq!(
            parse_mount_options(Some("bind")),
            (libc::MS_BIND, String::new())
        );
        assert_eq!(
            parse_mount_options(Some("ro,nosuid,rw,mode=700")),
            (libc::MS_NOSUID, "mode=700".into())
        );
        assert_eq!(parse_mount_options(None), (0, String::new()));
        assert_eq!(
            hide_password("user=a,password=secret"),
            "user=a,password=********"
        );
    }

    #[test]
    fn errnos_read_as_go_prints_them() {
        assert_eq!(
            go_errno(nix::errno::Errno::ENOENT),
            "no such file or directory"
        );
        assert_eq!(go_errno(nix::errno::Errno::ENODEV), "no such device");
    }
}
