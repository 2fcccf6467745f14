//! Root tests of `link`: a bridge and a container's veth, in namespaces the test owns
//! (the "host" side is a namespace too, so the real host is never touched).

mod common;

use std::net::Ipv4Addr;
use std::time::Instant;

use berth_net::link::{Attachment, BridgeConfig, Netlink, RtNetlink, mac_for_ip, veth_name};
use common::{Netns, can_run};

#[tokio::test]
async fn bridge_and_veth_into_a_container_namespace() {
    if !can_run() {
        return;
    }
    let host = Netns::new("lh");
    let ctr = Netns::new("lc");
    let nl = RtNetlink::in_netns(&host.path())
        .await
        .expect("netlink in host ns");
    let br = BridgeConfig {
        name: "br-test".into(),
        addresses: vec![
            "10.77.0.1/24".parse().expect("net"),
            "fd77::1/64".parse().expect("net"),
        ],
        mtu: None,
    };
    nl.ensure_bridge(&br).await.expect("bridge");
    // Idempotent: a second call (a daemon restart) keeps it as it is.
    nl.ensure_bridge(&br).await.expect("bridge again");
    let a = Attachment {
        netns: ctr.path(),
        bridge: "br-test".into(),
        host_ifname: veth_name("0123456789abcdef"),
        ifname: "eth0".into(),
        mac: mac_for_ip(Ipv4Addr::new(10, 77, 0, 2)),
        addresses: vec![
            "10.77.0.2/24".parse().expect("net"),
            "fd77::2/64".parse().expect("net"),
        ],
        gateways: vec![
            "10.77.0.1".parse().expect("ip"),
            "fd77::1".parse().expect("ip"),
        ],
        mtu: None,
        isolated: false,
    };
    let t = Instant::now();
    nl.attach(&a).await.expect("attach");
    eprintln!(
        "attach (veth + move + addresses + routes): {:?}",
        t.elapsed()
    );

    let link = ctr.exec(&["ip", "-o", "link", "show", "eth0"]);
    assert!(link.contains("02:42:0a:4d:00:02"), "{link}");
    assert!(link.contains("UP"), "{link}");
    let route = ctr.exec(&["ip", "route", "show", "default"]);
    assert!(route.contains("via 10.77.0.1 dev eth0"), "{route}");
    let route6 = ctr.exec(&["ip", "-6", "route", "show", "default"]);
    assert!(route6.contains("via fd77::1 dev eth0"), "{route6}");
    let master = host.exec(&["ip", "-d", "-o", "link", "show", "veth0123456"]);
    assert!(master.contains("master br-test"), "{master}");
    assert!(master.contains("hairpin on"), "{master}");
    // Real traffic both ways over the bridge.
    host.exec(&["busybox", "ping", "-c1", "-W2", "10.77.0.2"]);
    ctr.exec(&["busybox", "ping", "-c1", "-W2", "10.77.0.1"]);
    ctr.exec(&["busybox", "ping", "-6", "-c1", "-W2", "fd77::1"]);
    ctr.exec(&["busybox", "ping", "-c1", "-W2", "127.0.0.1"]);

    assert!(nl.delete_link("veth0123456").await.expect("delete veth"));
    assert!(
        !ctr.try_exec(&["ip", "link", "show", "eth0"]),
        "the peer went with the host end"
    );
    assert!(!nl.delete_link("veth0123456").await.expect("delete again"));
    let routes = nl.routes().await.expect("routes");
    assert!(
        routes.contains(&"10.77.0.0/24".parse().expect("net")),
        "{routes:?}"
    );
    assert!(nl.delete_link("br-test").await.expect("delete bridge"));
}

#[tokio::test]
async fn attach_to_a_missing_namespace_leaves_no_veth() {
    if !can_run() {
        return;
    }
    let host = Netns::new("lm");
    let nl = RtNetlink::in_netns(&host.path()).await.expect("netlink");
    let br = BridgeConfig {
        name: "br-m".into(),
        addresses: vec!["10.78.0.1/24".parse().expect("net")],
        mtu: None,
    };
    nl.ensure_bridge(&br).await.expect("bridge");
    let a = Attachment {
        netns: "/run/netns/bn-does-not-exist".into(),
        bridge: "br-m".into(),
        host_ifname: "vethdead000".into(),
        ifname: "eth0".into(),
        mac: mac_for_ip(Ipv4Addr::new(10, 78, 0, 2)),
        addresses: vec!["10.78.0.2/24".parse().expect("net")],
        gateways: vec![],
        mtu: None,
        isolated: false,
    };
    assert!(nl.attach(&a).await.is_err());
    assert!(!host.try_exec(&["ip", "link", "show", "vethdead000"]));
}

/// The cost an attach adds to `run`: `cargo test -p berth-net --test link attach_timing
/// -- --ignored --nocapture` prints the median and worst of 30 attaches, each into a new
/// namespace (made by `ip` beforehand, not timed: the runtime makes it in `run`).
#[tokio::test]
#[ignore]
async fn attach_timing() {
    if !can_run() {
        return;
    }
    let host = Netns::new("lt");
    let nl = RtNetlink::in_netns(&host.path()).await.expect("netlink");
    nl.ensure_bridge(&BridgeConfig {
        name: "br-t".into(),
        addresses: vec!["10.79.0.1/24".parse().expect("net")],
        mtu: None,
    })
    .await
    .expect("bridge");
    let mut times = Vec::new();
    for i in 0..30u8 {
        let ctr = Netns::new(&format!("lt{i}"));
        let a = Attachment {
            netns: ctr.path(),
            bridge: "br-t".into(),
            host_ifname: format!("vetht{i}"),
            ifname: "eth0".into(),
            mac: mac_for_ip(Ipv4Addr::new(10, 79, 0, i + 2)),
            addresses: vec![format!("10.79.0.{}/24", i + 2).parse().expect("net")],
            gateways: vec!["10.79.0.1".parse().expect("ip")],
            mtu: None,
            isolated: false,
        };
        let t = Instant::now();
        nl.attach(&a).await.expect("attach");
        times.push(t.elapsed());
    }
    times.sort();
    eprintln!(
        "attach: median {:?}, worst {:?}",
        times[times.len() / 2],
        times[times.len() - 1]
    );
}
