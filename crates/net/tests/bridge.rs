//! Root test of `bridge::BridgeDriver` on the real kernel: a network created in a
//! test-owned "host" namespace, a container namespace connected with a published port,
//! traffic through it, then disconnect and remove leave nothing behind.

mod common;

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use berth_net::bridge::{BridgeDriver, EndpointSpec, NetworkSpec};
use berth_net::firewall::{Firewall, NftCli};
use berth_net::ipam::{Ipam, PoolRequest};
use berth_net::link::{RtNetlink, in_netns};
use berth_net::ports::{PortAllocator, parse_port_specs};
use common::{Netns, can_run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_lifecycle_on_the_kernel() {
    if !can_run() {
        return;
    }
    let host = Netns::new("bh");
    let ctr = Netns::new("bc");
    host.exec(&["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    let d = BridgeDriver {
        netlink: RtNetlink::in_netns(&host.path()).await.expect("netlink"),
        firewall: Arc::new(Firewall::new(NftCli {
            netns: Some(host.path()),
        })),
    };
    d.firewall.init().expect("init");
    let (mut ipam, mut ports) = (Ipam::default(), PortAllocator::default());
    let net = d
        .create(
            &mut ipam,
            &NetworkSpec {
                id: "be11a0000000ffff".into(),
                name: "net-bt".into(),
                bridge: "br-be11a0000000".into(),
                pools: vec![PoolRequest {
                    subnet: Some("10.84.0.0/24".parse().expect("net")),
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .await
        .expect("create");
    let ep = d
        .connect(
            &mut ipam,
            &mut ports,
            &net,
            &EndpointSpec {
                container_id: "c0ffee".into(),
                netns: ctr.path(),
                ports: parse_port_specs(&["127.0.0.1:18080:80"])
                    .expect("spec")
                    .bindings,
                ..Default::default()
            },
        )
        .await
        .expect("connect");
    assert_eq!(ep.ipv4, Some("10.84.0.2/24".parse().expect("net")));
    host.exec(&[
        "sysctl",
        "-qw",
        "net.ipv4.conf.br-be11a0000000.route_localnet=1",
    ]);
    let listener = in_netns(&ctr.path(), || std::net::TcpListener::bind("0.0.0.0:80"))
        .await
        .expect("bind");
    let server = std::thread::spawn(move || {
        use std::io::Write;
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.write_all(b"through berth");
        }
    });
    let got = in_netns(&host.path(), || {
        let to: SocketAddr = "127.0.0.1:18080".parse().map_err(std::io::Error::other)?;
        let mut s = TcpStream::connect_timeout(&to, Duration::from_secs(3))?;
        s.set_read_timeout(Some(Duration::from_secs(3)))?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    })
    .await
    .expect("connect through the published port");
    assert_eq!(got, "through berth");
    let _ = server.join();

    d.disconnect(&mut ipam, &mut ports, &ep)
        .await
        .expect("disconnect");
    assert!(!ctr.try_exec(&["ip", "link", "show", "eth0"]));
    d.remove(&mut ipam, &net).await.expect("remove");
    assert!(!host.try_exec(&["ip", "link", "show", "br-be11a0000000"]));
    let table = host.exec(&["nft", "list", "table", "inet", "berth"]);
    assert!(!table.contains("be11a"), "{table}");
    assert!(!table.contains("c0ffee"), "{table}");
    d.firewall.teardown().expect("teardown");
}
