//! Root test of `firewall`: Berth's table in a test-owned "host" namespace, a container
//! namespace on a bridge behind it and an "outside" namespace wired to the host by a veth;
//! real TCP and UDP through published ports, masquerade, isolation, the user chain, a
//! re-init as at daemon restart, unpublish and teardown.

mod common;

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::time::Duration;

use berth_net::firewall::{Firewall, NetworkRules, NftCli};
use berth_net::link::{Attachment, BridgeConfig, Netlink, RtNetlink, in_netns, mac_for_ip};
use berth_net::ports::{PortMap, Proto};
use common::{Netns, can_run, sh};

/// A TCP server in `ns` answering each connection with the peer's address, and a UDP one
/// echoing the peer's address; both served by the test's runtime.
async fn servers(ns: &Path, tcp: u16, udp: u16) {
    servers_on(ns, "0.0.0.0", tcp, udp).await
}

async fn servers_on(ns: &Path, ip: &'static str, tcp: u16, udp: u16) {
    let (l, u) = in_netns(ns, move || {
        let l = std::net::TcpListener::bind((ip, tcp))?;
        let u = UdpSocket::bind((ip, udp))?;
        l.set_nonblocking(true)?;
        u.set_nonblocking(true)?;
        Ok((l, u))
    })
    .await
    .expect("bind in netns");
    let l = tokio::net::TcpListener::from_std(l).expect("tokio listener");
    let u = tokio::net::UdpSocket::from_std(u).expect("tokio udp");
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut s, peer)) = l.accept().await {
            let _ = s.write_all(peer.ip().to_string().as_bytes()).await;
        }
    });
    tokio::spawn(async move {
        let mut buf = [0u8; 64];
        while let Ok((_, peer)) = u.recv_from(&mut buf).await {
            let _ = u
                .send_to(format!("udp {}", peer.ip()).as_bytes(), peer)
                .await;
        }
    });
}

/// Connects from `ns` to `to` and returns what the server said, or None if unreachable.
async fn tcp_from(ns: &Path, to: &str) -> Option<String> {
    let to: SocketAddr = to.parse().expect("addr");
    in_netns(ns, move || {
        let mut s = TcpStream::connect_timeout(&to, Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    })
    .await
    .ok()
}

async fn udp_from(ns: &Path, to: &str) -> Option<String> {
    let to: SocketAddr = to.parse().expect("addr");
    in_netns(ns, move || {
        let s = UdpSocket::bind("0.0.0.0:0")?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        s.send_to(b"hi", to)?;
        let mut buf = [0u8; 64];
        let n = s.recv(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
    })
    .await
    .ok()
}

async fn bridge_with_container(nl: &RtNetlink, br: &str, ctr: &Netns, third: u8) {
    nl.ensure_bridge(&BridgeConfig {
        name: br.into(),
        addresses: vec![
            format!("10.{third}.0.1/24").parse().expect("net"),
            format!("fd{third}::1/64").parse().expect("net"),
        ],
        mtu: None,
    })
    .await
    .expect("bridge");
    nl.attach(&Attachment {
        netns: ctr.path(),
        bridge: br.into(),
        host_ifname: format!("v{br}"),
        ifname: "eth0".into(),
        mac: mac_for_ip(Ipv4Addr::new(10, third, 0, 2)),
        addresses: vec![
            format!("10.{third}.0.2/24").parse().expect("net"),
            format!("fd{third}::2/64").parse().expect("net"),
        ],
        gateways: vec![
            format!("10.{third}.0.1").parse().expect("ip"),
            format!("fd{third}::1").parse().expect("ip"),
        ],
        mtu: None,
        isolated: false,
    })
    .await
    .expect("attach");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_ports_masquerade_isolation_and_user_chain() {
    if !can_run() {
        return;
    }
    let host = Netns::new("fh");
    let ctr = Netns::new("fc");
    let ctr2 = Netns::new("fd");
    let out = Netns::new("fo");
    let ctr3 = Netns::new("fi");
    let nl = RtNetlink::in_netns(&host.path()).await.expect("netlink");
    bridge_with_container(&nl, "br-fw", &ctr, 80).await;
    bridge_with_container(&nl, "br-fw2", &ctr2, 82).await;
    bridge_with_container(&nl, "br-fw3", &ctr3, 83).await;
    // The outside: 10.81.0.2 in `out`, the host's end 10.81.0.1.
    host.exec(&[
        "ip", "link", "add", "vh", "type", "veth", "peer", "name", "vo", "netns", &out.name,
    ]);
    host.exec(&["ip", "addr", "add", "10.81.0.1/24", "dev", "vh"]);
    host.exec(&["ip", "addr", "add", "fd81::1/64", "dev", "vh", "nodad"]);
    out.exec(&["ip", "addr", "add", "fd81::2/64", "dev", "vo", "nodad"]);
    host.exec(&["ip", "link", "set", "vh", "up"]);
    out.exec(&["ip", "addr", "add", "10.81.0.2/24", "dev", "vo"]);
    out.exec(&["ip", "link", "set", "vo", "up"]);
    host.exec(&[
        "sysctl",
        "-qw",
        "net.ipv4.ip_forward=1",
        "net.ipv6.conf.all.forwarding=1",
        "net.ipv4.conf.br-fw.route_localnet=1",
    ]);

    let fw = Firewall::new(NftCli {
        netns: Some(host.path()),
    });
    fw.init().expect("init");
    let rules = NetworkRules {
        bridge: "br-fw".into(),
        subnets: vec![
            "10.80.0.0/24".parse().expect("net"),
            "fd80::/64".parse().expect("net"),
        ],
        internal: false,
        masquerade: true,
    };
    fw.add_network(&rules).expect("network");
    fw.add_network(&NetworkRules {
        bridge: "br-fw2".into(),
        subnets: vec!["10.82.0.0/24".parse().expect("net")],
        internal: false,
        masquerade: true,
    })
    .expect("network 2");
    let internal = NetworkRules {
        bridge: "br-fw3".into(),
        subnets: vec!["10.83.0.0/24".parse().expect("net")],
        internal: true,
        masquerade: true,
    };
    fw.add_network(&internal).expect("internal network");
    let cip = "10.80.0.2".parse().expect("ip");
    let ports = [
        PortMap {
            host_ip: None,
            proto: Proto::Tcp,
            host_port: 8080,
            container_ip: cip,
            container_port: 80,
        },
        PortMap {
            host_ip: None,
            proto: Proto::Udp,
            host_port: 5353,
            container_ip: cip,
            container_port: 53,
        },
        PortMap {
            host_ip: Some("127.0.0.1".parse().expect("ip")),
            proto: Proto::Tcp,
            host_port: 8081,
            container_ip: cip,
            container_port: 80,
        },
        PortMap {
            host_ip: None,
            proto: Proto::Tcp,
            host_port: 8080,
            container_ip: "fd80::2".parse().expect("ip"),
            container_port: 81,
        },
    ];
    fw.publish("c1", &ports).expect("publish");
    servers(&ctr.path(), 80, 53).await;
    servers(&out.path(), 9000, 9001).await;
    servers_on(&ctr.path(), "::", 81, 54).await;
    servers_on(&out.path(), "::", 9002, 9003).await;

    // From outside: DNAT in prerouting, the client's own address seen by the container.
    assert_eq!(
        tcp_from(&out.path(), "10.81.0.1:8080").await.as_deref(),
        Some("10.81.0.2")
    );
    assert_eq!(
        udp_from(&out.path(), "10.81.0.1:5353").await.as_deref(),
        Some("udp 10.81.0.2")
    );
    // IPv6: DNAT through ports6any, and masquerade out.
    assert_eq!(
        tcp_from(&out.path(), "[fd81::1]:8080").await.as_deref(),
        Some("fd81::2")
    );
    assert_eq!(
        tcp_from(&ctr.path(), "[fd81::2]:9002").await.as_deref(),
        Some("fd81::1")
    );
    // From the host itself: DNAT in output, to its own address and to 127.0.0.1
    // (route_localnet, masqueraded to the bridge's address).
    assert!(tcp_from(&host.path(), "10.81.0.1:8080").await.is_some());
    assert_eq!(
        tcp_from(&host.path(), "127.0.0.1:8081").await.as_deref(),
        Some("10.80.0.1")
    );
    // 8081 is bound to 127.0.0.1 only.
    assert_eq!(tcp_from(&out.path(), "10.81.0.1:8081").await, None);
    // Out of the container: masqueraded to the host's outside address.
    assert_eq!(
        tcp_from(&ctr.path(), "10.81.0.2:9000").await.as_deref(),
        Some("10.81.0.1")
    );
    // Hairpin: the container reaches its own published port through the host.
    assert!(tcp_from(&ctr.path(), "10.81.0.1:8080").await.is_some());
    // Isolation: the other bridge's container cannot reach it directly, only published.
    assert_eq!(tcp_from(&ctr2.path(), "10.80.0.2:80").await, None);
    assert!(tcp_from(&ctr2.path(), "10.81.0.1:8080").await.is_some());

    // --internal: nothing out, to the world or to another bridge, nor in from another.
    assert_eq!(tcp_from(&ctr3.path(), "10.81.0.2:9000").await, None);
    assert_eq!(tcp_from(&ctr3.path(), "10.80.0.2:80").await, None);
    servers(&ctr3.path(), 80, 53).await;
    assert_eq!(tcp_from(&ctr.path(), "10.83.0.2:80").await, None);
    // The same network not internal gets out: the test checks the internal rules.
    fw.remove_network(&internal).expect("remove internal");
    fw.add_network(&NetworkRules {
        internal: false,
        ..internal.clone()
    })
    .expect("not internal");
    assert_eq!(
        tcp_from(&ctr3.path(), "10.81.0.2:9000").await.as_deref(),
        Some("10.81.0.1")
    );

    // The user chain is consulted first, and a daemon restart (init again) neither
    // flushes it nor drops the published ports.
    let nft = |args: &[&str]| {
        let mut full = vec!["nsenter", "--net=/run/netns/x"];
        let p = format!("--net={}", host.path().display());
        full[1] = &p;
        full.push("nft");
        full.extend_from_slice(args);
        sh(&full)
    };
    nft(&[
        "add",
        "rule",
        "inet",
        "berth",
        "user",
        "ip",
        "saddr",
        "10.81.0.2",
        "drop",
    ]);
    assert_eq!(tcp_from(&out.path(), "10.81.0.1:8080").await, None);
    fw.init().expect("init again");
    assert!(nft(&["list", "chain", "inet", "berth", "user"]).contains("ip saddr 10.81.0.2 drop"));
    nft(&["flush", "chain", "inet", "berth", "user"]);
    assert_eq!(
        tcp_from(&out.path(), "10.81.0.1:8080").await.as_deref(),
        Some("10.81.0.2")
    );
    assert_eq!(
        fw.published_containers().expect("list"),
        std::collections::BTreeSet::from(["c1".to_string()])
    );

    // Unpublish exactly what was published; twice is no error.
    fw.unpublish("c1", &ports).expect("unpublish");
    fw.unpublish("c1", &ports).expect("unpublish again");
    assert_eq!(tcp_from(&out.path(), "10.81.0.1:8080").await, None);
    assert!(fw.published_containers().expect("list").is_empty());
    fw.remove_network(&rules).expect("remove network");
    fw.remove_network(&rules).expect("remove network again");
    assert!(!nft(&["list", "table", "inet", "berth"]).contains("br-fw\""));
    fw.teardown().expect("teardown");
    fw.teardown().expect("teardown again");
    assert!(!nft(&["list", "tables"]).contains("berth"));
}
