//! `docker exec`: the body of `POST /containers/{id}/exec` ([`ExecConfig`]), of
//! `POST /exec/{id}/start` ([`ExecStartConfig`]), and `GET /exec/{id}/json`
//! ([`ExecInspect`] with its [`ProcessConfig`]).

use serde::{Deserialize, Serialize};

use crate::serde_util::{nullable, string_or_vec};

/// Body of `POST /containers/{id}/exec`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ExecConfig {
    #[serde(default, deserialize_with = "nullable")]
    pub user: String,
    #[serde(default, deserialize_with = "nullable")]
    pub privileged: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub tty: bool,
    /// `[height, width]` of the TTY from the start (API 1.42+).
    #[serde(default)]
    pub console_size: Option<[u16; 2]>,
    #[serde(default, deserialize_with = "nullable")]
    pub attach_stdin: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub attach_stderr: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub attach_stdout: bool,
    /// Sent by the docker CLI (`exec -d`); as in dockerd, the create does nothing with it:
    /// the start's `Detach` decides.
    #[serde(default, deserialize_with = "nullable")]
    pub detach: bool,
    /// Keys that detach from the exec's TTY (`ctrl-p,ctrl-q` by default).
    #[serde(default, deserialize_with = "nullable")]
    pub detach_keys: String,
    #[serde(default)]
    pub env: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub working_dir: String,
    #[serde(default, deserialize_with = "string_or_vec")]
    pub cmd: Option<Vec<String>>,
}

/// Body of `POST /exec/{id}/start`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ExecStartConfig {
    /// Start it and answer at once, without its output.
    #[serde(default, deserialize_with = "nullable")]
    pub detach: bool,
    /// Send the output raw (no stream frames).
    #[serde(default, deserialize_with = "nullable")]
    pub tty: bool,
    /// `[height, width]` of the TTY (API 1.42+).
    #[serde(default)]
    pub console_size: Option<[u16; 2]>,
}

/// `GET /exec/{id}/json`, in dockerd's field order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecInspect {
    #[serde(rename = "ID")]
    pub id: String,
    pub running: bool,
    /// `null` until it exited.
    #[serde(default)]
    pub exit_code: Option<i64>,
    pub process_config: ProcessConfig,
    pub open_stdin: bool,
    pub open_stderr: bool,
    pub open_stdout: bool,
    pub can_remove: bool,
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    /// The detach keys as bytes, base64 (a byte string in Go).
    #[serde(default, deserialize_with = "nullable")]
    pub detach_keys: String,
    pub pid: i64,
}

/// `ProcessConfig` of an [`ExecInspect`]: what runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ProcessConfig {
    pub tty: bool,
    pub entrypoint: String,
    #[serde(default, deserialize_with = "nullable")]
    pub arguments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_cli_exec_body_parses() {
        // What docker CLI 28 sends for `docker exec -it c sh`.
        let c: ExecConfig = serde_json::from_str(
            r#"{"User":"","Privileged":false,"Tty":true,"ConsoleSize":[24,80],
            "AttachStdin":true,"AttachStderr":true,"AttachStdout":true,"Detach":false,
            "DetachKeys":"","Env":null,"WorkingDir":"","Cmd":["sh"]}"#,
        )
        .expect("parse");
        assert_eq!(c.console_size, Some([24, 80]));
        assert_eq!(c.cmd, Some(vec!["sh".to_string()]));
        let p = serde_json::to_value(ProcessConfig {
            privileged: Some(false),
            ..Default::default()
        })
        .expect("ser");
        assert!(p.get("user").is_none());
    }
}
