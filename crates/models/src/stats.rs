//! `GET /containers/{id}/stats` ([`ContainerStatsResponse`]) as dockerd writes it on
//! Linux: snake_case fields, cgroup v1 and v2 memory counters by name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One stats sample, in dockerd's field order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ContainerStatsResponse {
    /// RFC 3339 time of this sample.
    pub read: String,
    /// Time of the previous sample (`0001-01-01T00:00:00Z` for none).
    pub preread: String,
    #[serde(default)]
    pub pids_stats: PidsStats,
    #[serde(default)]
    pub blkio_stats: BlkioStats,
    #[serde(default)]
    pub num_procs: u32,
    #[serde(default)]
    pub storage_stats: StorageStats,
    #[serde(default)]
    pub cpu_stats: CpuStats,
    #[serde(default)]
    pub precpu_stats: CpuStats,
    #[serde(default)]
    pub memory_stats: MemoryStats,
    /// `/` and the container's name.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub id: String,
    /// Per interface (not with `--network none` or host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networks: Option<BTreeMap<String, NetworkStats>>,
}

/// `pids_stats`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PidsStats {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// `blkio_stats`: cgroup v1 blkio counters (v2: `io_service_bytes_recursive` only).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BlkioStats {
    #[serde(default)]
    pub io_service_bytes_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub io_serviced_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub io_queue_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub io_service_time_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub io_wait_time_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub io_merged_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub io_time_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub sectors_recursive: Option<Vec<BlkioStatEntry>>,
}

/// One device's counter of [`BlkioStats`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BlkioStatEntry {
    pub major: u64,
    pub minor: u64,
    /// `read`, `write`, `sync`, `async`, `discard`, `total`.
    pub op: String,
    pub value: u64,
}

/// `storage_stats` (Windows only; `{}` on Linux).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StorageStats {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_count_normalized: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_size_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_count_normalized: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_size_bytes: Option<u64>,
}

/// `cpu_stats` / `precpu_stats`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CpuStats {
    #[serde(default)]
    pub cpu_usage: CpuUsage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_cpu_usage: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online_cpus: Option<u32>,
    #[serde(default)]
    pub throttling_data: ThrottlingData,
}

/// `cpu_usage` of [`CpuStats`] (nanoseconds).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CpuUsage {
    #[serde(default)]
    pub total_usage: u64,
    /// Per CPU, cgroup v1 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percpu_usage: Option<Vec<u64>>,
    #[serde(default)]
    pub usage_in_kernelmode: u64,
    #[serde(default)]
    pub usage_in_usermode: u64,
}

/// `throttling_data` of [`CpuStats`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ThrottlingData {
    #[serde(default)]
    pub periods: u64,
    #[serde(default)]
    pub throttled_periods: u64,
    #[serde(default)]
    pub throttled_time: u64,
}

/// `memory_stats`: usage, limit and the cgroup's `memory.stat` counters by name.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MemoryStats {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<u64>,
    /// cgroup v1 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_usage: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<BTreeMap<String, u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failcnt: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// Windows only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitbytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitpeakbytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privateworkingset: Option<u64>,
}

/// One interface of `networks`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct NetworkStats {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}
