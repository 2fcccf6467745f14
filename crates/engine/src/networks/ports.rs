//! A container's published ports: what it asks for (`PortBindings`, `-P`), and the host
//! ports held for it while they are published.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;

use berth_net::ports::{PortBinding, PortMap, Proto};

use crate::Error;
use crate::containers::record::Container;

/// `80` as `80/tcp`: a port key with its protocol.
fn port_key(key: &str) -> String {
    if key.contains('/') {
        key.to_string()
    } else {
        format!("{key}/tcp")
    }
}

/// The container's published ports: `PortBindings`, and with `-P` every exposed port
/// without a binding on a host port of the daemon's choice.
pub(super) fn port_bindings(c: &Container) -> BTreeMap<String, Vec<PortBinding>> {
    let mut out: BTreeMap<String, Vec<PortBinding>> = BTreeMap::new();
    for (key, list) in c.host_config.port_bindings.iter().flatten() {
        let key = port_key(key);
        for b in list.iter().flatten() {
            out.entry(key.clone()).or_default().push(PortBinding {
                host_ip: b.host_ip.clone(),
                host_port: b.host_port.clone(),
            });
        }
        out.entry(key).or_default();
    }
    if c.host_config.publish_all_ports {
        for key in c.config.exposed_ports.iter().flatten().map(|(k, _)| k) {
            let list = out.entry(port_key(key)).or_default();
            if list.is_empty() {
                list.push(PortBinding {
                    host_ip: String::new(),
                    host_port: String::new(),
                });
            }
        }
    }
    out.retain(|_, l| !l.is_empty());
    out
}

/// Reserves a host port the way dockerd's port mapper does, so that nothing else on the
/// host binds it while it is published (and a port something already holds is refused):
/// a socket bound to it, not listening (connections are DNATed before they reach it).
pub(super) fn hold_port(m: &PortMap) -> std::io::Result<Option<OwnedFd>> {
    use nix::sys::socket::{
        AddressFamily, SockFlag, SockType, SockaddrIn, SockaddrIn6, bind, setsockopt, socket,
        sockopt,
    };
    use std::os::fd::AsRawFd;
    let ty = match m.proto {
        Proto::Tcp => SockType::Stream,
        Proto::Udp => SockType::Datagram,
        Proto::Sctp => return Ok(None),
    };
    let ip = m.host_ip.unwrap_or(match m.container_ip {
        IpAddr::V4(_) => IpAddr::from([0u8; 4]),
        IpAddr::V6(_) => IpAddr::from([0u16; 8]),
    });
    let addr = SocketAddr::new(ip, m.host_port);
    let fd = match addr {
        SocketAddr::V4(a) => {
            let fd = socket(AddressFamily::Inet, ty, SockFlag::SOCK_CLOEXEC, None)?;
            bind(fd.as_raw_fd(), &SockaddrIn::from(a))?;
            fd
        }
        SocketAddr::V6(a) => {
            let fd = socket(AddressFamily::Inet6, ty, SockFlag::SOCK_CLOEXEC, None)?;
            setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
            bind(fd.as_raw_fd(), &SockaddrIn6::from(a))?;
            fd
        }
    };
    Ok(Some(fd))
}

/// Docker's message for a host port something else holds.
pub(super) fn port_in_use(name: &str, endpoint_id: &str, m: &PortMap, e: &std::io::Error) -> Error {
    let family = if m.container_ip.is_ipv4() { "4" } else { "6" };
    let ip = m.host_ip.map_or_else(
        || {
            if m.container_ip.is_ipv4() {
                "0.0.0.0".to_string()
            } else {
                "[::]".to_string()
            }
        },
        |ip| match ip {
            IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        },
    );
    let what = if e.kind() == std::io::ErrorKind::AddrInUse {
        "address already in use".to_string()
    } else {
        e.to_string()
    };
    Error::internal(format!(
        "driver failed programming external connectivity on endpoint {name} ({endpoint_id}): \
         Error starting userland proxy: listen {}{family} {ip}:{}: bind: {what}",
        m.proto.as_str(),
        m.host_port
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(hc: serde_json::Value, config: serde_json::Value) -> Container {
        let mut c: Container = serde_json::from_value(serde_json::json!({
            "id": "a".repeat(64), "name": "c", "created": "", "path": "sh", "args": [],
            "config": config, "host_config": hc, "image_id": "", "state": {},
            "restart_count": 0
        }))
        .expect("container");
        c.host_config.network_mode = "default".into();
        c
    }

    #[test]
    fn published_ports_from_bindings_and_publish_all() {
        let c = container(
            serde_json::json!({"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
                               "PublishAllPorts": true}),
            serde_json::json!({"ExposedPorts": {"80/tcp": {}, "53/udp": {}}}),
        );
        let p = port_bindings(&c);
        assert_eq!(p["80/tcp"].len(), 1);
        assert_eq!(p["80/tcp"][0].host_port, "8080");
        assert_eq!(p["53/udp"][0].host_port, "");
        let c = container(
            serde_json::json!({"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}}),
            serde_json::json!({"ExposedPorts": {"80/tcp": {}, "53/udp": {}}}),
        );
        assert!(!port_bindings(&c).contains_key("53/udp"));
    }

    #[test]
    fn a_held_port_is_refused_with_dockers_message() {
        let first = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = first.local_addr().expect("addr").port();
        let m = PortMap {
            host_ip: Some("127.0.0.1".parse().expect("ip")),
            proto: Proto::Tcp,
            host_port: port,
            container_ip: "10.0.0.2".parse().expect("ip"),
            container_port: 80,
        };
        let e = hold_port(&m).expect_err("in use");
        let msg = port_in_use("web", "e1", &m, &e).message;
        assert!(
            msg.ends_with(&format!(
                "listen tcp4 127.0.0.1:{port}: bind: address already in use"
            )),
            "{msg}"
        );
        drop(first);
        let held = hold_port(&m).expect("free").expect("fd");
        // Held: nothing else binds it, and nothing listens on it.
        assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_err());
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
        drop(held);
    }
}
