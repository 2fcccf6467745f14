//! The daemon as a whole: `version`, `info`, `system df`, `system prune`.

use berth_client::Client;
use berth_client::models::SystemVersion;
use clap::Args;
use serde::Serialize;

use super::confirmed;
use super::container::prune_containers;
use super::image::{ImagePruneArgs, prune_images};
use crate::exit::{CmdResult, fail};
use crate::format::{Template, table};
use crate::units::{human_size, human_size_precise};

/// `--format` of `version` and `info`.
#[derive(Args, Debug)]
pub struct FormatArgs {
    /// Format the output using the given Go template.
    #[arg(short = 'f', long)]
    pub format: Option<String>,
}

/// What `version --format` sees: this client and the daemon.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Versions {
    client: ClientVersion,
    server: Option<SystemVersion>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ClientVersion {
    version: String,
    api_version: String,
    os: String,
    arch: String,
}

fn render(format: &str, data: &impl Serialize) -> CmdResult {
    let t = Template::parse(format).map_err(|e| fail(1, format!("template parsing error: {e}")))?;
    println!("{}", t.render(data).map_err(|e| fail(1, e))?);
    Ok(0)
}

/// `berth version [-f FORMAT]`.
pub async fn version(c: &Client, a: FormatArgs) -> CmdResult {
    let server = c.server_version().await;
    let client = ClientVersion {
        version: env!("CARGO_PKG_VERSION").into(),
        api_version: c.version().to_string(),
        os: std::env::consts::OS.into(),
        arch: std::env::consts::ARCH.into(),
    };
    if let Some(f) = a.format {
        let server = server.ok();
        return render(&f, &Versions { client, server });
    }
    println!("Client:");
    println!(" Version:           {}", client.version);
    println!(" API version:       {}", client.api_version);
    println!(" OS/Arch:           {}/{}", client.os, client.arch);
    let s = server?;
    let name = if s.platform.name.is_empty() {
        "Berth"
    } else {
        &s.platform.name
    };
    println!();
    println!("Server: {name}");
    println!(" Engine:");
    println!("  Version:          {}", s.version);
    println!(
        "  API version:      {} (minimum version {})",
        s.api_version, s.min_api_version
    );
    println!("  OS/Arch:          {}/{}", s.os, s.arch);
    println!("  Kernel Version:   {}", s.kernel_version);
    Ok(0)
}

/// `berth info [-f FORMAT]`.
pub async fn info(c: &Client, a: FormatArgs) -> CmdResult {
    let v = c.info().await?;
    if let Some(f) = a.format {
        return render(&f, &v);
    }
    println!("Server:");
    for (label, value) in [
        (" Containers:", v.containers.to_string()),
        ("  Running:", v.containers_running.to_string()),
        ("  Paused:", v.containers_paused.to_string()),
        ("  Stopped:", v.containers_stopped.to_string()),
        (" Images:", v.images.to_string()),
        (" Server Version:", v.server_version),
        (" Storage Driver:", v.driver),
        (" Logging Driver:", v.logging_driver),
        (" Cgroup Driver:", v.cgroup_driver),
        (" Cgroup Version:", v.cgroup_version),
        (" Kernel Version:", v.kernel_version),
        (" Operating System:", v.operating_system),
        (" Architecture:", v.architecture),
        (" CPUs:", v.ncpu.to_string()),
        (" Total Memory:", human_size(v.mem_total)),
        (" Name:", v.name),
        (" Docker Root Dir:", v.docker_root_dir),
    ] {
        println!("{label} {value}");
    }
    Ok(0)
}

/// `RECLAIMABLE`: bytes and their share of the total.
fn reclaimable(part: i64, total: i64) -> String {
    if total > 0 {
        format!("{} ({}%)", human_size_precise(part), part * 100 / total)
    } else {
        human_size_precise(part)
    }
}

/// `berth system df`.
pub async fn df(c: &Client) -> CmdResult {
    let v = c.disk_usage().await?;
    let layers = v.layers_size;
    let active_images: Vec<_> = v.images.iter().filter(|i| i.containers > 0).collect();
    let used: i64 = active_images.iter().map(|i| i.size - i.shared_size).sum();
    let active = |s: &str| matches!(s, "running" | "paused");
    let rw = |c: &berth_client::models::ContainerSummary| c.size_rw.unwrap_or(0);
    let rw_total: i64 = v.containers.iter().map(rw).sum();
    let rw_idle: i64 = v
        .containers
        .iter()
        .filter(|c| !active(&c.state))
        .map(rw)
        .sum();
    let running = v.containers.iter().filter(|c| active(&c.state)).count();
    // Berth has no volumes or build cache yet.
    let nothing = |kind: &str| [kind, "0", "0", "0B", "0B"].map(String::from).to_vec();
    let rows = vec![
        vec![
            "Images".to_string(),
            v.images.len().to_string(),
            active_images.len().to_string(),
            human_size_precise(layers),
            reclaimable((layers - used).max(0), layers),
        ],
        vec![
            "Containers".to_string(),
            v.containers.len().to_string(),
            running.to_string(),
            human_size_precise(rw_total),
            reclaimable(rw_idle, rw_total),
        ],
        nothing("Local Volumes"),
        nothing("Build Cache"),
    ];
    print!(
        "{}",
        table(&["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], &rows)
    );
    Ok(0)
}

/// `berth system prune [-a] [-f] [--filter F]...`: stopped containers, then dangling (or
/// all unused) images; Berth has no networks of its own or build cache to prune yet.
pub async fn prune(c: &Client, a: ImagePruneArgs) -> CmdResult {
    let images = if a.all {
        "all images without at least one container associated to them"
    } else {
        "all dangling images"
    };
    let warning = format!(
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - {images}\n  - unused build cache\n"
    );
    if !confirmed(a.prune.force, &warning) {
        return Ok(0);
    }
    let containers = prune_containers(c, &a.prune.filter).await?;
    let images = prune_images(c, a.all, &a.prune.filter).await?;
    println!(
        "Total reclaimed space: {}",
        human_size_precise((containers + images) as i64)
    );
    Ok(0)
}
