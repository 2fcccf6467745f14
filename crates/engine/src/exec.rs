//! `docker exec`: processes run in a running container, through its shim.
//!
//! Exec instances live in memory only, as in Docker: created by `POST
//! /containers/{id}/exec`, started once by `POST /exec/{id}/start`, inspected by `GET
//! /exec/{id}/json` (which asks the shim for the exit code), and dropped with their
//! container.

use berth_runtime::{ExecProcess, ShimClient};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::UnixStream;

use crate::{Engine, Error, Result, lock};

/// Body of `POST /containers/{id}/exec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecConfig {
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub tty: bool,
    pub env: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub user: String,
    pub working_dir: String,
    pub privileged: bool,
    pub detach_keys: String,
    /// `[height, width]` of the TTY from the start (API 1.42+; also in the start body).
    pub console_size: Option<[u16; 2]>,
}

/// One exec instance.
#[derive(Debug, Clone)]
pub(crate) struct ExecRecord {
    container_id: String,
    config: ExecConfig,
    started: bool,
    pid: i32,
    exit_code: Option<i32>,
}

/// Docker's exit code for a process that could not be exec'd.
fn exec_failure_code(message: &str) -> i32 {
    if message.starts_with("chdir to cwd") {
        // A missing working directory: the process was found but cannot start there.
        126
    } else if message.contains("not found") || message.contains("no such file") {
        127
    } else {
        126
    }
}

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
        crate::warm_cgroups();
        let (id, running) = {
            let r = entry.record();
            (r.id.clone(), r.state.running && !r.state.paused)
        };
        if !running {
            return Err(Error::conflict(format!("Container {id} is not running")));
        }
        if config.cmd.as_ref().is_none_or(|c| c.is_empty()) {
            return Err(Error::invalid("No exec command specified"));
        }
        let exec_id = crate::containers::random_id()?;
        self.container_event(
            &entry.record().clone(),
            &format!(
                "exec_create: {}",
                config.cmd.as_deref().unwrap_or(&[]).join(" ")
            ),
            &[("execID", exec_id.clone())],
        );
        lock(&self.execs).insert(
            exec_id.clone(),
            ExecRecord {
                container_id: id,
                config,
                started: false,
                pid: 0,
                exit_code: None,
            },
        );
        Ok(exec_id)
    }

    fn exec_record(&self, exec_id: &str) -> Result<ExecRecord> {
        lock(&self.execs)
            .get(exec_id)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("No such exec instance: {exec_id}")))
    }

    /// Whether exec `exec_id` exists, is not started yet, and its container runs; returns
    /// whether it has a TTY. Called before the connection is hijacked.
    /// The TTY size the exec's start asked for (`ConsoleSize` in its body).
    pub fn exec_console_size(&self, exec_id: &str, size: [u16; 2]) {
        if let Some(r) = lock(&self.execs).get_mut(exec_id) {
            r.config.console_size = Some(size);
        }
    }

    pub fn exec_check(&self, exec_id: &str) -> Result<bool> {
        let rec = self.exec_record(exec_id)?;
        if rec.started {
            return Err(Error::conflict(format!(
                "Exec command {exec_id} has already run"
            )));
        }
        let entry = self.lookup(&rec.container_id)?;
        if !entry.record().state.running {
            return Err(Error::conflict(format!(
                "Container {} is not running",
                rec.container_id
            )));
        }
        Ok(rec.config.tty)
    }

    /// `POST /exec/{id}/start`: run it. Without `detach`, returns its stdio stream (framed
    /// unless it has a TTY), which ends when the process exited. When the command cannot
    /// be exec'd, the exec's exit code becomes 126 or 127 and the error is returned.
    pub async fn exec_start(&self, exec_id: &str, detach: bool) -> Result<Option<UnixStream>> {
        self.exec_check(exec_id)?;
        let rec = {
            let mut execs = lock(&self.execs);
            let rec = execs
                .get_mut(exec_id)
                .ok_or_else(|| Error::not_found(format!("No such exec instance: {exec_id}")))?;
            if rec.started {
                return Err(Error::conflict(format!(
                    "Exec command {exec_id} has already run"
                )));
            }
            rec.started = true;
            rec.clone()
        };
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
        match shim.exec(exec_id, process, detach).await {
            Ok((pid, stream)) => {
                if let Some(r) = lock(&self.execs).get_mut(exec_id) {
                    r.pid = pid;
                }
                Ok((!detach).then_some(stream))
            }
            Err(berth_runtime::Error::Exec(m)) => {
                if let Some(r) = lock(&self.execs).get_mut(exec_id) {
                    r.exit_code = Some(exec_failure_code(&m));
                }
                Err(Error::invalid(format!(
                    "OCI runtime exec failed: exec failed: unable to start container process: {m}: unknown"
                )))
            }
            Err(e) => {
                if let Some(r) = lock(&self.execs).get_mut(exec_id) {
                    r.exit_code = Some(126);
                }
                match e {
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
    pub async fn exec_inspect(&self, exec_id: &str) -> Result<Value> {
        let mut rec = self.exec_record(exec_id)?;
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
            if let Some(code) = rec.exit_code
                && let Some(r) = lock(&self.execs).get_mut(exec_id)
            {
                r.exit_code = Some(code);
            }
        }
        let cmd = rec.config.cmd.clone().unwrap_or_default();
        Ok(json!({
            "ID": exec_id,
            "Running": running,
            "ExitCode": rec.exit_code,
            "ProcessConfig": {
                "tty": rec.config.tty,
                "entrypoint": cmd.first().cloned().unwrap_or_default(),
                "arguments": cmd.get(1..).unwrap_or(&[]),
                "privileged": rec.config.privileged,
                "user": rec.config.user,
            },
            "OpenStdin": rec.config.attach_stdin,
            "OpenStderr": rec.config.attach_stderr,
            "OpenStdout": rec.config.attach_stdout,
            "CanRemove": false,
            "ContainerID": rec.container_id,
            "DetachKeys": rec.config.detach_keys,
            "Pid": rec.pid,
        }))
    }

    /// `POST /exec/{id}/resize`.
    pub async fn exec_resize(&self, exec_id: &str, width: u16, height: u16) -> Result<()> {
        let rec = self.exec_record(exec_id)?;
        let shim = ShimClient::new(&self.paths(&rec.container_id).bundle);
        shim.exec_resize(exec_id, width, height)
            .await
            .map_err(Error::from)
    }

    /// Forget the execs of a removed container.
    pub(crate) fn drop_execs(&self, container_id: &str) {
        lock(&self.execs).retain(|_, r| r.container_id != container_id);
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

    #[test]
    fn failure_codes_match_docker() {
        assert_eq!(
            exec_failure_code("exec: \"x\": executable file not found in $PATH"),
            127
        );
        assert_eq!(exec_failure_code("exec: \"/etc\": permission denied"), 126);
    }
}
