//! `berth network create|ls|inspect|rm|prune|connect|disconnect`, with docker CLI 28's
//! flags, requests, output and exit codes (`cli/command/network/`). What the daemon does
//! not support it refuses; the CLI sends what the docker CLI sends.

use std::collections::BTreeMap;
use std::net::IpAddr;

use berth_client::Client;
use berth_client::models::{
    ConfigReference, EndpointIpamConfig, EndpointSettings, Ipam, IpamConfig, Network,
    NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
};
use clap::Args;
use serde::Serialize;

use super::inspect::{Typed, inspect_template, print_inspected};
use super::{confirmed, filters, print_rows, short_id};
use crate::exit::{CmdResult, Exit, fail};
use crate::format::natural_cmp;
use crate::units::go_time_rfc3339;

/// A Go boolean flag's value (`strconv.ParseBool`): `--internal`, `--internal=false`.
fn go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("strconv.ParseBool: parsing {s:?}: invalid syntax")),
    }
}

/// `berth network create`.
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Driver to manage the Network.
    #[arg(short = 'd', long, default_value = "bridge")]
    pub driver: String,
    /// Set driver specific options.
    #[arg(short = 'o', long = "opt")]
    pub opts: Vec<String>,
    /// Set metadata on a network.
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Restrict external access to the network.
    #[arg(long, value_parser = go_bool, num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true")]
    pub internal: bool,
    /// Enable or disable IPv4 address assignment (default true).
    #[arg(long, value_parser = go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub ipv4: Option<bool>,
    /// Enable or disable IPv6 address assignment.
    #[arg(long, value_parser = go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub ipv6: Option<bool>,
    /// Enable manual container attachment.
    #[arg(long, value_parser = go_bool, num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true")]
    pub attachable: bool,
    /// Create swarm routing-mesh network.
    #[arg(long, value_parser = go_bool, num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true")]
    pub ingress: bool,
    /// Control the network's scope.
    #[arg(long, default_value = "")]
    pub scope: String,
    /// Create a configuration only network.
    #[arg(long = "config-only", value_parser = go_bool, num_args = 0..=1,
          require_equals = true, default_value = "false", default_missing_value = "true")]
    pub config_only: bool,
    /// The network from which to copy the configuration.
    #[arg(long = "config-from", default_value = "")]
    pub config_from: String,
    /// IP Address Management Driver.
    #[arg(long = "ipam-driver", default_value = "default")]
    pub ipam_driver: String,
    /// Subnet in CIDR format that represents a network segment.
    #[arg(long = "subnet", value_delimiter = ',')]
    pub subnets: Vec<String>,
    /// Allocate container ip from a sub-range.
    #[arg(long = "ip-range", value_delimiter = ',')]
    pub ip_ranges: Vec<String>,
    /// IPv4 or IPv6 Gateway for the master subnet.
    #[arg(long = "gateway", value_delimiter = ',')]
    pub gateways: Vec<String>,
    /// Auxiliary IPv4 or IPv6 addresses used by Network driver.
    #[arg(long = "aux-address")]
    pub aux_addresses: Vec<String>,
    /// Set IPAM driver specific options.
    #[arg(long = "ipam-opt")]
    pub ipam_opts: Vec<String>,
    pub name: String,
}

/// `berth network ls`.
#[derive(Args, Debug)]
pub struct LsArgs {
    /// Provide filter values (e.g. "driver=bridge").
    #[arg(short = 'f', long = "filter")]
    pub filter: Vec<String>,
    /// Only display network IDs.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Do not truncate the output.
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go
    /// template.
    #[arg(long)]
    pub format: Option<String>,
}

/// `berth network inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Format output using a custom template ('json', or a Go template).
    #[arg(short = 'f', long)]
    pub format: Option<String>,
    /// Verbose output for diagnostics.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// `berth network rm`.
#[derive(Args, Debug)]
pub struct RmArgs {
    /// Do not error if the network does not exist.
    #[arg(short = 'f', long)]
    pub force: bool,
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// `berth network prune`.
#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Do not prompt for confirmation.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Provide filter values (e.g. "until=<timestamp>").
    #[arg(long = "filter")]
    pub filter: Vec<String>,
}

/// `berth network connect`.
#[derive(Args, Debug)]
pub struct ConnectArgs {
    /// IPv4 address (e.g., "172.30.100.104").
    #[arg(long, default_value = "")]
    pub ip: String,
    /// IPv6 address (e.g., "2001:db8::33").
    #[arg(long, default_value = "")]
    pub ip6: String,
    /// Add link to another container.
    #[arg(long = "link")]
    pub links: Vec<String>,
    /// Add network-scoped alias for the container.
    #[arg(long = "alias", value_delimiter = ',')]
    pub aliases: Vec<String>,
    /// Add a link-local address for the container.
    #[arg(long = "link-local-ip", value_delimiter = ',')]
    pub link_local_ips: Vec<String>,
    /// driver options for the network.
    #[arg(long = "driver-opt", value_delimiter = ',')]
    pub driver_opts: Vec<String>,
    /// Highest gw-priority provides the default gateway. Accepts positive and negative
    /// values.
    #[arg(long = "gw-priority", default_value_t = 0, allow_hyphen_values = true)]
    pub gw_priority: i64,
    pub network: String,
    pub container: String,
}

/// `berth network disconnect`.
#[derive(Args, Debug)]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network.
    #[arg(short = 'f', long)]
    pub force: bool,
    pub network: String,
    pub container: String,
}

/// `KEY=VALUE` flags as docker's `MapOpts` reads them (`KEY` alone: empty; last wins).
pub(super) fn map_opts(flags: &[String]) -> BTreeMap<String, String> {
    flags
        .iter()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// `--label`s, checked as docker's `ValidateLabel` checks them.
pub(super) fn labels(flags: &[String]) -> Result<BTreeMap<String, String>, Exit> {
    for l in flags {
        let key = l.split_once('=').map_or(l.as_str(), |(k, _)| k);
        let key = key.trim_start_matches([' ', '\t']);
        let why = if key.is_empty() {
            format!("invalid label '{l}': empty name")
        } else if key.contains([' ', '\t']) {
            format!("label '{key}' contains whitespaces")
        } else {
            continue;
        };
        return Err(fail(
            125,
            format!("invalid argument {l:?} for \"--label\" flag: {why}"),
        ));
    }
    Ok(map_opts(flags))
}

/// Go's `net.ParseCIDR`: the address as written and the prefix length.
fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, bits) = s.split_once('/')?;
    let ip: IpAddr = addr.parse().ok()?;
    if bits.is_empty() || !bits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((ip, bits))
}

/// Whether `ip` is in the network `(net, bits)`, as Go's `IPNet.Contains` (an
/// IPv4-mapped address is in IPv4 networks only).
fn contains((net, bits): (IpAddr, u8), ip: IpAddr) -> bool {
    let v4 = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match (net, v4(ip)) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// The docker CLI's `subnetMatches`: whether `data` (an address, or a CIDR whose address
/// is taken) is in `subnet`.
fn subnet_matches(subnet: &str, data: &str) -> Result<bool, String> {
    let net = parse_cidr(subnet)
        .ok_or_else(|| format!("invalid subnet: invalid CIDR address: {subnet}"))?;
    let ip = if data.contains('/') {
        Some(
            parse_cidr(data)
                .ok_or_else(|| format!("invalid CIDR address: {data}"))?
                .0,
        )
    } else {
        data.parse().ok()
    };
    Ok(ip.is_some_and(|ip| contains(net, ip)))
}

/// The docker CLI's `createIPAMConfig`: each `--ip-range`, `--gateway` and
/// `--aux-address` put with the `--subnet` it is in (in the order the subnets were
/// given), with its checks and messages.
fn ipam_config(a: &CreateArgs) -> Result<Vec<IpamConfig>, String> {
    if a.subnets.len() < a.ip_ranges.len() || a.subnets.len() < a.gateways.len() {
        return Err("every ip-range or gateway must have a corresponding subnet".into());
    }
    let mut pools: Vec<IpamConfig> = Vec::new();
    for s in &a.subnets {
        for k in &pools {
            if subnet_matches(s, &k.subnet)? || subnet_matches(&k.subnet, s)? {
                return Err("multiple overlapping subnet configuration is not supported".into());
            }
        }
        pools.push(IpamConfig {
            subnet: s.clone(),
            ..IpamConfig::default()
        });
    }
    for r in &a.ip_ranges {
        let mut matched = false;
        for p in pools.iter_mut() {
            if parse_cidr(r).is_none() {
                return Err(format!("invalid CIDR address: {r}"));
            }
            if !subnet_matches(&p.subnet, r)? {
                continue;
            }
            if !p.ip_range.is_empty() {
                return Err(format!(
                    "cannot configure multiple ranges ({r}, {}) on the same subnet ({})",
                    p.ip_range, p.subnet
                ));
            }
            p.ip_range = r.clone();
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for range {r}"));
        }
    }
    for g in &a.gateways {
        let mut matched = false;
        for p in pools.iter_mut() {
            if !subnet_matches(&p.subnet, g)? {
                continue;
            }
            if !p.gateway.is_empty() {
                return Err(format!(
                    "cannot configure multiple gateways ({g}, {}) for the same subnet ({})",
                    p.gateway, p.subnet
                ));
            }
            p.gateway = g.clone();
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for gateway {g}"));
        }
    }
    for (key, aa) in map_opts(&a.aux_addresses) {
        let mut matched = false;
        for p in pools.iter_mut() {
            if subnet_matches(&p.subnet, &aa)? {
                p.auxiliary_addresses
                    .get_or_insert_default()
                    .insert(key.clone(), aa.clone());
                matched = true;
            }
        }
        if !matched {
            return Err(format!("no matching subnet for aux-address {aa}"));
        }
    }
    Ok(pools)
}

/// The body of `POST /networks/create` for `berth network create`, as the docker CLI
/// builds it (`Options`, `Labels`, the IPAM's `Options` and `Config` always sent;
/// `EnableIPv4`/`EnableIPv6` only when their flag is given).
pub fn create_request(a: &CreateArgs) -> Result<NetworkCreateRequest, Exit> {
    let labels = labels(&a.labels)?;
    let config = ipam_config(a).map_err(|e| fail(1, e))?;
    Ok(NetworkCreateRequest {
        name: a.name.clone(),
        driver: a.driver.clone(),
        scope: a.scope.clone(),
        internal: a.internal,
        attachable: a.attachable,
        ingress: a.ingress,
        config_only: a.config_only,
        config_from: (!a.config_from.is_empty()).then(|| ConfigReference {
            network: a.config_from.clone(),
        }),
        ipam: Some(Ipam {
            driver: a.ipam_driver.clone(),
            config: Some(config),
            options: Some(map_opts(&a.ipam_opts)),
        }),
        enable_ipv4: a.ipv4,
        enable_ipv6: a.ipv6,
        options: Some(map_opts(&a.opts)),
        labels: Some(labels),
        check_duplicate: None,
    })
}

/// `berth network create [OPTIONS] NETWORK`: prints the new network's id.
pub async fn create(c: &Client, a: CreateArgs) -> CmdResult {
    let created = c.network_create(&create_request(&a)?).await?;
    println!("{}", created.id);
    Ok(0)
}

/// The docker CLI's network fields for `--format` (alphabetical, as its `{{json .}}`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Row {
    created_at: String,
    driver: String,
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "IPv4")]
    ipv4: String,
    #[serde(rename = "IPv6")]
    ipv6: String,
    internal: String,
    labels: String,
    name: String,
    scope: String,
}

impl Row {
    fn titles() -> Row {
        Row {
            created_at: "CREATED AT".into(),
            driver: "DRIVER".into(),
            id: "NETWORK ID".into(),
            ipv4: "IPV4".into(),
            ipv6: "IPV6".into(),
            internal: "INTERNAL".into(),
            labels: "LABELS".into(),
            name: "NAME".into(),
            scope: "SCOPE".into(),
        }
    }

    fn new(n: Network, no_trunc: bool) -> Row {
        let labels: Vec<String> = n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        Row {
            created_at: go_time_rfc3339(&n.created),
            driver: n.driver,
            id: short_id(&n.id, no_trunc),
            ipv4: n.enable_ipv4.to_string(),
            ipv6: n.enable_ipv6.to_string(),
            internal: n.internal.to_string(),
            labels: labels.join(","),
            name: n.name,
            scope: n.scope,
        }
    }
}

/// The format `network ls` prints with (the docker CLI's `NewFormat`): `-q` changes only
/// the `table` (IDs alone) and `raw` forms.
fn ls_format(format: Option<&str>, quiet: bool) -> String {
    match format.unwrap_or("") {
        "" | "table" if quiet => "{{.ID}}".into(),
        "" | "table" => "table {{.ID}}\\t{{.Name}}\\t{{.Driver}}\\t{{.Scope}}".into(),
        "raw" if quiet => "network_id: {{.ID}}".into(),
        "raw" => {
            "network_id: {{.ID}}\\nname: {{.Name}}\\ndriver: {{.Driver}}\\nscope: {{.Scope}}\\n"
                .into()
        }
        f => f.into(),
    }
}

/// `berth network ls [-q] [--no-trunc] [-f FILTER]... [--format F]`, by name in the
/// docker CLI's natural order.
pub async fn ls(c: &Client, a: LsArgs) -> CmdResult {
    let mut list = c.network_list(&filters(&a.filter)?).await?;
    list.sort_by(|x, y| natural_cmp(&x.name, &y.name));
    let rows: Vec<Row> = list.into_iter().map(|n| Row::new(n, a.no_trunc)).collect();
    let format = ls_format(a.format.as_deref(), a.quiet);
    print_rows(Some(&format), &format, &Row::titles(), &rows)
}

/// `berth network inspect [-f FORMAT] [-v] NETWORK...`: what was found, then the
/// daemon's errors for the rest (exit 1).
pub async fn inspect(c: &Client, a: InspectArgs) -> CmdResult {
    let template = inspect_template(a.format.as_deref())?;
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for name in &a.names {
        match c.network_inspect_with_raw(name, a.verbose).await {
            Ok((n, raw)) => found.push(Typed(n, raw)),
            Err(e) => errors.push(e.to_string()),
        }
    }
    print_inspected(a.format.as_deref(), template.as_ref(), &found, errors)
}

/// `berth network rm [-f] NETWORK...`: each name removed is printed; errors go to stderr
/// and the command ends with docker's `exit status 1`.
pub async fn rm(c: &Client, a: RmArgs) -> CmdResult {
    const INGRESS: &str = "WARNING! Before removing the routing-mesh network, make sure all \
        the nodes in your swarm run the same docker engine version. Otherwise, removal may \
        not be effective and functionality of newly create ingress networks will be impaired.";
    let mut failed = false;
    for name in &a.names {
        let ingress = c
            .network_inspect(name, false)
            .await
            .is_ok_and(|n| n.ingress);
        if ingress && !confirmed(false, INGRESS) {
            continue;
        }
        match c.network_remove(name).await {
            Ok(()) => println!("{name}"),
            Err(e) if a.force && e.is_not_found() => {}
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    if failed {
        return Err(fail(1, "exit status 1"));
    }
    Ok(0)
}

/// `berth network prune [-f] [--filter F]...`: asks first unless forced.
pub async fn prune(c: &Client, a: PruneArgs) -> CmdResult {
    let filters = filters(&a.filter)?;
    let warning = "WARNING! This will remove all custom networks not used by at least one \
        container.";
    if !confirmed(a.force, warning) {
        return Ok(0);
    }
    let deleted = c
        .network_prune(&filters)
        .await?
        .networks_deleted
        .unwrap_or_default();
    if !deleted.is_empty() {
        println!("Deleted Networks:");
        for n in deleted {
            println!("{n}");
        }
        println!();
    }
    Ok(0)
}

/// The body of `POST /networks/{id}/connect` for `berth network connect`, as the docker
/// CLI sends it (an `IPAMConfig`, `Aliases` and `DriverOpts` always present).
pub fn connect_request(a: &ConnectArgs) -> Result<NetworkConnectRequest, Exit> {
    for l in &a.links {
        if let Err(why) = super::netflags::validate_link(l) {
            return Err(fail(
                125,
                format!("invalid argument {l:?} for \"--link\" flag: {why}"),
            ));
        }
    }
    let mut driver_opts = BTreeMap::new();
    for o in &a.driver_opts {
        let (k, v) = o.split_once('=').unwrap_or((o, ""));
        if !o.contains('=') || k.trim().is_empty() {
            return Err(fail(1, "invalid key/value pair format in driver options"));
        }
        driver_opts.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(NetworkConnectRequest {
        container: a.container.clone(),
        endpoint_config: Some(EndpointSettings {
            ipam_config: Some(EndpointIpamConfig {
                ipv4_address: a.ip.clone(),
                ipv6_address: a.ip6.clone(),
                link_local_ips: (!a.link_local_ips.is_empty()).then(|| a.link_local_ips.clone()),
            }),
            links: (!a.links.is_empty()).then(|| a.links.clone()),
            aliases: Some(a.aliases.clone()),
            driver_opts: Some(driver_opts),
            gw_priority: a.gw_priority,
            ..EndpointSettings::default()
        }),
    })
}

/// `berth network connect [OPTIONS] NETWORK CONTAINER`.
pub async fn connect(c: &Client, a: ConnectArgs) -> CmdResult {
    c.network_connect(&a.network, &connect_request(&a)?).await?;
    Ok(0)
}

/// `berth network disconnect [-f] NETWORK CONTAINER`.
pub async fn disconnect(c: &Client, a: DisconnectArgs) -> CmdResult {
    let req = NetworkDisconnectRequest {
        container: a.container,
        force: a.force,
    };
    c.network_disconnect(&a.network, &req).await?;
    Ok(0)
}

#[cfg(test)]
mod tests;
