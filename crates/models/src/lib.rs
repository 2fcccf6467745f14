//! Docker Engine API models that Berth reads and writes, as serde types shared by the
//! daemon (`berth-api`, `berth-engine`) and clients (`berth-client`).
//!
//! Field names and shapes follow the Engine API's definitions (PascalCase, the names of
//! `engine-api-v1.50.yaml`) and dockerd's serialization (every field present, Go's zero
//! values, `omitempty` fields left out), so a client that reads `HostConfig.LogConfig.Type`
//! finds it however sparse its create request was. One module per domain:
//!
//! - [`container`]: [`CreateRequest`] (body of `POST /containers/create`),
//!   [`ContainerConfig`], [`HostConfig`], [`ContainerState`], [`WaitResponse`], top,
//!   changes, prune; [`inspect`]: [`ContainerInspect`], [`ContainerSummary`]; [`stats`]:
//!   [`ContainerStatsResponse`].
//! - [`exec`]: [`ExecConfig`], [`ExecStartConfig`], [`ExecInspect`].
//! - [`image`]: [`ImageSummary`], [`ImageInspect`], [`ImageConfig`], history, delete,
//!   prune, search.
//! - [`system`]: [`SystemInfo`], [`SystemVersion`], [`DiskUsage`], [`EventMessage`].
//! - [`network`], [`volume`]: networks and volumes; [`ports`]: the docker CLI's
//!   `-p`/`--publish`, `--expose` and `-P` parsers, shared by the CLI and the daemon.
//! - [`build`]: [`BuildOptions`] and the build cache; [`progress`]: [`JsonMessage`] (every
//!   progress stream's line); [`distribution`]: OCI descriptors, [`AuthConfig`], pull and
//!   push progress; [`compose`]: the labels of docker-compose.
//!
//! What changes with the API version is in [`compat`] ([`ForVersion`]); [`version`] has
//! [`ApiVersion`]. [`ErrorResponse`] is every error's body, [`IdResponse`] the answer of
//! a create that returns an id.

pub mod build;
pub mod compat;
pub mod compose;
pub mod container;
pub mod distribution;
pub mod exec;
pub mod image;
pub mod inspect;
pub mod network;
pub mod ports;
pub mod progress;
mod serde_util;
pub mod stats;
pub mod system;
pub mod version;
pub mod volume;

use serde::{Deserialize, Serialize};

pub use build::*;
pub use compat::ForVersion;
pub use container::*;
pub use distribution::*;
pub use exec::*;
pub use image::*;
pub use inspect::*;
pub use network::*;
pub use progress::*;
pub use serde_util::EmptyObject;
pub use stats::*;
pub use system::*;
pub use version::ApiVersion;
pub use volume::*;

/// Highest API version Berth speaks (what docker CLI 28 asks for), as text.
pub const API_VERSION_MAX: &str = "1.50";
/// Lowest API version Berth accepts, as text.
pub const API_VERSION_MIN: &str = "1.24";

/// `{"message": "..."}`, the body of every API error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorResponse {
    pub message: String,
}

/// `{"Id": "..."}`: what a create that makes one object answers (commit, exec create).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct IdResponse {
    pub id: String,
}
