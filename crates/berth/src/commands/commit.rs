//! A container's filesystem: `commit` (its changes as an image), `diff` (what changed),
//! `export` (a tar of it).

use berth_client::models::change_type;
use berth_client::{Client, CommitOptions};
use clap::Args;
use tokio::io::AsyncWriteExt;

use crate::exit::{CmdResult, fail};
use crate::stream::is_tty;

#[derive(Args, Debug)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>").
    #[arg(short = 'a', long)]
    pub author: Option<String>,
    /// Apply Dockerfile instruction to the created image.
    #[arg(short = 'c', long = "change")]
    pub changes: Vec<String>,
    /// Commit message.
    #[arg(short = 'm', long)]
    pub message: Option<String>,
    /// Pause container during commit (`--pause=false` not to).
    #[arg(short = 'p', long, default_value_t = true, num_args = 0..=1,
          default_missing_value = "true", require_equals = true, action = clap::ArgAction::Set)]
    pub pause: bool,
    pub container: String,
    /// REPOSITORY[:TAG]
    pub reference: Option<String>,
}

#[derive(Args, Debug)]
pub struct ContainerArg {
    pub container: String,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT.
    #[arg(short = 'o', long)]
    pub output: Option<String>,
    pub container: String,
}

/// `berth commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]`: prints the new image's id.
pub async fn commit(c: &Client, a: CommitArgs) -> CmdResult {
    let o = CommitOptions {
        container: a.container,
        reference: a.reference,
        comment: a.message.unwrap_or_default(),
        author: a.author.unwrap_or_default(),
        pause: a.pause,
        changes: a.changes,
    };
    println!("{}", c.commit(&o).await?.id);
    Ok(0)
}

/// `berth diff CONTAINER`: `C`, `A` or `D` and the path, per change.
pub async fn diff(c: &Client, a: ContainerArg) -> CmdResult {
    for ch in c.container_changes(&a.container).await? {
        let kind = match ch.kind {
            change_type::MODIFIED => "C",
            change_type::ADDED => "A",
            change_type::DELETED => "D",
            _ => "?",
        };
        println!("{kind} {}", ch.path);
    }
    Ok(0)
}

/// `berth export [-o FILE] CONTAINER`: to FILE or stdout, never to a terminal.
pub async fn export(c: &Client, a: ExportArgs) -> CmdResult {
    if a.output.is_none() && is_tty(1) {
        return Err(fail(
            1,
            "cowardly refusing to save to a terminal. Use the -o flag or redirect",
        ));
    }
    let mut body = c.container_export(&a.container).await?;
    let mut out: Box<dyn tokio::io::AsyncWrite + Unpin + Send> = match &a.output {
        Some(p) => Box::new(
            tokio::fs::File::create(p)
                .await
                .map_err(|e| fail(1, format!("failed to export container: {p}: {e}")))?,
        ),
        None => Box::new(tokio::io::stdout()),
    };
    while let Some(chunk) = body.next().await? {
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    Ok(0)
}
