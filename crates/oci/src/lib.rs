//! Image-side types, on the oci-spec crate: [`Digest`] (sha256, checked), Docker's
//! [`ImageConfig`] (OCI's image config with Docker's container config and legacy fields),
//! what a `docker save` archive adds ([`DockerManifest`]), and oci-spec's own descriptors,
//! manifests, indexes and layout header, re-exported as they are.

mod config;
mod digest;
mod docker;

pub use config::{ImageConfig, RunConfig, host_arch};
pub use digest::{Digest, Hasher};
pub use docker::{DockerManifest, Repositories};
pub use oci_spec::image::{
    Arch, Descriptor, DescriptorBuilder, History, HistoryBuilder, ImageConfiguration,
    ImageConfigurationBuilder, ImageIndex, ImageIndexBuilder, ImageManifest, ImageManifestBuilder,
    MediaType, OciLayout, OciLayoutBuilder, Os, Platform, RootFs, RootFsBuilder,
};

/// A Docker manifest list: an index by another name.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Whether a descriptor of this media type points at an index (OCI's or Docker's list).
pub fn is_index(media_type: &MediaType) -> bool {
    match media_type {
        MediaType::ImageIndex => true,
        MediaType::Other(m) => m == DOCKER_MANIFEST_LIST,
        _ => false,
    }
}

/// What went wrong reading image metadata.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid digest {0:?}: {1}")]
    Digest(String, String),
    #[error("image config: {0}")]
    Config(String),
    #[error("{what}: {message}")]
    Json { what: String, message: String },
    #[error("{0}")]
    Build(String),
}

impl From<oci_spec::OciSpecError> for Error {
    fn from(e: oci_spec::OciSpecError) -> Error {
        Error::Build(e.to_string())
    }
}

/// Parse the JSON of `what` (`index.json`, a manifest...) as a `T`.
pub fn from_json<T: serde::de::DeserializeOwned>(what: &str, data: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(data).map_err(|e| Error::Json {
        what: what.to_string(),
        message: e.to_string(),
    })
}
