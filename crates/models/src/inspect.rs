//! What `GET /containers/{id}/json` and `GET /containers/json` answer: [`ContainerInspect`],
//! [`ContainerSummary`], and their parts ([`NetworkSettings`], [`EndpointSettings`],
//! [`MountPoint`]), complete however sparse the create request was.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::container::{ContainerConfig, ContainerState, HostConfig, PortMap};
use crate::serde_util::nullable;

/// `GET /containers/{id}/json`, in dockerd's field order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerInspect {
    pub id: String,
    pub created: String,
    pub path: String,
    pub args: Vec<String>,
    pub state: ContainerState,
    pub image: String,
    pub resolv_conf_path: String,
    pub hostname_path: String,
    pub hosts_path: String,
    pub log_path: String,
    pub name: String,
    pub restart_count: i64,
    pub driver: String,
    pub platform: String,
    pub mount_label: String,
    pub process_label: String,
    pub app_armor_profile: String,
    #[serde(rename = "ExecIDs")]
    pub exec_ids: Option<Vec<String>>,
    pub host_config: HostConfig,
    pub graph_driver: GraphDriverData,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_rw: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_root_fs: Option<i64>,
    pub mounts: Vec<MountPoint>,
    pub config: ContainerConfig,
    pub network_settings: NetworkSettings,
    /// The platform manifest of the image (API 1.48+, with a multi-platform image store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_manifest_descriptor: Option<crate::distribution::OciDescriptor>,
}

/// The storage driver and its paths.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct GraphDriverData {
    pub data: BTreeMap<String, String>,
    pub name: String,
}

/// One entry of a container's `Mounts` (what is mounted where).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct MountPoint {
    pub r#type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub source: String,
    pub destination: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub driver: String,
    pub mode: String,
    #[serde(rename = "RW")]
    pub rw: bool,
    pub propagation: String,
}

/// An address with its prefix length (`SecondaryIPAddresses`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Address {
    pub addr: String,
    pub prefix_len: i64,
}

/// A container's `NetworkSettings`: its ports and, per network, its endpoint. The
/// top-level address fields are those of the default bridge network (legacy, still read
/// by clients).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkSettings {
    pub bridge: String,
    #[serde(rename = "SandboxID")]
    pub sandbox_id: String,
    pub hairpin_mode: bool,
    #[serde(rename = "LinkLocalIPv6Address")]
    pub link_local_ipv6_address: String,
    #[serde(rename = "LinkLocalIPv6PrefixLen")]
    pub link_local_ipv6_prefix_len: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub ports: PortMap,
    pub sandbox_key: String,
    #[serde(rename = "SecondaryIPAddresses")]
    pub secondary_ip_addresses: Option<Vec<Address>>,
    #[serde(rename = "SecondaryIPv6Addresses")]
    pub secondary_ipv6_addresses: Option<Vec<Address>>,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    pub gateway: String,
    #[serde(rename = "GlobalIPv6Address")]
    pub global_ipv6_address: String,
    #[serde(rename = "GlobalIPv6PrefixLen")]
    pub global_ipv6_prefix_len: i64,
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    pub ip_prefix_len: i64,
    #[serde(rename = "IPv6Gateway")]
    pub ipv6_gateway: String,
    pub mac_address: String,
    pub networks: BTreeMap<String, EndpointSettings>,
}

/// A container's endpoint on one network.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointSettings {
    #[serde(default, rename = "IPAMConfig")]
    pub ipam_config: Option<EndpointIpamConfig>,
    #[serde(default)]
    pub links: Option<Vec<String>>,
    #[serde(default)]
    pub aliases: Option<Vec<String>>,
    #[serde(default, rename = "NetworkID", deserialize_with = "nullable")]
    pub network_id: String,
    #[serde(default, rename = "EndpointID", deserialize_with = "nullable")]
    pub endpoint_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub gateway: String,
    #[serde(default, rename = "IPAddress", deserialize_with = "nullable")]
    pub ip_address: String,
    #[serde(default, rename = "IPPrefixLen", deserialize_with = "nullable")]
    pub ip_prefix_len: i64,
    #[serde(default, rename = "IPv6Gateway", deserialize_with = "nullable")]
    pub ipv6_gateway: String,
    #[serde(default, rename = "GlobalIPv6Address", deserialize_with = "nullable")]
    pub global_ipv6_address: String,
    #[serde(default, rename = "GlobalIPv6PrefixLen", deserialize_with = "nullable")]
    pub global_ipv6_prefix_len: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub mac_address: String,
    #[serde(default)]
    pub driver_opts: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub gw_priority: i64,
    #[serde(default, rename = "DNSNames")]
    pub dns_names: Option<Vec<String>>,
}

/// Addresses a client asks for on a network.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointIpamConfig {
    #[serde(
        default,
        rename = "IPv4Address",
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub ipv4_address: String,
    #[serde(
        default,
        rename = "IPv6Address",
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub ipv6_address: String,
    #[serde(
        default,
        rename = "LinkLocalIPs",
        skip_serializing_if = "Option::is_none"
    )]
    pub link_local_ips: Option<Vec<String>>,
}

/// One published or exposed port of a [`ContainerSummary`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Port {
    #[serde(default, rename = "IP", skip_serializing_if = "String::is_empty")]
    pub ip: String,
    pub private_port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_port: Option<u16>,
    pub r#type: String,
}

/// One entry of `GET /containers/json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerSummary {
    pub id: String,
    pub names: Vec<String>,
    pub image: String,
    #[serde(rename = "ImageID")]
    pub image_id: String,
    /// The platform manifest of the image (API 1.48+, with a multi-platform image store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_manifest_descriptor: Option<crate::distribution::OciDescriptor>,
    pub command: String,
    pub created: i64,
    pub ports: Vec<Port>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_rw: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_root_fs: Option<i64>,
    pub labels: BTreeMap<String, String>,
    pub state: String,
    pub status: String,
    pub host_config: SummaryHostConfig,
    pub network_settings: SummaryNetworkSettings,
    pub mounts: Vec<MountPoint>,
}

/// `HostConfig` of a [`ContainerSummary`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct SummaryHostConfig {
    pub network_mode: String,
    /// API 1.46+.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// `NetworkSettings` of a [`ContainerSummary`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct SummaryNetworkSettings {
    pub networks: BTreeMap<String, EndpointSettings>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_settings_have_dockerds_fields() {
        let v = serde_json::to_value(NetworkSettings::default()).expect("ser");
        for k in [
            "Bridge",
            "SandboxID",
            "Ports",
            "SecondaryIPAddresses",
            "EndpointID",
            "Gateway",
            "IPAddress",
            "IPPrefixLen",
            "MacAddress",
            "Networks",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        let e = serde_json::to_value(EndpointSettings::default()).expect("ser");
        assert_eq!(e["IPAMConfig"], serde_json::Value::Null);
        assert_eq!(e["IPAddress"], "");
    }
}
