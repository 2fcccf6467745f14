//! Host ports the daemon hands out ([`PortAllocator`]) and a container's published ports
//! ([`publish`]). The docker CLI's `-p`/`-P` parser lives in `berth_models::ports` (the CLI
//! uses it without this crate) and is re-exported here.
//!
//! Bindings have the Engine API's shapes: ports keyed `"80/tcp"`, and port bindings
//! `{"HostIp": "", "HostPort": "8080"}` (an empty `HostPort` asks the daemon to pick one;
//! `"8000-8010"` asks for one in that range).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

pub use berth_models::ports::{
    PortBinding, PortSpecError, PortSpecs, Proto, parse_port_specs, publish_all,
};

/// One published port, as the firewall maps it ([`crate::firewall::Firewall::publish`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortMap {
    /// `None`: every local address of the family.
    pub host_ip: Option<IpAddr>,
    pub proto: Proto,
    pub host_port: u16,
    pub container_ip: IpAddr,
    pub container_port: u16,
}

/// A port or a range (`8000-8010`) as the allocator takes it.
fn parse_range(s: &str) -> Option<(u16, u16)> {
    berth_models::ports::parse_port_range(s).ok()
}

/// No free host port is left, as dockerd words it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PortAllocError {
    #[error("Bind for {ip}:{port} failed: port is already allocated")]
    Allocated { ip: String, port: u16 },
    #[error("all ports are allocated")]
    Exhausted,
    #[error("invalid port range {0}")]
    InvalidRange(String),
}

/// Host ports handed out by the daemon, per (address, protocol): a fixed port is refused
/// while another container holds it on the same or the unspecified address; a free one
/// is picked from the ephemeral range (the host's `ip_local_port_range`, Docker's rule).
/// A serializable value, persisted with the containers that hold its ports.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortAllocator {
    used: BTreeSet<(String, Proto, u16)>,
}

/// The range a free host port is taken from: the kernel's ephemeral range.
pub fn ephemeral_range() -> (u16, u16) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|p| p.parse::<u16>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999))
}

impl PortAllocator {
    /// Takes a host port for `binding` (`""`: any in `ephemeral`, `"8080"`, `"8000-8010"`).
    pub fn allocate(
        &mut self,
        host_ip: &str,
        proto: Proto,
        host_port: &str,
        ephemeral: (u16, u16),
    ) -> Result<u16, PortAllocError> {
        let (lo, hi, fixed) = if host_port.is_empty() {
            (ephemeral.0, ephemeral.1, false)
        } else {
            let (lo, hi) = parse_range(host_port)
                .ok_or_else(|| PortAllocError::InvalidRange(host_port.to_string()))?;
            (lo, hi, lo == hi && lo != 0)
        };
        if fixed {
            if self.taken(host_ip, proto, lo) {
                return Err(PortAllocError::Allocated {
                    ip: if host_ip.is_empty() {
                        "0.0.0.0".into()
                    } else {
                        host_ip.into()
                    },
                    port: lo,
                });
            }
            self.used.insert((host_ip.to_string(), proto, lo));
            return Ok(lo);
        }
        let lo = lo.max(1);
        let port = (lo..=hi)
            .find(|p| !self.taken(host_ip, proto, *p))
            .ok_or(PortAllocError::Exhausted)?;
        self.used.insert((host_ip.to_string(), proto, port));
        Ok(port)
    }

    /// Gives a port back; false if it was not held.
    pub fn release(&mut self, host_ip: &str, proto: Proto, port: u16) -> bool {
        self.used.remove(&(host_ip.to_string(), proto, port))
    }

    fn taken(&self, ip: &str, proto: Proto, port: u16) -> bool {
        self.used.iter().any(|(i, p, n)| {
            *p == proto && *n == port && (i == ip || i.is_empty() || ip.is_empty())
        })
    }
}

/// A container's published ports once host ports are chosen: the bindings as `inspect`
/// shows them (`NetworkSettings.Ports`, the chosen `HostPort`) and the DNAT entries for
/// [`crate::firewall::Firewall::publish`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    pub bindings: BTreeMap<String, Vec<PortBinding>>,
    pub maps: Vec<PortMap>,
}

/// Why ports could not be published.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PublishError {
    #[error(transparent)]
    Alloc(#[from] PortAllocError),
    #[error("invalid port {0}")]
    InvalidPort(String),
    #[error("invalid host IP address: {0}")]
    InvalidHostIp(String),
}

/// Chooses the host ports of `bindings` (`HostConfig.PortBindings`) for a container with
/// addresses `v4`/`v6`: all or nothing (ports taken by a failed call are given back). A
/// binding on every address (`HostIp` empty) is published for each family the container
/// has; one on an address for that address' family only.
pub fn publish(
    bindings: &BTreeMap<String, Vec<PortBinding>>,
    v4: Option<std::net::Ipv4Addr>,
    v6: Option<std::net::Ipv6Addr>,
    alloc: &mut PortAllocator,
    ephemeral: (u16, u16),
) -> Result<Published, PublishError> {
    let mut taken: Vec<(String, Proto, u16)> = Vec::new();
    let res = (|| {
        let mut out = Published::default();
        for (key, list) in bindings {
            let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
            let proto =
                Proto::parse(proto).ok_or_else(|| PublishError::InvalidPort(key.clone()))?;
            let container_port: u16 = port
                .parse()
                .map_err(|_| PublishError::InvalidPort(key.clone()))?;
            for b in list {
                let host_ip: Option<IpAddr> = if b.host_ip.is_empty() {
                    None
                } else {
                    Some(
                        b.host_ip
                            .parse()
                            .map_err(|_| PublishError::InvalidHostIp(b.host_ip.clone()))?,
                    )
                };
                let host_port = alloc.allocate(&b.host_ip, proto, &b.host_port, ephemeral)?;
                taken.push((b.host_ip.clone(), proto, host_port));
                out.bindings
                    .entry(key.clone())
                    .or_default()
                    .push(PortBinding {
                        host_ip: if b.host_ip.is_empty() {
                            "0.0.0.0".into()
                        } else {
                            b.host_ip.clone()
                        },
                        host_port: host_port.to_string(),
                    });
                let targets: Vec<IpAddr> = match host_ip {
                    None => v4
                        .map(IpAddr::V4)
                        .into_iter()
                        .chain(v6.map(IpAddr::V6))
                        .collect(),
                    Some(IpAddr::V4(_)) => v4.map(IpAddr::V4).into_iter().collect(),
                    Some(IpAddr::V6(_)) => v6.map(IpAddr::V6).into_iter().collect(),
                };
                for container_ip in targets {
                    out.maps.push(PortMap {
                        host_ip,
                        proto,
                        host_port,
                        container_ip,
                        container_port,
                    });
                }
            }
        }
        Ok(out)
    })();
    if res.is_err() {
        for (ip, proto, port) in taken {
            alloc.release(&ip, proto, port);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(ip: &str, port: &str) -> PortBinding {
        PortBinding {
            host_ip: ip.into(),
            host_port: port.into(),
        }
    }

    #[test]
    fn publish_chooses_ports_all_or_nothing() {
        let mut a = PortAllocator::default();
        let specs =
            parse_port_specs(&["8080:80", "127.0.0.1::53/udp", "[::1]:9090:90"]).expect("valid");
        let v4 = Some(std::net::Ipv4Addr::new(172, 18, 0, 2));
        let v6 = Some("fd00::2".parse().expect("ip"));
        let p = publish(&specs.bindings, v4, v6, &mut a, (40000, 40010)).expect("publish");
        assert_eq!(p.bindings["80/tcp"], vec![b("0.0.0.0", "8080")]);
        assert_eq!(p.bindings["53/udp"], vec![b("127.0.0.1", "40000")]);
        // 8080 on every address: one DNAT per family; 127.0.0.1 and ::1 for theirs only.
        let summary: Vec<String> = p
            .maps
            .iter()
            .map(|m| {
                format!(
                    "{:?} {} {} -> {} {}",
                    m.host_ip,
                    m.proto.as_str(),
                    m.host_port,
                    m.container_ip,
                    m.container_port
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                "Some(127.0.0.1) udp 40000 -> 172.18.0.2 53",
                "None tcp 8080 -> 172.18.0.2 80",
                "None tcp 8080 -> fd00::2 80",
                "Some(::1) tcp 9090 -> fd00::2 90",
            ]
        );
        // A second container asking for 8080 fails and keeps nothing it took on the way.
        let specs2 = parse_port_specs(&["127.0.0.1::53/udp", "8080:80"]).expect("valid");
        let err = publish(&specs2.bindings, v4, None, &mut a, (40000, 40010)).expect_err("taken");
        assert_eq!(
            err.to_string(),
            "Bind for 0.0.0.0:8080 failed: port is already allocated"
        );
        assert_eq!(
            a.allocate("127.0.0.1", Proto::Udp, "", (40000, 40010)),
            Ok(40001)
        );
    }

    #[test]
    fn host_ports_allocated_once() {
        let mut a = PortAllocator::default();
        assert_eq!(a.allocate("", Proto::Tcp, "8080", (40000, 40001)), Ok(8080));
        assert_eq!(
            a.allocate("127.0.0.1", Proto::Tcp, "8080", (40000, 40001))
                .map_err(|e| e.to_string()),
            Err("Bind for 127.0.0.1:8080 failed: port is already allocated".into())
        );
        assert_eq!(a.allocate("", Proto::Udp, "8080", (40000, 40001)), Ok(8080));
        assert_eq!(a.allocate("", Proto::Tcp, "", (40000, 40001)), Ok(40000));
        assert_eq!(a.allocate("", Proto::Tcp, "", (40000, 40001)), Ok(40001));
        assert_eq!(
            a.allocate("", Proto::Tcp, "", (40000, 40001)),
            Err(PortAllocError::Exhausted)
        );
        assert_eq!(a.allocate("", Proto::Tcp, "8080-8081", (1, 2)), Ok(8081));
        assert!(a.release("", Proto::Tcp, 40000));
        assert!(!a.release("", Proto::Tcp, 40000));
        assert_eq!(a.allocate("", Proto::Tcp, "", (40000, 40001)), Ok(40000));
    }
}
