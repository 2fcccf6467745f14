//! `-p`/`--publish` specs and `-P`, as the docker CLI parses them (go-connections'
//! `nat.ParsePortSpecs`), with its error messages, and the allocation of free host ports.
//!
//! The result has the Engine API's shapes: exposed ports keyed `"80/tcp"`, and port
//! bindings `{"HostIp": "", "HostPort": "8080"}` (an empty `HostPort` asks the daemon to
//! pick one; `"8000-8010"` asks for one in that range).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// A `-p` spec or an exposed port the docker CLI refuses, worded as it words it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PortSpecError {
    #[error("invalid IP address: {0}")]
    InvalidIp(String),
    #[error("no port specified: {0}<empty>")]
    NoPort(String),
    #[error("invalid containerPort: {0}")]
    InvalidContainerPort(String),
    #[error("invalid hostPort: {0}")]
    InvalidHostPort(String),
    #[error("invalid ranges specified for container and host Ports: {0} and {1}")]
    RangeMismatch(String, String),
    #[error("invalid proto: {0}")]
    InvalidProto(String),
}

/// A transport protocol a port can be published for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
    Sctp,
}

impl Proto {
    /// The name Docker and nftables use: `tcp`, `udp`, `sctp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }

    fn parse(s: &str) -> Option<Proto> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Some(Proto::Tcp),
            "udp" => Some(Proto::Udp),
            "sctp" => Some(Proto::Sctp),
            _ => None,
        }
    }
}

/// One binding of a container port, as in `HostConfig.PortBindings`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortBinding {
    #[serde(rename = "HostIp")]
    pub host_ip: String,
    #[serde(rename = "HostPort")]
    pub host_port: String,
}

/// What a set of `-p` specs (and `-P`) makes: `Config.ExposedPorts` and
/// `HostConfig.PortBindings`, keyed `"<port>/<proto>"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortSpecs {
    pub exposed: BTreeSet<String>,
    pub bindings: BTreeMap<String, Vec<PortBinding>>,
}

/// Parses `-p` specs as the docker CLI does: `80`, `8080:80`, `127.0.0.1:8080:80/tcp`,
/// `[::1]:8080:80`, `53:53/udp`, `8000-8001:80-81`, `8000-8010:80` (a host range to pick
/// one port from), `127.0.0.1::80` (any host port on that address).
pub fn parse_port_specs<S: AsRef<str>>(specs: &[S]) -> Result<PortSpecs, PortSpecError> {
    let mut out = PortSpecs::default();
    for spec in specs {
        for (key, binding) in parse_port_spec(spec.as_ref())? {
            out.exposed.insert(key.clone());
            out.bindings.entry(key).or_default().push(binding);
        }
    }
    Ok(out)
}

/// `-P`: every exposed port (`Config.ExposedPorts`, the image's merged with the
/// container's) not bound yet gets a binding to any free host port on every address.
pub fn publish_all<S: AsRef<str>>(exposed: &[S], specs: &mut PortSpecs) {
    for port in exposed {
        let key = port.as_ref().to_string();
        specs.exposed.insert(key.clone());
        specs.bindings.entry(key).or_insert_with(|| {
            vec![PortBinding {
                host_ip: String::new(),
                host_port: String::new(),
            }]
        });
    }
}

fn parse_port_spec(raw: &str) -> Result<Vec<(String, PortBinding)>, PortSpecError> {
    let (mut ip, host_port, container) = split_parts(raw);
    let (proto, container_port) = split_proto_port(container);
    if let Some(inner) = ip.strip_prefix('[') {
        ip = inner
            .strip_suffix(']')
            .ok_or_else(|| PortSpecError::InvalidIp(ip.to_string()))?;
    }
    if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
        return Err(PortSpecError::InvalidIp(ip.to_string()));
    }
    if container_port.is_empty() {
        return Err(PortSpecError::NoPort(raw.to_string()));
    }
    let (start, end) = parse_range(container_port)
        .ok_or_else(|| PortSpecError::InvalidContainerPort(container_port.to_string()))?;
    let (host_start, host_end) = if host_port.is_empty() {
        (0, 0)
    } else {
        parse_range(host_port)
            .ok_or_else(|| PortSpecError::InvalidHostPort(host_port.to_string()))?
    };
    if !host_port.is_empty() && end - start != host_end - host_start && end != start {
        return Err(PortSpecError::RangeMismatch(
            container_port.to_string(),
            host_port.to_string(),
        ));
    }
    let proto =
        Proto::parse(proto).ok_or_else(|| PortSpecError::InvalidProto(proto.to_string()))?;
    let mut out = Vec::new();
    for i in 0..=(end - start) {
        let mut hp = if host_port.is_empty() {
            String::new()
        } else {
            (u32::from(host_start) + u32::from(i)).to_string()
        };
        if start == end && host_start != host_end {
            hp = format!("{hp}-{host_end}");
        }
        out.push((
            format!("{}/{}", u32::from(start) + u32::from(i), proto.as_str()),
            PortBinding {
                host_ip: ip.to_string(),
                host_port: hp,
            },
        ));
    }
    Ok(out)
}

/// `ip:host:container`, where the ip may itself hold colons (IPv6).
fn split_parts(raw: &str) -> (&str, &str, &str) {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    match n {
        1 => ("", "", parts[0]),
        2 => ("", parts[0], parts[1]),
        _ => {
            let ip_len = parts[..n - 2].iter().map(|p| p.len()).sum::<usize>() + (n - 3);
            (&raw[..ip_len], parts[n - 2], parts[n - 1])
        }
    }
}

fn split_proto_port(raw: &str) -> (&str, &str) {
    let mut parts = raw.splitn(2, '/');
    let port = parts.next().unwrap_or("");
    if port.is_empty() {
        return ("", "");
    }
    match parts.next() {
        None | Some("") => ("tcp", port),
        // Go's strings.Split takes the second field only, `80/tcp/x` reads as tcp.
        Some(p) => (p.split('/').next().unwrap_or(p), port),
    }
}

fn parse_range(s: &str) -> Option<(u16, u16)> {
    match s.split_once('-') {
        None => {
            let p = s.parse::<u16>().ok()?;
            Some((p, p))
        }
        Some((a, b)) => {
            let b = b.split('-').next().unwrap_or(b);
            let (a, b) = (a.parse::<u16>().ok()?, b.parse::<u16>().ok()?);
            (b >= a).then_some((a, b))
        }
    }
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
    pub maps: Vec<crate::firewall::PortMap>,
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
                    out.maps.push(crate::firewall::PortMap {
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
    fn specs_as_the_docker_cli_reads_them() {
        let s = parse_port_specs(&[
            "8080:80",
            "127.0.0.1:8000-8001:80-81/udp",
            "[::1]:9090:90",
            "53/udp",
            "::1:7:7",
        ])
        .expect("valid");
        assert_eq!(s.bindings["80/tcp"], vec![b("", "8080")]);
        assert_eq!(s.bindings["80/udp"], vec![b("127.0.0.1", "8000")]);
        assert_eq!(s.bindings["81/udp"], vec![b("127.0.0.1", "8001")]);
        assert_eq!(s.bindings["90/tcp"], vec![b("::1", "9090")]);
        assert_eq!(s.bindings["53/udp"], vec![b("", "")]);
        assert_eq!(s.bindings["7/tcp"], vec![b("::1", "7")]);
        assert_eq!(s.exposed.len(), 6);
        // A host range for one container port: the daemon picks one in it.
        let s = parse_port_specs(&["8000-8010:80", "127.0.0.1::81"]).expect("valid");
        assert_eq!(s.bindings["80/tcp"], vec![b("", "8000-8010")]);
        assert_eq!(s.bindings["81/tcp"], vec![b("127.0.0.1", "")]);
    }

    #[test]
    fn errors_worded_as_the_docker_cli() {
        // Each message as docker 28.2 printed it after "docker: ".
        let cases = [
            ("abc:80", "invalid hostPort: abc"),
            ("80:abc", "invalid containerPort: abc"),
            ("80/sctpx", "invalid proto: sctpx"),
            (
                "8000-8001:80-82",
                "invalid ranges specified for container and host Ports: 80-82 and 8000-8001",
            ),
            ("1.2.3.4.5:80:80", "invalid IP address: 1.2.3.4.5"),
            ("80-70:80", "invalid hostPort: 80-70"),
            ("99999:80", "invalid hostPort: 99999"),
            ("8080:", "no port specified: 8080:<empty>"),
        ];
        for (spec, msg) in cases {
            let err = parse_port_specs(&[spec]).expect_err(spec);
            assert_eq!(err.to_string(), msg, "{spec}");
        }
    }

    #[test]
    fn publish_all_binds_exposed_ports_not_bound_yet() {
        let mut s = parse_port_specs(&["8080:80"]).expect("valid");
        publish_all(&["80/tcp", "443/tcp"], &mut s);
        assert_eq!(s.bindings["80/tcp"], vec![b("", "8080")]);
        assert_eq!(s.bindings["443/tcp"], vec![b("", "")]);
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
