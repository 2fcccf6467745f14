//! Health checks (`HEALTHCHECK`, `--health-cmd`): while a container runs, its probe is
//! exec'd in it every interval; `State.Health` keeps the status (`starting`, `healthy`,
//! `unhealthy`), the failing streak and the last five results, as Docker does.

use std::sync::Arc;
use std::time::Duration;

use berth_models::{ContainerConfig, Health, HealthLog};
use berth_runtime::{ExecProcess, ShimClient};
use serde_json::Value;
use tokio::io::AsyncReadExt;

use crate::{Engine, Entry, time};

/// Docker's defaults for a probe's unset fields.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_RETRIES: i64 = 3;
/// How much of a probe's output is kept (Docker's `maxOutputLen`).
const MAX_OUTPUT: usize = 4096;
/// Results kept in `State.Health.Log`.
const MAX_LOG: usize = 5;

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

impl Engine {
    /// After a start: run the container's health check (if it has one) until it stops.
    pub(crate) fn start_health_check(self: &Arc<Self>, entry: &Arc<Entry>) {
        let (probe, id, exits) = {
            let mut r = entry.record();
            let Some(probe) = Probe::of(&r.config) else {
                return;
            };
            r.state.health = Some(Health {
                status: "starting".into(),
                ..Health::default()
            });
            (probe, r.id.clone(), entry.progress.borrow().exits)
        };
        let engine = Arc::clone(self);
        let entry = Arc::clone(entry);
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            loop {
                tokio::time::sleep(probe.interval).await;
                let still_this_run = {
                    let p = entry.progress.borrow();
                    p.running && !p.removed && p.exits == exits
                };
                if !still_this_run {
                    return;
                }
                let result = engine.run_probe(&id, &entry, &probe).await;
                let mut r = entry.record();
                let Some(h) = r.state.health.as_mut() else {
                    return;
                };
                let in_start_period = started.elapsed() < probe.start_period;
                if record(h, result, in_start_period, probe.retries) {
                    let status = h.status.clone();
                    self_event(&engine, &r, &status);
                }
                if let Err(e) = engine.db.save(&r, false) {
                    tracing::warn!("saving container state: {e}");
                }
            }
        });
    }

    /// Exec the probe in the container and wait for it (killed after the timeout).
    async fn run_probe(&self, id: &str, entry: &Arc<Entry>, probe: &Probe) -> HealthLog {
        let start = time::now_rfc3339();
        let env = entry.record().config.env.clone();
        let shim = ShimClient::new(&self.paths(id).bundle);
        let exec_id = match crate::containers::random_id() {
            Ok(i) => i,
            Err(e) => return failed(start, e.message),
        };
        let process = ExecProcess {
            args: probe.argv.clone(),
            env,
            ..ExecProcess::default()
        };
        let (pid, mut stream) = match shim.exec(&exec_id, process, false, false).await {
            Ok(s) => s,
            Err(e) => return failed(start, e.to_string()),
        };
        let mut raw = Vec::new();
        let read = tokio::time::timeout(probe.timeout, stream.read_to_end(&mut raw)).await;
        if read.is_err() {
            // SAFETY: kill(2) of the probe's host pid, which the shim just started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            return HealthLog {
                start,
                end: time::now_rfc3339(),
                exit_code: -1,
                output: format!(
                    "Health check exceeded timeout ({})",
                    humantime::format_duration(probe.timeout)
                ),
            };
        }
        // The stream ends when the probe closes its output; its exit follows at once.
        let mut exit_code = -1;
        for _ in 0..100 {
            match shim.exec_state(&exec_id).await {
                Ok(s) if !s.running => {
                    exit_code = i64::from(s.exit_code.unwrap_or(-1));
                    break;
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                Err(_) => break,
            }
        }
        HealthLog {
            start,
            end: time::now_rfc3339(),
            exit_code,
            output: demux_text(&raw),
        }
    }
}

fn self_event(engine: &Engine, c: &crate::containers::record::Container, status: &str) {
    engine.container_event(c, &format!("health_status: {status}"), &[]);
}

/// A probe that could not run.
fn failed(start: String, message: String) -> HealthLog {
    HealthLog {
        start,
        end: time::now_rfc3339(),
        exit_code: -1,
        output: message,
    }
}

/// The payload of Docker's multiplexed frames (stdout and stderr together), at most
/// [`MAX_OUTPUT`] bytes, as text.
fn demux_text(raw: &[u8]) -> String {
    let mut out = Vec::new();
    let mut rest = raw;
    while rest.len() >= 8 {
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        let end = (8 + len).min(rest.len());
        out.extend_from_slice(&rest[8..end]);
        rest = &rest[end..];
    }
    out.truncate(MAX_OUTPUT);
    String::from_utf8_lossy(&out).into_owned()
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
