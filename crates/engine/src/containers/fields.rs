//! What Berth does with each field of a container create: the one table of every property
//! of the API's `ContainerConfig`, `HostConfig` (with `Resources`) and `EndpointSettings`
//! (in `NetworkingConfig.EndpointsConfig`), and the check that refuses what Berth does not
//! act on.
//!
//! A field is [`Use::Handled`] (acted on: checked at create, applied at start, shown by
//! `inspect`), [`Use::Metadata`] (kept and shown, with nothing for a daemon to do, and why
//! that is honest), or [`Use::Refused`]: a request that sets it to anything but its empty
//! value (`null`, `false`, `0`, `""`, `[]`, `{}`, or one of the values that mean the
//! default) gets a 501 naming the field and the docker flag, rather than a container that
//! silently lacks it. The docker CLI sends most fields on every create, zeroed
//! (`tests/fixtures/docker-cli-28-create.json`); those pass. Fields the table does not know
//! (from another API version) are refused too when set. A unit test walks the swagger's
//! properties and fails on any the table does not classify.

use berth_models::{ContainerUpdate, CreateRequest, EndpointSettings};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{Error, ErrorKind, Result};

/// What Berth does with one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// Acted on; where and how (values Berth cannot act on are refused there).
    Handled(&'static str),
    /// Kept in the record and shown by `inspect`; why there is nothing to act on.
    Metadata(&'static str),
    /// Not supported yet: refused when set to anything but its empty value or one of
    /// `default` (values that mean what Berth does anyway).
    Refused {
        what: &'static str,
        flag: &'static str,
        default: &'static [&'static str],
    },
}

use Use::{Handled, Metadata};

const fn refused(what: &'static str, flag: &'static str) -> Use {
    Use::Refused {
        what,
        flag,
        default: &[],
    }
}

/// The streams a client means to attach: it attaches them itself (`run`, `start -a` read them
/// back); each attach request says which streams it wants, and that the daemon acts on.
const ATTACH: Use = Metadata("the streams the client attaches; each attach request names its own");

const OUTPUT: Use = refused(
    "an endpoint's address (set by the daemon, not by a request)",
    "",
);

/// `ContainerConfig` (the request's top level).
pub(crate) const CONFIG: &[(&str, Use)] = &[
    (
        "Hostname",
        Handled("/etc/hostname, /etc/hosts, the UTS namespace"),
    ),
    ("Domainname", refused("a domain name", "--domainname")),
    ("User", Handled("the process's user and groups")),
    ("AttachStdin", ATTACH),
    ("AttachStdout", ATTACH),
    ("AttachStderr", ATTACH),
    (
        "ExposedPorts",
        Handled("ports published with -P (PublishAllPorts); shown in inspect and ps"),
    ),
    ("Tty", Handled("a pty for the process")),
    ("OpenStdin", Handled("stdin kept open")),
    ("StdinOnce", Handled("stdin closed after the first attach")),
    ("Env", Handled("merged over the image's")),
    ("Cmd", Handled("the process")),
    (
        "Healthcheck",
        Handled("health checks (engine/src/health.rs)"),
    ),
    (
        "ArgsEscaped",
        Metadata("Windows only: how Cmd was escaped; Linux runs the argv as given"),
    ),
    ("Image", Handled("the root filesystem")),
    (
        "Volumes",
        Handled(
            "anonymous volumes (-v /path, an image's VOLUME) where no bind, volume or tmpfs is mounted",
        ),
    ),
    ("WorkingDir", Handled("the process's working directory")),
    ("Entrypoint", Handled("the process")),
    (
        "NetworkDisabled",
        Handled("no network: a namespace with loopback only, as --network none"),
    ),
    (
        "MacAddress",
        Handled("the MAC address of the container's interface on its network"),
    ),
    (
        "OnBuild",
        Metadata("instructions for a later build on an image committed from the container"),
    ),
    ("Labels", Handled("filters, events, inspect")),
    ("StopSignal", Handled("stop")),
    ("StopTimeout", Handled("stop")),
    (
        "Shell",
        Metadata("the shell of RUN instructions of a later build; nothing runs with it here"),
    ),
];

/// `HostConfig`, its own properties and those of `Resources` (one object on the wire).
pub(crate) const HOST_CONFIG: &[(&str, Use)] = &[
    (
        "Binds",
        Handled(
            "binds of host paths (missing directories made) and named volumes, with ro/rw/nocopy (z/Z: no SELinux here; other propagation refused)",
        ),
    ),
    (
        "ContainerIDFile",
        Metadata(
            "the client writes the file (docker run --cidfile); the daemon only shows the name",
        ),
    ),
    (
        "LogConfig",
        Handled("log driver and options (drivers Berth lacks refused)"),
    ),
    (
        "NetworkMode",
        Handled(
            "default/bridge (the default bridge; loopback only with berthd --bridge none), a user network, none, host, container:NAME",
        ),
    ),
    (
        "PortBindings",
        Handled("published ports: DNAT in Berth's nftables table, host ports reserved"),
    ),
    ("RestartPolicy", Handled("restart policies")),
    ("AutoRemove", Handled("--rm")),
    (
        "VolumeDriver",
        Handled("the driver of volumes the container creates (local; others: plugin not found)"),
    ),
    (
        "VolumesFrom",
        Handled("the binds and volumes of other containers, ro/rw"),
    ),
    (
        "Mounts",
        Handled(
            "bind, volume and tmpfs mounts (propagation other than rprivate, subpaths refused)",
        ),
    ),
    ("ConsoleSize", Handled("the pty's first size")),
    ("Annotations", refused("OCI annotations", "--annotation")),
    ("CapAdd", Handled("capabilities")),
    ("CapDrop", Handled("capabilities")),
    ("CgroupnsMode", Handled("private only; host refused")),
    ("Dns", Handled("/etc/resolv.conf")),
    ("DnsOptions", Handled("/etc/resolv.conf")),
    ("DnsSearch", Handled("/etc/resolv.conf")),
    (
        "ExtraHosts",
        Handled("/etc/hosts (host-gateway: the default bridge's gateway)"),
    ),
    ("GroupAdd", Handled("supplementary groups")),
    (
        "IpcMode",
        Handled("IPC namespace: private, shareable, host, container:"),
    ),
    ("Cgroup", refused("the cgroup of another container", "")),
    (
        "Links",
        Handled("legacy links: /etc/hosts entries, and on the default bridge Docker's variables"),
    ),
    (
        "OomScoreAdj",
        refused("the OOM score adjustment", "--oom-score-adj"),
    ),
    (
        "PidMode",
        Handled("PID namespace: private, host, container:"),
    ),
    ("Privileged", Handled("--privileged")),
    (
        "PublishAllPorts",
        Handled("every exposed port published on a free host port"),
    ),
    ("ReadonlyRootfs", Handled("a read-only root")),
    (
        "SecurityOpt",
        Handled(
            "no-new-privileges, seccomp; apparmor=unconfined and label=disable are what Berth does anyway, other apparmor/label values refused",
        ),
    ),
    (
        "StorageOpt",
        refused("storage driver options", "--storage-opt"),
    ),
    ("Tmpfs", Handled("tmpfs mounts")),
    ("UTSMode", Handled("UTS namespace: private, host")),
    Use::refused_default(
        "UsernsMode",
        "user namespaces",
        "--userns",
        // Berth runs containers in the host's user namespace: what "host" asks for.
        &["host"],
    ),
    ("ShmSize", Handled("/dev/shm's size")),
    ("Sysctls", Handled("namespaced sysctls (others refused)")),
    ("Runtime", Handled("configured OCI runtimes")),
    (
        "Isolation",
        Handled("Linux has only \"default\": other values refused with dockerd's 400"),
    ),
    ("MaskedPaths", Handled("paths masked in the container")),
    ("ReadonlyPaths", Handled("paths read-only in the container")),
    // Resources.
    ("CpuShares", Handled("cgroup cpu.shares")),
    ("Memory", Handled("cgroup memory limit")),
    (
        "CgroupParent",
        refused("a cgroup parent per container", "--cgroup-parent"),
    ),
    ("BlkioWeight", Handled("cgroup blkio weight")),
    (
        "BlkioWeightDevice",
        refused("per-device block IO weights", "--blkio-weight-device"),
    ),
    (
        "BlkioDeviceReadBps",
        refused("block IO throttling", "--device-read-bps"),
    ),
    (
        "BlkioDeviceWriteBps",
        refused("block IO throttling", "--device-write-bps"),
    ),
    (
        "BlkioDeviceReadIOps",
        refused("block IO throttling", "--device-read-iops"),
    ),
    (
        "BlkioDeviceWriteIOps",
        refused("block IO throttling", "--device-write-iops"),
    ),
    ("CpuPeriod", Handled("cgroup CFS period")),
    ("CpuQuota", Handled("cgroup CFS quota")),
    (
        "CpuRealtimePeriod",
        refused("realtime CPU scheduling", "--cpu-rt-period"),
    ),
    (
        "CpuRealtimeRuntime",
        refused("realtime CPU scheduling", "--cpu-rt-runtime"),
    ),
    ("CpusetCpus", Handled("cgroup cpuset")),
    ("CpusetMems", Handled("cgroup cpuset")),
    ("Devices", Handled("device nodes and the device cgroup")),
    (
        "DeviceCgroupRules",
        refused("device cgroup rules", "--device-cgroup-rule"),
    ),
    (
        "DeviceRequests",
        refused("device requests (GPUs)", "--gpus"),
    ),
    (
        "KernelMemoryTCP",
        refused("a kernel TCP memory limit", "--kernel-memory-tcp"),
    ),
    ("MemoryReservation", Handled("cgroup memory soft limit")),
    ("MemorySwap", Handled("cgroup memory+swap limit")),
    // dockerd's -1 (the docker CLI's default) is "none": normalized before the check.
    (
        "MemorySwappiness",
        refused("memory swappiness", "--memory-swappiness"),
    ),
    ("NanoCpus", Handled("cgroup CFS quota (--cpus)")),
    ("OomKillDisable", Handled("cgroup OOM killer")),
    ("Init", Handled("an init process (--init)")),
    ("PidsLimit", Handled("cgroup pids limit")),
    ("Ulimits", Handled("rlimits")),
    ("CpuCount", refused("CPU counts (Windows)", "--cpu-count")),
    (
        "CpuPercent",
        refused("CPU percentages (Windows)", "--cpu-percent"),
    ),
    (
        "IOMaximumIOps",
        Handled("Windows only: refused with dockerd's 400 on Linux"),
    ),
    (
        "IOMaximumBandwidth",
        Handled("Windows only: refused with dockerd's 400 on Linux"),
    ),
];

/// `EndpointSettings` of each `NetworkingConfig.EndpointsConfig` entry (and of `network
/// connect`).
pub(crate) const ENDPOINT: &[(&str, Use)] = &[
    (
        "IPAMConfig",
        Handled("--ip/--ip6 on user networks, --link-local-ip on any"),
    ),
    (
        "Links",
        Handled(
            "as --link, from the next start: legacy links on the default bridge, names the embedded DNS answers for this container on user networks (refused when connecting a running container)",
        ),
    ),
    (
        "MacAddress",
        Handled("the MAC address of the container's interface on its network"),
    ),
    (
        "Aliases",
        Handled("names in the embedded DNS of user networks"),
    ),
    (
        "DriverOpts",
        refused("network driver options", "--driver-opt"),
    ),
    ("GwPriority", refused("gateway priorities", "--gw-priority")),
    ("NetworkID", OUTPUT),
    ("EndpointID", OUTPUT),
    ("Gateway", OUTPUT),
    ("IPAddress", OUTPUT),
    ("IPPrefixLen", OUTPUT),
    ("IPv6Gateway", OUTPUT),
    ("GlobalIPv6Address", OUTPUT),
    ("GlobalIPv6PrefixLen", OUTPUT),
    ("DNSNames", OUTPUT),
];

impl Use {
    /// A refused field whose `default` values mean what Berth does anyway.
    const fn refused_default(
        name: &'static str,
        what: &'static str,
        flag: &'static str,
        default: &'static [&'static str],
    ) -> (&'static str, Use) {
        (
            name,
            Use::Refused {
                what,
                flag,
                default,
            },
        )
    }
}

/// `POST /containers/{id}/update` (`UpdateConfig`: the `Resources` and the
/// restart policy): what `docker update` changes on an existing container. A field of
/// `Resources` not listed here is refused as [`HOST_CONFIG`] refuses it at create.
pub(crate) const UPDATE: &[(&str, Use)] = &[
    (
        "RestartPolicy",
        Handled("the record (checked as at create)"),
    ),
    (
        "Memory",
        Handled("the record and a running container's cgroup"),
    ),
    (
        "MemorySwap",
        Handled("the record and a running container's cgroup"),
    ),
    (
        "MemoryReservation",
        Handled("the record and a running container's cgroup"),
    ),
    (
        "CpuShares",
        Handled("the record and a running container's cgroup"),
    ),
    (
        "CpuQuota",
        Handled("the record and a running container's cgroup"),
    ),
    (
        "CpuPeriod",
        Handled("the record and a running container's cgroup"),
    ),
    (
        "NanoCpus",
        Handled("the record and a running container's cgroup"),
    ),
    (
        "CpusetCpus",
        Handled("the record and a running container's cgroup"),
    ),
    (
        "CpusetMems",
        Handled("the record and a running container's cgroup"),
    ),
    (
        "BlkioWeight",
        Handled("the record and a running container's cgroup"),
    ),
    (
        "OomKillDisable",
        Handled("the record and a running container's cgroup"),
    ),
    (
        "PidsLimit",
        Handled(
            "the record and a running container's cgroup (removing it while it runs is refused)",
        ),
    ),
    (
        "Devices",
        refused("changing the devices of an existing container", "--device"),
    ),
    (
        "Ulimits",
        refused("changing the rlimits of an existing container", "--ulimit"),
    ),
    (
        "Init",
        refused(
            "changing the init process of an existing container",
            "--init",
        ),
    ),
    (
        "IOMaximumIOps",
        refused("IO limits (Windows)", "--io-maxiops"),
    ),
    (
        "IOMaximumBandwidth",
        refused("IO limits (Windows)", "--io-maxbandwidth"),
    ),
];

/// How an update treats `name`: [`UPDATE`]'s entry, else [`HOST_CONFIG`]'s refusal.
fn update_use(name: &str) -> Option<Use> {
    let find = |table: &[(&str, Use)]| table.iter().find(|(n, _)| *n == name).map(|(_, u)| *u);
    find(UPDATE).or_else(|| find(HOST_CONFIG).filter(|u| matches!(u, Use::Refused { .. })))
}

/// Whether a JSON value is its type's empty value (Go's zero, a nil or empty list or map).
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

fn as_map<T: Serialize>(v: &T) -> Result<Map<String, Value>> {
    match serde_json::to_value(v) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Error::internal("a request section is not an object")),
        Err(e) => Err(Error::internal(format!("serializing a request: {e}"))),
    }
}

/// Refuse what `table` says is refused and the section sets, and what it does not know.
fn check_section(section: &str, table: &[(&str, Use)], fields: &Map<String, Value>) -> Result<()> {
    check_fields(
        section,
        |name| table.iter().find(|(n, _)| *n == name).map(|(_, u)| *u),
        fields,
    )
}

/// Refuse what `lookup` says is refused and `fields` sets, and what it does not know.
fn check_fields(
    section: &str,
    lookup: impl Fn(&str) -> Option<Use>,
    fields: &Map<String, Value>,
) -> Result<()> {
    for (name, value) in fields {
        if is_empty(value) {
            continue;
        }
        match lookup(name) {
            Some(Use::Handled(_) | Use::Metadata(_)) => {}
            Some(Use::Refused {
                what,
                flag,
                default,
            }) => {
                if value.as_str().is_some_and(|s| default.contains(&s)) {
                    continue;
                }
                let flag = if flag.is_empty() {
                    String::new()
                } else {
                    format!(" ({flag})")
                };
                return Err(Error::new(
                    ErrorKind::NotImplemented,
                    format!("{section}.{name}: {what}{flag} is not supported yet"),
                ));
            }
            None => {
                return Err(Error::invalid(format!(
                    "{section}.{name} is not a field of this API version: Berth does not act on it"
                )));
            }
        }
    }
    Ok(())
}

/// The names of the networks an endpoint of `network_mode` may be given under: the
/// docker CLI keys it by the mode (`default`), other clients by the network's name.
fn endpoint_names(network_mode: &str) -> &'static [&'static str] {
    match network_mode {
        "host" => &["host"],
        "none" => &["none"],
        _ => &[],
    }
}

/// Check a create request against the tables: 501 for a field Berth does not act on (set
/// to something else than its empty value), 400 for one it does not know or a bad value.
pub(crate) fn check_create(req: &CreateRequest) -> Result<()> {
    let hc = &req.host_config;
    check_section("Config", CONFIG, &as_map(&req.config)?)?;
    check_section("HostConfig", HOST_CONFIG, &as_map(hc)?)?;
    if !matches!(hc.isolation.as_str(), "" | "default") {
        return Err(Error::invalid(format!(
            "Invalid isolation: {:?} - linux only supports 'default'",
            hc.isolation
        )));
    }
    let endpoints = req
        .networking_config
        .as_ref()
        .and_then(|n| n.endpoints_config.as_ref());
    for (network, endpoint) in endpoints.into_iter().flatten() {
        let own_network = crate::networks::is_network_name(&hc.network_mode);
        if !own_network && !endpoint_names(&hc.network_mode).contains(&network.as_str()) {
            return Err(Error::new(
                ErrorKind::NotImplemented,
                format!(
                    "NetworkingConfig.EndpointsConfig: an endpoint on network {network:?} (--network) is not supported yet"
                ),
            ));
        }
        check_endpoint(endpoint)?;
    }
    Ok(())
}

pub(crate) fn check_endpoint(endpoint: &EndpointSettings) -> Result<()> {
    check_section("EndpointSettings", ENDPOINT, &as_map(endpoint)?)
}

/// Check an update against [`UPDATE`]: 501 for a field Berth does not change on an
/// existing container, 400 for one it does not know.
pub(crate) fn check_update(req: &ContainerUpdate) -> Result<()> {
    check_fields("UpdateConfig", update_use, &as_map(req)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Engine API description the daemon serves (beside the repository, as the test
    /// images are: see README.md).
    const SWAGGER: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/api/engine-api-v1.50.yaml"
    );

    /// The top-level property names of a definition of the swagger, and the definitions it
    /// takes in with `allOf`. The description's layout is regular (two spaces per level,
    /// one key per line), so its indentation is enough; a YAML parser would be a
    /// dependency for this one test.
    fn properties(doc: &str, definition: &str) -> (Vec<String>, Vec<String>) {
        let head = format!("  {definition}:");
        let mut lines = doc.lines().skip_while(|l| *l != head);
        assert!(lines.next().is_some(), "no definition {definition}");
        let indent = |l: &str| l.len() - l.trim_start().len();
        let (mut props, mut refs) = (Vec::new(), Vec::new());
        let mut at: Option<usize> = None;
        for line in lines.take_while(|l| l.trim().is_empty() || indent(l) > 2) {
            let t = line.trim();
            if t.is_empty() {
                continue;
            }
            if let Some(r) = t.strip_prefix("- $ref: \"#/definitions/") {
                refs.push(r.trim_end_matches('"').to_string());
            }
            match at {
                None if t == "properties:" => at = Some(indent(line) + 2),
                Some(i) if indent(line) < i => at = None,
                Some(i) if indent(line) == i => {
                    if let Some(name) = t.strip_suffix(':') {
                        props.push(name.to_string());
                    }
                }
                _ => {}
            }
        }
        (props, refs)
    }

    fn all_properties(doc: &str, definition: &str) -> Vec<String> {
        let (mut props, refs) = properties(doc, definition);
        for r in refs {
            props.extend(all_properties(doc, &r));
        }
        props
    }

    #[test]
    fn every_property_of_the_swagger_is_classified() {
        let doc = std::fs::read_to_string(SWAGGER).expect("the Engine API description");
        let mut missing = Vec::new();
        for (definition, table) in [
            ("ContainerConfig", CONFIG),
            ("HostConfig", HOST_CONFIG),
            ("EndpointSettings", ENDPOINT),
        ] {
            let props = all_properties(&doc, definition);
            assert!(props.len() > 10, "{definition}: {props:?}");
            for p in &props {
                if !table.iter().any(|(n, _)| n == p) {
                    missing.push(format!("{definition}.{p}"));
                }
            }
            for (n, _) in table {
                assert!(
                    props.iter().any(|p| p == n),
                    "{definition}.{n} is not in the swagger"
                );
            }
        }
        // NetworkingConfig has one property, the map of EndpointSettings checked above.
        assert_eq!(
            all_properties(&doc, "NetworkingConfig"),
            ["EndpointsConfig"]
        );
        assert!(missing.is_empty(), "not in the field table: {missing:?}");
    }

    #[test]
    fn every_property_of_an_update_is_classified() {
        let doc = std::fs::read_to_string(SWAGGER).expect("the Engine API description");
        // The body of `POST /containers/{id}/update`: `Resources` and `RestartPolicy`.
        let mut props = all_properties(&doc, "Resources");
        assert!(props.len() > 20, "{props:?}");
        props.push("RestartPolicy".into());
        let missing: Vec<_> = props.iter().filter(|p| update_use(p).is_none()).collect();
        assert!(
            missing.is_empty(),
            "not classified for updates: {missing:?}"
        );
        for (n, _) in UPDATE {
            assert!(props.iter().any(|p| p == n), "{n} is not in the swagger");
        }
    }

    fn update(body: &str) -> Result<()> {
        check_update(&serde_json::from_str(body).expect("an update request"))
    }

    #[test]
    fn updates_refuse_what_they_do_not_change() {
        // The docker CLI 28's `docker update --memory 64m --restart always`: zeroed fields pass.
        let cli = r#"{"BlkioWeight":0,"CpuShares":0,"Memory":67108864,"NanoCpus":0,"CgroupParent":"","BlkioWeightDevice":null,"BlkioDeviceReadBps":null,"BlkioDeviceWriteBps":null,"BlkioDeviceReadIOps":null,"BlkioDeviceWriteIOps":null,"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":null,"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":null,"OomKillDisable":null,"PidsLimit":null,"Ulimits":null,"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"RestartPolicy":{"Name":"always","MaximumRetryCount":0}}"#;
        update(cli).expect("the docker CLI's update");
        let err = update(r#"{"CpuRealtimePeriod":1000}"#).expect_err("refused");
        assert_eq!(err.kind, ErrorKind::NotImplemented);
        assert_eq!(
            err.message,
            "UpdateConfig.CpuRealtimePeriod: realtime CPU scheduling (--cpu-rt-period) is not supported yet"
        );
        let err =
            update(r#"{"Ulimits":[{"Name":"nofile","Soft":1,"Hard":2}]}"#).expect_err("refused");
        assert!(err.message.contains("--ulimit"), "{}", err.message);
        let err = update(r#"{"KernelMemory":1}"#).expect_err("unknown");
        assert_eq!(err.kind, ErrorKind::InvalidArgument);
        assert_eq!(
            err.message,
            "UpdateConfig.KernelMemory is not a field of this API version: Berth does not act on it"
        );
    }

    fn create(body: &str) -> CreateRequest {
        serde_json::from_str(body).expect("a create request")
    }

    #[test]
    fn the_docker_clis_default_create_passes() {
        let body = include_str!("../../../../tests/fixtures/docker-cli-28-create.json");
        let mut req = create(body);
        super::super::limits::normalize_resources(&mut req.host_config.resources);
        check_create(&req).expect("the docker CLI's defaults");
    }

    #[test]
    fn refused_fields_name_the_field_and_the_flag() {
        let cases = [
            (
                r#"{"Image":"b","HostConfig":{"UsernsMode":"private"}}"#,
                "HostConfig.UsernsMode: user namespaces (--userns) is not supported yet",
            ),
            (
                r#"{"Image":"b","HostConfig":{"NetworkMode":"host"},"NetworkingConfig":{"EndpointsConfig":{"other":{}}}}"#,
                "an endpoint on network \"other\"",
            ),
        ];
        for (body, message) in cases {
            let err = check_create(&create(body)).expect_err(body);
            assert_eq!(err.kind, ErrorKind::NotImplemented, "{body}");
            assert!(err.to_string().contains(message), "{body}: {err}");
        }
        let err = check_create(&create(r#"{"Image":"b","HostConfig":{"KernelMemory":1}}"#))
            .expect_err("unknown");
        assert_eq!(err.kind, ErrorKind::InvalidArgument);
    }

    #[test]
    fn defaults_and_covered_volumes_pass() {
        for body in [
            r#"{"Image":"b","HostConfig":{"UsernsMode":"host","Isolation":"default"}}"#,
            r#"{"Image":"b","Volumes":{"/data":{},"/t/":{}},"HostConfig":{"Binds":["/tmp:/data:ro"],"Tmpfs":{"/t":""}}}"#,
            r#"{"Image":"b","Volumes":{"/anon":{}},"HostConfig":{"VolumesFrom":["c:ro"],"VolumeDriver":"local"}}"#,
            r#"{"Image":"b","HostConfig":{"NetworkMode":"host"},"NetworkingConfig":{"EndpointsConfig":{"host":{}}}}"#,
        ] {
            check_create(&create(body)).expect(body);
        }
    }
}
