//! A container's own mounts: `-v` binds, `--mount`, `--tmpfs`, checked and listed.

use std::collections::HashSet;

use berth_models::{MountPoint, list};
use berth_runtime::{BindMount, TmpfsMount};

use crate::{Error, ErrorKind, Result};

/// One `-v SRC:DST[:OPTS]` (host paths only so far); the bind and its mode string.
pub(super) fn parse_bind(b: &str) -> Result<(BindMount, String)> {
    let parts: Vec<&str> = b.split(':').collect();
    let (src, dst, opts) = match parts.as_slice() {
        [s, d] => (*s, *d, ""),
        [s, d, o] => (*s, *d, *o),
        _ => {
            return Err(Error::invalid(format!(
                "invalid volume specification: '{b}'"
            )));
        }
    };
    if !src.starts_with('/') {
        return Err(Error::new(
            ErrorKind::NotImplemented,
            format!("named volumes are not supported yet: '{b}'"),
        ));
    }
    if !dst.starts_with('/') {
        return Err(Error::invalid(format!(
            "invalid volume specification: '{b}': invalid mount config: destination must be an absolute path"
        )));
    }
    let bind = BindMount {
        source: src.into(),
        destination: dst.into(),
        readonly: opts.split(',').any(|o| o == "ro"),
    };
    Ok((bind, opts.to_string()))
}

/// A container's own mounts (`Binds`, `Mounts` of type bind or tmpfs, `Tmpfs`), as the
/// runtime takes them and as `inspect` and `ps` list them (`Mounts`).
#[derive(Debug, Default)]
pub(crate) struct UserMounts {
    pub binds: Vec<BindMount>,
    pub tmpfs: Vec<TmpfsMount>,
    /// Docker's `Mounts` entries (binds and `--mount`s; `Tmpfs` is not listed there).
    pub listed: Vec<MountPoint>,
}

/// Read and check the mounts of `hc` with Docker's messages; `check_sources`: a bind's
/// source must exist (at create and start; not for listing).
pub(crate) fn user_mounts(
    hc: &berth_models::HostConfig,
    check_sources: bool,
) -> Result<UserMounts> {
    let mut out = UserMounts::default();
    let source_exists = |typ: &str, src: &str| {
        if check_sources && !std::path::Path::new(src).exists() {
            return Err(Error::invalid(format!(
                "invalid mount config for type \"{typ}\": bind source path does not exist: {src}"
            )));
        }
        Ok(())
    };
    for b in list(&hc.binds) {
        let (mut bind, mode) = parse_bind(b)?;
        source_exists("bind", &bind.source.to_string_lossy())?;
        out.listed.push(MountPoint {
            r#type: "bind".into(),
            source: bind.source.to_string_lossy().into_owned(),
            destination: bind.destination.clone(),
            mode,
            rw: !bind.readonly,
            propagation: "rprivate".into(),
            ..Default::default()
        });
        bind.destination = clean_target(&bind.destination);
        out.binds.push(bind);
    }
    for m in hc.mounts.iter().flatten() {
        let typ = m.r#type.as_str();
        let target = m.target.as_str();
        let readonly = m.read_only;
        let bad =
            |why: String| Error::invalid(format!("invalid mount config for type \"{typ}\": {why}"));
        if typ == "volume" {
            return Err(Error::new(
                ErrorKind::NotImplemented,
                "named volumes are not supported yet (--mount type=volume)",
            ));
        }
        if !matches!(typ, "bind" | "tmpfs") {
            return Err(bad("mount type unknown".into()));
        }
        if !target.starts_with('/') {
            return Err(bad(format!(
                "invalid mount path: '{target}' mount path must be absolute"
            )));
        }
        if typ == "bind" {
            let src = m.source.as_str();
            if !src.starts_with('/') {
                return Err(bad(format!(
                    "invalid mount path: '{src}' mount path must be absolute"
                )));
            }
            source_exists("bind", src)?;
            out.binds.push(BindMount {
                source: src.into(),
                destination: clean_target(target),
                readonly,
            });
        } else {
            let mut options = Vec::new();
            let tmpfs = m.tmpfs_options.clone().unwrap_or_default();
            if tmpfs.size_bytes > 0 {
                options.push(format!("size={}", tmpfs.size_bytes));
            }
            if tmpfs.mode > 0 {
                options.push(format!("mode={:o}", tmpfs.mode & 0o7777));
            }
            if readonly {
                options.push("ro".into());
            }
            out.tmpfs.push(TmpfsMount {
                destination: clean_target(target),
                options,
            });
        }
        let propagation = if typ == "bind" { "rprivate" } else { "" };
        out.listed.push(MountPoint {
            r#type: typ.into(),
            source: m.source.clone(),
            destination: target.into(),
            mode: String::new(),
            rw: !readonly,
            propagation: propagation.into(),
            ..Default::default()
        });
    }
    for (target, opts) in hc.tmpfs.iter().flatten() {
        if !target.starts_with('/') {
            return Err(Error::invalid(format!(
                "invalid mount path: '{target}' mount path must be absolute"
            )));
        }
        out.tmpfs.push(TmpfsMount {
            destination: clean_target(target),
            options: opts
                .split(',')
                .filter(|o| !o.is_empty())
                .map(str::to_string)
                .collect(),
        });
    }
    let mut seen = HashSet::new();
    let targets = out.binds.iter().map(|b| &b.destination);
    for t in targets.chain(out.tmpfs.iter().map(|t| &t.destination)) {
        if !seen.insert(t.clone()) {
            return Err(Error::invalid(format!("Duplicate mount point: {t}")));
        }
    }
    Ok(out)
}

/// A mount target without trailing or doubled slashes.
pub(super) fn clean_target(t: &str) -> String {
    let parts: Vec<&str> = t.split('/').filter(|p| !p.is_empty()).collect();
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    pub(super) fn binds_need_absolute_existing_paths() {
        let hc = |binds: &[&str], extra: Value| {
            let mut hc: berth_models::HostConfig = serde_json::from_value(if extra.is_null() {
                serde_json::json!({})
            } else {
                extra
            })
            .expect("host config");
            hc.binds = Some(binds.iter().map(|s| s.to_string()).collect());
            hc
        };
        let m = user_mounts(&hc(&["/tmp:/data:ro"], Value::Null), true).expect("ok");
        assert!(m.binds[0].readonly);
        assert_eq!(m.listed[0].mode, "ro");
        let kind = |binds: &[&str], extra: Value| {
            user_mounts(&hc(binds, extra), true)
                .expect_err("refused")
                .kind
        };
        assert_eq!(kind(&["vol:/data"], Value::Null), ErrorKind::NotImplemented);
        assert_eq!(
            kind(&["/nonexistent-berth:/data"], Value::Null),
            ErrorKind::InvalidArgument
        );
        // Listing does not look at the host.
        let listed = user_mounts(&hc(&["/nonexistent-berth:/data"], Value::Null), false);
        assert_eq!(listed.expect("listed").listed.len(), 1);
        let tmpfs = serde_json::json!({
            "Mounts": [{"Type": "tmpfs", "Target": "/m/", "TmpfsOptions": {"SizeBytes": 1024, "Mode": 0o1770}}],
            "Tmpfs": {"/t": "size=1m,exec"},
        });
        let m = user_mounts(&hc(&[], tmpfs), true).expect("ok");
        assert_eq!(m.tmpfs[0].destination, "/m");
        assert_eq!(m.tmpfs[0].options, ["size=1024", "mode=1770"]);
        assert_eq!(m.tmpfs[1].options, ["size=1m", "exec"]);
        let dup = serde_json::json!({"Tmpfs": {"/data/": ""}});
        assert_eq!(kind(&["/tmp:/data"], dup), ErrorKind::InvalidArgument);
    }
}
