//! Berth's firewall: one nftables table of its own, `inet berth`, and nothing else touched.
//!
//! The table's base chains hold static rules; everything per network or per container
//! lives in elements of sets and maps (and in per-network chains reached through verdict
//! maps), so each is added and removed exactly, without rule handles:
//!
//! - `bridges`: every Berth bridge (loopback martians from them are dropped);
//! - `fwd_out` / `fwd_in` (`ifname : verdict`): forwarded traffic to / from a bridge jumps
//!   to that network's `to-<bridge>` / `from-<bridge>` chain: isolation between bridges,
//!   `--internal` (nothing in or out but on its own bridge), replies and published ports;
//! - `masq4` / `masq6` (`subnet : verdict`, intervals): traffic from a network's subnet
//!   jumps to `nat-<bridge>`: masquerade out of other interfaces, and hairpin (a container
//!   reaching a published port of its own bridge);
//! - `ports4`, `ports4any`, `ports6`, `ports6any`: published ports as DNAT maps, keyed by
//!   host address (or any local address) . protocol . port, valued container address .
//!   port, each element commented `ctr=<id>`; applied in prerouting for traffic from
//!   elsewhere and in output for the host's own, 127.0.0.1 included (route_localnet on
//!   the bridge, masqueraded on the way out; packets from a bridge to 127/8 are dropped).
//!
//! The `user` chain is jumped to first in forward, as dockerd's DOCKER-USER: Berth creates
//! it and never flushes it. [`init_script`] is idempotent: at daemon start it re-creates
//! the base chains' rules and leaves sets, maps, network chains and the user chain alone,
//! so running containers keep their published ports. Scripts go to `nft -f -`, one atomic
//! transaction each (the [`Nft`] trait; [`NftCli`] runs the `nft` binary, [`FakeNft`]
//! records scripts).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use ipnet::IpNet;

use crate::ports::PortMap;

/// The table's family and name.
pub const TABLE: &str = "inet berth";

/// The table of a daemon whose table is named `name` (`berthd --firewall-table`).
pub fn table_of(name: &str) -> Result<String, FirewallError> {
    Ok(format!("inet {}", check_name(name)?))
}

/// A firewall change failed, or a name would not be safe in a script.
#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    #[error("running nft: {0}")]
    Spawn(std::io::Error),
    #[error("nft: {0}")]
    Nft(String),
    #[error("invalid name for a firewall rule: {0:?}")]
    InvalidName(String),
    #[error("port mapping mixes IPv4 and IPv6: {0:?}")]
    MixedFamilies(Box<PortMap>),
    #[error("reading nft's JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Applies nft scripts.
pub trait Nft: Send + Sync {
    /// Applies `script` as one transaction (all or nothing).
    fn apply(&self, script: &str) -> Result<(), FirewallError>;
    /// `nft -j list ...` of `what` (e.g. `table inet berth`).
    fn list_json(&self, what: &str) -> Result<String, FirewallError>;
}

/// The `nft` binary (in the network namespace at `netns` if given, through `nsenter`;
/// the daemon gives none).
#[derive(Debug, Clone, Default)]
pub struct NftCli {
    pub netns: Option<PathBuf>,
}

impl NftCli {
    fn command(&self) -> Command {
        match &self.netns {
            Some(ns) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net={}", ns.display())).arg("nft");
                c
            }
            None => Command::new("nft"),
        }
    }
}

impl Nft for NftCli {
    fn apply(&self, script: &str) -> Result<(), FirewallError> {
        let mut child = self
            .command()
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(FirewallError::Spawn)?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(script.as_bytes())
                .map_err(FirewallError::Spawn)?;
        }
        let out = child.wait_with_output().map_err(FirewallError::Spawn)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(FirewallError::Nft(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ))
        }
    }

    fn list_json(&self, what: &str) -> Result<String, FirewallError> {
        let out = self
            .command()
            .args(["-j", "list"])
            .args(what.split_whitespace())
            .output()
            .map_err(FirewallError::Spawn)?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(FirewallError::Nft(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ))
        }
    }
}

/// Records scripts instead of applying them.
#[derive(Debug, Default)]
pub struct FakeNft {
    pub scripts: Mutex<Vec<String>>,
}

impl Nft for FakeNft {
    fn apply(&self, script: &str) -> Result<(), FirewallError> {
        if let Ok(mut s) = self.scripts.lock() {
            s.push(script.to_string());
        }
        Ok(())
    }
    fn list_json(&self, _what: &str) -> Result<String, FirewallError> {
        Ok(r#"{"nftables": []}"#.into())
    }
}

/// A network's firewall view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRules {
    pub bridge: String,
    pub subnets: Vec<IpNet>,
    /// `--internal`: no traffic in or out except on its own bridge.
    pub internal: bool,
    /// Masquerade traffic that leaves the host (`com.docker.network.bridge.
    /// enable_ip_masquerade`, default true); without it only the hairpin is masqueraded.
    pub masquerade: bool,
}

fn check_name(s: &str) -> Result<&str, FirewallError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(s)
    } else {
        Err(FirewallError::InvalidName(s.to_string()))
    }
}

/// The script run at every daemon start: creates the table, its sets, maps and the user
/// chain if missing (never flushing them) and re-creates the base chains' rules.
pub fn init_script(t: &str) -> String {
    format!(
        "add table {t}
add chain {t} user
add set {t} bridges {{ type ifname; }}
add map {t} fwd_out {{ type ifname : verdict; }}
add map {t} fwd_in {{ type ifname : verdict; }}
add map {t} masq4 {{ type ipv4_addr : verdict; flags interval; }}
add map {t} masq6 {{ type ipv6_addr : verdict; flags interval; }}
add map {t} ports4 {{ type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }}
add map {t} ports4any {{ type inet_proto . inet_service : ipv4_addr . inet_service; }}
add map {t} ports6 {{ type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }}
add map {t} ports6any {{ type inet_proto . inet_service : ipv6_addr . inet_service; }}
add chain {t} ports
flush chain {t} ports
add rule {t} ports dnat ip to ip daddr . meta l4proto . th dport map @ports4
add rule {t} ports dnat ip to meta l4proto . th dport map @ports4any
add rule {t} ports dnat ip6 to ip6 daddr . meta l4proto . th dport map @ports6
add rule {t} ports dnat ip6 to meta l4proto . th dport map @ports6any
add chain {t} prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}
flush chain {t} prerouting
add rule {t} prerouting fib daddr type local jump ports
add chain {t} output {{ type nat hook output priority -100; policy accept; }}
flush chain {t} output
add rule {t} output fib daddr type local jump ports
add chain {t} postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}
flush chain {t} postrouting
add rule {t} postrouting oifname @bridges ip saddr 127.0.0.0/8 masquerade
add rule {t} postrouting ip saddr vmap @masq4
add rule {t} postrouting ip6 saddr vmap @masq6
add chain {t} raw {{ type filter hook prerouting priority raw; policy accept; }}
flush chain {t} raw
add rule {t} raw iifname @bridges ip daddr 127.0.0.0/8 drop
add chain {t} forward {{ type filter hook forward priority filter; policy accept; }}
flush chain {t} forward
add rule {t} forward jump user
add rule {t} forward oifname vmap @fwd_out
add rule {t} forward iifname vmap @fwd_in
"
    )
}

/// Removes the whole table (daemon shutdown with no container left running).
pub fn teardown_script(t: &str) -> String {
    format!("add table {t}\ndelete table {t}\n")
}

fn masq_map(net: &IpNet) -> &'static str {
    if net.addr().is_ipv4() {
        "masq4"
    } else {
        "masq6"
    }
}

/// Adds a network's chains and elements (idempotent). Run after [`init_script`], in a
/// transaction of its own (nft 1.0.6 refuses an interval element in the transaction that
/// creates its map).
pub fn network_add_script(t: &str, n: &NetworkRules) -> Result<String, FirewallError> {
    let br = check_name(&n.bridge)?;
    let mut s = String::new();
    for chain in ["to", "from", "nat"] {
        let _ = writeln!(
            s,
            "add chain {t} {chain}-{br}\nflush chain {t} {chain}-{br}"
        );
    }
    if n.internal {
        let _ = writeln!(
            s,
            "add rule {t} to-{br} iifname \"{br}\" accept\nadd rule {t} to-{br} drop"
        );
        let _ = writeln!(
            s,
            "add rule {t} from-{br} oifname \"{br}\" accept\nadd rule {t} from-{br} drop"
        );
    } else {
        let _ = writeln!(
            s,
            "add rule {t} to-{br} iifname \"{br}\" accept
add rule {t} to-{br} ct state established,related accept
add rule {t} to-{br} ct status dnat accept
add rule {t} to-{br} drop
add rule {t} from-{br} accept"
        );
        if n.masquerade {
            let _ = writeln!(s, "add rule {t} nat-{br} oifname != \"{br}\" masquerade");
        }
        let _ = writeln!(
            s,
            "add rule {t} nat-{br} oifname \"{br}\" ct status dnat masquerade"
        );
    }
    let _ = writeln!(s, "add element {t} bridges {{ \"{br}\" }}");
    let _ = writeln!(s, "add element {t} fwd_out {{ \"{br}\" : jump to-{br} }}");
    let _ = writeln!(s, "add element {t} fwd_in {{ \"{br}\" : jump from-{br} }}");
    if !n.internal {
        for net in &n.subnets {
            let _ = writeln!(
                s,
                "add element {t} {} {{ {} : jump nat-{br} }}",
                masq_map(net),
                net.trunc()
            );
        }
    }
    Ok(s)
}

/// Removes a network's elements and chains (idempotent: each element is added before it
/// is deleted, so a missing one is no error).
pub fn network_remove_script(t: &str, n: &NetworkRules) -> Result<String, FirewallError> {
    let br = check_name(&n.bridge)?;
    let mut s = String::new();
    for chain in ["to", "from", "nat"] {
        let _ = writeln!(s, "add chain {t} {chain}-{br}");
    }
    let mut elem = |set: &str, key: String, value: Option<String>| {
        let v = value.map(|v| format!(" : {v}")).unwrap_or_default();
        let _ = writeln!(
            s,
            "add element {t} {set} {{ {key}{v} }}\ndelete element {t} {set} {{ {key} }}"
        );
    };
    elem("bridges", format!("\"{br}\""), None);
    elem(
        "fwd_out",
        format!("\"{br}\""),
        Some(format!("jump to-{br}")),
    );
    elem(
        "fwd_in",
        format!("\"{br}\""),
        Some(format!("jump from-{br}")),
    );
    for net in &n.subnets {
        elem(
            masq_map(net),
            net.trunc().to_string(),
            Some(format!("jump nat-{br}")),
        );
    }
    for chain in ["to", "from", "nat"] {
        let _ = writeln!(
            s,
            "flush chain {t} {chain}-{br}\ndelete chain {t} {chain}-{br}"
        );
    }
    Ok(s)
}

/// The map and the element (key, value) of a published port.
fn port_element(p: &PortMap) -> Result<(&'static str, String, String), FirewallError> {
    let proto = p.proto.as_str();
    let value = format!("{} . {}", p.container_ip, p.container_port);
    let v6 = p.container_ip.is_ipv6();
    match p.host_ip {
        Some(h) if h.is_ipv6() != v6 => Err(FirewallError::MixedFamilies(Box::new(p.clone()))),
        Some(h) if !h.is_unspecified() => Ok((
            if v6 { "ports6" } else { "ports4" },
            format!("{h} . {proto} . {}", p.host_port),
            value,
        )),
        _ => Ok((
            if v6 { "ports6any" } else { "ports4any" },
            format!("{proto} . {}", p.host_port),
            value,
        )),
    }
}

/// Publishes a container's ports; each element is commented `ctr=<id>`.
pub fn publish_script(
    t: &str,
    container: &str,
    ports: &[PortMap],
) -> Result<String, FirewallError> {
    elements_script(t, container, ports, false)
}

/// Unpublishes exactly these ports (idempotent: each is added, then deleted).
pub fn unpublish_script(
    t: &str,
    container: &str,
    ports: &[PortMap],
) -> Result<String, FirewallError> {
    elements_script(t, container, ports, true)
}

fn elements_script(
    t: &str,
    container: &str,
    ports: &[PortMap],
    delete: bool,
) -> Result<String, FirewallError> {
    let id = check_name(container)?;
    let mut s = String::new();
    for p in ports {
        let (map, key, value) = port_element(p)?;
        let _ = writeln!(
            s,
            "add element {t} {map} {{ {key} comment \"ctr={id}\" : {value} }}"
        );
        if delete {
            let _ = writeln!(s, "delete element {t} {map} {{ {key} }}");
        }
    }
    Ok(s)
}

/// The maps of published ports.
const PORT_MAPS: [&str; 4] = ["ports4", "ports4any", "ports6", "ports6any"];

/// Every published port replaced by `published` (container id, its ports): one script,
/// so one transaction, in which the ports of the containers listed never go away.
pub fn republish_script(
    t: &str,
    published: &[(String, Vec<PortMap>)],
) -> Result<String, FirewallError> {
    let mut s = String::new();
    for map in PORT_MAPS {
        let _ = writeln!(s, "flush map {t} {map}");
    }
    for (id, ports) in published {
        s.push_str(&publish_script(t, id, ports)?);
    }
    Ok(s)
}

/// Berth's firewall over an [`Nft`].
pub struct Firewall<N: Nft> {
    nft: N,
    /// `inet <name>`: [`TABLE`] unless the daemon names its own.
    table: String,
}

impl<N: Nft> Firewall<N> {
    /// The firewall in Berth's table, [`TABLE`].
    pub fn new(nft: N) -> Self {
        Firewall {
            nft,
            table: TABLE.to_string(),
        }
    }

    /// The firewall in a table of this name (e.g. `berth` for `inet berth`), so that two
    /// daemons on one host (tests) never touch each other's rules.
    pub fn with_table(nft: N, name: &str) -> Result<Self, FirewallError> {
        Ok(Firewall {
            nft,
            table: table_of(name)?,
        })
    }

    /// `inet <name>`.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The [`Nft`] beneath.
    pub fn nft(&self) -> &N {
        &self.nft
    }

    /// At daemon start: see [`init_script`].
    pub fn init(&self) -> Result<(), FirewallError> {
        self.nft.apply(&init_script(&self.table))
    }

    /// Removes the table.
    pub fn teardown(&self) -> Result<(), FirewallError> {
        self.nft.apply(&teardown_script(&self.table))
    }

    pub fn add_network(&self, n: &NetworkRules) -> Result<(), FirewallError> {
        self.nft.apply(&network_add_script(&self.table, n)?)
    }

    pub fn remove_network(&self, n: &NetworkRules) -> Result<(), FirewallError> {
        self.nft.apply(&network_remove_script(&self.table, n)?)
    }

    pub fn publish(&self, container: &str, ports: &[PortMap]) -> Result<(), FirewallError> {
        if ports.is_empty() {
            return Ok(());
        }
        self.nft
            .apply(&publish_script(&self.table, container, ports)?)
    }

    pub fn unpublish(&self, container: &str, ports: &[PortMap]) -> Result<(), FirewallError> {
        if ports.is_empty() {
            return Ok(());
        }
        self.nft
            .apply(&unpublish_script(&self.table, container, ports)?)
    }

    /// Replaces every published port with `published` (see [`republish_script`]): at
    /// daemon start, what a crash left for containers that are gone goes.
    pub fn republish(&self, published: &[(String, Vec<PortMap>)]) -> Result<(), FirewallError> {
        self.nft.apply(&republish_script(&self.table, published)?)
    }

    /// The containers that have published ports in the table (for recovery: those of
    /// containers no longer running are unpublished).
    pub fn published_containers(
        &self,
    ) -> Result<std::collections::BTreeSet<String>, FirewallError> {
        let json: serde_json::Value =
            serde_json::from_str(&self.nft.list_json(&format!("table {}", self.table))?)?;
        let mut out = std::collections::BTreeSet::new();
        let items = json
            .get("nftables")
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default();
        for item in items {
            let Some(map) = item.get("map") else { continue };
            let elems = map
                .get("elem")
                .and_then(|e| e.as_array())
                .cloned()
                .unwrap_or_default();
            for e in elems {
                // An element with a comment is [{"elem": {"val": ..., "comment": "ctr=ID"}}, value].
                let comment = e
                    .as_array()
                    .and_then(|pair| pair.first())
                    .and_then(|k| k.get("elem"))
                    .and_then(|k| k.get("comment"))
                    .and_then(|c| c.as_str());
                if let Some(id) = comment.and_then(|c| c.strip_prefix("ctr=")) {
                    out.insert(id.to_string());
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Proto;

    fn net(b: &str, s: &str, internal: bool) -> NetworkRules {
        NetworkRules {
            bridge: b.into(),
            subnets: vec![s.parse().expect("net")],
            internal,
            masquerade: true,
        }
    }

    #[test]
    fn init_never_flushes_the_user_chain_sets_or_maps() {
        let s = init_script(TABLE);
        assert!(s.contains("add chain inet berth user\n"));
        for line in s
            .lines()
            .filter(|l| l.starts_with("flush") || l.starts_with("delete"))
        {
            let chain = line.rsplit(' ').next().unwrap_or("");
            assert!(
                [
                    "ports",
                    "prerouting",
                    "output",
                    "postrouting",
                    "raw",
                    "forward"
                ]
                .contains(&chain),
                "{line}"
            );
        }
        // The user chain comes before any verdict of Berth's in forward.
        let fwd: Vec<&str> = s
            .lines()
            .filter(|l| l.starts_with("add rule inet berth forward"))
            .collect();
        assert_eq!(fwd[0], "add rule inet berth forward jump user");
        // Nothing outside Berth's table.
        for line in s.lines() {
            assert!(line.contains(" inet berth"), "{line}");
        }
    }

    #[test]
    fn network_rules_golden() {
        let s = network_add_script(TABLE, &net("br-a1", "172.18.0.0/16", false)).expect("script");
        assert_eq!(
            s,
            "add chain inet berth to-br-a1\nflush chain inet berth to-br-a1
add chain inet berth from-br-a1\nflush chain inet berth from-br-a1
add chain inet berth nat-br-a1\nflush chain inet berth nat-br-a1
add rule inet berth to-br-a1 iifname \"br-a1\" accept
add rule inet berth to-br-a1 ct state established,related accept
add rule inet berth to-br-a1 ct status dnat accept
add rule inet berth to-br-a1 drop
add rule inet berth from-br-a1 accept
add rule inet berth nat-br-a1 oifname != \"br-a1\" masquerade
add rule inet berth nat-br-a1 oifname \"br-a1\" ct status dnat masquerade
add element inet berth bridges { \"br-a1\" }
add element inet berth fwd_out { \"br-a1\" : jump to-br-a1 }
add element inet berth fwd_in { \"br-a1\" : jump from-br-a1 }
add element inet berth masq4 { 172.18.0.0/16 : jump nat-br-a1 }
"
        );
        let internal =
            network_add_script(TABLE, &net("br-i", "10.5.0.0/24", true)).expect("script");
        assert!(internal.contains("add rule inet berth from-br-i oifname \"br-i\" accept\nadd rule inet berth from-br-i drop"));
        assert!(
            !internal.contains("masquerade"),
            "an internal network has no way out"
        );
        assert!(!internal.contains("masq4"));
        let unmasked = network_add_script(
            TABLE,
            &NetworkRules {
                masquerade: false,
                ..net("br-m", "10.6.0.0/24", false)
            },
        )
        .expect("script");
        assert!(
            !unmasked.contains("oifname != \"br-m\" masquerade"),
            "enable_ip_masquerade=false: nothing masqueraded out of the host"
        );
        assert!(
            unmasked.contains(
                "add rule inet berth nat-br-m oifname \"br-m\" ct status dnat masquerade"
            )
        );
        let rm =
            network_remove_script(TABLE, &net("br-a1", "172.18.0.0/16", false)).expect("script");
        assert!(rm.contains(
            "add element inet berth masq4 { 172.18.0.0/16 : jump nat-br-a1 }\ndelete element inet berth masq4 { 172.18.0.0/16 }"
        ));
        assert!(
            rm.ends_with("flush chain inet berth nat-br-a1\ndelete chain inet berth nat-br-a1\n")
        );
    }

    #[test]
    fn published_ports_golden() {
        let ports = [
            PortMap {
                host_ip: None,
                proto: Proto::Tcp,
                host_port: 8080,
                container_ip: "172.18.0.2".parse().expect("ip"),
                container_port: 80,
            },
            PortMap {
                host_ip: Some("127.0.0.1".parse().expect("ip")),
                proto: Proto::Udp,
                host_port: 5353,
                container_ip: "172.18.0.2".parse().expect("ip"),
                container_port: 53,
            },
            PortMap {
                host_ip: Some("::".parse().expect("ip")),
                proto: Proto::Tcp,
                host_port: 8080,
                container_ip: "fd00::2".parse().expect("ip"),
                container_port: 80,
            },
        ];
        assert_eq!(
            publish_script(TABLE, "abc123", &ports).expect("script"),
            "add element inet berth ports4any { tcp . 8080 comment \"ctr=abc123\" : 172.18.0.2 . 80 }
add element inet berth ports4 { 127.0.0.1 . udp . 5353 comment \"ctr=abc123\" : 172.18.0.2 . 53 }
add element inet berth ports6any { tcp . 8080 comment \"ctr=abc123\" : fd00::2 . 80 }
"
        );
        let un = unpublish_script(TABLE, "abc123", &ports[..1]).expect("script");
        assert!(
            un.ends_with("delete element inet berth ports4any { tcp . 8080 }\n"),
            "{un}"
        );
        // A sweep: every map emptied, then the live ports, in one script.
        let re =
            republish_script(TABLE, &[("abc123".into(), ports[..1].to_vec())]).expect("script");
        assert_eq!(
            re,
            "flush map inet berth ports4\nflush map inet berth ports4any\nflush map inet berth ports6\nflush map inet berth ports6any\n"
                .to_string()
                + &publish_script(TABLE, "abc123", &ports[..1]).expect("script")
        );
        let mixed = PortMap {
            host_ip: Some("127.0.0.1".parse().expect("ip")),
            ..ports[2].clone()
        };
        assert!(matches!(
            publish_script(TABLE, "x", &[mixed]),
            Err(FirewallError::MixedFamilies(_))
        ));
    }

    #[test]
    fn names_that_could_inject_are_refused() {
        assert!(matches!(
            network_add_script(TABLE, &net("br\" ; flush ruleset", "10.0.0.0/8", false)),
            Err(FirewallError::InvalidName(_))
        ));
        assert!(publish_script(TABLE, "a b", &[]).is_err());
    }

    /// An Nft answering `list` with what nft 1.0.6 printed for a table with two
    /// published ports.
    struct Listed;
    impl Nft for Listed {
        fn apply(&self, _: &str) -> Result<(), FirewallError> {
            Ok(())
        }
        fn list_json(&self, _: &str) -> Result<String, FirewallError> {
            Ok(r#"{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "berth", "handle": 1}}, {"map": {"family": "inet", "name": "ports4any", "table": "berth", "type": ["inet_proto", "inet_service"], "handle": 1, "map": "ipv4_addr . inet_service", "elem": [[{"elem": {"val": {"concat": ["tcp", 8080]}, "comment": "ctr=c1"}}, {"concat": ["10.0.0.2", 80]}]]}}, {"map": {"family": "inet", "name": "ports6", "table": "berth", "type": ["ipv6_addr", "inet_proto", "inet_service"], "handle": 2, "map": "ipv6_addr . inet_service", "elem": [[{"elem": {"val": {"concat": ["::1", "udp", 53]}, "comment": "ctr=c2"}}, {"concat": ["fd00::2", 53]}]]}}]}"#.into())
        }
    }

    #[test]
    fn published_containers_read_from_nft_json() {
        let fw = Firewall::new(Listed);
        let ids: Vec<String> = fw
            .published_containers()
            .expect("parse")
            .into_iter()
            .collect();
        assert_eq!(ids, vec!["c1".to_string(), "c2".to_string()]);
        assert!(
            Firewall::new(FakeNft::default())
                .published_containers()
                .expect("empty")
                .is_empty()
        );
    }

    #[test]
    fn firewall_sends_each_change_as_one_script() {
        let fw = Firewall::new(FakeNft::default());
        fw.init().expect("init");
        fw.add_network(&net("br-x", "10.1.0.0/24", false))
            .expect("net");
        fw.publish("c1", &[]).expect("nothing to publish");
        let scripts = fw.nft().scripts.lock().expect("lock").clone();
        assert_eq!(scripts.len(), 2);
        assert_eq!(scripts[0], init_script(TABLE));
    }
}
