//! Which containers `ps` filters pick, and `container prune`.

use std::sync::Arc;

use berth_models::ContainerPruneResponse;

use crate::containers::record::Container;
use crate::filters::{Filters, labels_match, parse_until};
use crate::{Engine, Error, Result, lock, time};

/// Whether a container passes the value filters of `ps`: any value of a key may match,
/// every key must (labels: every one given).
pub(super) fn ps_filters_match(r: &Container, filters: &Filters) -> bool {
    let name_matches = |pattern: &str| {
        let name = r.name.as_str();
        match (pattern.strip_prefix('^'), pattern.strip_suffix('$')) {
            (Some(p), _) if p.ends_with('$') => name == &p[..p.len() - 1],
            (Some(p), _) => name.starts_with(p.trim_start_matches('/')),
            (None, Some(p)) => name.ends_with(p),
            (None, None) => name.contains(pattern.trim_start_matches('/')),
        }
    };
    let health = r
        .state
        .health
        .as_ref()
        .map_or("none", |h| h.status.as_str());
    let image_matches = |v: &str| {
        let short = |s: &str| s.trim_start_matches("sha256:").to_string();
        r.config.image == v
            || berth_store::normalize(v).ok() == berth_store::normalize(&r.config.image).ok()
            || (v.len() >= 4 && short(&r.image_id).starts_with(&short(v)))
    };
    filters.iter().all(|(key, values)| {
        let any = |f: &dyn Fn(&str) -> bool| values.is_empty() || values.iter().any(|v| f(v));
        match key.as_str() {
            "id" => any(&|v| r.id.starts_with(v)),
            "name" => any(&name_matches),
            "label" => labels_match(|k| r.config.labels.get(k), values),
            "status" => any(&|v| r.state.status == v),
            "exited" => any(&|v| r.state.status == "exited" && r.state.exit_code.to_string() == v),
            "ancestor" => any(&image_matches),
            "health" => any(&|v| v == health),
            "network" => any(&|v| {
                let mode = r.host_config.network_mode.as_str();
                v == mode
                    || (mode.is_empty() && v == "default")
                    || r.networks.iter().any(|(name, a)| {
                        name == v || (!a.network_id.is_empty() && a.network_id.starts_with(v))
                    })
            }),
            // dockerd's: a mount's volume name or its destination.
            "volume" => any(&|v| {
                r.mount_list().iter().any(|m| {
                    m.point.name == v
                        || m.point.destination == v
                        || (!m.is_volume() && m.point.source == v)
                })
            }),
            "publish" => any(&|v| {
                r.ports()
                    .iter()
                    .any(|(k, b)| b.as_ref().is_some_and(|b| !b.is_empty()) && port_matches(v, k))
            }),
            "expose" => any(&|v| {
                r.config
                    .exposed_ports
                    .iter()
                    .flatten()
                    .any(|(k, _)| port_matches(v, k))
            }),
            "is-task" => any(&|v| v == "false"),
            _ => true,
        }
    })
}

/// `publish=`/`expose=` values (`80`, `80/tcp`, `8000-8080/udp`) against a port key
/// (`80/tcp`); no protocol means tcp, as dockerd.
fn port_matches(filter: &str, key: &str) -> bool {
    let (fp, fproto) = filter.split_once('/').unwrap_or((filter, "tcp"));
    let (kp, kproto) = key.split_once('/').unwrap_or((key, "tcp"));
    let Ok(port) = kp.parse::<u16>() else {
        return false;
    };
    let (lo, hi) = match fp.split_once('-') {
        Some((a, b)) => (a.parse().unwrap_or(1), b.parse().unwrap_or(0)),
        None => match fp.parse::<u16>() {
            Ok(p) => (p, p),
            Err(_) => return false,
        },
    };
    fproto == kproto && (lo..=hi).contains(&port)
}

impl Engine {
    /// `POST /containers/prune`: remove every container that is not running, paused or
    /// restarting (filters `until`, `label`, `label!`); the ids and the writable layers'
    /// bytes reclaimed.
    pub async fn prune(self: &Arc<Self>, filters: &Filters) -> Result<ContainerPruneResponse> {
        if let Some(k) = filters
            .keys()
            .find(|k| !["until", "label", "label!"].contains(&k.as_str()))
        {
            return Err(Error::invalid(format!("Invalid filter '{k}'")));
        }
        let until = match filters.get("until").and_then(|v| v.last()) {
            Some(u) => Some(parse_until(u)?),
            None => None,
        };
        let candidates: Vec<(String, std::path::PathBuf)> = lock(&self.containers)
            .values()
            .filter_map(|e| {
                let c = e.record();
                let busy = c.state.running || c.state.paused || c.state.restarting;
                let has = |w: &[String]| labels_match(|k| c.config.labels.get(k), w);
                let labels_ok = filters.get("label").is_none_or(|w| has(w))
                    && filters
                        .get("label!")
                        .is_none_or(|w| !w.iter().any(|w| has(std::slice::from_ref(w))));
                let created = time::unix_seconds(&c.created);
                let old_enough = until.is_none_or(|u| created < u);
                (!busy && labels_ok && old_enough)
                    .then(|| (c.id.clone(), self.paths(&c.id).upper()))
            })
            .collect();
        let mut deleted = Vec::new();
        let mut reclaimed = 0;
        for (id, upper) in candidates {
            let size =
                tokio::task::spawn_blocking(move || crate::containers::record::dir_size(&upper))
                    .await
                    .unwrap_or(0);
            // One that was started meanwhile is refused by remove and left alone.
            match self.remove(&id, false, false).await {
                Ok(()) => {
                    reclaimed += size;
                    deleted.push(id);
                }
                Err(e) => tracing::debug!("prune {id}: {e}"),
            }
        }
        self.prune_event("container", reclaimed);
        Ok(ContainerPruneResponse {
            containers_deleted: (!deleted.is_empty()).then_some(deleted),
            space_reclaimed: reclaimed,
        })
    }

    /// `GET /containers/json`, newest first.
    /// `GET /containers/json?filters=`: Docker's `ps` filters (id, name, label, status,
    /// exited, ancestor, before, since, health, network, volume, publish, expose, is-task).
    /// A `status` filter looks at every container, as without it only running ones.
    pub fn list_filtered(
        &self,
        all: bool,
        filters: &Filters,
    ) -> Result<Vec<berth_models::ContainerSummary>> {
        const KEYS: &[&str] = &[
            "id", "name", "label", "status", "exited", "ancestor", "before", "since", "health",
            "network", "volume", "publish", "expose", "is-task",
        ];
        if let Some(k) = filters.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(Error::invalid(format!("invalid filter '{k}'")));
        }
        let values = |k: &str| filters.get(k).map(Vec::as_slice).unwrap_or(&[]);
        let allowed: [(&str, &[&str]); 2] = [
            (
                "status",
                &[
                    "created",
                    "restarting",
                    "running",
                    "removing",
                    "paused",
                    "exited",
                    "dead",
                ],
            ),
            ("health", &["starting", "healthy", "unhealthy", "none"]),
        ];
        for (k, ok) in allowed {
            if let Some(v) = values(k).iter().find(|v| !ok.contains(&v.as_str())) {
                return Err(Error::invalid(format!("invalid filter '{k}={v}'")));
            }
        }
        if let Some(v) = values("exited").iter().find(|v| v.parse::<i64>().is_err()) {
            return Err(Error::invalid(format!("invalid filter 'exited={v}'")));
        }
        let created_of = |k: &str| -> Result<Option<String>> {
            values(k)
                .first()
                .map(|key| self.lookup(key).map(|e| e.record().created.clone()))
                .transpose()
        };
        let (before, since) = (created_of("before")?, created_of("since")?);
        let all = all || filters.contains_key("status");
        let map = lock(&self.containers);
        let mut rows: Vec<(String, berth_models::ContainerSummary)> = map
            .values()
            .filter_map(|e| {
                let r = e.record();
                let keep = (all || r.state.running)
                    && before.as_ref().is_none_or(|t| r.created < *t)
                    && since.as_ref().is_none_or(|t| r.created > *t)
                    && ps_filters_match(&r, filters);
                keep.then(|| (r.created.clone(), r.summary()))
            })
            .collect();
        rows.sort_by(|a, b| b.0.cmp(&a.0));
        Ok(rows.into_iter().map(|(_, v)| v).collect())
    }
}
