//! Devices of a container: the nodes made in its `/dev` and its device cgroup rules, as
//! Docker gives them (the standard nodes, ptys and tun, `--device`; everything with
//! `--privileged`).

use std::path::PathBuf;

use oci_spec::runtime::{
    LinuxDevice, LinuxDeviceBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType,
};
use serde::{Deserialize, Serialize};

fn invalid(e: impl std::fmt::Display) -> crate::Error {
    crate::Error::Invalid(format!("building runtime spec: {e}"))
}

/// A host device given to the container.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Device {
    pub path_in_container: String,
    /// 'c' or 'b'.
    pub kind: char,
    pub major: i64,
    pub minor: i64,
    pub file_mode: u32,
    /// cgroup permissions, e.g. "rwm".
    pub permissions: String,
}

/// The device cgroup rules Docker gives a container (deny everything else): mknod of
/// anything, and read/write of the standard nodes, ptys and tun.
pub fn cgroup_rules(privileged: bool, devices: &[Device]) -> crate::Result<Vec<LinuxDeviceCgroup>> {
    let rule = |allow: bool,
                typ: Option<LinuxDeviceType>,
                major: Option<i64>,
                minor: Option<i64>,
                access: &str| {
        let mut b = LinuxDeviceCgroupBuilder::default()
            .allow(allow)
            .access(access);
        if let Some(t) = typ {
            b = b.typ(t);
        }
        if let Some(m) = major {
            b = b.major(m);
        }
        if let Some(m) = minor {
            b = b.minor(m);
        }
        b.build().map_err(invalid)
    };
    use LinuxDeviceType::{A, B, C};
    if privileged {
        return Ok(vec![rule(true, Some(A), None, None, "rwm")?]);
    }
    let mut rules = vec![
        rule(false, Some(A), None, None, "rwm")?,
        rule(true, Some(C), None, None, "m")?,
        rule(true, Some(B), None, None, "m")?,
    ];
    for (major, minor) in [
        (1, Some(3)),
        (1, Some(5)),
        (1, Some(7)),
        (1, Some(8)),
        (1, Some(9)),
        (5, Some(0)),
        (5, Some(1)),
        (5, Some(2)),
        (136, None),
        (10, Some(200)),
    ] {
        rules.push(rule(true, Some(C), Some(major), minor, "rwm")?);
    }
    for d in devices {
        let t = if d.kind == 'b' { B } else { C };
        rules.push(rule(
            true,
            Some(t),
            Some(d.major),
            Some(d.minor),
            &d.permissions,
        )?);
    }
    Ok(rules)
}

fn device(path: &str, major: i64, minor: i64) -> crate::Result<LinuxDevice> {
    LinuxDeviceBuilder::default()
        .path(path)
        .typ(LinuxDeviceType::C)
        .major(major)
        .minor(minor)
        .file_mode(0o666u32)
        .uid(0u32)
        .gid(0u32)
        .build()
        .map_err(invalid)
}

/// The device nodes of a container: Docker's standard ones and `devices`.
pub fn nodes(devices: &[Device]) -> crate::Result<Vec<LinuxDevice>> {
    let mut devices_out = vec![
        device("/dev/null", 1, 3)?,
        device("/dev/zero", 1, 5)?,
        device("/dev/full", 1, 7)?,
        device("/dev/random", 1, 8)?,
        device("/dev/urandom", 1, 9)?,
        device("/dev/tty", 5, 0)?,
    ];
    for d in devices {
        devices_out.push(
            LinuxDeviceBuilder::default()
                .path(PathBuf::from(&d.path_in_container))
                .typ(if d.kind == 'b' {
                    LinuxDeviceType::B
                } else {
                    LinuxDeviceType::C
                })
                .major(d.major)
                .minor(d.minor)
                .file_mode(d.file_mode)
                .uid(0u32)
                .gid(0u32)
                .build()
                .map_err(invalid)?,
        );
    }
    Ok(devices_out)
}
