//! The container record (what is persisted) and the JSON views Docker clients read of it.

use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use berth_models::{
    ContainerConfig, ContainerInspect, ContainerState, ContainerSummary, EndpointSettings,
    GraphDriverData, HostConfig, MountPoint, NetworkSettings, SummaryHostConfig,
    SummaryNetworkSettings,
};
use serde::{Deserialize, Serialize};

use crate::containers::mounts::ContainerMount;
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
    /// The networks it is on, by name (none with `--network host|none|container:`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, crate::networks::NetAttachment>,
    /// Its binds and volumes, resolved at create (`None` in records of Berth versions
    /// that did not keep them: their binds are read from `host_config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mounts: Option<Vec<ContainerMount>>,
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
    /// The json-file log.
    pub fn log(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}-json.log"))
    }
    /// The `local` driver's log (Docker's place for it).
    pub fn local_log(&self) -> PathBuf {
        self.dir.join("local-logs").join("container.log")
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

    /// Where its log driver keeps its output (None: `none` keeps nothing).
    pub fn log_file(&self, paths: &Paths) -> Option<PathBuf> {
        match self.host_config.log_config.r#type.as_str() {
            "none" => None,
            "local" => Some(paths.local_log()),
            _ => Some(paths.log(&self.id)),
        }
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
    pub fn summary(&self) -> ContainerSummary {
        let command = std::iter::once(self.path.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        ContainerSummary {
            id: self.id.clone(),
            names: vec![format!("/{}", self.name)],
            image: self.config.image.clone(),
            image_id: self.image_id.clone(),
            image_manifest_descriptor: None,
            command,
            created: time::unix_seconds(&self.created),
            ports: crate::networks::view::summary_ports(self.ports()),
            size_rw: None,
            size_root_fs: None,
            labels: self.config.labels.clone(),
            state: self.state.status.clone(),
            status: self.status_text(),
            host_config: SummaryHostConfig {
                network_mode: self.network_name().into(),
                annotations: self.host_config.annotations.clone(),
            },
            network_settings: SummaryNetworkSettings {
                networks: self.networks(),
            },
            mounts: self.mounts(),
        }
    }

    /// Its binds and volumes.
    pub(crate) fn mount_list(&self) -> Vec<ContainerMount> {
        match &self.mounts {
            Some(m) => m.clone(),
            None => crate::containers::mounts::legacy_mounts(&self.host_config),
        }
    }

    /// Docker's `Mounts` list: binds, volumes and `--mount type=tmpfs`.
    fn mounts(&self) -> Vec<MountPoint> {
        let mut out: Vec<MountPoint> = self.mount_list().into_iter().map(|m| m.point).collect();
        if let Ok((_, tmpfs)) = crate::containers::mounts::tmpfs_mounts(&self.host_config) {
            out.extend(tmpfs);
        }
        out
    }

    /// `NetworkSettings.Ports`: while it runs, its exposed and published ports.
    pub(crate) fn ports(&self) -> berth_models::PortMap {
        if !self.state.running {
            return Default::default();
        }
        let exposed = self.config.exposed_ports.iter().flatten().map(|(k, _)| k);
        crate::networks::view::ports(exposed, self.networks.values())
    }

    /// The networks it is on, by name: the default network is `bridge` (a network
    /// namespace with loopback only until Berth has bridge networking), `host` or `none`;
    /// with another container's network, none of its own.
    fn networks(&self) -> BTreeMap<String, EndpointSettings> {
        if !self.networks.is_empty() {
            return self
                .networks
                .iter()
                .map(|(name, att)| {
                    (
                        name.clone(),
                        crate::networks::view::endpoint((&self.name, &self.id), name, att),
                    )
                })
                .collect();
        }
        let name = match self.host_config.network_mode.as_str() {
            "host" => "host",
            // With `berthd --bridge none` the default network is loopback only.
            "" | "default" | "bridge" => "bridge",
            "none" => "none",
            _ => return BTreeMap::new(),
        };
        [(name.to_string(), EndpointSettings::default())].into()
    }

    /// `NetworkSettings` of inspect: the endpoints, the published ports, and the default
    /// bridge's endpoint in the top-level fields as dockerd shows it.
    fn network_settings(&self) -> NetworkSettings {
        let networks = self.networks();
        let mut s = NetworkSettings {
            ports: self.ports(),
            ..Default::default()
        };
        if let Some(e) = networks.get("bridge") {
            s.endpoint_id = e.endpoint_id.clone();
            s.gateway = e.gateway.clone();
            s.ip_address = e.ip_address.clone();
            s.ip_prefix_len = e.ip_prefix_len;
            s.mac_address = e.mac_address.clone();
            s.global_ipv6_address = e.global_ipv6_address.clone();
            s.global_ipv6_prefix_len = e.global_ipv6_prefix_len;
            s.ipv6_gateway = e.ipv6_gateway.clone();
        }
        if self.state.running && !self.networks.is_empty() {
            s.sandbox_key = format!("/proc/{}/ns/net", self.state.pid);
        }
        s.networks = networks;
        s
    }

    /// `GET /containers/{id}/json`.
    pub fn inspect(&self, paths: &Paths, lower_dirs: &[PathBuf]) -> ContainerInspect {
        let lower = lower_dirs
            .iter()
            .rev()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":");
        let path = |p: PathBuf| p.display().to_string();
        ContainerInspect {
            id: self.id.clone(),
            created: self.created.clone(),
            path: self.path.clone(),
            args: self.args.clone(),
            state: self.state.clone(),
            image: self.image_id.clone(),
            resolv_conf_path: path(paths.resolv_conf()),
            hostname_path: path(paths.hostname()),
            hosts_path: path(paths.hosts()),
            // Docker shows the path of json-file logs only.
            log_path: match self.host_config.log_config.r#type.as_str() {
                "json-file" | "" => path(paths.log(&self.id)),
                _ => String::new(),
            },
            name: format!("/{}", self.name),
            restart_count: self.restart_count,
            driver: "overlay".into(),
            platform: "linux".into(),
            mount_label: String::new(),
            process_label: String::new(),
            app_armor_profile: String::new(),
            exec_ids: None,
            host_config: self.host_config.clone(),
            graph_driver: GraphDriverData {
                name: "overlay".into(),
                data: [
                    ("LowerDir".to_string(), lower),
                    ("MergedDir".to_string(), path(paths.bundle.join("rootfs"))),
                    ("UpperDir".to_string(), path(paths.upper())),
                    ("WorkDir".to_string(), path(paths.work())),
                ]
                .into(),
            },
            size_rw: None,
            size_root_fs: None,
            mounts: self.mounts(),
            config: self.config.clone(),
            network_settings: self.network_settings(),
            image_manifest_descriptor: None,
        }
    }
}

/// Bytes of the regular files under `dir` (not following links), 0 if absent.
pub(crate) fn dir_size(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(md) = e.metadata() else { continue };
            if md.is_dir() {
                stack.push(e.path());
            } else if md.is_file() {
                total += md.len();
            }
        }
    }
    total
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
            networks: BTreeMap::new(),
            mounts: None,
        }
    }

    #[test]
    fn summary_has_docker_fields() {
        let mut c = sample();
        let s = c.summary();
        assert_eq!(s.names[0], "/web");
        assert_eq!(s.command, "sleep 1000");
        assert_eq!(s.status, "Created");
        assert_eq!(s.host_config.network_mode, "bridge");
        assert!(s.network_settings.networks.contains_key("bridge"));
        c.state.status = "exited".into();
        c.state.exit_code = 3;
        c.state.finished_at = time::now_rfc3339();
        assert_eq!(c.summary().status, "Exited (3) Less than a second ago");
    }

    #[test]
    fn inspect_lists_lower_dirs_top_first() {
        let c = sample();
        let paths = Paths::new(Path::new("/d"), Path::new("/e"), &c.id);
        let v = c.inspect(&paths, &[PathBuf::from("/l/1"), PathBuf::from("/l/2")]);
        let v = serde_json::to_value(v).unwrap();
        assert_eq!(v["GraphDriver"]["Data"]["LowerDir"], "/l/2:/l/1");
        assert_eq!(v["Name"], "/web");
        assert_eq!(v["State"]["Status"], "created");
        assert_eq!(v["Config"]["Image"], "busybox");
    }
}
