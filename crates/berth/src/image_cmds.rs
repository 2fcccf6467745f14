//! Image commands: `images` (filters), `rmi`, `save`, `history`, `image prune`,
//! `system df`, with docker's flags and output.

use std::io::Write;

use clap::Args;

use berth_client::{Client, next_chunk};
use hyper::Method;
use serde_json::{Value, json};

use crate::commands::{fail, now, q};
use crate::format::{
    go_time, human_duration, human_size, human_size_precise, rows as rows_fmt, table,
};
use crate::stream::is_tty;
use crate::{CmdResult, Exit};

fn short_id(id: &str, no_trunc: bool) -> String {
    if no_trunc {
        id.to_string()
    } else {
        id.trim_start_matches("sha256:").chars().take(12).collect()
    }
}

/// `--filter k=v` flags as the API's `filters` JSON (`{"k":{"v":true}}`).
pub(crate) fn filters_json(filters: &[String]) -> Result<String, Exit> {
    let mut map = serde_json::Map::new();
    for f in filters {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| fail(125, "bad format of filter (expected name=value)"))?;
        let entry = map
            .entry(k.trim().to_ascii_lowercase())
            .or_insert_with(|| json!({}));
        entry[v] = json!(true);
    }
    Ok(Value::Object(map).to_string())
}

#[derive(Args, Debug)]
pub struct ImagesOpts {
    /// Show all images.
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Only show image IDs.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Don't truncate output.
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Show digests.
    #[arg(long)]
    pub digests: bool,
    /// Filter output based on conditions provided (dangling, label, before, since,
    /// reference, until).
    #[arg(short = 'f', long = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go
    /// template.
    #[arg(long)]
    pub format: Option<String>,
    /// REPOSITORY[:TAG]
    pub repository: Option<String>,
}

/// `berth images [-a] [-q] [--no-trunc] [--digests] [-f FILTER]... [--format F] [REPOSITORY[:TAG]]`.
pub async fn images(c: &Client, o: &ImagesOpts) -> CmdResult {
    let mut filters = o.filter.clone();
    if let Some(r) = &o.repository {
        filters.push(format!("reference={r}"));
    }
    let mut path = format!("/images/json?all={}", u8::from(o.all));
    if !filters.is_empty() {
        path.push_str(&format!("&filters={}", q(&filters_json(&filters)?)));
    }
    let list: Vec<Value> = c.get(&path).await?;
    let now = now();
    // The docker CLI's image fields for `--format` (alphabetical, as its `{{json .}}`), one
    // row per tag.
    let mut rows = Vec::new();
    for v in &list {
        let id = short_id(v["Id"].as_str().unwrap_or(""), o.no_trunc);
        if o.quiet {
            let n = v["RepoTags"].as_array().map_or(0, Vec::len).max(1);
            for _ in 0..n {
                println!("{id}");
            }
            continue;
        }
        let created = v["Created"].as_i64().unwrap_or(now);
        let size = v["Size"].as_i64().unwrap_or(0);
        let tags: Vec<&str> = v["RepoTags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str())
            .filter(|t| *t != "<none>:<none>")
            .collect();
        let digest = v["RepoDigests"][0]
            .as_str()
            .and_then(|d| d.split_once('@').map(|(_, d)| d.to_string()))
            .filter(|d| d != "<none>")
            .unwrap_or_else(|| "<none>".into());
        let n_a = |k: &str| match v[k].as_i64() {
            Some(n) if n >= 0 => json!(if k == "Containers" {
                n.to_string()
            } else {
                human_size(n)
            }),
            _ => json!("N/A"),
        };
        let mut push = |repo: &str, tag: &str| {
            rows.push(json!({
                "Containers": n_a("Containers"),
                "CreatedAt": go_time(created),
                "CreatedSince": format!("{} ago", human_duration(now - created)),
                "Digest": digest,
                "ID": id,
                "Repository": repo,
                "SharedSize": n_a("SharedSize"),
                "Size": human_size(size),
                "Tag": tag,
                "UniqueSize": "N/A",
                "VirtualSize": human_size_precise(size),
            }));
        };
        if tags.is_empty() {
            push("<none>", "<none>");
        }
        for t in tags {
            let (repo, tag) = t.rsplit_once(':').unwrap_or((t, "<none>"));
            push(repo, tag);
        }
    }
    if o.quiet {
        return Ok(0);
    }
    let default = if o.digests {
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    } else {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    };
    let titles = json!({
        "Containers": "CONTAINERS", "CreatedAt": "CREATED AT", "CreatedSince": "CREATED",
        "Digest": "DIGEST", "ID": "IMAGE ID", "Repository": "REPOSITORY",
        "SharedSize": "SHARED SIZE", "Size": "SIZE", "Tag": "TAG",
        "UniqueSize": "UNIQUE SIZE", "VirtualSize": "SIZE",
    });
    let out = rows_fmt(o.format.as_deref(), default, &titles, &rows).map_err(|e| fail(1, e))?;
    print!("{out}");
    Ok(0)
}

/// `berth rmi [-f] IMAGE...`: `Untagged: ..` / `Deleted: ..` lines, errors on stderr, exit 1
/// if any failed.
pub async fn rmi(c: &Client, names: &[String], force: bool, no_prune: bool) -> CmdResult {
    let mut code = 0;
    for n in names {
        let path = format!(
            "/images/{}?force={}&noprune={}",
            q(n),
            u8::from(force),
            u8::from(no_prune)
        );
        let r: Result<Vec<Value>, _> = async {
            let resp = c
                .send(Method::DELETE, &path, berth_client::empty(), &[])
                .await?;
            let mut body = resp.into_body();
            let mut buf = Vec::new();
            while let Some(chunk) = next_chunk(&mut body).await? {
                buf.extend_from_slice(&chunk);
            }
            serde_json::from_slice(&buf).map_err(|e| berth_client::Error::Decode(e.to_string()))
        }
        .await;
        match r {
            Ok(items) => {
                for it in items {
                    if let Some(u) = it["Untagged"].as_str() {
                        println!("Untagged: {u}");
                    }
                    if let Some(d) = it["Deleted"].as_str() {
                        println!("Deleted: {d}");
                    }
                }
            }
            Err(e) => {
                eprintln!("{e}");
                code = 1;
            }
        }
    }
    Ok(code)
}

/// `berth save [-o FILE] IMAGE...`: to FILE (written aside and renamed when complete) or
/// to stdout, never to a terminal.
pub async fn save(c: &Client, output: Option<&str>, names: &[String]) -> CmdResult {
    if output.is_none() && is_tty(1) {
        return Err(fail(
            1,
            "cowardly refusing to save to a terminal. Use the -o flag or redirect",
        ));
    }
    let query: Vec<String> = names.iter().map(|n| format!("names={}", q(n))).collect();
    let resp = c
        .send(
            Method::GET,
            &format!("/images/get?{}", query.join("&")),
            berth_client::empty(),
            &[],
        )
        .await?;
    let mut body = resp.into_body();
    match output {
        Some(path) => {
            let target = std::path::Path::new(path);
            let dir = target
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let name = target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "save".into());
            let tmp = dir.join(format!(".{name}.berth-save-{}", std::process::id()));
            let result: Result<(), Exit> = async {
                let mut f = std::fs::File::create(&tmp)
                    .map_err(|e| fail(1, format!("failed to save image: {e}")))?;
                while let Some(chunk) = next_chunk(&mut body).await? {
                    f.write_all(&chunk)
                        .map_err(|e| fail(1, format!("failed to save image: {e}")))?;
                }
                f.sync_all()
                    .map_err(|e| fail(1, format!("failed to save image: {e}")))?;
                std::fs::rename(&tmp, target)
                    .map_err(|e| fail(1, format!("failed to save image: {e}")))
            }
            .await;
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            while let Some(chunk) = next_chunk(&mut body).await? {
                out.write_all(&chunk)?;
            }
            out.flush()?;
        }
    }
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
pub async fn history(
    c: &Client,
    name: &str,
    no_trunc: bool,
    quiet: bool,
    human: bool,
) -> CmdResult {
    let list: Vec<Value> = c.get(&format!("/images/{}/history", q(name))).await?;
    let now = now();
    let id_of = |v: &Value| {
        let id = v["Id"].as_str().unwrap_or("<missing>");
        if id == "<missing>" {
            id.to_string()
        } else {
            short_id(id, no_trunc)
        }
    };
    if quiet {
        for v in &list {
            println!("{}", id_of(v));
        }
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|v| {
            let created = v["Created"].as_i64().unwrap_or(0);
            let size = v["Size"].as_i64().unwrap_or(0);
            vec![
                id_of(v),
                if human {
                    format!("{} ago", human_duration(now - created))
                } else {
                    rfc3339(created)
                },
                created_by(v["CreatedBy"].as_str().unwrap_or(""), no_trunc),
                if human {
                    human_size(size)
                } else {
                    size.to_string()
                },
                v["Comment"].as_str().unwrap_or("").to_string(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
            &rows
        )
    );
    Ok(0)
}

/// Unix seconds as RFC 3339 (UTC).
fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

pub(crate) fn confirm(question: &str) -> bool {
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// `berth image prune [-a] [-f] [--filter F]...`.
pub async fn prune(c: &Client, all: bool, force: bool, filters: &[String]) -> CmdResult {
    if !force {
        let warning = if all {
            "WARNING! This will remove all images without at least one container associated to them."
        } else {
            "WARNING! This will remove all dangling images."
        };
        if !confirm(&format!("{warning}\nAre you sure you want to continue?")) {
            return Ok(0);
        }
    }
    let reclaimed = prune_images(c, all, filters).await?;
    println!("Total reclaimed space: {}", human_size_precise(reclaimed));
    Ok(0)
}

/// `POST /images/prune`, printing what went as the docker CLI does; the bytes reclaimed.
async fn prune_images(c: &Client, all: bool, filters: &[String]) -> Result<i64, Exit> {
    let mut filters = filters.to_vec();
    filters.push(format!("dangling={}", !all));
    let path = format!("/images/prune?filters={}", q(&filters_json(&filters)?));
    let v = c.post(&path, &Value::Null).await?;
    let items = v["ImagesDeleted"].as_array().cloned().unwrap_or_default();
    if !items.is_empty() {
        println!("Deleted Images:");
        for it in items {
            if let Some(u) = it["Untagged"].as_str() {
                println!("untagged: {u}");
            }
            if let Some(d) = it["Deleted"].as_str() {
                println!("deleted: {d}");
            }
        }
        println!();
    }
    Ok(v["SpaceReclaimed"].as_i64().unwrap_or(0))
}

/// `POST /containers/prune`, printing what went as the docker CLI does; the bytes reclaimed.
pub(crate) async fn prune_containers(c: &Client, filters: &[String]) -> Result<i64, Exit> {
    let mut path = "/containers/prune".to_string();
    if !filters.is_empty() {
        path.push_str(&format!("?filters={}", q(&filters_json(filters)?)));
    }
    let v = c.post(&path, &Value::Null).await?;
    let ids = v["ContainersDeleted"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !ids.is_empty() {
        println!("Deleted Containers:");
        for id in ids {
            println!("{}", id.as_str().unwrap_or(""));
        }
        println!();
    }
    Ok(v["SpaceReclaimed"].as_i64().unwrap_or(0))
}

/// `berth system prune [-a] [-f] [--filter F]...`: stopped containers, then dangling (or
/// all unused) images; Berth has no networks of its own or build cache to prune yet.
pub async fn system_prune(c: &Client, all: bool, force: bool, filters: &[String]) -> CmdResult {
    if !force {
        let images = if all {
            "all images without at least one container associated to them"
        } else {
            "all dangling images"
        };
        let warning = format!(
            "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - {images}\n  - unused build cache\n"
        );
        if !confirm(&format!("{warning}\nAre you sure you want to continue?")) {
            return Ok(0);
        }
    }
    let containers = prune_containers(c, filters).await?;
    let images = prune_images(c, all, filters).await?;
    println!(
        "Total reclaimed space: {}",
        human_size_precise(containers + images)
    );
    Ok(0)
}

fn reclaimable(part: i64, total: i64) -> String {
    if total > 0 {
        format!("{} ({}%)", human_size_precise(part), part * 100 / total)
    } else {
        human_size_precise(part)
    }
}

/// `berth system df`.
pub async fn system_df(c: &Client) -> CmdResult {
    let v: Value = c.get("/system/df").await?;
    let empty = Vec::new();
    let images = v["Images"].as_array().unwrap_or(&empty);
    let containers = v["Containers"].as_array().unwrap_or(&empty);
    let layers = v["LayersSize"].as_i64().unwrap_or(0);
    let active_images: Vec<&Value> = images
        .iter()
        .filter(|i| i["Containers"].as_i64().unwrap_or(0) > 0)
        .collect();
    let used: i64 = active_images
        .iter()
        .map(|i| i["Size"].as_i64().unwrap_or(0) - i["SharedSize"].as_i64().unwrap_or(0))
        .sum();
    let active = |c: &&Value| matches!(c["State"].as_str(), Some("running" | "paused"));
    let rw_total: i64 = containers
        .iter()
        .map(|c| c["SizeRw"].as_i64().unwrap_or(0))
        .sum();
    let rw_idle: i64 = containers
        .iter()
        .filter(|c| !active(c))
        .map(|c| c["SizeRw"].as_i64().unwrap_or(0))
        .sum();
    let rows = vec![
        vec![
            "Images".to_string(),
            images.len().to_string(),
            active_images.len().to_string(),
            human_size_precise(layers),
            reclaimable((layers - used).max(0), layers),
        ],
        vec![
            "Containers".to_string(),
            containers.len().to_string(),
            containers.iter().filter(active).count().to_string(),
            human_size_precise(rw_total),
            reclaimable(rw_idle, rw_total),
        ],
        vec![
            "Local Volumes".into(),
            "0".into(),
            "0".into(),
            "0B".into(),
            "0B".into(),
        ],
        vec![
            "Build Cache".into(),
            "0".into(),
            "0".into(),
            "0B".into(),
            "0B".into(),
        ],
    ];
    print!(
        "{}",
        table(&["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], &rows)
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_unix_seconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn filter_flags_become_api_filters() {
        let f = filters_json(&["dangling=true".into(), "label=a=b".into()]).unwrap();
        let v: Value = serde_json::from_str(&f).unwrap();
        assert_eq!(v["dangling"]["true"], true);
        assert_eq!(v["label"]["a=b"], true);
        assert!(filters_json(&["nope".into()]).is_err());
    }
}
