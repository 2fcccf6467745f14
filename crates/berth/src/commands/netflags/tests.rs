//! The network flags against what docker CLI 28.2.2 sends: the expected bodies below were
//! captured from it (`docker create FLAGS busybox` against a fake daemon on a Unix socket
//! that logged each request), and its messages are quoted from the same runs.

use serde_json::{Value, json};

use super::*;

/// The create body of `create ARGS busybox`.
fn request(args: &[&str]) -> Result<CreateRequest, Exit> {
    let mut all = args.to_vec();
    all.push("busybox");
    crate::commands::create::tests::request(&all)
}

/// The parts of a create body the network flags fill, as JSON.
fn network_parts(r: &CreateRequest) -> Value {
    let v = serde_json::to_value(r).expect("json");
    let hc = &v["HostConfig"];
    let mut parts = json!({
        "Hostname": v["Hostname"],
        "Domainname": v["Domainname"],
        "HostConfig": {},
        "NetworkingConfig": v["NetworkingConfig"],
    });
    for k in ["ExposedPorts", "MacAddress"] {
        if let Some(x) = v.get(k) {
            parts[k] = x.clone();
        }
    }
    for k in [
        "NetworkMode",
        "PortBindings",
        "PublishAllPorts",
        "Links",
        "Dns",
        "DnsOptions",
        "DnsSearch",
        "ExtraHosts",
    ] {
        parts["HostConfig"][k] = hc[k].clone();
    }
    parts
}

/// An endpoint as the docker CLI sends it, every field present: `fields` over zeros.
fn endpoint_json(fields: Value) -> Value {
    let mut e = json!({
        "IPAMConfig": null, "Links": null, "Aliases": null, "MacAddress": "",
        "DriverOpts": null, "GwPriority": 0, "NetworkID": "", "EndpointID": "",
        "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": null
    });
    for (k, v) in fields.as_object().expect("object") {
        e[k] = v.clone();
    }
    e
}

#[test]
fn no_flags_send_what_the_docker_cli_sends() {
    let r = request(&[]).expect("valid");
    let fixture: Value = serde_json::from_str(include_str!(
        "../../../../../tests/fixtures/docker-cli-28-create.json"
    ))
    .expect("fixture");
    let got = network_parts(&r);
    assert_eq!(got["NetworkingConfig"], fixture["NetworkingConfig"]);
    for (k, v) in got["HostConfig"].as_object().expect("object") {
        assert_eq!(v, &fixture["HostConfig"][k], "HostConfig.{k}");
    }
    assert_eq!(got["Hostname"], fixture["Hostname"]);
    assert_eq!(got["Domainname"], fixture["Domainname"]);
    assert!(got.get("ExposedPorts").is_none() && fixture.get("ExposedPorts").is_none());
    assert!(got.get("MacAddress").is_none() && fixture.get("MacAddress").is_none());
}

#[test]
fn ports_dns_and_hosts_as_the_docker_cli_sends_them() {
    let r = request(&[
        "-p",
        "8080:80",
        "-p",
        "127.0.0.1:53:53/udp",
        "-p",
        "[::1]:9000-9001:90-91",
        "-p",
        "published=7070,target=70",
        "--expose",
        "7000-7001",
        "--expose",
        "80/TCP",
        "-P",
        "-h",
        "web",
        "--domainname",
        "example.org",
        "--dns",
        "8.8.8.8",
        "--dns",
        " ::ffff:1.2.3.4",
        "--dns-search",
        "example.com.",
        "--dns-option",
        "ndots:2",
        "--add-host",
        "db=[::1]",
        "--add-host",
        "gw:host-gateway",
    ])
    .expect("valid");
    let want = json!({
        "Hostname": "web", "Domainname": "example.org",
        "ExposedPorts": {"53/udp": {}, "70/tcp": {}, "7000/tcp": {}, "7001/tcp": {},
            "80/TCP": {}, "80/tcp": {}, "90/tcp": {}, "91/tcp": {}},
        "HostConfig": {"NetworkMode": "default",
            "PortBindings": {"53/udp": [{"HostIp": "127.0.0.1", "HostPort": "53"}],
                "70/tcp": [{"HostIp": "", "HostPort": "7070"}],
                "80/tcp": [{"HostIp": "", "HostPort": "8080"}],
                "90/tcp": [{"HostIp": "::1", "HostPort": "9000"}],
                "91/tcp": [{"HostIp": "::1", "HostPort": "9001"}]},
            "PublishAllPorts": true, "Links": null, "Dns": ["8.8.8.8", "1.2.3.4"],
            "DnsOptions": ["ndots:2"], "DnsSearch": ["example.com"],
            "ExtraHosts": ["db:::1", "gw:host-gateway"]},
        "NetworkingConfig": {"EndpointsConfig": {"default": endpoint_json(json!({}))}}
    });
    assert_eq!(network_parts(&r), want);
}

#[test]
fn endpoint_flags_go_to_the_named_network() {
    let mut r = request(&[
        "--network",
        "n1",
        "--network-alias",
        "a",
        "--net-alias",
        "b",
        "--ip",
        "10.0.0.5",
        "--ip6",
        "fd00::5",
        "--mac-address",
        "92:d0:c6:0a:29:33",
        "--link-local-ip",
        "169.254.1.1",
        "--link",
        "db:database",
        "--link",
        "cache",
    ])
    .expect("valid");
    // For daemons below 1.44, the MAC address is in `Config` too; gone from 1.44.
    assert_eq!(r.config.mac_address, "92:d0:c6:0a:29:33");
    for_version(&mut r, ApiVersion(1, 50)).expect("1.50");
    let want = json!({
        "Hostname": "", "Domainname": "",
        "HostConfig": {"NetworkMode": "n1", "PortBindings": {}, "PublishAllPorts": false,
            "Links": ["db:database", "cache"], "Dns": [], "DnsOptions": [], "DnsSearch": [],
            "ExtraHosts": null},
        "NetworkingConfig": {"EndpointsConfig": {"n1": endpoint_json(json!({
            "IPAMConfig": {"IPv4Address": "10.0.0.5", "IPv6Address": "fd00::5",
                "LinkLocalIPs": ["169.254.1.1"]},
            "Links": ["db:database", "cache"], "Aliases": ["a", "b"],
            "MacAddress": "92:d0:c6:0a:29:33"}))}}
    });
    assert_eq!(network_parts(&r), want);
    // A per-network MAC address needs API 1.44.
    let mut r = request(&["--network", "n1", "--mac-address", "92:d0:c6:0a:29:33"]).expect("ok");
    let e = for_version(&mut r, ApiVersion(1, 43)).expect_err("1.43");
    assert!(
        e.message.contains("requires API version 1.44"),
        "{}",
        e.message
    );
}

#[test]
fn one_network_without_settings_sends_no_endpoint() {
    for net in ["n1", "host", "container:x"] {
        let r = request(&["--net", net]).expect("valid");
        let parts = network_parts(&r);
        assert_eq!(parts["HostConfig"]["NetworkMode"], net);
        assert_eq!(parts["NetworkingConfig"], json!({"EndpointsConfig": {}}));
    }
    // On the default bridge `--link` is a legacy link only, not an endpoint setting.
    let r = request(&["--network", "bridge", "--link", "db"]).expect("valid");
    let parts = network_parts(&r);
    assert_eq!(parts["HostConfig"]["Links"], json!(["db"]));
    assert_eq!(parts["NetworkingConfig"], json!({"EndpointsConfig": {}}));
}

#[test]
fn network_long_form_several_networks() {
    let r = request(&[
        "--network",
        "name=N1,alias=X,driver-opt=K=V,gw-priority=3,ip=10.1.0.2",
        "--network",
        "n2",
    ])
    .expect("valid");
    let parts = network_parts(&r);
    // Names and values lower-cased, as docker does.
    assert_eq!(parts["HostConfig"]["NetworkMode"], "n1");
    let want = json!({"EndpointsConfig": {
        "n1": endpoint_json(json!({"IPAMConfig": {"IPv4Address": "10.1.0.2"},
            "Aliases": ["x"], "DriverOpts": {"k": "v"}, "GwPriority": 3})),
        "n2": endpoint_json(json!({})),
    }});
    assert_eq!(parts["NetworkingConfig"], want);
}

#[test]
fn errors_worded_as_the_docker_cli() {
    for (args, message) in [
        (&["-p", "80/Foo"][..], "invalid proto: Foo"),
        (
            &["-p", "1.2.3.4.5:80:80/x"],
            "invalid IP address: 1.2.3.4.5",
        ),
        (
            &["-p", "published=80,target"],
            "invalid publish opts format (should be name=value but got 'target')",
        ),
        (
            &["--expose", "80:80"],
            "invalid port format for --expose: 80:80",
        ),
        (
            &["--expose", "90-80"],
            "invalid range format for --expose: 90-80, error: invalid range specified for \
             port: 90-80",
        ),
        (
            &["--link", "a:b:c"],
            "invalid argument \"a:b:c\" for \"--link\" flag: bad format for links: a:b:c",
        ),
        (
            &["--dns", "x"],
            "invalid argument \"x\" for \"--dns\" flag: IP address is not correctly \
             formatted: x",
        ),
        (
            &["--dns-search=-x"],
            "invalid argument \"-x\" for \"--dns-search\" flag: -x is not a valid domain",
        ),
        (
            &["--add-host", "x"],
            "invalid argument \"x\" for \"--add-host\" flag: bad format for add-host: \"x\"",
        ),
        (
            &["--add-host", "x:y"],
            "invalid argument \"x:y\" for \"--add-host\" flag: invalid IP address in \
             add-host: \"y\"",
        ),
        (&["--mac-address", "zz"], "zz is not a valid mac address"),
        (
            &["--network-alias", "a"],
            "network-scoped aliases are only supported for user-defined networks",
        ),
        (
            &["--network", "n1", "--network", "n1"],
            "network \"n1\" is specified multiple times",
        ),
        (
            &["--network", "n1", "--network", "host"],
            "conflicting options: cannot attach both user-defined and non-user-defined \
             network-modes",
        ),
        (
            &["--network", "name=a,foo=b"],
            "invalid argument \"name=a,foo=b\" for \"--network\" flag: invalid field key foo",
        ),
        (
            &["--network", "name=a,gw-priority=x"],
            "invalid argument \"name=a,gw-priority=x\" for \"--network\" flag: invalid \
             gw-priority (x): invalid syntax",
        ),
        (
            &["--network", "alias=x"],
            "invalid argument \"alias=x\" for \"--network\" flag: network name/id is not \
             specified",
        ),
        (
            &["--network", "name=a,driver-opt=x"],
            "invalid argument \"name=a,driver-opt=x\" for \"--network\" flag: invalid key \
             value pair format in driver options",
        ),
        (
            &["--network", "name=a,alias=x", "--network-alias", "y"],
            "conflicting options: cannot specify both --network-alias and per-network alias",
        ),
    ] {
        let e = request(args).expect_err(&format!("{args:?}"));
        assert_eq!(e.code, 125);
        assert_eq!(e.message, message, "{args:?}");
    }
}

#[test]
fn mac_addresses_as_go_reads_them() {
    for ok in [
        "92:d0:c6:0a:29:33",
        "92-D0-C6-0A-29-33",
        "92d0.c60a.2933",
        "00:00:00:00:fe:80:00:00",
    ] {
        assert!(is_mac(ok), "{ok}");
    }
    for bad in [
        "92:d0:c6:0a:29",
        "92:d0-c6:0a:29:33",
        "92:d0:c6:0a:29:3g",
        "92d0c60a2933",
        "",
    ] {
        assert!(!is_mac(bad), "{bad}");
    }
}

#[test]
fn flag_values_checked_as_docker_checks_them() {
    assert_eq!(validate_dns_search("."), Ok(".".into()));
    assert_eq!(validate_dns_search(" a.b-c.com. "), Ok("a.b-c.com".into()));
    assert!(validate_dns_search("123").is_err());
    assert!(validate_dns_search("a..b").is_err());
    assert_eq!(validate_extra_host("h:::1"), Ok("h:::1".into()));
    assert_eq!(validate_extra_host("h=1.2.3.4"), Ok("h:1.2.3.4".into()));
    assert!(validate_extra_host("=1.2.3.4").is_err());
    assert_eq!(validate_link("/a:/b/c"), Ok("/a:/b/c".into()));
    assert_eq!(
        csv_fields(r#"name=a,"alias=x,y",ip=1"#),
        Ok(vec!["name=a".into(), "alias=x,y".into(), "ip=1".into()])
    );
    assert!(csv_fields(r#"name=a"b"#).is_err());
    // A bare name is a name, whatever it holds.
    assert_eq!(
        parse_network_opt("container:x").map(|a| a.target),
        Ok("container:x".into())
    );
}
