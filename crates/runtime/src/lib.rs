//! Berth's container runtime: everything between "an image's layers and a container config"
//! and "a running, isolated process watched by its shim".
//!
//! - [`spec`]: [`ContainerSpec`], what the engine decides about a container, and
//!   [`write_bundle`], which turns it into an OCI runtime bundle (`config.json`, built with
//!   the `oci-spec` crate, plus Berth's `berth.json` for what OCI does not describe);
//!   [`devices`]: a container's device nodes and device cgroup rules.
//! - [`protocol`]: the messages spoken over a shim's Unix socket.
//! - [`client`]: the daemon's (async, tokio) side of that socket: [`ShimClient`].
//! - the shim's side (sync, single-threaded): `shim` and the container init code, used by the
//!   `berth-shim` binary.

pub mod client;
pub mod devices;
pub mod error;
pub mod execpath;
pub mod fsutil;
pub mod jsonlog;
pub mod linux;
pub mod protocol;
pub mod seccomp_profile;
pub mod shim;
pub mod spec;
pub mod user;

pub use client::{ShimClient, read_exit, spawn_shim};
pub use error::{Error, Result};
pub use protocol::{ExecProcess, ExecStatus, ExitStatus, ShimState};
pub use spec::{BindMount, ContainerSpec, NetworkMode, TmpfsMount, write_bundle};
