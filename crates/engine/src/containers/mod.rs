//! The container service: `create.rs` (the request checked against the field table of
//! `fields.rs`, limits of `limits.rs`, mounts of `mounts.rs`, and recorded), `spec.rs`
//! (HostConfig to the runtime's `ContainerSpec` parts), `start.rs` (start, the monitor,
//! exits, restart policies), `lifecycle.rs` (wait, attach, kill, stop, inspect, logs,
//! resize), `remove.rs` (remove, rename), `list.rs` (ps filters, prune), `resources.rs`
//! (pause, update, top, stats on the container's cgroup), `logs.rs` (log drivers, reading
//! logs), `record.rs` (what is persisted, and its API views), `recovery.rs` (containers and
//! shims found again after a daemon restart). This file holds what they share: ids,
//! signals, wait conditions.

use std::str::FromStr;

use nix::sys::signal::Signal;

pub(crate) mod create;
pub(crate) mod fields;
mod lifecycle;
pub(crate) mod limits;
mod list;
pub mod logs;
pub(crate) mod mounts;
pub(crate) mod record;
mod recovery;
mod remove;
mod resources;
pub(crate) mod spec;
pub(crate) mod start;
pub(crate) mod volumes;

use crate::{Error, Result};

/// `State.Error` of a container whose shim died while it ran (its exit code is 137).
const SHIM_LOST: &str = "the container's shim exited unexpectedly: container killed";
/// `State.Error` of a container recorded as running whose new start the daemon did not
/// live to finish.
const START_CUT: &str = "the daemon was stopped during a start: container killed";

/// `condition` of `POST /containers/{id}/wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    NotRunning,
    NextExit,
    Removed,
}

impl FromStr for WaitCondition {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "" | "not-running" => Ok(WaitCondition::NotRunning),
            "next-exit" => Ok(WaitCondition::NextExit),
            "removed" => Ok(WaitCondition::Removed),
            other => Err(Error::invalid(format!(
                "invalid condition: \"{other}\" (must be one of not-running, next-exit, removed)"
            ))),
        }
    }
}

/// Whether `name` has the shape of a container id (as [`random_id`] makes them).
fn is_container_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// 32 random bytes as 64 hex characters.
pub(crate) fn random_id() -> Result<String> {
    let mut buf = [0u8; 32];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom")
            .map_err(|e| Error::io("opening /dev/urandom", e))?,
        &mut buf,
    )
    .map_err(|e| Error::io("reading /dev/urandom", e))?;
    Ok(hex::encode(buf))
}

/// Parse a signal as Docker accepts it: `SIGTERM`, `TERM`, `15`.
pub fn parse_signal(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n)
            .map(|sig| sig as i32)
            .map_err(|_| Error::invalid(format!("Invalid signal: {s}")));
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name)
        .map(|sig| sig as i32)
        .map_err(|_| Error::invalid(format!("Invalid signal: {s}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_like_docker() {
        assert_eq!(parse_signal("SIGTERM").expect("ok"), 15);
        assert_eq!(parse_signal("term").expect("ok"), 15);
        assert_eq!(parse_signal("9").expect("ok"), 9);
        assert_eq!(parse_signal("KILL").expect("ok"), 9);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("999").is_err());
    }

    #[test]
    fn wait_conditions_parse() {
        assert_eq!(
            "".parse::<WaitCondition>().expect("ok"),
            WaitCondition::NotRunning
        );
        assert_eq!(
            "removed".parse::<WaitCondition>().expect("ok"),
            WaitCondition::Removed
        );
        assert!("soon".parse::<WaitCondition>().is_err());
    }
}
