//! Berth's image store: content-addressed blobs, unpacked layers shared between images,
//! and image metadata (configs, tags) in an embedded transactional database (redb).
//!
//! Main type: [`Store`]. Layout under its root:
//! - `blobs/sha256/<hex>`: every blob (layer tars, configs, manifests) once, by digest;
//! - `layers/<diffid-hex>/`: each layer unpacked once, as an overlayfs lower dir
//!   (whiteouts as 0/0 char devices, opaque dirs with `trusted.overlay.opaque=y`);
//! - `meta.redb`: images, tags, layer records;
//! - `tmp/`: work in progress, emptied at open.

pub mod error;

use std::io::Read;
use std::path::{Path, PathBuf};

pub use berth_oci::ImageConfig;
pub use error::{Error, ErrorKind, Result};

/// The image store.
pub struct Store {
    root: PathBuf,
}

/// An image as `load` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedImage {
    /// `sha256:<hex>` of the config.
    pub id: String,
    /// Tags it was loaded with, e.g. `busybox:latest` (empty when untagged).
    pub tags: Vec<String>,
}

/// An image as the store knows it.
#[derive(Debug, Clone)]
pub struct Image {
    /// `sha256:<hex>` of the config blob.
    pub id: String,
    /// e.g. `busybox:latest`.
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub config: ImageConfig,
    /// Sum of the unpacked layer sizes in bytes.
    pub size: u64,
    /// Layer diff ids (`sha256:<hex>`), bottom-most first.
    pub diff_ids: Vec<String>,
}

impl Store {
    /// Open (creating if needed) the store at `root`.
    pub fn open(root: &Path) -> Result<Store> {
        let _ = root;
        todo!("store helper implements")
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Load a `docker save` archive or an OCI image layout tar, plain, gzip or zstd.
    pub fn load(&self, input: &mut dyn Read) -> Result<Vec<LoadedImage>> {
        let _ = input;
        todo!()
    }

    /// All images.
    pub fn list(&self) -> Result<Vec<Image>> {
        todo!()
    }

    /// Look up by `name[:tag]` (tag defaults to `latest`; `docker.io/library/` prefixes
    /// accepted), by full or `sha256:`-prefixed id, or by a unique id prefix.
    /// `ErrorKind::NotFound` with message `No such image: <reference>` otherwise.
    pub fn get(&self, reference: &str) -> Result<Image> {
        let _ = reference;
        todo!()
    }

    /// Point `reference` (`name[:tag]`) at image `id`, moving it if it pointed elsewhere.
    pub fn tag(&self, id: &str, reference: &str) -> Result<()> {
        let _ = (id, reference);
        todo!()
    }

    /// Unpacked layer directories of `image`, bottom-most first.
    pub fn layer_dirs(&self, image: &Image) -> Result<Vec<PathBuf>> {
        let _ = image;
        todo!()
    }
}
