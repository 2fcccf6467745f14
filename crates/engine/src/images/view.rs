//! Images as the API shows them: a store [`Image`] to `GET /images/json`'s
//! [`ImageSummary`] and `GET /images/{name}/json`'s [`ImageInspect`], in the newest API
//! version's shape (the api crate adapts them to older versions with
//! [`berth_models::compat`]). The one place that maps the image config to the API's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use berth_models::{
    EmptyObject, GraphDriverData, HealthConfig, ImageConfig, ImageInspect, ImageMetadata,
    ImageSummary, RootFs, ZERO_TIME,
};
use berth_store::Image;
use serde_json::Value;

use crate::time;

/// One entry of `GET /images/json` (`ParentId` and `Containers` are the caller's).
pub fn summary(img: &Image) -> ImageSummary {
    ImageSummary {
        containers: -1,
        created: img.config.created.as_deref().map_or(0, time::unix_seconds),
        id: img.id.clone(),
        labels: img.config.config.labels.clone(),
        parent_id: String::new(),
        descriptor: None,
        manifests: None,
        repo_digests: Some(img.repo_digests.clone()),
        repo_tags: Some(img.repo_tags.clone()),
        shared_size: -1,
        size: img.size as i64,
        virtual_size: None,
    }
}

/// `GraphDriver.Data` of an image as overlay2 shows it: the top layer as `UpperDir`, the
/// others (top first) as `LowerDir`.
pub fn graph_data(dirs: &[PathBuf]) -> BTreeMap<String, String> {
    let mut data = BTreeMap::new();
    let Some((top, lower)) = dirs.split_last() else {
        return data;
    };
    if !lower.is_empty() {
        let l: Vec<String> = lower
            .iter()
            .rev()
            .map(|p| p.display().to_string())
            .collect();
        data.insert("LowerDir".into(), l.join(":"));
    }
    data.insert("UpperDir".into(), top.display().to_string());
    data
}

/// The keys of a `{"80/tcp": {}}` map.
fn key_set(m: &Option<BTreeMap<String, Value>>) -> Option<BTreeMap<String, EmptyObject>> {
    m.as_ref()
        .map(|m| m.keys().map(|k| (k.clone(), EmptyObject {})).collect())
}

/// A health check as recorded in an image config (unknown or mistyped parts dropped,
/// as dockerd's typed decode would).
fn health(v: &Option<Value>) -> Option<HealthConfig> {
    v.as_ref()
        .and_then(|h| serde_json::from_value(h.clone()).ok())
}

/// The image config's `config` as the API's [`ImageConfig`].
fn image_config(c: &berth_oci::RunConfig) -> ImageConfig {
    ImageConfig {
        user: c.user.clone().unwrap_or_default(),
        exposed_ports: key_set(&c.exposed_ports),
        env: c.env.clone(),
        cmd: c.cmd.clone(),
        healthcheck: health(&c.healthcheck),
        volumes: key_set(&c.volumes),
        working_dir: c.working_dir.clone().unwrap_or_default(),
        entrypoint: c.entrypoint.clone(),
        on_build: c.on_build.clone(),
        labels: c.labels.clone(),
        stop_signal: c.stop_signal.clone(),
        shell: c.shell.clone(),
        ..Default::default()
    }
}

/// A legacy `container_config` (a whole container config, as dockerd 20.10 recorded it)
/// as the API's [`ImageConfig`]; what does not parse is left out.
fn container_config(v: Option<&Value>) -> ImageConfig {
    v.and_then(|v| serde_json::from_value::<ImageConfig>(v.clone()).ok())
        .unwrap_or_default()
}

/// `GET /images/{name}/json` (`Parent` and `GraphDriver.Data` are the caller's), with
/// the fields of every version filled in: `Container` and `ContainerConfig` included.
pub fn inspect(img: &Image) -> ImageInspect {
    let c = &img.config;
    ImageInspect {
        id: img.id.clone(),
        repo_tags: img.repo_tags.clone(),
        repo_digests: img.repo_digests.clone(),
        parent: String::new(),
        comment: c.comment.clone().unwrap_or_default(),
        created: c.created.clone().unwrap_or_default(),
        container: Some(c.container.clone().unwrap_or_default()),
        container_config: Some(container_config(c.container_config.as_ref())),
        docker_version: c.docker_version.clone().unwrap_or_default(),
        author: c.author.clone().unwrap_or_default(),
        config: Some(image_config(&c.config)),
        architecture: c.architecture(),
        variant: c.variant.clone().unwrap_or_default(),
        os: c.os(),
        os_version: String::new(),
        size: img.size as i64,
        virtual_size: None,
        graph_driver: GraphDriverData {
            data: BTreeMap::new(),
            name: "overlay".into(),
        },
        root_fs: RootFs {
            r#type: "layers".into(),
            layers: img.diff_ids.clone(),
        },
        metadata: ImageMetadata {
            last_tag_time: ZERO_TIME.into(),
        },
        descriptor: None,
        manifests: None,
    }
}
