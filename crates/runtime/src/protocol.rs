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
    Attach {
        stdin: bool,
        stdout: bool,
        stderr: bool,
    },
    /// Resize the container's pty (no-op without TTY).
    Resize { width: u16, height: u16 },
    /// Run another process in the running container (`docker exec`). Answered with
    /// `Response::Started` once it exec'd, or `Response::Error` (Docker-like message).
    /// Unless `detach`, the connection then becomes the process's stdio stream, closed
    /// once it exited and its output is drained: framed like an attach stream (a pty's
    /// output all as stdout), or with `tty_stream` raw and without stderr, as dockerd
    /// sends it when the exec's start (not its create) asks for a TTY.
    Exec {
        id: String,
        process: ExecProcess,
        detach: bool,
        #[serde(default)]
        tty_stream: bool,
    },
    /// State of an exec'd process (`Response::Exec`).
    ExecState { id: String },
    /// Resize an exec'd process's pty.
    ExecResize { id: String, width: u16, height: u16 },
}

/// What to run for an exec.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ExecProcess {
    pub args: Vec<String>,
    /// Complete environment (the daemon merges the container's and the exec's).
    pub env: Vec<String>,
    /// Working directory; empty for the container's.
    pub cwd: String,
    /// `user[:group]`; empty for the container's (root).
    pub user: String,
    pub tty: bool,
    pub open_stdin: bool,
    /// All capabilities.
    pub privileged: bool,
    /// With a TTY: its size from the start, `[height, width]`.
    #[serde(default)]
    pub console_size: Option<[u16; 2]>,
}

/// State of an exec'd process.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExecStatus {
    /// Host pid.
    pub pid: i32,
    pub running: bool,
    /// Once it exited: exit code, or 128 + signal.
    pub exit_code: Option<i32>,
}

/// The answer line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Response {
    Ok,
    Started { pid: i32 },
    Exited(ExitStatus),
    State(ShimState),
    Exec(ExecStatus),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip_req(r: Request, json: &str) {
        assert_eq!(serde_json::to_string(&r).unwrap(), json);
        assert_eq!(serde_json::from_str::<Request>(json).unwrap(), r);
    }

    #[test]
    fn requests() {
        round_trip_req(Request::Start, r#"{"op":"start"}"#);
        round_trip_req(Request::Wait, r#"{"op":"wait"}"#);
        round_trip_req(
            Request::Kill {
                signal: 9,
                all: true,
            },
            r#"{"op":"kill","signal":9,"all":true}"#,
        );
        round_trip_req(
            Request::Attach {
                stdin: true,
                stdout: true,
                stderr: false,
            },
            r#"{"op":"attach","stdin":true,"stdout":true,"stderr":false}"#,
        );
        round_trip_req(
            Request::Resize {
                width: 80,
                height: 24,
            },
            r#"{"op":"resize","width":80,"height":24}"#,
        );
        round_trip_req(Request::State, r#"{"op":"state"}"#);
        round_trip_req(
            Request::Exec {
                id: "e".into(),
                process: ExecProcess::default(),
                detach: false,
                tty_stream: true,
            },
            r#"{"op":"exec","id":"e","process":{"args":[],"env":[],"cwd":"","user":"","tty":false,"open_stdin":false,"privileged":false,"console_size":null},"detach":false,"tty_stream":true}"#,
        );
    }

    #[test]
    fn responses() {
        let exit = ExitStatus {
            exit_code: 137,
            oom_killed: true,
            finished_at: "2026-11-22T22:44:12.123456789Z".into(),
        };
        let cases = [
            Response::Ok,
            Response::Started { pid: 42 },
            Response::Exited(exit.clone()),
            Response::State(ShimState {
                status: "stopped".into(),
                pid: 42,
                started_at: Some("t".into()),
                exit: Some(exit),
            }),
            Response::Error {
                message: "exec: \"x\": executable file not found in $PATH".into(),
            },
        ];
        for r in cases {
            let s = serde_json::to_string(&r).unwrap();
            assert!(!s.contains('\n'));
            assert_eq!(serde_json::from_str::<Response>(&s).unwrap(), r);
        }
        assert_eq!(
            serde_json::to_string(&Response::Started { pid: 1 }).unwrap(),
            r#"{"kind":"started","pid":1}"#
        );
        let v: serde_json::Value = serde_json::to_value(Response::Exited(ExitStatus {
            exit_code: 3,
            oom_killed: false,
            finished_at: String::new(),
        }))
        .unwrap();
        assert_eq!(v["kind"], "exited");
        assert_eq!(v["exit_code"], 3);
    }
}
