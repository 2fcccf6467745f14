//! IP address management: the pools of each network (subnet, optional `--ip-range`,
//! gateway; IPv4 and IPv6) and the addresses handed out from them.
//!
//! [`Ipam`] is a plain serializable value: the engine keeps it in its transactional store
//! and writes it in the same transaction as the record that holds an address, so an
//! address is never lost nor handed out twice across a daemon restart. Every address is
//! released exactly once: a second release is an error, not a silent no-op.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net};
use serde::{Deserialize, Serialize};

/// What IPAM refuses, worded as dockerd's messages where dockerd has one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IpamError {
    #[error("Pool overlaps with other one on this address space")]
    PoolOverlap,
    #[error(
        "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network"
    )]
    NoDefaultPool,
    #[error("no matching subnet for gateway {0}")]
    GatewayOutside(IpAddr),
    #[error("no matching subnet for range {0}")]
    RangeOutside(IpNet),
    #[error("no available IPv{v} addresses on this network's address pools: {name} ({id})", v = if *.ipv6 { 6 } else { 4 })]
    NoAddress {
        name: String,
        id: String,
        ipv6: bool,
    },
    #[error("Address already in use")]
    InUse,
    #[error("Invalid address {0}: It does not belong to any of this network's subnets")]
    NotInSubnet(IpAddr),
    #[error("network {0} not found")]
    NoNetwork(String),
    #[error("network {0} already exists")]
    NetworkExists(String),
    #[error("address {0} was not allocated")]
    NotAllocated(IpAddr),
    #[error("invalid default address pool: {0}")]
    BadPool(String),
    #[error("auxiliary address: ({key}:{ip}) must belong to the master pool: {subnet}")]
    AuxOutside {
        key: String,
        ip: IpAddr,
        subnet: IpNet,
    },
}

/// A pool as the user asks for it (`docker network create --subnet --ip-range --gateway`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolRequest {
    pub subnet: Option<IpNet>,
    pub ip_range: Option<IpNet>,
    pub gateway: Option<IpAddr>,
    /// `--aux-address NAME=IP`: addresses of the subnet no container gets (needs a subnet).
    pub aux: BTreeMap<String, IpAddr>,
}

/// One subnet of a network and the addresses taken in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    pub subnet: IpNet,
    /// Where container addresses come from: `--ip-range`, else the subnet.
    pub range: IpNet,
    pub gateway: IpAddr,
    /// Addresses held, the gateway included.
    pub allocated: BTreeSet<IpAddr>,
    /// The last address handed out: allocation goes on after it (serially, as dockerd),
    /// so a just-released address is not reused at once.
    pub last: Option<IpAddr>,
    /// Auxiliary addresses (`--aux-address`), by name: held for good, never handed out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aux: BTreeMap<String, IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct NetworkPools {
    name: String,
    pools: Vec<Pool>,
}

/// Every network's pools, keyed by network id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ipam {
    networks: BTreeMap<String, NetworkPools>,
    /// Where networks without a subnet get theirs (`--default-address-pool`); empty:
    /// Docker's defaults ([`default_pool_candidates`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    default_pools: Vec<IpNet>,
}

/// The subnets of `--default-address-pool base=CIDR,size=N`: `base` cut into `/size`s.
pub fn split_pool(base: IpNet, size: u8) -> Result<Vec<IpNet>, IpamError> {
    if size < base.prefix_len() || size > base.max_prefix_len() {
        return Err(IpamError::BadPool(format!("{base} size {size}")));
    }
    base.subnets(size)
        .map(|s| s.take(1 << 16).collect())
        .map_err(|_| IpamError::BadPool(format!("{base} size {size}")))
}

/// Docker's default address pools: 172.17.0.0/16 to 172.31.0.0/16, then 192.168.0.0/16 in
/// /20s, in that order.
pub fn default_pool_candidates() -> Vec<Ipv4Net> {
    let mut out: Vec<Ipv4Net> = (17..=31)
        .filter_map(|b| Ipv4Net::new(Ipv4Addr::new(172, b, 0, 0), 16).ok())
        .collect();
    out.extend((0..16).filter_map(|i| Ipv4Net::new(Ipv4Addr::new(192, 168, i * 16, 0), 20).ok()));
    out
}

fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

impl Ipam {
    /// Networks without a subnet take theirs from `pools` (in order) instead of Docker's
    /// defaults.
    pub fn set_default_pools(&mut self, pools: Vec<IpNet>) {
        self.default_pools = pools;
    }

    /// The pools of a network, if it has any.
    pub fn pools(&self, network: &str) -> Option<&[Pool]> {
        self.networks.get(network).map(|n| n.pools.as_slice())
    }

    fn all_subnets(&self) -> impl Iterator<Item = &IpNet> {
        self.networks
            .values()
            .flat_map(|n| n.pools.iter().map(|p| &p.subnet))
    }

    /// The first default pool overlapping neither another network's pool nor a route of
    /// the host (`host_routes`, from [`crate::link::Netlink::routes`]).
    pub fn pick_default_subnet(&self, host_routes: &[IpNet]) -> Result<IpNet, IpamError> {
        let candidates: Vec<IpNet> = if self.default_pools.is_empty() {
            default_pool_candidates()
                .into_iter()
                .map(IpNet::V4)
                .collect()
        } else {
            self.default_pools.clone()
        };
        candidates
            .into_iter()
            .find(|c| {
                !self.all_subnets().any(|s| overlaps(s, c))
                    && !host_routes
                        .iter()
                        .any(|r| r.prefix_len() > 0 && overlaps(r, c))
            })
            .ok_or(IpamError::NoDefaultPool)
    }

    /// Creates the pools of network `id` (`name` is for messages): a request without a
    /// subnet gets a default pool free of other pools and of the host's routes. Each pool's
    /// gateway (the requested one, else the subnet's first address) is allocated at once.
    /// Nothing changes when a request is refused.
    pub fn add_network(
        &mut self,
        id: &str,
        name: &str,
        requests: &[PoolRequest],
        host_routes: &[IpNet],
    ) -> Result<Vec<Pool>, IpamError> {
        if self.networks.contains_key(id) {
            return Err(IpamError::NetworkExists(id.to_string()));
        }
        let mut staged = self.clone();
        let mut pools = Vec::new();
        let requests = if requests.is_empty() {
            &[PoolRequest::default()][..]
        } else {
            requests
        };
        for req in requests {
            let subnet = match req.subnet {
                Some(s) => {
                    let s = s.trunc();
                    if staged
                        .all_subnets()
                        .chain(pools.iter().map(|p: &Pool| &p.subnet))
                        .any(|o| overlaps(o, &s))
                    {
                        return Err(IpamError::PoolOverlap);
                    }
                    s
                }
                None => staged.pick_default_subnet(host_routes)?,
            };
            let range = match req.ip_range {
                Some(r) if subnet.contains(&r.trunc()) => r.trunc(),
                Some(r) => return Err(IpamError::RangeOutside(r)),
                None => subnet,
            };
            let gateway = match req.gateway {
                Some(g) if subnet.contains(&g) => g,
                Some(g) => return Err(IpamError::GatewayOutside(g)),
                None => nth(&subnet, 1),
            };
            if let Some((key, ip)) = req.aux.iter().find(|(_, ip)| !subnet.contains(*ip)) {
                return Err(IpamError::AuxOutside {
                    key: key.clone(),
                    ip: *ip,
                    subnet,
                });
            }
            let mut allocated = BTreeSet::from([gateway]);
            allocated.extend(req.aux.values().copied());
            let pool = Pool {
                subnet,
                range,
                gateway,
                allocated,
                last: None,
                aux: req.aux.clone(),
            };
            // Reserve it in the staging copy so a second request of this call sees it.
            staged
                .networks
                .entry(id.to_string())
                .or_insert_with(|| NetworkPools {
                    name: name.to_string(),
                    pools: Vec::new(),
                });
            pools.push(pool);
        }
        if let Some(n) = staged.networks.get_mut(id) {
            n.pools = pools.clone();
        }
        *self = staged;
        Ok(pools)
    }

    /// Puts back a recorded network's pools at daemon start, with only their gateways (and
    /// auxiliary addresses) allocated (the caller allocates its running containers' addresses again): no
    /// overlap check against the host's routes, which now hold the network's own bridge.
    pub fn restore_network(&mut self, id: &str, name: &str, pools: &[Pool]) {
        let pools = pools
            .iter()
            .map(|p| Pool {
                allocated: std::iter::once(p.gateway)
                    .chain(p.aux.values().copied())
                    .collect(),
                last: None,
                ..p.clone()
            })
            .collect();
        self.networks.insert(
            id.to_string(),
            NetworkPools {
                name: name.to_string(),
                pools,
            },
        );
    }

    /// Drops a network's pools (its containers' addresses with them).
    pub fn remove_network(&mut self, id: &str) -> Result<(), IpamError> {
        self.networks
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| IpamError::NoNetwork(id.to_string()))
    }

    /// Allocates a container address on `network`: `requested` (`--ip`/`--ip6`) if it is in
    /// a subnet and free, else the next free one of the first IPv4 (or IPv6) pool's range.
    /// The subnet's network address and (IPv4) broadcast address are never handed out.
    pub fn allocate(
        &mut self,
        network: &str,
        requested: Option<IpAddr>,
        ipv6: bool,
    ) -> Result<IpAddr, IpamError> {
        let net = self
            .networks
            .get_mut(network)
            .ok_or_else(|| IpamError::NoNetwork(network.to_string()))?;
        if let Some(ip) = requested {
            let pool = net
                .pools
                .iter_mut()
                .find(|p| p.subnet.contains(&ip))
                .ok_or(IpamError::NotInSubnet(ip))?;
            if pool.allocated.contains(&ip) || !usable(&pool.subnet, ip) {
                return Err(IpamError::InUse);
            }
            pool.allocated.insert(ip);
            return Ok(ip);
        }
        let name = net.name.clone();
        for pool in net
            .pools
            .iter_mut()
            .filter(|p| p.subnet.addr().is_ipv6() == ipv6)
        {
            if let Some(ip) = next_free(pool) {
                pool.allocated.insert(ip);
                pool.last = Some(ip);
                return Ok(ip);
            }
        }
        Err(IpamError::NoAddress {
            name,
            id: network.to_string(),
            ipv6,
        })
    }

    /// Releases an address. Exactly once: releasing one not held is an error (a double
    /// release would otherwise free an address another container got meanwhile).
    pub fn release(&mut self, network: &str, ip: IpAddr) -> Result<(), IpamError> {
        let net = self
            .networks
            .get_mut(network)
            .ok_or_else(|| IpamError::NoNetwork(network.to_string()))?;
        let pool = net
            .pools
            .iter_mut()
            .find(|p| {
                p.subnet.contains(&ip) && p.gateway != ip && !p.aux.values().any(|a| *a == ip)
            })
            .ok_or(IpamError::NotAllocated(ip))?;
        if pool.allocated.remove(&ip) {
            Ok(())
        } else {
            Err(IpamError::NotAllocated(ip))
        }
    }
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

fn from_u128(v6: bool, n: u128) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(n))
    } else {
        IpAddr::V4(Ipv4Addr::from(n as u32))
    }
}

/// The `n`th address of a net.
fn nth(net: &IpNet, n: u128) -> IpAddr {
    from_u128(net.addr().is_ipv6(), to_u128(net.network()) + n)
}

fn usable(subnet: &IpNet, ip: IpAddr) -> bool {
    ip != subnet.network()
        && (ip.is_ipv6() || ip != subnet.broadcast() || subnet.prefix_len() >= 31)
}

fn next_free(pool: &Pool) -> Option<IpAddr> {
    let v6 = pool.range.addr().is_ipv6();
    let first = to_u128(pool.range.network());
    let last = to_u128(pool.range.broadcast());
    let size = last - first + 1;
    let start = match pool.last {
        Some(l) if pool.range.contains(&l) => to_u128(l) - first + 1,
        _ => 0,
    };
    // Sparse scan: a pool is mostly free, so few steps; capped for huge IPv6 ranges.
    let steps = size.min(1 << 24);
    (0..steps)
        .map(|i| from_u128(v6, first + (start + i) % size))
        .find(|ip| usable(&pool.subnet, *ip) && !pool.allocated.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().expect("net")
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }
    fn req(subnet: &str) -> PoolRequest {
        PoolRequest {
            subnet: Some(net(subnet)),
            ..Default::default()
        }
    }

    #[test]
    fn default_pool_skips_host_routes_and_other_pools() {
        let mut ipam = Ipam::default();
        // The host's own LAN and a default route: the default route never counts.
        let routes = [net("0.0.0.0/0"), net("172.17.5.0/24")];
        let p = ipam
            .add_network("b", "bridge", &[], &routes)
            .expect("default");
        assert_eq!(p[0].subnet, net("172.18.0.0/16"));
        assert_eq!(p[0].gateway, ip("172.18.0.1"));
        let p = ipam
            .add_network("n2", "n2", &[PoolRequest::default()], &routes)
            .expect("second");
        assert_eq!(p[0].subnet, net("172.19.0.0/16"));
        let routes: Vec<IpNet> = default_pool_candidates()
            .into_iter()
            .map(IpNet::V4)
            .collect();
        assert_eq!(
            ipam.pick_default_subnet(&routes),
            Err(IpamError::NoDefaultPool)
        );
    }

    #[test]
    fn overlapping_subnet_refused_with_dockerds_message() {
        let mut ipam = Ipam::default();
        ipam.add_network("a", "net-a", &[req("10.231.0.0/24")], &[])
            .expect("a");
        let err = ipam
            .add_network("b", "net-b", &[req("10.231.0.0/25")], &[])
            .expect_err("overlap");
        assert_eq!(
            err.to_string(),
            "Pool overlaps with other one on this address space"
        );
        assert!(ipam.pools("b").is_none());
        // Two overlapping pools in one request are refused too, and leave nothing behind.
        let err = ipam
            .add_network("c", "c", &[req("10.232.0.0/24"), req("10.232.0.0/16")], &[])
            .expect_err("overlap");
        assert_eq!(err, IpamError::PoolOverlap);
        assert!(
            ipam.add_network("c", "c", &[req("10.232.0.0/16")], &[])
                .is_ok()
        );
    }

    #[test]
    fn auxiliary_addresses_are_never_handed_out() {
        let mut ipam = Ipam::default();
        let aux = BTreeMap::from([("router".to_string(), ip("10.233.0.2"))]);
        let request = PoolRequest {
            aux: aux.clone(),
            ..req("10.233.0.0/29")
        };
        let pools = ipam
            .add_network("a", "a", std::slice::from_ref(&request), &[])
            .expect("a");
        assert_eq!(pools[0].aux, aux);
        // .1 is the gateway, .2 the router: containers get .3 on.
        assert_eq!(ipam.allocate("a", None, false), Ok(ip("10.233.0.3")));
        assert_eq!(
            ipam.allocate("a", Some(ip("10.233.0.2")), false),
            Err(IpamError::InUse)
        );
        assert_eq!(
            ipam.release("a", ip("10.233.0.2")),
            Err(IpamError::NotAllocated(ip("10.233.0.2")))
        );
        // Still held after a restart.
        let mut again = Ipam::default();
        again.restore_network("a", "a", &pools);
        assert_eq!(again.allocate("a", None, false), Ok(ip("10.233.0.3")));
        // Outside the subnet: dockerd's message, nothing created.
        let bad = PoolRequest {
            aux: BTreeMap::from([("x".to_string(), ip("10.9.0.1"))]),
            ..req("10.234.0.0/24")
        };
        let err = ipam
            .add_network("b", "b", &[bad], &[])
            .expect_err("outside");
        assert_eq!(
            err.to_string(),
            "auxiliary address: (x:10.9.0.1) must belong to the master pool: 10.234.0.0/24"
        );
        assert!(ipam.pools("b").is_none());
    }

    #[test]
    fn gateway_and_range_must_be_in_the_subnet() {
        let mut ipam = Ipam::default();
        let bad_gw = PoolRequest {
            gateway: Some(ip("10.231.2.1")),
            ..req("10.231.1.0/24")
        };
        assert_eq!(
            ipam.add_network("c", "c", &[bad_gw], &[])
                .expect_err("gw")
                .to_string(),
            "no matching subnet for gateway 10.231.2.1"
        );
        let r = PoolRequest {
            ip_range: Some(net("10.231.1.128/25")),
            gateway: Some(ip("10.231.1.254")),
            ..req("10.231.1.0/24")
        };
        ipam.add_network("c", "c", &[r], &[]).expect("range");
        assert_eq!(ipam.allocate("c", None, false), Ok(ip("10.231.1.128")));
        // --ip may be outside the range but inside the subnet.
        assert_eq!(
            ipam.allocate("c", Some(ip("10.231.1.7")), false),
            Ok(ip("10.231.1.7"))
        );
    }

    #[test]
    fn allocation_exhaustion_and_requested_addresses() {
        let mut ipam = Ipam::default();
        ipam.add_network("3206977e", "net-d", &[req("10.231.3.0/30")], &[])
            .expect("d");
        assert_eq!(ipam.allocate("3206977e", None, false), Ok(ip("10.231.3.2")));
        assert_eq!(
            ipam.allocate("3206977e", None, false)
                .expect_err("full")
                .to_string(),
            "no available IPv4 addresses on this network's address pools: net-d (3206977e)"
        );
        ipam.add_network("a", "net-a", &[req("10.231.0.0/24")], &[])
            .expect("a");
        assert_eq!(
            ipam.allocate("a", Some(ip("10.231.0.5")), false),
            Ok(ip("10.231.0.5"))
        );
        for taken in ["10.231.0.5", "10.231.0.1", "10.231.0.0", "10.231.0.255"] {
            assert_eq!(
                ipam.allocate("a", Some(ip(taken)), false)
                    .expect_err(taken)
                    .to_string(),
                "Address already in use"
            );
        }
        assert_eq!(
            ipam.allocate("a", Some(ip("10.231.5.5")), false)
                .expect_err("outside")
                .to_string(),
            "Invalid address 10.231.5.5: It does not belong to any of this network's subnets"
        );
    }

    #[test]
    fn release_exactly_once_and_serial_reuse() {
        let mut ipam = Ipam::default();
        ipam.add_network("a", "a", &[req("10.231.0.0/29")], &[])
            .expect("a");
        let a = ipam.allocate("a", None, false).expect("a");
        let b = ipam.allocate("a", None, false).expect("b");
        assert_eq!((a, b), (ip("10.231.0.2"), ip("10.231.0.3")));
        ipam.release("a", a).expect("release");
        assert_eq!(ipam.release("a", a), Err(IpamError::NotAllocated(a)));
        // The gateway is the network's, never a container's to release.
        assert_eq!(
            ipam.release("a", ip("10.231.0.1")),
            Err(IpamError::NotAllocated(ip("10.231.0.1")))
        );
        // Serial: the next allocation goes on after b, not back to a.
        assert_eq!(ipam.allocate("a", None, false), Ok(ip("10.231.0.4")));
        for _ in 0..2 {
            ipam.allocate("a", None, false).expect("more");
        }
        // Wrapped round to the released one.
        assert_eq!(ipam.allocate("a", None, false), Ok(a));
    }

    #[test]
    fn ipv6_pools() {
        let mut ipam = Ipam::default();
        ipam.add_network("v6", "v6", &[req("10.9.0.0/24"), req("fd00:1::/64")], &[])
            .expect("v6");
        assert_eq!(ipam.pools("v6").expect("pools")[1].gateway, ip("fd00:1::1"));
        assert_eq!(ipam.allocate("v6", None, true), Ok(ip("fd00:1::2")));
        assert_eq!(ipam.allocate("v6", None, false), Ok(ip("10.9.0.2")));
        assert_eq!(
            ipam.allocate("v6", Some(ip("fd00:1::99")), true),
            Ok(ip("fd00:1::99"))
        );
        ipam.release("v6", ip("fd00:1::99")).expect("release");
    }

    #[test]
    fn state_survives_serialization() {
        let mut ipam = Ipam::default();
        ipam.add_network("a", "a", &[req("10.231.0.0/24")], &[])
            .expect("a");
        let first = ipam.allocate("a", None, false).expect("ip");
        let json = serde_json::to_string(&ipam).expect("json");
        let mut back: Ipam = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, ipam);
        assert_ne!(back.allocate("a", None, false).expect("next"), first);
        assert_eq!(
            back.allocate("a", Some(first), false),
            Err(IpamError::InUse)
        );
    }
}
