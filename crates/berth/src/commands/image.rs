//! Image commands: `images`, `rmi`, `tag`, `history`, `image prune`, `load`, `save`,
//! `import`, with docker's flags and output.

use std::io::Write;

use berth_archive::XattrSet;
use berth_client::models::{ImageDeleteResponseItem, ImageSummary, JsonMessage};
use berth_client::{Client, ImportOptions, JsonStream, empty_body, reader_body};
use clap::Args;
use serde::Serialize;

use super::container::PruneArgs;
use super::{Aside, ListFlags, confirmed, filters, print_rows, short_id};
use crate::exit::{CmdResult, Exit, fail};
use crate::format::table;
use crate::stream::is_tty;
use crate::units::{go_time, human_duration, human_size, human_size_precise, now, rfc3339};
use crate::upload::{open_dir, tar_body};

#[derive(Args, Debug)]
pub struct ImagesArgs {
    #[command(flatten)]
    pub list: ListFlags,
    /// Show digests.
    #[arg(long)]
    pub digests: bool,
    /// REPOSITORY[:TAG]
    pub repository: Option<String>,
}

#[derive(Args, Debug)]
pub struct RmiArgs {
    /// Force removal of the image.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Do not delete untagged parents.
    #[arg(long = "no-prune")]
    pub no_prune: bool,
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Args, Debug)]
pub struct TagArgs {
    pub source: String,
    pub target: String,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Don't truncate output.
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only show image IDs.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Print sizes and dates in human readable format.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub human: bool,
    pub image: String,
}

/// `image prune` and `system prune`.
#[derive(Args, Debug)]
pub struct ImagePruneArgs {
    /// Remove all unused images, not just dangling ones.
    #[arg(short = 'a', long)]
    pub all: bool,
    #[command(flatten)]
    pub prune: PruneArgs,
}

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// Read from tar archive file (or an OCI layout directory), instead of STDIN.
    #[arg(short = 'i', long)]
    pub input: Option<String>,
    /// Suppress the load output.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT.
    #[arg(short = 'o', long)]
    pub output: Option<String>,
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image.
    #[arg(short = 'c', long = "change")]
    pub changes: Vec<String>,
    /// Set commit message for imported image.
    #[arg(short = 'm', long)]
    pub message: Option<String>,
    /// A file, or `-` for STDIN.
    pub source: String,
    /// REPOSITORY[:TAG]
    pub reference: Option<String>,
}

/// The docker CLI's image fields for `--format` (alphabetical, as its `{{json .}}`), one
/// row per tag.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Row {
    containers: String,
    created_at: String,
    created_since: String,
    digest: String,
    #[serde(rename = "ID")]
    id: String,
    repository: String,
    shared_size: String,
    size: String,
    tag: String,
    unique_size: String,
    virtual_size: String,
}

impl Row {
    pub(super) fn titles() -> Row {
        Row {
            containers: "CONTAINERS".into(),
            created_at: "CREATED AT".into(),
            created_since: "CREATED".into(),
            digest: "DIGEST".into(),
            id: "IMAGE ID".into(),
            repository: "REPOSITORY".into(),
            shared_size: "SHARED SIZE".into(),
            size: "SIZE".into(),
            tag: "TAG".into(),
            unique_size: "UNIQUE SIZE".into(),
            virtual_size: "SIZE".into(),
        }
    }

    /// One row per tag of `v` (one `<none>` row without).
    pub(super) fn of(v: &ImageSummary, no_trunc: bool, now: i64) -> Vec<Row> {
        let n_a = |n: i64, show: fn(i64) -> String| if n >= 0 { show(n) } else { "N/A".into() };
        let digest = v
            .repo_digests
            .iter()
            .flatten()
            .next()
            .and_then(|d| d.split_once('@').map(|(_, d)| d.to_string()))
            .filter(|d| d != "<none>")
            .unwrap_or_else(|| "<none>".into());
        let row = Row {
            containers: n_a(v.containers, |n| n.to_string()),
            created_at: go_time(v.created),
            created_since: format!("{} ago", human_duration(now - v.created)),
            digest,
            id: short_id(&v.id, no_trunc),
            repository: "<none>".into(),
            shared_size: n_a(v.shared_size, human_size_precise),
            size: human_size(v.size),
            tag: "<none>".into(),
            unique_size: if v.size >= 0 && v.shared_size >= 0 {
                human_size_precise(v.size - v.shared_size)
            } else {
                "N/A".into()
            },
            virtual_size: human_size_precise(v.size),
        };
        let tags: Vec<&String> = v
            .repo_tags
            .iter()
            .flatten()
            .filter(|t| *t != "<none>:<none>")
            .collect();
        if tags.is_empty() {
            return vec![row];
        }
        tags.into_iter()
            .map(|t| {
                let (repo, tag) = t.rsplit_once(':').unwrap_or((t, "<none>"));
                Row {
                    repository: repo.into(),
                    tag: tag.into(),
                    ..row.clone()
                }
            })
            .collect()
    }
}

/// `berth images [-a] [-q] [--no-trunc] [--digests] [-f FILTER]... [--format F] [REPOSITORY[:TAG]]`.
pub async fn images(c: &Client, a: ImagesArgs) -> CmdResult {
    let l = &a.list;
    let mut f = filters(&l.filter)?;
    if let Some(r) = &a.repository {
        f.add("reference", r.as_str());
    }
    let list = c.image_list(l.all, &f).await?;
    if l.quiet {
        for v in &list {
            let tags = v.repo_tags.as_ref().map_or(0, Vec::len).max(1);
            for _ in 0..tags {
                println!("{}", short_id(&v.id, l.no_trunc));
            }
        }
        return Ok(0);
    }
    let now = now();
    let rows_: Vec<Row> = list
        .iter()
        .flat_map(|v| Row::of(v, l.no_trunc, now))
        .collect();
    let default = if a.digests {
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    } else {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    };
    print_rows(l.format.as_deref(), default, &Row::titles(), &rows_)
}

/// What an image removal did, as the docker CLI prints it (`untagged`/`deleted` lower case
/// after a prune).
fn print_deleted(items: &[ImageDeleteResponseItem], prune: bool) {
    for it in items {
        let (untagged, deleted) = if prune {
            ("untagged", "deleted")
        } else {
            ("Untagged", "Deleted")
        };
        if let Some(u) = &it.untagged {
            println!("{untagged}: {u}");
        }
        if let Some(d) = &it.deleted {
            println!("{deleted}: {d}");
        }
    }
}

/// `berth rmi [-f] [--no-prune] IMAGE...`: `Untagged: ..` / `Deleted: ..` lines, errors on
/// stderr, exit 1 if any failed.
pub async fn rmi(c: &Client, a: RmiArgs) -> CmdResult {
    let mut code = 0;
    for n in &a.images {
        match c.image_remove(n, a.force, a.no_prune).await {
            Ok(items) => print_deleted(&items, false),
            Err(e) => {
                eprintln!("{e}");
                code = 1;
            }
        }
    }
    Ok(code)
}

/// `berth tag SOURCE TARGET[:TAG]`.
pub async fn tag(c: &Client, a: TagArgs) -> CmdResult {
    c.image_tag(&a.source, &a.target).await?;
    Ok(0)
}

/// Docker's history `CREATED BY` column: `/bin/sh -c #(nop) ` shortened, 45 characters.
fn created_by(s: &str, no_trunc: bool) -> String {
    let s = s.replace(['\t', '\n'], " ");
    if no_trunc || s.chars().count() <= 45 {
        return s;
    }
    let cut: String = s.chars().take(44).collect();
    format!("{cut}…")
}

/// `berth history [--no-trunc] [-q] [-H=false] IMAGE`.
pub async fn history(c: &Client, a: HistoryArgs) -> CmdResult {
    let list = c.image_history(&a.image).await?;
    let now = now();
    let id_of = |id: &str| {
        if id == "<missing>" {
            id.to_string()
        } else {
            short_id(id, a.no_trunc)
        }
    };
    if a.quiet {
        for v in &list {
            println!("{}", id_of(&v.id));
        }
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|v| {
            let (created, size) = if a.human {
                (
                    format!("{} ago", human_duration(now - v.created)),
                    human_size(v.size),
                )
            } else {
                (rfc3339(v.created), v.size.to_string())
            };
            vec![
                id_of(&v.id),
                created,
                created_by(&v.created_by, a.no_trunc),
                size,
                v.comment.clone(),
            ]
        })
        .collect();
    let header = ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"];
    print!("{}", table(&header, &rows));
    Ok(0)
}

/// `POST /images/prune` of dangling (or, with `all`, unused) images, printing what went as
/// the docker CLI does; the bytes reclaimed.
pub async fn prune_images(c: &Client, all: bool, filter: &[String]) -> Result<u64, Exit> {
    let mut f = filters(filter)?;
    f.add("dangling", (!all).to_string());
    let pruned = c.image_prune(&f).await?;
    let items = pruned.images_deleted.unwrap_or_default();
    if !items.is_empty() {
        println!("Deleted Images:");
        print_deleted(&items, true);
        println!();
    }
    Ok(pruned.space_reclaimed)
}

/// `berth image prune [-a] [-f] [--filter F]...`.
pub async fn prune(c: &Client, a: ImagePruneArgs) -> CmdResult {
    let warning = if a.all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !confirmed(a.prune.force, warning) {
        return Ok(0);
    }
    let reclaimed = prune_images(c, a.all, &a.prune.filter).await?;
    println!(
        "Total reclaimed space: {}",
        human_size_precise(reclaimed as i64)
    );
    Ok(0)
}

/// Print a progress stream's `stream` and `status` lines (`status` with a newline, as
/// `prefix_status` asks); an error line goes to stderr (with `error_prefix`) and makes
/// the exit code 1.
async fn print_progress(mut progress: JsonStream<JsonMessage>, error_prefix: &str) -> CmdResult {
    let mut code = 0;
    while let Some(m) = progress.next().await? {
        if let Some(e) = m.error_detail.map(|d| d.message).filter(|m| !m.is_empty()) {
            eprintln!("{error_prefix}{e}");
            code = 1;
        } else if !m.error.is_empty() {
            eprintln!("{error_prefix}{}", m.error);
            code = 1;
        } else if !m.stream.is_empty() {
            print!("{}", m.stream);
        } else if !m.status.is_empty() {
            println!("{}", m.status);
        }
    }
    Ok(code)
}

/// `berth load [-i FILE|DIR] [-q]`: a `docker save` archive or an OCI layout (a tar, or a
/// directory sent as one), from a file or stdin.
pub async fn load(c: &Client, a: LoadArgs) -> CmdResult {
    let (body, dir_tar) = match a.input.as_deref() {
        Some(p) if std::path::Path::new(p).is_dir() => {
            let root = std::path::PathBuf::from(p);
            let (body, writer) = tar_body(XattrSet::None, move |tar| {
                tar.contents(&open_dir(&root)?, b"")
            });
            (body, Some(writer))
        }
        Some(p) => {
            let f = tokio::fs::File::open(p)
                .await
                .map_err(|e| fail(1, format!("open {p}: {e}")))?;
            (reader_body(f), None)
        }
        None => {
            if is_tty(0) {
                return Err(fail(
                    1,
                    "requested load from stdin, but stdin is empty (use -i FILE)",
                ));
            }
            (reader_body(tokio::io::stdin()), None)
        }
    };
    let loaded = match c.image_load(body, a.quiet).await {
        Ok(progress) => print_progress(progress, "").await,
        Err(e) => Err(e.into()),
    };
    // A directory that could not be read whole: the daemon refused a truncated archive,
    // this says why.
    if let Some(writer) = dir_tar
        && let Ok(Err(e)) = writer.await
    {
        return Err(fail(
            1,
            format!("berth: reading {}: {e}", a.input.unwrap_or_default()),
        ));
    }
    loaded
}

/// `berth save [-o FILE] IMAGE...`: to FILE (written aside and renamed when complete) or
/// to stdout, never to a terminal.
pub async fn save(c: &Client, a: SaveArgs) -> CmdResult {
    if a.output.is_none() && is_tty(1) {
        return Err(fail(
            1,
            "cowardly refusing to save to a terminal. Use the -o flag or redirect",
        ));
    }
    let mut body = c.image_save(&a.images).await?;
    let Some(path) = a.output else {
        let mut out = std::io::stdout().lock();
        while let Some(chunk) = body.next().await? {
            out.write_all(&chunk)?;
        }
        out.flush()?;
        return Ok(0);
    };
    let failed = |e: std::io::Error| fail(1, format!("failed to save image: {e}"));
    let aside = Aside::new(std::path::Path::new(&path));
    let mut f = std::fs::File::create(aside.path()).map_err(failed)?;
    while let Some(chunk) = body.next().await? {
        f.write_all(&chunk).map_err(failed)?;
    }
    f.sync_all().map_err(failed)?;
    aside.keep().map_err(failed)?;
    Ok(0)
}

/// `berth import [-c CHANGE]... [-m MESSAGE] FILE|- [REPOSITORY[:TAG]]`.
pub async fn import(c: &Client, a: ImportArgs) -> CmdResult {
    let url = a.source.starts_with("http://") || a.source.starts_with("https://");
    let body = if a.source == "-" {
        if is_tty(0) {
            return Err(fail(
                1,
                "requested import from stdin, but stdin is a terminal",
            ));
        }
        reader_body(tokio::io::stdin())
    } else if url {
        empty_body()
    } else {
        let f = tokio::fs::File::open(&a.source)
            .await
            .map_err(|e| fail(1, format!("open {}: {e}", a.source)))?;
        reader_body(f)
    };
    let o = ImportOptions {
        source: if url { a.source } else { "-".into() },
        reference: a.reference.unwrap_or_default(),
        message: a.message.unwrap_or_default(),
        changes: a.changes,
    };
    print_progress(c.image_import(&o, body).await?, "Error: ").await
}
