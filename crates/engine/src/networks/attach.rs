//! A container's networks: chosen at create ([`Engine::plan_networks`]), attached after
//! the shim created the container and before its process runs ([`Engine::attach_networks`]:
//! veth, addresses, routes, published ports, `/etc/hosts` and `/etc/resolv.conf`, the
//! embedded DNS), detached at its exit ([`Engine::detach_networks`]), and found again at
//! daemon start ([`Engine::restore_endpoints`], [`Engine::adopt_networks`]).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_models::{CreateRequest, HostConfig, list};
use berth_net::bridge::{Endpoint, EndpointSpec};
use berth_net::dns::{self, Resolver};
use berth_net::link::Netlink as _;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::files::{StartLinks, hosts_text, parse_link, resolv_text, rewrite};
use super::ports::{hold_port, port_bindings, port_in_use};
use super::{BRIDGE, HOST, Held, is_network_name, mode_network, net_error};
use crate::containers::record::Container;
use crate::{Engine, Entry, Error, ErrorKind, Result, lock};

/// A container's place on one network, as recorded: what was asked at create or connect,
/// and while it runs, its endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetAttachment {
    pub network_id: String,
    /// `--network-alias`.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// `--ip`, `--ip6`.
    #[serde(default)]
    pub ipv4: Option<IpAddr>,
    #[serde(default)]
    pub ipv6: Option<IpAddr>,
    /// `--mac-address`.
    #[serde(default)]
    pub mac: Option<String>,
    /// `--link-local-ip` (`IPAMConfig.LinkLocalIPs`), checked link-local.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link_local: Vec<IpAddr>,
    /// While running.
    #[serde(default)]
    pub endpoint: Option<Endpoint>,
    /// Docker's endpoint id of the current run.
    #[serde(default)]
    pub endpoint_id: String,
    /// The endpoint's links (`NAME[:ALIAS]`, `EndpointSettings.Links`, which
    /// docker-compose 1.x sends for a service's `links:`): as `--link`, from the next start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
}

impl NetAttachment {
    /// `IPAMConfig`: `--ip`, `--ip6` and `--link-local-ip`, with dockerd's messages.
    pub(crate) fn set_ipam(&mut self, ipam: &berth_models::EndpointIpamConfig) -> Result<()> {
        let parse = |s: &str| -> Result<Option<IpAddr>> {
            if s.is_empty() {
                return Ok(None);
            }
            s.parse()
                .map(Some)
                .map_err(|_| Error::invalid(format!("invalid IP address: {s}")))
        };
        self.ipv4 = parse(&ipam.ipv4_address)?;
        self.ipv6 = parse(&ipam.ipv6_address)?;
        self.link_local = list(&ipam.link_local_ips)
            .iter()
            .map(|s| {
                s.parse::<IpAddr>()
                    .ok()
                    .filter(is_link_local)
                    .ok_or_else(|| Error::invalid(format!("invalid link local IP address: {s}")))
            })
            .collect::<Result<_>>()?;
        Ok(())
    }

    /// The link-local addresses with dockerd's prefixes (/16, /64).
    pub(crate) fn link_local_nets(&self) -> Vec<IpNet> {
        self.link_local
            .iter()
            .filter_map(|ip| IpNet::new(*ip, if ip.is_ipv4() { 16 } else { 64 }).ok())
            .collect()
    }
}

/// 169.254.0.0/16 or fe80::/10.
fn is_link_local(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_unicast_link_local(),
    }
}

/// The file in a container's bundle that lists its endpoints while it runs: read at
/// daemon start to hold their addresses and ports again.
const ENDPOINTS_FILE: &str = "network.json";

/// An endpoint's addresses (IPv4, then IPv6).
pub(crate) fn endpoint_ips(ep: &Endpoint) -> Vec<IpAddr> {
    ep.ipv4
        .iter()
        .chain(ep.ipv6.iter())
        .map(|n| n.addr())
        .collect()
}

/// A MAC address as `--mac-address` takes it (`02:42:ac:11:00:02`), with dockerd's
/// message.
pub(crate) fn parse_mac(s: &str) -> Result<[u8; 6]> {
    let bad = || Error::invalid(format!("invalid MAC address: {s}"));
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (m, p) in mac.iter_mut().zip(&parts) {
        if p.len() != 2 {
            return Err(bad());
        }
        *m = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    if mac[0] & 1 == 1 {
        // A multicast address cannot be an interface's.
        return Err(bad());
    }
    Ok(mac)
}

/// The bundle's `network.json`: a running container's endpoints by network name.
fn write_endpoints<'a>(
    paths: &crate::Paths,
    eps: impl Iterator<Item = (&'a String, &'a Endpoint)>,
) -> Result<()> {
    let eps: BTreeMap<&String, &Endpoint> = eps.collect();
    let json = serde_json::to_vec(&eps).map_err(|e| Error::internal(e.to_string()))?;
    std::fs::write(paths.bundle.join(ENDPOINTS_FILE), json)
        .map_err(|e| Error::io("writing the endpoints", e))
}

impl Engine {
    /// An endpoint's links checked as `--link`s are: each names a container.
    pub(crate) fn checked_links(&self, links: &[String]) -> Result<Vec<String>> {
        for entry in links {
            let (name, _) = parse_link(entry)?;
            if let Err(e) = self.lookup(&name) {
                return Err(Error::invalid(format!(
                    "could not get container for {name}: {}",
                    e.message
                )));
            }
        }
        Ok(links.to_vec())
    }

    /// `--link`s checked at create: each names a container (dockerd's 400, not a 404,
    /// which the docker CLI would take for a missing image).
    pub(crate) fn check_links(&self, hc: &HostConfig) -> Result<()> {
        for entry in list(&hc.links) {
            let (name, _) = parse_link(entry)?;
            if let Err(e) = self.lookup(&name) {
                return Err(Error::invalid(format!(
                    "could not get container for {name}: {}",
                    e.message
                )));
            }
            if !is_network_name(&hc.network_mode) {
                return Err(Error::invalid(
                    "conflicting options: container type network can't be used with links. This would result in undefined behavior",
                ));
            }
        }
        Ok(())
    }

    /// The networks a new container joins (`HostConfig.NetworkMode` and
    /// `NetworkingConfig.EndpointsConfig`), checked as dockerd checks them.
    pub(crate) async fn plan_networks(
        &self,
        req: &CreateRequest,
    ) -> Result<BTreeMap<String, NetAttachment>> {
        let hc = &req.host_config;
        let mode = hc.network_mode.as_str();
        let mut out = BTreeMap::new();
        if req.config.network_disabled || !is_network_name(mode) {
            return Ok(out);
        }
        let endpoints = req
            .networking_config
            .as_ref()
            .and_then(|n| n.endpoints_config.clone())
            .unwrap_or_default();
        let primary = mode_network(mode).to_string();
        if primary == BRIDGE && self.cfg.network.bridge.is_none() {
            // `--bridge none`: no default network; loopback only.
            if endpoints
                .keys()
                .any(|k| !matches!(k.as_str(), "default" | BRIDGE))
            {
                return Err(Error::invalid(
                    "the default network is disabled (berthd --bridge none): name a network",
                ));
            }
            return Ok(out);
        }
        let state = self.networks.state.lock().await;
        let mut names: Vec<String> = vec![primary.clone()];
        names.extend(
            endpoints
                .keys()
                .filter(|k| !matches!(k.as_str(), "default") && **k != primary)
                .cloned(),
        );
        for key in names {
            // A network that does not exist fails the start, not the create (dockerd's
            // order: the docker CLI takes a 404 at create for a missing image).
            let (id, name, is_bridge) = match state.find(&key) {
                Ok(net) if net.net.is_none() => {
                    return Err(Error::invalid(format!(
                        "container cannot be connected to network {} and to others",
                        net.name
                    )));
                }
                Ok(net) => (net.id.clone(), net.name.clone(), net.name == BRIDGE),
                Err(e) if e.kind == ErrorKind::NotFound => (String::new(), key.clone(), false),
                Err(e) => return Err(e),
            };
            let ep = endpoints
                .get(&key)
                .or_else(|| (key == primary).then(|| endpoints.get("default")).flatten());
            let mut att = NetAttachment {
                network_id: id,
                ..Default::default()
            };
            if let Some(ep) = ep {
                att.aliases = ep.aliases.clone().unwrap_or_default();
                att.links = self.checked_links(list(&ep.links))?;
                if !ep.mac_address.is_empty() {
                    parse_mac(&ep.mac_address)?;
                    att.mac = Some(ep.mac_address.clone());
                }
                if let Some(ipam) = &ep.ipam_config {
                    att.set_ipam(ipam)?;
                }
            }
            if is_bridge {
                if !att.aliases.is_empty() {
                    return Err(Error::invalid(
                        "network-scoped alias is supported only for containers in user defined networks",
                    ));
                }
                if att.ipv4.is_some() || att.ipv6.is_some() {
                    return Err(Error::invalid(
                        "user specified IP address is supported on user defined networks only",
                    ));
                }
            }
            // The container-wide `MacAddress` of API < 1.44 is the mode's network's.
            if key == primary && att.mac.is_none() && !req.config.mac_address.is_empty() {
                parse_mac(&req.config.mac_address)?;
                att.mac = Some(req.config.mac_address.clone());
            }
            out.insert(name, att);
        }
        Ok(out)
    }

    /// Attach a created container (its init waiting in namespaces of its own, `pid`) to
    /// its networks: each endpoint, then `/etc/hosts` and `/etc/resolv.conf`, the host-port
    /// reservations and, on a user network, the embedded DNS. All or nothing.
    pub(crate) async fn attach_networks(
        self: &Arc<Self>,
        entry: &Arc<Entry>,
        pid: i32,
        links: &StartLinks,
    ) -> Result<()> {
        let c = entry.record().clone();
        if c.networks.is_empty() {
            return Ok(());
        }
        let netns = PathBuf::from(format!("/proc/{pid}/ns/net"));
        let ports = port_bindings(&c);
        let mut done: Vec<(String, Endpoint, String)> = Vec::new();
        let mut held = Held::default();
        let res: Result<()> = async {
            let mut state = self.networks.state.lock().await;
            // The mode's network first: it gets `eth0`, the default route and the ports.
            let primary = mode_network(&c.host_config.network_mode).to_string();
            let mut order: Vec<&String> = c.networks.keys().collect();
            order.sort_by_key(|n| **n != primary);
            let mut ifnames: Vec<String> = Vec::new();
            for (i, name) in order.into_iter().enumerate() {
                let att = &c.networks[name];
                let state = &mut *state;
                let not_found = || Error::not_found(format!("network {name} not found"));
                let (net, ifname, published) = {
                    let record = state
                        .nets
                        .get(&att.network_id)
                        .or_else(|| state.nets.values().find(|n| n.name == *name))
                        .ok_or_else(not_found)?;
                    let published = if i == 0 {
                        record.bind_default_host(ports.clone())
                    } else {
                        BTreeMap::new()
                    };
                    let net = record.net.clone().ok_or_else(not_found)?;
                    (net, record.next_ifname(&ifnames), published)
                };
                ifnames.push(ifname.clone());
                let spec = EndpointSpec {
                    container_id: c.id.clone(),
                    netns: netns.clone(),
                    ifname,
                    ipv4: att.ipv4,
                    ipv6: att.ipv6,
                    mac: att.mac.as_deref().map(parse_mac).transpose()?,
                    ports: published,
                    no_default_route: i > 0,
                    link_local: att.link_local_nets(),
                };
                let ep = self
                    .networks
                    .driver
                    .connect(&mut state.ipam, &mut state.ports, &net, &spec)
                    .await
                    .map_err(net_error)?;
                let endpoint_id = crate::containers::random_id()?;
                done.push((name.clone(), ep.clone(), endpoint_id.clone()));
                for m in &ep.maps {
                    match hold_port(m) {
                        Ok(Some(fd)) => held.ports.push(fd),
                        Ok(None) => {}
                        Err(e) => return Err(port_in_use(&c.name, &endpoint_id, m, &e)),
                    }
                }
            }
            Ok(())
        }
        .await;
        let eps: Vec<Endpoint> = done.iter().map(|(_, ep, _)| ep.clone()).collect();
        if let Err(e) = res {
            self.release_endpoints(&eps, true).await;
            return Err(e);
        }
        // The names on user networks, and the embedded DNS in the container's namespace.
        let mut user_nets = Vec::new();
        for (name, ep, _) in &done {
            if name != BRIDGE {
                self.add_names(&c, &c.networks[name].aliases, ep);
                user_nets.push(ep.network_id.clone());
            }
        }
        let host_gateway = self.host_gateway(list(&c.host_config.extra_hosts)).await;
        let files = (|| -> Result<()> {
            let paths = self.paths(&c.id);
            let own = done
                .first()
                .and_then(|(_, ep, _)| ep.ipv4.map(|n| n.addr()));
            rewrite(
                &paths.hosts(),
                &hosts_text(&c, own, host_gateway, &links.legacy)?,
            )?;
            rewrite(
                &paths.resolv_conf(),
                &resolv_text(&c.host_config, !user_nets.is_empty())?,
            )?;
            write_endpoints(&paths, done.iter().map(|(n, ep, _)| (n, ep)))
        })();
        let dns = match files {
            Ok(()) if !user_nets.is_empty() => {
                if let Ok(mut s) = held.scope.write() {
                    *s = user_nets.clone();
                }
                self.serve_dns(&netns, &c.host_config, held.scope.clone(), &links.aliases)
                    .await
                    .map(Some)
            }
            Ok(()) => Ok(None),
            Err(e) => Err(e),
        };
        match dns {
            Ok(d) => held.dns = d,
            Err(e) => {
                self.forget_names(&eps);
                self.release_endpoints(&eps, true).await;
                return Err(e);
            }
        }
        lock(&self.networks.held).insert(c.id.clone(), held);
        let mut r = entry.record();
        for (name, ep, endpoint_id) in done {
            if let Some(att) = r.networks.get_mut(&name) {
                // A network named at create before it existed gets its id now.
                att.network_id = ep.network_id.clone();
                att.endpoint = Some(ep);
                att.endpoint_id = endpoint_id;
            }
        }
        for (name, att) in &r.networks {
            let (id, net) = (r.id.clone(), name.clone());
            if att.endpoint.is_some() {
                self.network_event("connect", &att.network_id, &net, &id);
            }
        }
        Ok(())
    }

    /// `host-gateway` of `--add-host`: the default bridge's gateway (looked up only for
    /// a container that asks for it).
    pub(crate) async fn host_gateway(&self, extra_hosts: &[String]) -> Option<IpAddr> {
        if !extra_hosts.iter().any(|h| h.ends_with("host-gateway")) {
            return None;
        }
        let state = self.networks.state.lock().await;
        state
            .nets
            .values()
            .find(|n| n.name == BRIDGE)
            .and_then(|n| n.net.as_ref())
            .and_then(|n| n.pools.iter().find(|p| p.gateway.is_ipv4()))
            .map(|p| p.gateway)
    }

    /// The embedded DNS at 127.0.0.11 in the namespace `netns`, answering the names of
    /// `networks` and forwarding others to the host's resolvers (or the user's `--dns`).
    async fn serve_dns(
        &self,
        netns: &Path,
        hc: &HostConfig,
        scope: Arc<std::sync::RwLock<Vec<String>>>,
        aliases: &BTreeMap<String, String>,
    ) -> Result<dns::DnsServer> {
        let sockets = dns::bind_in_netns(netns, SocketAddr::from(([127, 0, 0, 11], 53)))
            .await
            .map_err(|e| Error::internal(format!("starting the embedded DNS: {e}")))?;
        let user: Vec<SocketAddr> = list(&hc.dns)
            .iter()
            .filter_map(|s| s.parse::<IpAddr>().ok())
            .map(|ip| SocketAddr::new(ip, 53))
            .collect();
        let upstream = if user.is_empty() {
            self.networks.upstream.clone()
        } else {
            Arc::new(dns::NameServers {
                servers: user,
                timeout: self.networks.upstream.timeout,
            })
        };
        dns::serve(
            sockets,
            Resolver {
                networks: Vec::new(),
                table: Arc::new(super::ScopedTable {
                    table: self.networks.names.clone(),
                    scope,
                    aliases: aliases.clone(),
                }),
                upstream,
            },
        )
        .map_err(|e| Error::internal(format!("starting the embedded DNS: {e}")))
    }

    /// A container's names on an endpoint's network, for the embedded DNS: its name, its
    /// short id and its aliases.
    pub(crate) fn add_names(&self, c: &Container, aliases: &[String], ep: &Endpoint) {
        let mut names: Vec<&str> = vec![c.name.as_str(), &c.id[..12]];
        names.extend(aliases.iter().map(String::as_str));
        self.networks
            .names
            .add(&ep.network_id, &names, &endpoint_ips(ep));
    }

    fn forget_names(&self, eps: &[Endpoint]) {
        for ep in eps {
            self.networks
                .names
                .remove(&ep.network_id, &endpoint_ips(ep));
        }
    }

    /// Give endpoints back: rules, host ports, veths, addresses (each exactly once).
    /// `delete_links` false: the veths are left to go with the container's namespace (see
    /// `BridgeDriver::release`).
    async fn release_endpoints(&self, eps: &[Endpoint], delete_links: bool) {
        let mut state = self.networks.state.lock().await;
        let state = &mut *state;
        let driver = &self.networks.driver;
        for ep in eps {
            let res = if delete_links {
                driver
                    .disconnect(&mut state.ipam, &mut state.ports, ep)
                    .await
            } else {
                driver.release(&mut state.ipam, &mut state.ports, ep).await
            };
            if let Err(e) = res {
                tracing::warn!(container = ep.container_id, "detaching from a network: {e}");
            }
        }
    }

    /// Detach one endpoint of a running container (`network disconnect`).
    pub(crate) async fn detach_one(&self, id: &str, ep: Endpoint) {
        self.networks.scope_dns(id, &ep.network_id, false);
        self.forget_names(std::slice::from_ref(&ep));
        self.release_endpoints(std::slice::from_ref(&ep), true)
            .await;
    }

    /// Rewrite the bundle's list of a running container's endpoints.
    pub(crate) fn write_endpoints_file(&self, entry: &Arc<Entry>) {
        let r = entry.record().clone();
        let eps = r
            .networks
            .iter()
            .filter_map(|(n, a)| a.endpoint.as_ref().map(|e| (n, e)));
        if let Err(e) = write_endpoints(&self.paths(&r.id), eps) {
            tracing::warn!(id = r.id, "{}", e.message);
        }
    }

    /// Detach a container that exited (or whose start failed) from its networks: all but
    /// the veths at once (see `BridgeDriver::release`), the veths in the background, in
    /// case something else holds the namespace.
    pub(crate) async fn detach_networks(self: &Arc<Self>, entry: &Arc<Entry>) {
        let (id, eps, events) = {
            let mut r = entry.record();
            let mut eps = Vec::new();
            let mut events = Vec::new();
            for (name, att) in r.networks.iter_mut() {
                if let Some(ep) = att.endpoint.take() {
                    events.push((att.network_id.clone(), name.clone()));
                    eps.push(ep);
                }
                att.endpoint_id.clear();
            }
            (r.id.clone(), eps, events)
        };
        self.networks.release_held(&id);
        if eps.is_empty() {
            return;
        }
        self.forget_names(&eps);
        let links: Vec<String> = eps.iter().map(|e| e.host_ifname.clone()).collect();
        self.release_endpoints(&eps, false).await;
        // The veths go with the container's namespace, which the kernel tears down once
        // its last process is gone; deleting them here as well would only wait for the
        // rtnl lock that teardown holds. Only a namespace that containers joined
        // (`--network container:`) outlives the container: those lose its interfaces, as
        // with dockerd.
        if self.netns_joined(&id) {
            let engine = Arc::clone(self);
            tokio::spawn(async move {
                for l in links {
                    if let Err(e) = engine.networks.driver.netlink.delete_link(&l).await {
                        tracing::debug!("deleting {l}: {e}");
                    }
                }
            });
        }
        let _ = std::fs::remove_file(self.paths(&id).bundle.join(ENDPOINTS_FILE));
        for (net_id, name) in events {
            self.network_event("disconnect", &net_id, &name, &id);
        }
    }

    /// At daemon start, before recovery: the endpoints of containers that were running
    /// (their bundles' `network.json`) hold their addresses and host ports again.
    pub(crate) async fn restore_endpoints(&self) {
        let entries: Vec<Arc<Entry>> = lock(&self.containers).values().cloned().collect();
        let mut state = self.networks.state.lock().await;
        let state = &mut *state;
        for entry in entries {
            let id = entry.record().id.clone();
            let file = self.paths(&id).bundle.join(ENDPOINTS_FILE);
            let Ok(bytes) = std::fs::read(&file) else {
                continue;
            };
            let Ok(eps) = serde_json::from_slice::<BTreeMap<String, Endpoint>>(&bytes) else {
                tracing::warn!(id, "unreadable {}", file.display());
                continue;
            };
            let mut r = entry.record();
            for (name, ep) in eps {
                for ip in ep.ipv4.iter().chain(ep.ipv6.iter()) {
                    if let Err(e) =
                        state
                            .ipam
                            .allocate(&ep.network_id, Some(ip.addr()), ip.addr().is_ipv6())
                    {
                        tracing::warn!(id, "holding {} again: {e}", ip.addr());
                    }
                }
                ep.hold_ports(&mut state.ports);
                if let Some(att) = r.networks.get_mut(&name) {
                    if att.endpoint_id.is_empty() {
                        att.endpoint_id = crate::containers::random_id().unwrap_or_default();
                    }
                    att.endpoint = Some(ep);
                }
            }
        }
    }

    /// A running container found at daemon start: its names, port reservations and
    /// embedded DNS again (its endpoints and rules are still in the kernel).
    pub(crate) async fn adopt_networks(&self, entry: &Arc<Entry>, pid: i32) {
        let c = entry.record().clone();
        let eps: Vec<(String, Endpoint)> = c
            .networks
            .iter()
            .filter_map(|(n, a)| a.endpoint.clone().map(|e| (n.clone(), e)))
            .collect();
        if eps.is_empty() {
            return;
        }
        let mut held = Held::default();
        let mut user_nets = Vec::new();
        for (name, ep) in &eps {
            for m in &ep.maps {
                match hold_port(m) {
                    Ok(Some(fd)) => held.ports.push(fd),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(id = c.id, "reserving host port {} again: {e}", m.host_port)
                    }
                }
            }
            if name != BRIDGE {
                self.add_names(&c, &c.networks[name].aliases, ep);
                user_nets.push(ep.network_id.clone());
            }
        }
        if !user_nets.is_empty() {
            let netns = PathBuf::from(format!("/proc/{pid}/ns/net"));
            if let Ok(mut s) = held.scope.write() {
                *s = user_nets;
            }
            match self
                .serve_dns(
                    &netns,
                    &c.host_config,
                    held.scope.clone(),
                    &super::files::link_aliases(&c),
                )
                .await
            {
                Ok(d) => held.dns = Some(d),
                Err(e) => tracing::warn!(id = c.id, "{}", e.message),
            }
        }
        lock(&self.networks.held).insert(c.id.clone(), held);
    }

    /// Containers that are not running but still hold endpoints (an exit recorded by a
    /// daemon that did not live to detach it): detached now.
    pub(crate) async fn detach_stopped(self: &Arc<Self>) {
        let entries: Vec<Arc<Entry>> = lock(&self.containers).values().cloned().collect();
        for entry in entries {
            let stale = {
                let r = entry.record();
                !r.state.running && r.networks.values().any(|a| a.endpoint.is_some())
            };
            if stale {
                self.detach_networks(&entry).await;
            }
        }
        self.sweep_published().await;
    }

    /// Published ports in the firewall of containers that no longer hold them (a container
    /// removed while the daemon was down, a crash between the firewall and the record):
    /// the table is brought back to the running containers' ports, in one transaction.
    async fn sweep_published(&self) {
        use std::sync::atomic::Ordering;
        if !self.networks.firewall_ready.load(Ordering::Acquire) {
            return;
        }
        let published: Vec<(String, Vec<berth_net::ports::PortMap>)> = lock(&self.containers)
            .values()
            .filter_map(|e| {
                let r = e.record();
                let maps: Vec<_> = r
                    .networks
                    .values()
                    .filter_map(|a| a.endpoint.as_ref())
                    .flat_map(|ep| ep.maps.iter().cloned())
                    .collect();
                (r.state.running && !maps.is_empty()).then(|| (r.id.clone(), maps))
            })
            .collect();
        let fw = self.networks.driver.firewall.clone();
        let swept = tokio::task::spawn_blocking(move || {
            let live: std::collections::BTreeSet<&String> =
                published.iter().map(|(id, _)| id).collect();
            let stale: Vec<String> = fw
                .published_containers()?
                .into_iter()
                .filter(|id| !live.contains(id))
                .collect();
            if !stale.is_empty() {
                fw.republish(&published)?;
            }
            Ok::<_, berth_net::firewall::FirewallError>(stale)
        })
        .await;
        match swept {
            Ok(Ok(stale)) if !stale.is_empty() => {
                tracing::info!("unpublished the ports of containers that are gone: {stale:?}")
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("sweeping published ports: {e}"),
            Err(e) => tracing::warn!("sweeping published ports: {e}"),
        }
    }
}

/// Checks a create's network settings against its mode, with dockerd's messages: a
/// container that joins another's network namespace takes that one's hostname, files
/// and ports.
pub(crate) fn check_mode(req: &CreateRequest) -> Result<()> {
    let hc = &req.host_config;
    let mode = hc.network_mode.as_str();
    if let Some(name) = mode.strip_prefix("container:") {
        if name.is_empty() {
            return Err(Error::invalid(format!("invalid network mode: {mode}")));
        }
        let conflict = |what: &str| Err(Error::invalid(format!("conflicting options: {what}")));
        if !req.config.hostname.is_empty() {
            return conflict("hostname and the network mode");
        }
        if !list(&hc.dns).is_empty()
            || !list(&hc.dns_search).is_empty()
            || !list(&hc.dns_options).is_empty()
        {
            return conflict("dns and the network mode");
        }
        if !list(&hc.extra_hosts).is_empty() {
            return conflict("custom host-to-IP mapping and the network mode");
        }
        if hc.port_bindings.as_ref().is_some_and(|p| !p.is_empty()) || hc.publish_all_ports {
            return conflict("port publishing and the container type network mode");
        }
        if req
            .config
            .exposed_ports
            .as_ref()
            .is_some_and(|p| !p.is_empty())
        {
            return conflict("port exposing and the container type network mode");
        }
    }
    if mode == HOST
        && (hc.port_bindings.as_ref().is_some_and(|p| !p.is_empty()) || hc.publish_all_ports)
    {
        // dockerd drops them with a warning; Berth does not act on them, so it says so.
        return Err(Error::invalid(
            "conflicting options: port publishing and the host network mode (published ports are discarded in host network mode)",
        ));
    }
    Ok(())
}

/// The container whose network namespace `--network container:NAME` joins.
pub(crate) struct Joined {
    pub netns: String,
    pub hostname: String,
    pub paths: crate::Paths,
}

impl Engine {
    /// Whether a running container shares the network namespace of container `id`
    /// (`--network container:` naming it).
    fn netns_joined(&self, id: &str) -> bool {
        let joiners: Vec<String> = lock(&self.containers)
            .values()
            .filter_map(|e| {
                let r = e.record();
                let name = r.host_config.network_mode.strip_prefix("container:")?;
                (r.state.running && r.id != id).then(|| name.to_string())
            })
            .collect();
        joiners
            .iter()
            .any(|name| self.lookup(name).is_ok_and(|e| e.record().id == id))
    }

    /// For `--network container:NAME`: that container's namespace, hostname and files; it
    /// must be running (dockerd's message otherwise).
    pub(crate) fn joined_network(&self, mode: &str) -> Result<Option<Joined>> {
        let Some(name) = mode.strip_prefix("container:") else {
            return Ok(None);
        };
        let other = self.lookup(name)?;
        let r = other.record();
        if !r.state.running || r.state.pid <= 0 {
            return Err(Error::conflict(format!(
                "cannot join network of a non running container: {}",
                r.id
            )));
        }
        Ok(Some(Joined {
            netns: format!("/proc/{}/ns/net", r.state.pid),
            hostname: r.config.hostname.clone(),
            paths: self.paths(&r.id),
        }))
    }
}
