//! Container lifecycle and settings: `stop`, `restart`, `kill`, `rm`, `wait`, `pause`,
//! `unpause`, `rename`, `update`, `resize`, `top`, `container prune`.

use berth_client::models::ContainerUpdate;
use berth_client::{Client, StopOptions, WaitCondition};
use clap::Args;

use super::create::{ResourceOpts, restart_policy};
use super::{confirmed, each, filters};
use crate::exit::{CmdResult, Exit, fail};
use crate::format::table_min;
use crate::units::human_size_precise;

/// Names of the containers a command acts on.
#[derive(Args, Debug)]
pub struct Containers {
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// `berth stop` and `berth restart`.
#[derive(Args, Debug)]
pub struct StopArgs {
    /// Seconds to wait before killing the container.
    #[arg(short = 't', long = "time", alias = "timeout")]
    pub time: Option<i64>,
    /// Signal to send to the container.
    #[arg(short = 's', long)]
    pub signal: Option<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// `berth kill`.
#[derive(Args, Debug)]
pub struct KillArgs {
    /// Signal to send to the container.
    #[arg(short = 's', long)]
    pub signal: Option<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// `berth rm`.
#[derive(Args, Debug)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL).
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Remove anonymous volumes associated with the container.
    #[arg(short = 'v', long)]
    pub volumes: bool,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// `berth rename`.
#[derive(Args, Debug)]
pub struct RenameArgs {
    pub container: String,
    pub new_name: String,
}

/// `berth update`.
#[derive(Args, Debug)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub resources: ResourceOpts,
    /// Restart policy to apply when a container exits.
    #[arg(long)]
    pub restart: Option<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// `berth resize`.
#[derive(Args, Debug)]
pub struct ResizeArgs {
    pub container: String,
    pub width: u16,
    pub height: u16,
}

/// `berth top`.
#[derive(Args, Debug)]
pub struct TopArgs {
    pub container: String,
    /// ps options.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

/// `berth container prune`, `image prune` and `system prune`: `-f` and `--filter`.
#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Do not prompt for confirmation.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Provide filter values (e.g. "until=<timestamp>", "label=k=v").
    #[arg(long = "filter")]
    pub filter: Vec<String>,
}

/// `berth stop` (in parallel, as the docker CLI) or `restart` (one after the other).
pub async fn stop(c: &Client, a: StopArgs, restart: bool) -> CmdResult {
    let o = StopOptions {
        timeout: a.time,
        signal: a.signal,
    };
    let o = &o;
    each(
        &a.containers,
        if restart { 1 } else { 50 },
        |n| async move {
            if restart {
                c.container_restart(&n, o).await?;
            } else {
                c.container_stop(&n, o).await?;
            }
            Ok(Some(n))
        },
    )
    .await
}

pub async fn kill(c: &Client, a: KillArgs) -> CmdResult {
    let signal = a.signal.as_deref();
    each(&a.containers, 50, |n| async move {
        c.container_kill(&n, signal).await?;
        Ok(Some(n))
    })
    .await
}

pub async fn rm(c: &Client, a: RmArgs) -> CmdResult {
    let (force, volumes) = (a.force, a.volumes);
    each(&a.containers, 50, |n| async move {
        c.container_remove(&n, force, volumes).await?;
        Ok(Some(n))
    })
    .await
}

/// `berth wait CONTAINER...`: each one's exit code.
pub async fn wait(c: &Client, a: Containers) -> CmdResult {
    each(&a.containers, 1, |n| async move {
        let status = c
            .container_wait(&n, WaitCondition::NotRunning)
            .await?
            .result()
            .await?;
        Ok(Some(status.status_code.to_string()))
    })
    .await
}

/// `berth pause` (or `unpause`).
pub async fn pause(c: &Client, a: Containers, pause: bool) -> CmdResult {
    each(&a.containers, 50, |n| async move {
        if pause {
            c.container_pause(&n).await?;
        } else {
            c.container_unpause(&n).await?;
        }
        Ok(Some(n))
    })
    .await
}

/// `berth rename CONTAINER NEW_NAME`.
pub async fn rename(c: &Client, a: RenameArgs) -> CmdResult {
    c.container_rename(&a.container, &a.new_name)
        .await
        .map_err(|e| {
            fail(
                1,
                format!(
                    "{e}\nError: failed to rename container named {}",
                    a.container
                ),
            )
        })?;
    Ok(0)
}

/// `berth update [OPTIONS] CONTAINER...`: new limits and restart policy.
pub async fn update(c: &Client, a: UpdateArgs) -> CmdResult {
    let update = ContainerUpdate {
        resources: a.resources.resources(1)?,
        restart_policy: a.restart.as_deref().map(restart_policy),
        ..Default::default()
    };
    let update = &update;
    each(&a.containers, 1, |n| async move {
        for w in c.container_update(&n, update).await?.warnings {
            eprintln!("WARNING: {w}");
        }
        Ok(Some(n))
    })
    .await
}

pub async fn resize(c: &Client, a: ResizeArgs) -> CmdResult {
    c.container_resize(&a.container, a.height, a.width).await?;
    Ok(0)
}

/// `berth top CONTAINER [ps OPTIONS]`.
pub async fn top(c: &Client, a: TopArgs) -> CmdResult {
    let ps_args = (!a.ps_args.is_empty()).then(|| a.ps_args.join(" "));
    let top = c.container_top(&a.container, ps_args.as_deref()).await?;
    let titles = top.titles.unwrap_or_default();
    let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
    print!(
        "{}",
        table_min(20, &titles, &top.processes.unwrap_or_default())
    );
    Ok(0)
}

/// `POST /containers/prune`, printing what went as the docker CLI does; the bytes
/// reclaimed.
pub async fn prune_containers(c: &Client, filter: &[String]) -> Result<u64, Exit> {
    let pruned = c.container_prune(&filters(filter)?).await?;
    let ids = pruned.containers_deleted.unwrap_or_default();
    if !ids.is_empty() {
        println!("Deleted Containers:");
        for id in ids {
            println!("{id}");
        }
        println!();
    }
    Ok(pruned.space_reclaimed)
}

/// `berth container prune [-f] [--filter F]...`.
pub async fn prune(c: &Client, a: PruneArgs) -> CmdResult {
    if !confirmed(a.force, "WARNING! This will remove all stopped containers.") {
        return Ok(0);
    }
    let reclaimed = prune_containers(c, &a.filter).await?;
    println!(
        "Total reclaimed space: {}",
        human_size_precise(reclaimed as i64)
    );
    Ok(0)
}
