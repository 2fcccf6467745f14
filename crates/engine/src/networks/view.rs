//! The API's views: a network ([`berth_models::Network`]) and a container's endpoints and
//! ports (`NetworkSettings`, the `Ports` of `ps`).

use std::collections::BTreeMap;

use berth_models::{EndpointIpamConfig, EndpointSettings, Port, PortBinding, PortMap};

use super::NetworkRecord;
use super::attach::NetAttachment;

/// `GET /networks/{id}`: the record with its running containers (`containers`: id, name
/// and attachment of each container on it).
pub(crate) fn network(
    r: &NetworkRecord,
    containers: &[(String, String, NetAttachment)],
) -> berth_models::Network {
    let config = match &r.net {
        Some(net) => net
            .pools
            .iter()
            .map(|p| berth_models::IpamConfig {
                subnet: p.subnet.to_string(),
                ip_range: if p.range == p.subnet {
                    String::new()
                } else {
                    p.range.to_string()
                },
                gateway: p.gateway.to_string(),
                auxiliary_addresses: (!p.aux.is_empty()).then(|| {
                    p.aux
                        .iter()
                        .map(|(k, ip)| (k.clone(), ip.to_string()))
                        .collect()
                }),
            })
            .collect(),
        None => Vec::new(),
    };
    let mut out = berth_models::Network {
        name: r.name.clone(),
        id: r.id.clone(),
        created: r.created.clone(),
        scope: "local".into(),
        driver: r.driver.clone(),
        enable_ipv4: r.net.is_some(),
        enable_ipv6: r.enable_ipv6,
        ipam: berth_models::Ipam {
            driver: "default".into(),
            config: Some(config),
            options: Some(BTreeMap::new()),
        },
        internal: r.internal,
        attachable: r.attachable,
        options: r.options.clone(),
        labels: r.labels.clone(),
        ..Default::default()
    };
    for (id, name, att) in containers {
        let Some(ep) = &att.endpoint else { continue };
        out.containers.insert(
            id.clone(),
            berth_models::NetworkContainer {
                name: name.clone(),
                endpoint_id: att.endpoint_id.clone(),
                mac_address: ep.mac.clone(),
                ipv4_address: ep.ipv4.map(|n| n.to_string()).unwrap_or_default(),
                ipv6_address: ep.ipv6.map(|n| n.to_string()).unwrap_or_default(),
            },
        );
    }
    out
}

/// A container's endpoint on one network, as inspect shows it (addresses while it runs);
/// `container` is its name and id.
pub(crate) fn endpoint(
    container: (&str, &str),
    name: &str,
    att: &NetAttachment,
) -> EndpointSettings {
    let mut e = EndpointSettings {
        network_id: att.network_id.clone(),
        aliases: (!att.aliases.is_empty()).then(|| att.aliases.clone()),
        links: (!att.links.is_empty()).then(|| att.links.clone()),
        ipam_config: (att.ipv4.is_some() || att.ipv6.is_some() || !att.link_local.is_empty()).then(
            || EndpointIpamConfig {
                ipv4_address: att.ipv4.map(|i| i.to_string()).unwrap_or_default(),
                ipv6_address: att.ipv6.map(|i| i.to_string()).unwrap_or_default(),
                link_local_ips: (!att.link_local.is_empty())
                    .then(|| att.link_local.iter().map(|i| i.to_string()).collect()),
            },
        ),
        ..Default::default()
    };
    if name != super::BRIDGE {
        let (cname, id) = container;
        let mut names = vec![cname.to_string(), id[..12.min(id.len())].to_string()];
        names.extend(att.aliases.iter().cloned());
        e.dns_names = Some(names);
    }
    if let Some(ep) = &att.endpoint {
        e.endpoint_id = att.endpoint_id.clone();
        e.mac_address = ep.mac.clone();
        if let Some(ip) = ep.ipv4 {
            e.ip_address = ip.addr().to_string();
            e.ip_prefix_len = i64::from(ip.prefix_len());
        }
        if let Some(ip) = ep.ipv6 {
            e.global_ipv6_address = ip.addr().to_string();
            e.global_ipv6_prefix_len = i64::from(ip.prefix_len());
        }
        for gw in &ep.gateways {
            if gw.is_ipv4() {
                e.gateway = gw.to_string();
            } else {
                e.ipv6_gateway = gw.to_string();
            }
        }
    }
    e
}

/// `NetworkSettings.Ports` of a running container: every exposed or published port, with
/// its host bindings (`null` for one not published).
pub(crate) fn ports<'a>(
    exposed: impl Iterator<Item = &'a String>,
    networks: impl Iterator<Item = &'a NetAttachment>,
) -> PortMap {
    let mut out = PortMap::new();
    for key in exposed {
        out.insert(key.clone(), None);
    }
    for att in networks {
        let Some(ep) = &att.endpoint else { continue };
        for (key, list) in &ep.ports {
            let bindings = out
                .entry(key.clone())
                .or_insert(None)
                .get_or_insert_with(Vec::new);
            for b in list {
                bindings.push(PortBinding {
                    host_ip: b.host_ip.clone(),
                    host_port: b.host_port.clone(),
                });
            }
        }
    }
    out
}

/// The `Ports` of `GET /containers/json`, from [`ports`].
pub(crate) fn summary_ports(ports: PortMap) -> Vec<Port> {
    let mut out = Vec::new();
    for (key, bindings) in ports {
        let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let Ok(private) = port.parse::<u16>() else {
            continue;
        };
        match bindings {
            Some(list) if !list.is_empty() => {
                for b in list {
                    out.push(Port {
                        ip: b.host_ip.clone(),
                        private_port: private,
                        public_port: b.host_port.parse().ok(),
                        r#type: proto.to_string(),
                    });
                }
            }
            _ => out.push(Port {
                ip: String::new(),
                private_port: private,
                public_port: None,
                r#type: proto.to_string(),
            }),
        }
    }
    out
}
