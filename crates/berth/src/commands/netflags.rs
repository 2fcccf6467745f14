//! The network flags of `create` and `run` ([`NetworkFlags`]): `--network` (also its
//! `name=...,alias=...` form, several times), `--network-alias`, `--ip`, `--ip6`,
//! `--link`, `--link-local-ip`, `--mac-address`, `-p`, `-P`, `--expose`, `--hostname`,
//! `--domainname`, `--add-host`, `--dns*`; [`NetworkFlags::apply`] puts them in the
//! request as the docker CLI 28 does (`cli/command/container/opts.go`: `parse` and
//! `parseNetworkOpts`), with its checks and messages.

use std::collections::BTreeMap;
use std::net::IpAddr;

use berth_client::models::ports::{parse_expose, parse_port_specs, standard_notation};
use berth_client::models::{
    ApiVersion, ContainerConfig, CreateRequest, EndpointIpamConfig, EndpointSettings, HostConfig,
    NetworkingConfig, PortMap,
};
use clap::Args;
use serde_json::Value;

use crate::exit::{Exit, fail};

/// The network flags shared by `create` and `run`.
#[derive(Args, Debug, Clone, Default)]
pub struct NetworkFlags {
    /// Connect a container to a network (NAME, or name=NAME,alias=A,ip=IP,...).
    #[arg(long = "network", alias = "net")]
    pub network: Vec<String>,
    /// Add network-scoped alias for the container.
    #[arg(long = "network-alias", alias = "net-alias")]
    pub aliases: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104).
    #[arg(long)]
    pub ip: Option<String>,
    /// IPv6 address (e.g., 2001:db8::33).
    #[arg(long)]
    pub ip6: Option<String>,
    /// Add link to another container.
    #[arg(long = "link")]
    pub links: Vec<String>,
    /// Container IPv4/IPv6 link-local addresses.
    #[arg(long = "link-local-ip")]
    pub link_local_ips: Vec<String>,
    /// Container MAC address (e.g., 92:d0:c6:0a:29:33).
    #[arg(long = "mac-address")]
    pub mac_address: Option<String>,
    /// Publish a container's port(s) to the host.
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports.
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Expose a port or a range of ports.
    #[arg(long)]
    pub expose: Vec<String>,
    /// Container host name.
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Container NIS domain name.
    #[arg(long)]
    pub domainname: Option<String>,
    /// Add a custom host-to-IP mapping (host:ip).
    #[arg(long = "add-host")]
    pub add_host: Vec<String>,
    /// Set custom DNS servers.
    #[arg(long)]
    pub dns: Vec<String>,
    /// Set custom DNS search domains.
    #[arg(long = "dns-search")]
    pub dns_search: Vec<String>,
    /// Set DNS options.
    #[arg(long = "dns-option", alias = "dns-opt")]
    pub dns_option: Vec<String>,
}

/// pflag's message for a value its flag's parser refused.
fn bad_flag(flag: &str, value: &str, why: impl std::fmt::Display) -> Exit {
    fail(
        125,
        format!("invalid argument {value:?} for {flag:?} flag: {why}"),
    )
}

impl NetworkFlags {
    /// Fill `config` (`Hostname`, `Domainname`, `ExposedPorts`, `MacAddress`) and `host`
    /// (`NetworkMode`, `PortBindings`, `PublishAllPorts`, `Links`, `Dns*`, `ExtraHosts`)
    /// and give the `NetworkingConfig`, as the docker CLI builds them.
    pub fn apply(
        &self,
        config: &mut ContainerConfig,
        host: &mut HostConfig,
    ) -> Result<NetworkingConfig, Exit> {
        // The flags' own parsers first, as pflag runs them while reading the line.
        let links = self
            .links
            .iter()
            .map(|l| validate_link(l).map_err(|e| bad_flag("--link", l, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let dns = self
            .dns
            .iter()
            .map(|d| validate_ip_address(d).map_err(|e| bad_flag("--dns", d, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let dns_search = self
            .dns_search
            .iter()
            .map(|d| validate_dns_search(d).map_err(|e| bad_flag("--dns-search", d, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let extra_hosts = self
            .add_host
            .iter()
            .map(|h| validate_extra_host(h).map_err(|e| bad_flag("--add-host", h, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let networks = self
            .network
            .iter()
            .map(|n| parse_network_opt(n).map_err(|e| bad_flag("--network", n, e)))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(mac) = self
            .mac_address
            .as_deref()
            .filter(|m| !m.is_empty() && !is_mac(m.trim()))
        {
            return Err(fail(125, format!("{mac} is not a valid mac address")));
        }
        let specs = standard_notation(&self.publish)
            .and_then(|s| parse_port_specs(&s))
            .map_err(|e| fail(125, e.to_string()))?;
        let mut exposed = specs.exposed;
        exposed.extend(parse_expose(&self.expose).map_err(|e| fail(125, e.to_string()))?);

        config.hostname = self.hostname.clone().unwrap_or_default();
        config.domainname = self.domainname.clone().unwrap_or_default();
        config.exposed_ports = (!exposed.is_empty()).then(|| {
            exposed
                .into_iter()
                .map(|p| (p, Value::Object(serde_json::Map::new())))
                .collect()
        });
        let port_bindings: PortMap = specs
            .bindings
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect();
        host.port_bindings = Some(port_bindings);
        host.links = (!links.is_empty()).then(|| links.clone());
        host.publish_all_ports = self.publish_all;
        // Never null, as the docker CLI sends them.
        host.dns = Some(dns);
        host.dns_search = Some(dns_search);
        host.dns_options = Some(self.dns_option.clone());
        host.extra_hosts = (!extra_hosts.is_empty()).then_some(extra_hosts);
        host.network_mode = networks
            .first()
            .map_or_else(|| "default".to_string(), |n| n.target.clone());

        let endpoints = self.endpoints(networks, &links)?;
        // The main network's MAC address in `Config` too, for daemons below API 1.44
        // (cleared for newer ones by `for_version`).
        if let Some(ep) = endpoints.get(network_name(&host.network_mode)) {
            config.mac_address = ep.mac_address.clone();
        }
        Ok(NetworkingConfig {
            endpoints_config: Some(endpoints),
        })
    }

    /// The docker CLI's `parseNetworkOpts`: an endpoint per `--network` (the first one
    /// takes `--network-alias`, `--ip`...; left out when it has no settings and is the
    /// only one), or one for `default` without `--network`.
    fn endpoints(
        &self,
        networks: Vec<Attachment>,
        links: &[String],
    ) -> Result<BTreeMap<String, EndpointSettings>, Exit> {
        let mut out = BTreeMap::new();
        if networks.is_empty() {
            let mut n = Attachment {
                target: "default".into(),
                ..Attachment::default()
            };
            self.apply_to(&mut n, links)?;
            out.insert(n.target.clone(), endpoint(&n)?);
        }
        let (mut user_defined, mut other) = (false, false);
        let only_one = networks.len() == 1;
        for (i, mut n) in networks.into_iter().enumerate() {
            if is_user_defined(&n.target) {
                user_defined = true;
            } else {
                other = true;
            }
            if i == 0 {
                self.apply_to(&mut n, links)?;
            }
            let ep = endpoint(&n)?;
            if out.contains_key(&n.target) {
                return Err(fail(
                    125,
                    format!("network {:?} is specified multiple times", n.target),
                ));
            }
            if i == 0 && only_one && ep == EndpointSettings::default() {
                continue;
            }
            out.insert(n.target, ep);
        }
        if user_defined && other {
            return Err(fail(
                125,
                "conflicting options: cannot attach both user-defined and non-user-defined \
                 network-modes",
            ));
        }
        Ok(out)
    }

    /// The docker CLI's `applyContainerOptions`: `--network-alias`, `--link` (an alias on
    /// a user-defined network, a legacy link otherwise), `--ip`, `--ip6`,
    /// `--mac-address`, `--link-local-ip` on the first network, unless it sets its own.
    fn apply_to(&self, n: &mut Attachment, links: &[String]) -> Result<(), Exit> {
        let conflict = |what: &str| {
            fail(
                125,
                format!("conflicting options: cannot specify both {what}"),
            )
        };
        let (ip, ip6) = (
            self.ip.as_deref().unwrap_or(""),
            self.ip6.as_deref().unwrap_or(""),
        );
        let mac = self.mac_address.as_deref().unwrap_or("");
        if !n.aliases.is_empty() && !self.aliases.is_empty() {
            return Err(conflict("--network-alias and per-network alias"));
        }
        if !n.links.is_empty() && !links.is_empty() {
            return Err(conflict("--link and per-network links"));
        }
        if !n.ipv4.is_empty() && !ip.is_empty() {
            return Err(conflict("--ip and per-network IPv4 address"));
        }
        if !n.ipv6.is_empty() && !ip6.is_empty() {
            return Err(conflict("--ip6 and per-network IPv6 address"));
        }
        if !n.mac.is_empty() && !mac.is_empty() {
            return Err(conflict("--mac-address and per-network MAC address"));
        }
        if !n.link_local_ips.is_empty() && !self.link_local_ips.is_empty() {
            return Err(conflict(
                "--link-local-ip and per-network link-local IP addresses",
            ));
        }
        if !self.aliases.is_empty() {
            n.aliases = self.aliases.clone();
        }
        if is_user_defined(&n.target) && !links.is_empty() {
            n.links = links.to_vec();
        }
        if !ip.is_empty() {
            n.ipv4 = ip.to_string();
        }
        if !ip6.is_empty() {
            n.ipv6 = ip6.to_string();
        }
        if !mac.is_empty() {
            n.mac = mac.to_string();
        }
        if !self.link_local_ips.is_empty() {
            n.link_local_ips = self.link_local_ips.clone();
        }
        Ok(())
    }
}

/// What the docker CLI's client changes in a create request for the API version in use:
/// the container-wide `MacAddress` is dropped from 1.44 (the endpoint's is read), and a
/// per-network MAC address cannot be sent below it.
pub fn for_version(req: &mut CreateRequest, v: ApiVersion) -> Result<(), Exit> {
    const PER_NETWORK_MAC: ApiVersion = ApiVersion(1, 44);
    if v >= PER_NETWORK_MAC {
        req.config.mac_address.clear();
        return Ok(());
    }
    let endpoint_mac = req
        .networking_config
        .as_ref()
        .and_then(|n| n.endpoints_config.as_ref())
        .is_some_and(|eps| eps.values().any(|e| !e.mac_address.is_empty()));
    if endpoint_mac {
        return Err(fail(
            125,
            format!(
                "\"specify mac-address per network\" requires API version \
                 {PER_NETWORK_MAC}, but the Berth daemon API version is {v}"
            ),
        ));
    }
    Ok(())
}

/// One `--network` (docker's `NetworkAttachmentOpts`).
#[derive(Debug, Clone, Default, PartialEq)]
struct Attachment {
    target: String,
    aliases: Vec<String>,
    driver_opts: BTreeMap<String, String>,
    links: Vec<String>,
    ipv4: String,
    ipv6: String,
    link_local_ips: Vec<String>,
    mac: String,
    gw_priority: i64,
}

/// `default`, `bridge`, `host`, `none` and `container:...` are not user-defined.
fn is_user_defined(mode: &str) -> bool {
    !matches!(mode, "default" | "bridge" | "host" | "none") && !mode.starts_with("container:")
}

/// The name a network mode's endpoint is filed under (`container:x` → `container`).
fn network_name(mode: &str) -> &str {
    if mode.starts_with("container:") {
        "container"
    } else {
        mode
    }
}

/// The docker CLI's `parseNetworkAttachmentOpt`: the endpoint settings of one network.
fn endpoint(n: &Attachment) -> Result<EndpointSettings, Exit> {
    let err = |m: String| fail(125, m);
    if n.target.trim().is_empty() {
        return Err(err("no name set for network".into()));
    }
    if !is_user_defined(&n.target) {
        if !n.aliases.is_empty() {
            return Err(err(
                "network-scoped aliases are only supported for user-defined networks".into(),
            ));
        }
        if !n.links.is_empty() {
            return Err(err(
                "links are only supported for user-defined networks".into()
            ));
        }
    }
    if !n.mac.is_empty() && !is_mac(n.mac.trim()) {
        return Err(err(format!("{} is not a valid mac address", n.mac)));
    }
    let some = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    let addresses = !n.ipv4.is_empty() || !n.ipv6.is_empty() || !n.link_local_ips.is_empty();
    Ok(EndpointSettings {
        ipam_config: addresses.then(|| EndpointIpamConfig {
            ipv4_address: n.ipv4.clone(),
            ipv6_address: n.ipv6.clone(),
            link_local_ips: some(&n.link_local_ips),
        }),
        links: some(&n.links),
        aliases: some(&n.aliases),
        mac_address: n.mac.clone(),
        driver_opts: (!n.driver_opts.is_empty()).then(|| n.driver_opts.clone()),
        gw_priority: n.gw_priority,
        ..EndpointSettings::default()
    })
}

/// One `--network` value (docker's `NetworkOpt.Set`): a name, or, when it holds a
/// `word=word`, comma-separated fields (read as CSV and lower-cased, as docker does)
/// `name`, `alias`, `ip`, `ip6`, `mac-address`, `link-local-ip`, `driver-opt`,
/// `gw-priority`.
fn parse_network_opt(value: &str) -> Result<Attachment, String> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = value.as_bytes();
    let long = (1..bytes.len().saturating_sub(1))
        .any(|i| bytes[i] == b'=' && word(bytes[i - 1]) && word(bytes[i + 1]));
    if !long {
        return Ok(Attachment {
            target: value.to_string(),
            ..Attachment::default()
        });
    }
    let mut n = Attachment::default();
    for field in csv_fields(value)? {
        let lower = field.to_lowercase();
        let Some((key, val)) = lower.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(format!("invalid field {field}"));
        };
        let (key, val) = (key.trim(), val.trim().to_string());
        match key {
            "name" => n.target = val,
            "alias" => n.aliases.push(val),
            "ip" => n.ipv4 = val,
            "ip6" => n.ipv6 = val,
            "mac-address" => n.mac = val,
            "link-local-ip" => n.link_local_ips.push(val),
            "driver-opt" => {
                let (k, v) = val
                    .split_once('=')
                    .filter(|(k, _)| !k.is_empty())
                    .ok_or("invalid key value pair format in driver options")?;
                n.driver_opts
                    .insert(k.trim().to_string(), v.trim().to_string());
            }
            "gw-priority" => {
                n.gw_priority = val.parse().map_err(|e: std::num::ParseIntError| {
                    let why = match e.kind() {
                        std::num::IntErrorKind::PosOverflow
                        | std::num::IntErrorKind::NegOverflow => "value out of range",
                        _ => "invalid syntax",
                    };
                    format!("invalid gw-priority ({val}): {why}")
                })?;
            }
            _ => return Err(format!("invalid field key {key}")),
        }
    }
    if n.target.is_empty() {
        return Err("network name/id is not specified".into());
    }
    Ok(n)
}

/// One line of CSV as Go's `encoding/csv` reads it: fields split at commas, a field
/// starting with `"` quoted (`""` inside it is a quote).
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.char_indices().peekable();
    loop {
        let mut field = String::new();
        if chars.peek().is_some_and(|(_, c)| *c == '"') {
            chars.next();
            loop {
                match chars.next() {
                    Some((_, '"')) if chars.peek().is_some_and(|(_, c)| *c == '"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some((_, '"')) => break,
                    Some((_, c)) => field.push(c),
                    None => {
                        return Err(format!(
                            "parse error on line 1, column {}: extraneous or missing \" in \
                             quoted-field",
                            line.len() + 1
                        ));
                    }
                }
            }
            match chars.next() {
                None => {
                    out.push(field);
                    return Ok(out);
                }
                Some((_, ',')) => {}
                Some((i, _)) => {
                    return Err(format!(
                        "parse error on line 1, column {}: extraneous or missing \" in \
                         quoted-field",
                        i + 1
                    ));
                }
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        out.push(field);
                        return Ok(out);
                    }
                    Some((_, ',')) => break,
                    Some((i, '"')) => {
                        return Err(format!(
                            "parse error on line 1, column {}: bare \" in non-quoted-field",
                            i + 1
                        ));
                    }
                    Some((_, c)) => field.push(c),
                }
            }
        }
        out.push(field);
    }
}

/// The docker CLI's `ValidateIPAddress`: an address (spaces around it allowed), as Go
/// prints it (`::ffff:1.2.3.4` as `1.2.3.4`).
fn validate_ip_address(val: &str) -> Result<String, String> {
    match val.trim().parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => Ok(v6
            .to_ipv4_mapped()
            .map_or_else(|| v6.to_string(), |v4| v4.to_string())),
        Ok(ip) => Ok(ip.to_string()),
        Err(_) => Err(format!("IP address is not correctly formatted: {val}")),
    }
}

/// The docker CLI's `ValidateDNSSearch`: `.`, or a domain (a trailing dot dropped).
fn validate_dns_search(val: &str) -> Result<String, String> {
    let val = val.trim_matches(' ');
    if val == "." {
        return Ok(val.to_string());
    }
    let bad = || format!("{val} is not a valid domain");
    if !val.bytes().any(|b| b.is_ascii_alphabetic()) {
        return Err(bad());
    }
    let name = val.trim_end_matches(|c: char| c.is_ascii_whitespace());
    let name = name.strip_suffix('.').unwrap_or(name);
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    if name.len() < 255 && name.split('.').all(label_ok) {
        Ok(name.to_string())
    } else {
        Err(bad())
    }
}

/// The docker CLI's `ValidateExtraHost`: `host:ip`, `host=ip`, `host:[ip]` or
/// `host:host-gateway`, sent as `host:ip`.
fn validate_extra_host(val: &str) -> Result<String, String> {
    let (k, v) = val
        .split_once('=')
        .or_else(|| val.split_once(':'))
        .filter(|(k, _)| !k.is_empty() && !k.contains(':'))
        .ok_or_else(|| format!("bad format for add-host: {val:?}"))?;
    let mut v = v;
    if v != "host-gateway" {
        if v.len() > 2 && v.starts_with('[') && v.ends_with(']') {
            v = &v[1..v.len() - 1];
        }
        validate_ip_address(v).map_err(|_| format!("invalid IP address in add-host: {v:?}"))?;
    }
    Ok(format!("{k}:{v}"))
}

/// The docker CLI's `ValidateLink`: `name` or `name:alias`, kept as given.
pub fn validate_link(val: &str) -> Result<String, String> {
    if val.is_empty() {
        return Err("empty string specified for links".into());
    }
    if val.splitn(3, ':').count() > 2 {
        return Err(format!("bad format for links: {val}"));
    }
    Ok(val.to_string())
}

/// Go's `net.ParseMAC`: 6, 8 or 20 bytes as `xx:xx:..`, `xx-xx-..` or `xxxx.xxxx...`.
fn is_mac(s: &str) -> bool {
    let b = s.as_bytes();
    let hex = |p: &[u8]| p.len() == 2 && p.iter().all(u8::is_ascii_hexdigit);
    let sizes = [6, 8, 20];
    if b.len() < 14 {
        return false;
    }
    if b[2] == b':' || b[2] == b'-' {
        let sep = b[2] as char;
        (b.len() + 1).is_multiple_of(3)
            && sizes.contains(&((b.len() + 1) / 3))
            && s.split(sep).all(|p| hex(p.as_bytes()))
    } else if b[4] == b'.' {
        (b.len() + 1).is_multiple_of(5)
            && sizes.contains(&(2 * (b.len() + 1) / 5))
            && s.split('.')
                .all(|p| p.len() == 4 && hex(&p.as_bytes()[..2]) && hex(&p.as_bytes()[2..]))
    } else {
        false
    }
}

#[cfg(test)]
mod tests;
