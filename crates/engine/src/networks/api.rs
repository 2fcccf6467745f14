//! `/networks`: create, list, inspect, remove, prune, connect, disconnect; the predefined
//! networks at daemon start; network events.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use berth_models::{
    Network, NetworkConnectRequest, NetworkCreateRequest, NetworkCreateResponse,
    NetworkDisconnectRequest, NetworkPruneResponse,
};
use berth_net::bridge::{BridgeOptions, EndpointSpec, NetworkSpec, bridge_name};
use berth_net::ipam::PoolRequest;
use ipnet::IpNet;

use super::attach::NetAttachment;
use super::{BRIDGE, HOST, NONE, NetworkRecord, bip_pools, net_error, view};
use crate::filters::{Filters, check_keys, labels_match, parse_until};
use crate::{Engine, Entry, Error, ErrorKind, Result, events, lock, time};

/// Options of `network create` Berth acts on (`-o`): the bridge's name and MTU,
/// inter-container traffic, masquerading, the default host address of published ports
/// and the prefix of the containers' interface names.
const BRIDGE_NAME_OPT: &str = "com.docker.network.bridge.name";
const MTU_OPT: &str = "com.docker.network.driver.mtu";
const ICC_OPT: &str = "com.docker.network.bridge.enable_icc";
const MASQUERADE_OPT: &str = "com.docker.network.bridge.enable_ip_masquerade";
pub(crate) const HOST_BINDING_OPT: &str = "com.docker.network.bridge.host_binding_ipv4";
pub(crate) const IFACE_PREFIX_OPT: &str = "com.docker.network.container_iface_prefix";

/// A boolean option as Go's `strconv.ParseBool` reads it, with dockerd's message.
fn parse_bool_opt(key: &str, v: &str) -> Result<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(Error::invalid(format!(
            "failed to parse {key} value: {v} (strconv.ParseBool: parsing {v:?}: invalid syntax)"
        ))),
    }
}

fn parse_net(what: &str, s: &str) -> Result<IpNet> {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| Error::invalid(format!("invalid {what}: {s}")))
}

impl Engine {
    /// Emit a network event (`create`, `connect`, `disconnect`, `destroy`).
    pub(crate) fn network_event(&self, action: &str, id: &str, name: &str, container: &str) {
        let mut attributes: BTreeMap<String, String> = [
            ("name".to_string(), name.to_string()),
            ("type".to_string(), "bridge".to_string()),
        ]
        .into();
        if !container.is_empty() {
            attributes.insert("container".into(), container.to_string());
        }
        self.events.emit(events::Event {
            typ: "network",
            action: action.into(),
            id: id.to_string(),
            attributes,
            time_nano: events::now_nano(),
        });
    }

    /// At daemon start: the predefined networks (`bridge` unless `--bridge none`, `host`,
    /// `none`), the recorded bridges set up again, the endpoints of running containers
    /// held again.
    pub(crate) async fn open_networks(&self) -> Result<()> {
        for (name, driver) in [(HOST, "host"), (NONE, "null")] {
            let exists = self
                .networks
                .state
                .lock()
                .await
                .nets
                .values()
                .any(|n| n.name == name);
            if !exists {
                let r = NetworkRecord {
                    id: crate::containers::random_id()?,
                    name: name.into(),
                    driver: driver.into(),
                    created: time::now_rfc3339(),
                    net: None,
                    enable_ipv6: false,
                    internal: false,
                    attachable: false,
                    labels: BTreeMap::new(),
                    options: BTreeMap::new(),
                    ipam_config: Vec::new(),
                };
                self.db.save_network(&r.id, &r)?;
                self.networks
                    .state
                    .lock()
                    .await
                    .nets
                    .insert(r.id.clone(), r);
            }
        }
        self.networks.restore_bridges().await;
        let default = {
            let state = self.networks.state.lock().await;
            state.nets.values().find(|n| n.name == BRIDGE).cloned()
        };
        let wanted = self.cfg.network.bridge.clone();
        // A default bridge recorded with other settings than today's flags goes (its
        // containers get the new one at their next start).
        if let Some(old) = &default {
            let same = old.net.as_ref().is_some_and(|n| {
                Some(&n.bridge) == wanted.as_ref()
                    && self.cfg.network.bip.is_none_or(|b| {
                        n.pools
                            .first()
                            .is_some_and(|p| p.subnet == b.trunc() && p.gateway == b.addr())
                    })
            });
            if !same {
                self.destroy_network(old).await?;
            } else {
                return Ok(());
            }
        }
        let Some(bridge) = wanted else { return Ok(()) };
        let mut options: BTreeMap<String, String> = [
            ("com.docker.network.bridge.default_bridge", "true"),
            ("com.docker.network.bridge.enable_icc", "true"),
            ("com.docker.network.bridge.enable_ip_masquerade", "true"),
            ("com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"),
            ("com.docker.network.driver.mtu", "1500"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        options.insert(BRIDGE_NAME_OPT.into(), bridge.clone());
        let spec = NetworkSpec {
            id: crate::containers::random_id()?,
            name: BRIDGE.into(),
            bridge,
            pools: bip_pools(self.cfg.network.bip),
            internal: false,
            mtu: None,
            options: BridgeOptions::default(),
        };
        self.record_bridge(spec, options, BTreeMap::new(), false, false, Vec::new())
            .await
            .map(|_| ())
    }

    /// Create a bridge network and record it (undone if the record cannot be written).
    async fn record_bridge(
        &self,
        spec: NetworkSpec,
        options: BTreeMap<String, String>,
        labels: BTreeMap<String, String>,
        attachable: bool,
        enable_ipv6: bool,
        ipam_config: Vec<BTreeMap<String, String>>,
    ) -> Result<NetworkRecord> {
        let mut state = self.networks.state.lock().await;
        if state.nets.values().any(|n| n.name == spec.name) {
            return Err(Error::conflict(format!(
                "network with name {} already exists",
                spec.name
            )));
        }
        if state
            .nets
            .values()
            .any(|n| n.net.as_ref().is_some_and(|b| b.bridge == spec.bridge))
        {
            return Err(Error::conflict(format!(
                "bridge name {} is already in use by another network",
                spec.bridge
            )));
        }
        let net = self.networks.create_bridge(&mut state, &spec).await?;
        let r = NetworkRecord {
            id: spec.id.clone(),
            name: spec.name.clone(),
            driver: "bridge".into(),
            created: time::now_rfc3339(),
            net: Some(net.clone()),
            enable_ipv6,
            internal: spec.internal,
            attachable,
            labels,
            options,
            ipam_config,
        };
        if let Err(e) = self.db.save_network(&r.id, &r) {
            let _ = self.networks.driver.remove(&mut state.ipam, &net).await;
            return Err(e);
        }
        state.nets.insert(r.id.clone(), r.clone());
        drop(state);
        self.network_event("create", &r.id, &r.name, "");
        Ok(r)
    }

    /// `POST /networks/create`.
    pub async fn network_create(&self, req: NetworkCreateRequest) -> Result<NetworkCreateResponse> {
        if req.name.is_empty() {
            return Err(Error::invalid("network name must not be empty"));
        }
        if matches!(req.name.as_str(), BRIDGE | HOST | NONE) {
            return Err(Error::new(
                ErrorKind::Forbidden,
                format!(
                    "{} is a pre-defined network and cannot be created",
                    req.name
                ),
            ));
        }
        if req
            .name
            .chars()
            .any(|c| c == '/' || c.is_whitespace() || c.is_control())
        {
            return Err(Error::invalid(format!(
                "invalid network name {:?}",
                req.name
            )));
        }
        match req.driver.as_str() {
            "" | "bridge" => {}
            other => {
                return Err(Error::new(
                    ErrorKind::NotImplemented,
                    format!(
                        "network driver {other:?} is not supported yet: only bridge (--driver)"
                    ),
                ));
            }
        }
        let refuse = |what: &str| {
            Err(Error::new(
                ErrorKind::NotImplemented,
                format!("{what} is not supported yet"),
            ))
        };
        if req.ingress {
            return refuse("Ingress (--ingress)");
        }
        if req.config_only
            || req
                .config_from
                .as_ref()
                .is_some_and(|c| !c.network.is_empty())
        {
            return refuse("config-only networks (--config-only, --config-from)");
        }
        if !matches!(req.scope.as_str(), "" | "local") {
            return refuse("Scope other than local (--scope)");
        }
        if req.enable_ipv4 == Some(false) {
            return refuse("networks without IPv4 (EnableIPv4=false)");
        }
        let mut pools = Vec::new();
        let mut ipam_config = Vec::new();
        if let Some(ipam) = &req.ipam {
            if !matches!(ipam.driver.as_str(), "" | "default") {
                return refuse("IPAM drivers other than default (--ipam-driver)");
            }
            if ipam.options.as_ref().is_some_and(|o| !o.is_empty()) {
                return refuse("IPAM options (--ipam-opt)");
            }
            for c in ipam.config.iter().flatten() {
                let subnet = (!c.subnet.is_empty())
                    .then(|| parse_net("subnet", &c.subnet))
                    .transpose()?;
                let ip_range = (!c.ip_range.is_empty())
                    .then(|| parse_net("ip-range", &c.ip_range))
                    .transpose()?;
                let gateway = (!c.gateway.is_empty())
                    .then(|| {
                        c.gateway
                            .parse::<IpAddr>()
                            .map_err(|_| Error::invalid(format!("invalid gateway: {}", c.gateway)))
                    })
                    .transpose()?;
                let mut aux = BTreeMap::new();
                for (k, v) in c.auxiliary_addresses.iter().flatten() {
                    let ip = v.parse::<IpAddr>().map_err(|_| {
                        Error::invalid(format!("invalid auxiliary address {k}={v}"))
                    })?;
                    aux.insert(k.clone(), ip);
                }
                if (ip_range.is_some() || gateway.is_some() || !aux.is_empty()) && subnet.is_none()
                {
                    return Err(Error::invalid(
                        "an ip-range, a gateway or an auxiliary address needs a subnet (--subnet)",
                    ));
                }
                let mut shown = BTreeMap::new();
                for (k, v) in [
                    ("Subnet", &c.subnet),
                    ("IPRange", &c.ip_range),
                    ("Gateway", &c.gateway),
                ] {
                    if !v.is_empty() {
                        shown.insert(k.to_string(), v.clone());
                    }
                }
                ipam_config.push(shown);
                pools.push(PoolRequest {
                    subnet,
                    ip_range,
                    gateway,
                    aux,
                });
            }
        }
        let enable_ipv6 = req.enable_ipv6.unwrap_or(false);
        let has_v6 = pools
            .iter()
            .any(|p| p.subnet.is_some_and(|s| s.addr().is_ipv6()));
        if has_v6 && !enable_ipv6 {
            return Err(Error::invalid(
                "an IPv6 subnet needs IPv6 enabled on the network (--ipv6)",
            ));
        }
        if enable_ipv6 && !has_v6 {
            return Err(Error::new(
                ErrorKind::NotImplemented,
                "--ipv6 without an IPv6 --subnet is not supported yet: give one",
            ));
        }
        if enable_ipv6
            && !pools
                .iter()
                .any(|p| p.subnet.is_some_and(|s| s.addr().is_ipv4()))
        {
            // IPv4 comes from the default pools beside the user's IPv6 subnet.
            pools.insert(0, PoolRequest::default());
        }
        let options = req.options.clone().unwrap_or_default();
        let mut mtu = None;
        let mut bridge_options = BridgeOptions::default();
        for (k, v) in &options {
            match k.as_str() {
                BRIDGE_NAME_OPT => {}
                MTU_OPT => {
                    mtu =
                        Some(v.parse::<u32>().map_err(|_| {
                            Error::invalid(format!("invalid MTU {v:?} ({MTU_OPT})"))
                        })?);
                }
                ICC_OPT => bridge_options.icc = parse_bool_opt(k, v)?,
                MASQUERADE_OPT => bridge_options.masquerade = parse_bool_opt(k, v)?,
                HOST_BINDING_OPT => {
                    v.parse::<IpAddr>().map_err(|_| {
                        Error::invalid(format!("failed to parse {k} value: {v} (nil ip)"))
                    })?;
                }
                IFACE_PREFIX_OPT => {
                    if v.is_empty()
                        || v.len() > 12
                        || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        return Err(Error::invalid(format!(
                            "invalid {k} value: {v:?} (up to 12 letters, digits or _)"
                        )));
                    }
                }
                other => {
                    return Err(Error::new(
                        ErrorKind::NotImplemented,
                        format!("network option {other:?} (-o/--opt) is not supported yet"),
                    ));
                }
            }
        }
        let id = crate::containers::random_id()?;
        let bridge = options
            .get(BRIDGE_NAME_OPT)
            .cloned()
            .unwrap_or_else(|| bridge_name(&id));
        if bridge.is_empty() || bridge.len() > 15 || bridge.contains(['/', ' ']) {
            return Err(Error::invalid(format!("invalid bridge name {bridge:?}")));
        }
        let spec = NetworkSpec {
            id: id.clone(),
            name: req.name.clone(),
            bridge,
            pools,
            internal: req.internal,
            mtu,
            options: bridge_options,
        };
        self.record_bridge(
            spec,
            options,
            req.labels.clone().unwrap_or_default(),
            req.attachable,
            enable_ipv6,
            ipam_config,
        )
        .await?;
        Ok(NetworkCreateResponse {
            id,
            warning: String::new(),
        })
    }

    /// Every network record, as now.
    async fn network_records(&self) -> Vec<NetworkRecord> {
        let state = self.networks.state.lock().await;
        state.nets.values().cloned().collect()
    }

    /// The containers with an endpoint on a network (running ones: dockerd's active
    /// endpoints): (container id, name, attachment). Stopped containers that name it do
    /// not hold it (as with dockerd, they fail to start once it is removed).
    fn attached(&self, network_id: &str) -> Vec<(String, String, NetAttachment)> {
        let entries: Vec<Arc<Entry>> = lock(&self.containers).values().cloned().collect();
        entries
            .iter()
            .filter_map(|e| {
                let r = e.record();
                r.networks
                    .values()
                    .find(|a| a.network_id == network_id && a.endpoint.is_some())
                    .map(|a| (r.id.clone(), r.name.clone(), a.clone()))
            })
            .collect()
    }

    /// `GET /networks/{id}`.
    pub async fn network_inspect(&self, key: &str) -> Result<Network> {
        let r = self.networks.state.lock().await.find(key)?.clone();
        Ok(view::network(&r, &self.attached(&r.id)))
    }

    /// `GET /networks`: with filters `driver`, `id`, `label`, `name`, `scope`, `type`,
    /// `dangling`.
    pub async fn network_list(&self, filters: &Filters) -> Result<Vec<Network>> {
        check_keys(
            filters,
            &["driver", "id", "label", "name", "scope", "type", "dangling"],
        )?;
        let records = self.network_records().await;
        let mut out = Vec::new();
        for r in records {
            if !self.network_matches(&r, filters)? {
                continue;
            }
            // dockerd's list has no containers (`Containers: {}`).
            let mut v = view::network(&r, &[]);
            v.containers.clear();
            out.push(v);
        }
        Ok(out)
    }

    fn network_matches(&self, r: &NetworkRecord, f: &Filters) -> Result<bool> {
        let any = |key: &str, pred: &dyn Fn(&str) -> bool| {
            f.get(key).is_none_or(|vals| vals.iter().any(|v| pred(v)))
        };
        if let Some(vals) = f.get("type") {
            for v in vals {
                if !matches!(v.as_str(), "custom" | "builtin") {
                    return Err(Error::invalid(format!("invalid filter: 'type'='{v}'")));
                }
            }
        }
        if let Some(vals) = f.get("dangling") {
            for v in vals {
                if !matches!(v.as_str(), "true" | "false" | "1" | "0") {
                    return Err(Error::invalid(format!("invalid filter 'dangling={v}'")));
                }
            }
        }
        let dangling = self.attached(&r.id).is_empty() && !r.predefined();
        Ok(any("driver", &|v| r.driver == v)
            && any("id", &|v| r.id.starts_with(v))
            && any("name", &|v| r.name.contains(v))
            && any("scope", &|v| v == "local")
            && any("type", &|v| (v == "builtin") == r.predefined())
            && any("dangling", &|v| matches!(v, "true" | "1") == dangling)
            && labels_match(|k| r.labels.get(k), f.get("label").map_or(&[], |v| v)))
    }

    /// Remove a network's bridge, rules, pools and record.
    async fn destroy_network(&self, r: &NetworkRecord) -> Result<()> {
        let mut state = self.networks.state.lock().await;
        if let Some(net) = &r.net {
            self.networks
                .driver
                .remove(&mut state.ipam, net)
                .await
                .map_err(net_error)?;
        }
        self.db.remove_network(&r.id)?;
        state.nets.remove(&r.id);
        drop(state);
        self.network_event("destroy", &r.id, &r.name, "");
        Ok(())
    }

    /// `DELETE /networks/{id}`.
    pub async fn network_remove(&self, key: &str) -> Result<()> {
        let r = self.networks.state.lock().await.find(key)?.clone();
        if r.predefined() {
            return Err(Error::new(
                ErrorKind::Forbidden,
                format!("{} is a pre-defined network and cannot be removed", r.name),
            ));
        }
        let users = self.attached(&r.id);
        if !users.is_empty() {
            return Err(Error::new(
                ErrorKind::Forbidden,
                format!(
                    "error while removing network: network {} id {} has active endpoints",
                    r.name, r.id
                ),
            ));
        }
        self.destroy_network(&r).await
    }

    /// `POST /networks/prune`: user networks no container uses (filters `until`, `label`,
    /// `label!`).
    pub async fn network_prune(&self, filters: &Filters) -> Result<NetworkPruneResponse> {
        check_keys(filters, &["until", "label", "label!"])?;
        let until = filters
            .get("until")
            .and_then(|v| v.first())
            .map(|v| parse_until(v))
            .transpose()?;
        let records = self.network_records().await;
        let mut deleted = Vec::new();
        for r in records {
            if r.predefined() || !self.attached(&r.id).is_empty() {
                continue;
            }
            if let Some(until) = until
                && time::unix_seconds(&r.created) >= until
            {
                continue;
            }
            if !labels_match(|k| r.labels.get(k), filters.get("label").map_or(&[], |v| v)) {
                continue;
            }
            if let Some(not) = filters.get("label!")
                && !not.is_empty()
                && labels_match(|k| r.labels.get(k), not)
            {
                continue;
            }
            match self.destroy_network(&r).await {
                Ok(()) => deleted.push(r.name.clone()),
                Err(e) => tracing::warn!(network = r.name, "pruning: {}", e.message),
            }
        }
        self.events.emit(events::Event {
            typ: "network",
            action: "prune".into(),
            id: String::new(),
            attributes: BTreeMap::new(),
            time_nano: events::now_nano(),
        });
        Ok(NetworkPruneResponse {
            networks_deleted: (!deleted.is_empty()).then_some(deleted),
        })
    }

    /// `POST /networks/{id}/connect`: recorded for the container's next start, and
    /// attached now if it runs.
    pub async fn network_connect(
        self: &Arc<Self>,
        key: &str,
        req: NetworkConnectRequest,
    ) -> Result<()> {
        let entry = self.lookup(&req.container)?;
        let _op = entry.op.lock().await;
        let r = self.networks.state.lock().await.find(key)?.clone();
        let Some(net) = r.net.clone() else {
            return Err(Error::new(
                ErrorKind::Forbidden,
                format!(
                    "container cannot be disconnected from host network or connected to {} network",
                    r.name
                ),
            ));
        };
        let c = entry.record().clone();
        if !super::is_network_name(&c.host_config.network_mode) {
            return Err(Error::new(
                ErrorKind::Forbidden,
                "container sharing network namespace with another container or host cannot be connected to any other network",
            ));
        }
        if c.networks.values().any(|a| a.network_id == r.id) {
            return Err(Error::new(
                ErrorKind::Forbidden,
                format!(
                    "endpoint with name {} already exists in network {}",
                    c.name, r.name
                ),
            ));
        }
        let mut att = NetAttachment {
            network_id: r.id.clone(),
            ..Default::default()
        };
        if let Some(ep) = &req.endpoint_config {
            crate::containers::fields::check_endpoint(ep)?;
            att.aliases = ep.aliases.clone().unwrap_or_default();
            att.links = self.checked_links(berth_models::list(&ep.links))?;
            if c.state.running && !att.links.is_empty() {
                return Err(Error::new(
                    ErrorKind::NotImplemented,
                    "EndpointSettings.Links: links on connecting a running container (--link with network connect) is not supported yet: connect it before it starts",
                ));
            }
            if !ep.mac_address.is_empty() {
                super::attach::parse_mac(&ep.mac_address)?;
                att.mac = Some(ep.mac_address.clone());
            }
            if let Some(ipam) = &ep.ipam_config {
                att.set_ipam(ipam)?;
            }
        }
        if r.name == BRIDGE && (!att.aliases.is_empty() || att.ipv4.is_some()) {
            return Err(Error::invalid(
                "network-scoped alias and user specified IP address are supported only for containers in user defined networks",
            ));
        }
        if c.state.running {
            let pid = c.state.pid as i32;
            let taken: Vec<String> = c
                .networks
                .values()
                .filter_map(|a| a.endpoint.as_ref())
                .enumerate()
                .map(|(i, ep)| match ep.ifname.as_str() {
                    "" => format!("eth{i}"),
                    name => name.to_string(),
                })
                .collect();
            let ifname = r.next_ifname(&taken);
            let spec = EndpointSpec {
                container_id: c.id.clone(),
                netns: PathBuf::from(format!("/proc/{pid}/ns/net")),
                ifname,
                ipv4: att.ipv4,
                ipv6: att.ipv6,
                ports: BTreeMap::new(),
                mac: att
                    .mac
                    .as_deref()
                    .map(super::attach::parse_mac)
                    .transpose()?,
                // The default route stays with the network that has it.
                no_default_route: c.networks.values().any(|a| a.endpoint.is_some()),
                link_local: att.link_local_nets(),
            };
            let ep = {
                let mut state = self.networks.state.lock().await;
                let state = &mut *state;
                self.networks
                    .driver
                    .connect(&mut state.ipam, &mut state.ports, &net, &spec)
                    .await
                    .map_err(net_error)?
            };
            if r.name != BRIDGE {
                self.add_names(&c, &att.aliases, &ep);
                self.networks.scope_dns(&c.id, &r.id, true);
            }
            att.endpoint = Some(ep);
            att.endpoint_id = crate::containers::random_id()?;
        }
        let saved = {
            let mut rec = entry.record();
            rec.networks.insert(r.name.clone(), att.clone());
            let saved = self.db.save(&rec, true);
            if saved.is_err() {
                rec.networks.remove(&r.name);
            }
            saved
        };
        if let Err(e) = saved {
            if let Some(ep) = att.endpoint {
                self.detach_one(&c.id, ep).await;
            }
            return Err(e);
        }
        if c.state.running {
            self.write_endpoints_file(&entry);
            self.network_event("connect", &r.id, &r.name, &c.id);
        }
        Ok(())
    }

    /// `POST /networks/{id}/disconnect`.
    pub async fn network_disconnect(&self, key: &str, req: NetworkDisconnectRequest) -> Result<()> {
        let r = self.networks.state.lock().await.find(key)?.clone();
        // `Force` changes nothing here: Berth has no endpoint left by a container that is
        // gone, which is what it forces out in dockerd.
        let entry = self.lookup(&req.container)?;
        let _op = entry.op.lock().await;
        let (id, att) = {
            let rec = entry.record();
            match rec.networks.get(&r.name) {
                Some(a) => (rec.id.clone(), a.clone()),
                None => {
                    return Err(Error::new(
                        ErrorKind::Forbidden,
                        format!(
                            "container {} is not connected to network {}",
                            rec.id, r.name
                        ),
                    ));
                }
            }
        };
        let saved = {
            let mut rec = entry.record();
            rec.networks.remove(&r.name);
            let saved = self.db.save(&rec, true);
            if saved.is_err() {
                rec.networks.insert(r.name.clone(), att.clone());
            }
            saved
        };
        saved?;
        if let Some(ep) = att.endpoint {
            self.detach_one(&id, ep).await;
            self.write_endpoints_file(&entry);
            self.network_event("disconnect", &r.id, &r.name, &id);
        }
        Ok(())
    }
}
