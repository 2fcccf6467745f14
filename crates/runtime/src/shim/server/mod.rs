//! The shim's event loop: one poll(2) over the socket, its clients, the container's output
//! and a signalfd for SIGCHLD. Nothing here blocks on a client.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

mod execs;
mod requests;

use super::ShimStdio;
use crate::jsonlog::{LogWriter, Stream, now_rfc3339};
use crate::linux::cgroups::Cgroup;
use crate::protocol::{ExecStatus, ExitStatus, Request, Response, ShimState};
use execs::{Exec, write_exec_stdin};

/// Output waits while a client has this much buffered: the process then blocks on its
/// full pipe, as with dockerd, and no output is lost to a slow client.
const CLIENT_HIGH_WATER: usize = 256 * 1024;
/// Most bytes buffered for one client (a safety net: with the high water mark it is only
/// reached by what a process that outlived its container's init writes during the drain);
/// a client further behind is dropped.
const MAX_CLIENT_BUF: usize = 16 * 1024 * 1024;
/// Once the container has exited, a client that takes nothing for this long is dropped
/// with what it has not taken; until then the shim waits for it.
const CLIENT_STALL: Duration = Duration::from_secs(300);
/// Most stdin bytes buffered for the container.
const MAX_STDIN_BUF: usize = 64 * 1024;
/// Longest request line.
const MAX_REQUEST: usize = 64 * 1024;
/// How long output is drained after the init died.
const DRAIN_GRACE: Duration = Duration::from_secs(1);
/// How long requests that arrive as the process exits are waited for (see
/// `answer_late_requests`).
const LATE_REQUEST_GRACE: Duration = Duration::from_millis(100);

/// What [`super::create`] hands over.
pub struct Parts {
    pub bundle: PathBuf,
    pub tty: bool,
    pub stdin_once: bool,
    pub pid: Pid,
    pub cgroup: Cgroup,
    pub listener: UnixListener,
    pub sigfd: SignalFd,
    pub stdio: ShimStdio,
    pub sync: OwnedFd,
    pub report: OwnedFd,
    pub log: LogWriter,
    /// The container's runtime spec, for execs.
    pub oci: oci_spec::runtime::Spec,
    /// The container's user, the default for execs.
    pub user: String,
    /// The filter exec'd processes get (config.json's, compiled; None with `--privileged`
    /// or `seccomp=unconfined`).
    pub seccomp: Option<crate::linux::seccomp::Filter>,
    /// The container's `--group-add`, for execs too.
    pub group_add: Vec<String>,
    /// The OCI runtime that made the container (`--runtime`), None for Berth's own.
    pub runtime: Option<super::oci_runtime::OciRuntime>,
}

/// Finished exec records kept for `exec_state`.
const MAX_EXEC_RECORDS: usize = 256;

#[derive(Debug, PartialEq, Eq)]
enum Phase {
    Request,
    Waiting,
    Attached {
        stdin: bool,
        stdout: bool,
        stderr: bool,
    },
    /// The stdio stream of exec `exec`.
    ExecAttached {
        exec: String,
        stdin: bool,
    },
    /// Answered; closed once the output is flushed.
    Closing,
}

struct Conn {
    stream: UnixStream,
    phase: Phase,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    read_closed: bool,
    dead: bool,
}

impl Conn {
    fn queue(&mut self, data: &[u8]) {
        if self.dead {
            return;
        }
        if self.out.len() + data.len() > MAX_CLIENT_BUF {
            self.dead = true;
            return;
        }
        self.out.extend_from_slice(data);
    }

    fn respond(&mut self, r: &Response) {
        if let Ok(mut line) = serde_json::to_vec(r) {
            line.push(b'\n');
            self.queue(&line);
        }
    }

    /// Write what can be written now.
    fn flush(&mut self) {
        while !self.out.is_empty() && !self.dead {
            match self.stream.write(&self.out) {
                Ok(0) => self.dead = true,
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => self.dead = true,
            }
        }
        if self.out.is_empty() && self.out.capacity() > 64 * 1024 {
            self.out = Vec::new();
        }
        if self.out.is_empty() && self.phase == Phase::Closing {
            self.dead = true;
        }
    }
}

#[derive(Clone, Copy)]
enum Tag {
    Listener,
    Signal,
    Out,
    Err,
    Stdin,
    Conn(usize),
    ExecOut(usize),
    ExecErr(usize),
    ExecStdin(usize),
}

/// The shim's state.
pub struct Shim {
    p: Parts,
    out: Option<OwnedFd>,
    err: Option<OwnedFd>,
    stdin: Option<OwnedFd>,
    stdin_buf: Vec<u8>,
    close_stdin: bool,
    conns: Vec<Conn>,
    started_at: Option<String>,
    /// Raw exit code once the init was reaped, and when.
    reaped: Option<(i32, Instant)>,
    exit: Option<ExitStatus>,
    execs: Vec<Exec>,
}

impl Shim {
    pub fn new(mut p: Parts) -> Self {
        let out = p.stdio.out.try_clone().ok();
        let err = p.stdio.err.take();
        let stdin = p.stdio.stdin.take();
        Shim {
            p,
            out,
            err,
            stdin,
            stdin_buf: Vec::new(),
            close_stdin: false,
            conns: Vec::new(),
            started_at: None,
            reaped: None,
            exit: None,
            execs: Vec::new(),
        }
    }

    /// Serve until the container has exited and everything is written; returns the exit
    /// code for the shim process.
    pub fn run(mut self) -> i32 {
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(8);
        let mut tags: Vec<Tag> = Vec::with_capacity(8);
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            if let Some((_, at)) = self.reaped {
                let drained = self.out.is_none() && self.err.is_none();
                if drained || at.elapsed() >= DRAIN_GRACE {
                    break;
                }
            }
            fds.clear();
            tags.clear();
            let mut add = |fd: RawFd, events: libc::c_short, tag: Tag| {
                fds.push(libc::pollfd {
                    fd,
                    events,
                    revents: 0,
                });
                tags.push(tag);
            };
            add(self.p.listener.as_raw_fd(), libc::POLLIN, Tag::Listener);
            add(self.p.sigfd.as_fd().as_raw_fd(), libc::POLLIN, Tag::Signal);
            // Output is read while every client taking it has room; once the process is
            // gone, what is left in its pipes is read regardless (the drain).
            let clients_full = |conns: &[Conn], exec: Option<&str>| {
                conns.iter().any(|c| {
                    !c.dead
                        && c.out.len() >= CLIENT_HIGH_WATER
                        && match (&c.phase, exec) {
                            (Phase::Attached { .. }, None) => true,
                            (Phase::ExecAttached { exec: e, .. }, Some(id)) => e == id,
                            _ => false,
                        }
                })
            };
            let out_room = self.reaped.is_some() || !clients_full(&self.conns, None);
            if let Some(fd) = &self.out
                && out_room
            {
                add(fd.as_raw_fd(), libc::POLLIN, Tag::Out);
            }
            if let Some(fd) = &self.err
                && out_room
            {
                add(fd.as_raw_fd(), libc::POLLIN, Tag::Err);
            }
            if let Some(fd) = &self.stdin
                && !self.stdin_buf.is_empty()
            {
                add(fd.as_raw_fd(), libc::POLLOUT, Tag::Stdin);
            }
            for (i, e) in self.execs.iter().enumerate() {
                let room = e.reaped.is_some() || !clients_full(&self.conns, Some(&e.id));
                if let Some(fd) = &e.out
                    && room
                {
                    add(fd.as_raw_fd(), libc::POLLIN, Tag::ExecOut(i));
                }
                if let Some(fd) = &e.err
                    && room
                {
                    add(fd.as_raw_fd(), libc::POLLIN, Tag::ExecErr(i));
                }
                if let Some(fd) = &e.stdin
                    && !e.stdin_buf.is_empty()
                {
                    add(fd.as_raw_fd(), libc::POLLOUT, Tag::ExecStdin(i));
                }
            }
            let stdin_room = self.stdin.is_some() && self.stdin_buf.len() < MAX_STDIN_BUF;
            for (i, c) in self.conns.iter().enumerate() {
                let mut ev: libc::c_short = 0;
                let wants_in = match &c.phase {
                    Phase::Request => true,
                    Phase::Attached { stdin, .. } => !stdin || stdin_room,
                    Phase::ExecAttached { exec, stdin } => {
                        !stdin
                            || self.execs.iter().any(|e| {
                                &e.id == exec
                                    && e.stdin.is_some()
                                    && e.stdin_buf.len() < MAX_STDIN_BUF
                            })
                    }
                    Phase::Waiting | Phase::Closing => false,
                };
                if wants_in && !c.read_closed {
                    ev |= libc::POLLIN;
                }
                if !c.out.is_empty() {
                    ev |= libc::POLLOUT;
                }
                add(c.stream.as_raw_fd(), ev, Tag::Conn(i));
            }
            let grace_left =
                |at: Instant| DRAIN_GRACE.saturating_sub(at.elapsed()).as_millis() as i32 + 1;
            let mut timeout = self.reaped.map(|(_, at)| grace_left(at)).unwrap_or(-1);
            for e in &self.execs {
                if let (Some((_, at)), None) = (e.reaped, e.exit) {
                    let t = grace_left(at);
                    timeout = if timeout < 0 { t } else { timeout.min(t) };
                }
            }
            // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs for the call.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
            if n < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                break;
            }
            for (pfd, tag) in fds.iter().zip(tags.iter()) {
                if pfd.revents == 0 {
                    continue;
                }
                match *tag {
                    Tag::Listener => self.accept(),
                    Tag::Signal => self.reap(),
                    Tag::Out => self.read_output(Stream::Stdout, &mut buf),
                    Tag::Err => self.read_output(Stream::Stderr, &mut buf),
                    Tag::Stdin => self.write_stdin(),
                    Tag::Conn(i) => self.conn_event(i, pfd.revents, &mut buf),
                    Tag::ExecOut(i) => self.read_exec_output(i, Stream::Stdout, &mut buf),
                    Tag::ExecErr(i) => self.read_exec_output(i, Stream::Stderr, &mut buf),
                    Tag::ExecStdin(i) => self.write_exec_stdin(i),
                }
            }
            self.finish_execs(&mut buf);
            self.conns.retain(|c| !c.dead);
        }
        self.drain_ready_output(&mut buf);
        self.finish();
        0
    }

    /// After the drain grace: what is already in the output pipes still goes to the log and
    /// the attached clients (a shim descheduled past the grace loses nothing that was
    /// written), bounded so a writer that outlived the init cannot keep it going.
    fn drain_ready_output(&mut self, buf: &mut [u8]) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            for _ in 0..64 {
                let fd = match stream {
                    Stream::Stdout => &self.out,
                    Stream::Stderr => &self.err,
                };
                if !fd.as_ref().is_some_and(|fd| poll_readable(fd.as_raw_fd())) {
                    break;
                }
                self.read_output(stream, buf);
            }
        }
    }

    fn accept(&mut self) {
        loop {
            match self.p.listener.accept() {
                Ok((stream, _)) => {
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    self.conns.push(Conn {
                        stream,
                        phase: Phase::Request,
                        inbuf: Vec::new(),
                        out: Vec::new(),
                        read_closed: false,
                        dead: false,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }

    fn reap(&mut self) {
        while let Ok(Some(_)) = self.p.sigfd.read_signal() {}
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == self.p.pid => {
                    self.reaped = Some((code, Instant::now()));
                }
                Ok(WaitStatus::Signaled(pid, sig, _)) if pid == self.p.pid => {
                    self.reaped = Some((128 + sig as i32, Instant::now()));
                }
                Ok(WaitStatus::Exited(pid, code)) => self.exec_reaped(pid, code),
                Ok(WaitStatus::Signaled(pid, sig, _)) => self.exec_reaped(pid, 128 + sig as i32),
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }

    fn read_output(&mut self, stream: Stream, buf: &mut [u8]) {
        let slot = match stream {
            Stream::Stdout => &mut self.out,
            Stream::Stderr => &mut self.err,
        };
        let Some(n) = read_chunk(slot, buf) else {
            return;
        };
        if n == 0 {
            if let Err(e) = self.p.log.finish(stream) {
                eprintln!("berth-shim: {e}");
            }
            return;
        }
        let data = &buf[..n];
        if let Err(e) = self.p.log.write(stream, data) {
            eprintln!("berth-shim: {e}");
        }
        let header = frame_header(stream, n);
        for c in &mut self.conns {
            let Phase::Attached { stdout, stderr, .. } = c.phase else {
                continue;
            };
            let wanted = match stream {
                Stream::Stdout => stdout,
                Stream::Stderr => stderr,
            };
            if !wanted {
                continue;
            }
            if !self.p.tty {
                c.queue(&header);
            }
            c.queue(data);
            c.flush();
        }
    }

    fn write_stdin(&mut self) {
        let Some(fd) = &self.stdin else { return };
        match nix::unistd::write(fd, &self.stdin_buf) {
            Ok(n) => {
                self.stdin_buf.drain(..n);
            }
            Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => {}
            Err(_) => {
                self.stdin = None;
                self.stdin_buf = Vec::new();
            }
        }
        self.maybe_close_stdin();
    }

    fn maybe_close_stdin(&mut self) {
        if self.close_stdin && self.stdin_buf.is_empty() && !self.p.tty {
            self.stdin = None;
        }
    }

    fn conn_event(&mut self, i: usize, revents: libc::c_short, buf: &mut [u8]) {
        if revents & libc::POLLOUT != 0 {
            self.conns[i].flush();
        }
        if revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) == 0 {
            return;
        }
        let c = &mut self.conns[i];
        if c.read_closed || c.dead {
            // POLLHUP: the peer is gone both ways (a daemon that died while waiting on us):
            // poll would report it again at once, forever, so drop the connection.
            if revents & (libc::POLLERR | libc::POLLHUP) != 0 {
                c.dead = true;
            }
            return;
        }
        let n = match c.stream.read(buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                ) =>
            {
                return;
            }
            Err(_) => {
                c.dead = true;
                return;
            }
        };
        match c.phase {
            Phase::Request => {
                if n == 0 {
                    c.dead = true;
                    return;
                }
                c.inbuf.extend_from_slice(&buf[..n]);
                if let Some(nl) = c.inbuf.iter().position(|&b| b == b'\n') {
                    let rest = c.inbuf.split_off(nl + 1);
                    let line = std::mem::take(&mut c.inbuf);
                    self.request(i, &line[..nl], rest);
                } else if c.inbuf.len() > MAX_REQUEST {
                    c.respond(&Response::Error {
                        message: "request too long".into(),
                    });
                    c.phase = Phase::Closing;
                    c.flush();
                }
            }
            Phase::Attached { stdin, .. } => {
                if n == 0 {
                    c.read_closed = true;
                    if stdin && self.p.stdin_once {
                        self.close_stdin = true;
                        self.maybe_close_stdin();
                    }
                } else if stdin {
                    self.push_stdin(&buf[..n]);
                }
            }
            Phase::ExecAttached { ref exec, stdin } => {
                let exec = exec.clone();
                if n == 0 {
                    c.read_closed = true;
                }
                if let Some(e) = self.execs.iter_mut().find(|e| e.id == exec) {
                    if n == 0 {
                        // Docker closes an exec's stdin when the client's input ends.
                        if stdin && !e.tty {
                            e.stdin_eof = true;
                            write_exec_stdin(e);
                        }
                    } else if stdin && e.stdin.is_some() {
                        e.stdin_buf.extend_from_slice(&buf[..n]);
                        write_exec_stdin(e);
                    }
                }
            }
            Phase::Waiting | Phase::Closing => {
                if n == 0 {
                    c.read_closed = true;
                }
            }
        }
    }

    fn push_stdin(&mut self, data: &[u8]) {
        if self.stdin.is_none() {
            return;
        }
        self.stdin_buf.extend_from_slice(data);
        self.write_stdin();
    }

    fn state(&self) -> ShimState {
        let status = if self.exit.is_some() {
            "stopped"
        } else if self.started_at.is_some() {
            "running"
        } else {
            "created"
        };
        ShimState {
            status: status.into(),
            pid: self.p.pid.as_raw(),
            started_at: self.started_at.clone(),
            exit: self.exit.clone(),
        }
    }

    /// Requests that came in as the process exited (connections accepted, or still
    /// queued on the listener, whose request is not read yet) are read and answered with
    /// what is known now (a `wait` gets the exit), for a short while, rather than closed
    /// unread, which the client would see as a reset connection.
    fn answer_late_requests(&mut self) {
        self.accept();
        let deadline = Instant::now() + LATE_REQUEST_GRACE;
        let mut buf = vec![0u8; 4096];
        loop {
            let pending: Vec<usize> = (0..self.conns.len())
                .filter(|&i| {
                    let c = &self.conns[i];
                    matches!(c.phase, Phase::Request) && !c.dead && !c.read_closed
                })
                .collect();
            let left = deadline.saturating_duration_since(Instant::now());
            if pending.is_empty() || left.is_zero() {
                return;
            }
            let mut fds: Vec<libc::pollfd> = pending
                .iter()
                .map(|&i| libc::pollfd {
                    fd: self.conns[i].stream.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs for the call.
            let n = unsafe {
                libc::poll(
                    fds.as_mut_ptr(),
                    fds.len() as libc::nfds_t,
                    left.as_millis().max(1) as i32,
                )
            };
            if n <= 0 {
                return;
            }
            for (&i, fd) in pending.iter().zip(&fds) {
                if fd.revents != 0 {
                    self.conn_event(i, fd.revents, &mut buf);
                }
            }
        }
    }

    /// The init is gone and output drained: record, clean up, answer, exit.
    fn finish(&mut self) {
        for s in [Stream::Stdout, Stream::Stderr] {
            let _ = self.p.log.finish(s);
        }
        let code = self.reaped.map(|(c, _)| c).unwrap_or(255);
        let status = ExitStatus {
            exit_code: code,
            oom_killed: self.p.cgroup.oom_killed(),
            finished_at: now_rfc3339(),
        };
        match serde_json::to_vec(&status) {
            Ok(data) => {
                let path = self.p.bundle.join(crate::client::EXIT_FILE);
                if let Err(e) = crate::fsutil::write_atomic(&path, &data, true) {
                    eprintln!("berth-shim: {e}");
                }
            }
            Err(e) => eprintln!("berth-shim: encoding exit status: {e}"),
        }
        self.exit = Some(status.clone());
        if let Some(rt) = &self.p.runtime {
            rt.delete();
        }
        self.p.cgroup.remove();
        let _ = std::fs::remove_file(self.p.bundle.join(crate::client::SOCKET_FILE));
        self.answer_late_requests();
        for c in &mut self.conns {
            match c.phase {
                Phase::Waiting => {
                    c.respond(&Response::Exited(status.clone()));
                    c.phase = Phase::Closing;
                }
                Phase::Attached { .. } | Phase::ExecAttached { .. } | Phase::Request => {
                    c.phase = Phase::Closing
                }
                Phase::Closing => {}
            }
            c.flush();
        }
        // Clients take the rest at their pace (the exit is recorded and answered already);
        // only clients that stopped taking anything are given up.
        self.conns.retain(|c| !c.dead && !c.out.is_empty());
        let mut progress = Instant::now();
        while !self.conns.is_empty() && progress.elapsed() < CLIENT_STALL {
            let mut fds: Vec<libc::pollfd> = self
                .conns
                .iter()
                .map(|c| libc::pollfd {
                    fd: c.stream.as_raw_fd(),
                    events: libc::POLLOUT,
                    revents: 0,
                })
                .collect();
            let left = CLIENT_STALL
                .saturating_sub(progress.elapsed())
                .as_millis()
                .min(i32::MAX as u128) as i32
                + 1;
            // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs for the call.
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, left) };
            let before: usize = self.conns.iter().map(|c| c.out.len()).sum();
            for c in &mut self.conns {
                c.flush();
            }
            self.conns.retain(|c| !c.dead && !c.out.is_empty());
            let after: usize = self.conns.iter().map(|c| c.out.len()).sum();
            if after < before {
                progress = Instant::now();
            }
        }
    }
}

/// Read what `slot`'s fd has now: `None` when nothing is ready (or it is closed already),
/// `Some(0)` at the end (which also closes it: EIO from a pty whose slave side is closed
/// everywhere counts as the end), else the byte count.
/// Whether `fd` has data (or EOF) to read right now.
fn poll_readable(fd: RawFd) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, timeout 0.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    n == 1 && pfd.revents != 0
}

fn read_chunk(slot: &mut Option<OwnedFd>, buf: &mut [u8]) -> Option<usize> {
    let fd = slot.as_ref()?;
    let n = match nix::unistd::read(fd, buf) {
        Ok(n) => n,
        Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => return None,
        Err(_) => 0,
    };
    if n == 0 {
        *slot = None;
    }
    Some(n)
}

/// Docker's 8-byte stream frame header for `n` bytes of `stream`.
fn frame_header(stream: Stream, n: usize) -> [u8; 8] {
    let mut header = [0u8; 8];
    header[0] = match stream {
        Stream::Stdout => 1,
        Stream::Stderr => 2,
    };
    header[4..].copy_from_slice(&(n as u32).to_be_bytes());
    header
}
