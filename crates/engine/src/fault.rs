//! Fault points, for crash tests: with `BERTH_FAULT=<point>[,<point>...]` in its
//! environment, berthd kills itself with SIGKILL when it reaches a named point, so a test
//! can crash it exactly between two steps of an operation and check what a restarted
//! daemon makes of it (`tests/tests/faults.rs`). `<point>@N` crashes on the Nth time the
//! point is reached instead of the first. The points are listed in [`POINTS`].
//!
//! Always compiled in: without the variable a point costs one atomic load (the parsed
//! variable, read once).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Every fault point, `<operation>.<where>`: the daemon dies after the step named.
pub const POINTS: &[&str] = &[
    // create: the container's directory and files written, no record yet.
    "create.files",
    // create: the record committed, the answer not sent.
    "create.recorded",
    // start: the bundle written, no shim yet.
    "start.bundle",
    // start: the shim created the container (its init waits), not started.
    "start.created",
    // start: the process exec'd, its start not recorded.
    "start.exec",
    // start: the start recorded, the answer not sent.
    "start.recorded",
    // an exit: reported by the shim, not recorded.
    "exit.reported",
    // stop: the stop signal sent, the exit not seen.
    "stop.signalled",
    // kill (and rm -f): the signal sent, the exit not seen.
    "kill.signalled",
    // exec: the process exec'd in the container, the answer not sent.
    "exec.started",
    // remove: the container's processes ended, its directory still in place.
    "remove.ended",
    // remove: the directory renamed away, the record still there.
    "remove.renamed",
    // remove: the record dropped, the files not deleted.
    "remove.unrecorded",
    // load: the images committed to the store, the answer not sent.
    "load.stored",
    // commit: the container frozen, no layer written yet.
    "commit.frozen",
    // commit: the image committed, the container still frozen.
    "commit.stored",
    // rename: the record saved with the new name, the answer not sent.
    "rename.saved",
];

struct Armed {
    name: String,
    /// Crash on this hit (1 = the first).
    at: u64,
    hits: AtomicU64,
}

fn armed() -> &'static [Armed] {
    static ARMED: OnceLock<Vec<Armed>> = OnceLock::new();
    ARMED.get_or_init(|| {
        let Ok(spec) = std::env::var("BERTH_FAULT") else {
            return Vec::new();
        };
        spec.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                let (name, at) = match p.trim().split_once('@') {
                    Some((n, at)) => (n, at.parse().unwrap_or(1)),
                    None => (p.trim(), 1),
                };
                if !POINTS.contains(&name) {
                    tracing::warn!("BERTH_FAULT: no fault point {name:?} (known: {POINTS:?})");
                }
                Armed {
                    name: name.to_string(),
                    at,
                    hits: AtomicU64::new(0),
                }
            })
            .collect()
    })
}

/// Check the variable now (berthd calls this at start, so a misspelled point is reported
/// at once).
pub fn init() {
    let points = armed();
    if !points.is_empty() {
        let names: Vec<String> = points
            .iter()
            .map(|p| format!("{}@{}", p.name, p.at))
            .collect();
        tracing::warn!("BERTH_FAULT: berthd will kill itself at {names:?}");
    }
}

/// Fault point `name` (one of [`POINTS`]): SIGKILL ourselves if it is armed and due.
pub(crate) fn point(name: &'static str) {
    debug_assert!(POINTS.contains(&name), "unlisted fault point {name}");
    let points = armed();
    if points.is_empty() {
        return;
    }
    for p in points.iter().filter(|p| p.name == name) {
        if p.hits.fetch_add(1, Ordering::SeqCst) + 1 == p.at {
            // Written straight to stderr (the test reads it in the daemon's log), then the
            // same death as `kill -9`: no destructor, no flush, no answer.
            eprintln!("berthd: fault point {name} reached: killing myself with SIGKILL");
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
            loop {
                std::thread::park();
            }
        }
    }
}
