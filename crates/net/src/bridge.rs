//! The bridge driver: IPAM, links and firewall put together in the order a network and a
//! container's endpoint need, each step undone when a later one fails, so an address or a
//! host port is released exactly once whatever happens. The engine holds the [`Ipam`] and
//! [`PortAllocator`] values under its lock, calls these, and persists the values with the
//! [`Network`] and [`Endpoint`] records it gets back, in one transaction.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::firewall::{Firewall, FirewallError, NetworkRules, Nft};
use crate::ipam::{Ipam, IpamError, Pool, PoolRequest};
use crate::link::{Attachment, BridgeConfig, LinkError, Netlink, mac_for_ip, veth_name};
use crate::ports::{
    PortAllocator, PortBinding, Proto, PublishError, Published, ephemeral_range, publish,
};

/// A step of a network operation failed (and what it had done was undone).
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error(transparent)]
    Ipam(#[from] IpamError),
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    Firewall(#[from] FirewallError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error("firewall task: {0}")]
    Task(String),
}

/// What `docker network create` asks of the bridge driver.
#[derive(Debug, Clone, Default)]
pub struct NetworkSpec {
    pub id: String,
    pub name: String,
    /// The bridge's name: `br-` and the id's first 12 digits for user networks, as Docker.
    pub bridge: String,
    pub pools: Vec<PoolRequest>,
    pub internal: bool,
    pub mtu: Option<u32>,
    pub options: BridgeOptions,
}

/// The bridge driver's `-o` options that change what it sets up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeOptions {
    /// `com.docker.network.bridge.enable_icc`: containers of the network reach each
    /// other (false: each veth is an isolated bridge port).
    pub icc: bool,
    /// `com.docker.network.bridge.enable_ip_masquerade`: outbound traffic is
    /// masqueraded.
    pub masquerade: bool,
}

impl Default for BridgeOptions {
    fn default() -> Self {
        BridgeOptions {
            icc: true,
            masquerade: true,
        }
    }
}

/// A created network, as the engine records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub bridge: String,
    pub pools: Vec<Pool>,
    pub internal: bool,
    pub mtu: Option<u32>,
    /// Absent in records of earlier versions: Docker's defaults.
    #[serde(default)]
    pub options: BridgeOptions,
}

impl Network {
    fn rules(&self) -> NetworkRules {
        NetworkRules {
            bridge: self.bridge.clone(),
            subnets: self.pools.iter().map(|p| p.subnet).collect(),
            internal: self.internal,
            masquerade: self.options.masquerade,
        }
    }

    fn bridge_config(&self) -> BridgeConfig {
        BridgeConfig {
            name: self.bridge.clone(),
            addresses: self
                .pools
                .iter()
                .filter_map(|p| IpNet::new(p.gateway, p.subnet.prefix_len()).ok())
                .collect(),
            mtu: self.mtu,
        }
    }
}

/// 16 hex digits that differ for each attach of a (container, network) pair, for the
/// host veth's name (FNV-1a: a container on two networks gets two names).
fn endpoint_key(container_id: &str, network_id: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    // And a nonce: an attach right after an exit must not meet the veth of the last run,
    // which the kernel may still be deleting.
    static NONCE: AtomicU64 = AtomicU64::new(0);
    let nonce = NONCE.fetch_add(1, Ordering::Relaxed)
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in container_id
        .bytes()
        .chain([0])
        .chain(network_id.bytes())
        .chain(nonce.to_le_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Docker's bridge name for a user network.
pub fn bridge_name(network_id: &str) -> String {
    format!("br-{}", &network_id[..network_id.len().min(12)])
}

/// A container joining a network.
#[derive(Debug, Clone, Default)]
pub struct EndpointSpec {
    pub container_id: String,
    /// Its network namespace (`/proc/<pid>/ns/net`).
    pub netns: PathBuf,
    /// `eth0` for the first network.
    pub ifname: String,
    /// `--ip`, `--ip6`.
    pub ipv4: Option<IpAddr>,
    pub ipv6: Option<IpAddr>,
    /// `HostConfig.PortBindings`.
    pub ports: BTreeMap<String, Vec<PortBinding>>,
    /// No default route through this network (a second network of the container: its
    /// first one keeps the default route).
    pub no_default_route: bool,
    /// `--mac-address`; else Docker's `02:42` and the IPv4 address.
    pub mac: Option<[u8; 6]>,
    /// `--link-local-ip`: more addresses on the interface, with their prefix (dockerd's
    /// /16 and /64), outside the network's IPAM.
    pub link_local: Vec<IpNet>,
}

/// A container's endpoint on a network, as the engine records it (and `inspect` shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub network_id: String,
    pub container_id: String,
    pub host_ifname: String,
    /// Its name in the container (`eth0`); empty in records of earlier versions.
    #[serde(default)]
    pub ifname: String,
    pub ipv4: Option<IpNet>,
    pub ipv6: Option<IpNet>,
    pub gateways: Vec<IpAddr>,
    pub mac: String,
    /// Chosen host ports, by `"80/tcp"`.
    pub ports: BTreeMap<String, Vec<PortBinding>>,
    pub maps: Vec<crate::ports::PortMap>,
}

/// The bridge driver over a [`Netlink`] and an [`Nft`].
pub struct BridgeDriver<L, N: Nft> {
    pub netlink: L,
    pub firewall: Arc<Firewall<N>>,
}

impl<L: Netlink, N: Nft + 'static> BridgeDriver<L, N> {
    /// Runs a firewall change off the async workers (it waits for the `nft` process).
    async fn fw<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Firewall<N>) -> Result<T, FirewallError> + Send + 'static,
    ) -> Result<T, BridgeError> {
        let fw = self.firewall.clone();
        tokio::task::spawn_blocking(move || f(&fw))
            .await
            .map_err(|e| BridgeError::Task(e.to_string()))?
            .map_err(BridgeError::from)
    }

    /// Creates a network: pools, bridge, firewall rules; undone on failure. The sysctls
    /// stay the caller's, in its own namespace (`link::sysctl`): `net/ipv4/ip_forward`
    /// and, for 127.0.0.1 published ports, `net/ipv4/conf/<bridge>/route_localnet`.
    pub async fn create(
        &self,
        ipam: &mut Ipam,
        spec: &NetworkSpec,
    ) -> Result<Network, BridgeError> {
        let routes = self.netlink.routes().await?;
        let pools = ipam.add_network(&spec.id, &spec.name, &spec.pools, &routes)?;
        let net = Network {
            id: spec.id.clone(),
            name: spec.name.clone(),
            bridge: spec.bridge.clone(),
            pools,
            internal: spec.internal,
            mtu: spec.mtu,
            options: spec.options,
        };
        let res = async {
            self.netlink.ensure_bridge(&net.bridge_config()).await?;
            let rules = net.rules();
            self.fw(move |fw| fw.add_network(&rules)).await
        }
        .await;
        if let Err(e) = res {
            let _ = self.netlink.delete_link(&net.bridge).await;
            let _ = ipam.remove_network(&net.id);
            return Err(e);
        }
        Ok(net)
    }

    /// Re-creates a network's bridge and rules at daemon start (both idempotent).
    pub async fn restore(&self, net: &Network) -> Result<(), BridgeError> {
        self.netlink.ensure_bridge(&net.bridge_config()).await?;
        let rules = net.rules();
        self.fw(move |fw| fw.add_network(&rules)).await
    }

    /// Removes a network (its endpoints disconnected first by the caller).
    pub async fn remove(&self, ipam: &mut Ipam, net: &Network) -> Result<(), BridgeError> {
        let rules = net.rules();
        self.fw(move |fw| fw.remove_network(&rules)).await?;
        self.netlink.delete_link(&net.bridge).await?;
        match ipam.remove_network(&net.id) {
            Ok(()) | Err(IpamError::NoNetwork(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Connects a container: addresses, veth and `eth0`, host ports and their DNAT; each
    /// step undone if a later one fails.
    pub async fn connect(
        &self,
        ipam: &mut Ipam,
        ports: &mut PortAllocator,
        net: &Network,
        spec: &EndpointSpec,
    ) -> Result<Endpoint, BridgeError> {
        let has_v6 = net.pools.iter().any(|p| p.subnet.addr().is_ipv6());
        let ip4 = ipam.allocate(&net.id, spec.ipv4, false)?;
        let ip6 = if has_v6 {
            match ipam.allocate(&net.id, spec.ipv6, true) {
                Ok(ip) => Some(ip),
                Err(e) => {
                    let _ = ipam.release(&net.id, ip4);
                    return Err(e.into());
                }
            }
        } else {
            None
        };
        let release_ips = |ipam: &mut Ipam| {
            let _ = ipam.release(&net.id, ip4);
            if let Some(ip) = ip6 {
                let _ = ipam.release(&net.id, ip);
            }
        };
        let with_prefix = |ip: IpAddr| {
            net.pools
                .iter()
                .find(|p| p.subnet.contains(&ip))
                .and_then(|p| IpNet::new(ip, p.subnet.prefix_len()).ok())
        };
        let (v4net, v6net) = (with_prefix(ip4), ip6.and_then(with_prefix));
        let gateways: Vec<IpAddr> = [Some(ip4), ip6]
            .into_iter()
            .flatten()
            .filter_map(|ip| {
                net.pools
                    .iter()
                    .find(|p| p.subnet.contains(&ip))
                    .map(|p| p.gateway)
            })
            .collect();
        let mac = spec.mac.unwrap_or(match ip4 {
            IpAddr::V4(v4) => mac_for_ip(v4),
            IpAddr::V6(_) => [0x02, 0x42, 0, 0, 0, 0],
        });
        let attachment = Attachment {
            netns: spec.netns.clone(),
            bridge: net.bridge.clone(),
            host_ifname: veth_name(&endpoint_key(&spec.container_id, &net.id)),
            ifname: if spec.ifname.is_empty() {
                "eth0".into()
            } else {
                spec.ifname.clone()
            },
            mac,
            addresses: v4net
                .into_iter()
                .chain(v6net)
                .chain(spec.link_local.iter().copied())
                .collect(),
            gateways: if spec.no_default_route {
                Vec::new()
            } else {
                gateways.clone()
            },
            mtu: net.mtu,
            isolated: !net.options.icc,
        };
        if let Err(e) = self.netlink.attach(&attachment).await {
            release_ips(ipam);
            return Err(e.into());
        }
        let v4 = match ip4 {
            IpAddr::V4(v) => Some(v),
            IpAddr::V6(_) => None,
        };
        let v6 = match ip6 {
            Some(IpAddr::V6(v)) => Some(v),
            _ => None,
        };
        let published = match publish(&spec.ports, v4, v6, ports, ephemeral_range()) {
            Ok(p) => p,
            Err(e) => {
                let _ = self.netlink.delete_link(&attachment.host_ifname).await;
                release_ips(ipam);
                return Err(e.into());
            }
        };
        let (id, maps) = (spec.container_id.clone(), published.maps.clone());
        // No ports, no firewall change (each is an `nft` run, several milliseconds).
        if !maps.is_empty()
            && let Err(e) = self.fw(move |fw| fw.publish(&id, &maps)).await
        {
            release_ports(ports, &published);
            let _ = self.netlink.delete_link(&attachment.host_ifname).await;
            release_ips(ipam);
            return Err(e);
        }
        Ok(Endpoint {
            network_id: net.id.clone(),
            container_id: spec.container_id.clone(),
            host_ifname: attachment.host_ifname,
            ifname: attachment.ifname,
            ipv4: v4net,
            ipv6: v6net,
            gateways,
            mac: crate::link::format_mac(&mac),
            ports: published.bindings,
            maps: published.maps,
        })
    }

    /// Disconnects a container, in reverse: DNAT and host ports, the veth, the addresses.
    /// An address already released (a disconnect retried after a crash between its
    /// steps and its record) is not released twice: the error is returned after every
    /// other step is done.
    pub async fn disconnect(
        &self,
        ipam: &mut Ipam,
        ports: &mut PortAllocator,
        ep: &Endpoint,
    ) -> Result<(), BridgeError> {
        self.release_with(ipam, ports, ep, true).await
    }

    /// [`BridgeDriver::disconnect`] of a container that exited, but the veth: it goes with
    /// the container's namespace (the kernel deletes both ends when it cleans the
    /// namespace up), and deleting it here would wait for that (some 20 ms of RCU
    /// grace periods) on the exit's path. The caller may delete it later, off that path
    /// (`delete_link`, a no-op once it is gone); each attach names its veth anew, so a
    /// quick restart does not meet the old one.
    pub async fn release(
        &self,
        ipam: &mut Ipam,
        ports: &mut PortAllocator,
        ep: &Endpoint,
    ) -> Result<(), BridgeError> {
        self.release_with(ipam, ports, ep, false).await
    }

    async fn release_with(
        &self,
        ipam: &mut Ipam,
        ports: &mut PortAllocator,
        ep: &Endpoint,
        delete_link: bool,
    ) -> Result<(), BridgeError> {
        let (id, maps) = (ep.container_id.clone(), ep.maps.clone());
        if !maps.is_empty() {
            self.fw(move |fw| fw.unpublish(&id, &maps)).await?;
        }
        release_ports(
            ports,
            &Published {
                bindings: ep.ports.clone(),
                maps: Vec::new(),
            },
        );
        if delete_link {
            self.netlink.delete_link(&ep.host_ifname).await?;
        }
        let mut res = Ok(());
        for ip in ep.ipv4.iter().chain(ep.ipv6.iter()) {
            if let Err(e) = ipam.release(&ep.network_id, ip.addr()) {
                res = Err(e.into());
            }
        }
        res
    }
}

/// The host ports a set of bindings holds, as the allocator keys them: (address, `""`
/// for every address; protocol; port).
fn held_ports(
    bindings: &BTreeMap<String, Vec<PortBinding>>,
) -> impl Iterator<Item = (&str, Proto, u16)> {
    bindings.iter().flat_map(|(key, list)| {
        let proto = key
            .split_once('/')
            .and_then(|(_, p)| Proto::parse(p))
            .unwrap_or(Proto::Tcp);
        list.iter().filter_map(move |b| {
            let ip = if b.host_ip == "0.0.0.0" {
                ""
            } else {
                b.host_ip.as_str()
            };
            Some((ip, proto, b.host_port.parse().ok()?))
        })
    })
}

fn release_ports(ports: &mut PortAllocator, p: &Published) {
    for (ip, proto, port) in held_ports(&p.bindings) {
        ports.release(ip, proto, port);
    }
}

impl Endpoint {
    /// Takes this endpoint's host ports in `ports` again (daemon start, the endpoint of
    /// a container still running); a port already held is left as it is.
    pub fn hold_ports(&self, ports: &mut PortAllocator) {
        for (ip, proto, port) in held_ports(&self.ports) {
            let _ = ports.allocate(ip, proto, &port.to_string(), (0, 0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::FakeNft;
    use crate::link::{Call, FakeNetlink};
    use crate::ports::parse_port_specs;

    fn driver() -> BridgeDriver<FakeNetlink, FakeNft> {
        BridgeDriver {
            netlink: FakeNetlink {
                host_routes: vec!["172.17.0.0/16".parse().expect("net")],
                ..Default::default()
            },
            firewall: Arc::new(Firewall::new(FakeNft::default())),
        }
    }

    fn spec(id: &str) -> NetworkSpec {
        NetworkSpec {
            id: id.into(),
            name: format!("net-{id}"),
            bridge: bridge_name(id),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn no_ports_no_firewall_change() {
        let d = driver();
        let (mut ipam, mut ports) = (Ipam::default(), PortAllocator::default());
        let net = d
            .create(&mut ipam, &spec("89abcdef01234567"))
            .await
            .expect("create");
        let before = d.firewall.nft().scripts.lock().expect("scripts").len();
        let ep = d
            .connect(
                &mut ipam,
                &mut ports,
                &net,
                &EndpointSpec {
                    container_id: "c2".into(),
                    netns: "/proc/1/ns/net".into(),
                    ..Default::default()
                },
            )
            .await
            .expect("connect");
        d.disconnect(&mut ipam, &mut ports, &ep)
            .await
            .expect("disconnect");
        assert_eq!(
            d.firewall.nft().scripts.lock().expect("scripts").len(),
            before
        );
    }

    #[tokio::test]
    async fn create_connect_disconnect_remove() {
        let d = driver();
        let (mut ipam, mut ports) = (Ipam::default(), PortAllocator::default());
        let net = d
            .create(&mut ipam, &spec("0123456789abcdef"))
            .await
            .expect("create");
        // The host's 172.17.0.0/16 route is avoided.
        assert_eq!(
            net.pools[0].subnet,
            "172.18.0.0/16".parse::<IpNet>().expect("net")
        );
        assert_eq!(net.bridge, "br-0123456789ab");
        let ep = d
            .connect(
                &mut ipam,
                &mut ports,
                &net,
                &EndpointSpec {
                    container_id: "c1".into(),
                    netns: "/proc/1/ns/net".into(),
                    ports: parse_port_specs(&["8080:80"]).expect("spec").bindings,
                    ..Default::default()
                },
            )
            .await
            .expect("connect");
        assert_eq!(ep.ipv4, Some("172.18.0.2/16".parse().expect("net")));
        assert_eq!(ep.mac, "02:42:ac:12:00:02");
        assert_eq!(
            ep.gateways,
            vec!["172.18.0.1".parse::<IpAddr>().expect("ip")]
        );
        let calls = d.netlink.calls.lock().expect("calls").clone();
        assert!(
            matches!(&calls[1], Call::Attach(a) if a.ifname == "eth0" && a.bridge == "br-0123456789ab")
        );
        let scripts = d.firewall.nft().scripts.lock().expect("scripts").clone();
        assert!(
            scripts[1].contains("ports4any { tcp . 8080 comment \"ctr=c1\" : 172.18.0.2 . 80 }"),
            "{scripts:?}"
        );

        d.disconnect(&mut ipam, &mut ports, &ep)
            .await
            .expect("disconnect");
        // Everything given back: the same address and port go to the next container.
        assert_eq!(
            ports.allocate("", crate::ports::Proto::Tcp, "8080", (1, 2)),
            Ok(8080)
        );
        assert!(matches!(
            d.disconnect(&mut ipam, &mut ports, &ep).await,
            Err(BridgeError::Ipam(IpamError::NotAllocated(_)))
        ));
        d.remove(&mut ipam, &net).await.expect("remove");
        assert!(ipam.pools(&net.id).is_none());
    }

    #[tokio::test]
    async fn a_failed_connect_gives_everything_back() {
        let d = driver();
        let (mut ipam, mut ports) = (Ipam::default(), PortAllocator::default());
        let net = d.create(&mut ipam, &spec("aaaa")).await.expect("create");
        ports
            .allocate("", crate::ports::Proto::Tcp, "8080", (1, 2))
            .expect("taken by another");
        let err = d
            .connect(
                &mut ipam,
                &mut ports,
                &net,
                &EndpointSpec {
                    container_id: "c2".into(),
                    ports: parse_port_specs(&["9090:90", "8080:80"])
                        .expect("spec")
                        .bindings,
                    ..Default::default()
                },
            )
            .await
            .expect_err("8080 is taken");
        assert_eq!(
            err.to_string(),
            "Bind for 0.0.0.0:8080 failed: port is already allocated"
        );
        // The veth went, the address and 9090 came back.
        assert!(
            d.netlink
                .links
                .lock()
                .expect("links")
                .iter()
                .all(|l| !l.starts_with("veth"))
        );
        assert_eq!(
            ipam.allocate(&net.id, None, false),
            Ok("172.18.0.3".parse().expect("ip"))
        );
        assert_eq!(
            ipam.allocate(&net.id, Some("172.18.0.2".parse().expect("ip")), false),
            Ok("172.18.0.2".parse().expect("ip"))
        );
        assert_eq!(
            ports.allocate("", crate::ports::Proto::Tcp, "9090", (1, 2)),
            Ok(9090)
        );
    }

    #[tokio::test]
    async fn a_failed_create_leaves_no_pool() {
        let d = driver();
        let mut ipam = Ipam::default();
        let mut s = spec("bbbb");
        s.bridge = "bad name\"".into();
        assert!(matches!(
            d.create(&mut ipam, &s).await,
            Err(BridgeError::Firewall(_))
        ));
        assert!(ipam.pools("bbbb").is_none());
        assert!(d.netlink.links.lock().expect("links").is_empty());
    }
}
