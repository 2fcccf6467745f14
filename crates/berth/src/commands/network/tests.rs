//! `berth network` against docker CLI 28.2.2: the request bodies, output and messages
//! below were captured from it (`docker network ...` against a fake daemon on a Unix
//! socket that logged each request and answered with the networks of `networks()`).

use clap::Parser;
use serde_json::{Value, json};

use super::*;
use crate::format::rows;

#[derive(Parser)]
struct Create {
    #[command(flatten)]
    a: CreateArgs,
}

#[derive(Parser)]
struct Connect {
    #[command(flatten)]
    a: ConnectArgs,
}

fn create(args: &[&str]) -> Result<NetworkCreateRequest, Exit> {
    let c = Create::try_parse_from(std::iter::once("create").chain(args.iter().copied()))
        .map_err(|e| fail(125, e.to_string()))?;
    create_request(&c.a)
}

/// A docker CLI body as Berth sends it: `ConfigFrom: null` is left out (the same to
/// the daemon).
fn docker_body(mut v: Value) -> Value {
    if v["ConfigFrom"].is_null() {
        v.as_object_mut().expect("object").remove("ConfigFrom");
    }
    v
}

#[test]
fn create_sends_what_the_docker_cli_sends() {
    let r = create(&["n1"]).expect("valid");
    let want = json!({"Driver": "bridge", "Scope": "", "IPAM": {"Driver": "default",
        "Options": {}, "Config": []}, "Internal": false, "Attachable": false,
        "Ingress": false, "ConfigOnly": false, "ConfigFrom": null, "Options": {},
        "Labels": {}, "Name": "n1"});
    assert_eq!(serde_json::to_value(&r).expect("json"), docker_body(want));

    let r = create(&[
        "-d",
        "macvlan",
        "--subnet",
        "10.1.0.0/16,fd00::/64",
        "--subnet",
        "10.2.0.0/24",
        "--gateway",
        "10.1.0.1",
        "--gateway",
        "fd00::1",
        "--ip-range",
        "10.1.1.0/24",
        "--aux-address",
        "a=10.1.0.5",
        "--aux-address",
        "b=10.2.0.9",
        "--internal",
        "--ipv6",
        "--ipv4=false",
        "--label",
        "k=v",
        "--label",
        "x",
        "-o",
        "com.docker.network.bridge.name=br9",
        "-o",
        "mtu",
        "--attachable",
        "--ipam-driver",
        "foo",
        "--ipam-opt",
        "o=1",
        "--scope",
        "local",
        "--config-only",
        "--config-from",
        "cfg",
        "--ingress",
        "n2",
    ])
    .expect("valid");
    let want = json!({"Driver": "macvlan", "Scope": "local", "EnableIPv4": false,
        "EnableIPv6": true, "IPAM": {"Driver": "foo", "Options": {"o": "1"}, "Config": [
            {"Subnet": "10.1.0.0/16", "IPRange": "10.1.1.0/24", "Gateway": "10.1.0.1",
             "AuxiliaryAddresses": {"a": "10.1.0.5"}},
            {"Subnet": "fd00::/64", "Gateway": "fd00::1"},
            {"Subnet": "10.2.0.0/24", "AuxiliaryAddresses": {"b": "10.2.0.9"}}]},
        "Internal": true, "Attachable": true, "Ingress": true, "ConfigOnly": true,
        "ConfigFrom": {"Network": "cfg"},
        "Options": {"com.docker.network.bridge.name": "br9", "mtu": ""},
        "Labels": {"k": "v", "x": ""}, "Name": "n2"});
    assert_eq!(serde_json::to_value(&r).expect("json"), docker_body(want));
}

#[test]
fn boolean_flags_take_go_values_and_leave_the_name_alone() {
    let r = create(&["--ipv6", "--internal=false", "--ipv4=0", "n"]).expect("valid");
    assert_eq!((r.enable_ipv4, r.enable_ipv6), (Some(false), Some(true)));
    assert!(!r.internal);
    assert_eq!(r.name, "n");
    assert!(create(&["--internal=maybe", "n"]).is_err());
}

#[test]
fn ipam_flags_checked_as_the_docker_cli() {
    for (args, msg, code) in [
        (
            &["--gateway", "10.0.0.1"][..],
            "every ip-range or gateway must have a corresponding subnet",
            1,
        ),
        (
            &["--subnet", "10.0.0.0/16", "--subnet", "10.0.1.0/24"],
            "multiple overlapping subnet configuration is not supported",
            1,
        ),
        (
            &["--subnet", "10.0.0.0/16", "--ip-range", "10.1.0.0/24"],
            "no matching subnet for range 10.1.0.0/24",
            1,
        ),
        (
            &[
                "--subnet",
                "10.0.0.0/16",
                "--ip-range",
                "10.0.1.0/24",
                "--ip-range",
                "10.0.2.0/24",
            ],
            "every ip-range or gateway must have a corresponding subnet",
            1,
        ),
        (
            &["--subnet", "10.0.0.0/16", "--gateway", "10.1.0.1"],
            "no matching subnet for gateway 10.1.0.1",
            1,
        ),
        (
            &["--subnet", "10.0.0.0/16", "--aux-address", "a=10.1.0.1"],
            "no matching subnet for aux-address 10.1.0.1",
            1,
        ),
        (
            &["--subnet", "10.0.0.0/16", "--ip-range", "nope"],
            "invalid CIDR address: nope",
            1,
        ),
        (
            &["--subnet", "10.0.0.0/16", "--gateway", "nope"],
            "no matching subnet for gateway nope",
            1,
        ),
        (
            &["--subnet", "10.0.0.0/16", "--subnet", "nope"],
            "invalid subnet: invalid CIDR address: nope",
            1,
        ),
        (
            &[
                "--subnet",
                "10.0.0.0/16,10.1.0.0/16",
                "--gateway",
                "10.0.0.1",
                "--gateway",
                "10.0.0.2",
            ],
            "cannot configure multiple gateways (10.0.0.2, 10.0.0.1) for the same subnet \
             (10.0.0.0/16)",
            1,
        ),
        (
            &["--label", "=x"],
            "invalid argument \"=x\" for \"--label\" flag: invalid label '=x': empty name",
            125,
        ),
        (
            &["--label", "a b=x"],
            "invalid argument \"a b=x\" for \"--label\" flag: label 'a b' contains \
             whitespaces",
            125,
        ),
    ] {
        let all: Vec<&str> = args.iter().copied().chain(["nn"]).collect();
        let e = create(&all).expect_err(&format!("{args:?}"));
        assert_eq!((e.message.as_str(), e.code), (msg, code), "{args:?}");
    }
    // One subnet, whatever it is, goes to the daemon to judge.
    assert!(create(&["--subnet", "nope", "nn"]).is_ok());
}

#[test]
fn subnets_hold_addresses_as_go_says() {
    assert_eq!(subnet_matches("10.0.0.0/8", "10.9.9.9"), Ok(true));
    assert_eq!(subnet_matches("10.0.0.0/8", "11.0.0.0/24"), Ok(false));
    assert_eq!(subnet_matches("10.0.0.0/8", "::ffff:10.0.0.1"), Ok(true));
    assert_eq!(subnet_matches("fd00::/64", "fd00::1"), Ok(true));
    assert_eq!(subnet_matches("fd00::/64", "10.0.0.1"), Ok(false));
    assert_eq!(subnet_matches("0.0.0.0/0", "1.2.3.4"), Ok(true));
    assert_eq!(subnet_matches("::ffff:0:0/96", "1.2.3.4"), Ok(false));
    assert!(subnet_matches("10.0.0.0/33", "10.0.0.1").is_err());
    assert!(subnet_matches("10.0.0.0/+8", "10.0.0.1").is_err());
}

/// The networks the fake daemon listed, in its order.
fn networks() -> Vec<Network> {
    serde_json::from_value(json!([
        {"Name": "n10", "Id": "aa".repeat(32), "Created": "2025-01-02T03:04:05.123456789Z",
         "Scope": "local", "Driver": "bridge", "EnableIPv4": true, "EnableIPv6": false,
         "Internal": false, "Labels": {"b": "2", "a": "1"}},
        {"Name": "bridge", "Id": "bb".repeat(32), "Created": "2025-01-01T00:00:00.5+01:00",
         "Scope": "local", "Driver": "bridge", "EnableIPv4": true, "EnableIPv6": true,
         "Internal": true, "Labels": {}},
        {"Name": "n2", "Id": "cc".repeat(32), "Created": "2025-01-03T00:00:00Z",
         "Scope": "local", "Driver": "null", "EnableIPv4": false, "EnableIPv6": false,
         "Internal": false, "Labels": null},
    ]))
    .expect("networks")
}

fn ls_output(format: Option<&str>, quiet: bool, no_trunc: bool) -> String {
    let mut list = networks();
    list.sort_by(|x, y| natural_cmp(&x.name, &y.name));
    let list: Vec<Row> = list.into_iter().map(|n| Row::new(n, no_trunc)).collect();
    let f = ls_format(format, quiet);
    rows(Some(&f), &f, &Row::titles(), &list).expect("rows")
}

#[test]
fn ls_prints_as_the_docker_cli() {
    assert_eq!(
        ls_output(None, false, false),
        "NETWORK ID     NAME      DRIVER    SCOPE\n\
         bbbbbbbbbbbb   bridge    bridge    local\n\
         cccccccccccc   n2        null      local\n\
         aaaaaaaaaaaa   n10       bridge    local\n"
    );
    assert_eq!(
        ls_output(None, true, false),
        "bbbbbbbbbbbb\ncccccccccccc\naaaaaaaaaaaa\n"
    );
    assert!(
        ls_output(Some("table"), false, true).contains(&format!("{}   bridge", "b".repeat(64)))
    );
    // Labels sorted here (Go prints them in map order).
    let json_lines = ls_output(Some("json"), false, false);
    assert_eq!(
        json_lines.lines().nth(2),
        Some(
            r#"{"CreatedAt":"2025-01-02 03:04:05.123456789 +0000 UTC","Driver":"bridge","ID":"aaaaaaaaaaaa","IPv4":"true","IPv6":"false","Internal":"false","Labels":"a=1,b=2","Name":"n10","Scope":"local"}"#
        )
    );
    assert_eq!(
        json_lines.lines().next(),
        Some(
            r#"{"CreatedAt":"2025-01-01 00:00:00.5 +0100 +0100","Driver":"bridge","ID":"bbbbbbbbbbbb","IPv4":"true","IPv6":"true","Internal":"true","Labels":"","Name":"bridge","Scope":"local"}"#
        )
    );
    // A template of its own is used with -q as well.
    assert_eq!(
        ls_output(Some("{{.Name}}"), true, false),
        "bridge\nn2\nn10\n"
    );
    assert_eq!(
        ls_output(Some("table {{.Name}}\\t{{.Internal}}"), false, false),
        "NAME      INTERNAL\nbridge    true\nn2        false\nn10       false\n"
    );
    assert_eq!(
        ls_output(Some("raw"), false, false),
        "network_id: bbbbbbbbbbbb\nname: bridge\ndriver: bridge\nscope: local\n\n\
         network_id: cccccccccccc\nname: n2\ndriver: null\nscope: local\n\n\
         network_id: aaaaaaaaaaaa\nname: n10\ndriver: bridge\nscope: local\n\n"
    );
}

#[test]
fn connect_sends_what_the_docker_cli_sends() {
    let req = |args: &[&str]| {
        let c = Connect::try_parse_from(
            std::iter::once("connect")
                .chain(args.iter().copied())
                .chain(["n1", "web"]),
        )
        .expect("flags");
        connect_request(&c.a)
    };
    let zeros = json!({"MacAddress": "", "NetworkID": "", "EndpointID": "", "Gateway": "",
        "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0, "DNSNames": null});
    let with = |fields: Value| {
        let mut e = zeros.clone();
        for (k, v) in fields.as_object().expect("object") {
            e[k] = v.clone();
        }
        json!({"Container": "web", "EndpointConfig": e})
    };
    let got = serde_json::to_value(req(&[]).expect("valid")).expect("json");
    assert_eq!(
        got,
        with(
            json!({"IPAMConfig": {}, "Links": null, "Aliases": [], "DriverOpts": {},
            "GwPriority": 0})
        )
    );
    let got = req(&[
        "--alias",
        "a,b",
        "--alias",
        "c",
        "--ip",
        "10.0.0.2",
        "--ip6",
        "fd00::2",
        "--link",
        "db:d",
        "--link-local-ip",
        "169.254.0.2",
        "--driver-opt",
        "K=V",
        "--gw-priority",
        "5",
    ])
    .expect("valid");
    assert_eq!(
        serde_json::to_value(got).expect("json"),
        with(
            json!({"IPAMConfig": {"IPv4Address": "10.0.0.2", "IPv6Address": "fd00::2",
            "LinkLocalIPs": ["169.254.0.2"]}, "Links": ["db:d"], "Aliases": ["a", "b", "c"],
            "DriverOpts": {"K": "V"}, "GwPriority": 5})
        )
    );
    let e = req(&["--driver-opt", "x"]).expect_err("bad");
    assert_eq!(
        (e.message.as_str(), e.code),
        ("invalid key/value pair format in driver options", 1)
    );
    let e = req(&["--link", "a:b:c"]).expect_err("bad");
    assert_eq!(e.code, 125);
    assert!(req(&["--gw-priority", "-3"]).is_ok());
}
