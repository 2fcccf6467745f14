//! Networks (issue 13) with `berth` and the docker CLI: the default bridge, published
//! ports (TCP and UDP, 127.0.0.1 and the host's address, `-P`, a port in use), user
//! networks with the embedded DNS, `--internal`, `none`, connect/disconnect, a daemon
//! restart, bad input, events, and nothing left behind. Each test's daemon has a bridge,
//! a subnet and an nftables table of its own (`Daemon::networked`); traffic goes only to
//! this machine's addresses.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream, UdpSocket};
use std::process::Command;
use std::time::Duration;

use berth_e2e::{Daemon, eventually, unique};

/// A host port nothing listens on now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let p = l.local_addr().unwrap().port();
    // The UDP side free too (the UDP tests publish the same number).
    let _u = UdpSocket::bind(("0.0.0.0", p)).unwrap();
    p
}

/// The host's own non-loopback IPv4 address (not one of the test bridges).
fn host_address() -> IpAddr {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .filter(|l| {
            let dev = l.split_whitespace().nth(1).unwrap_or("");
            !dev.starts_with("bt") && !dev.starts_with("br-") && !dev.starts_with("veth")
        })
        .find_map(|l| {
            let cidr = l.split_whitespace().skip_while(|w| *w != "inet").nth(1)?;
            cidr.split('/').next()?.parse().ok()
        })
        .expect("a global IPv4 address on the host")
}

/// `GET /hostname` of a busybox httpd serving /etc, through `addr:port`.
fn http_get(addr: IpAddr, port: u16) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&(addr, port).into(), Duration::from_secs(3)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /hostname HTTP/1.0\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split("\r\n\r\n").nth(1).map(|b| b.trim().to_string())
}

/// Whether the host has any link whose name starts with `prefix` (`veth`, a bridge).
fn links_on(bridge: &str) -> Vec<String> {
    let out = Command::new("ip")
        .args(["-o", "link", "show", "master", bridge])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(':').nth(1).map(|n| n.trim().to_string()))
        .collect()
}

fn link_exists(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", name])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// `run --rm --network NET busybox sh -c SCRIPT` through one CLI; its output.
fn busybox_sh(d: &Daemon, docker: bool, net: &str, script: &str) -> String {
    d.cli(
        docker,
        &[
            "run",
            "--rm",
            "--network",
            net,
            "busybox",
            "sh",
            "-c",
            script,
        ],
    )
    .ok()
    .stdout()
}

fn nft_table(d: &Daemon) -> String {
    let out = Command::new("nft")
        .args(["list", "table", "inet", &d.fw_table])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn default_bridge_gives_an_address_a_route_and_hosts() {
    let Some(d) = Daemon::networked() else { return };
    let bridge = d.bridge.clone().unwrap();
    let gw = format!("10.{}.255.1", d.net_octet);
    for docker in berth_e2e::clis() {
        let name = unique("nb");
        let out = d.cli(
            docker,
            &[
                "run",
                "--rm",
                "--name",
                &name,
                "--hostname",
                "box",
                "busybox",
                "sh",
                "-c",
                "ip -4 -o addr show eth0; ip route; tail -1 /etc/hosts; cat /etc/hostname",
            ],
        );
        out.ok();
        let text = out.stdout();
        let prefix = format!("10.{}.255.", d.net_octet);
        assert!(text.contains(&format!("inet {prefix}")), "{text}");
        assert!(
            text.contains(&format!("default via {gw} dev eth0")),
            "{text}"
        );
        let hosts = text.lines().nth_back(1).unwrap();
        assert!(
            hosts.starts_with(&prefix) && hosts.ends_with("\tbox"),
            "{hosts}"
        );
        assert_eq!(text.lines().last(), Some("box"));
        // The veth went with the container.
        assert!(
            eventually(5, || links_on(&bridge).is_empty()),
            "{:?}",
            links_on(&bridge)
        );
        // The host reaches a container on the bridge, and the container the host.
        let id = d
            .cli(
                docker,
                &[
                    "run", "-d", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc",
                ],
            )
            .ok()
            .stdout();
        let id = id.trim();
        let ip = d
            .cli(
                docker,
                &["inspect", "-f", "{{.NetworkSettings.IPAddress}}", id],
            )
            .ok()
            .stdout();
        let ip: IpAddr = ip.trim().parse().unwrap();
        assert!(
            eventually(5, || http_get(ip, 80).is_some_and(|b| id.starts_with(&b))),
            "container at {ip} not reached"
        );
        let gw_out = d
            .cli(
                docker,
                &["inspect", "-f", "{{.NetworkSettings.Gateway}} {{.NetworkSettings.MacAddress}} {{(index .NetworkSettings.Networks \"bridge\").IPAddress}}", id],
            )
            .ok()
            .stdout();
        let parts: Vec<&str> = gw_out.split_whitespace().collect();
        assert_eq!(parts[0], gw);
        assert!(parts[1].starts_with("02:42:"), "{gw_out}");
        assert_eq!(parts[2], ip.to_string());
        d.cli(docker, &["rm", "-f", id]).ok();
    }
}

#[test]
fn published_ports_on_loopback_host_address_udp_and_publish_all() {
    let Some(d) = Daemon::networked() else { return };
    d.load("debian-bookworm.tar.gz");
    let host = host_address();
    for docker in berth_e2e::clis() {
        let (p1, p2, pu) = (free_port(), free_port(), free_port());
        let name = unique("web");
        let spec_lo = format!("127.0.0.1:{p1}:80");
        let spec_any = format!("{p2}:80");
        let id = d
            .cli(
                docker,
                &[
                    "run", "-d", "--name", &name, "-p", &spec_lo, "-p", &spec_any, "busybox",
                    "httpd", "-f", "-p", "80", "-h", "/etc",
                ],
            )
            .ok()
            .stdout();
        let short = &id.trim()[..12];
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(
            eventually(5, || http_get(lo, p1).as_deref() == Some(short)),
            "127.0.0.1:{p1}"
        );
        assert_eq!(http_get(lo, p2).as_deref(), Some(short), "127.0.0.1:{p2}");
        assert_eq!(http_get(host, p2).as_deref(), Some(short), "{host}:{p2}");
        // Published on 127.0.0.1 only: not on the host's address.
        assert_eq!(http_get(host, p1), None, "{host}:{p1} must not answer");
        // `port`, inspect and ps show them.
        let port = d.cli(docker, &["port", &name]).ok().stdout();
        assert!(
            port.contains(&format!("80/tcp -> 127.0.0.1:{p1}")),
            "{port}"
        );
        assert!(port.contains(&format!("80/tcp -> 0.0.0.0:{p2}")), "{port}");
        let ports = d
            .cli(
                docker,
                &["inspect", "-f", "{{json .NetworkSettings.Ports}}", &name],
            )
            .ok()
            .stdout();
        let v: serde_json::Value = serde_json::from_str(ports.trim()).unwrap();
        let list = v["80/tcp"].as_array().unwrap();
        assert_eq!(list.len(), 2, "{v}");
        let ps = d
            .cli(
                docker,
                &[
                    "ps",
                    "--filter",
                    &format!("name={name}"),
                    "--format",
                    "{{.Ports}}",
                ],
            )
            .ok()
            .stdout();
        assert!(ps.contains(&format!("127.0.0.1:{p1}->80/tcp")), "{ps}");
        assert!(ps.contains(&format!("0.0.0.0:{p2}->80/tcp")), "{ps}");
        // Another container reaches it through the host's address.
        let from_ctr = d
            .cli(
                docker,
                &[
                    "run", "--rm", "busybox", "sh", "-c",
                    &format!("printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host} {p2} | tail -1"),
                ],
            )
            .ok()
            .stdout();
        assert_eq!(from_ctr.trim(), short);
        // The port is taken: a second publish of it fails as dockerd says, and leaves
        // nothing behind.
        let again = d.cli(docker, &["run", "--rm", "-p", &spec_any, "busybox", "true"]);
        assert_ne!(again.code(), 0);
        assert!(
            again.stderr().contains(&format!(
                "Bind for 0.0.0.0:{p2} failed: port is already allocated"
            )),
            "{}",
            again.stderr()
        );
        d.cli(docker, &["rm", "-f", &name]).ok();
        assert_eq!(http_get(lo, p2), None, "unpublished at removal");
        assert!(
            !nft_table(&d).contains(&format!(" . {p2} ")),
            "{}",
            nft_table(&d)
        );

        // A port something else on the host holds: refused at start with dockerd's
        // message, nothing left.
        let holder = std::net::TcpListener::bind(("0.0.0.0", p1)).unwrap();
        let busy = d.cli(
            docker,
            &["run", "--rm", "-p", &format!("{p1}:80"), "busybox", "true"],
        );
        assert_ne!(busy.code(), 0);
        assert!(
            busy.stderr()
                .contains(&format!("0.0.0.0:{p1}: bind: address already in use")),
            "{}",
            busy.stderr()
        );
        drop(holder);
        assert!(eventually(5, || links_on(d.bridge.as_deref().unwrap()).is_empty()));
        assert!(!nft_table(&d).contains(&format!(" . {p1} ")));

        // UDP: an echo server in the container, reached from the host.
        let udp_spec = format!("{pu}:5353/udp");
        let echo = "use IO::Socket::INET; my $s = IO::Socket::INET->new(LocalPort => 5353, Proto => 'udp') or die; \
                    while (1) { $s->recv(my $m, 100); $s->send(\"echo:$m\"); }";
        let uname = unique("udp");
        d.cli(
            docker,
            &[
                "run",
                "-d",
                "--name",
                &uname,
                "-p",
                &udp_spec,
                "debian:bookworm",
                "perl",
                "-e",
                echo,
            ],
        )
        .ok();
        for target in [lo, host] {
            let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
            sock.set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            let got = eventually(10, || {
                let _ = sock.send_to(b"hi", (target, pu));
                let mut buf = [0u8; 64];
                matches!(sock.recv(&mut buf), Ok(n) if &buf[..n] == b"echo:hi")
            });
            assert!(got, "no UDP echo from {target}:{pu}");
        }
        d.cli(docker, &["rm", "-f", &uname]).ok();

        // -P: every exposed port on a host port of the daemon's choice.
        let pname = unique("pall");
        d.cli(
            docker,
            &[
                "run", "-d", "--name", &pname, "--expose", "80", "-P", "busybox", "httpd", "-f",
                "-p", "80", "-h", "/etc",
            ],
        )
        .ok();
        let port = d.cli(docker, &["port", &pname, "80/tcp"]).ok().stdout();
        let chosen: u16 = port
            .lines()
            .next()
            .and_then(|l| l.rsplit(':').next())
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("port of -P: {port}"));
        assert!(
            eventually(5, || http_get(lo, chosen).is_some()),
            "-P port {chosen}"
        );
        d.cli(docker, &["rm", "-f", &pname]).ok();
    }
}

#[test]
fn user_networks_resolve_names_and_stay_apart() {
    let Some(d) = Daemon::networked() else { return };
    for docker in berth_e2e::clis() {
        let (n1, n2) = (unique("app"), unique("other"));
        let (s1, s2) = (
            d.subnet(if docker { 1 } else { 11 }),
            d.subnet(if docker { 2 } else { 12 }),
        );
        d.cli(docker, &["network", "create", "--subnet", &s1, &n1])
            .ok();
        d.cli(docker, &["network", "create", "--subnet", &s2, &n2])
            .ok();
        let db = unique("db");
        d.cli(
            docker,
            &[
                "run",
                "-d",
                "--name",
                &db,
                "--network",
                &n1,
                "--network-alias",
                "database",
                "busybox",
                "httpd",
                "-f",
                "-p",
                "80",
                "-h",
                "/etc",
            ],
        )
        .ok();
        let db_id = d
            .cli(docker, &["inspect", "-f", "{{.Id}}", &db])
            .ok()
            .stdout();
        let short = &db_id.trim()[..12];
        // By name, by alias and by short id, from a container on the same network.
        let script = format!(
            "for n in {db} database {short}; do printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 3 $n 80 | tail -1; done; \
             grep nameserver /etc/resolv.conf"
        );
        let out = busybox_sh(&d, docker, &n1, &script);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [short, short, short, "nameserver 127.0.0.11"],
            "{out}"
        );
        // From another network: no name, and no route to its address.
        let ip = d
            .cli(
                docker,
                &[
                    "inspect",
                    "-f",
                    &format!("{{{{(index .NetworkSettings.Networks \"{n1}\").IPAddress}}}}"),
                    &db,
                ],
            )
            .ok()
            .stdout();
        let ip = ip.trim();
        assert!(ip.starts_with(&s1[..s1.len() - 4]), "{ip} in {s1}");
        let other = d.cli(
            docker,
            &["run", "--rm", "--network", &n2, "busybox", "sh", "-c",
              &format!("nslookup {db} >/dev/null 2>&1 && echo resolved; printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {ip} 80 | tail -1; echo done")],
        );
        assert_eq!(other.ok().stdout().trim(), "done", "isolation");
        // Connect puts the container on the other network too (with an alias); disconnect
        // cuts it off again.
        d.cli(
            docker,
            &["network", "connect", "--alias", "cache", &n2, &db],
        )
        .ok();
        let via = d
            .cli(
                docker,
                &[
                    "run",
                    "--rm",
                    "--network",
                    &n2,
                    "busybox",
                    "sh",
                    "-c",
                    "printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 3 cache 80 | tail -1",
                ],
            )
            .ok()
            .stdout();
        assert_eq!(via.trim(), short);
        let inspect = d.cli(docker, &["network", "inspect", &n2]).ok().stdout();
        assert!(inspect.contains(&db_id.trim().to_string()), "{inspect}");
        d.cli(docker, &["network", "disconnect", &n2, &db]).ok();
        let cut = d
            .cli(
                docker,
                &[
                    "run",
                    "--rm",
                    "--network",
                    &n2,
                    "busybox",
                    "sh",
                    "-c",
                    "nslookup cache >/dev/null 2>&1 && echo resolved; echo done",
                ],
            )
            .ok()
            .stdout();
        assert_eq!(cut.trim(), "done");
        // A network in use is not removed; once free it goes with its bridge.
        let busy = d.cli(docker, &["network", "rm", &n1]);
        assert_ne!(busy.code(), 0);
        assert!(
            busy.stderr().contains("has active endpoints"),
            "{}",
            busy.stderr()
        );
        let net_id = d
            .cli(docker, &["network", "inspect", "-f", "{{.Id}}", &n1])
            .ok()
            .stdout();
        let bridge = format!("br-{}", &net_id.trim()[..12]);
        assert!(link_exists(&bridge));
        d.cli(docker, &["rm", "-f", &db]).ok();
        d.cli(docker, &["network", "rm", &n1, &n2]).ok();
        assert!(!link_exists(&bridge), "{bridge} left behind");
        assert!(!nft_table(&d).contains(&bridge), "{}", nft_table(&d));
    }
}

#[test]
fn internal_and_none_networks_have_no_way_out() {
    let Some(d) = Daemon::networked() else { return };
    let host = host_address();
    let port = free_port();
    let web = unique("web");
    d.docker_or_berth(&[
        "run",
        "-d",
        "--name",
        &web,
        "-p",
        &format!("{port}:80"),
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/etc",
    ])
    .ok();
    assert!(eventually(5, || http_get(host, port).is_some()));
    for docker in berth_e2e::clis() {
        let internal = unique("int");
        d.cli(
            docker,
            &[
                "network",
                "create",
                "--internal",
                "--subnet",
                &d.subnet(if docker { 21 } else { 22 }),
                &internal,
            ],
        )
        .ok();
        let probe = format!(
            "printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {host} {port} | tail -1; echo done"
        );
        // The same probe from the default bridge gets through (the test can fail).
        let open = d
            .cli(docker, &["run", "--rm", "busybox", "sh", "-c", &probe])
            .ok()
            .stdout();
        assert_ne!(open.trim(), "done", "the default bridge reaches the host");
        let out = busybox_sh(&d, docker, &internal, &probe);
        assert_eq!(out.trim(), "done", "an internal network reached {host}");
        let none = d
            .cli(
                docker,
                &[
                    "run",
                    "--rm",
                    "--network",
                    "none",
                    "busybox",
                    "sh",
                    "-c",
                    "ls /sys/class/net | tr '\\n' ' '",
                ],
            )
            .ok()
            .stdout();
        assert_eq!(none.trim(), "lo");
        d.cli(docker, &["network", "rm", &internal]).ok();
    }
}

#[test]
fn published_ports_survive_a_daemon_restart_and_kill() {
    let Some(mut d) = Daemon::networked() else {
        return;
    };
    let port = free_port();
    let net = unique("rnet");
    d.docker_or_berth(&["network", "create", "--subnet", &d.subnet(31), &net])
        .ok();
    let web = unique("web");
    d.docker_or_berth(&[
        "run",
        "-d",
        "--name",
        &web,
        "--network",
        &net,
        "-p",
        &format!("{port}:80"),
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/etc",
    ])
    .ok();
    let lo: IpAddr = "127.0.0.1".parse().unwrap();
    assert!(eventually(5, || http_get(lo, port).is_some()));
    d.kill9();
    // While the daemon is down.
    assert!(http_get(lo, port).is_some(), "port lost with the daemon");
    // What a crash could leave: the port of a container that is gone.
    let stale_port = free_port();
    let stale = "a".repeat(64);
    let added = Command::new("nft")
        .arg(format!(
            "add element inet {} ports4any {{ tcp . {stale_port} comment \"ctr={stale}\" : 10.{}.131.99 . 80 }}",
            d.fw_table, d.net_octet
        ))
        .status()
        .unwrap();
    assert!(added.success());
    assert!(nft_table(&d).contains(&stale));
    d.restart();
    assert!(http_get(lo, port).is_some(), "port lost at restart");
    // Swept at start; the live container's port kept.
    let table = nft_table(&d);
    assert!(!table.contains(&stale), "{table}");
    assert!(table.contains(&format!("tcp . {port}")), "{table}");
    // Names still answer on the network, the port is still held.
    let out = d
        .docker_or_berth(&[
            "run",
            "--rm",
            "--network",
            &net,
            "busybox",
            "sh",
            "-c",
            &format!("printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {web} 80 | tail -1"),
        ])
        .ok()
        .stdout();
    assert!(!out.trim().is_empty(), "name after restart");
    let again = d.docker_or_berth(&[
        "run",
        "--rm",
        "-p",
        &format!("{port}:80"),
        "busybox",
        "true",
    ]);
    assert_ne!(again.code(), 0, "the port is still allocated");
    // Stopped: unpublished, its address free again.
    d.docker_or_berth(&["stop", "-t", "1", &web]).ok();
    assert_eq!(http_get(lo, port), None);
    d.docker_or_berth(&["rm", &web]).ok();
    d.docker_or_berth(&["network", "rm", &net]).ok();
}

#[test]
fn bad_network_input_is_refused_with_dockers_messages() {
    let Some(d) = Daemon::networked() else { return };
    for docker in berth_e2e::clis() {
        let (a, b) = (unique("na"), unique("nb"));
        let sub = d.subnet(if docker { 41 } else { 42 });
        d.cli(docker, &["network", "create", "--subnet", &sub, &a])
            .ok();
        let overlap = d.cli(docker, &["network", "create", "--subnet", &sub, &b]);
        assert_ne!(overlap.code(), 0);
        assert!(
            overlap
                .stderr()
                .contains("Pool overlaps with other one on this address space"),
            "{}",
            overlap.stderr()
        );
        let dup = d.cli(docker, &["network", "create", &a]);
        assert!(
            dup.stderr()
                .contains(&format!("network with name {a} already exists")),
            "{}",
            dup.stderr()
        );
        let unknown = d.cli(
            docker,
            &["run", "--rm", "--network", "no-such-net", "busybox", "true"],
        );
        assert_ne!(unknown.code(), 0);
        assert!(
            unknown.stderr().contains("network no-such-net not found"),
            "{}",
            unknown.stderr()
        );
        let outside = d.cli(
            docker,
            &[
                "run",
                "--rm",
                "--network",
                &a,
                "--ip",
                "192.0.2.200",
                "busybox",
                "true",
            ],
        );
        assert_ne!(outside.code(), 0);
        assert!(
            outside.stderr().contains("Invalid address 192.0.2.200"),
            "{}",
            outside.stderr()
        );
        let bad_p = d.cli(
            docker,
            &["run", "--rm", "-p", "99999:80", "busybox", "true"],
        );
        assert_ne!(bad_p.code(), 0);
        assert!(bad_p.stderr().contains("99999"), "{}", bad_p.stderr());
        let predefined = d.cli(docker, &["network", "rm", "bridge"]);
        assert!(
            predefined
                .stderr()
                .contains("bridge is a pre-defined network and cannot be removed"),
            "{}",
            predefined.stderr()
        );
        // Nothing half-made: only the first network's bridge exists, no veth is left.
        assert!(eventually(5, || links_on(d.bridge.as_deref().unwrap()).is_empty()));
        d.cli(docker, &["network", "rm", &a]).ok();
        let ls = d
            .cli(docker, &["network", "ls", "--format", "{{.Name}}"])
            .ok()
            .stdout();
        let mut names: Vec<&str> = ls.lines().collect();
        names.sort();
        assert_eq!(names, ["bridge", "host", "none"]);
    }
}

#[test]
fn network_events_and_filters() {
    let Some(d) = Daemon::networked() else { return };
    for docker in berth_e2e::clis() {
        let since = berth_e2e::now_unix();
        let net = unique("ev");
        d.cli(
            docker,
            &[
                "network",
                "create",
                "--label",
                "team=a",
                "--subnet",
                &d.subnet(if docker { 51 } else { 52 }),
                &net,
            ],
        )
        .ok();
        let c = unique("evc");
        d.cli(
            docker,
            &[
                "run",
                "--rm",
                "--name",
                &c,
                "--network",
                &net,
                "busybox",
                "true",
            ],
        )
        .ok();
        let ls = d
            .cli(
                docker,
                &[
                    "network",
                    "ls",
                    "--filter",
                    "label=team=a",
                    "--format",
                    "{{.Name}}",
                ],
            )
            .ok()
            .stdout();
        assert_eq!(ls.trim(), net);
        let ls = d
            .cli(docker, &["network", "ls", "--filter", "type=builtin", "-q"])
            .ok()
            .stdout();
        assert_eq!(ls.lines().count(), 3);
        let bad = d.cli(docker, &["network", "ls", "--filter", "colour=red"]);
        assert!(
            bad.stderr().contains("invalid filter 'colour'"),
            "{}",
            bad.stderr()
        );
        d.cli(docker, &["network", "rm", &net]).ok();
        let until = berth_e2e::now_unix();
        let ev = d
            .cli(
                docker,
                &[
                    "events",
                    "--since",
                    &since,
                    "--until",
                    &until,
                    "--filter",
                    "type=network",
                    "--format",
                    "{{.Action}}",
                ],
            )
            .ok()
            .stdout();
        let actions: Vec<&str> = ev.lines().collect();
        assert_eq!(
            actions,
            ["create", "connect", "disconnect", "destroy"],
            "{ev}"
        );
    }
}

#[test]
fn container_network_mode_shares_the_namespace() {
    let Some(d) = Daemon::networked() else { return };
    let bridge = d.bridge.clone().unwrap();
    let gw = format!("10.{}.255.1", d.net_octet);
    for docker in berth_e2e::clis() {
        let web = unique("web");
        d.cli(
            docker,
            &[
                "run",
                "-d",
                "--name",
                &web,
                "--hostname",
                "webhost",
                "busybox",
                "httpd",
                "-f",
                "-p",
                "80",
                "-h",
                "/etc",
            ],
        )
        .ok();
        let ip = d
            .cli(
                docker,
                &["inspect", "-f", "{{.NetworkSettings.IPAddress}}", &web],
            )
            .ok()
            .stdout();
        let mode = format!("container:{web}");
        let out = d
            .cli(
                docker,
                &[
                    "run",
                    "--rm",
                    "--network",
                    &mode,
                    "busybox",
                    "sh",
                    "-c",
                    "ip -4 -o addr show eth0 | awk '{print $4}'; hostname; \
                   printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 3 127.0.0.1 80 | tail -1",
                ],
            )
            .ok()
            .stdout();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(lines[0].starts_with(&format!("{}/", ip.trim())), "{out}");
        assert_eq!(lines[1..], ["webhost", "webhost"], "{out}");
        // dockerd's conflicts.
        let ports = d.cli(
            docker,
            &[
                "run",
                "--rm",
                "--network",
                &mode,
                "-p",
                "80",
                "busybox",
                "true",
            ],
        );
        assert_ne!(ports.code(), 0);
        assert!(
            ports.stderr().contains(
                "conflicting options: port publishing and the container type network mode"
            ),
            "{}",
            ports.stderr()
        );
        // A container still in the namespace when its owner stops loses the owner's
        // interfaces (dockerd's behaviour): only `lo` is left, and the veth leaves the
        // bridge.
        let joiner = d
            .cli(
                docker,
                &["run", "-d", "--network", &mode, "busybox", "sleep", "60"],
            )
            .ok()
            .stdout();
        let joiner = joiner.trim();
        let links = |d: &Daemon| {
            d.cli(docker, &["exec", joiner, "ls", "/sys/class/net"])
                .ok()
                .stdout()
        };
        assert!(links(&d).contains("eth0"), "{}", links(&d));
        d.cli(docker, &["stop", "-t", "1", &web]).ok();
        assert!(
            eventually(5, || links(&d).split_whitespace().eq(["lo"])),
            "{}",
            links(&d)
        );
        assert!(
            eventually(5, || links_on(&bridge).is_empty()),
            "{:?}",
            links_on(&bridge)
        );
        d.cli(docker, &["rm", "-f", joiner]).ok();
        let stopped = d.cli(
            docker,
            &["run", "--rm", "--network", &mode, "busybox", "true"],
        );
        assert_ne!(stopped.code(), 0);
        assert!(
            stopped
                .stderr()
                .contains("cannot join network of a non running container"),
            "{}",
            stopped.stderr()
        );
        d.cli(docker, &["rm", &web]).ok();
        // host-gateway is the default bridge's gateway.
        let hosts = d
            .cli(
                docker,
                &[
                    "run",
                    "--rm",
                    "--add-host",
                    "hgw:host-gateway",
                    "busybox",
                    "grep",
                    "hgw",
                    "/etc/hosts",
                ],
            )
            .ok()
            .stdout();
        assert_eq!(hosts.trim(), format!("{gw}\thgw"));
    }
}

#[test]
fn mac_address_is_the_interfaces() {
    let Some(d) = Daemon::networked() else { return };
    for docker in berth_e2e::clis() {
        let mac = if docker {
            "02:42:ac:11:aa:01"
        } else {
            "02:42:ac:11:aa:02"
        };
        let name = unique("mac");
        d.cli(
            docker,
            &[
                "run",
                "-d",
                "--name",
                &name,
                "--mac-address",
                mac,
                "busybox",
                "sleep",
                "100",
            ],
        )
        .ok();
        let inside = d
            .cli(
                docker,
                &["exec", &name, "cat", "/sys/class/net/eth0/address"],
            )
            .ok()
            .stdout();
        assert_eq!(inside.trim(), mac);
        let shown = d
            .cli(
                docker,
                &["inspect", "-f", "{{.NetworkSettings.MacAddress}}", &name],
            )
            .ok()
            .stdout();
        assert_eq!(shown.trim(), mac);
        d.cli(docker, &["rm", "-f", &name]).ok();
        let bad = d.cli(
            docker,
            &[
                "run",
                "--rm",
                "--mac-address",
                "01:00:5e:00:00:01",
                "busybox",
                "true",
            ],
        );
        assert_ne!(bad.code(), 0);
        assert!(
            bad.stderr().contains("01:00:5e:00:00:01"),
            "{}",
            bad.stderr()
        );
    }
}

#[test]
fn legacy_links_give_hosts_entries_and_variables() {
    let Some(d) = Daemon::networked() else { return };
    for docker in berth_e2e::clis() {
        let db = unique("db");
        d.cli(
            docker,
            &[
                "run",
                "-d",
                "--name",
                &db,
                "--expose",
                "5432",
                "-e",
                "SECRET=s3",
                "busybox",
                "sleep",
                "100",
            ],
        )
        .ok();
        let ip = d
            .cli(
                docker,
                &["inspect", "-f", "{{.NetworkSettings.IPAddress}}", &db],
            )
            .ok()
            .stdout();
        let ip = ip.trim().to_string();
        let link = format!("{db}:pg-main");
        let out = d
            .cli(
                docker,
                &["run", "--rm", "--name", &unique("app"), "--link", &link, "busybox", "sh", "-c",
                  "grep pg-main /etc/hosts; env | grep ^PG_MAIN_ | sort; ping -c1 -W2 pg-main >/dev/null && echo reached"],
            )
            .ok()
            .stdout();
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with(&format!("{ip}\tpg-main "))
                && lines[0].ends_with(&format!(" {db}")),
            "{out}"
        );
        assert!(
            lines.contains(&format!("PG_MAIN_PORT=tcp://{ip}:5432").as_str()),
            "{out}"
        );
        assert!(
            lines.contains(&format!("PG_MAIN_PORT_5432_TCP_ADDR={ip}").as_str()),
            "{out}"
        );
        assert!(lines.contains(&"PG_MAIN_ENV_SECRET=s3"), "{out}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("PG_MAIN_NAME=/") && l.ends_with("/pg-main")),
            "{out}"
        );
        assert_eq!(lines.last(), Some(&"reached"), "{out}");
        // Per-network links (`network connect --link`, compose's `links:`) on a user
        // network: from the next start, names the embedded DNS answers for that
        // container only (dockerd's link aliases), no hosts entries.
        let net = unique("lnk");
        let subnet = d.subnet(if docker { 51 } else { 52 });
        d.cli(docker, &["network", "create", "--subnet", &subnet, &net])
            .ok();
        d.cli(docker, &["network", "connect", &net, &db]).ok();
        let app = unique("app");
        d.cli(
            docker,
            &[
                "create",
                "--name",
                &app,
                "busybox",
                "sh",
                "-c",
                "grep -c pg-net /etc/hosts; ping -c1 -W2 pg-net >/dev/null && echo reached",
            ],
        )
        .ok();
        let linked = format!("{db}:pg-net");
        d.cli(
            docker,
            &["network", "connect", "--link", &linked, &net, &app],
        )
        .ok();
        let shown = d
            .cli(
                docker,
                &[
                    "inspect",
                    "-f",
                    &format!("{{{{json (index .NetworkSettings.Networks \"{net}\").Links}}}}"),
                    &app,
                ],
            )
            .ok()
            .stdout();
        assert_eq!(shown.trim(), format!("[\"{linked}\"]"));
        let out = d.cli(docker, &["start", "-a", &app]).ok().stdout();
        assert_eq!(out, "0\nreached\n");
        d.cli(docker, &["rm", &app]).ok();
        let other = d
            .cli(
                docker,
                &[
                    "run",
                    "--rm",
                    "--network",
                    &net,
                    "busybox",
                    "sh",
                    "-c",
                    "nslookup -type=a pg-net 127.0.0.11 >/dev/null 2>&1 && echo resolved; \
                     nslookup -type=a \"$0\" 127.0.0.11 >/dev/null 2>&1 && echo by-name",
                    &db,
                ],
            )
            .ok()
            .stdout();
        assert_eq!(
            other, "by-name\n",
            "the alias is the linking container's only"
        );
        d.cli(docker, &["network", "disconnect", &net, &db]).ok();
        d.cli(docker, &["network", "rm", &net]).ok();
        // Unknown at create, stopped at start: dockerd's messages.
        let unknown = d.cli(
            docker,
            &["create", "--link", "no-such-ctr:x", "busybox", "true"],
        );
        assert_ne!(unknown.code(), 0);
        assert!(
            unknown
                .stderr()
                .contains("could not get container for no-such-ctr"),
            "{}",
            unknown.stderr()
        );
        d.cli(docker, &["stop", "-t", "1", &db]).ok();
        let stopped = d.cli(docker, &["run", "--rm", "--link", &link, "busybox", "true"]);
        assert_ne!(stopped.code(), 0);
        assert!(
            stopped
                .stderr()
                .contains("Cannot link to a non running container"),
            "{}",
            stopped.stderr()
        );
        d.cli(docker, &["rm", &db]).ok();
    }
}

#[test]
fn aux_addresses_and_ipv6_on_a_user_network() {
    let Some(d) = Daemon::networked() else { return };
    for docker in berth_e2e::clis() {
        let n = if docker { 41 } else { 42 };
        let (v4, v6) = (d.subnet(n), d.subnet6(n));
        let prefix = v4.trim_end_matches("0/24").to_string();
        let net = unique("v6");
        d.cli(
            docker,
            &[
                "network",
                "create",
                "--subnet",
                &v4,
                "--aux-address",
                &format!("router={prefix}2"),
                "--ipv6",
                "--subnet",
                &v6,
                &net,
            ],
        )
        .ok();
        let cfg = d
            .cli(
                docker,
                &["network", "inspect", "-f", "{{json .IPAM.Config}}", &net],
            )
            .ok()
            .stdout();
        assert!(
            cfg.contains(&format!(r#""AuxiliaryAddresses":{{"router":"{prefix}2"}}"#)),
            "{cfg}"
        );
        // The auxiliary address is no container's.
        let taken = d.cli(
            docker,
            &[
                "run",
                "--rm",
                "--network",
                &net,
                "--ip",
                &format!("{prefix}2"),
                "busybox",
                "true",
            ],
        );
        assert_ne!(taken.code(), 0);
        assert!(
            taken.stderr().contains("Address already in use"),
            "{}",
            taken.stderr()
        );
        let srv = unique("v6srv");
        d.cli(
            docker,
            &[
                "run",
                "-d",
                "--name",
                &srv,
                "--network",
                &net,
                "busybox",
                "httpd",
                "-f",
                "-p",
                "80",
                "-h",
                "/etc",
            ],
        )
        .ok();
        let addrs = d
            .cli(
                docker,
                &[
                    "inspect",
                    "-f",
                    "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{.GlobalIPv6Address}} {{.IPv6Gateway}}{{end}}",
                    &srv,
                ],
            )
            .ok()
            .stdout();
        let addrs: Vec<&str> = addrs.split_whitespace().collect();
        // .1 is the gateway and .2 the router: the server gets .3.
        assert_eq!(addrs[0], format!("{prefix}3"), "{addrs:?}");
        let v6_prefix = v6.trim_end_matches(":/64");
        assert!(addrs[1].starts_with(v6_prefix), "{addrs:?} in {v6}");
        assert!(addrs[2].starts_with(v6_prefix), "{addrs:?} in {v6}");
        let hostname = d
            .cli(docker, &["exec", &srv, "cat", "/etc/hostname"])
            .ok()
            .stdout();
        // Another container reaches it over IPv6, by address and through the embedded
        // DNS's AAAA answer, and has its own IPv6 default route.
        let probe = format!(
            "for i in $(seq 50); do wget -qO- http://[{ip6}]/hostname && break; sleep 0.1; done; \
             nslookup -type=aaaa {srv} | grep -c {ip6}; ip -6 route show default | cut -d' ' -f1-3",
            ip6 = addrs[1],
        );
        let out = busybox_sh(&d, docker, &net, &probe);
        assert_eq!(
            out,
            format!("{hostname}1\ndefault via {}\n", addrs[2]),
            "{out}"
        );
        d.cli(docker, &["rm", "-f", &srv]).ok();
        // Link-local addresses beside the network's (dockerd's /16 and /64), shown in
        // the endpoint's IPAMConfig; anything else refused with dockerd's message.
        let ll = unique("ll");
        let out = d
            .cli(
                docker,
                &[
                    "run",
                    "--name",
                    &ll,
                    "--network",
                    &net,
                    "--link-local-ip",
                    "169.254.7.7",
                    "--link-local-ip",
                    "fe80::7",
                    "busybox",
                    "ip",
                    "addr",
                    "show",
                    "eth0",
                ],
            )
            .ok()
            .stdout();
        assert!(
            out.contains("inet 169.254.7.7/16") && out.contains("inet6 fe80::7/64"),
            "{out}"
        );
        let shown = d
            .cli(
                docker,
                &[
                    "inspect",
                    "-f",
                    &format!("{{{{json (index .NetworkSettings.Networks \"{net}\").IPAMConfig.LinkLocalIPs}}}}"),
                    &ll,
                ],
            )
            .ok()
            .stdout();
        assert_eq!(shown.trim(), r#"["169.254.7.7","fe80::7"]"#);
        d.cli(docker, &["rm", &ll]).ok();
        let bad = d.cli(
            docker,
            &[
                "create",
                "--network",
                &net,
                "--link-local-ip",
                "10.1.1.1",
                "busybox",
            ],
        );
        assert_ne!(bad.code(), 0);
        assert!(
            bad.stderr()
                .contains("invalid link local IP address: 10.1.1.1"),
            "{}",
            bad.stderr()
        );
        d.cli(docker, &["network", "rm", &net]).ok();
        // A bad auxiliary address: dockerd's message, nothing created.
        let bad = d.cli(
            docker,
            &[
                "network",
                "create",
                "--subnet",
                &v4,
                "--aux-address",
                "x=192.0.2.1",
                &net,
            ],
        );
        assert_ne!(bad.code(), 0);
        assert!(
            bad.stderr()
                .contains("no matching subnet for aux-address 192.0.2.1"),
            "{}",
            bad.stderr()
        );
        assert_ne!(d.cli(docker, &["network", "inspect", &net]).code(), 0);
    }
}

#[test]
fn bridge_driver_options() {
    let Some(d) = Daemon::networked() else { return };
    for docker in berth_e2e::clis() {
        let n = if docker { 61 } else { 62 };
        let net = unique("opts");
        let id = d
            .cli(
                docker,
                &[
                    "network",
                    "create",
                    "--subnet",
                    &d.subnet(n),
                    "-o",
                    "com.docker.network.bridge.enable_icc=false",
                    "-o",
                    "com.docker.network.bridge.enable_ip_masquerade=false",
                    "-o",
                    "com.docker.network.bridge.host_binding_ipv4=127.0.0.1",
                    "-o",
                    "com.docker.network.container_iface_prefix=ctr",
                    &net,
                ],
            )
            .ok()
            .stdout();
        let bridge = format!("br-{}", &id.trim()[..12]);
        // Its interfaces are ctr0...; its published ports bind 127.0.0.1 unless told.
        let port = free_port();
        let web = unique("web");
        d.cli(
            docker,
            &[
                "run",
                "-d",
                "--name",
                &web,
                "--network",
                &net,
                "-p",
                &format!("{port}:80"),
                "busybox",
                "httpd",
                "-f",
                "-p",
                "80",
                "-h",
                "/etc",
            ],
        )
        .ok();
        let shown = d.cli(docker, &["port", &web]).ok().stdout();
        assert_eq!(shown.trim(), format!("80/tcp -> 127.0.0.1:{port}"));
        assert!(
            eventually(5, || http_get(IpAddr::from([127, 0, 0, 1]), port).is_some()),
            "not served on 127.0.0.1"
        );
        assert_eq!(
            http_get(host_address(), port),
            None,
            "served beyond 127.0.0.1"
        );
        let ip = d
            .cli(
                docker,
                &[
                    "inspect",
                    "-f",
                    &format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"),
                    &web,
                ],
            )
            .ok()
            .stdout();
        // No traffic between its containers; the gateway (the host) still answers.
        let gw = d
            .cli(
                docker,
                &[
                    "network",
                    "inspect",
                    "-f",
                    "{{(index .IPAM.Config 0).Gateway}}",
                    &net,
                ],
            )
            .ok()
            .stdout();
        let probe = format!(
            "ls /sys/class/net | tr '\\n' ' '; echo; \
             timeout 3 wget -qO- http://{}/hostname >/dev/null 2>&1 && echo reached || echo isolated; \
             ping -c1 -W2 {} >/dev/null && echo gateway",
            ip.trim(),
            gw.trim()
        );
        let out = busybox_sh(&d, docker, &net, &probe);
        assert_eq!(out, "ctr0 lo \nisolated\ngateway\n", "{out}");
        // No masquerading out of the host: only the hairpin rule in its nat chain.
        let nat = Command::new("nft")
            .args([
                "list",
                "chain",
                "inet",
                &d.fw_table,
                &format!("nat-{bridge}"),
            ])
            .output()
            .unwrap();
        let nat = String::from_utf8_lossy(&nat.stdout).into_owned();
        assert_eq!(nat.matches("masquerade").count(), 1, "{nat}");
        assert!(nat.contains("ct status dnat masquerade"), "{nat}");
        d.cli(docker, &["rm", "-f", &web]).ok();
        d.cli(docker, &["network", "rm", &net]).ok();
        // dockerd's messages for values it cannot read.
        for (opt, message) in [
            (
                "com.docker.network.bridge.enable_icc=maybe",
                "failed to parse com.docker.network.bridge.enable_icc value: maybe",
            ),
            (
                "com.docker.network.bridge.host_binding_ipv4=foo",
                "failed to parse com.docker.network.bridge.host_binding_ipv4 value: foo (nil ip)",
            ),
        ] {
            let bad = d.cli(docker, &["network", "create", "-o", opt, &unique("bad")]);
            assert_ne!(bad.code(), 0);
            assert!(bad.stderr().contains(message), "{}", bad.stderr());
        }
    }
}
