//! What a probe's result does to `State.Health`: the status, the failing streak and the
//! kept results, by Docker's rules.

use berth_models::{Health, HealthLog};

/// Results kept in `State.Health.Log`.
const MAX_LOG: usize = 5;

/// Record one probe result in `h` as Docker does; returns whether the status changed.
pub fn record(h: &mut Health, result: HealthLog, in_start_period: bool, retries: i64) -> bool {
    let before = h.status.clone();
    if result.exit_code == 0 {
        h.failing_streak = 0;
        h.status = "healthy".into();
    } else if !(in_start_period && h.status == "starting") {
        h.failing_streak += 1;
        if h.failing_streak >= retries {
            h.status = "unhealthy".into();
        }
    }
    h.log.push(result);
    if h.log.len() > MAX_LOG {
        let extra = h.log.len() - MAX_LOG;
        h.log.drain(..extra);
    }
    h.status != before
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_docker_rules() {
        let log = |code| HealthLog {
            exit_code: code,
            ..HealthLog::default()
        };
        let mut h = Health {
            status: "starting".into(),
            ..Health::default()
        };
        // Failures in the start period do not count while starting.
        assert!(!record(&mut h, log(1), true, 2));
        assert_eq!((h.status.as_str(), h.failing_streak), ("starting", 0));
        assert!(!record(&mut h, log(1), false, 2));
        assert!(record(&mut h, log(1), false, 2));
        assert_eq!((h.status.as_str(), h.failing_streak), ("unhealthy", 2));
        assert!(record(&mut h, log(0), false, 2));
        assert_eq!((h.status.as_str(), h.failing_streak), ("healthy", 0));
        for _ in 0..10 {
            record(&mut h, log(0), false, 2);
        }
        assert_eq!(h.log.len(), MAX_LOG);
    }
}
