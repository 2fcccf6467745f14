//! The container record (what is persisted) and the JSON views Docker clients read of it.

use std::path::{Path, PathBuf};

use berth_models::{ContainerConfig, ContainerState, HostConfig};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::time;

/// Everything Berth keeps about one container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Container {
    pub id: String,
    /// Without the leading slash.
    pub name: String,
    pub created: String,
    pub path: String,
    pub args: Vec<String>,
    pub config: ContainerConfig,
    pub host_config: HostConfig,
    /// `sha256:<hex>` of the image.
    pub image_id: String,
    pub state: ContainerState,
    pub restart_count: i64,
    /// Stopped or killed by a user (Docker's `HasBeenManuallyStopped`): the restart policy
    /// does not bring it back until it is started again.
    #[serde(default)]
    pub manually_stopped: bool,
}

/// Suffix of a removed container's directory until it is deleted.
pub const TRASH_SUFFIX: &str = ".removed";

/// Where a container's files are.
#[derive(Debug, Clone)]
pub struct Paths {
    /// `<data-root>/containers/<id>`: writable layer, logs, hosts files.
    pub dir: PathBuf,
    /// `<exec-root>/<id>`: the runtime bundle and the shim socket.
    pub bundle: PathBuf,
}

impl Paths {
    pub fn new(data_root: &Path, exec_root: &Path, id: &str) -> Self {
        Paths {
            dir: data_root.join("containers").join(id),
            bundle: exec_root.join(id),
        }
    }
    /// Where `dir` is renamed to when the container is removed, before it is deleted: a
    /// record whose `dir` is gone was being removed (see [`crate::Engine`]'s recovery).
    pub fn trash(&self) -> PathBuf {
        let mut name = self.dir.file_name().unwrap_or_default().to_os_string();
        name.push(TRASH_SUFFIX);
        self.dir.with_file_name(name)
    }
    pub fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }
    pub fn work(&self) -> PathBuf {
        self.dir.join("work")
    }
    pub fn log(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}-json.log"))
    }
    pub fn hostname(&self) -> PathBuf {
        self.dir.join("hostname")
    }
    pub fn hosts(&self) -> PathBuf {
        self.dir.join("hosts")
    }
    pub fn resolv_conf(&self) -> PathBuf {
        self.dir.join("resolv.conf")
    }
}

impl Container {
    pub fn running(&self) -> bool {
        self.state.running
    }

    /// The network mode as Docker reports it ("default" shows as "bridge" in lists).
    fn network_name(&self) -> &str {
        match self.host_config.network_mode.as_str() {
            "" | "default" => "bridge",
            m => m,
        }
    }

    /// Docker's human status: "Up 3 seconds", "Exited (0) 5 seconds ago", "Created".
    pub fn status_text(&self) -> String {
        let s = &self.state;
        match s.status.as_str() {
            "running" => {
                let up = format!("Up {}", time::human_duration(time::since(&s.started_at)));
                match s.health.as_ref().map(|h| h.status.as_str()) {
                    Some("starting") => format!("{up} (health: starting)"),
                    Some(status) => format!("{up} ({status})"),
                    None => up,
                }
            }
            "paused" => format!(
                "Up {} (Paused)",
                time::human_duration(time::since(&s.started_at))
            ),
            "exited" => format!(
                "Exited ({}) {} ago",
                s.exit_code,
                time::human_duration(time::since(&s.finished_at))
            ),
            "restarting" => format!(
                "Restarting ({}) {} ago",
                s.exit_code,
                time::human_duration(time::since(&s.finished_at))
            ),
            "removing" => "Removal In Progress".into(),
            "dead" => "Dead".into(),
            _ => "Created".into(),
        }
    }

    /// One entry of `GET /containers/json`.
    pub fn summary(&self) -> Value {
        let command = std::iter::once(self.path.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        json!({
            "Id": self.id,
            "Names": [format!("/{}", self.name)],
            "Image": self.config.image,
            "ImageID": self.image_id,
            "Command": command,
            "Created": time::unix_seconds(&self.created),
            "Ports": [],
            "Labels": self.config.labels,
            "State": self.state.status,
            "Status": self.status_text(),
            "HostConfig": { "NetworkMode": self.network_name() },
            "NetworkSettings": { "Networks": {} },
            "Mounts": self.mounts(),
        })
    }

    /// Docker's `Mounts` list: binds and `--mount`s.
    fn mounts(&self) -> Vec<Value> {
        crate::containers::user_mounts(&self.host_config, false)
            .map(|m| m.listed)
            .unwrap_or_default()
    }

    /// `GET /containers/{id}/json`.
    pub fn inspect(&self, paths: &Paths, lower_dirs: &[PathBuf]) -> Value {
        let lower = lower_dirs
            .iter()
            .rev()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":");
        json!({
            "Id": self.id,
            "Created": self.created,
            "Path": self.path,
            "Args": self.args,
            "State": self.state,
            "Image": self.image_id,
            "ResolvConfPath": paths.resolv_conf(),
            "HostnamePath": paths.hostname(),
            "HostsPath": paths.hosts(),
            "LogPath": paths.log(&self.id),
            "Name": format!("/{}", self.name),
            "RestartCount": self.restart_count,
            "Driver": "overlay",
            "Platform": "linux",
            "MountLabel": "",
            "ProcessLabel": "",
            "AppArmorProfile": "",
            "ExecIDs": null,
            "HostConfig": self.host_config,
            "GraphDriver": {
                "Name": "overlay",
                "Data": {
                    "LowerDir": lower,
                    "UpperDir": paths.upper(),
                    "WorkDir": paths.work(),
                    "MergedDir": paths.bundle.join("rootfs"),
                }
            },
            "Mounts": self.mounts(),
            "Config": self.config,
            "NetworkSettings": {
                "Bridge": "",
                "SandboxID": "",
                "HairpinMode": false,
                "LinkLocalIPv6Address": "",
                "LinkLocalIPv6PrefixLen": 0,
                "Ports": {},
                "SandboxKey": "",
                "Networks": {},
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Container {
        Container {
            id: "a".repeat(64),
            name: "web".into(),
            created: time::now_rfc3339(),
            path: "sleep".into(),
            args: vec!["1000".into()],
            config: ContainerConfig {
                image: "busybox".into(),
                ..Default::default()
            },
            host_config: HostConfig::default(),
            image_id: format!("sha256:{}", "b".repeat(64)),
            state: ContainerState::default(),
            restart_count: 0,
            manually_stopped: false,
        }
    }

    #[test]
    fn summary_has_docker_fields() {
        let mut c = sample();
        let s = c.summary();
        assert_eq!(s["Names"][0], "/web");
        assert_eq!(s["Command"], "sleep 1000");
        assert_eq!(s["Status"], "Created");
        assert_eq!(s["HostConfig"]["NetworkMode"], "bridge");
        c.state.status = "exited".into();
        c.state.exit_code = 3;
        c.state.finished_at = time::now_rfc3339();
        assert_eq!(c.summary()["Status"], "Exited (3) Less than a second ago");
    }

    #[test]
    fn inspect_lists_lower_dirs_top_first() {
        let c = sample();
        let paths = Paths::new(Path::new("/d"), Path::new("/e"), &c.id);
        let v = c.inspect(&paths, &[PathBuf::from("/l/1"), PathBuf::from("/l/2")]);
        assert_eq!(v["GraphDriver"]["Data"]["LowerDir"], "/l/2:/l/1");
        assert_eq!(v["Name"], "/web");
        assert_eq!(v["State"]["Status"], "created");
        assert_eq!(v["Config"]["Image"], "busybox");
    }
}
