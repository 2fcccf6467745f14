//! Volumes: [`Volume`] (`GET /volumes/{name}`, `POST /volumes/create`'s answer),
//! [`VolumeCreateOptions`], [`VolumeListResponse`], [`VolumePruneResponse`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::serde_util::{null_if_empty, nullable};

/// A volume, in dockerd's field order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    /// Swarm cluster volumes only (Berth has none; kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_volume: Option<Value>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_at: String,
    pub driver: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        serialize_with = "null_if_empty"
    )]
    pub labels: BTreeMap<String, String>,
    pub mountpoint: String,
    pub name: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        serialize_with = "null_if_empty"
    )]
    pub options: BTreeMap<String, String>,
    /// `local` or `global`.
    pub scope: String,
    /// Driver-specific state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<BTreeMap<String, Value>>,
    /// Only in `GET /system/df`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_data: Option<UsageData>,
}

/// `UsageData` of a [`Volume`]: its size and how many containers use it (-1: not
/// computed).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct UsageData {
    pub size: i64,
    pub ref_count: i64,
}

/// Body of `POST /volumes/create`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeCreateOptions {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub driver: String,
    #[serde(default, deserialize_with = "nullable")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    /// Swarm cluster volumes (Berth has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_volume_spec: Option<Value>,
}

/// `GET /volumes`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeListResponse {
    #[serde(default)]
    pub volumes: Option<Vec<Volume>>,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
}

/// `POST /volumes/prune`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct VolumePruneResponse {
    /// `null` when nothing was removed.
    #[serde(default)]
    pub volumes_deleted: Option<Vec<String>>,
    #[serde(default)]
    pub space_reclaimed: u64,
}
