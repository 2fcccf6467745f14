//! Links through netlink: bridges, veth pairs with one end in a container's network
//! namespace (given by path: `/proc/<pid>/ns/net` or a bind-mounted ns file), addresses
//! and routes, behind the [`Netlink`] trait ([`RtNetlink`] on the `rtnetlink` crate,
//! [`FakeNetlink`] recording calls for unit tests).
//!
//! An attach is one `RTM_NEWLINK` that creates the veth pair with the host end enslaved
//! to the bridge and up, and the peer created directly in the container's namespace,
//! already named `eth0` and carrying its MAC; then, on a netlink socket opened inside
//! that namespace (a short-lived thread `setns`es and opens the socket), addresses,
//! links up and the default routes.
//!
//! Every netlink socket is served by one thread of its own ([`netlink_runtime`]), not by
//! the caller's runtime: the kernel handles a request inside the `sendmsg` that carries
//! it, and a link change waits there for the rtnl lock (held meanwhile by, e.g., the
//! teardown of an exited container's namespace) and for RCU grace periods, tens of
//! milliseconds during which a daemon worker thread answered nothing.
//! The host end is in hairpin mode: published ports are DNAT in the kernel, and a
//! container reaching its own published port is sent back out the port it came in by.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use futures_util::{TryStreamExt, future};
use ipnet::IpNet;
use rtnetlink::packet_route::address::{AddressAttribute, AddressFlags};
use rtnetlink::packet_route::link::{InfoData, InfoVeth};
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute};
use rtnetlink::{
    Handle, LinkBridge, LinkBridgePort, LinkMessageBuilder, LinkUnspec, LinkVeth,
    RouteMessageBuilder,
};

/// The loopback device's index in every network namespace (the kernel registers it
/// first, `LOOPBACK_IFINDEX`).
const LOOPBACK_IFINDEX: u32 = 1;

/// A netlink or namespace operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("netlink: {0}")]
    Netlink(#[from] rtnetlink::Error),
    #[error("link {0} not found")]
    NotFound(String),
    #[error("network namespace {path}: {source}")]
    Netns {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

/// A bridge as a network needs it: its name and the gateway addresses with their prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeConfig {
    pub name: String,
    pub addresses: Vec<IpNet>,
    pub mtu: Option<u32>,
}

/// A container's endpoint on a bridge network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The container's network namespace, by path.
    pub netns: PathBuf,
    pub bridge: String,
    /// The host end's name (see [`veth_name`]).
    pub host_ifname: String,
    /// The name inside: `eth0` for the first network.
    pub ifname: String,
    pub mac: [u8; 6],
    /// The container's addresses with the subnet's prefix.
    pub addresses: Vec<IpNet>,
    /// Default routes via these gateways (none on an `--internal` network... they still
    /// get one in Docker; the firewall keeps the traffic in).
    pub gateways: Vec<IpAddr>,
    pub mtu: Option<u32>,
    /// The host end is an isolated bridge port (`com.docker.network.bridge.enable_icc`
    /// false): no traffic with the network's other containers, only with the bridge
    /// (the host, the way out).
    pub isolated: bool,
}

/// Docker's MAC for a container address: `02:42` then the IPv4 address' four bytes.
pub fn mac_for_ip(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// `02:42:ac:11:00:02`.
pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The host end of an endpoint's veth: `veth` and 7 hex digits of the endpoint id, as
/// Docker's names look (within IFNAMSIZ).
pub fn veth_name(endpoint_id: &str) -> String {
    let hex: String = endpoint_id
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .take(7)
        .collect();
    format!("veth{hex}")
}

/// The kernel operations a network needs. Each is idempotent where the engine's recovery
/// needs it (a bridge that exists is kept; a link already gone is not an error).
pub trait Netlink: Send + Sync {
    /// Every route destination of the host (main table), for IPAM to avoid.
    fn routes(&self) -> impl Future<Output = Result<Vec<IpNet>, LinkError>> + Send;
    /// Creates the bridge if missing, gives it its addresses, brings it up.
    fn ensure_bridge(
        &self,
        cfg: &BridgeConfig,
    ) -> impl Future<Output = Result<(), LinkError>> + Send;
    /// Deletes a link by name; `Ok(false)` if there was none.
    fn delete_link(&self, name: &str) -> impl Future<Output = Result<bool, LinkError>> + Send;
    /// Creates the veth pair and configures the inside end.
    fn attach(&self, a: &Attachment) -> impl Future<Output = Result<(), LinkError>> + Send;
}

/// [`Netlink`] on the `rtnetlink` crate, served by the caller's tokio runtime.
pub struct RtNetlink {
    handle: Handle,
}

impl RtNetlink {
    /// Opens a netlink socket in the current network namespace, served by the netlink
    /// thread ([`netlink_runtime`]).
    pub fn new() -> Result<RtNetlink, LinkError> {
        let rt = netlink_runtime()?;
        let _guard = rt.enter();
        let (conn, handle, _) = rtnetlink::new_connection().map_err(|source| LinkError::Io {
            what: "netlink socket".into(),
            source,
        })?;
        rt.spawn(conn);
        Ok(RtNetlink { handle })
    }

    /// A netlink socket opened inside the network namespace at `path`: a thread enters
    /// the namespace only to open the socket.
    pub async fn in_netns(path: &Path) -> Result<RtNetlink, LinkError> {
        let rt = netlink_runtime()?;
        let (conn, handle, _) = in_netns(path, move || {
            let _guard = rt.enter();
            rtnetlink::new_connection()
        })
        .await?;
        rt.spawn(conn);
        Ok(RtNetlink { handle })
    }

    async fn index(&self, name: &str) -> Result<Option<u32>, LinkError> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match links.try_next().await {
            Ok(Some(msg)) => Ok(Some(msg.header.index)),
            Ok(None) => Ok(None),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn add_address(&self, index: u32, net: &IpNet) -> Result<(), LinkError> {
        let mut req = self
            .handle
            .address()
            .add(index, net.addr(), net.prefix_len())
            .replace();
        if net.addr().is_ipv6() {
            // No duplicate address detection: the address is usable at once, as Docker.
            req.message_mut()
                .attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        req.execute().await?;
        Ok(())
    }

    async fn up(&self, index: u32) -> Result<(), LinkError> {
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await?;
        Ok(())
    }

    async fn default_route(&self, index: u32, gw: IpAddr) -> Result<(), LinkError> {
        let msg = match gw {
            IpAddr::V4(g) => RouteMessageBuilder::<Ipv4Addr>::new()
                .gateway(g)
                .output_interface(index)
                .build(),
            IpAddr::V6(g) => RouteMessageBuilder::<Ipv6Addr>::new()
                .gateway(g)
                .output_interface(index)
                .build(),
        };
        self.handle.route().add(msg).replace().execute().await?;
        Ok(())
    }

    /// Hairpin on the host end (a container reaching its own published port goes out the
    /// bridge port it came in by), then the inside half.
    async fn finish_attach(&self, a: &Attachment) -> Result<(), LinkError> {
        let host = self
            .index(&a.host_ifname)
            .await?
            .ok_or_else(|| LinkError::NotFound(a.host_ifname.clone()))?;
        self.handle
            .link()
            .set_port(
                LinkBridgePort::new(host)
                    .hairpin(true)
                    .isolated(a.isolated)
                    .build(),
            )
            .execute()
            .await?;
        RtNetlink::in_netns(&a.netns)
            .await?
            .configure_inside(a)
            .await
    }

    /// The inside half of an attach, on a socket in the container's namespace.
    async fn configure_inside(&self, a: &Attachment) -> Result<(), LinkError> {
        // Independent requests go out together (netlink-proto pipelines them on the one
        // socket): loopback up, and the interface's addresses and up; the routes need
        // both of the latter.
        let eth = async {
            let idx = self
                .index(&a.ifname)
                .await?
                .ok_or_else(|| LinkError::NotFound(a.ifname.clone()))?;
            let addrs =
                future::try_join_all(a.addresses.iter().map(|net| self.add_address(idx, net)));
            future::try_join(addrs, self.up(idx)).await?;
            Ok::<u32, LinkError>(idx)
        };
        let (_, idx) = future::try_join(self.up(LOOPBACK_IFINDEX), eth).await?;
        future::try_join_all(a.gateways.iter().map(|gw| self.default_route(idx, *gw))).await?;
        Ok(())
    }
}

impl Netlink for RtNetlink {
    async fn routes(&self) -> Result<Vec<IpNet>, LinkError> {
        let mut out = Vec::new();
        for msg in [
            RouteMessageBuilder::<Ipv4Addr>::new().build(),
            RouteMessageBuilder::<Ipv6Addr>::new().build(),
        ] {
            let mut routes = self.handle.route().get(msg).execute();
            while let Some(r) = routes.try_next().await? {
                let dst = r.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Destination(RouteAddress::Inet(v4)) => Some(IpAddr::V4(*v4)),
                    RouteAttribute::Destination(RouteAddress::Inet6(v6)) => Some(IpAddr::V6(*v6)),
                    _ => None,
                });
                let dst = dst.unwrap_or(
                    if r.header.address_family == rtnetlink::packet_route::AddressFamily::Inet6 {
                        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
                    } else {
                        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                    },
                );
                if let Ok(n) = IpNet::new(dst, r.header.destination_prefix_length) {
                    out.push(n);
                }
            }
        }
        Ok(out)
    }

    async fn ensure_bridge(&self, cfg: &BridgeConfig) -> Result<(), LinkError> {
        let index = match self.index(&cfg.name).await? {
            Some(i) => i,
            None => {
                let mut b = LinkBridge::new(&cfg.name);
                if let Some(mtu) = cfg.mtu {
                    b = b.mtu(mtu);
                }
                match self.handle.link().add(b.build()).execute().await {
                    Ok(()) => {}
                    Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::EEXIST => {}
                    Err(e) => return Err(e.into()),
                }
                self.index(&cfg.name)
                    .await?
                    .ok_or_else(|| LinkError::NotFound(cfg.name.clone()))?
            }
        };
        for net in &cfg.addresses {
            self.add_address(index, net).await?;
        }
        self.up(index).await
    }

    async fn delete_link(&self, name: &str) -> Result<bool, LinkError> {
        let Some(index) = self.index(name).await? else {
            return Ok(false);
        };
        match self.handle.link().del(index).execute().await {
            Ok(()) => Ok(true),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn attach(&self, a: &Attachment) -> Result<(), LinkError> {
        let bridge = self
            .index(&a.bridge)
            .await?
            .ok_or_else(|| LinkError::NotFound(a.bridge.clone()))?;
        let ns = std::fs::File::open(&a.netns).map_err(|source| LinkError::Netns {
            path: a.netns.clone(),
            source,
        })?;
        let mut peer = LinkMessageBuilder::<LinkUnspec>::new()
            .name(a.ifname.clone())
            .address(a.mac.to_vec())
            .setns_by_fd(ns.as_raw_fd());
        let mut host = LinkVeth::new(&a.host_ifname, &a.ifname)
            .controller(bridge)
            .up();
        if let Some(mtu) = a.mtu {
            peer = peer.mtu(mtu);
            host = host.mtu(mtu);
        }
        let msg = host
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build())))
            .build();
        self.handle.link().add(msg).execute().await?;
        drop(ns);
        let res = self.finish_attach(a).await;
        if res.is_err() {
            // Leave nothing half made: the host end takes the peer with it.
            let _ = self.delete_link(&a.host_ifname).await;
        }
        res
    }
}

/// The runtime that serves every netlink socket of [`RtNetlink`]: a current-thread tokio
/// runtime on a thread of its own (`berth-netlink`), started at first use. Requests are
/// handed to it over channels, so callers on any runtime await their answers without
/// making the kernel's work on them theirs.
pub fn netlink_runtime() -> Result<&'static tokio::runtime::Handle, LinkError> {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Handle> = std::sync::OnceLock::new();
    static START: Mutex<()> = Mutex::new(());
    if let Some(h) = RUNTIME.get() {
        return Ok(h);
    }
    let _once = START.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(h) = RUNTIME.get() {
        return Ok(h);
    }
    let io = |source| LinkError::Io {
        what: "netlink thread".into(),
        source,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(io)?;
    let handle = rt.handle().clone();
    std::thread::Builder::new()
        .name("berth-netlink".into())
        .spawn(move || rt.block_on(std::future::pending::<()>()))
        .map_err(io)?;
    Ok(RUNTIME.get_or_init(|| handle))
}

/// Runs `f` on a new thread that has entered the network namespace at `path`, and gives
/// back its result: sockets `f` opens belong to that namespace. The thread ends with `f`,
/// so no thread of the caller's stays in another namespace. The thread starts at once;
/// the future (which borrows nothing) waits for it.
pub fn in_netns<T, F>(
    path: &Path,
    f: F,
) -> impl Future<Output = Result<T, LinkError>> + Send + use<T, F>
where
    T: Send + 'static,
    F: FnOnce() -> std::io::Result<T> + Send + 'static,
{
    let path = path.to_path_buf();
    let started = std::fs::File::open(&path)
        .map_err(|source| LinkError::Netns {
            path: path.clone(),
            source,
        })
        .and_then(|ns| {
            let (tx, rx) = tokio::sync::oneshot::channel();
            std::thread::Builder::new()
                .name("berth-netns".into())
                .spawn(move || {
                    let res = nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)
                        .map_err(std::io::Error::from)
                        .and_then(|()| f());
                    let _ = tx.send(res);
                })
                .map_err(|source| LinkError::Io {
                    what: "netns thread".into(),
                    source,
                })?;
            Ok(rx)
        });
    async move {
        let res = started?.await.map_err(|_| LinkError::Io {
            what: "netns thread".into(),
            source: std::io::Error::other("thread ended without an answer"),
        })?;
        res.map_err(|source| LinkError::Netns { path, source })
    }
}

/// Writes a sysctl under `/proc/sys` (e.g. `net/ipv4/conf/<bridge>/route_localnet`).
pub fn sysctl(key: &str, value: &str) -> Result<(), LinkError> {
    std::fs::write(Path::new("/proc/sys").join(key), value).map_err(|source| LinkError::Io {
        what: format!("sysctl {key}"),
        source,
    })
}

/// What a [`FakeNetlink`] was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    EnsureBridge(BridgeConfig),
    DeleteLink(String),
    Attach(Attachment),
}

/// A [`Netlink`] that records calls and keeps the set of links, for unit tests of the
/// logic above it.
#[derive(Debug, Default)]
pub struct FakeNetlink {
    pub host_routes: Vec<IpNet>,
    pub calls: Mutex<Vec<Call>>,
    pub links: Mutex<std::collections::BTreeSet<String>>,
}

impl FakeNetlink {
    fn record(&self, c: Call) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(c);
        }
    }
}

impl Netlink for FakeNetlink {
    async fn routes(&self) -> Result<Vec<IpNet>, LinkError> {
        Ok(self.host_routes.clone())
    }
    async fn ensure_bridge(&self, cfg: &BridgeConfig) -> Result<(), LinkError> {
        self.record(Call::EnsureBridge(cfg.clone()));
        if let Ok(mut l) = self.links.lock() {
            l.insert(cfg.name.clone());
        }
        Ok(())
    }
    async fn delete_link(&self, name: &str) -> Result<bool, LinkError> {
        self.record(Call::DeleteLink(name.to_string()));
        Ok(self
            .links
            .lock()
            .map(|mut l| l.remove(name))
            .unwrap_or(false))
    }
    async fn attach(&self, a: &Attachment) -> Result<(), LinkError> {
        if !self
            .links
            .lock()
            .map(|l| l.contains(&a.bridge))
            .unwrap_or(false)
        {
            return Err(LinkError::NotFound(a.bridge.clone()));
        }
        self.record(Call::Attach(a.clone()));
        if let Ok(mut l) = self.links.lock() {
            l.insert(a.host_ifname.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_mac_from_the_address() {
        let mac = mac_for_ip(Ipv4Addr::new(172, 17, 0, 2));
        assert_eq!(format_mac(&mac), "02:42:ac:11:00:02");
    }

    #[test]
    fn veth_names_fit_ifnamsiz() {
        let n = veth_name("4f8973a50523e1c0");
        assert_eq!(n, "veth4f8973a");
        assert!(n.len() < 16);
    }

    #[tokio::test]
    async fn fake_refuses_an_attach_to_a_missing_bridge_and_records_calls() {
        let nl = FakeNetlink::default();
        let a = Attachment {
            netns: "/proc/1/ns/net".into(),
            bridge: "br-x".into(),
            host_ifname: veth_name("abcdef0123"),
            ifname: "eth0".into(),
            mac: mac_for_ip(Ipv4Addr::new(10, 0, 0, 2)),
            addresses: vec!["10.0.0.2/24".parse().expect("net")],
            gateways: vec!["10.0.0.1".parse().expect("ip")],
            mtu: None,
            isolated: false,
        };
        assert!(matches!(nl.attach(&a).await, Err(LinkError::NotFound(_))));
        let br = BridgeConfig {
            name: "br-x".into(),
            addresses: vec!["10.0.0.1/24".parse().expect("net")],
            mtu: None,
        };
        nl.ensure_bridge(&br).await.expect("bridge");
        nl.attach(&a).await.expect("attach");
        assert!(nl.delete_link("vethabcdef0").await.expect("delete"));
        assert!(!nl.delete_link("vethabcdef0").await.expect("delete again"));
        let calls = nl.calls.lock().expect("calls").clone();
        assert_eq!(calls[0], Call::EnsureBridge(br));
        assert_eq!(calls[1], Call::Attach(a));
    }
}
