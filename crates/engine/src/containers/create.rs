//! `POST /containers/create`: the request checked (the field table, limits, modes),
//! merged with the image's defaults, named, and recorded with its files (hostname, hosts,
//! resolv.conf, log).

use berth_models::{ContainerState, CreateRequest, CreateResponse, list};

use super::fields;
use super::limits::{normalize_resources, validate_resources};
use super::mounts::check_mounts;
use super::spec::{network_mode, runtime_options, security_opts};
use super::start::validate_restart_policy;
use super::{parse_signal, random_id};
use crate::containers::record::Container;
use crate::fault;
use crate::{Engine, Entry, Error, ErrorKind, Result, lock, names, time};

pub(super) const DEFAULT_PATH: &str =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
pub(crate) const HOSTS: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// `--add-host` entries (`ExtraHosts`, `HOST:IP`) as `/etc/hosts` lines; `host-gateway`
/// is the default bridge's gateway (`host_gateway`), as with dockerd.
pub(crate) fn extra_host_lines(
    hc: &berth_models::HostConfig,
    host_gateway: Option<std::net::IpAddr>,
) -> Result<String> {
    let mut out = String::new();
    for entry in list(&hc.extra_hosts) {
        let (host, ip) = entry
            .split_once(':')
            .or_else(|| entry.split_once('='))
            .ok_or_else(|| Error::invalid(format!("bad format for add-host: {entry:?}")))?;
        if ip == "host-gateway" {
            let Some(gw) = host_gateway else {
                return Err(Error::invalid(
                    "unable to derive the IP value for host-gateway: no default bridge (berthd --bridge none)",
                ));
            };
            out.push_str(&format!("{gw}\t{host}\n"));
            continue;
        }
        if host.is_empty() || ip.parse::<std::net::IpAddr>().is_err() {
            return Err(Error::invalid(format!(
                "invalid IP address in add-host: {ip:?}"
            )));
        }
        out.push_str(&format!("{ip}\t{host}\n"));
    }
    Ok(out)
}

/// The container's `/etc/resolv.conf`: the host's, with its nameservers, search domains and
/// options replaced by `--dns`, `--dns-search` and `--dns-option` where given.
pub(crate) fn resolv_conf(hc: &berth_models::HostConfig, host: &str) -> Result<String> {
    let dns = list(&hc.dns).to_vec();
    let search = list(&hc.dns_search).to_vec();
    let options = list(&hc.dns_options).to_vec();
    for ip in &dns {
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(Error::invalid(format!(
                "IP address is not correctly formatted: {ip}"
            )));
        }
    }
    if dns.is_empty() && search.is_empty() && options.is_empty() {
        return Ok(host.to_string());
    }
    let host_values = |key: &str| -> Vec<String> {
        host.lines()
            .filter_map(|l| l.trim().strip_prefix(key))
            .filter(|rest| rest.starts_with([' ', '\t']))
            .flat_map(|rest| rest.split_whitespace().map(str::to_string))
            .collect()
    };
    let pick = |user: Vec<String>, key: &str| {
        if user.is_empty() {
            host_values(key)
        } else {
            user
        }
    };
    let mut out = String::new();
    let search = pick(search, "search");
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    for ns in pick(dns, "nameserver") {
        out.push_str(&format!("nameserver {ns}\n"));
    }
    let options = pick(options, "options");
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    Ok(out)
}

/// Merge `KEY=value` lists: later entries replace earlier ones with the same key.
pub(super) fn merge_env(base: &[String], over: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(base.len() + over.len());
    for kv in base.iter().chain(over) {
        let key = kv.split('=').next().unwrap_or(kv);
        if let Some(slot) = out
            .iter_mut()
            .find(|e| e.split('=').next().unwrap_or(e) == key)
        {
            *slot = kv.clone();
        } else {
            out.push(kv.clone());
        }
    }
    out
}

/// dockerd's range check of `OomScoreAdj` (a 400 before the field table's 501: the value is
/// wrong whatever Berth supports).
pub(super) fn check_oom_score_adj(hc: &berth_models::HostConfig) -> Result<()> {
    if !(-1000..=1000).contains(&hc.oom_score_adj) {
        return Err(Error::invalid(format!(
            "Invalid value {}, range for oom score adj is [-1000, 1000]",
            hc.oom_score_adj
        )));
    }
    Ok(())
}

/// Docker's default size of /dev/shm.
pub(super) const DEFAULT_SHM_SIZE: i64 = 64 << 20;

/// What dockerd fills in at create where a request left a field empty, so that `inspect`
/// shows what the container really gets (clients such as the Python SDK read them).
pub(super) fn fill_host_defaults(hc: &mut berth_models::HostConfig) -> Result<()> {
    if hc.network_mode.is_empty() {
        hc.network_mode = "default".into();
    }
    if hc.ipc_mode.is_empty() {
        hc.ipc_mode = "private".into();
    }
    if hc.shm_size < 0 {
        return Err(Error::invalid("SHM size can not be less than 0"));
    }
    if hc.shm_size == 0 {
        hc.shm_size = DEFAULT_SHM_SIZE;
    }
    // Berth always gives a container a cgroup namespace of its own.
    match hc.cgroupns_mode.as_str() {
        "" => hc.cgroupns_mode = "private".into(),
        "private" => {}
        "host" => {
            return Err(Error::new(
                ErrorKind::NotImplemented,
                "cgroup namespace mode host (--cgroupns host) is not supported yet",
            ));
        }
        other => {
            return Err(Error::invalid(format!(
                "invalid cgroup namespace mode: {other}"
            )));
        }
    }
    if !hc.privileged {
        let defaults = |paths: &[&str]| Some(paths.iter().map(|p| p.to_string()).collect());
        if hc.masked_paths.is_none() {
            hc.masked_paths = defaults(&berth_runtime::spec::MASKED_PATHS);
        }
        if hc.readonly_paths.is_none() {
            hc.readonly_paths = defaults(&berth_runtime::spec::READONLY_PATHS);
        }
    }
    Ok(())
}

impl Engine {
    /// `POST /containers/create`.
    pub async fn create(&self, name: Option<&str>, req: CreateRequest) -> Result<CreateResponse> {
        crate::warm_cgroups(self, &req.host_config.runtime);
        let mut req = req;
        if req.config.image.is_empty() {
            return Err(Error::invalid("no image specified"));
        }
        // dockerd checks the settings before it looks for the image.
        normalize_resources(&mut req.host_config.resources);
        validate_resources(&req.host_config.resources, false)?;
        check_oom_score_adj(&req.host_config)?;
        fields::check_create(&req)?;
        crate::networks::attach::check_mode(&req)?;
        let networks = self.plan_networks(&req).await?;
        self.check_links(&req.host_config)?;
        let CreateRequest {
            mut config,
            mut host_config,
            ..
        } = req;
        let _image_gate = self.image_gate.read().await;
        let image = self.store.get(&config.image)?;
        network_mode(&host_config.network_mode)?;
        validate_restart_policy(&host_config.restart_policy)?;
        if host_config.auto_remove && !matches!(host_config.restart_policy.name.as_str(), "" | "no")
        {
            return Err(Error::invalid(
                "can't create 'AutoRemove' container with restart policy",
            ));
        }
        check_mounts(&host_config)?;
        security_opts(list(&host_config.security_opt))?;
        runtime_options(&host_config)?;
        let (runtime, _) = self.runtime_for(&host_config.runtime)?;
        host_config.runtime = runtime;
        for (key, kind, mode) in [
            ("PidMode", "pid", &host_config.pid_mode),
            ("IpcMode", "ipc", &host_config.ipc_mode),
            ("UTSMode", "uts", &host_config.uts_mode),
        ] {
            if !(matches!(mode.as_str(), "" | "private" | "shareable" | "host")
                || mode.starts_with("container:") && kind != "uts")
            {
                return Err(Error::invalid(format!("invalid {key}: {mode:?}")));
            }
        }
        // Docker silently runs no init outside a pid namespace of the container's own;
        // Berth says so instead.
        let pid_mode = host_config.pid_mode.as_str();
        if host_config.init == Some(true)
            && (pid_mode == "host" || pid_mode.starts_with("container:"))
        {
            return Err(Error::invalid(format!(
                "--init needs a pid namespace of the container's own: it cannot be used with --pid {pid_mode}"
            )));
        }
        for c in list(&host_config.cap_add)
            .iter()
            .chain(list(&host_config.cap_drop))
        {
            if !c.eq_ignore_ascii_case("ALL") {
                berth_runtime::spec::normalize_capability(c)
                    .map_err(|e| Error::invalid(e.to_string()))?;
            }
        }
        crate::containers::logs::check_log_config(
            &mut host_config.log_config,
            &self.cfg.default_log,
        )?;
        fill_host_defaults(&mut host_config)?;
        let ic = &image.config.config;
        config.healthcheck =
            crate::health::merge(config.healthcheck.take(), ic.healthcheck.as_ref());

        // Docker merges the image's defaults into the container's Config at create time.
        let image_env = ic.env.clone().unwrap_or_default();
        config.env = merge_env(&image_env, &config.env);
        if !config.env.iter().any(|e| e.starts_with("PATH=")) {
            config.env.insert(0, DEFAULT_PATH.into());
        }
        // `--entrypoint ""` (sent as [""]) resets the image's entrypoint.
        if config.entrypoint.as_deref() == Some(&[String::new()][..]) {
            config.entrypoint = Some(Vec::new());
        }
        let user_entrypoint = config.entrypoint.is_some();
        if config.entrypoint.is_none() {
            config.entrypoint = ic.entrypoint.clone();
        }
        if config.cmd.as_ref().is_none_or(|c| c.is_empty()) && !user_entrypoint {
            config.cmd = ic.cmd.clone();
        }
        if config.working_dir.is_empty() {
            config.working_dir = ic.working_dir.clone().unwrap_or_default();
        }
        if config.user.is_empty() {
            config.user = ic.user.clone().unwrap_or_default();
        }
        if config.stop_signal.is_none() {
            config.stop_signal = ic.stop_signal.clone();
        }
        if let Some(labels) = &ic.labels {
            for (k, v) in labels {
                config.labels.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        // The image's exposed ports join the container's (dockerd's merge).
        if let Some(image_ports) = &ic.exposed_ports {
            let ports = config.exposed_ports.get_or_insert_with(Default::default);
            for k in image_ports.keys() {
                ports
                    .entry(k.clone())
                    .or_insert_with(|| serde_json::Value::Object(Default::default()));
            }
        }
        // And its volumes (an empty `Volumes: {}`, as the docker CLI sends, keeps them).
        if let Some(image_volumes) = &ic.volumes {
            let volumes = config.volumes.get_or_insert_with(Default::default);
            for k in image_volumes.keys() {
                volumes
                    .entry(k.clone())
                    .or_insert_with(|| serde_json::Value::Object(Default::default()));
            }
        }
        if let Some(sig) = &config.stop_signal {
            parse_signal(sig)?;
        }
        let mut argv: Vec<String> = config.entrypoint.clone().unwrap_or_default();
        argv.extend(config.cmd.clone().unwrap_or_default());
        if argv.is_empty() {
            return Err(Error::invalid("no command specified"));
        }

        let id = random_id()?;
        if config.hostname.is_empty() {
            config.hostname = id[..12].to_string();
        }
        let requested = name
            .filter(|n| !n.is_empty())
            .map(names::validate)
            .transpose()?;
        let mounts = self.resolve_mounts(&id, &config, &host_config)?;
        let c = Container {
            id: id.clone(),
            name: String::new(),
            created: time::now_rfc3339(),
            path: argv[0].clone(),
            args: argv[1..].to_vec(),
            config,
            host_config,
            image_id: image.id.clone(),
            state: ContainerState::default(),
            restart_count: 0,
            manually_stopped: false,
            networks,
            mounts: Some(mounts),
        };

        let paths = self.paths(&id);
        let mounts = c.mount_list();
        let registered = 'registered: {
            // Pick or check the name and register the container in one step, so two
            // creates cannot take the same name.
            let mut map = lock(&self.containers);
            let taken = |n: &str| map.values().find(|e| e.record().name == n).cloned();
            let name = match requested {
                Some(n) => {
                    if let Some(other) = taken(&n) {
                        let other_id = other.record().id.clone();
                        break 'registered Err(Error::conflict(format!(
                            "Conflict. The container name \"/{n}\" is already in use by container \"{other_id}\". You have to remove (or rename) that container to be able to reuse that name."
                        )));
                    }
                    n
                }
                None => {
                    let seed = u64::from_str_radix(&id[..16], 16).unwrap_or(0);
                    (0..)
                        .map(|i| names::generate(seed.rotate_left(i * 7), i))
                        .find(|n| taken(n).is_none())
                        .unwrap_or_else(|| id[..12].to_string())
                }
            };
            let mut c = c;
            c.name = name;
            let entry = Entry::new(c);
            map.insert(id.clone(), entry.clone());
            Ok(entry)
        };
        let entry = match registered {
            Ok(e) => e,
            Err(e) => {
                self.release_volumes(&id, &mounts, true);
                return Err(e);
            }
        };
        let extra_hosts = list(&entry.record().host_config.extra_hosts).to_vec();
        let host_gateway = self.host_gateway(&extra_hosts).await;
        let result = (|| -> Result<()> {
            let c = entry.record().clone();
            for d in [paths.upper(), paths.work()] {
                std::fs::create_dir_all(&d)
                    .map_err(|e| Error::io(&format!("creating {}", d.display()), e))?;
            }
            let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
            let resolv = resolv_conf(&c.host_config, &host_resolv)?;
            let extra = extra_host_lines(&c.host_config, host_gateway)?;
            let mut files: Vec<(std::path::PathBuf, Vec<u8>)> = vec![
                (
                    paths.hostname(),
                    format!("{}\n", c.config.hostname).into_bytes(),
                ),
                (
                    paths.hosts(),
                    format!("{HOSTS}{extra}127.0.1.1\t{}\n", c.config.hostname).into_bytes(),
                ),
                (paths.resolv_conf(), resolv.into_bytes()),
            ];
            if let Some(log) = c.log_file(&paths) {
                if let Some(dir) = log.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| Error::io(&format!("creating {}", dir.display()), e))?;
                }
                files.push((log, Vec::new()));
            }
            for (path, content) in files {
                std::fs::write(&path, content)
                    .map_err(|e| Error::io(&format!("writing {}", path.display()), e))?;
            }
            fault::point("create.files");
            self.db.save(&c, true)
        })();
        if let Err(e) = result {
            lock(&self.containers).remove(&id);
            self.release_volumes(&id, &mounts, true);
            self.execs.drop_container(&id);
            let _ = std::fs::remove_dir_all(&paths.dir);
            return Err(e);
        }
        fault::point("create.recorded");
        self.container_event(&entry.record().clone(), "create", &[]);
        Ok(CreateResponse {
            id,
            warnings: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    pub(super) fn env_merge_overrides_by_key() {
        let base = vec!["PATH=/bin".to_string(), "A=1".to_string()];
        let over = vec!["A=2".to_string(), "B=3".to_string()];
        assert_eq!(merge_env(&base, &over), vec!["PATH=/bin", "A=2", "B=3"]);
    }

    #[test]
    pub(super) fn resolv_conf_takes_the_users_dns_settings() {
        let hc = |v: Value| -> berth_models::HostConfig {
            serde_json::from_value(if v.is_null() {
                serde_json::json!({})
            } else {
                v
            })
            .expect("host config")
        };
        let host = "# generated\nsearch corp.example\nnameserver 10.0.0.1\nnameserver 10.0.0.2\noptions rotate\n";
        assert_eq!(resolv_conf(&hc(Value::Null), host).unwrap(), host);
        assert_eq!(
            resolv_conf(&hc(serde_json::json!({"Dns": ["1.1.1.1"]})), host).unwrap(),
            "search corp.example\nnameserver 1.1.1.1\noptions rotate\n"
        );
        assert_eq!(
            resolv_conf(
                &hc(serde_json::json!({"DnsSearch": ["a.b"], "DnsOptions": ["ndots:2"]})),
                host
            )
            .unwrap(),
            "search a.b\nnameserver 10.0.0.1\nnameserver 10.0.0.2\noptions ndots:2\n"
        );
        assert!(resolv_conf(&hc(serde_json::json!({"Dns": ["nope"]})), host).is_err());
        let hosts = hc(serde_json::json!({"ExtraHosts": ["a:1.2.3.4", "b:::1"]}));
        assert_eq!(
            extra_host_lines(&hosts, None).unwrap(),
            "1.2.3.4\ta\n::1\tb\n"
        );
        let gw = hc(serde_json::json!({"ExtraHosts": ["h:host-gateway"]}));
        assert!(extra_host_lines(&gw, None).is_err());
        assert_eq!(
            extra_host_lines(&gw, Some([10, 1, 0, 1].into())).unwrap(),
            "10.1.0.1\th\n"
        );
    }
}
