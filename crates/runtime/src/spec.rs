//! What a container is made of, and the bundle written for the shim.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use oci_spec::runtime::{
    BoxBuilder, Capabilities, Capability, LinuxBlockIoBuilder, LinuxBuilder,
    LinuxCapabilitiesBuilder, LinuxCpuBuilder, LinuxMemoryBuilder, LinuxNamespaceBuilder,
    LinuxNamespaceType, LinuxPidsBuilder, LinuxResourcesBuilder, Mount, MountBuilder,
    PosixRlimitBuilder, PosixRlimitType, ProcessBuilder, RootBuilder, Spec, SpecBuilder,
    UserBuilder,
};
use serde::{Deserialize, Serialize};

/// Everything the engine decides about a container that the runtime needs to create it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ContainerSpec {
    /// Full 64-hex container id.
    pub id: String,
    /// argv of the process (entrypoint + cmd, already combined). `args[0]` is looked up in the
    /// container's PATH when it has no `/`.
    pub args: Vec<String>,
    /// `KEY=value` list, image env merged with user env; PATH and HOSTNAME already present.
    pub env: Vec<String>,
    /// Working directory inside the container (created if missing), "/" when empty.
    pub cwd: String,
    /// As in Docker's `User`: "", "name", "uid", "name:group", "uid:gid"; resolved against the
    /// container's /etc/passwd and /etc/group.
    pub user: String,
    pub hostname: String,
    pub tty: bool,
    /// Give the process a stdin pipe (Docker's `OpenStdin`); otherwise stdin is /dev/null.
    pub open_stdin: bool,
    /// Close the process's stdin when the first attached client closes its stdin.
    pub stdin_once: bool,
    /// Unpacked image layers, bottom-most first (overlay lowerdirs). May be empty.
    pub layers: Vec<PathBuf>,
    /// The container's writable layer (overlay upperdir) and overlay workdir.
    pub upper_dir: PathBuf,
    pub work_dir: PathBuf,
    /// Extra bind mounts (e.g. /etc/hosts, /etc/hostname, /etc/resolv.conf, volumes).
    pub binds: Vec<BindMount>,
    /// tmpfs mounts (`--tmpfs`, `--mount type=tmpfs`).
    #[serde(default)]
    pub tmpfs: Vec<TmpfsMount>,
    /// Docker json-file log the shim writes the container's output to.
    pub log_path: PathBuf,
    /// cgroup path below each hierarchy's root, e.g. "/berth/<id>".
    pub cgroup_path: String,
    pub network: NetworkMode,
    /// Memory limit in bytes (0 = none).
    pub memory: i64,
    /// pids limit (0 = none).
    pub pids_limit: i64,
    /// Signal sent by `stop` (the engine uses it; recorded here for the bundle).
    pub stop_signal: i32,
    /// Capabilities added to and dropped from Docker's default set (`ALL` allowed; names
    /// with or without `CAP_`, any case).
    #[serde(default)]
    pub cap_add: Vec<String>,
    #[serde(default)]
    pub cap_drop: Vec<String>,
    /// `--privileged`: every capability, no seccomp filter, no masked or read-only paths.
    #[serde(default)]
    pub privileged: bool,
    /// `--security-opt no-new-privileges`.
    #[serde(default)]
    pub no_new_privileges: bool,
    /// `--security-opt seccomp=unconfined`: no seccomp filter.
    #[serde(default)]
    pub seccomp_unconfined: bool,
    /// `--security-opt seccomp=<profile JSON>`: a custom profile in Docker's format
    /// (the CLI sends the file's content); None for Docker's default.
    #[serde(default)]
    pub seccomp_profile: Option<String>,
    /// The seccomp filter of config.json, compiled by the daemon (once per profile and
    /// capability set, see [`write_bundle`]), so that the shim does not compile it at each
    /// start. Set by `write_bundle`; None: the shim compiles config.json's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp_bpf: Option<crate::linux::seccomp::Packed>,
    /// `--runtime`: the OCI runtime binary that creates the container (runc, crun...);
    /// None for Berth's own.
    #[serde(default)]
    pub runtime: Option<PathBuf>,
    /// `--init`: the host path of the init binary (a static tini, `berthd --init-path`),
    /// bind-mounted read-only at [`INIT_PATH`] and run as PID 1 with the workload as its
    /// child, as Docker does. Only in a pid namespace of the container's own, as Docker.
    #[serde(default)]
    pub init: Option<PathBuf>,
    /// With a TTY: the terminal's size from the start, `[height, width]` (Docker's
    /// `HostConfig.ConsoleSize`), so the first thing the process reads is right.
    #[serde(default)]
    pub console_size: Option<[u16; 2]>,
    /// cgroup limits beyond memory and pids.
    #[serde(default)]
    pub resources: Resources,
    /// `--ulimit`s (the engine keeps them within the host's hard limits).
    #[serde(default)]
    pub ulimits: Vec<Ulimit>,
    /// Size of /dev/shm in bytes (0: Docker's 64 MiB).
    #[serde(default)]
    pub shm_size: i64,
    /// Namespaced sysctls to set, e.g. `net.ipv4.ip_forward` = `1`.
    #[serde(default)]
    pub sysctls: std::collections::BTreeMap<String, String>,
    /// `--group-add`: extra supplementary groups (names or gids).
    #[serde(default)]
    pub group_add: Vec<String>,
    /// `--read-only`: the root filesystem is mounted read-only.
    #[serde(default)]
    pub readonly_rootfs: bool,
    /// `--pid`, `--ipc`, `--uts`: "" for a namespace of its own, "host" for the host's,
    /// or a `/proc/<pid>/ns/<kind>` path to join another container's.
    #[serde(default)]
    pub pid_ns: String,
    #[serde(default)]
    pub ipc_ns: String,
    #[serde(default)]
    pub uts_ns: String,
    /// Another container's network namespace to join (`--network container:NAME`,
    /// `/proc/<pid>/ns/net`); empty: as `network` says.
    #[serde(default)]
    pub net_ns: String,
    /// `--device`s: host device nodes made in the container and allowed by its cgroup.
    #[serde(default)]
    pub devices: Vec<Device>,
    /// Paths masked in the container (`HostConfig.MaskedPaths`); None: Docker's
    /// [`MASKED_PATHS`] (none with `privileged`).
    #[serde(default)]
    pub masked_paths: Option<Vec<String>>,
    /// Paths mounted read-only (`HostConfig.ReadonlyPaths`); None: Docker's
    /// [`READONLY_PATHS`] (none with `privileged`).
    #[serde(default)]
    pub readonly_paths: Option<Vec<String>>,
    /// How the shim logs the container's output (driver and rotation).
    #[serde(default)]
    pub log: crate::jsonlog::LogSpec,
}

pub use crate::devices::Device;

/// cgroup limits as Docker's run flags give them (0 or empty: not set).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default)]
pub struct Resources {
    /// Memory + swap in bytes; -1 unlimited; 0: twice the memory limit (Docker's default).
    pub memory_swap: i64,
    pub memory_reservation: i64,
    pub oom_kill_disable: bool,
    pub cpu_shares: u64,
    /// CFS quota and period in microseconds.
    pub cpu_quota: i64,
    pub cpu_period: u64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    pub blkio_weight: u16,
}

/// One `--ulimit name=soft[:hard]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Ulimit {
    /// `nofile`, `nproc`, `core`, ... (without `RLIMIT_`).
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

/// The rlimit type for a Docker ulimit name.
pub fn rlimit_type(name: &str) -> Option<PosixRlimitType> {
    use PosixRlimitType as T;
    Some(match name {
        "core" => T::RlimitCore,
        "cpu" => T::RlimitCpu,
        "data" => T::RlimitData,
        "fsize" => T::RlimitFsize,
        "locks" => T::RlimitLocks,
        "memlock" => T::RlimitMemlock,
        "msgqueue" => T::RlimitMsgqueue,
        "nice" => T::RlimitNice,
        "nofile" => T::RlimitNofile,
        "nproc" => T::RlimitNproc,
        "rss" => T::RlimitRss,
        "rtprio" => T::RlimitRtprio,
        "rttime" => T::RlimitRttime,
        "sigpending" => T::RlimitSigpending,
        "stack" => T::RlimitStack,
        "as" => T::RlimitAs,
        _ => return None,
    })
}

/// A capability name as Docker accepts it (`net_admin`, `CAP_NET_ADMIN`) in its
/// `CAP_NET_ADMIN` form, checked against the capabilities the kernel knows.
pub fn normalize_capability(name: &str) -> crate::Result<String> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    caps::Capability::from_str(&full)
        .map(|_| full)
        .map_err(|_| crate::Error::Invalid(format!("unknown capability: \"{name}\"")))
}

/// The capability set for `spec`: Docker's default, with `cap_add`/`cap_drop` applied
/// (drop first, so `--cap-drop ALL --cap-add X` leaves X), or all with `privileged`.
pub fn capability_set(spec: &ContainerSpec) -> crate::Result<Vec<String>> {
    let all = || -> Vec<String> {
        let mut v: Vec<String> = caps::all().iter().map(|c| c.to_string()).collect();
        v.sort();
        v
    };
    if spec.privileged {
        return Ok(all());
    }
    let is_all = |n: &str| n.eq_ignore_ascii_case("ALL");
    let mut set: Vec<String> = DEFAULT_CAPS.iter().map(|c| c.to_string()).collect();
    if spec.cap_drop.iter().any(|n| is_all(n)) {
        set.clear();
    }
    for d in spec.cap_drop.iter().filter(|n| !is_all(n)) {
        let d = normalize_capability(d)?;
        set.retain(|c| *c != d);
    }
    if spec.cap_add.iter().any(|n| is_all(n)) {
        return Ok(all());
    }
    for a in &spec.cap_add {
        let a = normalize_capability(a)?;
        if !set.contains(&a) {
            set.push(a);
        }
    }
    Ok(set)
}

/// A bind mount into the container.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BindMount {
    pub source: PathBuf,
    pub destination: String,
    pub readonly: bool,
    /// `private`, `rprivate` (also when empty: Docker's default), `slave`, `rslave`,
    /// `shared` or `rshared`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub propagation: String,
    /// Only the source's own mount, not what is mounted below it (Docker's
    /// `bind-recursive=disabled`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub non_recursive: bool,
}

/// A tmpfs mounted into the container: `nosuid,nodev,noexec` (Docker's defaults) and then
/// the user's options (`size=`, `mode=`, `exec`...), which win.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TmpfsMount {
    pub destination: String,
    pub options: Vec<String>,
}

/// Which network namespace the container gets.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum NetworkMode {
    /// A new network namespace with only loopback, up.
    #[default]
    Loopback,
    /// The host's network namespace.
    Host,
}

/// Docker's default capability set (bounding, effective and permitted).
pub const DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Docker's masked paths.
pub const MASKED_PATHS: [&str; 10] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
];

/// Docker's read-only paths.
pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// The paths a container asked for, else Docker's defaults (none when privileged).
fn paths_or_default(
    given: &Option<Vec<String>>,
    default: &[&str],
    privileged: bool,
) -> Vec<String> {
    match given {
        Some(paths) => paths.clone(),
        None if privileged => Vec::new(),
        None => default.iter().map(|p| p.to_string()).collect(),
    }
}

/// The RLIMIT_NOFILE Docker gives containers; capped at the host's hard limit.
const DOCKER_NOFILE: u64 = 1_048_576;

/// Name of the OCI config in a bundle.
pub const CONFIG_FILE: &str = "config.json";
/// Name of Berth's own part of a bundle (the [`ContainerSpec`]).
pub const BERTH_FILE: &str = "berth.json";
/// Where `--init`'s binary appears in the container, and so PID 1's name (Docker's).
pub const INIT_PATH: &str = "/sbin/docker-init";

/// Write `<dir>/config.json` (OCI runtime spec) and `<dir>/berth.json` for `spec`.
/// `dir` must exist. Files are written to a temp name and renamed.
/// berth.json carries config.json's seccomp filter compiled, from a cache of this process
/// keyed by what the filter is made of (the profile and the capabilities).
pub fn write_bundle(dir: &Path, spec: &ContainerSpec) -> crate::Result<()> {
    let (oci, key) = oci_spec_keyed(spec)?;
    let config = serde_json::to_vec_pretty(&oci)
        .map_err(|e| crate::Error::Invalid(format!("serializing config.json: {e}")))?;
    let seccomp = oci.linux().as_ref().and_then(|l| l.seccomp().as_ref());
    let mut spec = std::borrow::Cow::Borrowed(spec);
    if let (Some(s), Some(key)) = (seccomp, key) {
        spec.to_mut().seccomp_bpf = Some(crate::linux::seccomp::compile_cached(key, s)?);
    }
    let berth = serde_json::to_vec_pretty(&*spec)
        .map_err(|e| crate::Error::Invalid(format!("serializing berth.json: {e}")))?;
    crate::fsutil::write_atomic(&dir.join(CONFIG_FILE), &config, false)?;
    crate::fsutil::write_atomic(&dir.join(BERTH_FILE), &berth, false)?;
    Ok(())
}

/// Read back the two files [`write_bundle`] wrote.
pub fn read_bundle(dir: &Path) -> crate::Result<(Spec, ContainerSpec)> {
    let read = |name: &str| {
        std::fs::read(dir.join(name)).map_err(|e| crate::Error::io(format!("reading {name}"), e))
    };
    let oci: Spec = serde_json::from_slice(&read(CONFIG_FILE)?)
        .map_err(|e| crate::Error::Invalid(format!("parsing {CONFIG_FILE}: {e}")))?;
    let berth: ContainerSpec = serde_json::from_slice(&read(BERTH_FILE)?)
        .map_err(|e| crate::Error::Invalid(format!("parsing {BERTH_FILE}: {e}")))?;
    Ok((oci, berth))
}

fn invalid(e: impl std::fmt::Display) -> crate::Error {
    crate::Error::Invalid(format!("building runtime spec: {e}"))
}

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> crate::Result<Mount> {
    MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source)
        .options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>())
        .build()
        .map_err(invalid)
}

fn host_nofile_hard() -> u64 {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map(|(_, hard)| hard)
        .unwrap_or(DOCKER_NOFILE)
}

/// The OCI runtime spec for `spec`, close to what Docker hands runc.
pub fn oci_spec(spec: &ContainerSpec) -> crate::Result<Spec> {
    Ok(oci_spec_keyed(spec)?.0)
}

/// [`oci_spec`], and what its seccomp filter is made of (the profile, or none for Docker's
/// default, and the capabilities): the same key, the same filter.
fn oci_spec_keyed(spec: &ContainerSpec) -> crate::Result<(Spec, Option<String>)> {
    let cap_names = capability_set(spec)?;
    let key = format!(
        "{}\0{}",
        spec.seccomp_profile.as_deref().unwrap_or(""),
        cap_names.join(",")
    );
    let (seccomp, key) = if spec.privileged || spec.seccomp_unconfined {
        (None, None)
    } else if let Some(profile) = &spec.seccomp_profile {
        let oci = crate::seccomp_profile::to_oci(profile, &cap_names)?;
        (Some(oci), Some(key))
    } else {
        let oci = crate::linux::seccomp::default_profile(&cap_names)?;
        (Some(oci), Some(key))
    };
    let caps: Capabilities = cap_names
        .iter()
        .map(|c| Capability::from_str(c.trim_start_matches("CAP_")).map_err(invalid))
        .collect::<crate::Result<_>>()?;
    let capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .effective(caps.clone())
        .permitted(caps)
        // Explicitly empty: oci-spec's defaults would add AUDIT_WRITE, KILL and
        // NET_BIND_SERVICE here, which non-root users would then keep.
        .inheritable(Capabilities::new())
        .ambient(Capabilities::new())
        .build()
        .map_err(invalid)?;
    let nofile = DOCKER_NOFILE.min(host_nofile_hard());
    let mut rlimits = Vec::new();
    if !spec.ulimits.iter().any(|u| u.name == "nofile") {
        rlimits.push(
            PosixRlimitBuilder::default()
                .typ(PosixRlimitType::RlimitNofile)
                .hard(nofile)
                .soft(nofile)
                .build()
                .map_err(invalid)?,
        );
    }
    for u in &spec.ulimits {
        let typ = rlimit_type(&u.name)
            .ok_or_else(|| crate::Error::Invalid(format!("unknown ulimit {:?}", u.name)))?;
        rlimits.push(
            PosixRlimitBuilder::default()
                .typ(typ)
                .hard(u.hard)
                .soft(u.soft)
                .build()
                .map_err(invalid)?,
        );
    }
    let cwd = if spec.cwd.is_empty() {
        "/"
    } else {
        spec.cwd.as_str()
    };
    let init = spec.init.as_ref().filter(|_| spec.pid_ns.is_empty());
    let args = match init {
        Some(_) => [INIT_PATH, "--"]
            .into_iter()
            .map(String::from)
            .chain(spec.args.iter().cloned())
            .collect(),
        None => spec.args.clone(),
    };
    let mut process = ProcessBuilder::default()
        .terminal(spec.tty)
        .user(
            UserBuilder::default()
                .uid(0u32)
                .gid(0u32)
                .build()
                .map_err(invalid)?,
        )
        .args(args)
        .env(spec.env.clone())
        .cwd(cwd)
        .capabilities(capabilities)
        .no_new_privileges(spec.no_new_privileges)
        .rlimits(rlimits)
        .build()
        .map_err(invalid)?;
    if let Some([height, width]) = spec.console_size.filter(|_| spec.tty) {
        process.set_console_size(Some(
            BoxBuilder::default()
                .height(u64::from(height))
                .width(u64::from(width))
                .build()
                .map_err(invalid)?,
        ));
    }

    let mut mounts = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )?,
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        )?,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["ro", "nosuid", "noexec", "nodev"],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &[
                "nosuid",
                "noexec",
                "nodev",
                "mode=1777",
                &format!(
                    "size={}",
                    if spec.shm_size > 0 {
                        spec.shm_size
                    } else {
                        67_108_864
                    }
                ),
            ],
        )?,
    ];
    // The user's mounts and the init's, parents before what is mounted inside them.
    let mut user: Vec<Mount> = Vec::new();
    if let Some(path) = init {
        user.push(mount(
            INIT_PATH,
            "bind",
            &path.to_string_lossy(),
            &["bind", "ro"],
        )?);
    }
    for b in &spec.binds {
        let source = b.source.to_string_lossy();
        let rw = if b.readonly { "ro" } else { "rw" };
        let propagation = match b.propagation.as_str() {
            "" => "rprivate",
            p @ ("private" | "rprivate" | "slave" | "rslave" | "shared" | "rshared") => p,
            p => {
                return Err(crate::Error::Invalid(format!(
                    "bind propagation {p:?} of {} is not supported",
                    b.destination
                )));
            }
        };
        let bind = if b.non_recursive { "bind" } else { "rbind" };
        user.push(mount(
            &b.destination,
            "bind",
            &source,
            &[bind, rw, propagation],
        )?);
    }
    for t in &spec.tmpfs {
        let mut options = vec!["nosuid", "nodev", "noexec"];
        options.extend(t.options.iter().map(String::as_str));
        user.push(mount(&t.destination, "tmpfs", "tmpfs", &options)?);
    }
    user.sort_by_key(|m| m.destination().components().count());
    mounts.extend(user);

    let mut namespaces = Vec::new();
    for typ in [
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Network,
        LinuxNamespaceType::Cgroup,
    ] {
        if typ == LinuxNamespaceType::Network && spec.network == NetworkMode::Host {
            continue;
        }
        let mode = match typ {
            LinuxNamespaceType::Pid => spec.pid_ns.as_str(),
            LinuxNamespaceType::Ipc => spec.ipc_ns.as_str(),
            LinuxNamespaceType::Uts => spec.uts_ns.as_str(),
            LinuxNamespaceType::Network => spec.net_ns.as_str(),
            _ => "",
        };
        let mut ns = LinuxNamespaceBuilder::default();
        match mode {
            "" => {}
            "host" => continue,
            path => ns = ns.path(PathBuf::from(path)),
        }
        namespaces.push(ns.typ(typ).build().map_err(invalid)?);
    }

    let devices = crate::devices::nodes(&spec.devices)?;

    let mut resources = LinuxResourcesBuilder::default().devices(crate::devices::cgroup_rules(
        spec.privileged,
        &spec.devices,
    )?);
    let r = &spec.resources;
    let mut memory = LinuxMemoryBuilder::default();
    if spec.memory > 0 {
        memory = memory.limit(spec.memory).swap(match r.memory_swap {
            // Docker's default when no swap limit is given: as much swap as memory.
            0 => spec.memory.saturating_mul(2),
            s => s,
        });
    }
    if r.memory_reservation > 0 {
        memory = memory.reservation(r.memory_reservation);
    }
    if r.oom_kill_disable {
        memory = memory.disable_oom_killer(true);
    }
    if spec.memory > 0 || r.memory_reservation > 0 || r.oom_kill_disable {
        resources = resources.memory(memory.build().map_err(invalid)?);
    }
    let mut cpu = LinuxCpuBuilder::default();
    if r.cpu_shares > 0 {
        cpu = cpu.shares(r.cpu_shares);
    }
    if r.cpu_quota > 0 {
        cpu = cpu.quota(r.cpu_quota);
    }
    if r.cpu_period > 0 {
        cpu = cpu.period(r.cpu_period);
    }
    if !r.cpuset_cpus.is_empty() {
        cpu = cpu.cpus(r.cpuset_cpus.clone());
    }
    if !r.cpuset_mems.is_empty() {
        cpu = cpu.mems(r.cpuset_mems.clone());
    }
    if r.cpu_shares > 0
        || r.cpu_quota > 0
        || r.cpu_period > 0
        || !r.cpuset_cpus.is_empty()
        || !r.cpuset_mems.is_empty()
    {
        resources = resources.cpu(cpu.build().map_err(invalid)?);
    }
    if r.blkio_weight > 0 {
        resources = resources.block_io(
            LinuxBlockIoBuilder::default()
                .weight(r.blkio_weight)
                .build()
                .map_err(invalid)?,
        );
    }
    if spec.pids_limit > 0 {
        resources = resources.pids(
            LinuxPidsBuilder::default()
                .limit(spec.pids_limit)
                .build()
                .map_err(invalid)?,
        );
    }
    let mut linux = LinuxBuilder::default();
    if let Some(s) = seccomp {
        linux = linux.seccomp(s);
    }
    // A slave or shared bind needs the container's mounts to stay slaves or peers of the
    // host's (as dockerd asks runc for): its root is then rslave or rshared instead of
    // rprivate.
    let wants = |kinds: [&str; 2]| {
        spec.binds
            .iter()
            .any(|b| kinds.contains(&b.propagation.as_str()))
    };
    if wants(["shared", "rshared"]) {
        linux = linux.rootfs_propagation("rshared");
    } else if wants(["slave", "rslave"]) {
        linux = linux.rootfs_propagation("rslave");
    }
    let linux = linux
        .namespaces(namespaces)
        .cgroups_path(PathBuf::from(&spec.cgroup_path))
        .resources(resources.build().map_err(invalid)?)
        .devices(devices)
        .sysctl(
            spec.sysctls
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<std::collections::HashMap<_, _>>(),
        )
        .masked_paths(paths_or_default(
            &spec.masked_paths,
            &MASKED_PATHS,
            spec.privileged,
        ))
        .readonly_paths(paths_or_default(
            &spec.readonly_paths,
            &READONLY_PATHS,
            spec.privileged,
        ))
        .build()
        .map_err(invalid)?;

    SpecBuilder::default()
        .version("1.0.2-dev")
        .root(
            RootBuilder::default()
                .path("rootfs")
                .readonly(spec.readonly_rootfs)
                .build()
                .map_err(invalid)?,
        )
        .process(process)
        .hostname(spec.hostname.clone())
        .mounts(mounts)
        .linux(linux)
        .build()
        .map_err(invalid)
        .map(|oci| (oci, key))
}

#[cfg(test)]
mod tests;
