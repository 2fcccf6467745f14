//! The shim's socket protocol.
//!
//! The shim listens on `<bundle>/shim.sock`. Each connection starts with one request, a JSON
//! object on one line ([`Request`]); the shim answers with one JSON line ([`Response`]).
//! After an `attach` answer the connection becomes the container's stdio stream: bytes the
//! client writes go to the container's stdin (if asked for, and the container has an open
//! stdin); the shim writes the container's output, framed as Docker frames it when the
//! container has no TTY (8-byte header: stream 1 = stdout, 2 = stderr, 3 zero bytes, big
//! endian u32 length) and raw when it has one. The shim closes the stream once the
//! container's output is drained after exit.

use serde::{Deserialize, Serialize};

/// One request, the first line of a connection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Let the created container exec its process. Answered once exec succeeded
    /// (`Response::Started`) or failed (`Response::Error` with Docker-like message).
    Start,
    /// Answered when the container has exited (`Response::Exited`), at once if it already has.
    Wait,
    /// Send a signal to the container's init process (or to every process of it with `all`).
    Kill { signal: i32, all: bool },
    /// Current state (`Response::State`).
    State,
    /// Turn this connection into a stdio stream.
    Attach { stdin: bool, stdout: bool, stderr: bool },
    /// Resize the container's pty (no-op without TTY).
    Resize { width: u16, height: u16 },
}

/// The answer line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Response {
    Ok,
    Started { pid: i32 },
    Exited(ExitStatus),
    State(ShimState),
    Error { message: String },
}

/// How a container ended. The shim also writes it to `<bundle>/exit.json` (atomically)
/// before it exits, so it is known even when nobody was connected.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExitStatus {
    /// Exit code, or 128 + signal number when killed by a signal.
    pub exit_code: i32,
    /// The kernel's OOM killer ended it.
    pub oom_killed: bool,
    /// RFC 3339 with nanoseconds, UTC.
    pub finished_at: String,
}

/// What the shim knows now.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ShimState {
    /// `created`, `running` or `stopped`.
    pub status: String,
    /// Host pid of the container's init process (0 before create finished).
    pub pid: i32,
    /// RFC 3339 time the process was exec'd, when running or stopped.
    pub started_at: Option<String>,
    pub exit: Option<ExitStatus>,
}
