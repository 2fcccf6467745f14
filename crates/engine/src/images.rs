//! JSON views of images, as `GET /images/json` and `GET /images/{name}/json` show them.

use berth_store::Image;
use serde_json::{Value, json};

use crate::time;

/// One entry of `GET /images/json`.
pub fn summary(img: &Image) -> Value {
    json!({
        "Id": img.id,
        "ParentId": "",
        "RepoTags": img.repo_tags,
        "RepoDigests": img.repo_digests,
        "Created": img.config.created.as_deref().map_or(0, time::unix_seconds),
        "Size": img.size,
        "VirtualSize": img.size,
        "SharedSize": -1,
        "Labels": img.config.config.labels,
        "Containers": -1,
    })
}

/// `GET /images/{name}/json`.
pub fn inspect(img: &Image) -> Value {
    let c = &img.config;
    json!({
        "Id": img.id,
        "RepoTags": img.repo_tags,
        "RepoDigests": img.repo_digests,
        "Parent": "",
        "Comment": c.comment.clone().unwrap_or_default(),
        "Created": c.created.clone().unwrap_or_else(|| berth_models::ZERO_TIME.to_string()),
        "DockerVersion": "",
        "Author": c.author.clone().unwrap_or_default(),
        "Config": c.config,
        "Architecture": c.architecture,
        "Variant": c.variant,
        "Os": c.os,
        "Size": img.size,
        "VirtualSize": img.size,
        "GraphDriver": { "Name": "overlay", "Data": null },
        "RootFS": { "Type": "layers", "Layers": img.diff_ids },
        "Metadata": { "LastTagTime": berth_models::ZERO_TIME },
    })
}
