//! A container's `Config` and `HostConfig` (the body of `POST /containers/create` and what
//! `inspect` shows back), shaped as the Engine API defines them and as dockerd serializes
//! them: every field present, Go's zero values where nothing was set (`null` for lists and
//! maps a client did not send, `0`, `""`, `false`), `omitempty` fields left out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::serde_util::{is_false, is_zero, nullable, string_or_vec};

/// Docker's container `Config`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default, deserialize_with = "nullable")]
    pub hostname: String,
    #[serde(default, deserialize_with = "nullable")]
    pub domainname: String,
    #[serde(default, deserialize_with = "nullable")]
    pub user: String,
    #[serde(default, deserialize_with = "nullable")]
    pub attach_stdin: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub attach_stdout: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub attach_stderr: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    #[serde(default, deserialize_with = "nullable")]
    pub tty: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub open_stdin: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub stdin_once: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub env: Vec<String>,
    #[serde(default, deserialize_with = "string_or_vec")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "nullable"
    )]
    pub args_escaped: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub image: String,
    #[serde(default)]
    pub volumes: Option<BTreeMap<String, Value>>,
    #[serde(default, deserialize_with = "nullable")]
    pub working_dir: String,
    #[serde(default, deserialize_with = "string_or_vec")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "nullable"
    )]
    pub network_disabled: bool,
    /// Deprecated in `Config` (API 1.44 moved it to the endpoint settings).
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub mac_address: String,
    #[serde(default)]
    pub on_build: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    /// Fields this version of Berth does not know: kept to show them back, never read.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `RestartPolicy` of a `HostConfig`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct RestartPolicy {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub maximum_retry_count: i64,
}

/// `LogConfig` of a `HostConfig`: the log driver and its options.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct LogConfig {
    #[serde(default, deserialize_with = "nullable")]
    pub r#type: String,
    #[serde(default, deserialize_with = "nullable")]
    pub config: BTreeMap<String, String>,
}

/// The log driver a container gets when it names none (dockerd's default).
pub const DEFAULT_LOG_DRIVER: &str = "json-file";

/// One published port of `PortBindings` / `NetworkSettings.Ports`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct PortBinding {
    #[serde(default, deserialize_with = "nullable")]
    pub host_ip: String,
    #[serde(default, deserialize_with = "nullable")]
    pub host_port: String,
}

/// `"80/tcp"` to the host ports it is published on (`null`: exposed, not published).
pub type PortMap = BTreeMap<String, Option<Vec<PortBinding>>>;

/// `--device`: one host device made available in the container.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceMapping {
    #[serde(default, deserialize_with = "nullable")]
    pub path_on_host: String,
    #[serde(default, deserialize_with = "nullable")]
    pub path_in_container: String,
    #[serde(default, deserialize_with = "nullable")]
    pub cgroup_permissions: String,
}

/// `--gpus` and other device requests.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub driver: String,
    #[serde(default, deserialize_with = "nullable")]
    pub count: i64,
    #[serde(default, rename = "DeviceIDs")]
    pub device_ids: Option<Vec<String>>,
    #[serde(default)]
    pub capabilities: Option<Vec<Vec<String>>>,
    #[serde(default)]
    pub options: Option<BTreeMap<String, String>>,
}

/// `--ulimit NAME=SOFT[:HARD]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Ulimit {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub soft: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub hard: i64,
}

/// `--blkio-weight-device PATH:WEIGHT`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct WeightDevice {
    #[serde(default, deserialize_with = "nullable")]
    pub path: String,
    #[serde(default, deserialize_with = "nullable")]
    pub weight: u16,
}

/// `--device-read-bps PATH:RATE` and the other throttles.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ThrottleDevice {
    #[serde(default, deserialize_with = "nullable")]
    pub path: String,
    #[serde(default, deserialize_with = "nullable")]
    pub rate: u64,
}

/// `--mount`: one mount as the API takes it (`HostConfig.Mounts`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Mount {
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub r#type: String,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub source: String,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub target: String,
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "nullable"
    )]
    pub read_only: bool,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub consistency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_options: Option<BindOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_options: Option<VolumeOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmpfs_options: Option<TmpfsOptions>,
    /// Fields of newer API versions (e.g. `ImageOptions`): kept to show back, never read.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `BindOptions` of a bind [`Mount`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct BindOptions {
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub propagation: String,
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "nullable"
    )]
    pub non_recursive: bool,
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "nullable"
    )]
    pub create_mountpoint: bool,
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "nullable"
    )]
    pub read_only_non_recursive: bool,
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "nullable"
    )]
    pub read_only_force_recursive: bool,
}

/// `VolumeOptions` of a volume [`Mount`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeOptions {
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "nullable"
    )]
    pub no_copy: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_config: Option<DriverConfig>,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub subpath: String,
}

/// A volume driver and its options.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct DriverConfig {
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
}

/// `TmpfsOptions` of a tmpfs [`Mount`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct TmpfsOptions {
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "nullable"
    )]
    pub size_bytes: i64,
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "nullable"
    )]
    pub mode: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<Vec<String>>>,
}

/// The resource limits of a `HostConfig` (Docker's `Resources`, also the body of
/// `POST /containers/{id}/update`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Resources {
    #[serde(default, deserialize_with = "nullable")]
    pub cpu_shares: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub memory: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub nano_cpus: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub cgroup_parent: String,
    #[serde(default, deserialize_with = "nullable")]
    pub blkio_weight: u16,
    #[serde(default)]
    pub blkio_weight_device: Option<Vec<WeightDevice>>,
    #[serde(default)]
    pub blkio_device_read_bps: Option<Vec<ThrottleDevice>>,
    #[serde(default)]
    pub blkio_device_write_bps: Option<Vec<ThrottleDevice>>,
    #[serde(default, rename = "BlkioDeviceReadIOps")]
    pub blkio_device_read_iops: Option<Vec<ThrottleDevice>>,
    #[serde(default, rename = "BlkioDeviceWriteIOps")]
    pub blkio_device_write_iops: Option<Vec<ThrottleDevice>>,
    #[serde(default, deserialize_with = "nullable")]
    pub cpu_period: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub cpu_quota: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub cpu_realtime_period: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub cpu_realtime_runtime: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub cpuset_cpus: String,
    #[serde(default, deserialize_with = "nullable")]
    pub cpuset_mems: String,
    #[serde(default)]
    pub devices: Option<Vec<DeviceMapping>>,
    #[serde(default)]
    pub device_cgroup_rules: Option<Vec<String>>,
    #[serde(default)]
    pub device_requests: Option<Vec<DeviceRequest>>,
    #[serde(default, rename = "KernelMemoryTCP", deserialize_with = "nullable")]
    pub kernel_memory_tcp: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub memory_reservation: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub memory_swap: i64,
    #[serde(default)]
    pub memory_swappiness: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    pub oom_kill_disable: bool,
    #[serde(default)]
    pub pids_limit: Option<i64>,
    #[serde(default)]
    pub ulimits: Option<Vec<Ulimit>>,
    #[serde(default, deserialize_with = "nullable")]
    pub cpu_count: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub cpu_percent: i64,
    #[serde(default, rename = "IOMaximumIOps", deserialize_with = "nullable")]
    pub io_maximum_iops: u64,
    #[serde(default, rename = "IOMaximumBandwidth", deserialize_with = "nullable")]
    pub io_maximum_bandwidth: u64,
}

/// Docker's `HostConfig`, in dockerd's field order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfig {
    #[serde(default)]
    pub binds: Option<Vec<String>>,
    #[serde(default, rename = "ContainerIDFile", deserialize_with = "nullable")]
    pub container_id_file: String,
    #[serde(default, deserialize_with = "nullable")]
    pub log_config: LogConfig,
    #[serde(default, deserialize_with = "nullable")]
    pub network_mode: String,
    #[serde(default)]
    pub port_bindings: Option<PortMap>,
    #[serde(default, deserialize_with = "nullable")]
    pub restart_policy: RestartPolicy,
    #[serde(default, deserialize_with = "nullable")]
    pub auto_remove: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub volume_driver: String,
    #[serde(default)]
    pub volumes_from: Option<Vec<String>>,
    #[serde(default)]
    pub cap_add: Option<Vec<String>>,
    #[serde(default)]
    pub cap_drop: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub cgroupns_mode: String,
    #[serde(default)]
    pub dns: Option<Vec<String>>,
    #[serde(default)]
    pub dns_options: Option<Vec<String>>,
    #[serde(default)]
    pub dns_search: Option<Vec<String>>,
    #[serde(default)]
    pub extra_hosts: Option<Vec<String>>,
    #[serde(default)]
    pub group_add: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub ipc_mode: String,
    #[serde(default, deserialize_with = "nullable")]
    pub cgroup: String,
    #[serde(default)]
    pub links: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub oom_score_adj: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub pid_mode: String,
    #[serde(default, deserialize_with = "nullable")]
    pub privileged: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub publish_all_ports: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub readonly_rootfs: bool,
    #[serde(default)]
    pub security_opt: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_opt: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<BTreeMap<String, String>>,
    #[serde(default, rename = "UTSMode", deserialize_with = "nullable")]
    pub uts_mode: String,
    #[serde(default, deserialize_with = "nullable")]
    pub userns_mode: String,
    #[serde(default, deserialize_with = "nullable")]
    pub shm_size: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysctls: Option<BTreeMap<String, String>>,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub runtime: String,
    /// `[height, width]` of a TTY from the start (API 1.42+).
    #[serde(default, deserialize_with = "nullable")]
    pub console_size: [u32; 2],
    #[serde(default, deserialize_with = "nullable")]
    pub isolation: String,
    #[serde(flatten)]
    pub resources: Resources,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mounts: Option<Vec<Mount>>,
    #[serde(default)]
    pub masked_paths: Option<Vec<String>>,
    #[serde(default)]
    pub readonly_paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    /// Fields this version of Berth does not know: kept to show them back, never read.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A string list that may be missing (Go's nil slice): its items, or none.
pub fn list(v: &Option<Vec<String>>) -> &[String] {
    v.as_deref().unwrap_or_default()
}

/// Body of `POST /containers/{id}/update`: new limits (zero: unchanged) and restart policy.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerUpdate {
    #[serde(flatten)]
    pub resources: Resources,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    /// Fields this version of Berth does not know: refused when set, never read.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Answer of `POST /containers/{id}/update`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateResponse {
    pub warnings: Vec<String>,
}

/// Body of `POST /containers/create`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct CreateRequest {
    #[serde(flatten)]
    pub config: ContainerConfig,
    #[serde(default, deserialize_with = "nullable")]
    pub host_config: HostConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networking_config: Option<crate::network::NetworkingConfig>,
}

/// Answer of `POST /containers/create`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateResponse {
    pub id: String,
    pub warnings: Vec<String>,
}

/// A container's `State` as `inspect` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerState {
    /// created, running, paused, restarting, removing, exited or dead.
    pub status: String,
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub dead: bool,
    pub pid: i64,
    pub exit_code: i64,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
    /// With a health check: its state (`starting`, `healthy`, `unhealthy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
}

/// `State.Health` of a container with a health check.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Health {
    pub status: String,
    pub failing_streak: i64,
    /// The last five probes, oldest first.
    pub log: Vec<HealthLog>,
}

/// One health probe.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct HealthLog {
    pub start: String,
    pub end: String,
    pub exit_code: i64,
    pub output: String,
}

/// The zero time Docker shows for "never".
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl Default for ContainerState {
    fn default() -> Self {
        ContainerState {
            status: "created".into(),
            running: false,
            paused: false,
            restarting: false,
            oom_killed: false,
            dead: false,
            pid: 0,
            exit_code: 0,
            error: String::new(),
            started_at: ZERO_TIME.into(),
            finished_at: ZERO_TIME.into(),
            health: None,
        }
    }
}

/// Answer of `POST /containers/{id}/wait`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct WaitResponse {
    pub status_code: i64,
    pub error: Option<WaitError>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct WaitError {
    pub message: String,
}

/// `GET /containers/{id}/top`: `ps` columns and rows (dockerd's field order).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerTopResponse {
    #[serde(default)]
    pub processes: Option<Vec<Vec<String>>>,
    #[serde(default)]
    pub titles: Option<Vec<String>>,
}

/// How a path changed (`Kind` of a [`FilesystemChange`]).
pub mod change_type {
    /// Changed in the container.
    pub const MODIFIED: u8 = 0;
    /// Added by the container.
    pub const ADDED: u8 = 1;
    /// Deleted by the container.
    pub const DELETED: u8 = 2;
}

/// One entry of `GET /containers/{id}/changes`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct FilesystemChange {
    pub path: String,
    /// One of [`change_type`].
    pub kind: u8,
}

/// Answer of `POST /containers/prune`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerPruneResponse {
    /// `null` when nothing was removed.
    #[serde(default)]
    pub containers_deleted: Option<Vec<String>>,
    #[serde(default)]
    pub space_reclaimed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_request_accepts_docker_cli_body_and_keeps_unknown_fields() {
        let body = r#"{"Hostname":"","User":"","AttachStdout":true,"Tty":false,
            "Env":null,"Cmd":["echo","hello"],"Image":"busybox","Entrypoint":null,
            "Labels":{},"Future":"x","HostConfig":{"Binds":null,"NetworkMode":"default",
            "AutoRemove":true,"CpuShares":5,"PidsLimit":null,"Dns":["1.1.1.1"],
            "Ulimits":[{"Name":"nofile","Soft":10,"Hard":20}],"Mounts":[{"Type":"tmpfs",
            "Target":"/t","TmpfsOptions":{"SizeBytes":100}}],"Newer":{"a":1},
            "LogConfig":{"Type":"","Config":null},"ConsoleSize":null},
            "NetworkingConfig":{"EndpointsConfig":{}}}"#;
        let req: CreateRequest = serde_json::from_str(body).expect("parse");
        assert_eq!(req.config.cmd, Some(vec!["echo".into(), "hello".into()]));
        assert_eq!(req.config.entrypoint, None);
        assert!(req.config.env.is_empty());
        let hc = &req.host_config;
        assert!(hc.auto_remove);
        assert_eq!(hc.network_mode, "default");
        assert_eq!(hc.resources.cpu_shares, 5);
        assert_eq!(list(&hc.dns), ["1.1.1.1"]);
        assert_eq!(hc.resources.ulimits.as_ref().expect("ulimits")[0].hard, 20);
        let mounts = hc.mounts.as_ref().expect("mounts");
        assert_eq!(
            mounts[0].tmpfs_options.as_ref().expect("tmpfs").size_bytes,
            100
        );
        assert!(hc.extra.contains_key("Newer"));
        assert!(!hc.extra.contains_key("CpuShares"));
        assert_eq!(req.config.extra.get("Future"), Some(&Value::from("x")));
        let back = serde_json::to_value(hc).expect("ser");
        assert_eq!(back["CpuShares"], 5);
        assert_eq!(back["Newer"]["a"], 1);
        assert_eq!(back["ConsoleSize"], serde_json::json!([0, 0]));
    }

    #[test]
    fn sparse_host_config_serializes_like_dockerd() {
        let v = serde_json::to_value(HostConfig::default()).expect("ser");
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(|k| k.as_str())
            .collect();
        // dockerd 20.10's order for a container created with `{"Image": "busybox"}`
        // (KernelMemory is gone from the API since 1.42).
        let want = "Binds ContainerIDFile LogConfig NetworkMode PortBindings RestartPolicy \
            AutoRemove VolumeDriver VolumesFrom CapAdd CapDrop CgroupnsMode Dns DnsOptions \
            DnsSearch ExtraHosts GroupAdd IpcMode Cgroup Links OomScoreAdj PidMode Privileged \
            PublishAllPorts ReadonlyRootfs SecurityOpt UTSMode UsernsMode ShmSize ConsoleSize \
            Isolation CpuShares Memory NanoCpus CgroupParent BlkioWeight BlkioWeightDevice \
            BlkioDeviceReadBps BlkioDeviceWriteBps BlkioDeviceReadIOps BlkioDeviceWriteIOps \
            CpuPeriod CpuQuota CpuRealtimePeriod CpuRealtimeRuntime CpusetCpus CpusetMems \
            Devices DeviceCgroupRules DeviceRequests KernelMemoryTCP MemoryReservation \
            MemorySwap MemorySwappiness OomKillDisable PidsLimit Ulimits CpuCount CpuPercent \
            IOMaximumIOps IOMaximumBandwidth MaskedPaths ReadonlyPaths";
        assert_eq!(keys, want.split_whitespace().collect::<Vec<_>>());
        assert_eq!(v["Binds"], Value::Null);
        assert_eq!(
            v["LogConfig"],
            serde_json::json!({"Type": "", "Config": {}})
        );
    }

    #[test]
    fn cmd_as_string_is_one_argument() {
        let c: ContainerConfig = serde_json::from_str(r#"{"Cmd":"date"}"#).expect("parse");
        assert_eq!(c.cmd, Some(vec!["date".to_string()]));
    }
}
