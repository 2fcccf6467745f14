//! The models against real bodies (`fixtures/`, see its README): what the reference
//! dockerd 20.10 answers at API 1.41 must come back from its type, adapted to 1.41 by
//! `compat`, exactly (the same fields, in the same order, with the same values) but for
//! the differences listed here with their reason; what the docker CLI 28 sends must parse
//! and keep every field.

mod roundtrip;

use berth_models::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// dockerd 20.10's API version.
const V1_41: ApiVersion = ApiVersion(1, 41);

/// Where Berth's models differ from dockerd 20.10's answers at 1.41, with why:
/// `(file, path, why)`.
const DIFFERENCES: &[(&str, &str, &str)] = &[
    // Newer API versions added these to endpoints; dockerd 28 sends them at every
    // version (they are not gated), so Berth does too.
    (
        "container-inspect",
        ".NetworkSettings.Networks.bridge.GwPriority",
        "API 1.48 field, not gated by version in dockerd",
    ),
    (
        "container-inspect",
        ".NetworkSettings.Networks.bridge.DNSNames",
        "API 1.44 field, not gated by version in dockerd",
    ),
    (
        "container-list",
        "[*].NetworkSettings.Networks.bridge.GwPriority",
        "API 1.48 field, not gated by version in dockerd",
    ),
    (
        "container-list",
        "[*].NetworkSettings.Networks.bridge.DNSNames",
        "API 1.44 field, not gated by version in dockerd",
    ),
    (
        "df",
        ".Containers[*].NetworkSettings.Networks.none.GwPriority",
        "API 1.48 field, not gated by version in dockerd",
    ),
    (
        "df",
        ".Containers[*].NetworkSettings.Networks.none.DNSNames",
        "API 1.44 field, not gated by version in dockerd",
    ),
    (
        "df",
        ".Containers[*].NetworkSettings.Networks.bridge.GwPriority",
        "API 1.48 field, not gated by version in dockerd",
    ),
    (
        "df",
        ".Containers[*].NetworkSettings.Networks.bridge.DNSNames",
        "API 1.44 field, not gated by version in dockerd",
    ),
    // Dropped by dockerd 28 from 1.42 on, and Berth's HostConfig has no such field:
    // kernel memory limits are refused.
    (
        "container-inspect",
        ".HostConfig.KernelMemory",
        "not modelled: gone from the API in 1.42",
    ),
];

/// `fixtures/<dir>/<name>.json`.
fn fixture(dir: &str, name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/{dir}/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Whether `path` of fixture `name` is a listed difference (`[*]`: any index).
fn allowed(name: &str, path: &str) -> bool {
    let mut any_index = String::new();
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                any_index.push_str("[*");
            }
            ']' => {
                in_index = false;
                any_index.push(']');
            }
            _ if in_index => {}
            c => any_index.push(c),
        }
    }
    DIFFERENCES
        .iter()
        .any(|(n, p, _)| *n == name && *p == any_index)
}

/// Report every difference between `want` and `got`: fields missing, added, in
/// another order, or with other values.
fn same(name: &str, want: &Value, got: &Value, path: &str, errors: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            let wk: Vec<&String> = w
                .keys()
                .filter(|k| !allowed(name, &format!("{path}.{k}")))
                .collect();
            let gk: Vec<&String> = g
                .keys()
                .filter(|k| !allowed(name, &format!("{path}.{k}")))
                .collect();
            for k in &wk {
                if !g.contains_key(k.as_str()) {
                    errors.push(format!("{name} {path}.{k}: lost (was {})", w[k.as_str()]));
                }
            }
            for k in &gk {
                if !w.contains_key(k.as_str()) {
                    errors.push(format!("{name} {path}.{k}: added ({})", g[k.as_str()]));
                }
            }
            let wo: Vec<&&String> = wk.iter().filter(|k| g.contains_key(k.as_str())).collect();
            let go: Vec<&&String> = gk.iter().filter(|k| w.contains_key(k.as_str())).collect();
            if wo != go {
                errors.push(format!("{name} {path}: order {wo:?}, came back {go:?}"));
            }
            for k in wk {
                if let Some(gv) = g.get(k.as_str()) {
                    same(name, &w[k.as_str()], gv, &format!("{path}.{k}"), errors);
                }
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                same(name, wv, gv, &format!("{path}[{i}]"), errors);
            }
        }
        (Value::Number(w), Value::Number(g)) if w.as_f64() == g.as_f64() => {}
        (w, g) if w == g => {}
        (w, g) => errors.push(format!("{name} {path}: was {w}, came back {g}")),
    }
}

/// Parse `name`'s body, adapt it with `adapt`, write it back: it must be the same body.
fn exact<T: DeserializeOwned + Serialize>(
    name: &str,
    adapt: impl Fn(&mut T),
    errors: &mut Vec<String>,
) {
    let body = fixture("dockerd-20.10", name);
    let mut parsed: T = match serde_json::from_value(body.clone()) {
        Ok(t) => t,
        Err(e) => return errors.push(format!("{name}: does not parse: {e}")),
    };
    adapt(&mut parsed);
    let back = serde_json::to_value(&parsed).expect("serialize");
    same(name, &body, &back, "", errors);
}

fn at_1_41<T: ForVersion>(t: &mut T) {
    t.for_version(V1_41);
}

fn as_is<T>(_: &mut T) {}

#[test]
fn dockerd_answers_come_back_as_dockerd_wrote_them() {
    let mut e = Vec::new();
    exact::<ImageInspect>("image-inspect", at_1_41, &mut e);
    exact::<ImageInspect>("image-inspect-commit", at_1_41, &mut e);
    exact::<Vec<ImageSummary>>("image-list", at_1_41, &mut e);
    exact::<Vec<ImageHistoryResponseItem>>("image-history", as_is, &mut e);
    exact::<Vec<ImageDeleteResponseItem>>("image-delete", as_is, &mut e);
    exact::<ImagePruneResponse>("image-prune", as_is, &mut e);
    exact::<SystemInfo>("info", at_1_41, &mut e);
    exact::<SystemVersion>("version", as_is, &mut e);
    exact::<DiskUsage>("df", at_1_41, &mut e);
    exact::<Vec<EventMessage>>("events", as_is, &mut e);
    exact::<ExecInspect>("exec-inspect", as_is, &mut e);
    exact::<Vec<FilesystemChange>>("changes", as_is, &mut e);
    exact::<ContainerTopResponse>("top", as_is, &mut e);
    exact::<ContainerStatsResponse>("stats", as_is, &mut e);
    exact::<ContainerPruneResponse>("container-prune", as_is, &mut e);
    exact::<CreateResponse>("container-create-response", as_is, &mut e);
    exact::<ContainerInspect>("container-inspect", at_1_41, &mut e);
    exact::<Vec<ContainerSummary>>("container-list", at_1_41, &mut e);
    exact::<Vec<JsonMessage>>("build-stream", as_is, &mut e);
    assert!(e.is_empty(), "\n{}", e.join("\n"));
}

#[test]
fn build_stream_lines_are_typed() {
    let lines: Vec<JsonMessage> =
        serde_json::from_value(fixture("dockerd-20.10", "build-stream")).expect("parse");
    let ids: Vec<&Aux> = lines.iter().filter_map(|l| l.aux.as_ref()).collect();
    assert!(
        matches!(ids[..], [Aux::ImageId(ImageId { id })] if id.starts_with("sha256:")),
        "{ids:?}"
    );
    assert!(lines[0].stream.starts_with("Step 1/5"));
}

#[test]
fn docker_cli_build_query_parses() {
    let pairs: Vec<(String, String)> =
        serde_json::from_value(fixture("docker-cli-28", "build-query")).expect("pairs");
    let o = BuildOptions::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .expect("parse");
    assert_eq!(o.tags, ["mdlbuild:1"]);
    assert_eq!(o.build_args["A"].as_deref(), Some("1"));
    assert_eq!(o.labels["l"], "v");
    assert_eq!((o.network_mode.as_str(), o.version.as_str()), ("none", "1"));
    assert!(o.rm, "rm defaults to true");
}

#[test]
fn docker_cli_requests_parse_and_keep_every_field() {
    let mut e = Vec::new();
    let mut req = |name: &str, f: fn(&str, &Value) -> Vec<String>| {
        e.extend(f(name, &fixture("docker-cli-28", name)));
    };
    req("container-create", |n, v| {
        roundtrip::check::<CreateRequest>(n, v, &[])
    });
    req("container-update", |n, v| {
        roundtrip::check::<ContainerUpdate>(n, v, &[])
    });
    req("exec-create", |n, v| {
        roundtrip::check::<ExecConfig>(n, v, &[])
    });
    req("exec-create-detach", |n, v| {
        roundtrip::check::<ExecConfig>(n, v, &[])
    });
    req("exec-start", |n, v| {
        roundtrip::check::<ExecStartConfig>(n, v, &[])
    });
    req("exec-start-detach", |n, v| {
        roundtrip::check::<ExecStartConfig>(n, v, &[])
    });
    req("network-create", |n, v| {
        roundtrip::check::<NetworkCreateRequest>(n, v, &[])
    });
    req("volume-create", |n, v| {
        roundtrip::check::<VolumeCreateOptions>(n, v, &[])
    });
    req("auth", |n, v| roundtrip::check::<AuthConfig>(n, v, &[]));
    assert!(e.is_empty(), "\n{}", e.join("\n"));
}
