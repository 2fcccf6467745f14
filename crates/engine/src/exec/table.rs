//! The exec table: every exec instance the daemon knows, in memory only as in Docker,
//! from its create until its container is removed.

use std::collections::HashMap;
use std::sync::Mutex;

use berth_models::ExecConfig;

use crate::{Error, Result, lock};

/// One exec instance.
#[derive(Debug, Clone)]
pub(crate) struct ExecRecord {
    pub(super) container_id: String,
    pub(super) config: ExecConfig,
    /// `DetachKeys` parsed (empty: the default, Ctrl-P Ctrl-Q).
    pub(super) detach_keys: Vec<u8>,
    pub(super) started: bool,
    pub(super) pid: i32,
    pub(super) exit_code: Option<i32>,
}

impl ExecRecord {
    /// A new exec of `config` in container `container_id`, not started.
    pub(super) fn new(container_id: String, config: ExecConfig, detach_keys: Vec<u8>) -> Self {
        ExecRecord {
            container_id,
            config,
            detach_keys,
            started: false,
            pid: 0,
            exit_code: None,
        }
    }
}

/// Docker's conflict for a second start of exec `id`.
pub(super) fn already_run(id: &str) -> Error {
    Error::conflict(format!("Exec command {id} has already run"))
}

/// The exec instances by id.
#[derive(Debug, Default)]
pub(crate) struct ExecTable(Mutex<HashMap<String, ExecRecord>>);

impl ExecTable {
    pub(super) fn insert(&self, id: String, rec: ExecRecord) {
        lock(&self.0).insert(id, rec);
    }

    /// A copy of exec `id`'s record, or Docker's not-found.
    pub(super) fn get(&self, id: &str) -> Result<ExecRecord> {
        lock(&self.0).get(id).cloned().ok_or_else(|| not_found(id))
    }

    /// Change exec `id`'s record with `f`, if it is still there.
    pub(super) fn update(&self, id: &str, f: impl FnOnce(&mut ExecRecord)) {
        if let Some(r) = lock(&self.0).get_mut(id) {
            f(r);
        }
    }

    /// Mark exec `id` started, once: its record, or not found, or already run.
    pub(super) fn start(&self, id: &str) -> Result<ExecRecord> {
        let mut execs = lock(&self.0);
        let rec = execs.get_mut(id).ok_or_else(|| not_found(id))?;
        if rec.started {
            return Err(already_run(id));
        }
        rec.started = true;
        Ok(rec.clone())
    }

    /// Forget the execs of a removed container.
    pub(crate) fn drop_container(&self, container_id: &str) {
        lock(&self.0).retain(|_, r| r.container_id != container_id);
    }
}

fn not_found(id: &str) -> Error {
    Error::not_found(format!("No such exec instance: {id}"))
}
