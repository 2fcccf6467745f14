//! Which events a `GET /events` wants: its `filters` checked against dockerd's keys, and
//! matched against each event.

use super::Event;
use crate::Result;
use crate::filters::{Filters, check_keys};

impl Event {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::tests::ev;

    fn filters(pairs: &[(&str, &str)]) -> Filters {
        let mut f = Filters::new();
        for (k, v) in pairs {
            f.entry(k.to_string()).or_default().push(v.to_string());
        }
        f
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
}
