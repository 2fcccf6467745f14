//! A container's own mounts: `-v` binds and volumes, `--mount`, `--tmpfs`,
//! `--volumes-from` and the anonymous volumes of `Config.Volumes` (an image's `VOLUME`
//! included), read with Docker's rules and messages.
//!
//! At create, `Engine::resolve_mounts` (in `volumes.rs` beside this) turns them into the container's
//! [`ContainerMount`]s, kept in its record: each named volume found or created, each
//! anonymous one created (its random name is then the container's), each referenced by
//! the container until it is removed. At start, `Engine::mount_volumes` mounts the
//! volumes (the driver counts the users) and fills a new, empty one with what the image
//! has at its destination; every exit unmounts them.
//! tmpfs mounts are not recorded: they are read from `HostConfig` at each start.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use berth_models::{HostConfig, Mount, MountPoint, list};
use berth_runtime::TmpfsMount;
use serde::{Deserialize, Serialize};

use crate::{Error, ErrorKind, Result};

/// One bind or volume of a container, resolved at create and kept in its record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerMount {
    /// As `inspect` lists it (`Type` `bind` or `volume`, `Name`, `Source`...).
    pub point: MountPoint,
    /// Fill the volume with the image's content at the destination when it is empty
    /// (not with `nocopy`).
    #[serde(default)]
    pub copy: bool,
    /// Made for this container (`-v /path`, an image's `VOLUME`): `rm -v` and `--rm`
    /// remove it.
    #[serde(default)]
    pub anonymous: bool,
    /// A `-v` bind: its missing source directory is made, as Docker's `-v` does
    /// (`--mount` refuses a missing source instead).
    #[serde(default)]
    pub create_source: bool,
    /// A bind without what is mounted below its source (`--mount bind-recursive=disabled`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub non_recursive: bool,
}

impl ContainerMount {
    pub fn is_volume(&self) -> bool {
        self.point.r#type == "volume"
    }
}

/// A bind asked for by `-v /host:/dst` or `--mount type=bind`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct BindWanted {
    pub source: String,
    pub target: String,
    pub readonly: bool,
    pub mode: String,
    pub create_source: bool,
    /// `rprivate` (Docker's default), `private`, `rslave`, `slave`, `rshared` or
    /// `shared`.
    pub propagation: String,
    /// Without what is mounted below the source (`bind-recursive=disabled`).
    pub non_recursive: bool,
}

impl BindWanted {
    /// The bind as the container records it.
    pub(super) fn into_mount(self) -> ContainerMount {
        ContainerMount {
            point: MountPoint {
                r#type: "bind".into(),
                source: self.source,
                destination: self.target,
                mode: self.mode,
                rw: !self.readonly,
                propagation: self.propagation,
                ..Default::default()
            },
            copy: false,
            anonymous: false,
            create_source: self.create_source,
            non_recursive: self.non_recursive,
        }
    }
}

/// A mount asked for by `-v` or `--mount`, before its volume is found or made.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Wanted {
    Bind(BindWanted),
    Volume {
        /// Empty: a new anonymous volume.
        name: String,
        target: String,
        readonly: bool,
        mode: String,
        nocopy: bool,
        driver: String,
        options: BTreeMap<String, String>,
        labels: BTreeMap<String, String>,
    },
}

impl Wanted {
    pub(super) fn target(&self) -> &str {
        match self {
            Wanted::Bind(BindWanted { target, .. }) | Wanted::Volume { target, .. } => target,
        }
    }
}

fn invalid_spec(spec: &str) -> Error {
    Error::invalid(format!("invalid volume specification: '{spec}'"))
}

fn bad_config(typ: &str, why: impl std::fmt::Display) -> Error {
    Error::invalid(format!("invalid mount config for type \"{typ}\": {why}"))
}

pub(super) fn not_absolute(typ: &str, path: &str) -> Error {
    bad_config(
        typ,
        format!("invalid mount path: '{path}' mount path must be absolute"),
    )
}

/// Mount propagation Berth applies: `rprivate` (Docker's default), `private`, `rslave`,
/// `slave` (mounts the host makes below the source reach the container), `rshared` and
/// `shared` (and the container's reach the host).
fn check_propagation(p: &str) -> Result<()> {
    if matches!(
        p,
        "" | "private" | "rprivate" | "slave" | "rslave" | "shared" | "rshared"
    ) {
        return Ok(());
    }
    Err(bad_config("bind", format!("invalid propagation mode: {p}")))
}

/// A slave bind needs its source on a shared or slave mount of the host, a shared bind on
/// a shared one, else nothing would ever propagate (dockerd's checks and messages).
pub(crate) fn check_propagation_source(source: &std::path::Path, propagation: &str) -> Result<()> {
    let shared = match propagation {
        "shared" | "rshared" => true,
        "slave" | "rslave" => false,
        _ => return Ok(()),
    };
    let text = berth_runtime::linux::mountinfo::read()?;
    let real = std::fs::canonicalize(source).unwrap_or_else(|_| source.to_path_buf());
    let m = berth_runtime::linux::mountinfo::mount_of(&text, &real);
    let ok = m
        .as_ref()
        .is_some_and(|m| m.is_shared() || (!shared && m.is_slave()));
    if ok {
        return Ok(());
    }
    let on = m.map_or_else(|| "/".into(), |m| m.mount_point.display().to_string());
    let kind = if shared { "shared" } else { "shared or slave" };
    Err(Error::internal(format!(
        "path {} is mounted on {on} but it is not a {kind} mount",
        source.display()
    )))
}

/// Whether the host enforces SELinux labels (`z`/`Z` relabel then, which Berth does not do).
fn selinux_enabled() -> bool {
    std::fs::read_to_string("/sys/fs/selinux/enforce").is_ok()
}

/// The modes of `-v SRC:DST:MODES` (dockerd's `ValidMountMode`): at most one of each
/// kind, for a volume (`nocopy` allowed) or a bind. Returns (readonly, nocopy).
fn parse_modes(spec: &str, modes: &str, volume: bool) -> Result<(bool, bool)> {
    let invalid = || Error::invalid(format!("invalid mode: {modes}"));
    let (mut rw, mut label, mut prop, mut copy, mut consistency) = (0, 0, 0, 0, 0);
    let (mut readonly, mut nocopy) = (false, false);
    for m in modes.split(',') {
        match m {
            "ro" | "rw" => {
                rw += 1;
                readonly = m == "ro";
            }
            "z" | "Z" => {
                label += 1;
                if selinux_enabled() {
                    return Err(Error::new(
                        ErrorKind::NotImplemented,
                        format!("SELinux relabelling ('{m}' in -v {spec}) is not supported yet"),
                    ));
                }
            }
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {
                prop += 1;
                if volume {
                    // As dockerd: propagation is a bind's.
                    return Err(Error::invalid(format!(
                        "invalid volume specification: '{spec}': {}",
                        bad_config("volume", "field BindOptions must not be specified").message
                    )));
                }
            }
            "nocopy" => {
                copy += 1;
                nocopy = true;
            }
            "consistent" | "cached" | "delegated" => consistency += 1,
            _ => return Err(invalid()),
        }
    }
    if [rw, label, prop, copy, consistency].iter().any(|n| *n > 1) {
        return Err(invalid());
    }
    if nocopy && !volume {
        return Err(bad_config(
            "bind",
            "field VolumeOptions must not be specified",
        ));
    }
    Ok((readonly, nocopy))
}

/// One `-v` entry of `HostConfig.Binds`: `/host:/dst[:modes]` (a bind) or
/// `name:/dst[:modes]` (a named volume), with dockerd's messages.
fn parse_bind(spec: &str) -> Result<Wanted> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, target, modes) = match parts.as_slice() {
        [s, t] => (*s, *t, ""),
        [s, t, m] => (*s, *t, *m),
        _ => return Err(invalid_spec(spec)),
    };
    if source.is_empty() || target.is_empty() {
        return Err(invalid_spec(spec));
    }
    let volume = !source.starts_with('/');
    let typ = if volume { "volume" } else { "bind" };
    if !target.starts_with('/') {
        return Err(Error::invalid(format!(
            "invalid volume specification: '{spec}': {}",
            not_absolute(typ, target).message
        )));
    }
    if clean_target(target) == "/" {
        return Err(Error::invalid(
            "invalid specification: destination can't be '/'",
        ));
    }
    let (readonly, nocopy) = if modes.is_empty() {
        (false, false)
    } else {
        parse_modes(spec, modes, volume)?
    };
    if volume {
        berth_volumes::validate_name(source)
            .map_err(|why| Error::invalid(format!("create {source}: {why}")))?;
        return Ok(Wanted::Volume {
            name: source.into(),
            target: target.into(),
            readonly,
            mode: modes.into(),
            nocopy,
            driver: String::new(),
            options: BTreeMap::new(),
            labels: BTreeMap::new(),
        });
    }
    let propagation = modes
        .split(',')
        .find(|m| m.ends_with("private") || m.ends_with("slave") || m.ends_with("shared"))
        .unwrap_or("rprivate");
    Ok(Wanted::Bind(BindWanted {
        source: source.into(),
        target: target.into(),
        readonly,
        mode: modes.into(),
        create_source: true,
        propagation: propagation.into(),
        non_recursive: false,
    }))
}

/// One `HostConfig.Mounts` entry of type bind or volume (tmpfs: `None`, see
/// [`tmpfs_mounts`]), with dockerd's checks and messages.
fn parse_mount(m: &Mount, check_sources: bool) -> Result<Option<Wanted>> {
    let typ = m.r#type.as_str();
    let target = m.target.as_str();
    if !matches!(typ, "bind" | "volume" | "tmpfs") {
        return Err(bad_config(typ, "mount type unknown"));
    }
    if target.is_empty() {
        return Err(bad_config(typ, "field Target must not be empty"));
    }
    if !target.starts_with('/') {
        return Err(not_absolute(typ, target));
    }
    let extra = |field: &str| bad_config(typ, format!("field {field} must not be specified"));
    match typ {
        "tmpfs" => {
            if !m.source.is_empty() {
                return Err(extra("Source"));
            }
            if m.bind_options.is_some() {
                return Err(extra("BindOptions"));
            }
            if m.volume_options.is_some() {
                return Err(extra("VolumeOptions"));
            }
            Ok(None)
        }
        "bind" => {
            if m.volume_options.is_some() {
                return Err(extra("VolumeOptions"));
            }
            if m.tmpfs_options.is_some() {
                return Err(extra("TmpfsOptions"));
            }
            let source = m.source.as_str();
            if source.is_empty() {
                return Err(bad_config(typ, "field Source must not be empty"));
            }
            if !source.starts_with('/') {
                return Err(not_absolute(typ, source));
            }
            let opts = m.bind_options.clone().unwrap_or_default();
            check_propagation(&opts.propagation)?;
            for (set, field, flag) in [
                (
                    opts.read_only_non_recursive,
                    "ReadOnlyNonRecursive",
                    "bind-recursive=writable",
                ),
                (
                    opts.read_only_force_recursive,
                    "ReadOnlyForceRecursive",
                    "bind-recursive=readonly",
                ),
            ] {
                if set {
                    return Err(Error::new(
                        ErrorKind::NotImplemented,
                        format!("Mounts.BindOptions.{field} (--mount {flag}) is not supported yet"),
                    ));
                }
            }
            if check_sources && !opts.create_mountpoint && !Path::new(source).exists() {
                return Err(bad_config(
                    typ,
                    format!("bind source path does not exist: {source}"),
                ));
            }
            Ok(Some(Wanted::Bind(BindWanted {
                source: source.into(),
                target: target.into(),
                readonly: m.read_only,
                mode: String::new(),
                create_source: opts.create_mountpoint,
                propagation: if opts.propagation.is_empty() {
                    "rprivate".into()
                } else {
                    opts.propagation.clone()
                },
                non_recursive: opts.non_recursive,
            })))
        }
        _ => {
            if m.bind_options.is_some() {
                return Err(extra("BindOptions"));
            }
            if m.tmpfs_options.is_some() {
                return Err(extra("TmpfsOptions"));
            }
            let name = m.source.as_str();
            if !name.is_empty() {
                berth_volumes::validate_name(name)
                    .map_err(|why| Error::invalid(format!("create {name}: {why}")))?;
            }
            let vo = m.volume_options.clone().unwrap_or_default();
            if !vo.subpath.is_empty() {
                return Err(Error::new(
                    ErrorKind::NotImplemented,
                    "Mounts.VolumeOptions.Subpath (--mount volume-subpath) is not supported yet",
                ));
            }
            let driver = vo.driver_config.clone().unwrap_or_default();
            Ok(Some(Wanted::Volume {
                name: name.into(),
                target: target.into(),
                readonly: m.read_only,
                mode: String::new(),
                nocopy: vo.no_copy,
                driver: driver.name,
                options: driver.options.unwrap_or_default(),
                labels: vo.labels.unwrap_or_default(),
            }))
        }
    }
}

/// The container's tmpfs mounts (`--mount type=tmpfs`, `--tmpfs`), as the runtime takes
/// them, and the `--mount` ones as `inspect` lists them.
pub(crate) fn tmpfs_mounts(hc: &HostConfig) -> Result<(Vec<TmpfsMount>, Vec<MountPoint>)> {
    let mut out = Vec::new();
    let mut listed = Vec::new();
    for m in hc.mounts.iter().flatten().filter(|m| m.r#type == "tmpfs") {
        let mut options = Vec::new();
        let tmpfs = m.tmpfs_options.clone().unwrap_or_default();
        if tmpfs.size_bytes > 0 {
            options.push(format!("size={}", tmpfs.size_bytes));
        }
        if tmpfs.mode > 0 {
            options.push(format!("mode={:o}", tmpfs.mode & 0o7777));
        }
        if m.read_only {
            options.push("ro".into());
        }
        out.push(TmpfsMount {
            destination: clean_target(&m.target),
            options,
        });
        listed.push(MountPoint {
            r#type: "tmpfs".into(),
            source: String::new(),
            destination: m.target.clone(),
            mode: String::new(),
            rw: !m.read_only,
            propagation: String::new(),
            ..Default::default()
        });
    }
    for (target, opts) in hc.tmpfs.iter().flatten() {
        if !target.starts_with('/') {
            return Err(Error::invalid(format!(
                "invalid mount path: '{target}' mount path must be absolute"
            )));
        }
        out.push(TmpfsMount {
            destination: clean_target(target),
            options: opts
                .split(',')
                .filter(|o| !o.is_empty())
                .map(str::to_string)
                .collect(),
        });
    }
    Ok((out, listed))
}

/// The binds and volumes a request asks for itself (`Binds`, `Mounts`), checked, with
/// duplicates of one another or of a tmpfs refused as dockerd does.
pub(super) fn wanted_mounts(hc: &HostConfig, check_sources: bool) -> Result<Vec<Wanted>> {
    let mut out = Vec::new();
    for b in list(&hc.binds) {
        out.push(parse_bind(b)?);
    }
    for m in hc.mounts.iter().flatten() {
        if let Some(w) = parse_mount(m, check_sources)? {
            out.push(w);
        }
    }
    let (tmpfs, _) = tmpfs_mounts(hc)?;
    let mut seen = HashSet::new();
    let targets = out.iter().map(|w| clean_target(w.target()));
    for t in targets.chain(tmpfs.into_iter().map(|t| t.destination)) {
        if !seen.insert(t.clone()) {
            return Err(Error::invalid(format!("Duplicate mount point: {t}")));
        }
    }
    Ok(out)
}

/// Check a request's mounts without touching volumes (at create, before the image is
/// looked up, so that a bad `-v` is answered first as dockerd does).
pub(crate) fn check_mounts(hc: &HostConfig) -> Result<()> {
    wanted_mounts(hc, true)?;
    for spec in list(&hc.volumes_from) {
        volumes_from_spec(spec)?;
    }
    Ok(())
}

/// `--volumes-from CONTAINER[:ro|rw]`.
pub(super) fn volumes_from_spec(spec: &str) -> Result<(&str, Option<bool>)> {
    let (name, mode) = spec.split_once(':').unwrap_or((spec, ""));
    let readonly = match mode {
        "" => None,
        "ro" => Some(true),
        "rw" => Some(false),
        other => return Err(Error::invalid(format!("invalid mode: {other}"))),
    };
    if name.is_empty() {
        return Err(invalid_spec(spec));
    }
    Ok((name, readonly))
}

/// The mounts a record made before Berth recorded them (host binds only then).
pub(crate) fn legacy_mounts(hc: &HostConfig) -> Vec<ContainerMount> {
    wanted_mounts(hc, false)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|w| match w {
            Wanted::Bind(b) => Some(b.into_mount()),
            Wanted::Volume { .. } => None,
        })
        .collect()
}

/// A mount target without trailing or doubled slashes.
pub(crate) fn clean_target(t: &str) -> String {
    let parts: Vec<&str> = t.split('/').filter(|p| !p.is_empty()).collect();
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn hc(binds: &[&str], extra: Value) -> HostConfig {
        let mut hc: HostConfig = serde_json::from_value(if extra.is_null() {
            serde_json::json!({})
        } else {
            extra
        })
        .expect("host config");
        hc.binds = Some(binds.iter().map(|s| s.to_string()).collect());
        hc
    }

    #[test]
    fn binds_and_named_volumes_follow_dockers_rules() {
        assert_eq!(
            parse_bind("/tmp:/data:ro").unwrap(),
            Wanted::Bind(BindWanted {
                source: "/tmp".into(),
                target: "/data".into(),
                readonly: true,
                mode: "ro".into(),
                create_source: true,
                propagation: "rprivate".into(),
                non_recursive: false,
            })
        );
        let Wanted::Volume {
            name,
            readonly,
            nocopy,
            ..
        } = parse_bind("vol-1:/data:ro,nocopy").unwrap()
        else {
            panic!("a volume")
        };
        assert_eq!((name.as_str(), readonly, nocopy), ("vol-1", true, true));
        let msg = |spec: &str| parse_bind(spec).unwrap_err().message;
        assert_eq!(msg("a:b:c:d"), "invalid volume specification: 'a:b:c:d'");
        assert_eq!(msg("vol:/x:bogus"), "invalid mode: bogus");
        assert_eq!(msg("vol:/x:ro,rw"), "invalid mode: ro,rw");
        assert!(
            msg("vol:x").contains("mount path must be absolute"),
            "{}",
            msg("vol:x")
        );
        assert!(msg("bad/name:/x").contains("includes invalid characters"));
        assert_eq!(
            msg("/tmp:/x:nocopy"),
            "invalid mount config for type \"bind\": field VolumeOptions must not be specified"
        );
        assert_eq!(
            msg("vol:/"),
            "invalid specification: destination can't be '/'"
        );
        // Propagation is a bind's (dockerd's message for a volume).
        assert_eq!(
            msg("vol:/x:shared"),
            "invalid volume specification: 'vol:/x:shared': invalid mount config for type \"volume\": field BindOptions must not be specified"
        );
        let Ok(Wanted::Bind(BindWanted { propagation, .. })) = parse_bind("/tmp:/x:ro,rslave")
        else {
            panic!("a bind");
        };
        assert_eq!(propagation, "rslave");
    }

    #[test]
    fn mounts_check_types_sources_and_duplicates() {
        let err = |extra: Value| wanted_mounts(&hc(&[], extra), true).unwrap_err();
        let e = err(
            serde_json::json!({"Mounts": [{"Type": "bind", "Source": "/nonexistent-berth", "Target": "/x"}]}),
        );
        assert_eq!(
            e.message,
            "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-berth"
        );
        let e = err(
            serde_json::json!({"Mounts": [{"Type": "volume", "Source": "v1", "Target": "/x", "BindOptions": {"Propagation": "shared"}}]}),
        );
        assert_eq!(
            e.message,
            "invalid mount config for type \"volume\": field BindOptions must not be specified"
        );
        let e = err(serde_json::json!({"Mounts": [{"Type": "nfs", "Target": "/x"}]}));
        assert!(e.message.contains("mount type unknown"));
        let e = wanted_mounts(
            &hc(&["v1:/data"], serde_json::json!({"Tmpfs": {"/data/": ""}})),
            true,
        )
        .unwrap_err();
        assert_eq!(e.message, "Duplicate mount point: /data");
        let ok = wanted_mounts(
            &hc(
                &[],
                serde_json::json!({"Mounts": [{"Type": "volume", "Target": "/anon",
                    "VolumeOptions": {"NoCopy": true, "Labels": {"a": "b"},
                    "DriverConfig": {"Name": "local", "Options": {"type": "tmpfs", "device": "tmpfs"}}}}]}),
            ),
            true,
        )
        .unwrap();
        let Wanted::Volume {
            name,
            nocopy,
            driver,
            options,
            labels,
            ..
        } = &ok[0]
        else {
            panic!("a volume")
        };
        assert_eq!(name, "");
        assert!(nocopy);
        assert_eq!(driver, "local");
        assert_eq!(options.get("type").map(String::as_str), Some("tmpfs"));
        assert_eq!(labels.get("a").map(String::as_str), Some("b"));
        // Listing old records does not look at the host.
        let listed = legacy_mounts(&hc(&["/nonexistent-berth:/data"], Value::Null));
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].point.source, "/nonexistent-berth");
    }

    #[test]
    fn tmpfs_options_and_volumes_from_modes() {
        let tmpfs = serde_json::json!({
            "Mounts": [{"Type": "tmpfs", "Target": "/m/", "TmpfsOptions": {"SizeBytes": 1024, "Mode": 0o1770}}],
            "Tmpfs": {"/t": "size=1m,exec"},
        });
        let (t, listed) = tmpfs_mounts(&hc(&[], tmpfs)).unwrap();
        assert_eq!(t[0].destination, "/m");
        assert_eq!(t[0].options, ["size=1024", "mode=1770"]);
        assert_eq!(t[1].options, ["size=1m", "exec"]);
        assert_eq!(listed.len(), 1);
        assert_eq!(volumes_from_spec("c:ro").unwrap(), ("c", Some(true)));
        assert_eq!(volumes_from_spec("c").unwrap(), ("c", None));
        assert_eq!(
            volumes_from_spec("c:x").unwrap_err().message,
            "invalid mode: x"
        );
    }
}
