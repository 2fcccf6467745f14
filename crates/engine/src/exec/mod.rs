//! `docker exec`: processes run in a running container, through its shim.
//!
//! Exec instances live in memory only, as in Docker: created by `POST
//! /containers/{id}/exec`, started once by `POST /exec/{id}/start`, inspected by `GET
//! /exec/{id}/json` (which asks the shim for the exit code), and dropped with their
//! container. Here: create, start, inspect and resize; the instances in `table.rs`
//! (`ExecTable`); the detach keys and the checks of a stdio session, an attach's too,
//! in `session.rs`.

mod session;
mod table;

use berth_models::{ExecConfig, ExecInspect, ProcessConfig};
use berth_runtime::{ExecProcess, ShimClient};
use tokio::net::UnixStream;

pub use session::{DEFAULT_DETACH_KEYS, StdioSession, parse_detach_keys};
pub(crate) use table::ExecTable;
use table::{ExecRecord, already_run};

use crate::{Engine, Error, Result};

/// Docker's exit code for an exec whose process could not be started, whatever the
/// reason (not found, not executable, no such working directory or user): runc's exec
/// fails, and dockerd records 126 (unlike `run`, where a missing command is 127).
const EXEC_FAILED: i32 = 126;

/// Later entries override earlier ones with the same key.
fn merge_env(base: &[String], extra: &[String]) -> Vec<String> {
    let key = |e: &String| e.split('=').next().unwrap_or("").to_string();
    let mut out: Vec<String> = base
        .iter()
        .filter(|b| !extra.iter().any(|x| key(x) == key(b)))
        .cloned()
        .collect();
    out.extend(extra.iter().cloned());
    out
}

impl Engine {
    /// `POST /containers/{id}/exec`: returns the new exec id.
    pub fn exec_create(&self, key: &str, config: ExecConfig) -> Result<String> {
        let entry = self.lookup(key)?;
        crate::warm_cgroups(self, &entry.record().host_config.runtime);
        let (id, running, paused, restarting) = {
            let r = entry.record();
            let s = &r.state;
            (r.id.clone(), s.running, s.paused, s.restarting)
        };
        // dockerd's checks and messages (a restarting container counts as running there).
        if restarting {
            return Err(Error::conflict(format!(
                "Container {id} is restarting, wait until the container is running"
            )));
        }
        if !running {
            return Err(Error::conflict(format!("Container {id} is not running")));
        }
        if paused {
            return Err(Error::conflict(format!(
                "Container {key} is paused, unpause the container before exec"
            )));
        }
        if config.cmd.as_ref().is_none_or(|c| c.is_empty()) {
            return Err(Error::invalid("No exec command specified"));
        }
        let detach_keys = if config.detach_keys.is_empty() {
            Vec::new()
        } else {
            // As dockerd: a plain error, so 500.
            parse_detach_keys(&config.detach_keys).ok_or_else(|| {
                Error::internal(format!(
                    "Invalid escape keys ({}) provided",
                    config.detach_keys
                ))
            })?
        };
        let exec_id = crate::containers::random_id()?;
        self.container_event(
            &entry.record().clone(),
            &format!(
                "exec_create: {}",
                config.cmd.as_deref().unwrap_or(&[]).join(" ")
            ),
            &[("execID", exec_id.clone())],
        );
        self.execs
            .insert(exec_id.clone(), ExecRecord::new(id, config, detach_keys));
        Ok(exec_id)
    }

    /// The TTY size the exec's start asked for (`ConsoleSize` in its body).
    pub fn exec_console_size(&self, exec_id: &str, size: [u16; 2]) {
        self.execs
            .update(exec_id, |r| r.config.console_size = Some(size));
    }

    /// Whether exec `exec_id` exists, is not started yet, and its container runs; returns
    /// how its stream is to be run. Called before the connection is hijacked.
    pub fn exec_check(&self, exec_id: &str) -> Result<StdioSession> {
        let rec = self.execs.get(exec_id)?;
        if rec.started {
            return Err(already_run(exec_id));
        }
        let entry = self.lookup(&rec.container_id)?;
        if !entry.record().state.running {
            return Err(Error::conflict(format!(
                "Container {} is not running",
                rec.container_id
            )));
        }
        let keys = if rec.detach_keys.is_empty() {
            DEFAULT_DETACH_KEYS.to_vec()
        } else {
            rec.detach_keys
        };
        Ok(StdioSession {
            tty: rec.config.tty,
            detach_keys: (rec.config.tty && rec.config.attach_stdin).then_some(keys),
        })
    }

    /// `POST /exec/{id}/start`: run it. Without `detach`, returns its stdio stream, which
    /// ends when the process exited: raw when the start asked for a TTY stream
    /// (`tty_stream`, the start body's `Tty`; stderr is then dropped, as dockerd does),
    /// else framed (a pty's output all as stdout). Whether the process gets a pty is the
    /// create's `Tty`. When the command cannot be exec'd, the exec's exit code becomes 126
    /// and the error is returned.
    pub async fn exec_start(
        &self,
        exec_id: &str,
        detach: bool,
        tty_stream: bool,
    ) -> Result<Option<UnixStream>> {
        self.exec_check(exec_id)?;
        let rec = self.execs.start(exec_id)?;
        let entry = self.lookup(&rec.container_id)?;
        let (env, user, cwd) = {
            let r = entry.record();
            self.container_event(
                &r,
                &format!(
                    "exec_start: {}",
                    rec.config.cmd.as_deref().unwrap_or(&[]).join(" ")
                ),
                &[("execID", exec_id.to_string())],
            );
            (
                merge_env(&r.config.env, rec.config.env.as_deref().unwrap_or(&[])),
                if rec.config.user.is_empty() {
                    r.config.user.clone()
                } else {
                    rec.config.user.clone()
                },
                rec.config.working_dir.clone(),
            )
        };
        let process = ExecProcess {
            args: rec.config.cmd.clone().unwrap_or_default(),
            env,
            cwd,
            user,
            tty: rec.config.tty,
            open_stdin: rec.config.attach_stdin,
            privileged: rec.config.privileged,
            console_size: rec.config.console_size,
        };
        let shim = ShimClient::new(&self.paths(&rec.container_id).bundle);
        match shim.exec(exec_id, process, detach, tty_stream).await {
            Ok((pid, stream)) => {
                crate::fault::point("exec.started");
                self.execs.update(exec_id, |r| r.pid = pid);
                Ok((!detach).then_some(stream))
            }
            Err(e) => {
                self.execs
                    .update(exec_id, |r| r.exit_code = Some(EXEC_FAILED));
                match e {
                    berth_runtime::Error::Exec(m) => Err(Error::invalid(format!(
                        "OCI runtime exec failed: exec failed: unable to start container process: {m}: unknown"
                    ))),
                    // dockerd looks the user up itself, before runc: its message is bare.
                    berth_runtime::Error::Shim(m) if m.starts_with("unable to find ") => {
                        Err(Error::invalid(m))
                    }
                    // It exited between our check and the exec.
                    berth_runtime::Error::ShimGone(_) => Err(Error::conflict(format!(
                        "Container {} is not running",
                        rec.container_id
                    ))),
                    e => Err(e.into()),
                }
            }
        }
    }

    /// `GET /exec/{id}/json`.
    pub async fn exec_inspect(&self, exec_id: &str) -> Result<ExecInspect> {
        let mut rec = self.execs.get(exec_id)?;
        let mut running = false;
        if rec.started && rec.exit_code.is_none() {
            let shim = ShimClient::new(&self.paths(&rec.container_id).bundle);
            match shim.exec_state(exec_id).await {
                Ok(s) => {
                    running = s.running;
                    rec.exit_code = s.exit_code;
                }
                // The container (and with it every exec) was killed.
                Err(_) => rec.exit_code = Some(137),
            }
            if let Some(code) = rec.exit_code {
                self.execs.update(exec_id, |r| r.exit_code = Some(code));
            }
        }
        let cmd = rec.config.cmd.clone().unwrap_or_default();
        Ok(ExecInspect {
            id: exec_id.to_string(),
            running,
            exit_code: rec.exit_code.map(i64::from),
            process_config: ProcessConfig {
                tty: rec.config.tty,
                entrypoint: cmd.first().cloned().unwrap_or_default(),
                arguments: cmd.get(1..).unwrap_or(&[]).to_vec(),
                privileged: Some(rec.config.privileged),
                user: rec.config.user.clone(),
            },
            open_stdin: rec.config.attach_stdin,
            open_stderr: rec.config.attach_stderr,
            open_stdout: rec.config.attach_stdout,
            can_remove: false,
            container_id: rec.container_id,
            // A byte string in Docker, so base64 in JSON.
            detach_keys: base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                &rec.detach_keys,
            ),
            pid: i64::from(rec.pid),
        })
    }

    /// `POST /exec/{id}/resize`.
    pub async fn exec_resize(&self, exec_id: &str, width: u16, height: u16) -> Result<()> {
        let rec = self.execs.get(exec_id)?;
        let shim = ShimClient::new(&self.paths(&rec.container_id).bundle);
        shim.exec_resize(exec_id, width, height)
            .await
            .map_err(Error::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_merges_by_key() {
        let base = vec!["PATH=/bin".to_string(), "A=1".to_string()];
        let extra = vec!["A=2".to_string(), "B=3".to_string()];
        assert_eq!(merge_env(&base, &extra), ["PATH=/bin", "A=2", "B=3"]);
    }
}
