//! Docker Engine API models that Berth reads and writes, as serde types shared by the
//! daemon (`berth-api`, `berth-engine`) and clients (`berth-client`).
//!
//! Field names and shapes follow the Engine API's definitions (PascalCase) and dockerd's
//! serialization (every field present, Go's zero values, `omitempty` fields left out), so a
//! client that reads `HostConfig.LogConfig.Type` finds it however sparse its create request
//! was. Main types: [`CreateRequest`] (body of `POST /containers/create`),
//! [`ContainerConfig`], [`HostConfig`], [`ContainerInspect`], [`ContainerSummary`],
//! [`ContainerState`], [`WaitResponse`], [`ErrorResponse`].

pub mod container;
pub mod inspect;
mod serde_util;

use serde::{Deserialize, Serialize};

pub use container::*;
pub use inspect::*;

/// Highest API version Berth speaks (what docker CLI 28 asks for).
pub const API_VERSION_MAX: &str = "1.50";
/// Lowest API version Berth accepts.
pub const API_VERSION_MIN: &str = "1.24";

/// `{"message": "..."}`, the body of every API error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorResponse {
    pub message: String,
}
