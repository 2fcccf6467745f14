//! `GET /events`: what happened to containers, images, networks and volumes, as Docker
//! reports it. Events live in memory only, as in Docker.
//!
//! Here: an [`Event`] and the message it is sent as, the times `since` and `until` take,
//! and the engine's emitters of container, image and prune events; the log and its
//! subscribers in `log.rs` ([`Events`]); which events a request's filters let through in
//! `filter.rs`.

mod filter;
mod log;

use std::collections::BTreeMap;

use berth_models::{EventActor, EventMessage};

pub use filter::check_filters;
pub use log::Events;

use crate::Container;
use crate::{Engine, Error, Result};

/// One event.
#[derive(Debug, Clone)]
pub struct Event {
    /// `container`, `image`, ...
    pub typ: &'static str,
    /// `create`, `start`, `die`, `tag`...
    pub action: String,
    /// Container id, or image id / reference.
    pub id: String,
    /// `image` and `name` for containers (plus their labels and details such as
    /// `exitCode`, `signal`), `name` for images.
    pub attributes: BTreeMap<String, String>,
    /// Nanoseconds since the Unix epoch.
    pub time_nano: i128,
}

impl Event {
    /// The message Docker sends, old fields (`status`, `id`, `from`) included.
    pub fn message(&self) -> EventMessage {
        let legacy = self.typ == "container" || self.typ == "image";
        EventMessage {
            status: if legacy {
                self.action.clone()
            } else {
                String::new()
            },
            // (A prune concerns no one object: Docker leaves `id` out.)
            id: if legacy {
                self.id.clone()
            } else {
                String::new()
            },
            from: match self.attributes.get("image") {
                Some(image) if self.typ == "container" => image.clone(),
                _ => String::new(),
            },
            r#type: self.typ.to_string(),
            action: self.action.clone(),
            actor: EventActor {
                id: self.id.clone(),
                attributes: self.attributes.clone(),
            },
            scope: "local".into(),
            time: self.time_nano.div_euclid(1_000_000_000) as i64,
            time_nano: self.time_nano as i64,
        }
    }
}

impl Engine {
    /// The event log (`GET /events`).
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// Emit a container event: attributes `image` and `name`, the container's labels, and
    /// `extra` (e.g. `exitCode`).
    pub(crate) fn container_event(&self, c: &Container, action: &str, extra: &[(&str, String)]) {
        let mut attributes = c.config.labels.clone();
        attributes.insert("image".into(), c.config.image.clone());
        attributes.insert("name".into(), c.name.clone());
        for (k, v) in extra {
            attributes.insert(k.to_string(), v.clone());
        }
        self.events.emit(Event {
            typ: "container",
            action: action.into(),
            id: c.id.clone(),
            attributes,
            time_nano: now_nano(),
        });
    }

    /// Emit a container event for the container `key` names (if it still exists).
    pub fn container_event_by_key(&self, key: &str, action: &str) {
        if let Ok(entry) = self.lookup(key) {
            let c = entry.record().clone();
            self.container_event(&c, action, &[]);
        }
    }

    /// Emit an image event: `id` is the image id, `name` the reference it concerns.
    pub fn image_event(&self, action: &str, id: &str, name: &str) {
        self.events.emit(Event {
            typ: "image",
            action: action.into(),
            id: id.into(),
            attributes: [("name".to_string(), name.to_string())].into(),
            time_nano: now_nano(),
        });
    }

    /// Emit the `prune` event of `typ` (`container`, `image`): no id, the bytes reclaimed.
    pub(crate) fn prune_event(&self, typ: &'static str, reclaimed: u64) {
        self.events.emit(Event {
            typ,
            action: "prune".into(),
            id: String::new(),
            attributes: [("reclaimed".to_string(), reclaimed.to_string())].into(),
            time_nano: now_nano(),
        });
    }
}

/// Nanoseconds since the epoch, now.
pub fn now_nano() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// `since`/`until` as the API takes them: Unix seconds with an optional fraction
/// (`1700000000.123456789`, what the docker CLI sends) or an RFC 3339 time.
pub fn parse_time(s: &str) -> Result<i128> {
    let s = s.trim();
    if let Some((secs, frac)) = s.split_once('.')
        && let Ok(secs) = secs.parse::<i64>()
        && !frac.is_empty()
        && frac.len() <= 9
        && frac.bytes().all(|b| b.is_ascii_digit())
    {
        let nanos: i128 = format!("{frac:0<9}").parse().unwrap_or(0);
        return Ok(i128::from(secs) * 1_000_000_000 + nanos);
    }
    if let Ok(secs) = s.parse::<i64>() {
        return Ok(i128::from(secs) * 1_000_000_000);
    }
    crate::time::parse(s)
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i128)
        .ok_or_else(|| {
            Error::invalid(format!(
                "invalid time {s:?} (want Unix seconds or RFC 3339)"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn ev(typ: &'static str, action: &str, id: &str, attrs: &[(&str, &str)]) -> Event {
        Event {
            typ,
            action: action.into(),
            id: id.into(),
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            time_nano: 1_700_000_000_123_456_789,
        }
    }

    #[test]
    fn json_has_docker_fields() {
        let e = ev(
            "container",
            "die",
            "abc",
            &[("image", "busybox"), ("name", "web"), ("exitCode", "3")],
        );
        let v = serde_json::to_value(e.message()).expect("ser");
        assert_eq!(v["status"], "die");
        assert_eq!(v["id"], "abc");
        assert_eq!(v["from"], "busybox");
        assert_eq!(v["Actor"]["Attributes"]["exitCode"], "3");
        assert_eq!(v["time"], 1_700_000_000i64);
        assert_eq!(v["timeNano"], 1_700_000_000_123_456_789i64);
        assert_eq!(v["scope"], "local");
        // A prune concerns no one object: no `id`, and the old fields only with one.
        let mut p = ev("image", "prune", "", &[("reclaimed", "0")]);
        p.time_nano = 5;
        assert_eq!(
            serde_json::to_string(&p.message()).expect("ser"),
            r#"{"status":"prune","Type":"image","Action":"prune","Actor":{"ID":"","Attributes":{"reclaimed":"0"}},"scope":"local","timeNano":5}"#
        );
    }

    #[test]
    fn times_parse_in_both_forms() {
        assert_eq!(parse_time("1700000000").unwrap(), 1_700_000_000_000_000_000);
        assert_eq!(
            parse_time("1700000000.5").unwrap(),
            1_700_000_000_500_000_000
        );
        assert_eq!(
            parse_time("1700000000.000000001").unwrap(),
            1_700_000_000_000_000_001
        );
        assert!(parse_time("yesterday").is_err());
    }
}
