//! The exec'd processes of the shim's event loop: starting one in the container, its
//! output and stdin, its exit, and its record for `exec_state`.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Instant;

use nix::unistd::Pid;

use super::*;
use crate::jsonlog::Stream;
use crate::protocol::ExecProcess;

/// A process exec'd into the container.
pub(super) struct Exec {
    pub(super) id: String,
    pub(super) pid: Pid,
    /// It has a pty.
    pub(super) tty: bool,
    /// Its stream is raw and without stderr (the start asked for a TTY stream), else
    /// framed.
    pub(super) tty_stream: bool,
    /// stdout pipe or pty master (kept for resize with a TTY).
    pub(super) out: Option<OwnedFd>,
    pub(super) err: Option<OwnedFd>,
    pub(super) stdin: Option<OwnedFd>,
    pub(super) stdin_buf: Vec<u8>,
    /// The client's input ended: close stdin once the buffer is written.
    pub(super) stdin_eof: bool,
    pub(super) master: Option<OwnedFd>,
    pub(super) reaped: Option<(i32, Instant)>,
    pub(super) exit: Option<i32>,
}

impl Shim {
    /// Fork and exec `process` into the container; returns its host pid once it exec'd.
    pub(super) fn exec(
        &mut self,
        id: &str,
        process: &ExecProcess,
        tty_stream: bool,
    ) -> Result<Pid, String> {
        if self.started_at.is_none() || self.reaped.is_some() {
            return Err(format!("container {} is not running", self.short_id()));
        }
        if self.execs.iter().any(|e| e.id == id) {
            return Err(format!("exec {id} has already been started"));
        }
        let mut process = process.clone();
        if process.user.is_empty() {
            process.user = self.p.user.clone();
        }
        let (stdio, child_stdio) = crate::shim::stdio_in(
            process.tty,
            process.open_stdin,
            Some(Path::new(&format!("/proc/{}/root", self.p.pid))),
            process.console_size,
        )
        .map_err(|e| e.to_string())?;
        let (report_r, report_w) = crate::shim::pipe().map_err(|e| e.to_string())?;
        // With another runtime the shim is outside the container's pid namespace: the
        // child is born in it all the same.
        let forked = match &self.p.runtime {
            Some(_) => {
                crate::shim::oci_runtime::fork_in_pid_ns_of(self.p.pid).map_err(|e| e.to_string())
            }
            // SAFETY: the shim is single-threaded; the child only sets itself up and execs.
            None => unsafe { nix::unistd::fork() }.map_err(|e| format!("fork: {e}")),
        };
        let pid = match forked {
            Err(e) => return Err(e),
            Ok(nix::unistd::ForkResult::Child) => {
                drop(report_r);
                drop(stdio);
                crate::shim::exec::run(crate::shim::exec::ExecArgs {
                    oci: &self.p.oci,
                    process: &process,
                    init_pid: self.p.pid,
                    cgroup: &*self.p.cgroup,
                    stdio: child_stdio,
                    report: report_w,
                    seccomp: self.p.seccomp.as_ref(),
                    group_add: &self.p.group_add,
                })
            }
            Ok(nix::unistd::ForkResult::Parent { child }) => child,
        };
        drop(child_stdio);
        drop(report_w);
        let msg = crate::shim::read_report(&report_r, false);
        if !msg.is_empty() {
            // The child exits; the SIGCHLD loop reaps it.
            return Err(
                String::from_utf8_lossy(msg.strip_prefix(b"E").unwrap_or(&msg)).into_owned(),
            );
        }
        let master = if process.tty {
            stdio.out.try_clone().ok()
        } else {
            None
        };
        if self.execs.len() >= MAX_EXEC_RECORDS
            && let Some(i) = self.execs.iter().position(|e| e.exit.is_some())
        {
            self.execs.remove(i);
        }
        self.execs.push(Exec {
            id: id.to_string(),
            pid,
            tty: process.tty,
            tty_stream,
            out: Some(stdio.out),
            err: stdio.err,
            stdin: stdio.stdin,
            stdin_buf: Vec::new(),
            stdin_eof: false,
            master,
            reaped: None,
            exit: None,
        });
        Ok(pid)
    }

    pub(super) fn short_id(&self) -> String {
        self.p
            .bundle
            .file_name()
            .map(|n| n.to_string_lossy().chars().take(12).collect())
            .unwrap_or_default()
    }

    pub(super) fn exec_reaped(&mut self, pid: Pid, code: i32) {
        if let Some(e) = self
            .execs
            .iter_mut()
            .find(|e| e.pid == pid && e.reaped.is_none())
        {
            e.reaped = Some((code, Instant::now()));
        }
    }

    pub(super) fn read_exec_output(&mut self, i: usize, stream: Stream, buf: &mut [u8]) {
        let e = &mut self.execs[i];
        let slot = match stream {
            Stream::Stdout => &mut e.out,
            Stream::Stderr => &mut e.err,
        };
        let Some(n) = read_chunk(slot, buf) else {
            return;
        };
        if n == 0 {
            return;
        }
        let data = &buf[..n];
        let raw = e.tty_stream;
        if raw && matches!(stream, Stream::Stderr) {
            // dockerd has no stderr writer for a TTY stream: it is read and dropped.
            return;
        }
        let id = e.id.clone();
        let header = frame_header(stream, n);
        for c in &mut self.conns {
            if !matches!(&c.phase, Phase::ExecAttached { exec, .. } if *exec == id) {
                continue;
            }
            if !raw {
                c.queue(&header);
            }
            c.queue(data);
            c.flush();
        }
    }

    pub(super) fn write_exec_stdin(&mut self, i: usize) {
        write_exec_stdin(&mut self.execs[i]);
    }

    /// Execs that exited and whose output is drained (or whose grace ran out): record
    /// the exit code and end their streams.
    pub(super) fn finish_execs(&mut self, buf: &mut [u8]) {
        for i in 0..self.execs.len() {
            let e = &self.execs[i];
            let Some((code, at)) = e.reaped else { continue };
            if e.exit.is_some() {
                continue;
            }
            if (e.out.is_some() || e.err.is_some()) && at.elapsed() < DRAIN_GRACE {
                continue;
            }
            // What is already in the pipes still goes out (a shim descheduled past the
            // grace loses nothing), bounded against a writer that outlived the exec.
            for stream in [Stream::Stdout, Stream::Stderr] {
                for _ in 0..64 {
                    let e = &self.execs[i];
                    let fd = match stream {
                        Stream::Stdout => &e.out,
                        Stream::Stderr => &e.err,
                    };
                    if !fd.as_ref().is_some_and(|fd| poll_readable(fd.as_raw_fd())) {
                        break;
                    }
                    self.read_exec_output(i, stream, buf);
                }
            }
            let e = &mut self.execs[i];
            e.exit = Some(code);
            e.out = None;
            e.err = None;
            e.stdin = None;
            e.master = None;
            e.stdin_buf = Vec::new();
            for c in &mut self.conns {
                if matches!(&c.phase, Phase::ExecAttached { exec, .. } if *exec == e.id) {
                    c.phase = Phase::Closing;
                    c.flush();
                }
            }
        }
    }
}

pub(super) fn write_exec_stdin(e: &mut Exec) {
    let Some(fd) = &e.stdin else { return };
    if e.stdin_buf.is_empty() {
        if e.stdin_eof {
            e.stdin = None;
        }
        return;
    }
    match nix::unistd::write(fd, &e.stdin_buf) {
        Ok(n) => {
            e.stdin_buf.drain(..n);
            if e.stdin_buf.is_empty() && e.stdin_eof {
                e.stdin = None;
            }
        }
        Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => {}
        Err(_) => {
            e.stdin = None;
            e.stdin_buf = Vec::new();
        }
    }
}
