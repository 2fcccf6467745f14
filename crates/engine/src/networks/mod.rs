//! The network service: Docker's networks on `berth-net` (issue 13).
//!
//! - this file: the daemon's network settings ([`NetConfig`]), the network records
//!   ([`NetworkRecord`], kept in the metadata store), and [`Networks`], which holds the
//!   bridge driver, the address and host-port allocations, the embedded DNS's name table
//!   and what each running container holds (its DNS server, its host-port reservations);
//!   opening it at daemon start (the firewall, the default `bridge`, the recorded
//!   networks) and its end at shutdown;
//! - `api.rs`: `/networks` (create, list, inspect, remove, prune, connect, disconnect);
//! - `attach.rs`: a container's networks: chosen at create, attached between the shim's
//!   create and the process's start (veth, addresses, routes, published ports, `/etc/hosts`,
//!   `/etc/resolv.conf`, DNS), detached at its exit, found again after a daemon restart;
//! - `view.rs`: the API's views of networks and of a container's endpoints and ports.
//!
//! Allocations (addresses, host ports) are not persisted apart: they are rebuilt at daemon
//! start from the network records and the endpoints of running containers (each bundle's
//! `network.json`, written at attach), so an address is held exactly while a container that
//! holds it runs.

mod api;
pub(crate) mod attach;
mod files;
mod ports;
pub(crate) mod view;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use berth_net::bridge::{BridgeDriver, Network, NetworkSpec};
use berth_net::dns::{DnsServer, MemoryTable, NameServers};
use berth_net::firewall::{Firewall, NftCli};
use berth_net::ipam::{Ipam, PoolRequest};
use berth_net::link::RtNetlink;
use berth_net::ports::PortAllocator;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::{Error, ErrorKind, Result, lock};

pub use attach::NetAttachment;

/// The daemon's network settings (`berthd --bridge`, `--bip`, `--firewall-table`).
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// The default network's bridge (`--bridge`, default `berth0`); `None` (`--bridge
    /// none`): no default network, containers that name none get loopback only.
    pub bridge: Option<String>,
    /// The default bridge's address and subnet (`--bip 172.17.0.1/16`); `None`: the first
    /// free private /16.
    pub bip: Option<IpNet>,
    /// The name of Berth's nftables table (`inet <name>`, default `berth`).
    pub firewall_table: String,
    /// Subnets for networks created without one (`--default-address-pool`); empty:
    /// Docker's defaults.
    pub default_pools: Vec<IpNet>,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            bridge: Some("berth0".into()),
            bip: None,
            firewall_table: "berth".into(),
            default_pools: Vec::new(),
        }
    }
}

/// The predefined networks that are not bridges.
pub(crate) const HOST: &str = "host";
pub(crate) const NONE: &str = "none";
/// The default network's name.
pub(crate) const BRIDGE: &str = "bridge";

/// Whether a network mode names a network of its own (not `host`, `none`, `container:`).
pub(crate) fn is_network_name(mode: &str) -> bool {
    !matches!(mode, HOST | NONE) && !mode.starts_with("container:")
}

/// The name of the network a mode attaches to: `default` is `bridge`.
pub(crate) fn mode_network(mode: &str) -> &str {
    match mode {
        "" | "default" => BRIDGE,
        m => m,
    }
}

/// A network as recorded: the driver's view and what `docker network inspect` shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NetworkRecord {
    pub id: String,
    pub name: String,
    /// `bridge`, `host` or `null`.
    pub driver: String,
    pub created: String,
    /// The bridge network (`None` for `host` and `none`).
    pub net: Option<Network>,
    pub enable_ipv6: bool,
    pub internal: bool,
    pub attachable: bool,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// The IPAM config as asked (`Subnet`, `IPRange`, `Gateway` each), for inspect.
    #[serde(default)]
    pub ipam_config: Vec<BTreeMap<String, String>>,
}

impl NetworkRecord {
    /// One of the networks Docker predefines (`bridge`, `host`, `none`).
    pub fn predefined(&self) -> bool {
        matches!(self.name.as_str(), BRIDGE | HOST | NONE)
    }

    /// The name of a container's interface on this network: its prefix (`eth`, or `-o
    /// com.docker.network.container_iface_prefix`) and the lowest number that none of
    /// the container's interfaces (`taken`) has, as dockerd names them.
    pub fn next_ifname(&self, taken: &[String]) -> String {
        let prefix = self
            .options
            .get(api::IFACE_PREFIX_OPT)
            .map_or("eth", String::as_str);
        (0..)
            .map(|n| format!("{prefix}{n}"))
            .find(|name| !taken.contains(name))
            .unwrap_or_default()
    }

    /// Published ports without a host address get this network's `-o
    /// com.docker.network.bridge.host_binding_ipv4`, if it has one.
    pub fn bind_default_host(
        &self,
        mut ports: BTreeMap<String, Vec<berth_models::PortBinding>>,
    ) -> BTreeMap<String, Vec<berth_models::PortBinding>> {
        if let Some(ip) = self.options.get(api::HOST_BINDING_OPT) {
            for b in ports.values_mut().flatten() {
                if b.host_ip.is_empty() {
                    b.host_ip = ip.clone();
                }
            }
        }
        ports
    }
}

/// What the network service keeps under its lock.
#[derive(Default)]
pub(crate) struct State {
    pub ipam: Ipam,
    pub ports: PortAllocator,
    /// Every network, by id.
    pub nets: BTreeMap<String, NetworkRecord>,
}

impl State {
    /// A network by full id, name, or unique id prefix (Docker's order).
    pub fn find(&self, key: &str) -> Result<&NetworkRecord> {
        if let Some(n) = self.nets.get(key) {
            return Ok(n);
        }
        if let Some(n) = self.nets.values().find(|n| n.name == key) {
            return Ok(n);
        }
        let mut found = self.nets.values().filter(|n| n.id.starts_with(key));
        match (found.next(), found.next()) {
            (Some(n), None) if !key.is_empty() => Ok(n),
            (Some(_), Some(_)) => Err(Error::invalid(format!(
                "network {key} is ambiguous ({} matches found based on ID prefix)",
                self.nets.values().filter(|n| n.id.starts_with(key)).count()
            ))),
            _ => Err(Error::not_found(format!("network {key} not found"))),
        }
    }
}

/// What a running container holds beside its addresses: the embedded DNS server in its
/// namespace and the sockets that reserve its host ports.
#[derive(Default)]
pub(crate) struct Held {
    pub dns: Option<DnsServer>,
    /// The networks whose names its DNS answers (changed by connect and disconnect).
    pub scope: Arc<std::sync::RwLock<Vec<String>>>,
    pub ports: Vec<OwnedFd>,
}

/// The name table as one container's embedded DNS sees it: the names of the networks it
/// is on now.
pub(crate) struct ScopedTable {
    pub table: Arc<MemoryTable>,
    pub scope: Arc<std::sync::RwLock<Vec<String>>>,
    /// This container's link aliases on user networks: alias -> the linked container's
    /// name, which is looked up instead.
    pub aliases: BTreeMap<String, String>,
}

impl berth_net::dns::NameTable for ScopedTable {
    fn lookup(&self, _networks: &[String], name: &str) -> Vec<IpAddr> {
        let scope = self.scope.read().map(|s| s.clone()).unwrap_or_default();
        let name = self.aliases.get(name).map_or(name, String::as_str);
        self.table.lookup(&scope, name)
    }
    fn reverse(&self, _networks: &[String], ip: IpAddr) -> Option<String> {
        let scope = self.scope.read().map(|s| s.clone()).unwrap_or_default();
        self.table.reverse(&scope, ip)
    }
}

/// The network service of the engine.
pub(crate) struct Networks {
    pub driver: BridgeDriver<RtNetlink, NftCli>,
    pub state: tokio::sync::Mutex<State>,
    /// Names of containers on user networks, for the embedded DNS.
    pub names: Arc<MemoryTable>,
    /// The host's resolvers, where the embedded DNS forwards other names.
    pub upstream: Arc<NameServers>,
    /// By container id.
    pub held: Mutex<HashMap<String, Held>>,
    /// The firewall table was set up by this daemon (so it is removed at shutdown).
    pub firewall_ready: std::sync::atomic::AtomicBool,
}

/// An error of the network layer, with Docker's status where it has one.
pub(crate) fn net_error(e: berth_net::bridge::BridgeError) -> Error {
    use berth_net::bridge::BridgeError as B;
    use berth_net::ipam::IpamError as I;
    use berth_net::ports::PortAllocError as P;
    use berth_net::ports::PublishError as Pu;
    match &e {
        B::Ipam(
            I::PoolOverlap
            | I::GatewayOutside(_)
            | I::RangeOutside(_)
            | I::NotInSubnet(_)
            | I::AuxOutside { .. },
        ) => Error::new(ErrorKind::Forbidden, e.to_string()),
        B::Ipam(I::InUse) => Error::conflict(e.to_string()),
        B::Ipam(I::NoNetwork(_)) => Error::not_found(e.to_string()),
        B::Publish(Pu::Alloc(P::Allocated { .. })) => Error::conflict(e.to_string()),
        B::Publish(_) => Error::invalid(e.to_string()),
        _ => Error::internal(e.to_string()),
    }
}

/// The host's resolvers for the embedded DNS: the nameservers of `/etc/resolv.conf`
/// (loopback ones included: the embedded DNS forwards from the host's namespace).
fn host_nameservers() -> NameServers {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let servers = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .map(|ip| std::net::SocketAddr::new(ip, 53))
        .collect();
    NameServers {
        servers,
        timeout: std::time::Duration::from_secs(5),
    }
}

impl Networks {
    /// The service, with the recorded networks (`records`); the firewall and bridges are
    /// set up by [`Networks::restore`].
    pub fn new(cfg: NetConfig, records: Vec<NetworkRecord>) -> Result<Networks> {
        let netlink = RtNetlink::new().map_err(|e| Error::internal(format!("netlink: {e}")))?;
        let firewall = Firewall::with_table(NftCli::default(), &cfg.firewall_table)
            .map_err(|e| Error::invalid(format!("--firewall-table: {e}")))?;
        let mut state = State::default();
        state.ipam.set_default_pools(cfg.default_pools.clone());
        for r in records {
            if let Some(net) = &r.net {
                state.ipam.restore_network(&r.id, &r.name, &net.pools);
            }
            state.nets.insert(r.id.clone(), r);
        }
        Ok(Networks {
            driver: BridgeDriver {
                netlink,
                firewall: Arc::new(firewall),
            },
            state: tokio::sync::Mutex::new(state),
            names: Arc::new(MemoryTable::default()),
            upstream: Arc::new(host_nameservers()),
            held: Mutex::new(HashMap::new()),
            firewall_ready: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Sets up Berth's firewall table once (idempotent: running containers' published
    /// ports are kept) and the sysctls bridges need.
    pub async fn ensure_firewall(&self) -> Result<()> {
        use std::sync::atomic::Ordering;
        if self.firewall_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let fw = self.driver.firewall.clone();
        tokio::task::spawn_blocking(move || fw.init())
            .await
            .map_err(|e| Error::internal(e.to_string()))?
            .map_err(|e| {
                Error::internal(format!(
                    "setting up the firewall (nftables table {}): {e}; bridge networks need the nft tool (Debian: apt install nftables); berthd --bridge none runs without a default network",
                    self.driver.firewall.table()
                ))
            })?;
        berth_net::link::sysctl("net/ipv4/ip_forward", "1")
            .map_err(|e| Error::internal(format!("enabling IP forwarding: {e}")))?;
        self.firewall_ready.store(true, Ordering::Release);
        Ok(())
    }

    /// Bridge settings of a network's bridge once it exists: 127.0.0.1 published ports
    /// reach containers through it (`route_localnet`).
    fn bridge_sysctls(bridge: &str) -> Result<()> {
        berth_net::link::sysctl(&format!("net/ipv4/conf/{bridge}/route_localnet"), "1")
            .map_err(|e| Error::internal(format!("configuring {bridge}: {e}")))
    }

    /// Creates a bridge network (the records are the caller's to persist).
    pub async fn create_bridge(&self, state: &mut State, spec: &NetworkSpec) -> Result<Network> {
        self.ensure_firewall().await?;
        let net = self
            .driver
            .create(&mut state.ipam, spec)
            .await
            .map_err(net_error)?;
        if let Err(e) = Self::bridge_sysctls(&net.bridge) {
            let _ = self.driver.remove(&mut state.ipam, &net).await;
            return Err(e);
        }
        Ok(net)
    }

    /// At daemon start: the bridges and rules of every recorded bridge network again.
    pub async fn restore_bridges(&self) {
        let nets: Vec<Network> = {
            let state = self.state.lock().await;
            state.nets.values().filter_map(|r| r.net.clone()).collect()
        };
        if nets.is_empty() {
            return;
        }
        if let Err(e) = self.ensure_firewall().await {
            tracing::warn!("{}", e.message);
            return;
        }
        for net in nets {
            let res = self.driver.restore(&net).await.map_err(net_error);
            if let Err(e) = res.and_then(|()| Self::bridge_sysctls(&net.bridge)) {
                tracing::warn!(network = net.name, "restoring the network: {}", e.message);
            }
        }
    }

    /// At shutdown: Berth's firewall table goes when no container holds a published port
    /// or an address any more (else it stays, so they keep working until the next start).
    pub async fn shutdown(&self, any_running: bool) {
        use std::sync::atomic::Ordering;
        if any_running || !self.firewall_ready.load(Ordering::Acquire) {
            return;
        }
        let fw = self.driver.firewall.clone();
        match tokio::task::spawn_blocking(move || fw.teardown()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("removing the firewall table: {e}"),
            Err(e) => tracing::warn!("removing the firewall table: {e}"),
        }
    }

    /// Adds (or removes) a network to what a running container's embedded DNS answers.
    pub fn scope_dns(&self, container: &str, network: &str, add: bool) {
        if let Some(h) = lock(&self.held).get(container)
            && let Ok(mut s) = h.scope.write()
        {
            s.retain(|n| n != network);
            if add {
                s.push(network.to_string());
            }
        }
    }

    /// Drops what a container holds (its DNS server, its port reservations).
    pub fn release_held(&self, id: &str) {
        lock(&self.held).remove(id);
    }
}

/// The pool requests of `--bip` (the gateway is the address given).
pub(crate) fn bip_pools(bip: Option<IpNet>) -> Vec<PoolRequest> {
    match bip {
        Some(b) => vec![PoolRequest {
            subnet: Some(b.trunc()),
            ip_range: None,
            gateway: (b.addr() != b.network()).then_some(b.addr()),
            ..Default::default()
        }],
        None => Vec::new(),
    }
}
