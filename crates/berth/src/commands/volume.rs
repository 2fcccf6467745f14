//! `berth volume create|ls|inspect|rm|prune` with docker CLI 28's flags, requests, output
//! and exit codes (`cli/command/volume/`), and Berth's own `export`, `import` and `clone`.
//! Swarm cluster volumes (`create --group`..., `ls --cluster`, `update`) are refused.

use berth_client::models::{Volume, VolumeCreateOptions};
use berth_client::{Client, reader_body};
use clap::Args;
use serde::Serialize;

use super::inspect::{Typed, inspect_template, print_inspected};
use super::network::{labels, map_opts};
use super::{Aside, confirmed, each, filters, print_rows};
use crate::exit::{CmdResult, Exit, fail};
use crate::format::natural_cmp;
use crate::stream::is_tty;
use crate::units::human_size_precise;

/// `berth volume create`.
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Specify volume driver name.
    #[arg(short = 'd', long, default_value = "local")]
    pub driver: String,
    /// Specify volume name.
    #[arg(long = "name", hide = true)]
    pub name_flag: Option<String>,
    /// Set driver specific options.
    #[arg(short = 'o', long = "opt")]
    pub opts: Vec<String>,
    /// Set metadata for a volume.
    #[arg(long = "label")]
    pub labels: Vec<String>,
    #[command(flatten)]
    pub cluster: ClusterFlags,
    pub name: Option<String>,
}

/// The docker CLI's flags of swarm cluster volumes: taken only to be refused by name.
#[derive(Args, Debug, Default)]
pub struct ClusterFlags {
    #[arg(long, hide = true)]
    availability: Option<String>,
    #[arg(long, hide = true)]
    group: Option<String>,
    #[arg(long = "limit-bytes", hide = true)]
    limit_bytes: Option<String>,
    #[arg(long = "required-bytes", hide = true)]
    required_bytes: Option<String>,
    #[arg(long, hide = true)]
    scope: Option<String>,
    #[arg(long, hide = true)]
    secret: Vec<String>,
    #[arg(long, hide = true)]
    sharing: Option<String>,
    #[arg(long = "topology-preferred", hide = true)]
    topology_preferred: Vec<String>,
    #[arg(long = "topology-required", hide = true)]
    topology_required: Vec<String>,
    #[arg(long = "type", hide = true)]
    access_type: Option<String>,
}

impl ClusterFlags {
    /// The flags given, as typed.
    fn given(&self) -> Vec<&'static str> {
        [
            ("--availability", self.availability.is_some()),
            ("--group", self.group.is_some()),
            ("--limit-bytes", self.limit_bytes.is_some()),
            ("--required-bytes", self.required_bytes.is_some()),
            ("--scope", self.scope.is_some()),
            ("--secret", !self.secret.is_empty()),
            ("--sharing", self.sharing.is_some()),
            ("--topology-preferred", !self.topology_preferred.is_empty()),
            ("--topology-required", !self.topology_required.is_empty()),
            ("--type", self.access_type.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }
}

/// The refusal of cluster-volume flags (or commands), naming them.
fn no_cluster(what: &str) -> Exit {
    fail(
        125,
        format!("{what}: swarm cluster volumes are not supported: Berth has no swarm"),
    )
}

/// `berth volume ls`.
#[derive(Args, Debug)]
pub struct LsArgs {
    /// Only display volume names.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Provide filter values (e.g. "dangling=true").
    #[arg(short = 'f', long = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go
    /// template.
    #[arg(long)]
    pub format: Option<String>,
    /// Display only cluster volumes (refused: Berth has no swarm).
    #[arg(long, hide = true)]
    pub cluster: bool,
}

/// `berth volume inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Format output using a custom template ('json', or a Go template).
    #[arg(short = 'f', long)]
    pub format: Option<String>,
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// `berth volume rm`.
#[derive(Args, Debug)]
pub struct RmArgs {
    /// Force the removal of one or more volumes.
    #[arg(short = 'f', long)]
    pub force: bool,
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// `berth volume prune`.
#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones.
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Provide filter values (e.g. "label=<label>").
    #[arg(long = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation.
    #[arg(short = 'f', long)]
    pub force: bool,
}

/// `berth volume update` (docker's, for cluster volumes only): refused.
#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// Cluster Volume availability.
    #[arg(long)]
    pub availability: Option<String>,
    pub name: Option<String>,
}

/// `berth volume export` (Berth's own).
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT.
    #[arg(short = 'o', long)]
    pub output: Option<String>,
    pub name: String,
}

/// `berth volume import` (Berth's own).
#[derive(Args, Debug)]
pub struct ImportArgs {
    pub name: String,
    /// A tar file, or `-` for STDIN.
    #[arg(default_value = "-")]
    pub source: String,
}

/// `berth volume clone` (Berth's own).
#[derive(Args, Debug)]
pub struct CloneArgs {
    pub source: String,
    pub target: String,
}

/// The body of `POST /volumes/create` for `berth volume create`, as the docker CLI
/// builds it; cluster-volume flags refused.
pub fn create_request(a: &CreateArgs) -> Result<VolumeCreateOptions, Exit> {
    let cluster = a.cluster.given();
    if !cluster.is_empty() {
        return Err(no_cluster(&cluster.join(", ")));
    }
    let name = match (&a.name, &a.name_flag) {
        (Some(_), Some(_)) => {
            return Err(fail(
                1,
                "conflicting options: cannot specify a volume-name through both --name and as a positional arg",
            ));
        }
        (Some(n), None) | (None, Some(n)) => n.clone(),
        (None, None) => String::new(),
    };
    Ok(VolumeCreateOptions {
        name,
        driver: a.driver.clone(),
        driver_opts: map_opts(&a.opts),
        labels: labels(&a.labels)?,
        cluster_volume_spec: None,
    })
}

/// `berth volume create [OPTIONS] [VOLUME]`: prints the volume's name.
pub async fn create(c: &Client, a: CreateArgs) -> CmdResult {
    let v = c.volume_create(&create_request(&a)?).await?;
    println!("{}", v.name);
    Ok(0)
}

/// The docker CLI's volume fields for `--format` (alphabetical, as its `{{json .}}`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Row {
    availability: String,
    driver: String,
    group: String,
    labels: String,
    links: String,
    mountpoint: String,
    name: String,
    scope: String,
    size: String,
    status: String,
}

impl Row {
    pub(super) fn titles() -> Row {
        Row {
            availability: "AVAILABILITY".into(),
            driver: "DRIVER".into(),
            group: "GROUP".into(),
            labels: "LABELS".into(),
            links: "LINKS".into(),
            mountpoint: "MOUNTPOINT".into(),
            name: "VOLUME NAME".into(),
            scope: "SCOPE".into(),
            size: "SIZE".into(),
            status: "STATUS".into(),
        }
    }

    /// `Links` and `Size` only where the daemon computed them (`system df`), else N/A;
    /// the cluster fields N/A (Berth has no cluster volumes).
    pub(super) fn new(v: Volume) -> Row {
        let labels: Vec<String> = v.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let na = || "N/A".to_string();
        Row {
            availability: na(),
            driver: v.driver,
            group: na(),
            labels: labels.join(","),
            links: v
                .usage_data
                .as_ref()
                .map_or_else(na, |u| u.ref_count.to_string()),
            mountpoint: v.mountpoint,
            name: v.name,
            scope: v.scope,
            size: v
                .usage_data
                .as_ref()
                .map_or_else(na, |u| human_size_precise(u.size)),
            status: na(),
        }
    }
}

/// The format `volume ls` prints with (the docker CLI's `NewVolumeFormat`): `-q` changes
/// only the `table` (names alone) and `raw` forms.
fn ls_format(format: Option<&str>, quiet: bool) -> String {
    match format.unwrap_or("") {
        "" | "table" if quiet => "{{.Name}}".into(),
        "" | "table" => "table {{.Driver}}\\t{{.Name}}".into(),
        "raw" if quiet => "name: {{.Name}}".into(),
        "raw" => "name: {{.Name}}\\ndriver: {{.Driver}}\\n".into(),
        f => f.into(),
    }
}

/// `berth volume ls [-q] [-f FILTER]... [--format F]`, by name in the docker CLI's
/// natural order.
pub async fn ls(c: &Client, a: LsArgs) -> CmdResult {
    if a.cluster {
        return Err(no_cluster("--cluster"));
    }
    let mut list = c
        .volume_list(&filters(&a.filter)?)
        .await?
        .volumes
        .unwrap_or_default();
    list.sort_by(|x, y| natural_cmp(&x.name, &y.name));
    let rows: Vec<Row> = list.into_iter().map(Row::new).collect();
    let format = ls_format(a.format.as_deref(), a.quiet);
    print_rows(Some(&format), &format, &Row::titles(), &rows)
}

/// `berth volume inspect [-f FORMAT] VOLUME...`: what was found, then the daemon's
/// errors for the rest (exit 1).
pub async fn inspect(c: &Client, a: InspectArgs) -> CmdResult {
    let template = inspect_template(a.format.as_deref())?;
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for name in &a.names {
        match c.volume_inspect_with_raw(name).await {
            Ok((v, raw)) => found.push(Typed(v, raw)),
            Err(e) => errors.push(e.to_string()),
        }
    }
    print_inspected(a.format.as_deref(), template.as_ref(), &found, errors)
}

/// `berth volume rm [-f] VOLUME...`: each name removed is printed, the daemon's errors go
/// to stderr and make the exit code 1.
pub async fn rm(c: &Client, a: RmArgs) -> CmdResult {
    let force = a.force;
    each(&a.names, 1, |name| async move {
        c.volume_remove(&name, force).await.map(|()| Some(name))
    })
    .await
}

/// The confirmation `volume prune` asks for.
fn prune_warning(all: bool) -> &'static str {
    if all {
        "WARNING! This will remove all local volumes not used by at least one container."
    } else {
        "WARNING! This will remove anonymous local volumes not used by at least one container."
    }
}

/// `berth volume prune [-a] [-f] [--filter F]...`: asks first unless forced; `-a` is the
/// filter `all=true` (named volumes too, from API 1.42).
pub async fn prune(c: &Client, a: PruneArgs) -> CmdResult {
    let mut filters = filters(&a.filter)?;
    if a.all {
        if filters.has("all") {
            return Err(fail(
                1,
                "conflicting options: cannot specify both --all and --filter all=1",
            ));
        }
        filters.add("all", "true");
    }
    if !confirmed(a.force, prune_warning(a.all)) {
        return Ok(0);
    }
    let report = c.volume_prune(&filters).await?;
    let deleted = report.volumes_deleted.unwrap_or_default();
    let mut reclaimed = 0;
    if !deleted.is_empty() {
        println!("Deleted Volumes:");
        for n in &deleted {
            println!("{n}");
        }
        println!();
        reclaimed = report.space_reclaimed;
    }
    println!(
        "Total reclaimed space: {}",
        human_size_precise(i64::try_from(reclaimed).unwrap_or(i64::MAX))
    );
    Ok(0)
}

/// `berth volume update`: docker's is for cluster volumes only.
pub fn update(_a: UpdateArgs) -> CmdResult {
    Err(no_cluster("volume update"))
}

/// `berth volume export [-o FILE] VOLUME`: a tar of the volume's content to FILE (written
/// aside and renamed when complete) or to stdout, never to a terminal.
pub async fn export(c: &Client, a: ExportArgs) -> CmdResult {
    let Some(path) = a.output else {
        if is_tty(1) {
            return Err(fail(
                1,
                "cowardly refusing to save to a terminal. Use the -o flag or redirect",
            ));
        }
        c.volume_export(&a.name, &mut tokio::io::stdout()).await?;
        return Ok(0);
    };
    let failed = |e: std::io::Error| fail(1, format!("failed to export volume: {e}"));
    let aside = Aside::new(std::path::Path::new(&path));
    let mut f = tokio::fs::File::create(aside.path())
        .await
        .map_err(failed)?;
    c.volume_export(&a.name, &mut f).await?;
    f.sync_all().await.map_err(failed)?;
    aside.keep().map_err(failed)?;
    Ok(0)
}

/// `berth volume import VOLUME [FILE|-]`: a tar from FILE or stdin into the volume (made
/// when missing, refused by the daemon when not empty); prints the volume's name.
pub async fn import(c: &Client, a: ImportArgs) -> CmdResult {
    let body = if a.source == "-" {
        if is_tty(0) {
            return Err(fail(
                1,
                "requested import from stdin, but stdin is a terminal",
            ));
        }
        reader_body(tokio::io::stdin())
    } else {
        let f = tokio::fs::File::open(&a.source)
            .await
            .map_err(|e| fail(1, format!("open {}: {e}", a.source)))?;
        reader_body(f)
    };
    println!("{}", c.volume_import(&a.name, body).await?.name);
    Ok(0)
}

/// `berth volume clone SOURCE TARGET`: a new volume with a copy of SOURCE's content;
/// prints its name.
pub async fn clone(c: &Client, a: CloneArgs) -> CmdResult {
    println!("{}", c.volume_clone(&a.source, &a.target).await?.name);
    Ok(0)
}

#[cfg(test)]
mod tests;
