//! `GET /events`: what happened to containers and images, as Docker reports it.
//!
//! Every emitted event goes to the live subscribers (a broadcast channel) and into a ring
//! of the last 256 (Docker keeps as many), which `since` replays. Events live in memory
//! only, as in Docker.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use berth_models::{EventActor, EventMessage};
use tokio::sync::broadcast;

use crate::filters::{Filters, check_keys};
use crate::{Error, Result, lock};

/// How many past events `since` can replay (Docker's `eventsLimit`).
const KEEP: usize = 256;

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

    /// Whether the event passes `filters` (type, event, container, image, label): within
    /// one key any value may match, and every key must.
    pub fn matches(&self, filters: &Filters) -> bool {
        filters.iter().all(|(key, wanted)| {
            wanted.is_empty()
                || wanted.iter().any(|w| match key.as_str() {
                    "type" => self.typ == w,
                    "event" => {
                        self.action == *w
                            || self.action.split_once(':').is_some_and(|(a, _)| a == w)
                    }
                    "container" => {
                        self.typ == "container"
                            && (self.id.starts_with(w.as_str())
                                || self.attributes.get("name") == Some(w))
                    }
                    "image" => {
                        let image = self.attributes.get("image").map(String::as_str);
                        let name = self.attributes.get("name").map(String::as_str);
                        image == Some(w)
                            || (self.typ == "image" && (self.id == *w || name == Some(w)))
                    }
                    "label" => match w.split_once('=') {
                        Some((k, v)) => self.attributes.get(k).map(String::as_str) == Some(v),
                        None => self.attributes.contains_key(w),
                    },
                    "scope" => w == "local",
                    "volume" => self.typ == "volume" && self.id == *w,
                    "network" => {
                        self.typ == "network"
                            && (self.id.starts_with(w.as_str())
                                || self.attributes.get("name") == Some(w))
                    }
                    // Berth has no daemon, plugin, node, service, secret
                    // or config events: none match.
                    _ => false,
                })
        })
    }
}

/// The filter keys of `GET /events` (dockerd's); any other is refused, not ignored.
const FILTER_KEYS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

/// Check the keys of an events request's filters: `invalid filter 'KEY'` for one dockerd
/// does not know either.
pub fn check_filters(filters: &Filters) -> Result<()> {
    check_keys(filters, FILTER_KEYS)
}

/// The daemon's event log.
pub struct Events {
    tx: broadcast::Sender<Arc<Event>>,
    recent: Mutex<VecDeque<Arc<Event>>>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            tx: broadcast::channel(1024).0,
            recent: Mutex::new(VecDeque::with_capacity(KEEP)),
        }
    }
}

impl Events {
    /// Record `e` and send it to every subscriber.
    pub fn emit(&self, e: Event) {
        let e = Arc::new(e);
        {
            let mut recent = lock(&self.recent);
            if recent.len() == KEEP {
                recent.pop_front();
            }
            recent.push_back(Arc::clone(&e));
        }
        // No subscriber is not an error.
        let _ = self.tx.send(e);
    }

    /// The kept events at or after `since` (nanoseconds), and a receiver for the ones to
    /// come, taken together so none falls between.
    pub fn subscribe(
        &self,
        since: Option<i128>,
    ) -> (Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>) {
        let recent = lock(&self.recent);
        let rx = self.tx.subscribe();
        let past = match since {
            Some(t) => recent
                .iter()
                .filter(|e| e.time_nano >= t)
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        (past, rx)
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

    fn ev(typ: &'static str, action: &str, id: &str, attrs: &[(&str, &str)]) -> Event {
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

    fn filters(pairs: &[(&str, &str)]) -> Filters {
        let mut f = Filters::new();
        for (k, v) in pairs {
            f.entry(k.to_string()).or_default().push(v.to_string());
        }
        f
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
    fn filters_match_like_docker() {
        let e = ev(
            "container",
            "exec_start: sh -c true",
            "abcdef",
            &[("image", "busybox"), ("name", "web"), ("tier", "front")],
        );
        assert!(e.matches(&Filters::new()));
        assert!(e.matches(&filters(&[("type", "container")])));
        assert!(!e.matches(&filters(&[("type", "image")])));
        assert!(e.matches(&filters(&[("event", "exec_start")])));
        assert!(e.matches(&filters(&[("event", "die"), ("event", "exec_start")])));
        assert!(e.matches(&filters(&[("container", "web")])));
        assert!(e.matches(&filters(&[("container", "abc")])));
        assert!(!e.matches(&filters(&[("container", "db")])));
        assert!(e.matches(&filters(&[("image", "busybox")])));
        assert!(e.matches(&filters(&[("label", "tier=front")])));
        assert!(e.matches(&filters(&[("label", "tier")])));
        assert!(!e.matches(&filters(&[("label", "tier=back")])));
        assert!(!e.matches(&filters(&[("type", "container"), ("container", "db")])));
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

    #[test]
    fn since_replays_the_kept_events() {
        let events = Events::default();
        for i in 0..300 {
            let mut e = ev("container", "start", "x", &[]);
            e.time_nano = i;
            events.emit(e);
        }
        let (past, _rx) = events.subscribe(Some(0));
        assert_eq!(past.len(), KEEP);
        assert_eq!(past[0].time_nano, 300 - KEEP as i128);
        let (past, _rx) = events.subscribe(Some(290));
        assert_eq!(past.len(), 10);
        let (past, _rx) = events.subscribe(None);
        assert!(past.is_empty());
    }
}
