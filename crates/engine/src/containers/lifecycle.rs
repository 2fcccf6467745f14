//! Wait, attach, kill, stop, inspect, logs and resize of a container.

use std::time::Duration;

use berth_models::{WaitError, WaitResponse};
use berth_runtime::ShimClient;
use bytes::Bytes;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

use super::{WaitCondition, parse_signal};
use crate::fault;
use crate::{Engine, Error, ErrorKind, LogOptions, PendingAttach, Result, lock};

impl Engine {
    /// `POST /containers/{id}/wait`: checks the container now, then returns a future that
    /// resolves when `condition` is met.
    pub fn wait(
        &self,
        key: &str,
        condition: WaitCondition,
    ) -> Result<impl Future<Output = WaitResponse> + Send + 'static> {
        let entry = self.lookup(key)?;
        let mut rx = entry.progress.subscribe();
        let start = rx.borrow_and_update().clone();
        Ok(async move {
            let _ = rx
                .wait_for(|p| {
                    p.removed
                        || match condition {
                            WaitCondition::NotRunning => !p.running,
                            WaitCondition::NextExit => p.exits > start.exits,
                            WaitCondition::Removed => false,
                        }
                })
                .await;
            // As in Docker, a removed container's wait carries no error (`run --rm` of a
            // command that cannot be executed reports the start error only).
            let removed = rx.borrow().removed;
            let r = entry.record();
            WaitResponse {
                status_code: r.state.exit_code,
                error: (!r.state.error.is_empty() && !removed).then(|| WaitError {
                    message: r.state.error.clone(),
                }),
            }
        })
    }

    /// `POST /containers/{id}/attach`: a receiver for the container's stdio stream (framed
    /// when it has no TTY), available at once if it runs, else once it starts; and whether
    /// it has a TTY.
    pub async fn attach(
        &self,
        key: &str,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<(oneshot::Receiver<Result<UnixStream>>, bool)> {
        let entry = self.lookup(key)?;
        let (tx, rx) = oneshot::channel();
        let (running, tty, id) = {
            let r = entry.record();
            self.container_event(&r, "attach", &[]);
            (r.state.running, r.config.tty, r.id.clone())
        };
        if running {
            let shim = ShimClient::new(&self.paths(&id).bundle);
            let _ = tx.send(
                shim.attach(stdin, stdout, stderr)
                    .await
                    .map_err(Error::from),
            );
        } else {
            lock(&entry.pending).push(PendingAttach {
                stdin,
                stdout,
                stderr,
                tx,
            });
        }
        Ok((rx, tty))
    }

    /// `POST /containers/{id}/kill`.
    pub async fn kill(&self, key: &str, signal: Option<&str>) -> Result<()> {
        let entry = self.lookup(key)?;
        let sig = match signal.filter(|s| !s.is_empty()) {
            Some(s) => parse_signal(s)?,
            None => libc::SIGKILL,
        };
        let (running, id) = {
            let mut r = entry.record();
            if r.state.restarting {
                // Between two runs: as dockerd, the restart is called off and the kill
                // answered.
                self.call_off_restart(&mut r)?;
                self.container_event(&r, "kill", &[("signal", sig.to_string())]);
                return Ok(());
            }
            (r.state.running, r.id.clone())
        };
        if !running {
            return Err(Error::conflict(format!(
                "Cannot kill container: {key}: Container {id} is not running"
            )));
        }
        {
            let mut r = entry.record();
            r.manually_stopped = true;
            self.container_event(&r, "kill", &[("signal", sig.to_string())]);
        }
        self.thaw_for_signal(&id).await;
        let mut rx = entry.progress.subscribe();
        match ShimClient::new(&self.paths(&id).bundle)
            .kill(sig, false)
            .await
        {
            // The shim is gone: the container exited and its exit is being recorded (or
            // the shim was lost, which ends the container too).
            Ok(()) | Err(berth_runtime::Error::ShimGone(_)) => {}
            Err(e) => return Err(e.into()),
        }
        fault::point("kill.signalled");
        // As Docker: SIGKILL (the default) returns once the container is down, so a
        // `rm` right after a `kill` finds it stopped. Other signals return at once.
        if sig == libc::SIGKILL {
            let stopped = rx.wait_for(|p| !p.running);
            if tokio::time::timeout(Duration::from_secs(10), stopped)
                .await
                .is_err()
            {
                return Err(Error::internal(format!(
                    "tried to kill container {id}, but did not receive an exit event"
                )));
            }
            self.persist_manual_stop(&entry)?;
        }
        Ok(())
    }

    /// `POST /containers/{id}/stop`: the stop signal, then SIGKILL after the timeout.
    pub async fn stop(&self, key: &str, timeout: Option<i64>, signal: Option<&str>) -> Result<()> {
        let entry = self.lookup(key)?;
        let _op = entry.op.lock().await;
        if entry.progress.borrow().removed {
            // Removed while this stop waited for it.
            return Err(Error::not_found(format!("No such container: {key}")));
        }
        // Stopped by hand: the restart policy leaves it alone (and a pending restart is off).
        {
            let mut r = entry.record();
            if r.state.restarting {
                self.call_off_restart(&mut r)?;
                return Ok(());
            }
            r.manually_stopped = true;
        }
        let (running, id, sig, default_timeout) = {
            let r = entry.record();
            let sig = match signal
                .filter(|s| !s.is_empty())
                .or(r.config.stop_signal.as_deref())
            {
                Some(s) => parse_signal(s)?,
                None => libc::SIGTERM,
            };
            (
                r.state.running,
                r.id.clone(),
                sig,
                r.config.stop_timeout.unwrap_or(10),
            )
        };
        if !running {
            return Err(Error::new(
                ErrorKind::NotModified,
                "container already stopped",
            ));
        }
        self.thaw_for_signal(&id).await;
        let shim = ShimClient::new(&self.paths(&id).bundle);
        let timeout = timeout.unwrap_or(default_timeout);
        let mut rx = entry.progress.subscribe();
        if timeout != 0 {
            self.container_event(
                &entry.record().clone(),
                "kill",
                &[("signal", sig.to_string())],
            );
            if let Err(e) = shim.kill(sig, false).await {
                tracing::warn!("sending stop signal: {e}");
            }
            fault::point("stop.signalled");
        }
        let stopped = async {
            let _ = rx.wait_for(|p| !p.running).await;
        };
        let waited = if timeout < 0 {
            stopped.await;
            true
        } else {
            tokio::time::timeout(Duration::from_secs(timeout as u64), stopped)
                .await
                .is_ok()
        };
        if !waited {
            self.container_event(
                &entry.record().clone(),
                "kill",
                &[("signal", libc::SIGKILL.to_string())],
            );
            let _ = shim.kill(libc::SIGKILL, true).await;
            let _ = entry.progress.subscribe().wait_for(|p| !p.running).await;
        }
        self.persist_manual_stop(&entry)?;
        self.container_event(&entry.record().clone(), "stop", &[]);
        Ok(())
    }

    /// A pending restart called off by a stop or kill: durably (the restart policy must
    /// not undo it after a crash), and nothing changes, unanswered, when that cannot be
    /// written.
    fn call_off_restart(&self, r: &mut crate::containers::record::Container) -> Result<()> {
        let mut stopped = r.clone();
        stopped.manually_stopped = true;
        stopped.state.restarting = false;
        stopped.state.status = "exited".into();
        self.db.save(&stopped, true)?;
        *r = stopped;
        Ok(())
    }

    /// A stop or kill by hand is answered only once it holds after a crash: where the
    /// restart policy would undo it and the exit's own (durable) write failed (a full
    /// disk), the record (exited, stopped by hand) is written again.
    fn persist_manual_stop(&self, entry: &crate::Entry) -> Result<()> {
        let r = entry.record();
        let p = entry.progress.borrow().clone();
        if !p.exit_unsaved
            || p.removed
            || r.state.running
            || matches!(r.host_config.restart_policy.name.as_str(), "" | "no")
        {
            return Ok(());
        }
        self.db.save(&r, true)?;
        drop(r);
        entry.progress.send_modify(|p| p.exit_unsaved = false);
        Ok(())
    }

    /// `GET /containers/{id}/json`.
    pub fn inspect(&self, key: &str) -> Result<berth_models::ContainerInspect> {
        let entry = self.lookup(key)?;
        let c = entry.record().clone();
        let layers = self.store.layer_dirs_of(&c.image_id).unwrap_or_default();
        Ok(c.inspect(&self.paths(&c.id), &layers))
    }

    /// `GET /containers/{id}/logs`: a receiver of output chunks, and whether it has a TTY.
    pub fn logs(&self, key: &str, opts: LogOptions) -> Result<(mpsc::Receiver<Bytes>, bool)> {
        let entry = self.lookup(key)?;
        let (path, tty) = {
            let r = entry.record();
            (r.log_file(&self.paths(&r.id)), r.config.tty)
        };
        let path = path.ok_or_else(|| {
            Error::new(
                ErrorKind::NotImplemented,
                "configured logging driver does not support reading",
            )
        })?;
        let (tx, rx) = mpsc::channel(16);
        let progress = entry.progress.subscribe();
        let log = crate::containers::logs::OpenLog::open(&path);
        tokio::spawn(crate::containers::logs::stream(
            path, log, opts, tty, progress, tx,
        ));
        Ok((rx, tty))
    }

    /// `POST /containers/{id}/resize`.
    pub async fn resize(&self, key: &str, width: u16, height: u16) -> Result<()> {
        let entry = self.lookup(key)?;
        let (running, id) = {
            let r = entry.record();
            (r.state.running, r.id.clone())
        };
        if !running {
            return Err(Error::conflict(format!("Container {id} is not running")));
        }
        ShimClient::new(&self.paths(&id).bundle)
            .resize(width, height)
            .await
            .map_err(Error::from)
    }
}
