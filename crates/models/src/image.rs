//! Images: what `GET /images/json` lists ([`ImageSummary`]), `GET /images/{name}/json`
//! shows ([`ImageInspect`] with its [`ImageConfig`]), `GET /images/{name}/history`
//! ([`ImageHistoryResponseItem`]), `DELETE /images/{name}` and `POST /images/prune`
//! answer ([`ImageDeleteResponseItem`], [`ImagePruneResponse`]), and `GET /images/search`
//! ([`ImageSearchResponseItem`]).
//!
//! Fields that only some API versions have are `Option`s left out when `None`; the
//! engine fills them for the newest version and [`crate::compat`] adds or drops them for
//! the version a client speaks (e.g. `VirtualSize` below 1.44, `Container` and
//! `ContainerConfig` below 1.45, the container-only `Config` fields below 1.50).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::distribution::{OciDescriptor, OciPlatform};
use crate::inspect::GraphDriverData;
use crate::serde_util::{EmptyObject, is_false, nullable};

/// One entry of `GET /images/json` (and of `Images` in `GET /system/df`), in dockerd's
/// field order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageSummary {
    /// How many containers use the image; -1 when not computed (as dockerd below API
    /// 1.51, except in `system df`).
    pub containers: i64,
    /// Unix seconds.
    pub created: i64,
    pub id: String,
    /// `null` when the image has none.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// The image this one was committed on, "" for none.
    pub parent_id: String,
    /// API 1.48+, with a multi-platform image store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptor: Option<OciDescriptor>,
    /// API 1.47+, with `manifests=1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifests: Option<Vec<ImageManifestSummary>>,
    /// `null` below API 1.43 when empty.
    #[serde(default)]
    pub repo_digests: Option<Vec<String>>,
    /// `null` below API 1.43 when empty.
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    /// Bytes shared with other images; -1 when not computed.
    pub shared_size: i64,
    pub size: i64,
    /// The same as `Size`, below API 1.44.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_size: Option<i64>,
}

/// `GET /images/{name}/json`, in dockerd's field order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub repo_tags: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub repo_digests: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub parent: String,
    #[serde(default, deserialize_with = "nullable")]
    pub comment: String,
    /// RFC 3339; left out when the image config has none (API 1.44+; before:
    /// `0001-01-01T00:00:00Z`).
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub created: String,
    /// The container committed (below API 1.45).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// That container's config (below API 1.45).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_config: Option<ImageConfig>,
    #[serde(default, deserialize_with = "nullable")]
    pub docker_version: String,
    #[serde(default, deserialize_with = "nullable")]
    pub author: String,
    #[serde(default)]
    pub config: Option<ImageConfig>,
    #[serde(default, deserialize_with = "nullable")]
    pub architecture: String,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub variant: String,
    #[serde(default, deserialize_with = "nullable")]
    pub os: String,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub os_version: String,
    #[serde(default)]
    pub size: i64,
    /// The same as `Size`, below API 1.44.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_size: Option<i64>,
    #[serde(default)]
    pub graph_driver: GraphDriverData,
    #[serde(default, rename = "RootFS")]
    pub root_fs: RootFs,
    #[serde(default)]
    pub metadata: ImageMetadata,
    /// API 1.48+, with a multi-platform image store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptor: Option<OciDescriptor>,
    /// API 1.48+, with `manifests=1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifests: Option<Vec<ImageManifestSummary>>,
}

/// `RootFS` of an [`ImageInspect`]: the layers' diff ids, bottom first.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct RootFs {
    #[serde(default, deserialize_with = "nullable")]
    pub r#type: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "nullable"
    )]
    pub layers: Vec<String>,
}

/// `Metadata` of an [`ImageInspect`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ImageMetadata {
    /// When the image was last tagged, `0001-01-01T00:00:00Z` for never.
    #[serde(default, deserialize_with = "nullable")]
    pub last_tag_time: String,
}

/// `HealthConfig`: a health check as an image or container config holds it (durations
/// in nanoseconds, 0 for the default).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `[]` inherit, `["NONE"]` off, `["CMD", args...]`, `["CMD-SHELL", command]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub interval: i64,
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub timeout: i64,
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub start_period: i64,
    /// API 1.44+.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub start_interval: i64,
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub retries: i64,
}

/// `Config` of an [`ImageInspect`]: the defaults of containers made from the image.
///
/// Below API 1.50 dockerd shows it as a container `Config`, with the container-only
/// fields (`Hostname`, `AttachStdin`, `Image`...) always empty: those are the `Option`s
/// here, `None` (left out) from 1.50 on. `ContainerConfig` (below 1.45) has the same
/// shape.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stdin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stdout: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stderr: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, EmptyObject>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_stdin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin_once: Option<bool>,
    #[serde(default)]
    pub env: Option<Vec<String>>,
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "nullable"
    )]
    pub args_escaped: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default)]
    pub volumes: Option<BTreeMap<String, EmptyObject>>,
    #[serde(default, deserialize_with = "nullable")]
    pub working_dir: String,
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default)]
    pub on_build: Option<Vec<String>>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
}

impl ImageConfig {
    /// With the container-only fields (empty) that dockerd shows below API 1.50.
    pub fn with_legacy_fields(mut self) -> Self {
        let s = || Some(String::new());
        self.hostname = self.hostname.or_else(s);
        self.domainname = self.domainname.or_else(s);
        self.image = self.image.or_else(s);
        for b in [
            &mut self.attach_stdin,
            &mut self.attach_stdout,
            &mut self.attach_stderr,
            &mut self.tty,
            &mut self.open_stdin,
            &mut self.stdin_once,
        ] {
            b.get_or_insert(false);
        }
        self
    }

    /// Without the container-only fields (API 1.50+).
    pub fn without_legacy_fields(mut self) -> Self {
        self.hostname = None;
        self.domainname = None;
        self.image = None;
        self.attach_stdin = None;
        self.attach_stdout = None;
        self.attach_stderr = None;
        self.tty = None;
        self.open_stdin = None;
        self.stdin_once = None;
        self
    }
}

/// One entry of `GET /images/{name}/history`, newest first (dockerd's field order).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ImageHistoryResponseItem {
    #[serde(default, deserialize_with = "nullable")]
    pub comment: String,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub created_by: String,
    /// The image id for an image's own entry, `<missing>` for the layers below.
    pub id: String,
    #[serde(default)]
    pub size: i64,
    /// `null` but for the entry of a tagged image.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

/// One item of `DELETE /images/{name}` and `ImagesDeleted` of an image prune.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ImageDeleteResponseItem {
    /// A reference removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untagged: Option<String>,
    /// An image or layer (chain id) deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
}

impl ImageDeleteResponseItem {
    pub fn untagged(reference: impl Into<String>) -> Self {
        ImageDeleteResponseItem {
            untagged: Some(reference.into()),
            deleted: None,
        }
    }
    pub fn deleted(id: impl Into<String>) -> Self {
        ImageDeleteResponseItem {
            untagged: None,
            deleted: Some(id.into()),
        }
    }
}

/// `POST /images/prune`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ImagePruneResponse {
    /// `null` when nothing was removed.
    #[serde(default)]
    pub images_deleted: Option<Vec<ImageDeleteResponseItem>>,
    #[serde(default)]
    pub space_reclaimed: u64,
}

/// One entry of `GET /images/search`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ImageSearchResponseItem {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub is_official: bool,
    /// Deprecated, always false.
    #[serde(default)]
    pub is_automated: bool,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub star_count: i64,
}

/// One manifest of an image index (`Manifests` with `manifests=1`, API 1.47+).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageManifestSummary {
    #[serde(rename = "ID")]
    pub id: String,
    pub descriptor: OciDescriptor,
    pub available: bool,
    pub size: ManifestSize,
    /// `image`, `attestation` or `unknown`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_data: Option<ManifestImageData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation_data: Option<ManifestAttestationData>,
}

/// `Size` of an [`ImageManifestSummary`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ManifestSize {
    pub total: i64,
    pub content: i64,
}

/// `ImageData` of an image manifest.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ManifestImageData {
    pub platform: OciPlatform,
    #[serde(default, deserialize_with = "nullable")]
    pub containers: Vec<String>,
    pub size: ManifestImageSize,
}

/// `Size` of [`ManifestImageData`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ManifestImageSize {
    pub unpacked: i64,
}

/// `AttestationData` of an attestation manifest.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ManifestAttestationData {
    pub r#for: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_config_fields_come_and_go() {
        let c = ImageConfig {
            cmd: Some(vec!["sh".into()]),
            ..Default::default()
        };
        let v = serde_json::to_value(c.clone()).expect("ser");
        // API 1.50: moby's "current" legacy set (always shown) and nothing else.
        assert_eq!(
            v,
            serde_json::json!({"User": "", "Env": null, "Cmd": ["sh"], "Volumes": null,
                "WorkingDir": "", "Entrypoint": null, "OnBuild": null, "Labels": null})
        );
        let legacy = serde_json::to_string(&c.with_legacy_fields()).expect("ser");
        assert_eq!(
            legacy,
            r#"{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["sh"],"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null}"#
        );
    }
}
