//! The daemon as a whole: `version`, `info`, `system df [-v]`, `system prune`.

use std::time::UNIX_EPOCH;

use berth_client::Client;
use berth_client::models::{BuildCache, ContainerSummary, DiskUsage, SystemVersion, UsageData};
use clap::Args;
use serde::Serialize;

use super::container::prune_containers;
use super::image::{ImagePruneArgs, prune_images};
use super::{confirmed, image, ps, short_id, volume};
use crate::exit::{CmdResult, fail};
use crate::format::{Template, rows, table};
use crate::units::{human_duration, human_size, human_size_precise, now};

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

/// `berth system df [-v]`.
#[derive(Args, Debug)]
pub struct DfArgs {
    /// Show detailed information on space usage.
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// The size the build cache takes (its shared records counted once, elsewhere) and what
/// of it is in use, as the docker CLI sums them.
fn build_cache_sizes(du: &DiskUsage) -> (i64, i64) {
    let records = du.build_cache.iter().flatten().filter(|b| !b.shared);
    let total = records.clone().map(|b| b.size).sum();
    let in_use = records.filter(|b| b.in_use).map(|b| b.size).sum();
    (du.builder_size.unwrap_or(total), in_use)
}

/// `system df`'s table, as docker CLI 28 sums it up: images, containers, volumes (with
/// the size the daemon computed, -1 when not) and build cache.
pub(super) fn df_summary(du: &DiskUsage) -> String {
    let layers = du.layers_size;
    let active_images: Vec<_> = du.images.iter().filter(|i| i.containers > 0).collect();
    let used: i64 = active_images.iter().map(|i| i.size - i.shared_size).sum();
    let active = |s: &str| matches!(s, "running" | "paused" | "restarting");
    let rw = |c: &ContainerSummary| c.size_rw.unwrap_or(0);
    let rw_total: i64 = du.containers.iter().map(rw).sum();
    let rw_idle: i64 = du
        .containers
        .iter()
        .filter(|c| !active(&c.state))
        .map(rw)
        .sum();
    let running = du.containers.iter().filter(|c| active(&c.state)).count();
    let usage: Vec<&UsageData> = du
        .volumes
        .iter()
        .filter_map(|v| v.usage_data.as_ref())
        .collect();
    let linked = usage.iter().filter(|u| u.ref_count > 0).count();
    let sized = usage.iter().filter(|u| u.size != -1);
    let volumes_size: i64 = sized.clone().map(|u| u.size).sum();
    let volumes_idle: i64 = sized.filter(|u| u.ref_count == 0).map(|u| u.size).sum();
    let cache = du.build_cache.as_deref().unwrap_or_default();
    let (cache_size, cache_in_use) = build_cache_sizes(du);
    let rows = vec![
        vec![
            "Images".to_string(),
            du.images.len().to_string(),
            active_images.len().to_string(),
            human_size_precise(layers),
            reclaimable((layers - used).max(0), layers),
        ],
        vec![
            "Containers".to_string(),
            du.containers.len().to_string(),
            running.to_string(),
            human_size_precise(rw_total),
            reclaimable(rw_idle, rw_total),
        ],
        vec![
            "Local Volumes".to_string(),
            du.volumes.len().to_string(),
            linked.to_string(),
            human_size_precise(volumes_size),
            reclaimable(volumes_idle, volumes_size),
        ],
        vec![
            "Build Cache".to_string(),
            cache.len().to_string(),
            cache.iter().filter(|b| b.in_use).count().to_string(),
            human_size_precise(cache_size),
            human_size_precise(cache_size - cache_in_use),
        ],
    ];
    table(&["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], &rows)
}

/// The docker CLI's build cache fields (`system df -v`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct CacheRow {
    cache_type: String,
    created_since: String,
    #[serde(rename = "ID")]
    id: String,
    last_used_since: String,
    shared: String,
    size: String,
    usage_count: String,
}

impl CacheRow {
    fn titles() -> CacheRow {
        CacheRow {
            cache_type: "CACHE TYPE".into(),
            created_since: "CREATED".into(),
            id: "CACHE ID".into(),
            last_used_since: "LAST USED".into(),
            shared: "SHARED".into(),
            size: "SIZE".into(),
            usage_count: "USAGE".into(),
        }
    }

    fn new(b: &BuildCache, now: i64) -> CacheRow {
        let ago = |t: &str| match humantime::parse_rfc3339_weak(t.trim_end_matches('Z')) {
            Ok(t) => {
                let secs = t
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                format!("{} ago", human_duration(now - secs))
            }
            Err(_) => String::new(),
        };
        let mut id = short_id(&b.id, false);
        if b.in_use {
            id.push('*');
        }
        CacheRow {
            cache_type: b.r#type.clone(),
            created_since: ago(&b.created_at),
            id,
            last_used_since: b.last_used_at.as_deref().map(ago).unwrap_or_default(),
            shared: b.shared.to_string(),
            size: human_size(b.size),
            usage_count: b.usage_count.to_string(),
        }
    }
}

/// `system df -v` as docker CLI 28 prints it: each image (by its first tag), container
/// (without its virtual size), volume (with its links: the containers using it) and build
/// cache record (most recently used first) in a table of its own.
pub(super) fn df_verbose(du: DiskUsage, now: i64) -> Result<String, String> {
    const IMAGES: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}";
    const CONTAINERS: &str = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}";
    const VOLUMES: &str = "table {{.Name}}\t{{.Links}}\t{{.Size}}";
    const CACHE: &str = "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}";
    let (cache_size, _) = build_cache_sizes(&du);
    let images: Vec<image::Row> = du
        .images
        .iter()
        .filter_map(|i| image::Row::of(i, false, now).into_iter().next())
        .collect();
    let containers: Vec<ps::Row> = du
        .containers
        .into_iter()
        .map(|c| {
            let c = ContainerSummary {
                size_root_fs: None,
                ..c
            };
            ps::Row::new(c, false, now)
        })
        .collect();
    let volumes: Vec<volume::Row> = du.volumes.into_iter().map(volume::Row::new).collect();
    let mut cache: Vec<&BuildCache> = du.build_cache.iter().flatten().collect();
    // Most recently used first, the never used last (the docker CLI's buildCacheSort).
    cache.sort_by_key(|b| std::cmp::Reverse(b.last_used_at.clone()));
    let cache: Vec<CacheRow> = cache.into_iter().map(|b| CacheRow::new(b, now)).collect();
    Ok([
        "Images space usage:\n\n".to_string(),
        rows(None, IMAGES, &image::Row::titles(), &images)?,
        "\nContainers space usage:\n\n".to_string(),
        rows(None, CONTAINERS, &ps::Row::titles(), &containers)?,
        "\nLocal Volumes space usage:\n\n".to_string(),
        rows(None, VOLUMES, &volume::Row::titles(), &volumes)?,
        format!(
            "\nBuild cache usage: {}\n\n",
            human_size_precise(cache_size)
        ),
        rows(None, CACHE, &CacheRow::titles(), &cache)?,
    ]
    .concat())
}

/// `berth system df [-v]`.
pub async fn df(c: &Client, a: DfArgs) -> CmdResult {
    let du = c.disk_usage().await?;
    if a.verbose {
        print!("{}", df_verbose(du, now()).map_err(|e| fail(1, e))?);
    } else {
        print!("{}", df_summary(&du));
    }
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
