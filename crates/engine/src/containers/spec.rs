//! A container's HostConfig translated into what the runtime takes (`ContainerSpec` parts):
//! network and namespace modes, resources, ulimits, sysctls, devices, security options.

use berth_models::list;
use berth_runtime::NetworkMode;

use crate::{Engine, Error, ErrorKind, Result};

pub(super) fn network_mode(mode: &str) -> Result<NetworkMode> {
    match mode {
        // A namespace of its own (loopback up), to which its networks are attached after
        // create.
        "host" => Ok(NetworkMode::Host),
        _ => Ok(NetworkMode::Loopback),
    }
}

/// Runtime settings that Docker keeps in HostConfig fields Berth does not model one by
/// one: resources, ulimits, /dev/shm size, sysctls, extra groups. Checked at create.
#[derive(Debug, Default)]
pub(crate) struct RuntimeOptions {
    pub(crate) resources: berth_runtime::spec::Resources,
    pub(super) ulimits: Vec<berth_runtime::spec::Ulimit>,
    pub(super) shm_size: i64,
    pub(super) sysctls: std::collections::BTreeMap<String, String>,
    pub(super) group_add: Vec<String>,
    pub(super) devices: Vec<berth_runtime::spec::Device>,
}

/// `--device HOST[:CONTAINER[:PERMS]]` entries, looked up on the host.
pub(super) fn devices(hc: &berth_models::HostConfig) -> Result<Vec<berth_runtime::spec::Device>> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut out = Vec::new();
    for d in hc.resources.devices.iter().flatten() {
        let host = d.path_on_host.as_str();
        let inside = Some(d.path_in_container.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or(host);
        let perms = Some(d.cgroup_permissions.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or("rwm");
        if !perms.chars().all(|c| "rwm".contains(c)) || !inside.starts_with('/') {
            return Err(Error::invalid(format!(
                "invalid device mapping {host}:{inside}:{perms}"
            )));
        }
        let bad = |why: String| {
            Error::invalid(format!(
                "error gathering device information while adding custom device {host:?}: {why}"
            ))
        };
        let meta = std::fs::metadata(host).map_err(|e| bad(e.to_string()))?;
        let ft = meta.file_type();
        let kind = if ft.is_char_device() {
            'c'
        } else if ft.is_block_device() {
            'b'
        } else {
            return Err(bad("not a device node".into()));
        };
        let rdev = meta.rdev();
        out.push(berth_runtime::spec::Device {
            path_in_container: inside.to_string(),
            kind,
            major: libc::major(rdev) as i64,
            minor: libc::minor(rdev) as i64,
            file_mode: meta.mode() & 0o777,
            permissions: perms.to_string(),
        });
    }
    Ok(out)
}

/// IPC and network sysctls are per namespace; Docker allows only these.
pub(super) fn namespaced_sysctl(key: &str, host_network: bool) -> bool {
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    IPC.contains(&key)
        || key.starts_with("fs.mqueue.")
        || (!host_network && key.starts_with("net."))
}

/// [`runtime_options`] for `update`.
pub(crate) fn runtime_options_for(hc: &berth_models::HostConfig) -> Result<RuntimeOptions> {
    runtime_options(hc)
}

/// `HostConfig.ConsoleSize`: `[height, width]` of a TTY from the start (API 1.42+); the
/// docker CLI sends zeros when it has no terminal.
pub(super) fn console_size(hc: &berth_models::HostConfig) -> Option<[u16; 2]> {
    let dim = |n: u32| u16::try_from(n).ok().filter(|&n| n > 0);
    Some([dim(hc.console_size[0])?, dim(hc.console_size[1])?])
}

pub(super) fn runtime_options(hc: &berth_models::HostConfig) -> Result<RuntimeOptions> {
    let res = &hc.resources;
    let mut r = berth_runtime::spec::Resources {
        memory_swap: res.memory_swap,
        memory_reservation: res.memory_reservation,
        oom_kill_disable: res.oom_kill_disable,
        cpu_shares: res.cpu_shares.max(0) as u64,
        cpu_quota: res.cpu_quota,
        cpu_period: res.cpu_period.max(0) as u64,
        cpuset_cpus: res.cpuset_cpus.clone(),
        cpuset_mems: res.cpuset_mems.clone(),
        blkio_weight: res.blkio_weight,
    };
    if r.memory_swap > 0 && res.memory > 0 && r.memory_swap < res.memory {
        return Err(Error::invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    let nano = res.nano_cpus;
    if nano != 0 {
        let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get()) as i64;
        if nano < 10_000_000 || nano > ncpu * 1_000_000_000 {
            return Err(Error::invalid(format!(
                "Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
            )));
        }
        if r.cpu_period > 0 {
            return Err(Error::invalid(
                "Conflicting options: Nano CPUs and CPU Period cannot both be set",
            ));
        }
        if r.cpu_quota > 0 {
            return Err(Error::invalid(
                "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
            ));
        }
        r.cpu_period = 100_000;
        r.cpu_quota = nano * 100_000 / 1_000_000_000;
    }
    let mut ulimits = Vec::new();
    for u in res.ulimits.iter().flatten() {
        let (name, soft, hard) = (u.name.clone(), u.soft, u.hard);
        if berth_runtime::spec::rlimit_type(&name).is_none() {
            return Err(Error::invalid(format!("invalid ulimit type: {name}")));
        }
        if soft < 0 || hard < soft {
            return Err(Error::invalid(format!(
                "ulimit {name}: soft limit {soft} must not be above hard limit {hard}"
            )));
        }
        if name == "nofile" {
            let (_, host_hard) =
                nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
                    .map_err(|e| Error::internal(format!("getrlimit: {e}")))?;
            if hard as u64 > host_hard {
                return Err(Error::invalid(format!(
                    "ulimit nofile: hard limit {hard} is above the host's hard limit {host_hard}"
                )));
            }
        }
        ulimits.push(berth_runtime::spec::Ulimit {
            name,
            soft: soft as u64,
            hard: hard as u64,
        });
    }
    let host_network = hc.network_mode == "host";
    let mut sysctls = std::collections::BTreeMap::new();
    for (k, v) in hc.sysctls.iter().flatten() {
        if !namespaced_sysctl(k, host_network) {
            return Err(Error::invalid(format!(
                "sysctl {k:?} is not allowed: only namespaced sysctls (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.*) can be set"
            )));
        }
        sysctls.insert(k.clone(), v.clone());
    }
    Ok(RuntimeOptions {
        devices: devices(hc)?,
        resources: r,
        ulimits,
        shm_size: hc.shm_size.max(0),
        sysctls,
        group_add: list(&hc.group_add).to_vec(),
    })
}

/// `--pid`, `--ipc`, `--uts` as the runtime takes them: "" (own), "host", or the
/// namespace path of the running container named by `container:<name>`.
pub(super) fn namespace_mode(engine: &Engine, mode: &str, key: &str, kind: &str) -> Result<String> {
    match mode {
        "" | "private" | "shareable" => Ok(String::new()),
        "host" => Ok("host".into()),
        m if m.starts_with("container:") => {
            let other = engine.lookup(&m["container:".len()..])?;
            let r = other.record();
            if !r.state.running || r.state.pid <= 0 {
                return Err(Error::conflict(format!(
                    "cannot join {kind} namespace of a non running container: {}",
                    r.id
                )));
            }
            Ok(format!("/proc/{}/ns/{kind}", r.state.pid))
        }
        other => Err(Error::invalid(format!("invalid {key}: {other:?}"))),
    }
}

/// What `--security-opt` asks for.
#[derive(Debug, Default)]
pub(super) struct SecurityOpts {
    pub(super) no_new_privileges: bool,
    pub(super) seccomp_unconfined: bool,
    /// A custom profile (Docker's JSON, as the CLI sends it), checked.
    pub(super) seccomp_profile: Option<String>,
}

pub(super) fn security_opts(opts: &[String]) -> Result<SecurityOpts> {
    let mut out = SecurityOpts::default();
    for o in opts {
        let (k, v) = o
            .split_once(['=', ':'])
            .map_or((o.as_str(), ""), |(k, v)| (k, v));
        match (k, v) {
            ("no-new-privileges", "" | "true") => out.no_new_privileges = true,
            ("no-new-privileges", "false") => out.no_new_privileges = false,
            ("seccomp", "unconfined") => out.seccomp_unconfined = true,
            ("seccomp", "builtin" | "") => {}
            ("seccomp", profile) => {
                // Checked against Docker's default capabilities here; the container's own
                // set decides which rules apply when it starts.
                let caps: Vec<String> = berth_runtime::spec::DEFAULT_CAPS
                    .iter()
                    .map(|c| c.to_string())
                    .collect();
                berth_runtime::seccomp_profile::to_oci(profile, &caps).map_err(|e| match e {
                    berth_runtime::Error::Invalid(m) => Error::invalid(m),
                    e => Error::invalid(e.to_string()),
                })?;
                out.seccomp_profile = Some(profile.to_string());
            }
            // Berth confines with neither AppArmor nor SELinux: asking for none is honest,
            // asking for a profile or a label is not something it can do.
            ("apparmor", "unconfined") | ("label", "disable") => {}
            ("apparmor" | "label", _) => {
                return Err(Error::new(
                    ErrorKind::NotImplemented,
                    format!(
                        "HostConfig.SecurityOpt: {k} (--security-opt {o}) is not supported yet"
                    ),
                ));
            }
            _ => {
                return Err(Error::invalid(format!("Invalid --security-opt: {o:?}")));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn security_opts_take_seccomp_profiles() {
        let o = |v: &[&str]| security_opts(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let d = o(&["seccomp=builtin", "no-new-privileges"]).unwrap();
        assert!(d.no_new_privileges && !d.seccomp_unconfined && d.seccomp_profile.is_none());
        assert!(o(&["seccomp:unconfined"]).unwrap().seccomp_unconfined);
        let json = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#;
        let p = o(&[&format!("seccomp={json}")]).unwrap();
        assert_eq!(p.seccomp_profile.as_deref(), Some(json));
        let e = o(&[r#"seccomp={"defaultAction":"SCMP_ACT_BOOM"}"#]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(
            e.message.starts_with("Decoding seccomp profile failed:"),
            "{}",
            e.message
        );
        assert_eq!(o(&["bogus"]).unwrap_err().kind, ErrorKind::InvalidArgument);
    }
}
