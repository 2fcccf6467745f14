//! Health checks (`HEALTHCHECK`, `--health-cmd`): while a container runs, its probe is
//! exec'd in it every interval; `State.Health` keeps the status (`starting`, `healthy`,
//! `unhealthy`), the failing streak and the last five results, as Docker does.
//!
//! Here: the check a container has ([`Probe`], the image's merged in); the loop that
//! execs it in `runner.rs`; what a result does to `State.Health` in `status.rs`.

mod runner;
mod status;

pub use status::record;

use std::time::Duration;

use berth_models::ContainerConfig;
use serde_json::Value;

/// Docker's defaults for a probe's unset fields.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_RETRIES: i64 = 3;

/// A container's health check, with defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// The command to exec.
    pub argv: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub retries: i64,
}

/// Nanoseconds (Docker's JSON durations); 0 or absent is `None`.
fn nanos(v: &Value, key: &str) -> Option<Duration> {
    v[key].as_u64().filter(|&n| n > 0).map(Duration::from_nanos)
}

impl Probe {
    /// The probe of `Config.Healthcheck`; `None` without one or with `["NONE"]`.
    pub fn of(config: &ContainerConfig) -> Option<Probe> {
        let hc = config.healthcheck.as_ref()?;
        let test: Vec<String> = hc["Test"]
            .as_array()?
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let argv = match test.split_first() {
            Some((kind, rest)) if kind == "CMD" && !rest.is_empty() => rest.to_vec(),
            Some((kind, rest)) if kind == "CMD-SHELL" && !rest.is_empty() => {
                let mut shell = config
                    .shell
                    .clone()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
                shell.push(rest.join(" "));
                shell
            }
            _ => return None,
        };
        Some(Probe {
            argv,
            interval: nanos(hc, "Interval").unwrap_or(DEFAULT_INTERVAL),
            timeout: nanos(hc, "Timeout").unwrap_or(DEFAULT_TIMEOUT),
            start_period: nanos(hc, "StartPeriod").unwrap_or_default(),
            retries: hc["Retries"]
                .as_i64()
                .filter(|&r| r > 0)
                .unwrap_or(DEFAULT_RETRIES),
        })
    }
}

/// Docker's merge of the image's `Healthcheck` into the container's: the container's
/// fields win, the image fills what it leaves unset.
pub fn merge(container: Option<Value>, image: Option<&Value>) -> Option<Value> {
    let Some(image) = image.filter(|v| v.is_object()) else {
        return container;
    };
    let Some(mut c) = container.filter(|v| v.is_object()) else {
        return Some(image.clone());
    };
    let unset = |v: &Value| match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Number(n) => n.as_i64() == Some(0),
        _ => false,
    };
    for key in ["Test", "Interval", "Timeout", "StartPeriod", "Retries"] {
        if unset(&c[key]) && !unset(&image[key]) {
            c[key] = image[key].clone();
        }
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(hc: Value) -> ContainerConfig {
        serde_json::from_value(json!({ "Healthcheck": hc })).unwrap_or_default()
    }

    #[test]
    fn probes_parse_with_docker_defaults() {
        let p = Probe::of(&config(json!({"Test": ["CMD-SHELL", "test -e /ok"]}))).unwrap();
        assert_eq!(p.argv, ["/bin/sh", "-c", "test -e /ok"]);
        assert_eq!(p.interval, DEFAULT_INTERVAL);
        assert_eq!(p.retries, 3);
        let p = Probe::of(&config(
            json!({"Test": ["CMD", "true"], "Interval": 200_000_000, "Retries": 2}),
        ))
        .unwrap();
        assert_eq!(p.argv, ["true"]);
        assert_eq!(p.interval, Duration::from_millis(200));
        assert_eq!(p.retries, 2);
        assert!(Probe::of(&config(json!({"Test": ["NONE"]}))).is_none());
        assert!(Probe::of(&ContainerConfig::default()).is_none());
    }

    #[test]
    fn container_fields_win_over_the_image() {
        let image = json!({"Test": ["CMD", "img"], "Interval": 5, "Retries": 9});
        let merged = merge(Some(json!({"Interval": 7})), Some(&image)).unwrap();
        assert_eq!(merged["Test"], json!(["CMD", "img"]));
        assert_eq!(merged["Interval"], 7);
        assert_eq!(merged["Retries"], 9);
        assert_eq!(merge(None, Some(&image)), Some(image.clone()));
        assert_eq!(
            merge(Some(json!({"Test": ["NONE"]})), Some(&image)).unwrap()["Test"],
            json!(["NONE"])
        );
    }
}
