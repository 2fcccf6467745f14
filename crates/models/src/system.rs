//! The daemon: `GET /info` ([`SystemInfo`]), `GET /version` ([`SystemVersion`]),
//! `GET /system/df` ([`DiskUsage`]) and `GET /events` ([`EventMessage`]). Registry
//! credentials (`POST /auth`) are in [`crate::distribution`].
//!
//! Version-dependent fields are `Option`s left out when `None`; [`crate::compat`] sets
//! them per API version (e.g. `InitCommit.Expected` below 1.49, `BridgeNfIptables` below
//! 1.50, `KernelMemory` below 1.42, `BuilderSize` below 1.42).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::build::BuildCache;
use crate::image::ImageSummary;
use crate::inspect::ContainerSummary;
use crate::serde_util::{is_false, nullable};
use crate::volume::Volume;

/// `GET /info`, in dockerd's field order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct SystemInfo {
    #[serde(rename = "ID")]
    pub id: String,
    pub containers: i64,
    pub containers_running: i64,
    pub containers_paused: i64,
    pub containers_stopped: i64,
    pub images: i64,
    pub driver: String,
    #[serde(default, deserialize_with = "nullable")]
    pub driver_status: Vec<[String; 2]>,
    /// Only from the (gone) Swarm standalone API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_status: Option<Vec<[String; 2]>>,
    pub plugins: PluginsInfo,
    pub memory_limit: bool,
    pub swap_limit: bool,
    /// Below API 1.42.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_memory: Option<bool>,
    /// Left out from API 1.42 when false.
    #[serde(
        default,
        rename = "KernelMemoryTCP",
        skip_serializing_if = "Option::is_none"
    )]
    pub kernel_memory_tcp: Option<bool>,
    pub cpu_cfs_period: bool,
    pub cpu_cfs_quota: bool,
    #[serde(rename = "CPUShares")]
    pub cpu_shares: bool,
    #[serde(rename = "CPUSet")]
    pub cpu_set: bool,
    pub pids_limit: bool,
    #[serde(rename = "IPv4Forwarding")]
    pub ipv4_forwarding: bool,
    /// Below API 1.50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge_nf_iptables: Option<bool>,
    /// Below API 1.50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge_nf_ip6tables: Option<bool>,
    pub debug: bool,
    #[serde(rename = "NFd")]
    pub n_fd: i64,
    pub oom_kill_disable: bool,
    #[serde(rename = "NGoroutines")]
    pub n_goroutines: i64,
    pub system_time: String,
    pub logging_driver: String,
    pub cgroup_driver: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cgroup_version: String,
    #[serde(rename = "NEventsListener")]
    pub n_events_listener: i64,
    pub kernel_version: String,
    pub operating_system: String,
    #[serde(rename = "OSVersion")]
    pub os_version: String,
    #[serde(rename = "OSType")]
    pub os_type: String,
    pub architecture: String,
    pub index_server_address: String,
    #[serde(default)]
    pub registry_config: Option<RegistryServiceConfig>,
    #[serde(rename = "NCPU")]
    pub ncpu: i64,
    pub mem_total: i64,
    #[serde(default)]
    pub generic_resources: Option<Vec<GenericResource>>,
    pub docker_root_dir: String,
    pub http_proxy: String,
    pub https_proxy: String,
    pub no_proxy: String,
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub labels: Vec<String>,
    pub experimental_build: bool,
    pub server_version: String,
    #[serde(default, deserialize_with = "nullable")]
    pub runtimes: BTreeMap<String, Runtime>,
    pub default_runtime: String,
    #[serde(default)]
    pub swarm: SwarmInfo,
    pub live_restore_enabled: bool,
    pub isolation: String,
    pub init_binary: String,
    #[serde(default)]
    pub containerd_commit: Commit,
    #[serde(default)]
    pub runc_commit: Commit,
    #[serde(default)]
    pub init_commit: Commit,
    #[serde(default, deserialize_with = "nullable")]
    pub security_options: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub product_license: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_address_pools: Option<Vec<NetworkAddressPool>>,
    /// API 1.49+.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall_backend: Option<FirewallInfo>,
    /// API 1.44+.
    #[serde(
        default,
        rename = "CDISpecDirs",
        skip_serializing_if = "Option::is_none"
    )]
    pub cdi_spec_dirs: Option<Vec<String>>,
    /// API 1.50+.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered_devices: Option<Vec<DeviceInfo>>,
    /// API 1.46+.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containerd: Option<ContainerdInfo>,
    /// `null` when there are none.
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
}

/// `Plugins` of [`SystemInfo`]: the drivers of each kind.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct PluginsInfo {
    #[serde(default)]
    pub volume: Option<Vec<String>>,
    #[serde(default)]
    pub network: Option<Vec<String>>,
    #[serde(default)]
    pub authorization: Option<Vec<String>>,
    #[serde(default)]
    pub log: Option<Vec<String>>,
}

/// One OCI runtime of [`SystemInfo`]'s `Runtimes`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Runtime {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(
        default,
        rename = "runtimeArgs",
        skip_serializing_if = "Option::is_none"
    )]
    pub runtime_args: Option<Vec<String>>,
    /// API 1.44+.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<BTreeMap<String, String>>,
}

/// A component's commit (`ContainerdCommit`, `RuncCommit`, `InitCommit`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Commit {
    #[serde(rename = "ID")]
    pub id: String,
    /// The same as `ID`, below API 1.49.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
}

/// `Swarm` of [`SystemInfo`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct SwarmInfo {
    #[serde(rename = "NodeID")]
    pub node_id: String,
    pub node_addr: String,
    /// `inactive`, `pending`, `active`, `error`, `locked`.
    pub local_node_state: String,
    pub control_available: bool,
    pub error: String,
    #[serde(default)]
    pub remote_managers: Option<Vec<PeerNode>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managers: Option<i64>,
    /// A manager's cluster (kept as sent: Berth has no swarm mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
}

impl Default for SwarmInfo {
    /// A node with swarm mode off.
    fn default() -> Self {
        SwarmInfo {
            node_id: String::new(),
            node_addr: String::new(),
            local_node_state: "inactive".into(),
            control_available: false,
            error: String::new(),
            remote_managers: None,
            nodes: None,
            managers: None,
            cluster: None,
            warnings: None,
        }
    }
}

/// A swarm manager.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct PeerNode {
    #[serde(rename = "NodeID")]
    pub node_id: String,
    pub addr: String,
}

/// `RegistryConfig` of [`SystemInfo`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct RegistryServiceConfig {
    /// Below API 1.49.
    #[serde(
        default,
        rename = "AllowNondistributableArtifactsCIDRs",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_nondistributable_artifacts_cidrs: Option<Vec<String>>,
    /// Below API 1.49.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_nondistributable_artifacts_hostnames: Option<Vec<String>>,
    #[serde(default, rename = "InsecureRegistryCIDRs")]
    pub insecure_registry_cidrs: Option<Vec<String>>,
    #[serde(default)]
    pub index_configs: BTreeMap<String, IndexInfo>,
    #[serde(default)]
    pub mirrors: Option<Vec<String>>,
}

/// A registry index of [`RegistryServiceConfig`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct IndexInfo {
    pub name: String,
    #[serde(default)]
    pub mirrors: Option<Vec<String>>,
    pub secure: bool,
    pub official: bool,
}

/// A swarm generic resource (`GenericResources`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct GenericResource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub named_resource_spec: Option<NamedResourceSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discrete_resource_spec: Option<DiscreteResourceSpec>,
}

/// A named generic resource (e.g. a GPU's UUID).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NamedResourceSpec {
    pub kind: String,
    pub value: String,
}

/// A counted generic resource.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct DiscreteResourceSpec {
    pub kind: String,
    pub value: i64,
}

/// One of `DefaultAddressPools`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkAddressPool {
    pub base: String,
    pub size: i64,
}

/// `FirewallBackend` (API 1.49+).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct FirewallInfo {
    pub driver: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<Vec<[String; 2]>>,
}

/// One of `DiscoveredDevices` (API 1.50+).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceInfo {
    pub source: String,
    #[serde(rename = "ID")]
    pub id: String,
}

/// `Containerd` (API 1.46+).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerdInfo {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub address: String,
    pub namespaces: ContainerdNamespaces,
}

/// `Namespaces` of [`ContainerdInfo`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerdNamespaces {
    pub containers: String,
    pub plugins: String,
}

/// `GET /version`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct SystemVersion {
    #[serde(default)]
    pub platform: PlatformName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<ComponentVersion>>,
    pub version: String,
    pub api_version: String,
    #[serde(
        default,
        rename = "MinAPIVersion",
        skip_serializing_if = "String::is_empty"
    )]
    pub min_api_version: String,
    pub git_commit: String,
    pub go_version: String,
    pub os: String,
    pub arch: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kernel_version: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub experimental: bool,
    /// RFC 3339; "" when unknown (Berth's builds record none).
    #[serde(default)]
    pub build_time: String,
}

/// `Platform` of [`SystemVersion`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct PlatformName {
    pub name: String,
}

/// One of [`SystemVersion`]'s `Components` (the engine, containerd, runc...).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ComponentVersion {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<BTreeMap<String, String>>,
}

/// `GET /system/df`, in dockerd's field order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct DiskUsage {
    pub layers_size: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub images: Vec<ImageSummary>,
    #[serde(default, deserialize_with = "nullable")]
    pub containers: Vec<ContainerSummary>,
    #[serde(default, deserialize_with = "nullable")]
    pub volumes: Vec<Volume>,
    #[serde(default)]
    pub build_cache: Option<Vec<BuildCache>>,
    /// The build cache's size, below API 1.42.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builder_size: Option<i64>,
}

/// One event of `GET /events`, in dockerd's field order; `status`, `id` and `from` are
/// the old form of `Action`, `Actor.ID` and the `image` attribute, still sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct EventMessage {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// `container`, `image`, `network`, `volume`, `daemon`, `plugin`...
    #[serde(default, rename = "Type")]
    pub r#type: String,
    #[serde(default, rename = "Action")]
    pub action: String,
    #[serde(default, rename = "Actor")]
    pub actor: EventActor,
    /// `local` or `swarm`.
    #[serde(default)]
    pub scope: String,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub time: i64,
    /// Unix nanoseconds.
    #[serde(
        default,
        rename = "timeNano",
        skip_serializing_if = "crate::serde_util::is_zero"
    )]
    pub time_nano: i64,
}

/// What an event concerns: its id and attributes (`name`, `image`, labels, `exitCode`...).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct EventActor {
    #[serde(default, rename = "ID")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub attributes: BTreeMap<String, String>,
}
