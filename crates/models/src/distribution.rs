//! Registries and content: OCI descriptors and platforms ([`OciDescriptor`],
//! [`OciPlatform`], `GET /distribution/{name}/json`'s [`DistributionInspect`]), the
//! credentials clients send ([`AuthConfig`], in `POST /auth` and base64url-encoded in the
//! `X-Registry-Auth` header of pull and push), and the progress streams of pull and push
//! ([`CreateImageInfo`], [`PushImageInfo`]: JSON messages, see [`crate::progress::JsonMessage`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An OCI content descriptor (`application/vnd.oci.descriptor.v1+json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OciDescriptor {
    #[serde(default)]
    pub media_type: String,
    #[serde(default)]
    pub digest: String,
    #[serde(default)]
    pub size: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// The content itself, base64, when embedded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<OciPlatform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

/// An OCI platform.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct OciPlatform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(
        default,
        rename = "os.version",
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    #[serde(
        default,
        rename = "os.features",
        skip_serializing_if = "Option::is_none"
    )]
    pub os_features: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
}

/// `GET /distribution/{name}/json`: an image's descriptor in its registry and its
/// platforms.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct DistributionInspect {
    pub descriptor: OciDescriptor,
    pub platforms: Vec<OciPlatform>,
}

/// Registry credentials: the body of `POST /auth`, and (base64url JSON) the
/// `X-Registry-Auth` header of pull and push; `X-Registry-Config` of a build holds one
/// per registry.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// `base64(username:password)`, as in a docker config file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth: String,
    /// Deprecated, ignored by registries.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub serveraddress: String,
    /// A token to get access tokens with, instead of a password.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub identitytoken: String,
    /// A bearer token for the registry.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub registrytoken: String,
}

/// `POST /auth`'s answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct AuthResponse {
    /// `Login Succeeded`.
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub identity_token: String,
}

/// One line of `POST /images/create` (pull, import): `{"status": "Pulling fs layer",
/// "id": "...", "progressDetail": {...}}`.
pub type CreateImageInfo = crate::progress::JsonMessage;

/// One line of `POST /images/{name}/push`; the last carries `aux` with the pushed
/// tag, digest and size ([`crate::progress::PushResult`]).
pub type PushImageInfo = crate::progress::JsonMessage;
