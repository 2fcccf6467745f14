//! Timestamps as Docker writes them (RFC 3339, UTC, nanoseconds) and Docker's human
//! durations ("Up 3 seconds", "Exited (0) About a minute ago").

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_models::ZERO_TIME;

/// Now, as `2026-11-22T22:44:12.123456789Z`.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_nanos(SystemTime::now()).to_string()
}

/// Parse an RFC 3339 timestamp; `None` for Docker's zero time or garbage.
pub fn parse(ts: &str) -> Option<SystemTime> {
    if ts.is_empty() || ts == ZERO_TIME {
        return None;
    }
    humantime::parse_rfc3339_weak(ts.trim_end_matches('Z'))
        .or_else(|_| humantime::parse_rfc3339(ts))
        .ok()
}

/// Seconds since the epoch of an RFC 3339 timestamp (0 when unknown).
pub fn unix_seconds(ts: &str) -> i64 {
    parse(ts)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64)
}

/// Time elapsed since `ts` (zero when unknown or in the future).
pub fn since(ts: &str) -> Duration {
    parse(ts)
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .unwrap_or_default()
}

/// Docker's `units.HumanDuration`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let hours = secs / 3600;
    if secs < 1 {
        "Less than a second".into()
    } else if secs == 1 {
        "1 second".into()
    } else if secs < 60 {
        format!("{secs} seconds")
    } else if secs / 60 == 1 {
        "About a minute".into()
    } else if secs / 60 < 60 {
        format!("{} minutes", secs / 60)
    } else if hours == 1 {
        "About an hour".into()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", hours / 24 / 365)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_read_like_docker() {
        assert_eq!(
            human_duration(Duration::from_millis(300)),
            "Less than a second"
        );
        assert_eq!(human_duration(Duration::from_secs(1)), "1 second");
        assert_eq!(human_duration(Duration::from_secs(45)), "45 seconds");
        assert_eq!(human_duration(Duration::from_secs(100)), "About a minute");
        assert_eq!(human_duration(Duration::from_secs(600)), "10 minutes");
        assert_eq!(human_duration(Duration::from_secs(3700)), "About an hour");
        assert_eq!(human_duration(Duration::from_secs(5 * 3600)), "5 hours");
        assert_eq!(human_duration(Duration::from_secs(3 * 86400)), "3 days");
    }

    #[test]
    fn timestamps_round_trip() {
        let now = now_rfc3339();
        assert!(now.ends_with('Z'), "{now}");
        assert!(unix_seconds(&now) > 1_700_000_000);
        assert!(since(&now) < Duration::from_secs(5));
        assert_eq!(unix_seconds(ZERO_TIME), 0);
        assert_eq!(unix_seconds("2026-11-22T22:44:12.123456789Z"), 1795387452);
    }
}
