//! Ports as the docker CLI reads them (docker CLI 28 with go-connections 0.5's `nat`
//! package), with its error messages: `-p`/`--publish` specs ([`parse_port_specs`], the
//! long form `published=8080,target=80` through [`standard_notation`]), `--expose`
//! ([`parse_expose`]), `-P` ([`publish_all`]), port ranges ([`parse_port_range`]) and
//! [`Proto`].
//!
//! The results have the Engine API's shapes: ports keyed `"80/tcp"` (`Config.ExposedPorts`)
//! and [`PortBinding`]s `{"HostIp": "", "HostPort": "8080"}` (`HostConfig.PortBindings`; an
//! empty `HostPort` asks the daemon to pick one, `"8000-8010"` one in that range). Shared
//! by the CLI, which builds requests with them, and the daemon, which reads them back.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

pub use crate::container::PortBinding;

/// A `-p` spec or an `--expose` the docker CLI refuses, worded as it words it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PortSpecError {
    #[error("invalid IP address: {0}")]
    InvalidIp(String),
    /// `[addr]` that Go's `net.SplitHostPort` refuses: the address and its reason.
    #[error("invalid IP address {0}: {1}")]
    InvalidBracketedIp(String, String),
    #[error("no port specified: {0}<empty>")]
    NoPort(String),
    #[error("invalid containerPort: {0}")]
    InvalidContainerPort(String),
    #[error("invalid hostPort: {0}")]
    InvalidHostPort(String),
    #[error("invalid ranges specified for container and host Ports: {0} and {1}")]
    RangeMismatch(String, String),
    #[error("invalid proto: {0}")]
    InvalidProto(String),
    /// A field of the long form (`published=8080,target=80`) that is not `name=value`.
    #[error("invalid publish opts format (should be name=value but got '{0}')")]
    PublishOpts(String),
    #[error("invalid port format for --expose: {0}")]
    ExposeFormat(String),
    #[error("invalid range format for --expose: {0}, error: {1}")]
    ExposeRange(String, PortRangeError),
}

/// Why a port or a range (`8000-9000`) is not one, as Go's `nat.ParsePortRange` says it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PortRangeError {
    #[error("empty string specified for ports")]
    Empty,
    /// `strconv.ParseUint`'s syntax error.
    #[error("strconv.ParseUint: parsing {0:?}: invalid syntax")]
    Syntax(String),
    /// `strconv.ParseUint`'s error for a number above 65535.
    #[error("strconv.ParseUint: parsing {0:?}: value out of range")]
    OutOfRange(String),
    #[error("invalid range specified for port: {0}")]
    Reversed(String),
}

/// A transport protocol a port can be published for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
    Sctp,
}

impl Proto {
    /// The name Docker and nftables use: `tcp`, `udp`, `sctp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }

    /// `tcp`, `udp` or `sctp`, in any case.
    pub fn parse(s: &str) -> Option<Proto> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Some(Proto::Tcp),
            "udp" => Some(Proto::Udp),
            "sctp" => Some(Proto::Sctp),
            _ => None,
        }
    }
}

/// What a set of `-p` specs (and `-P`) makes: `Config.ExposedPorts` and
/// `HostConfig.PortBindings`, keyed `"<port>/<proto>"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortSpecs {
    pub exposed: BTreeSet<String>,
    pub bindings: BTreeMap<String, Vec<PortBinding>>,
}

/// Parses `-p` specs as the docker CLI does: `80`, `8080:80`, `127.0.0.1:8080:80/tcp`,
/// `[::1]:8080:80`, `53:53/udp`, `8000-8001:80-81`, `8000-8010:80` (a host range to pick
/// one port from), `127.0.0.1::80` (any host port on that address). The long form is
/// turned into this one first by [`standard_notation`].
pub fn parse_port_specs<S: AsRef<str>>(specs: &[S]) -> Result<PortSpecs, PortSpecError> {
    let mut out = PortSpecs::default();
    for spec in specs {
        for (key, binding) in parse_port_spec(spec.as_ref())? {
            out.exposed.insert(key.clone());
            out.bindings.entry(key).or_default().push(binding);
        }
    }
    Ok(out)
}

/// The docker CLI's `convertToStandardNotation`: a `-p` in the long form
/// (`published=8080,target=80[,protocol=udp][,mode=...]`, any spec holding a `=`) becomes
/// `8080:80/udp` (`tcp` when no protocol is given); other specs are kept as they are.
pub fn standard_notation<S: AsRef<str>>(specs: &[S]) -> Result<Vec<String>, PortSpecError> {
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let spec = spec.as_ref();
        if !spec.contains('=') {
            out.push(spec.to_string());
            continue;
        }
        let mut params: BTreeMap<&str, &str> = BTreeMap::from([("protocol", "tcp")]);
        for param in spec.split(',') {
            match param.split_once('=') {
                Some((k, v)) if !k.is_empty() => {
                    params.insert(k, v);
                }
                _ => return Err(PortSpecError::PublishOpts(param.to_string())),
            }
        }
        let get = |k: &str| params.get(k).copied().unwrap_or("");
        out.push(format!(
            "{}:{}/{}",
            get("published"),
            get("target"),
            get("protocol")
        ));
    }
    Ok(out)
}

/// `--expose` as the docker CLI reads it: `80`, `80/udp`, `8000-8010/tcp` (each port of
/// the range), the keys of `Config.ExposedPorts`. The protocol is taken as written (the
/// docker CLI neither checks nor lower-cases it here).
pub fn parse_expose<S: AsRef<str>>(specs: &[S]) -> Result<BTreeSet<String>, PortSpecError> {
    let mut out = BTreeSet::new();
    for spec in specs {
        let spec = spec.as_ref();
        if spec.contains(':') {
            return Err(PortSpecError::ExposeFormat(spec.to_string()));
        }
        let (proto, port) = split_proto_port(spec);
        let (start, end) =
            parse_port_range(port).map_err(|e| PortSpecError::ExposeRange(spec.to_string(), e))?;
        for p in start..=end {
            out.insert(format!("{p}/{proto}"));
        }
    }
    Ok(out)
}

/// `-P`: every exposed port (`Config.ExposedPorts`, the image's merged with the
/// container's) not bound yet gets a binding to any free host port on every address.
pub fn publish_all<S: AsRef<str>>(exposed: &[S], specs: &mut PortSpecs) {
    for port in exposed {
        let key = port.as_ref().to_string();
        specs.exposed.insert(key.clone());
        specs.bindings.entry(key).or_insert_with(|| {
            vec![PortBinding {
                host_ip: String::new(),
                host_port: String::new(),
            }]
        });
    }
}

/// A port (`80`) or a range (`8000-9000`; what follows a second `-` is ignored, as Go's
/// `nat.ParsePortRange` does), with its errors.
pub fn parse_port_range(s: &str) -> Result<(u16, u16), PortRangeError> {
    if s.is_empty() {
        return Err(PortRangeError::Empty);
    }
    let Some((a, rest)) = s.split_once('-') else {
        let p = parse_uint16(s)?;
        return Ok((p, p));
    };
    let b = rest.split('-').next().unwrap_or(rest);
    let (start, end) = (parse_uint16(a)?, parse_uint16(b)?);
    if end < start {
        return Err(PortRangeError::Reversed(s.to_string()));
    }
    Ok((start, end))
}

/// Go's `strconv.ParseUint(s, 10, 16)`: digits only (no sign), at most 65535.
fn parse_uint16(s: &str) -> Result<u16, PortRangeError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PortRangeError::Syntax(s.to_string()));
    }
    s.parse::<u16>()
        .map_err(|_| PortRangeError::OutOfRange(s.to_string()))
}

/// go-connections 0.5's `ParsePortSpec`, its checks in its order (the protocol last).
fn parse_port_spec(raw: &str) -> Result<Vec<(String, PortBinding)>, PortSpecError> {
    let (ip, host_port, container) = split_parts(raw);
    let (proto, container_port) = split_proto_port(container);
    let ip = if ip.starts_with('[') {
        bracketed_host(ip).map_err(|why| PortSpecError::InvalidBracketedIp(ip.to_string(), why))?
    } else {
        ip
    };
    if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
        return Err(PortSpecError::InvalidIp(ip.to_string()));
    }
    if container_port.is_empty() {
        return Err(PortSpecError::NoPort(raw.to_string()));
    }
    let (start, end) = parse_port_range(container_port)
        .map_err(|_| PortSpecError::InvalidContainerPort(container_port.to_string()))?;
    let (host_start, host_end) = if host_port.is_empty() {
        (0, 0)
    } else {
        parse_port_range(host_port)
            .map_err(|_| PortSpecError::InvalidHostPort(host_port.to_string()))?
    };
    if !host_port.is_empty() && end - start != host_end - host_start && end != start {
        return Err(PortSpecError::RangeMismatch(
            container_port.to_string(),
            host_port.to_string(),
        ));
    }
    let proto =
        Proto::parse(proto).ok_or_else(|| PortSpecError::InvalidProto(proto.to_string()))?;
    let mut out = Vec::new();
    for i in 0..=(end - start) {
        let mut hp = if host_port.is_empty() {
            String::new()
        } else {
            (u32::from(host_start) + u32::from(i)).to_string()
        };
        if start == end && host_start != host_end {
            hp = format!("{hp}-{host_end}");
        }
        out.push((
            format!("{}/{}", u32::from(start) + u32::from(i), proto.as_str()),
            PortBinding {
                host_ip: ip.to_string(),
                host_port: hp,
            },
        ));
    }
    Ok(out)
}

/// The address inside `[...]`, as Go's `net.SplitHostPort(ip + ":")` takes it, or the
/// reason it gives (`address [::1:: missing ']' in address`).
fn bracketed_host(ip: &str) -> Result<&str, String> {
    let hostport = format!("{ip}:");
    let why = |reason: &str| format!("address {hostport}: {reason}");
    let last_colon = hostport.len() - 1;
    let Some(end) = hostport.find(']') else {
        return Err(why("missing ']' in address"));
    };
    if end + 1 != last_colon {
        return Err(if hostport.as_bytes()[end + 1] == b':' {
            why("too many colons in address")
        } else {
            why("missing port in address")
        });
    }
    if hostport[1..].contains('[') {
        return Err(why("unexpected '[' in address"));
    }
    if hostport[end + 1..].contains(']') {
        return Err(why("unexpected ']' in address"));
    }
    Ok(&ip[1..end])
}

/// `ip:host:container`, where the ip may itself hold colons (IPv6).
fn split_parts(raw: &str) -> (&str, &str, &str) {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    match n {
        1 => ("", "", parts[0]),
        2 => ("", parts[0], parts[1]),
        _ => {
            let ip_len = parts[..n - 2].iter().map(|p| p.len()).sum::<usize>() + (n - 3);
            (&raw[..ip_len], parts[n - 2], parts[n - 1])
        }
    }
}

/// go-connections 0.5's `SplitProtoPort`: `(proto, port)`, `tcp` when none is given,
/// both empty when there is no port.
fn split_proto_port(raw: &str) -> (&str, &str) {
    let mut parts = raw.split('/');
    let port = parts.next().unwrap_or("");
    if port.is_empty() {
        return ("", "");
    }
    match parts.next() {
        None | Some("") => ("tcp", port),
        // Go's strings.Split takes the second field only: `80/tcp/x` reads as tcp.
        Some(p) => (p, port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(ip: &str, port: &str) -> PortBinding {
        PortBinding {
            host_ip: ip.into(),
            host_port: port.into(),
        }
    }

    #[test]
    fn specs_as_the_docker_cli_reads_them() {
        let s = parse_port_specs(&[
            "8080:80",
            "127.0.0.1:8000-8001:80-81/udp",
            "[::1]:9090:90",
            "53/udp",
            "::1:7:7",
            "443/TCP",
        ])
        .expect("valid");
        assert_eq!(s.bindings["80/tcp"], vec![b("", "8080")]);
        assert_eq!(s.bindings["80/udp"], vec![b("127.0.0.1", "8000")]);
        assert_eq!(s.bindings["81/udp"], vec![b("127.0.0.1", "8001")]);
        assert_eq!(s.bindings["90/tcp"], vec![b("::1", "9090")]);
        assert_eq!(s.bindings["53/udp"], vec![b("", "")]);
        assert_eq!(s.bindings["7/tcp"], vec![b("::1", "7")]);
        assert_eq!(s.bindings["443/tcp"], vec![b("", "")]);
        assert_eq!(s.exposed.len(), 7);
        // A host range for one container port: the daemon picks one in it.
        let s = parse_port_specs(&["8000-8010:80", "127.0.0.1::81"]).expect("valid");
        assert_eq!(s.bindings["80/tcp"], vec![b("", "8000-8010")]);
        assert_eq!(s.bindings["81/tcp"], vec![b("127.0.0.1", "")]);
        // The same port twice: two bindings, in the order given.
        let s = parse_port_specs(&["8080:80", "127.0.0.1:8081:80"]).expect("valid");
        assert_eq!(
            s.bindings["80/tcp"],
            vec![b("", "8080"), b("127.0.0.1", "8081")]
        );
    }

    #[test]
    fn errors_worded_as_the_docker_cli() {
        // Each message as docker 28.2 prints it after "docker: ".
        let cases = [
            ("abc:80", "invalid hostPort: abc"),
            ("80:abc", "invalid containerPort: abc"),
            ("80/sctpx", "invalid proto: sctpx"),
            ("80/Foo", "invalid proto: Foo"),
            (
                "8000-8001:80-82",
                "invalid ranges specified for container and host Ports: 80-82 and 8000-8001",
            ),
            ("1.2.3.4.5:80:80", "invalid IP address: 1.2.3.4.5"),
            // The address is checked before the protocol.
            ("1.2.3.4.5:80:80/x", "invalid IP address: 1.2.3.4.5"),
            ("80-70:80", "invalid hostPort: 80-70"),
            ("99999:80", "invalid hostPort: 99999"),
            ("+80:80", "invalid hostPort: +80"),
            ("8080:", "no port specified: 8080:<empty>"),
            (
                "[::1:80:80",
                "invalid IP address [::1: address [::1:: missing ']' in address",
            ),
            (
                "[::1]x:80:80",
                "invalid IP address [::1]x: address [::1]x:: missing port in address",
            ),
        ];
        for (spec, msg) in cases {
            let err = parse_port_specs(&[spec]).expect_err(spec);
            assert_eq!(err.to_string(), msg, "{spec}");
        }
    }

    #[test]
    fn long_form_becomes_the_short_one() {
        let specs = standard_notation(&[
            "published=8080,target=80",
            "target=53,published=5353,protocol=udp,mode=host",
            "127.0.0.1:1:1",
        ])
        .expect("valid");
        assert_eq!(specs, ["8080:80/tcp", "5353:53/udp", "127.0.0.1:1:1"]);
        let err = standard_notation(&["published=8080,target"]).expect_err("bad");
        assert_eq!(
            err.to_string(),
            "invalid publish opts format (should be name=value but got 'target')"
        );
    }

    #[test]
    fn expose_takes_ports_and_ranges() {
        let e = parse_expose(&["80", "53/udp", "8000-8002/tcp"]).expect("valid");
        let want = ["53/udp", "80/tcp", "8000/tcp", "8001/tcp", "8002/tcp"];
        assert_eq!(e.iter().map(String::as_str).collect::<Vec<_>>(), want);
        for (spec, msg) in [
            ("80:80", "invalid port format for --expose: 80:80"),
            (
                "abc",
                "invalid range format for --expose: abc, error: \
                 strconv.ParseUint: parsing \"abc\": invalid syntax",
            ),
            (
                "70000",
                "invalid range format for --expose: 70000, error: \
                 strconv.ParseUint: parsing \"70000\": value out of range",
            ),
            (
                "90-80",
                "invalid range format for --expose: 90-80, error: \
                 invalid range specified for port: 90-80",
            ),
            (
                "/tcp",
                "invalid range format for --expose: /tcp, error: \
                 empty string specified for ports",
            ),
        ] {
            let err = parse_expose(&[spec]).expect_err(spec);
            assert_eq!(err.to_string(), msg, "{spec}");
        }
    }

    #[test]
    fn publish_all_binds_exposed_ports_not_bound_yet() {
        let mut s = parse_port_specs(&["8080:80"]).expect("valid");
        publish_all(&["80/tcp", "443/tcp"], &mut s);
        assert_eq!(s.bindings["80/tcp"], vec![b("", "8080")]);
        assert_eq!(s.bindings["443/tcp"], vec![b("", "")]);
    }

    #[test]
    fn port_ranges() {
        assert_eq!(parse_port_range("80"), Ok((80, 80)));
        assert_eq!(parse_port_range("80-90"), Ok((80, 90)));
        assert_eq!(parse_port_range("80-90-100"), Ok((80, 90)));
        assert_eq!(parse_port_range(""), Err(PortRangeError::Empty));
        assert_eq!(
            parse_port_range("-5"),
            Err(PortRangeError::Syntax(String::new()))
        );
    }
}
