//! `berth logs`: a container's output, demultiplexed to stdout and stderr (raw with a TTY).

use berth_client::{Client, Demux, LogsOptions, StdStream};
use clap::Args;

use crate::exit::CmdResult;
use crate::stream::write_out;
use crate::units::api_time;

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Follow log output.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Show timestamps.
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Show extra details provided to logs (the `labels`/`env` log options).
    #[arg(long)]
    pub details: bool,
    /// Number of lines to show from the end of the logs.
    #[arg(short = 'n', long)]
    pub tail: Option<String>,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m").
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs before a timestamp or relative time.
    #[arg(long)]
    pub until: Option<String>,
    pub container: String,
}

/// `berth logs [-f] [-t] [--details] [-n N] [--since T] [--until T] CONTAINER`.
pub async fn logs(c: &Client, a: LogsArgs) -> CmdResult {
    let tty = c.container_inspect(&a.container, false).await?.config.tty;
    let o = LogsOptions {
        follow: a.follow,
        timestamps: a.timestamps,
        details: a.details,
        tail: a.tail,
        since: a.since.as_deref().map(api_time),
        until: a.until.as_deref().map(api_time),
    };
    let mut body = c.container_logs(&a.container, &o).await?;
    let mut demux = Demux::default();
    while let Some(chunk) = body.next().await? {
        if tty {
            write_out(StdStream::Stdout, &chunk)?;
            continue;
        }
        for (stream, data) in demux.push(&chunk) {
            write_out(stream, &data)?;
        }
    }
    Ok(0)
}
