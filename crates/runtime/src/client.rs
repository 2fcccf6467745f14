//! The daemon's side of the shim socket.

use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::UnixStream;

use crate::Error;
use crate::protocol::{ExecProcess, ExecStatus, ExitStatus, Request, Response, ShimState};

/// Name of the shim's socket in a bundle.
pub const SOCKET_FILE: &str = "shim.sock";
/// Name of the exit record the shim leaves in a bundle.
pub const EXIT_FILE: &str = "exit.json";
/// Name of the record of a start the shim leaves in a bundle (a [`ShimState`]).
pub const STARTED_FILE: &str = "started.json";
/// Longest response line accepted from a shim.
const MAX_LINE: usize = 1 << 20;

/// Start `berth-shim` for the bundle at `bundle` and return once the container is created
/// (its process waits to be started) or creating it failed. The shim detaches (setsid,
/// double fork) so it outlives the daemon; it is never a child the daemon must reap.
pub async fn spawn_shim(shim_binary: &Path, bundle: &Path) -> crate::Result<ShimClient> {
    let out = tokio::process::Command::new(shim_binary)
        .arg(bundle)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| Error::io(format!("running {}", shim_binary.display()), e))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let msg = if msg.is_empty() {
            format!("berth-shim failed: {}", out.status)
        } else {
            msg
        };
        return Err(shim_error(msg));
    }
    Ok(ShimClient::new(bundle))
}

/// Exec failures (which read like Docker's) become [`Error::Exec`], anything else
/// [`Error::Shim`].
fn shim_error(message: String) -> Error {
    if message.starts_with("exec: ")
        || message.contains(" exec: \"")
        || message.starts_with("chdir to cwd (")
    {
        Error::Exec(message)
    } else {
        Error::Shim(message)
    }
}

/// Talks to one container's shim over `<bundle>/shim.sock`.
#[derive(Debug, Clone)]
pub struct ShimClient {
    bundle: PathBuf,
}

impl ShimClient {
    /// A client for an existing bundle (e.g. found again after a daemon restart).
    pub fn new(bundle: &Path) -> Self {
        ShimClient {
            bundle: bundle.to_path_buf(),
        }
    }

    pub fn bundle(&self) -> &Path {
        &self.bundle
    }

    /// Connect, send `req`, read the answer line. The stream is returned positioned right
    /// after the answer's newline.
    async fn call(&self, req: &Request) -> crate::Result<(Response, UnixStream)> {
        let path = self.bundle.join(SOCKET_FILE);
        let (short, _dir) =
            crate::fsutil::socket_path(&self.bundle, SOCKET_FILE).map_err(|e| match e.kind() {
                ErrorKind::NotFound => Error::ShimGone(format!("{}: {e}", path.display())),
                _ => Error::io(format!("opening {}", self.bundle.display()), e),
            })?;
        let mut stream = UnixStream::connect(&short)
            .await
            .map_err(|e| match e.kind() {
                // Reset: the shim exited with our connection still in its backlog.
                ErrorKind::NotFound | ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset => {
                    Error::ShimGone(format!("{}: {e}", path.display()))
                }
                _ => Error::io(format!("connecting to {}", path.display()), e),
            })?;
        let mut line = serde_json::to_vec(req)
            .map_err(|e| Error::Invalid(format!("encoding request: {e}")))?;
        line.push(b'\n');
        stream
            .write_all(&line)
            .await
            .map_err(|e| gone_or_io("sending request", e))?;
        let resp = read_line(&mut stream).await?;
        let resp: Response = serde_json::from_slice(&resp)
            .map_err(|e| Error::Invalid(format!("decoding shim response: {e}")))?;
        Ok((resp, stream))
    }

    async fn call_only(&self, req: &Request) -> crate::Result<Response> {
        let (resp, _) = self.call(req).await?;
        match resp {
            Response::Error { message } => Err(shim_error(message)),
            r => Ok(r),
        }
    }

    /// Exec the container's process; returns its host pid. `Error::Exec` when exec failed.
    pub async fn start(&self) -> crate::Result<i32> {
        match self.call_only(&Request::Start).await? {
            Response::Started { pid } => Ok(pid),
            r => Err(unexpected(&r)),
        }
    }

    /// Wait for the container to exit. If the shim is gone, reads `<bundle>/exit.json`.
    pub async fn wait(&self) -> crate::Result<ExitStatus> {
        match self.call(&Request::Wait).await {
            Ok((Response::Exited(status), _)) => Ok(status),
            Ok((Response::Error { message }, _)) => Err(shim_error(message)),
            Ok((r, _)) => Err(unexpected(&r)),
            // The shim may exit between accepting and answering; its record tells.
            Err(Error::ShimGone(msg)) => read_exit(&self.bundle).ok_or(Error::ShimGone(msg)),
            Err(e) => Err(e),
        }
    }

    pub async fn kill(&self, signal: i32, all: bool) -> crate::Result<()> {
        match self.call_only(&Request::Kill { signal, all }).await? {
            Response::Ok => Ok(()),
            r => Err(unexpected(&r)),
        }
    }

    /// State; when the shim is gone, a `stopped` state built from `exit.json`.
    pub async fn state(&self) -> crate::Result<ShimState> {
        match self.call(&Request::State).await {
            Ok((Response::State(s), _)) => Ok(s),
            Ok((Response::Error { message }, _)) => Err(shim_error(message)),
            Ok((r, _)) => Err(unexpected(&r)),
            Err(Error::ShimGone(msg)) => match read_exit(&self.bundle) {
                Some(exit) => Ok(ShimState {
                    status: "stopped".into(),
                    pid: 0,
                    started_at: None,
                    exit: Some(exit),
                }),
                None => Err(Error::ShimGone(msg)),
            },
            Err(e) => Err(e),
        }
    }

    /// Open a stdio stream (see [`crate::protocol`]).
    pub async fn attach(
        &self,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> crate::Result<UnixStream> {
        let (resp, stream) = self
            .call(&Request::Attach {
                stdin,
                stdout,
                stderr,
            })
            .await?;
        match resp {
            Response::Ok => Ok(stream),
            Response::Error { message } => Err(shim_error(message)),
            r => Err(unexpected(&r)),
        }
    }

    /// Run `process` in the running container. Returns its host pid and, unless `detach`,
    /// its stdio stream (framed like an attach stream, or raw with `tty_stream`: see
    /// [`Request::Exec`]), which ends once it exited. `Error::Exec` when the command could
    /// not be exec'd.
    pub async fn exec(
        &self,
        id: &str,
        process: ExecProcess,
        detach: bool,
        tty_stream: bool,
    ) -> crate::Result<(i32, UnixStream)> {
        let (resp, stream) = self
            .call(&Request::Exec {
                id: id.to_string(),
                process,
                detach,
                tty_stream,
            })
            .await?;
        match resp {
            Response::Started { pid } => Ok((pid, stream)),
            Response::Error { message } => Err(shim_error(message)),
            r => Err(unexpected(&r)),
        }
    }

    /// State of exec `id`.
    pub async fn exec_state(&self, id: &str) -> crate::Result<ExecStatus> {
        match self
            .call_only(&Request::ExecState { id: id.to_string() })
            .await?
        {
            Response::Exec(s) => Ok(s),
            r => Err(unexpected(&r)),
        }
    }

    pub async fn exec_resize(&self, id: &str, width: u16, height: u16) -> crate::Result<()> {
        match self
            .call_only(&Request::ExecResize {
                id: id.to_string(),
                width,
                height,
            })
            .await?
        {
            Response::Ok => Ok(()),
            r => Err(unexpected(&r)),
        }
    }

    pub async fn resize(&self, width: u16, height: u16) -> crate::Result<()> {
        match self.call_only(&Request::Resize { width, height }).await? {
            Response::Ok => Ok(()),
            r => Err(unexpected(&r)),
        }
    }
}

fn unexpected(r: &Response) -> Error {
    Error::Shim(format!("unexpected response: {r:?}"))
}

fn gone_or_io(ctx: &str, e: std::io::Error) -> Error {
    match e.kind() {
        ErrorKind::BrokenPipe | ErrorKind::ConnectionReset => {
            Error::ShimGone(format!("{ctx}: {e}"))
        }
        _ => Error::io(ctx, e),
    }
}

/// Read one line and nothing after its newline (the connection may go on as a stream):
/// peek at what has arrived, then take exactly up to the newline. Two syscalls for a
/// typical response instead of one per byte.
async fn read_line(stream: &mut UnixStream) -> crate::Result<Vec<u8>> {
    let mut line = Vec::with_capacity(128);
    let mut buf = [0u8; 1024];
    loop {
        stream
            .readable()
            .await
            .map_err(|e| gone_or_io("reading shim response", e))?;
        let fd = stream.as_raw_fd();
        let peeked = stream.try_io(Interest::READABLE, || {
            // SAFETY: recv writes at most `buf.len()` bytes into `buf`, which we own.
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_PEEK) };
            usize::try_from(n).map_err(|_| std::io::Error::last_os_error())
        });
        let n = match peeked {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
            Err(e) => return Err(gone_or_io("reading shim response", e)),
        };
        if n == 0 {
            return Err(Error::ShimGone(
                "connection closed before a response".into(),
            ));
        }
        let newline = buf[..n].iter().position(|&b| b == b'\n');
        let take = newline.map_or(n, |i| i + 1);
        // What was peeked is there: this read returns at once, and consumes only it.
        stream
            .read_exact(&mut buf[..take])
            .await
            .map_err(|e| gone_or_io("reading shim response", e))?;
        match newline {
            Some(i) => {
                line.extend_from_slice(&buf[..i]);
                return Ok(line);
            }
            None => line.extend_from_slice(&buf[..take]),
        }
        if line.len() >= MAX_LINE {
            return Err(Error::Invalid("shim response line too long".into()));
        }
    }
}

/// A process that runs `berth-shim BUNDLE` for a bundle directly under an exec root: a
/// shim, the launcher that waits for it to report (the daemon's child, gone once the
/// container is created), or a child the shim forked that has not exec'd yet (a container
/// init blocked before `start`, an exec being set up), which carry the same command line.
#[derive(Debug)]
pub struct ShimProcess {
    /// The container id (the bundle's name).
    pub id: String,
    /// Held by pidfd: signals go to this process, never to one that took its pid later.
    pub process: crate::linux::procs::Pidfd,
    /// Its parent's pid.
    pub parent: i32,
}

impl ShimProcess {
    /// Whether it has child processes: a shim whose container init (or an exec) is still
    /// there. A shim that has recorded the exit and only hands the rest of the output to
    /// slow clients has none.
    pub fn has_children(&self) -> bool {
        let pid = self.process.pid();
        match std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
            Ok(s) => !s.trim().is_empty(),
            // A kernel without CONFIG_PROC_CHILDREN: look for processes it is parent of.
            Err(_) => crate::linux::procs::all_pids()
                .into_iter()
                .any(|p| crate::linux::procs::parent(p) == Some(pid)),
        }
    }
}

/// Every [`ShimProcess`] of bundles directly under `exec_root` (absolute, as the daemon
/// passes bundles to shims) whose program's file name is `shim_name` (e.g. `berth-shim`).
/// Found by scanning /proc: a shim is found even when its bundle or socket is gone.
pub fn shim_processes(exec_root: &Path, shim_name: &std::ffi::OsStr) -> Vec<ShimProcess> {
    let mut out = Vec::new();
    let me = std::process::id() as i32;
    // The kernel keeps the first 15 bytes of the program's name as `comm`; reading it is
    // much cheaper than reading another process's command line (its memory).
    let comm = &shim_name.as_encoded_bytes()[..shim_name.len().min(15)];
    for pid in crate::linux::procs::all_pids() {
        if pid == me || crate::linux::procs::comm(pid).is_none_or(|c| c.as_bytes() != comm) {
            continue;
        }
        let Some(argv) = crate::linux::procs::cmdline(pid) else {
            continue;
        };
        let [prog, bundle] = argv.as_slice() else {
            continue;
        };
        let bundle = Path::new(bundle);
        if Path::new(prog).file_name() != Some(shim_name) || bundle.parent() != Some(exec_root) {
            continue;
        }
        let Some(id) = bundle.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Ok(process) = crate::linux::procs::Pidfd::open(pid) else {
            continue;
        };
        // Checked again once held: the pid may have been another process's by then.
        if crate::linux::procs::cmdline(pid).as_ref() != Some(&argv) {
            continue;
        }
        out.push(ShimProcess {
            id: id.to_string(),
            process,
            parent: crate::linux::procs::parent(pid).unwrap_or(0),
        });
    }
    out
}

/// The exit record the shim left in `bundle`, if any.
pub fn read_exit(bundle: &Path) -> Option<ExitStatus> {
    let data = std::fs::read(bundle.join(EXIT_FILE)).ok()?;
    serde_json::from_slice(&data).ok()
}

/// The record of the start the shim left in `bundle`, if the container was started.
pub fn read_started(bundle: &Path) -> Option<ShimState> {
    let data = std::fs::read(bundle.join(STARTED_FILE)).ok()?;
    serde_json::from_slice(&data).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_line_is_read_and_nothing_after_it() {
        let (mut a, mut b) = UnixStream::pair().expect("pair");
        a.write_all(b"{\"type\":\"ok\"}\nstream bytes")
            .await
            .expect("write");
        assert_eq!(read_line(&mut b).await.expect("line"), b"{\"type\":\"ok\"}");
        drop(a);
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).await.expect("rest");
        assert_eq!(rest, b"stream bytes");
    }

    #[tokio::test]
    async fn a_line_in_pieces_and_a_long_one() {
        let (mut a, mut b) = UnixStream::pair().expect("pair");
        let long = vec![b'x'; 5000];
        let writer = tokio::spawn(async move {
            a.write_all(b"par").await.expect("write");
            tokio::task::yield_now().await;
            a.write_all(b"tial\n").await.expect("write");
            a.write_all(&long).await.expect("write");
            a.write_all(b"\n").await.expect("write");
            a
        });
        assert_eq!(read_line(&mut b).await.expect("line"), b"partial");
        assert_eq!(read_line(&mut b).await.expect("line").len(), 5000);
        drop(writer.await.expect("writer"));
        assert!(matches!(read_line(&mut b).await, Err(Error::ShimGone(_))));
    }
}
