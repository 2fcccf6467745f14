//! Builds: the query of `POST /build` ([`BuildOptions`], parsed with
//! [`BuildOptions::from_query`]), the build cache ([`BuildCache`]) and `POST /build/prune`
//! ([`BuildPruneResponse`]). The build's output stream is [`crate::progress::JsonMessage`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
