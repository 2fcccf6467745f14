//! `berth stats`: each container's resource usage, as the docker CLI's table shows it.

use berth_client::models::ContainerStatsResponse;
use berth_client::{Client, ListOptions};
use clap::Args;
use serde::Serialize;

use super::{print_rows, short_id};
use crate::exit::CmdResult;
use crate::units::{human_size, human_size_binary};

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Disable streaming stats and only pull the first result.
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// Show all containers (default shows just running).
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go
    /// template.
    #[arg(long)]
    pub format: Option<String>,
    pub containers: Vec<String>,
}

/// The docker CLI's stats fields for `--format` (alphabetical, as its `{{json .}}`).
#[derive(Debug, Serialize)]
struct Row {
    #[serde(rename = "BlockIO")]
    block_io: String,
    #[serde(rename = "CPUPerc")]
    cpu_perc: String,
    /// The container as named on the command line (its id when none was).
    #[serde(rename = "Container")]
    container: String,
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "MemPerc")]
    mem_perc: String,
    #[serde(rename = "MemUsage")]
    mem_usage: String,
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "NetIO")]
    net_io: String,
    #[serde(rename = "PIDs")]
    pids: String,
}

impl Row {
    fn titles() -> Row {
        Row {
            block_io: "BLOCK I/O".into(),
            cpu_perc: "CPU %".into(),
            container: "CONTAINER".into(),
            id: "CONTAINER ID".into(),
            mem_perc: "MEM %".into(),
            mem_usage: "MEM USAGE / LIMIT".into(),
            name: "NAME".into(),
            net_io: "NET I/O".into(),
            pids: "PIDS".into(),
        }
    }

    fn new(container: &str, s: &ContainerStatsResponse) -> Row {
        let usage = s.memory_stats.usage.unwrap_or(0) as i64;
        let limit = s.memory_stats.limit.unwrap_or(0) as i64;
        let mem_pct = if limit > 0 {
            usage as f64 / limit as f64 * 100.0
        } else {
            0.0
        };
        Row {
            block_io: block_io(s),
            cpu_perc: format!("{:.2}%", cpu_percent(s)),
            container: container.to_string(),
            id: short_id(&s.id, false),
            mem_perc: format!("{mem_pct:.2}%"),
            mem_usage: format!(
                "{} / {}",
                human_size_binary(usage),
                human_size_binary(limit)
            ),
            name: s.name.trim_start_matches('/').to_string(),
            net_io: net_io(s),
            pids: s.pids_stats.current.unwrap_or(0).to_string(),
        }
    }
}

/// The docker CLI's default `stats` table.
const DEFAULT_FORMAT: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

/// Docker's CPU percentage from a sample and its `precpu_stats`.
fn cpu_percent(s: &ContainerStatsResponse) -> f64 {
    let (now, before) = (&s.cpu_stats, &s.precpu_stats);
    let cpu = now.cpu_usage.total_usage as f64 - before.cpu_usage.total_usage as f64;
    let system =
        now.system_cpu_usage.unwrap_or(0) as f64 - before.system_cpu_usage.unwrap_or(0) as f64;
    let online = (now.online_cpus.unwrap_or(0) as f64).max(1.0);
    if cpu > 0.0 && system > 0.0 {
        cpu / system * online * 100.0
    } else {
        0.0
    }
}

/// `NET I/O`: received / sent over all the container's networks.
fn net_io(s: &ContainerStatsResponse) -> String {
    let nets = s.networks.iter().flat_map(|n| n.values());
    let (rx, tx) = nets.fold((0, 0), |(rx, tx), n| (rx + n.rx_bytes, tx + n.tx_bytes));
    format!("{} / {}", human_size(rx as i64), human_size(tx as i64))
}

/// `BLOCK I/O`: bytes read / written, from the blkio service bytes.
fn block_io(s: &ContainerStatsResponse) -> String {
    let (mut read, mut write) = (0, 0);
    for e in s.blkio_stats.io_service_bytes_recursive.iter().flatten() {
        match e.op.to_ascii_lowercase().as_str() {
            "read" => read += e.value,
            "write" => write += e.value,
            _ => {}
        }
    }
    format!("{} / {}", human_size(read as i64), human_size(write as i64))
}

/// `berth stats [--no-stream] [-a] [--format F] [CONTAINER...]`.
pub async fn stats(c: &Client, a: StatsArgs) -> CmdResult {
    loop {
        let targets: Vec<String> = if a.containers.is_empty() {
            let o = ListOptions {
                all: a.all,
                ..ListOptions::default()
            };
            c.container_list(&o)
                .await?
                .into_iter()
                .map(|s| s.id)
                .collect()
        } else {
            a.containers.clone()
        };
        let mut found = Vec::new();
        for n in &targets {
            match c.container_stats(n).await {
                Ok(s) => found.push(Row::new(n, &s)),
                // Listed, then gone or stopped.
                Err(e) if a.containers.is_empty() && e.status() == Some(409) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        if !a.no_stream {
            print!("\x1b[2J\x1b[H");
        }
        print_rows(a.format.as_deref(), DEFAULT_FORMAT, &Row::titles(), &found)?;
        if a.no_stream {
            return Ok(0);
        }
    }
}
