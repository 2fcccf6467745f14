//! `berth exec`: a command in a running container, attached (with a TTY, raw, resized
//! with the terminal; detach keys as for `run`) or detached; the exit code is the
//! command's.

use berth_client::Client;
use berth_client::models::{ExecConfig, ExecStartConfig};
use clap::Args;

use super::create::expand_env;
use crate::exit::CmdResult;
use crate::stream::{Ended, Resize, Session, console_size, pump, track_size};

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Detached mode: run command in the background.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Override the key sequence for detaching a container.
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    /// Keep STDIN open even if not attached.
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Username or UID (format: "<name|uid>[:<group|gid>]").
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Working directory inside the container.
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// Set environment variables.
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Give extended privileges to the command.
    #[arg(long)]
    pub privileged: bool,
    pub container: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

/// `berth exec [OPTIONS] CONTAINER COMMAND [ARG...]`.
pub async fn exec(c: &Client, a: ExecArgs) -> CmdResult {
    let size = console_size(a.tty);
    let env: Vec<String> = a.env.iter().filter_map(|e| expand_env(e)).collect();
    let config = ExecConfig {
        user: a.user.unwrap_or_default(),
        privileged: a.privileged,
        tty: a.tty,
        console_size: size,
        attach_stdin: a.interactive && !a.detach,
        attach_stderr: !a.detach,
        attach_stdout: !a.detach,
        detach: a.detach,
        detach_keys: a.detach_keys.clone().unwrap_or_default(),
        env: Some(env),
        working_dir: a.workdir.unwrap_or_default(),
        cmd: Some(a.command),
    };
    let id = c.exec_create(&a.container, &config).await?.id;
    let start = ExecStartConfig {
        detach: a.detach,
        tty: a.tty,
        console_size: size,
    };
    if a.detach {
        c.exec_start_detached(&id, &start).await?;
        return Ok(0);
    }
    let stream = c.exec_attach(&id, &start).await?;
    let session = Session::new(a.tty, a.interactive, a.detach_keys.as_deref());
    if a.tty {
        track_size(c, Resize::Exec(id.clone()));
    }
    if pump(stream, session).await? == Ended::Detached {
        return Ok(0);
    }
    Ok(c.exec_inspect(&id).await?.exit_code.unwrap_or(126) as i32)
}
