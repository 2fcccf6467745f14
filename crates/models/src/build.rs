//! Builds and JSON message streams: the query of `POST /build` ([`BuildOptions`], parsed
//! with [`BuildOptions::from_query`]), the stream items of build, pull, push, load and
//! import ([`JsonMessage`] with its [`ErrorDetail`], [`ProgressDetail`] and [`Aux`]), the
//! build cache ([`BuildCache`]) and `POST /build/prune` ([`BuildPruneResponse`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::distribution::PushResult;
use crate::serde_util::{is_false, is_zero};

/// One line of a JSON message stream (moby's `jsonmessage.JSONMessage`), in dockerd's
/// field order; every field is left out when empty. Build output is `stream`, pull and
/// push progress `status`/`id`/`progressDetail`, a failure `errorDetail` plus `error`
/// (the same text, for old clients).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct JsonMessage {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stream: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(
        default,
        rename = "progressDetail",
        skip_serializing_if = "Option::is_none"
    )]
    pub progress_detail: Option<ProgressDetail>,
    /// The progress bar as text (deprecated in API 1.48, still sent).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub progress: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub time: i64,
    #[serde(default, rename = "timeNano", skip_serializing_if = "is_zero")]
    pub time_nano: i64,
    #[serde(
        default,
        rename = "errorDetail",
        skip_serializing_if = "Option::is_none"
    )]
    pub error_detail: Option<ErrorDetail>,
    /// The error's message again (deprecated in API 1.48, still sent).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aux: Option<Aux>,
}

impl JsonMessage {
    /// `{"stream": text}`.
    pub fn stream(text: impl Into<String>) -> Self {
        JsonMessage {
            stream: text.into(),
            ..Default::default()
        }
    }

    /// `{"status": text}`.
    pub fn status(text: impl Into<String>) -> Self {
        JsonMessage {
            status: text.into(),
            ..Default::default()
        }
    }

    /// `{"errorDetail": {"message": m}, "error": m}`, as moby's `FormatError` writes it.
    pub fn error(message: impl Into<String>) -> Self {
        let message = message.into();
        JsonMessage {
            error_detail: Some(ErrorDetail {
                code: 0,
                message: message.clone(),
            }),
            error: message,
            ..Default::default()
        }
    }

    /// The line as a stream carries it: JSON and `\r\n` (moby's stream formatter).
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push_str("\r\n");
        s
    }
}

/// `errorDetail` of a [`JsonMessage`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorDetail {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub code: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// `progressDetail` of a [`JsonMessage`] (bytes, or `units`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProgressDetail {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub current: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub total: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start: i64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub hidecounts: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub units: String,
}

/// `aux` of a [`JsonMessage`]: the built image's id, a push's result, or what else a
/// stream carries there (BuildKit's trace), kept as it came.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Aux {
    ImageId(ImageId),
    Push(PushResult),
    Other(Value),
}

/// `aux` of a build's last line (`ImageID` in the API): the image built.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ImageId {
    #[serde(rename = "ID")]
    pub id: String,
}

/// One record of the build cache (`BuildCache` of `GET /system/df`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct BuildCache {
    #[serde(rename = "ID")]
    pub id: String,
    /// Below API 1.42 (replaced by `Parents`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub parent: String,
    /// API 1.42+.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parents: Option<Vec<String>>,
    pub r#type: String,
    #[serde(default)]
    pub description: String,
    pub in_use: bool,
    pub shared: bool,
    pub size: i64,
    pub created_at: String,
    #[serde(default)]
    pub last_used_at: Option<String>,
    pub usage_count: i64,
}

/// `POST /build/prune`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct BuildPruneResponse {
    /// `null` when nothing was removed.
    #[serde(default)]
    pub caches_deleted: Option<Vec<String>>,
    #[serde(default)]
    pub space_reclaimed: u64,
}

/// One `--output` of a build (`outputs`, BuildKit only).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct BuildOutput {
    pub r#type: String,
    #[serde(default)]
    pub attrs: BTreeMap<String, String>,
}

/// A `--ulimit` of a build (`ulimits`).
pub type BuildUlimit = crate::container::Ulimit;

/// The query of `POST /build` (the body is the context tar), as the docker CLI and the
/// SDKs send it: JSON-encoded values for `buildargs`, `labels`, `cachefrom`, `ulimits`
/// and `outputs`; `t` repeated.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildOptions {
    /// Path of the Dockerfile in the context (default `Dockerfile`).
    pub dockerfile: String,
    /// `-t`: the names to tag the result with.
    pub tags: Vec<String>,
    /// `--add-host`, comma-separated `name:ip`.
    pub extra_hosts: String,
    /// A Git URL or a URL of a context tar, instead of the body.
    pub remote: String,
    pub quiet: bool,
    pub no_cache: bool,
    pub cache_from: Vec<String>,
    /// `--pull`: always pull the base images.
    pub pull: bool,
    /// Remove intermediate containers after a success (default true).
    pub rm: bool,
    pub force_rm: bool,
    pub memory: i64,
    pub memory_swap: i64,
    pub cpu_shares: i64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    pub cpu_period: i64,
    pub cpu_quota: i64,
    pub cgroup_parent: String,
    /// `--build-arg`: a value, or `None` to take it from the environment.
    pub build_args: BTreeMap<String, Option<String>>,
    pub shm_size: i64,
    pub squash: bool,
    pub labels: BTreeMap<String, String>,
    pub network_mode: String,
    pub platform: String,
    pub target: String,
    pub outputs: Vec<BuildOutput>,
    pub ulimits: Vec<BuildUlimit>,
    pub isolation: String,
    /// `1` (classic builder) or `2` (BuildKit).
    pub version: String,
    /// BuildKit's session and build ids.
    pub session: String,
    pub build_id: String,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            dockerfile: "Dockerfile".into(),
            tags: Vec::new(),
            extra_hosts: String::new(),
            remote: String::new(),
            quiet: false,
            no_cache: false,
            cache_from: Vec::new(),
            pull: false,
            rm: true,
            force_rm: false,
            memory: 0,
            memory_swap: 0,
            cpu_shares: 0,
            cpuset_cpus: String::new(),
            cpuset_mems: String::new(),
            cpu_period: 0,
            cpu_quota: 0,
            cgroup_parent: String::new(),
            build_args: BTreeMap::new(),
            shm_size: 0,
            squash: false,
            labels: BTreeMap::new(),
            network_mode: String::new(),
            platform: String::new(),
            target: String::new(),
            outputs: Vec::new(),
            ulimits: Vec::new(),
            isolation: String::new(),
            version: "1".into(),
            session: String::new(),
            build_id: String::new(),
        }
    }
}

/// A `POST /build` query Berth cannot take.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildQueryError {
    #[error("unknown build option {0:?}")]
    Unknown(String),
    #[error("invalid value for build option {name}: {message}")]
    Invalid { name: String, message: String },
}

/// moby's `httputils.BoolValue`: false for "", "0", "no", "false", "none".
fn bool_value(v: &str) -> bool {
    !matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "" | "0" | "no" | "false" | "none"
    )
}

impl BuildOptions {
    /// Parse the query pairs of `POST /build` in order (`t` may repeat). A parameter the
    /// API does not define is refused rather than ignored.
    pub fn from_query<'a, I>(pairs: I) -> Result<Self, BuildQueryError>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        fn json<T: for<'de> Deserialize<'de> + Default>(
            name: &str,
            v: &str,
        ) -> Result<T, BuildQueryError> {
            if v.is_empty() {
                return Ok(T::default());
            }
            serde_json::from_str(v).map_err(|e| BuildQueryError::Invalid {
                name: name.into(),
                message: e.to_string(),
            })
        }
        fn int(name: &str, v: &str) -> Result<i64, BuildQueryError> {
            if v.is_empty() {
                return Ok(0);
            }
            v.parse()
                .map_err(|e: std::num::ParseIntError| BuildQueryError::Invalid {
                    name: name.into(),
                    message: e.to_string(),
                })
        }
        let mut o = BuildOptions::default();
        for (k, v) in pairs {
            match k {
                "dockerfile" => {
                    if !v.is_empty() {
                        o.dockerfile = v.into();
                    }
                }
                "t" => o.tags.push(v.into()),
                "extrahosts" => o.extra_hosts = v.into(),
                "remote" => o.remote = v.into(),
                "q" => o.quiet = bool_value(v),
                "nocache" => o.no_cache = bool_value(v),
                "cachefrom" => o.cache_from = json(k, v)?,
                "pull" => o.pull = bool_value(v),
                "rm" => o.rm = bool_value(v),
                "forcerm" => o.force_rm = bool_value(v),
                "memory" => o.memory = int(k, v)?,
                "memswap" => o.memory_swap = int(k, v)?,
                "cpushares" => o.cpu_shares = int(k, v)?,
                "cpusetcpus" => o.cpuset_cpus = v.into(),
                "cpusetmems" => o.cpuset_mems = v.into(),
                "cpuperiod" => o.cpu_period = int(k, v)?,
                "cpuquota" => o.cpu_quota = int(k, v)?,
                "cgroupparent" => o.cgroup_parent = v.into(),
                "buildargs" => o.build_args = json(k, v)?,
                "shmsize" => o.shm_size = int(k, v)?,
                "squash" => o.squash = bool_value(v),
                "labels" => o.labels = json(k, v)?,
                "networkmode" => o.network_mode = v.into(),
                "platform" => o.platform = v.into(),
                "target" => o.target = v.into(),
                "outputs" => o.outputs = json(k, v)?,
                "ulimits" => o.ulimits = json(k, v)?,
                "isolation" => o.isolation = v.into(),
                "version" => {
                    if !v.is_empty() {
                        o.version = v.into();
                    }
                }
                "session" => o.session = v.into(),
                "buildid" => o.build_id = v.into(),
                other => return Err(BuildQueryError::Unknown(other.into())),
            }
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_written_as_moby_writes_them() {
        assert_eq!(
            JsonMessage::error("bad \"tar\"").to_line(),
            concat!(
                r#"{"errorDetail":{"message":"bad \"tar\""},"error":"bad \"tar\""}"#,
                "\r\n"
            )
        );
        assert_eq!(
            serde_json::to_string(&JsonMessage::stream("Loaded image: a:1\n")).expect("ser"),
            r#"{"stream":"Loaded image: a:1\n"}"#
        );
        let aux: JsonMessage =
            serde_json::from_str(r#"{"aux":{"ID":"sha256:ab"}}"#).expect("parse");
        assert_eq!(
            aux.aux,
            Some(Aux::ImageId(ImageId {
                id: "sha256:ab".into()
            }))
        );
        let push: JsonMessage =
            serde_json::from_str(r#"{"aux":{"Tag":"1","Digest":"sha256:cd","Size":5}}"#)
                .expect("parse");
        assert!(matches!(push.aux, Some(Aux::Push(ref p)) if p.size == 5));
        let other: JsonMessage =
            serde_json::from_str(r#"{"id":"moby.buildkit.trace","aux":"AAEC"}"#).expect("parse");
        assert_eq!(other.aux, Some(Aux::Other(Value::from("AAEC"))));
    }

    #[test]
    fn build_query_parses_as_the_cli_sends_it() {
        let q = [
            ("t", "a:1"),
            ("t", "b"),
            ("buildargs", r#"{"X":"1","Y":null}"#),
            ("labels", r#"{"l":"v"}"#),
            ("rm", "0"),
            ("q", "1"),
            ("memory", "1024"),
            ("cachefrom", r#"["c:1"]"#),
            ("dockerfile", ""),
        ];
        let o = BuildOptions::from_query(q).expect("parse");
        assert_eq!(o.tags, ["a:1", "b"]);
        assert_eq!(o.build_args["X"], Some("1".into()));
        assert_eq!(o.build_args["Y"], None);
        assert_eq!(o.labels["l"], "v");
        assert!(!o.rm && o.quiet);
        assert_eq!(o.memory, 1024);
        assert_eq!(o.cache_from, ["c:1"]);
        assert_eq!(o.dockerfile, "Dockerfile");
        assert_eq!(
            BuildOptions::from_query([("nope", "1")]),
            Err(BuildQueryError::Unknown("nope".into()))
        );
        assert!(matches!(
            BuildOptions::from_query([("memory", "x")]),
            Err(BuildQueryError::Invalid { .. })
        ));
    }
}
