//! The files a container's networks give it: `/etc/hosts` (with legacy links),
//! `/etc/resolv.conf`, and the `--link`s found at start (legacy ones on the default
//! bridge, DNS aliases on user networks).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use berth_models::{HostConfig, list};

use super::BRIDGE;
use crate::containers::record::Container;
use crate::{Engine, Error, Result};

/// `/etc/hosts` of a container with address `ip`.
pub(super) fn hosts_text(
    c: &Container,
    ip: Option<IpAddr>,
    host_gateway: Option<IpAddr>,
    links: &[Link],
) -> Result<String> {
    let mut extra = crate::containers::create::extra_host_lines(&c.host_config, host_gateway)?;
    // Legacy links: `IP alias hostname [name]`, as dockerd writes them.
    for l in links {
        extra.push_str(&format!("{}\t{} {}", l.ip, l.alias, l.hostname));
        if l.alias != l.name {
            extra.push_str(&format!(" {}", l.name));
        }
        extra.push('\n');
    }
    let own = match ip {
        Some(ip) => format!("{ip}\t{}\n", c.config.hostname),
        None => format!("127.0.1.1\t{}\n", c.config.hostname),
    };
    Ok(format!("{}{extra}{own}", crate::containers::create::HOSTS))
}

/// A `--link NAME[:ALIAS]` as found at start: the linked container and its address on a
/// network both are on.
pub(crate) struct Link {
    pub alias: String,
    /// The linked container's name.
    pub name: String,
    pub hostname: String,
    pub ip: IpAddr,
    /// On the default bridge: Docker's environment variables of a legacy link.
    pub env: Vec<String>,
}

/// `NAME[:ALIAS]` (or dockerd's `/NAME:/PARENT/ALIAS`) as (name, alias).
pub(crate) fn parse_link(entry: &str) -> Result<(String, String)> {
    let (name, alias) = entry.split_once(':').unwrap_or((entry, entry));
    let name = name.trim_start_matches('/');
    let alias = alias.rsplit('/').next().unwrap_or(alias);
    if name.is_empty() || alias.is_empty() {
        return Err(Error::invalid(format!("invalid link: {entry:?}")));
    }
    Ok((name.to_string(), alias.to_string()))
}

/// Docker's environment of a legacy link (`ALIAS_NAME`, `ALIAS_PORT...`, `ALIAS_ENV_...`).
fn link_env(parent: &str, alias: &str, ip: IpAddr, child: &Container) -> Vec<String> {
    let prefix = alias.to_uppercase().replace('-', "_");
    let mut env = vec![format!("{prefix}_NAME=/{parent}/{alias}")];
    let mut ports: Vec<(u16, String)> = child
        .config
        .exposed_ports
        .iter()
        .flatten()
        .filter_map(|(k, _)| {
            let (p, proto) = k.split_once('/').unwrap_or((k.as_str(), "tcp"));
            Some((p.parse().ok()?, proto.to_string()))
        })
        .collect();
    ports.sort();
    if let Some((p, proto)) = ports.first() {
        env.push(format!("{prefix}_PORT={proto}://{ip}:{p}"));
    }
    for (p, proto) in &ports {
        let key = format!("{prefix}_PORT_{p}_{}", proto.to_uppercase());
        env.push(format!("{key}={proto}://{ip}:{p}"));
        env.push(format!("{key}_ADDR={ip}"));
        env.push(format!("{key}_PORT={p}"));
        env.push(format!("{key}_PROTO={proto}"));
    }
    for kv in &child.config.env {
        if let Some((k, v)) = kv.split_once('=')
            && k != "HOME"
            && k != "PATH"
        {
            env.push(format!("{prefix}_ENV_{k}={v}"));
        }
    }
    env
}

/// `/etc/resolv.conf` of a container: on a user network the embedded DNS (with the user's
/// search domains and options), else the host's with loopback resolvers replaced; the
/// user's `--dns*` over either.
pub(super) fn resolv_text(hc: &HostConfig, embedded: bool) -> Result<String> {
    let host = berth_net::files::ResolvConf::parse(
        &std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
    );
    if embedded {
        let mut hc = hc.clone();
        // The user's servers are the embedded DNS's upstream, as dockerd does.
        hc.dns = None;
        return crate::containers::create::resolv_conf(
            &hc,
            &berth_net::files::resolv_conf_embedded(&host),
        );
    }
    crate::containers::create::resolv_conf(hc, &berth_net::files::resolv_conf_bridge(&host, false))
}

/// Write a file that is bind-mounted into the container in place (same inode).
pub(super) fn rewrite(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(&format!("writing {}", path.display()), e))
}

/// The `--link`s of a container being started. On the default bridge they are Docker's
/// legacy links (hosts entries and variables); on a user network, names that the embedded
/// DNS answers for this container only (dockerd's link aliases: `ALIAS` and the linked
/// container's name resolve to its address, looked up at each query).
#[derive(Default)]
pub(crate) struct StartLinks {
    pub legacy: Vec<Link>,
    /// Lowercased alias -> the linked container's name.
    pub aliases: BTreeMap<String, String>,
}

/// A container's links with the network each is on: `HostConfig.Links` on its mode's
/// network, each endpoint's own on that endpoint's.
fn all_links(c: &Container) -> impl Iterator<Item = (&str, &String)> {
    let primary = super::mode_network(&c.host_config.network_mode);
    let endpoint_links = c
        .networks
        .iter()
        .flat_map(|(net, a)| a.links.iter().map(move |l| (net.as_str(), l)));
    list(&c.host_config.links)
        .iter()
        .map(move |l| (primary, l))
        .chain(endpoint_links)
}

/// A running container's link aliases on user networks (see [`StartLinks::aliases`]).
pub(crate) fn link_aliases(c: &Container) -> BTreeMap<String, String> {
    all_links(c)
        .filter(|(net, _)| *net != BRIDGE)
        .filter_map(|(_, entry)| parse_link(entry).ok())
        .map(|(name, alias)| (alias.to_ascii_lowercase(), name.to_ascii_lowercase()))
        .collect()
}

impl Engine {
    /// `--link`s of a container being started: each legacy link's container must be
    /// running and on the default bridge with this one (dockerd's messages).
    pub(crate) fn links(&self, c: &Container) -> Result<StartLinks> {
        let mut out = StartLinks {
            legacy: Vec::new(),
            aliases: link_aliases(c),
        };
        for (_, entry) in all_links(c).filter(|(net, _)| *net == BRIDGE) {
            let (name, alias) = parse_link(entry)?;
            if out.legacy.iter().any(|l| l.alias == alias) {
                continue;
            }
            let child = self.lookup(&name)?;
            let r = child.record();
            if !r.state.running {
                return Err(Error::conflict(format!(
                    "Cannot link to a non running container: /{} AS /{}/{alias}",
                    r.name, c.name
                )));
            }
            let ip = r
                .networks
                .get(BRIDGE)
                .filter(|_| c.networks.contains_key(BRIDGE))
                .and_then(|a| Some(a.endpoint.as_ref()?.ipv4?.addr()));
            let Some(ip) = ip else {
                return Err(Error::invalid(format!(
                    "Cannot link to /{}, as it does not belong to the default network",
                    r.name
                )));
            };
            out.legacy.push(Link {
                env: link_env(&c.name, &alias, ip, &r),
                alias,
                name: r.name.clone(),
                hostname: r.config.hostname.clone(),
                ip,
            });
        }
        Ok(out)
    }
}
