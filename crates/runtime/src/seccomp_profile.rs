//! Docker's seccomp profile format (`--security-opt seccomp=PROFILE.json`: the CLI sends the
//! file's content) turned into the OCI `linux.seccomp` section for one container, as dockerd
//! does: `archMap` entries for this machine, rules kept or dropped by their
//! `includes`/`excludes` (capabilities of the container, architecture, kernel version).

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompBuilder,
    LinuxSeccompFilterFlag, LinuxSyscall, LinuxSyscallBuilder,
};
use serde::Deserialize;

/// A profile as Docker reads it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    default_action: LinuxSeccompAction,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    #[serde(default)]
    architectures: Option<Vec<Arch>>,
    #[serde(default)]
    arch_map: Option<Vec<ArchMap>>,
    #[serde(default)]
    syscalls: Option<Vec<Syscall>>,
    #[serde(default)]
    flags: Option<Vec<LinuxSeccompFilterFlag>>,
    #[serde(default)]
    listener_path: Option<String>,
    #[serde(default)]
    listener_metadata: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMap {
    architecture: Arch,
    #[serde(default)]
    sub_architectures: Option<Vec<Arch>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Syscall {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    names: Option<Vec<String>>,
    action: LinuxSeccompAction,
    #[serde(default)]
    errno_ret: Option<u32>,
    #[serde(default)]
    args: Option<Vec<LinuxSeccompArg>>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    includes: Option<Filter>,
    #[serde(default)]
    excludes: Option<Filter>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    #[serde(default)]
    caps: Option<Vec<String>>,
    #[serde(default)]
    arches: Option<Vec<String>>,
    #[serde(default)]
    min_kernel: Option<String>,
}

fn invalid(e: impl std::fmt::Display) -> crate::Error {
    crate::Error::Invalid(format!("Decoding seccomp profile failed: {e}"))
}

/// This machine in Docker's `includes.arches` terms (Go's GOARCH).
const NATIVE_GOARCH: &str = if cfg!(target_arch = "aarch64") {
    "arm64"
} else {
    "amd64"
};

/// This machine in the profile's `archMap` terms.
fn native_arch() -> Arch {
    if cfg!(target_arch = "aarch64") {
        Arch::ScmpArchAarch64
    } else {
        Arch::ScmpArchX86_64
    }
}

/// "5.10.0-21-amd64" -> (5, 10).
fn parse_kernel(v: &str) -> Option<(u32, u32)> {
    let mut it = v.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

fn host_kernel() -> (u32, u32) {
    nix::sys::utsname::uname()
        .ok()
        .and_then(|u| parse_kernel(&u.release().to_string_lossy()))
        .unwrap_or((0, 0))
}

/// Whether a rule applies to a container holding `caps` on this machine.
fn applies(sc: &Syscall, caps: &[String], kernel: (u32, u32)) -> crate::Result<bool> {
    let min_kernel = |f: &Filter| -> crate::Result<Option<(u32, u32)>> {
        f.min_kernel
            .as_deref()
            .map(|k| parse_kernel(k).ok_or_else(|| invalid(format!("invalid minKernel {k:?}"))))
            .transpose()
    };
    let has = |c: &String| caps.iter().any(|h| h.eq_ignore_ascii_case(c));
    if let Some(inc) = &sc.includes {
        if let Some(arches) = &inc.arches
            && !arches.is_empty()
            && !arches.iter().any(|a| a == NATIVE_GOARCH)
        {
            return Ok(false);
        }
        if !inc.caps.as_deref().unwrap_or(&[]).iter().all(has) {
            return Ok(false);
        }
        if min_kernel(inc)?.is_some_and(|k| kernel < k) {
            return Ok(false);
        }
    }
    if let Some(exc) = &sc.excludes {
        if exc
            .arches
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .any(|a| a == NATIVE_GOARCH)
        {
            return Ok(false);
        }
        if exc.caps.as_deref().unwrap_or(&[]).iter().any(has) {
            return Ok(false);
        }
        if min_kernel(exc)?.is_some_and(|k| kernel >= k) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The OCI seccomp section for a container holding the capabilities `caps` (names like
/// `CAP_SYS_ADMIN`), from a profile in Docker's JSON format. Every error reads like
/// Docker's ("Decoding seccomp profile failed: ...") and is also what the engine answers
/// at create time.
pub fn to_oci(json: &str, caps: &[String]) -> crate::Result<LinuxSeccomp> {
    let p: Profile = serde_json::from_str(json).map_err(invalid)?;
    if p.listener_path.as_deref().is_some_and(|l| !l.is_empty())
        || p.listener_metadata
            .as_deref()
            .is_some_and(|l| !l.is_empty())
    {
        return Err(invalid(
            "listenerPath: seccomp agents (SCMP_ACT_NOTIFY) are not supported",
        ));
    }
    let arch_map = p.arch_map.unwrap_or_default();
    let listed = p.architectures.unwrap_or_default();
    if !arch_map.is_empty() && !listed.is_empty() {
        return Err(invalid(
            "'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'",
        ));
    }
    let mut arches = listed;
    for m in arch_map {
        if m.architecture == native_arch() {
            arches.push(m.architecture);
            arches.extend(m.sub_architectures.unwrap_or_default());
        }
    }
    let kernel = host_kernel();
    let mut syscalls: Vec<LinuxSyscall> = Vec::new();
    for sc in p.syscalls.unwrap_or_default() {
        let names = match (&sc.name, &sc.names) {
            (Some(n), Some(ns)) if !n.is_empty() && !ns.is_empty() => {
                return Err(invalid(
                    "'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'",
                ));
            }
            (Some(n), _) if !n.is_empty() => vec![n.clone()],
            (_, Some(ns)) if !ns.is_empty() => ns.clone(),
            _ => {
                return Err(invalid(format!(
                    "a syscall rule has no names{}",
                    sc.comment
                        .as_deref()
                        .filter(|c| !c.is_empty())
                        .map(|c| format!(" ({c})"))
                        .unwrap_or_default()
                )));
            }
        };
        if !applies(&sc, caps, kernel)? {
            continue;
        }
        let mut b = LinuxSyscallBuilder::default()
            .names(names)
            .action(sc.action);
        if let Some(e) = sc.errno_ret {
            b = b.errno_ret(e);
        }
        if let Some(a) = sc.args.filter(|a| !a.is_empty()) {
            b = b.args(a);
        }
        syscalls.push(b.build().map_err(invalid)?);
    }
    let mut b = LinuxSeccompBuilder::default()
        .default_action(p.default_action)
        .syscalls(syscalls);
    if let Some(e) = p.default_errno_ret {
        b = b.default_errno_ret(e);
    }
    if !arches.is_empty() {
        b = b.architectures(arches);
    }
    if let Some(f) = p.flags.filter(|f| !f.is_empty()) {
        b = b.flags(f);
    }
    let oci = b.build().map_err(invalid)?;
    // Whatever the kernel would refuse is refused now, with the profile's own words.
    crate::linux::seccomp::compile(&oci).map_err(invalid)?;
    Ok(oci)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DENY_MKDIR: &str = r#"{
        "defaultAction": "SCMP_ACT_ALLOW",
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": null, "comment": "", "includes": {}, "excludes": {}},
            {"name": "chown", "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_CHOWN"]}},
            {"names": ["sync"], "action": "SCMP_ACT_ERRNO", "includes": {"arches": ["arm64"]}},
            {"names": ["syncfs"], "action": "SCMP_ACT_ERRNO", "includes": {"minKernel": "2.6"}},
            {"names": ["fsync"], "action": "SCMP_ACT_ERRNO", "includes": {"minKernel": "99.0"}}
        ]
    }"#;

    #[test]
    fn docker_profiles_become_oci_rules_for_this_container() {
        let oci = to_oci(DENY_MKDIR, &["CAP_CHOWN".into()]).unwrap();
        assert_eq!(oci.default_action(), LinuxSeccompAction::ScmpActAllow);
        // This machine's entry of the archMap, and the rules for its architecture only.
        let (arches, names): (&[Arch], &[&str]) = if cfg!(target_arch = "aarch64") {
            (
                &[Arch::ScmpArchAarch64, Arch::ScmpArchArm],
                &["mkdir,mkdirat", "sync", "syncfs"],
            )
        } else {
            (
                &[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32],
                &["mkdir,mkdirat", "syncfs"],
            )
        };
        assert_eq!(oci.architectures().as_deref(), Some(arches));
        let got: Vec<_> = oci
            .syscalls()
            .as_deref()
            .unwrap()
            .iter()
            .map(|s| s.names().join(","))
            .collect();
        assert_eq!(got, names);
        assert_eq!(oci.syscalls().as_deref().unwrap()[0].errno_ret(), Some(1));
        let admin = to_oci(DENY_MKDIR, &["CAP_SYS_ADMIN".into()]).unwrap();
        // chown (kept for CAP_SYS_ADMIN) and chmod (no CAP_CHOWN) join them.
        assert_eq!(admin.syscalls().as_deref().unwrap().len(), names.len() + 2);
        // The OCI section round-trips through config.json.
        let text = serde_json::to_string(&oci).unwrap();
        let back: LinuxSeccomp = serde_json::from_str(&text).unwrap();
        assert_eq!(back, oci);
    }

    #[test]
    fn bad_profiles_are_refused_with_a_reason() {
        let err = |j: &str| to_oci(j, &[]).unwrap_err().to_string();
        assert!(err("{not json").contains("Decoding seccomp profile failed"));
        assert!(err(r#"{"defaultAction":"SCMP_ACT_NOPE"}"#).contains("SCMP_ACT_NOPE"));
        assert!(err(r#"{"syscalls":[]}"#).contains("defaultAction"));
        assert!(
            err(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"action":"SCMP_ACT_ERRNO"}]}"#)
                .contains("no names")
        );
        assert!(
            err(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ERRNO"}]}"#)
                .contains("either 'name' or 'names'")
        );
        assert!(
            err(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_BOGUS"}]}]}"#)
                .contains("SCMP_CMP_BOGUS")
        );
        assert!(
            err(r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}"#)
                .contains("archMap")
        );
        assert!(err(r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#).contains("NOTIFY"));
        assert_eq!(parse_kernel("5.10.0-21-amd64"), Some((5, 10)));
        assert_eq!(parse_kernel("4.8"), Some((4, 8)));
    }
}
