//! Networks: `GET /networks` and `GET /networks/{id}` ([`Network`] with its [`Ipam`]),
//! `POST /networks/create` ([`NetworkCreateRequest`], [`NetworkCreateResponse`]),
//! connect and disconnect ([`NetworkConnectRequest`], [`NetworkDisconnectRequest`]),
//! `POST /networks/prune` ([`NetworkPruneResponse`]), and a container create's
//! [`NetworkingConfig`]. A container's endpoint is [`crate::EndpointSettings`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::inspect::EndpointSettings;
use crate::serde_util::nullable;

/// A network as `GET /networks/{id}` shows it, in dockerd's field order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Network {
    pub name: String,
    pub id: String,
    /// RFC 3339.
    pub created: String,
    /// `local`, `global` or `swarm`.
    pub scope: String,
    pub driver: String,
    /// API 1.48+.
    #[serde(default, rename = "EnableIPv4")]
    pub enable_ipv4: bool,
    #[serde(default, rename = "EnableIPv6")]
    pub enable_ipv6: bool,
    #[serde(rename = "IPAM")]
    pub ipam: Ipam,
    pub internal: bool,
    pub attachable: bool,
    pub ingress: bool,
    #[serde(default)]
    pub config_from: ConfigReference,
    pub config_only: bool,
    /// The containers attached, by container id.
    #[serde(default, deserialize_with = "nullable")]
    pub containers: BTreeMap<String, NetworkContainer>,
    #[serde(default, deserialize_with = "nullable")]
    pub options: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    /// Swarm overlay networks only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers: Option<Vec<PeerInfo>>,
}

/// A network's address management: driver, pools, options.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Ipam {
    #[serde(default, deserialize_with = "nullable")]
    pub driver: String,
    #[serde(default)]
    pub config: Option<Vec<IpamConfig>>,
    #[serde(default)]
    pub options: Option<BTreeMap<String, String>>,
}

/// One address pool of an [`Ipam`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct IpamConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subnet: String,
    #[serde(default, rename = "IPRange", skip_serializing_if = "String::is_empty")]
    pub ip_range: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub gateway: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auxiliary_addresses: Option<BTreeMap<String, String>>,
}

/// The network a config-only network's configuration comes from.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigReference {
    #[serde(default)]
    pub network: String,
}

/// One container attached to a [`Network`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkContainer {
    pub name: String,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    pub mac_address: String,
    /// CIDR, e.g. `172.17.0.2/16`.
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
}

/// A peer of a swarm overlay network.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct PeerInfo {
    pub name: String,
    #[serde(rename = "IP")]
    pub ip: String,
}

/// Body of `POST /networks/create`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkCreateRequest {
    pub name: String,
    /// Deprecated (API 1.44): duplicate names always fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_duplicate: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    pub driver: String,
    #[serde(default, deserialize_with = "nullable")]
    pub scope: String,
    #[serde(default, deserialize_with = "nullable")]
    pub internal: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub attachable: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub ingress: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub config_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_from: Option<ConfigReference>,
    #[serde(default, rename = "IPAM", skip_serializing_if = "Option::is_none")]
    pub ipam: Option<Ipam>,
    /// API 1.48+.
    #[serde(
        default,
        rename = "EnableIPv4",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_ipv4: Option<bool>,
    #[serde(
        default,
        rename = "EnableIPv6",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_ipv6: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// Answer of `POST /networks/create`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkCreateResponse {
    pub id: String,
    #[serde(default)]
    pub warning: String,
}

/// Body of `POST /networks/{id}/connect`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkConnectRequest {
    pub container: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_config: Option<EndpointSettings>,
}

/// Body of `POST /networks/{id}/disconnect`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkDisconnectRequest {
    pub container: String,
    #[serde(default, deserialize_with = "nullable")]
    pub force: bool,
}

/// Answer of `POST /networks/prune`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkPruneResponse {
    /// `null` when nothing was removed.
    #[serde(default)]
    pub networks_deleted: Option<Vec<String>>,
}

/// `NetworkingConfig` of a container create: its endpoint on each network, by network
/// name.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkingConfig {
    #[serde(default)]
    pub endpoints_config: Option<BTreeMap<String, EndpointSettings>>,
}
