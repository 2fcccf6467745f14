//! The shim's requests: parsed from a client's line and answered (start, kill, resize,
//! state, and the exec requests of [`super::execs`]).

use super::*;

impl Shim {
    pub(super) fn request(&mut self, i: usize, line: &[u8], rest: Vec<u8>) {
        let req: Request = match serde_json::from_slice(line) {
            Ok(r) => r,
            Err(e) => {
                let c = &mut self.conns[i];
                c.respond(&Response::Error {
                    message: format!("invalid request: {e}"),
                });
                c.phase = Phase::Closing;
                c.flush();
                return;
            }
        };
        let mut phase = Phase::Closing;
        let resp = match req {
            Request::Start => self.start(),
            Request::Wait => match &self.exit {
                Some(e) => Some(Response::Exited(e.clone())),
                None => {
                    phase = Phase::Waiting;
                    None
                }
            },
            Request::Kill { signal, all } => Some(self.kill(signal, all)),
            Request::State => Some(Response::State(self.state())),
            Request::Attach {
                stdin,
                stdout,
                stderr,
            } => {
                let stdin = stdin && self.stdin.is_some();
                phase = Phase::Attached {
                    stdin,
                    stdout,
                    stderr,
                };
                if stdin && !rest.is_empty() {
                    self.push_stdin(&rest);
                }
                Some(Response::Ok)
            }
            Request::Resize { width, height } => Some(self.resize(width, height)),
            Request::Exec {
                id,
                process,
                detach,
                tty_stream,
            } => match self.exec(&id, &process, tty_stream) {
                Ok(pid) => {
                    if !detach {
                        let stdin = process.open_stdin;
                        if stdin
                            && !rest.is_empty()
                            && let Some(e) = self.execs.iter_mut().find(|e| e.id == id)
                        {
                            e.stdin_buf.extend_from_slice(&rest);
                            write_exec_stdin(e);
                        }
                        phase = Phase::ExecAttached { exec: id, stdin };
                    }
                    Some(Response::Started { pid: pid.as_raw() })
                }
                Err(message) => Some(Response::Error { message }),
            },
            Request::ExecState { id } => Some(match self.execs.iter().find(|e| e.id == id) {
                Some(e) => Response::Exec(ExecStatus {
                    pid: e.pid.as_raw(),
                    running: e.exit.is_none(),
                    exit_code: e.exit,
                }),
                None => Response::Error {
                    message: format!("no such exec: {id}"),
                },
            }),
            Request::ExecResize { id, width, height } => {
                Some(match self.execs.iter().find(|e| e.id == id) {
                    Some(Exec {
                        master: Some(m), ..
                    }) => match crate::linux::pty::set_size(m.as_fd(), width, height) {
                        Ok(()) => Response::Ok,
                        Err(e) => Response::Error {
                            message: e.to_string(),
                        },
                    },
                    Some(_) => Response::Ok,
                    None => Response::Error {
                        message: format!("no such exec: {id}"),
                    },
                })
            }
        };
        let c = &mut self.conns[i];
        c.phase = phase;
        if let Some(r) = resp {
            c.respond(&r);
            c.flush();
        }
    }

    pub(super) fn start(&mut self) -> Option<Response> {
        if self.exit.is_some() || self.reaped.is_some() {
            return Some(Response::Error {
                message: "container has exited".into(),
            });
        }
        if self.started_at.is_some() {
            return Some(Response::Error {
                message: "container already started".into(),
            });
        }
        if let Some(rt) = &self.p.runtime {
            return Some(match rt.start() {
                Ok(()) => {
                    self.started_at = Some(now_rfc3339());
                    self.record_started();
                    Response::Started {
                        pid: self.p.pid.as_raw(),
                    }
                }
                Err(e) => Response::Error {
                    message: e.to_string(),
                },
            });
        }
        if let Err(e) = nix::unistd::write(&self.p.sync, b"S") {
            return Some(Response::Error {
                message: format!("starting container: {e}"),
            });
        }
        // Exec is quick: wait for EOF (success) or the error on the close-on-exec pipe.
        let msg = super::super::read_report(&self.p.report, false);
        if msg.is_empty() {
            self.started_at = Some(now_rfc3339());
            self.record_started();
            Some(Response::Started {
                pid: self.p.pid.as_raw(),
            })
        } else {
            let text = String::from_utf8_lossy(msg.strip_prefix(b"E").unwrap_or(&msg));
            Some(Response::Error {
                message: text.into_owned(),
            })
        }
    }

    /// `<bundle>/started.json`: the container ran, should this shim die without recording
    /// its exit (the daemon, restarted, then knows a run ended that its record may have
    /// missed). Not synced: it only needs to outlive processes, as the bundle does.
    pub(super) fn record_started(&self) {
        let state = self.state();
        match serde_json::to_vec(&state) {
            Ok(data) => {
                let path = self.p.bundle.join(crate::client::STARTED_FILE);
                if let Err(e) = crate::fsutil::write_atomic(&path, &data, false) {
                    eprintln!("berth-shim: {e}");
                }
            }
            Err(e) => eprintln!("berth-shim: encoding the start: {e}"),
        }
    }

    pub(super) fn kill(&mut self, signal: i32, all: bool) -> Response {
        let sig = match Signal::try_from(signal) {
            Ok(s) => s,
            Err(_) => {
                return Response::Error {
                    message: format!("invalid signal {signal}"),
                };
            }
        };
        if self.reaped.is_some() {
            // It exited and the daemon has not recorded that yet: as kill(2) of a zombie,
            // and as dockerd answers a kill that raced with the exit.
            return Response::Ok;
        }
        if let Some(rt) = &self.p.runtime {
            return match rt.kill(signal, all) {
                Ok(()) => Response::Ok,
                // Raced with the exit: as with a plain kill of a gone process.
                Err(_) if self.reaped.is_some() => Response::Ok,
                Err(e) => Response::Error {
                    message: e.to_string(),
                },
            };
        }
        if all {
            for pid in self.p.cgroup.pids() {
                let _ = nix::sys::signal::kill(Pid::from_raw(pid), sig);
            }
        }
        match nix::sys::signal::kill(self.p.pid, sig) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => Response::Ok,
            Err(e) => Response::Error {
                message: format!("kill: {e}"),
            },
        }
    }

    pub(super) fn resize(&mut self, width: u16, height: u16) -> Response {
        if !self.p.tty {
            return Response::Ok;
        }
        match crate::linux::pty::set_size(self.p.stdio.out.as_fd(), width, height) {
            Ok(()) => Response::Ok,
            Err(e) => Response::Error {
                message: e.to_string(),
            },
        }
    }
}
