//! The probe runner: after a start, the container's health check exec'd in it through its
//! shim every interval while this run lasts, each result recorded and saved.

use std::sync::Arc;
use std::time::Duration;

use berth_models::{Health, HealthLog};
use berth_runtime::{ExecProcess, ShimClient};
use tokio::io::AsyncReadExt;

use super::{Probe, record};
use crate::{Engine, Entry, time};

/// How much of a probe's output is kept (Docker's `maxOutputLen`).
const MAX_OUTPUT: usize = 4096;

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
