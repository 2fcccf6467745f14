//! `berth port CONTAINER [PRIVATE_PORT[/PROTO]]` (the docker CLI's
//! `cli/command/container/port.go`), and the PORTS column of `ps` as the docker CLI renders
//! a container's `Ports` ([`displayable_ports`], its `formatter.DisplayablePorts`).

use std::collections::HashMap;

use berth_client::Client;
use berth_client::models::{Port, PortMap};
use clap::Args;

use crate::exit::{CmdResult, fail};
use crate::format::natural_cmp;

/// `berth port`.
#[derive(Args, Debug)]
pub struct PortArgs {
    pub container: String,
    /// PRIVATE_PORT[/PROTO]
    pub port: Option<String>,
}

/// Go's `net.JoinHostPort`: an address with a colon in brackets.
fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The lines `berth port` prints for `ports` (`NetworkSettings.Ports`): every published
/// binding as `80/tcp -> 0.0.0.0:8080`, or, for `port`, that port's addresses; in the
/// docker CLI's natural order. `Err` is the docker CLI's message.
pub fn port_lines(
    ports: &PortMap,
    container: &str,
    port: Option<&str>,
) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    if let Some(want) = port {
        let (number, proto) = want.split_once('/').unwrap_or((want, ""));
        let proto = if proto.is_empty() { "tcp" } else { proto };
        if let Err(why) = go_parse_uint16(number) {
            return Err(format!(
                "Error: invalid port ({number}): strconv.ParseUint: parsing {number:?}: {why}"
            ));
        }
        let frontends = ports
            .get(&format!("{number}/{proto}"))
            .and_then(Option::as_ref)
            .filter(|f| !f.is_empty())
            .ok_or_else(|| format!("Error: No public port '{want}' published for {container}"))?;
        out.extend(
            frontends
                .iter()
                .map(|f| join_host_port(&f.host_ip, &f.host_port)),
        );
    } else {
        for (from, frontends) in ports {
            for f in frontends.iter().flatten() {
                out.push(format!(
                    "{from} -> {}",
                    join_host_port(&f.host_ip, &f.host_port)
                ));
            }
        }
    }
    out.sort_by(|a, b| natural_cmp(a, b));
    Ok(out)
}

/// Go's `strconv.ParseUint(s, 10, 16)`'s reason to refuse `s`.
fn go_parse_uint16(s: &str) -> Result<u16, &'static str> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid syntax");
    }
    s.parse().map_err(|_| "value out of range")
}

/// `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`.
pub async fn port(c: &Client, a: PortArgs) -> CmdResult {
    let inspect = c.container_inspect(&a.container, false).await?;
    let lines = port_lines(
        &inspect.network_settings.ports,
        &a.container,
        a.port.as_deref(),
    )
    .map_err(|e| fail(1, e))?;
    if !lines.is_empty() {
        println!("{}", lines.join("\n"));
    }
    Ok(0)
}

/// The docker CLI's `DisplayablePorts`: ports sorted (private port, address, public port,
/// protocol); runs of consecutive ports published on the same port number (or not
/// published) collapsed (`443-445/tcp`, `0.0.0.0:9000-9001->9000-9001/tcp`); ports
/// published on another number listed last (`0.0.0.0:8080->80/tcp`, `[::]:8080->80/tcp`).
pub fn displayable_ports(ports: &[Port]) -> String {
    let mut ports: Vec<&Port> = ports.iter().collect();
    ports.sort_by(|a, b| {
        a.private_port
            .cmp(&b.private_port)
            .then_with(|| a.ip.cmp(&b.ip))
            .then_with(|| a.public_port.unwrap_or(0).cmp(&b.public_port.unwrap_or(0)))
            .then_with(|| a.r#type.cmp(&b.r#type))
    });
    // A run of ports by key ("tcp", or "0.0.0.0/tcp" for published ones): first, last.
    let mut groups: HashMap<String, (u16, u16)> = HashMap::new();
    let mut keys: Vec<String> = Vec::new();
    let mut result: Vec<String> = Vec::new();
    let mut mappings: Vec<String> = Vec::new();
    for p in ports {
        let current = p.private_port;
        let mut key = p.r#type.clone();
        if !p.ip.is_empty() {
            let public = p.public_port.unwrap_or(0);
            if public != current {
                mappings.push(format!(
                    "{}->{}/{}",
                    join_host_port(&p.ip, &public.to_string()),
                    p.private_port,
                    p.r#type
                ));
                continue;
            }
            key = format!("{}/{}", p.ip, p.r#type);
        }
        match groups.get_mut(&key) {
            None => {
                groups.insert(key.clone(), (current, current));
                keys.push(key);
            }
            Some(g) if u32::from(current) == u32::from(g.1) + 1 => g.1 = current,
            Some(g) => {
                result.push(form_group(&key, g.0, g.1));
                *g = (current, current);
            }
        }
    }
    for key in &keys {
        let (first, last) = groups[key];
        result.push(form_group(key, first, last));
    }
    result.extend(mappings);
    result.join(", ")
}

/// One run of ports as the docker CLI's `formGroup` writes it.
fn form_group(key: &str, first: u16, last: u16) -> String {
    let parts: Vec<&str> = key.split('/').collect();
    let (ip, proto) = if parts.len() > 1 {
        (parts[0], parts[1])
    } else {
        ("", parts[0])
    };
    let mut group = first.to_string();
    if first != last {
        group = format!("{group}-{last}");
    }
    if !ip.is_empty() {
        group = format!("{}->{group}", join_host_port(ip, &group));
    }
    format!("{group}/{proto}")
}

#[cfg(test)]
mod tests {
    use berth_client::models::PortBinding;

    use super::*;

    fn port(ip: &str, private: u16, public: Option<u16>, proto: &str) -> Port {
        Port {
            ip: ip.into(),
            private_port: private,
            public_port: public,
            r#type: proto.into(),
        }
    }

    /// The container the fake daemon answered with (see `network/tests.rs`), and what
    /// docker CLI 28.2.2 printed for it.
    #[test]
    fn ps_ports_as_the_docker_cli() {
        let ports = [
            port("0.0.0.0", 80, Some(8080), "tcp"),
            port("::", 80, Some(8080), "tcp"),
            port("", 443, None, "tcp"),
            port("", 444, None, "tcp"),
            port("", 445, None, "tcp"),
            port("", 53, None, "udp"),
            port("0.0.0.0", 9000, Some(9000), "tcp"),
            port("0.0.0.0", 9001, Some(9001), "tcp"),
            port("::", 9000, Some(9000), "tcp"),
            port("127.0.0.1", 22, Some(2222), "tcp"),
        ];
        assert_eq!(
            displayable_ports(&ports),
            "53/udp, 443-445/tcp, 0.0.0.0:9000-9001->9000-9001/tcp, [::]:9000->9000/tcp, \
             127.0.0.1:2222->22/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp"
        );
        // A gap ends a run; the earlier run comes first.
        let ports = [
            port("", 80, None, "tcp"),
            port("", 82, None, "tcp"),
            port("", 83, None, "tcp"),
        ];
        assert_eq!(displayable_ports(&ports), "80/tcp, 82-83/tcp");
        assert_eq!(displayable_ports(&[]), "");
    }

    fn ports() -> PortMap {
        let b = |ip: &str, port: &str| PortBinding {
            host_ip: ip.into(),
            host_port: port.into(),
        };
        PortMap::from([
            (
                "80/tcp".into(),
                Some(vec![b("0.0.0.0", "8080"), b("::", "8080")]),
            ),
            ("443/tcp".into(), None),
            ("53/udp".into(), Some(vec![b("127.0.0.1", "5353")])),
            ("9/tcp".into(), Some(vec![b("0.0.0.0", "10009")])),
            ("10/tcp".into(), Some(vec![])),
        ])
    }

    #[test]
    fn port_prints_as_the_docker_cli() {
        let p = ports();
        assert_eq!(
            port_lines(&p, "web", None).expect("all"),
            [
                "9/tcp -> 0.0.0.0:10009",
                "53/udp -> 127.0.0.1:5353",
                "80/tcp -> 0.0.0.0:8080",
                "80/tcp -> [::]:8080",
            ]
        );
        for q in ["80", "80/tcp"] {
            assert_eq!(
                port_lines(&p, "web", Some(q)).expect("80"),
                ["0.0.0.0:8080", "[::]:8080"]
            );
        }
        assert_eq!(
            port_lines(&p, "web", Some("53/udp")).expect("53"),
            ["127.0.0.1:5353"]
        );
        for (q, msg) in [
            ("443", "Error: No public port '443' published for web"),
            ("81/tcp", "Error: No public port '81/tcp' published for web"),
            ("10", "Error: No public port '10' published for web"),
            (
                "abc",
                "Error: invalid port (abc): strconv.ParseUint: parsing \"abc\": invalid syntax",
            ),
        ] {
            assert_eq!(port_lines(&p, "web", Some(q)), Err(msg.to_string()), "{q}");
        }
    }
}
