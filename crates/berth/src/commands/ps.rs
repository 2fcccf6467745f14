//! `berth ps`: containers as the docker CLI lists them (its columns, `-q`, `-s`,
//! `--no-trunc`, `--filter`, `--format` with its fields).

use berth_client::models::ContainerSummary;
use berth_client::{Client, ListOptions};
use clap::Args;
use serde::Serialize;

use super::port::displayable_ports;
use super::{ListFlags, filters, print_rows, short_id};
use crate::exit::CmdResult;
use crate::format::truncate_command;
use crate::units::{go_time, human_duration, human_size, now};

#[derive(Args, Debug)]
pub struct PsArgs {
    #[command(flatten)]
    pub list: ListFlags,
    /// Show n last created containers (includes all states).
    #[arg(short = 'n', long = "last")]
    pub last: Option<i64>,
    /// Show the latest created container (includes all states).
    #[arg(short = 'l', long)]
    pub latest: bool,
    /// Display total file sizes.
    #[arg(short = 's', long)]
    pub size: bool,
}

/// The docker CLI's container fields for `--format` (alphabetical, as its `{{json .}}`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Row {
    command: String,
    created_at: String,
    #[serde(rename = "ID")]
    id: String,
    image: String,
    labels: String,
    local_volumes: String,
    mounts: String,
    names: String,
    networks: String,
    platform: Option<String>,
    ports: String,
    running_for: String,
    size: String,
    state: String,
    status: String,
}

impl Row {
    /// The column titles of a `table` format.
    pub(super) fn titles() -> Row {
        Row {
            command: "COMMAND".into(),
            created_at: "CREATED AT".into(),
            id: "CONTAINER ID".into(),
            image: "IMAGE".into(),
            labels: "LABELS".into(),
            local_volumes: "LOCAL VOLUMES".into(),
            mounts: "MOUNTS".into(),
            names: "NAMES".into(),
            networks: "NETWORKS".into(),
            platform: Some("PLATFORM".into()),
            ports: "PORTS".into(),
            running_for: "CREATED".into(),
            size: "SIZE".into(),
            state: "STATE".into(),
            status: "STATUS".into(),
        }
    }

    pub(super) fn new(v: ContainerSummary, no_trunc: bool, now: i64) -> Row {
        let labels: Vec<String> = v.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mounts: Vec<String> = v
            .mounts
            .iter()
            .map(|m| {
                let name = if m.name.is_empty() {
                    &m.source
                } else {
                    &m.name
                };
                // go-units' Ellipsis at 15.
                if no_trunc || name.chars().count() <= 15 {
                    name.to_string()
                } else {
                    name.chars().take(14).chain(['…']).collect()
                }
            })
            .collect();
        let size = match (v.size_rw, v.size_root_fs) {
            (Some(rw), Some(root)) => format!("{} (virtual {})", human_size(rw), human_size(root)),
            (Some(rw), None) => human_size(rw),
            _ => "0B".to_string(),
        };
        let names: Vec<&str> = v.names.iter().map(|n| n.trim_start_matches('/')).collect();
        let networks: Vec<&str> = v
            .network_settings
            .networks
            .keys()
            .map(String::as_str)
            .collect();
        Row {
            command: truncate_command(&v.command, no_trunc),
            created_at: go_time(v.created),
            id: short_id(&v.id, no_trunc),
            local_volumes: v
                .mounts
                .iter()
                .filter(|m| m.r#type == "volume")
                .count()
                .to_string(),
            labels: labels.join(","),
            mounts: mounts.join(","),
            names: names.join(","),
            networks: networks.join(","),
            platform: None,
            ports: displayable_ports(&v.ports),
            running_for: format!("{} ago", human_duration(now - v.created)),
            size,
            image: v.image,
            state: v.state,
            status: v.status,
        }
    }
}

/// `berth ps [-a] [-q] [-s] [-n N | -l] [--no-trunc] [-f FILTER]... [--format F]`.
pub async fn ps(c: &Client, a: PsArgs) -> CmdResult {
    let limit = if a.latest { Some(1) } else { a.last };
    let l = &a.list;
    let tpl = l.format.as_deref();
    // Sizes cost a walk of each writable layer: only when shown (as the docker CLI: asked
    // for, or used by the template, which `{{json .}}` uses whole).
    let size = a.size
        || tpl.is_some_and(|t| {
            t.contains(".Size") || t.trim() == "json" || t.replace(' ', "") == "{{json.}}"
        });
    let o = ListOptions {
        all: l.all || limit.is_some(),
        size,
        limit,
        filters: filters(&l.filter)?,
    };
    let list = c.container_list(&o).await?;
    if l.quiet {
        for v in &list {
            println!("{}", short_id(&v.id, l.no_trunc));
        }
        return Ok(0);
    }
    let now = now();
    let rows_: Vec<Row> = list
        .into_iter()
        .map(|v| Row::new(v, l.no_trunc, now))
        .collect();
    let default = if a.size {
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}"
    } else {
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
    };
    print_rows(tpl, default, &Row::titles(), &rows_)
}
