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

/// `GraphDriver.Data` of an image as overlay2 shows it: the top layer as `UpperDir`, the
/// others (top first) as `LowerDir`.
pub fn graph_data(dirs: &[std::path::PathBuf]) -> Value {
    let Some((top, lower)) = dirs.split_last() else {
        return Value::Null;
    };
    let mut data = serde_json::Map::new();
    if !lower.is_empty() {
        let l: Vec<String> = lower
            .iter()
            .rev()
            .map(|p| p.display().to_string())
            .collect();
        data.insert("LowerDir".into(), json!(l.join(":")));
    }
    data.insert("UpperDir".into(), json!(top.display().to_string()));
    Value::Object(data)
}

/// A container config with every field Docker shows (`omitempty` ones only when set),
/// the image's values over Docker's zero values.
fn full_config(v: &Value) -> Value {
    let g = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    let s = |k: &str| v.get(k).cloned().unwrap_or_else(|| json!(""));
    let b = |k: &str| v.get(k).cloned().unwrap_or(json!(false));
    let mut out = serde_json::Map::new();
    let mut put = |k: &str, val: Value| {
        out.insert(k.to_string(), val);
    };
    put("Hostname", s("Hostname"));
    put("Domainname", s("Domainname"));
    put("User", s("User"));
    put("AttachStdin", b("AttachStdin"));
    put("AttachStdout", b("AttachStdout"));
    put("AttachStderr", b("AttachStderr"));
    for k in ["ExposedPorts"] {
        if let Some(x) = v.get(k).filter(|x| !x.is_null()) {
            put(k, x.clone());
        }
    }
    put("Tty", b("Tty"));
    put("OpenStdin", b("OpenStdin"));
    put("StdinOnce", b("StdinOnce"));
    put("Env", g("Env"));
    put("Cmd", g("Cmd"));
    for k in ["Healthcheck", "ArgsEscaped"] {
        if let Some(x) = v.get(k).filter(|x| !x.is_null()) {
            put(k, x.clone());
        }
    }
    put("Image", s("Image"));
    put("Volumes", g("Volumes"));
    put("WorkingDir", s("WorkingDir"));
    put("Entrypoint", g("Entrypoint"));
    put("OnBuild", g("OnBuild"));
    put("Labels", g("Labels"));
    for k in ["StopSignal", "StopTimeout", "Shell"] {
        if let Some(x) = v.get(k).filter(|x| !x.is_null()) {
            put(k, x.clone());
        }
    }
    Value::Object(out)
}

/// `GET /images/{name}/json`, with the fields `docker image inspect` shows.
pub fn inspect(img: &Image) -> Value {
    let c = &img.config;
    let config = full_config(&serde_json::to_value(&c.config).unwrap_or(Value::Null));
    let container_config = full_config(c.container_config.as_ref().unwrap_or(&Value::Null));
    let mut v = json!({
        "Id": img.id,
        "RepoTags": img.repo_tags,
        "RepoDigests": img.repo_digests,
        "Parent": "",
        "Comment": c.comment.clone().unwrap_or_default(),
        "Created": c.created.clone().unwrap_or_else(|| berth_models::ZERO_TIME.to_string()),
        "Container": c.container.clone().unwrap_or_default(),
        "ContainerConfig": container_config,
        "DockerVersion": c.docker_version.clone().unwrap_or_default(),
        "Author": c.author.clone().unwrap_or_default(),
        "Config": config,
        "Architecture": c.architecture(),
        "Os": c.os(),
        "Size": img.size,
        "VirtualSize": img.size,
        "GraphDriver": { "Name": "overlay", "Data": null },
        "RootFS": { "Type": "layers", "Layers": img.diff_ids },
        "Metadata": { "LastTagTime": berth_models::ZERO_TIME },
    });
    if let Some(variant) = &c.variant {
        v["Variant"] = json!(variant);
    }
    v
}
