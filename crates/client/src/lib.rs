//! `berth-client`: a typed client for the Docker Engine API, as Berth's daemon (or dockerd)
//! serves it over a Unix socket or TCP. It speaks `berth-models`: one method per endpoint,
//! requests and answers as the models' types, e.g. [`Client::container_create`] takes a
//! [`berth_models::CreateRequest`] and gives a [`berth_models::CreateResponse`],
//! [`Client::container_inspect`] a [`berth_models::ContainerInspect`],
//! [`Client::image_list`] [`berth_models::ImageSummary`]s.
//!
//! - [`Client`]: the daemon's address (`-H`, `BERTH_HOST`, `DOCKER_HOST`) and the API
//!   version, negotiated with [`Client::negotiate`] (the lower of the daemon's and ours).
//! - Endpoints by domain: `container.rs` (create, start, attach, wait, logs, archive...),
//!   `exec.rs`, `image.rs` (list, inspect, load, save, import, commit...), `network.rs`
//!   (create, list, inspect, remove, prune, connect, disconnect), `system.rs` (version,
//!   info, df, events), `volume.rs` (create, list, inspect, remove, prune, and Berth's
//!   export, import and clone).
//! - Streams ([`stream`]): [`ByteStream`] for raw bodies, [`JsonStream`] for JSON lines,
//!   [`Hijacked`] connections for attach and exec, [`Demux`] for their frames.
//! - Errors ([`Error`]): a daemon's `{"message"}` answer is [`Error::Api`] with its status.
//!
//! Each call opens its own HTTP/1.1 connection (a local socket connects in microseconds),
//! which keeps the client free of pools and background tasks.

mod container;
mod error;
mod exec;
mod http;
mod image;
mod network;
pub mod query;
pub mod stream;
mod system;
#[cfg(test)]
mod testserver;
mod volume;

pub use berth_models as models;
pub use container::{
    ArchivePut, AttachOptions, ListOptions, LogsOptions, PathStat, StopOptions, Wait, WaitCondition,
};
pub use error::{Error, Result};
pub use http::{Body, empty_body, reader_body, stream_body};
pub use image::{CommitOptions, ImportOptions, split_reference};
pub use query::Filters;
pub use stream::{ByteStream, Demux, Hijacked, JsonStream, StdStream};
pub use system::EventsOptions;

use std::path::PathBuf;

use berth_models::ApiVersion;

/// The daemon's default socket.
pub const DEFAULT_HOST: &str = "unix:///run/berth/berthd.sock";
/// Newest API version this client speaks.
pub const API_VERSION: ApiVersion = berth_models::version::MAX;
/// Assumed when the daemon does not say which version it speaks.
pub const API_VERSION_MIN: ApiVersion = berth_models::version::MIN;

/// Where the daemon listens.
#[derive(Debug, Clone)]
enum Host {
    Unix(PathBuf),
    Tcp(String),
}

/// An API client: the daemon's address and the API version in use.
#[derive(Debug, Clone)]
pub struct Client {
    host: Host,
    host_str: String,
    version: ApiVersion,
}

impl Client {
    /// A client for `host` (`-H`), else `BERTH_HOST`, else `DOCKER_HOST`, else the default
    /// socket. The API version is not negotiated yet: see [`Client::negotiate`].
    pub fn from_env(host: Option<&str>) -> Result<Client> {
        let h = host
            .map(str::to_string)
            .or_else(|| std::env::var("BERTH_HOST").ok().filter(|s| !s.is_empty()))
            .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| DEFAULT_HOST.to_string());
        let host = if let Some(p) = h.strip_prefix("unix://") {
            Host::Unix(PathBuf::from(p))
        } else if let Some(a) = h.strip_prefix("tcp://") {
            Host::Tcp(a.trim_end_matches('/').to_string())
        } else if h.starts_with('/') {
            Host::Unix(PathBuf::from(&h))
        } else {
            return Err(Error::Host(h));
        };
        Ok(Client {
            host,
            host_str: h,
            version: API_VERSION,
        })
    }

    /// The daemon's address as given.
    pub fn host(&self) -> &str {
        &self.host_str
    }

    /// The API version in use.
    pub fn version(&self) -> ApiVersion {
        self.version
    }

    /// Ask the daemon (`GET /_ping`) which API version it speaks and use the lower of
    /// that and ours.
    pub async fn negotiate(&mut self) -> Result<()> {
        let server = self.ping().await?;
        if server < API_VERSION {
            self.version = server;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let c = Client::from_env(Some("unix:///tmp/x.sock")).unwrap();
        assert!(matches!(c.host, Host::Unix(ref p) if p == std::path::Path::new("/tmp/x.sock")));
        let c = Client::from_env(Some("tcp://127.0.0.1:2375/")).unwrap();
        assert!(matches!(c.host, Host::Tcp(ref a) if a == "127.0.0.1:2375"));
        assert!(Client::from_env(Some("http://x")).is_err());
    }
}
