//! Docker's image config: OCI's image config (oci-spec's [`RootFs`], [`History`], [`Arch`]
//! and [`Os`] for its parts) with Docker's container config as its `config`
//! ([`RunConfig`]: OCI's fields and Docker's own, `Healthcheck`, `OnBuild`, `Shell`,
//! `StopTimeout`, `ArgsEscaped`, `Hostname`...) and Docker's legacy fields (`comment`,
//! `container`, `container_config`, `docker_version`).
//!
//! Not oci-spec's `ImageConfiguration` wrapped with `#[serde(flatten)]`: flattening
//! buffers the whole document before parsing it, which made reading a config 20-25%
//! slower (CPU time on the test images' configs; this type is within 5% of the
//! hand-written one it replaced), and every image listing reads every config.
//! [`ImageConfig::to_oci`] gives the OCI view.
//!
//! The config blob as loaded stays the image's identity (its sha256 is the id) and is
//! what `save` writes back, byte for byte; these types are what Berth reads of it, and
//! what it writes for the images it makes (commit, import).

use std::collections::BTreeMap;

use oci_spec::image::{Arch, History, ImageConfiguration, Os, RootFs};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::Error;

/// An image config as Docker writes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// RFC 3339 creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// OCI requires it; Docker does without (then `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<Arch>,
    /// OCI requires it; Docker does without (then `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<Os>,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    #[serde(
        rename = "os.features",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_features: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Defaults for containers of the image.
    #[serde(default, deserialize_with = "null_as_default")]
    pub config: RunConfig,
    /// The layers' diff ids (Docker refuses a config without it, and so does this).
    pub rootfs: RootFs,
    /// One entry per build step, oldest first.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub history: Vec<History>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Id of the container a commit was made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// That container's config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_version: Option<String>,
}

fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl ImageConfig {
    /// Read a config blob.
    pub fn parse(data: &[u8]) -> Result<ImageConfig, Error> {
        serde_json::from_slice(data).map_err(|e| Error::Config(e.to_string()))
    }

    /// The JSON of a new config (commit, import): its sha256 is the image's id.
    pub fn to_json(&self) -> Result<String, Error> {
        serde_json::to_string(self).map_err(|e| Error::Config(e.to_string()))
    }

    /// GOARCH (`amd64`...), empty if the config has none.
    pub fn architecture(&self) -> String {
        self.architecture
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// GOOS (`linux`...), empty if the config has none.
    pub fn os(&self) -> String {
        self.os
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// Layer diff ids (`sha256:<hex>`), bottom-most first.
    pub fn diff_ids(&self) -> &[String] {
        self.rootfs.diff_ids()
    }

    /// The OCI view: what of this config OCI defines (Docker's container config cut down
    /// to OCI's fields; missing architecture and os as the host's).
    pub fn to_oci(&self) -> Result<ImageConfiguration, Error> {
        let c = &self.config;
        let mut config = oci_spec::image::ConfigBuilder::default();
        if let Some(u) = &c.user {
            config = config.user(u.clone());
        }
        if let Some(p) = &c.exposed_ports {
            config = config.exposed_ports(p.keys().cloned().collect::<Vec<_>>());
        }
        if let Some(e) = &c.env {
            config = config.env(e.clone());
        }
        if let Some(e) = &c.entrypoint {
            config = config.entrypoint(e.clone());
        }
        if let Some(e) = &c.cmd {
            config = config.cmd(e.clone());
        }
        if let Some(v) = &c.volumes {
            config = config.volumes(v.keys().cloned().collect::<Vec<_>>());
        }
        if let Some(w) = &c.working_dir {
            config = config.working_dir(w.clone());
        }
        if let Some(l) = &c.labels {
            config = config.labels(
                l.iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<std::collections::HashMap<_, _>>(),
            );
        }
        if let Some(s) = &c.stop_signal {
            config = config.stop_signal(s.clone());
        }
        let mut b = oci_spec::image::ImageConfigurationBuilder::default()
            .architecture(self.architecture.clone().unwrap_or_default())
            .os(self.os.clone().unwrap_or_default())
            .config(config.build()?)
            .rootfs(self.rootfs.clone())
            .history(self.history.clone());
        if let Some(v) = &self.created {
            b = b.created(v.clone());
        }
        if let Some(v) = &self.author {
            b = b.author(v.clone());
        }
        if let Some(v) = &self.os_version {
            b = b.os_version(v.clone());
        }
        if let Some(v) = &self.os_features {
            b = b.os_features(v.clone());
        }
        if let Some(v) = &self.variant {
            b = b.variant(v.clone());
        }
        Ok(b.build()?)
    }
}

/// The host's architecture as Go (and OCI) name it.
pub fn host_arch() -> Arch {
    Arch::default()
}

/// Docker's container config (`container.Config`) as images carry it: the `config` of an
/// image config, every field of it, in Docker's order. `None` is a field the config does
/// not have (or has as `null`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stdin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stdout: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stderr: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_stdin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin_once: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// Docker's `HEALTHCHECK` (`Test`, `Interval`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Value>,
    /// Docker's: the command line is already escaped (Windows images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_escaped: Option<bool>,
    /// The image a container was created from (Docker's legacy builder sets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    /// Docker's `ONBUILD` instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Docker's: seconds to wait after the stop signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    /// Docker's `SHELL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_fields_survive_a_round_trip() {
        let text = r##"{"architecture":"amd64","os":"linux","variant":"v8","created":"2024-01-01T00:00:00Z","author":"me",
            "config":{"Hostname":"h","Tty":true,"Env":["A=1"],"Cmd":["sh"],"Healthcheck":{"Test":["CMD","true"],"Interval":1000},
                "OnBuild":["RUN x"],"Shell":["/bin/bash","-c"],"StopTimeout":7,"ArgsEscaped":true,"Labels":{"b":"2","a":"1"},
                "ExposedPorts":{"80/tcp":{}},"Image":"sha256:abc"},
            "container_config":{"Cmd":["/bin/sh","-c","#(nop) CMD"]},"container":"c1","docker_version":"20.10.24","comment":"hi",
            "rootfs":{"type":"layers","diff_ids":["sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]},
            "history":[{"created":"2024-01-01T00:00:00Z","created_by":"ADD x","empty_layer":true}]}"##;
        let c = ImageConfig::parse(text.as_bytes()).expect("parse");
        assert_eq!(c.architecture(), "amd64");
        assert_eq!(c.os(), "linux");
        assert_eq!(c.variant.as_deref(), Some("v8"));
        assert_eq!(c.created.as_deref(), Some("2024-01-01T00:00:00Z"));
        assert_eq!(c.author.as_deref(), Some("me"));
        assert_eq!(c.diff_ids().len(), 1);
        assert_eq!(c.history[0].empty_layer(), Some(true));
        assert_eq!(c.config.stop_timeout, Some(7));
        assert_eq!(c.config.args_escaped, Some(true));
        assert_eq!(c.config.hostname.as_deref(), Some("h"));
        let oci = c.to_oci().expect("oci");
        assert_eq!(oci.architecture(), &Arch::Amd64);
        assert_eq!(oci.rootfs(), &c.rootfs);
        assert_eq!(
            oci.config().as_ref().and_then(|x| x.cmd().clone()),
            Some(vec!["sh".to_string()])
        );
        assert_eq!(c.docker_version.as_deref(), Some("20.10.24"));
        let again = ImageConfig::parse(c.to_json().expect("json").as_bytes()).expect("reparse");
        assert_eq!(again, c);
        let a: Value = serde_json::from_str(text).expect("json");
        let b: Value = serde_json::from_str(&c.to_json().expect("json")).expect("json");
        assert_eq!(a, b, "nothing lost");
    }

    #[test]
    fn docker_configs_without_architecture_or_os_are_read() {
        let c = ImageConfig::parse(
            br#"{"config":null,"history":null,"rootfs":{"type":"layers","diff_ids":[]}}"#,
        )
        .expect("lenient");
        assert_eq!(c.architecture(), "");
        assert!(c.history.is_empty());
        // Docker refuses a config without rootfs.
        assert!(ImageConfig::parse(br#"{"architecture":"amd64","os":"linux"}"#).is_err());
        assert!(ImageConfig::parse(b"[]").is_err());
    }
}
