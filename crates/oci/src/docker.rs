//! What a `docker save` archive holds besides blobs: `manifest.json` and `repositories`.

use std::collections::{BTreeMap, HashMap};

use oci_spec::image::Descriptor;
use serde::{Deserialize, Serialize};

use crate::Digest;

/// One image of `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DockerManifest {
    /// Path of the config in the archive (`<hex>.json`, `blobs/sha256/<hex>`).
    pub config: String,
    /// `name:tag`s; `null` for an untagged image.
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    /// Paths of the layer tars in the archive, bottom-most first.
    pub layers: Vec<String>,
    /// The image it was built on (Docker's legacy builder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Digest>,
    /// Foreign layers: diff id → where to get the blob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_sources: Option<HashMap<Digest, Descriptor>>,
}

/// `repositories`: repository → tag → id of the top layer (hex), for old loaders.
pub type Repositories = BTreeMap<String, BTreeMap<String, String>>;
