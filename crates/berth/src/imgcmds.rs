//! `berth commit`, `diff`, `export`, `import`.

use berth_client::{Client, next_chunk};
use clap::Args;
use hyper::Method;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::CmdResult;
use crate::commands::{fail, q};
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

/// `name[:tag]` → (name, tag); the tag is empty when not given.
fn split_ref(r: &str) -> (&str, &str) {
    match r.rfind(':') {
        Some(i) if !r[i..].contains('/') => (&r[..i], &r[i + 1..]),
        _ => (r, ""),
    }
}

fn changes_query(changes: &[String]) -> String {
    changes
        .iter()
        .map(|c| format!("&changes={}", q(c)))
        .collect()
}

pub async fn commit(c: &Client, a: CommitArgs) -> CmdResult {
    let (repo, tag) = a.reference.as_deref().map_or(("", ""), split_ref);
    let path = format!(
        "/commit?container={}&repo={}&tag={}&comment={}&author={}&pause={}{}",
        q(&a.container),
        q(repo),
        q(tag),
        q(a.message.as_deref().unwrap_or("")),
        q(a.author.as_deref().unwrap_or("")),
        u8::from(a.pause),
        changes_query(&a.changes)
    );
    let v = c.post(&path, &Value::Null).await?;
    println!("{}", v["Id"].as_str().unwrap_or(""));
    Ok(0)
}

pub async fn diff(c: &Client, container: &str) -> CmdResult {
    let v: Value = c
        .get(&format!("/containers/{}/changes", q(container)))
        .await?;
    for ch in v.as_array().into_iter().flatten() {
        let kind = match ch["Kind"].as_u64() {
            Some(0) => "C",
            Some(1) => "A",
            Some(2) => "D",
            _ => "?",
        };
        println!("{kind} {}", ch["Path"].as_str().unwrap_or(""));
    }
    Ok(0)
}

pub async fn export(c: &Client, container: &str, output: Option<&str>) -> CmdResult {
    if output.is_none() && is_tty(1) {
        return Err(fail(
            1,
            "cowardly refusing to save to a terminal. Use the -o flag or redirect",
        ));
    }
    let resp = c
        .send(
            Method::GET,
            &format!("/containers/{}/export", q(container)),
            berth_client::empty(),
            &[],
        )
        .await?;
    let mut out: Box<dyn tokio::io::AsyncWrite + Unpin + Send> = match output {
        Some(p) => Box::new(
            tokio::fs::File::create(p)
                .await
                .map_err(|e| fail(1, format!("failed to export container: {p}: {e}")))?,
        ),
        None => Box::new(tokio::io::stdout()),
    };
    let mut body = resp.into_body();
    while let Some(chunk) = next_chunk(&mut body).await? {
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    Ok(0)
}

pub async fn import(c: &Client, a: ImportArgs) -> CmdResult {
    let url = a.source.starts_with("http://") || a.source.starts_with("https://");
    let body = if a.source == "-" {
        if is_tty(0) {
            return Err(fail(
                1,
                "requested import from stdin, but stdin is a terminal",
            ));
        }
        berth_client::reader_body(tokio::io::stdin())
    } else if url {
        berth_client::empty()
    } else {
        let f = tokio::fs::File::open(&a.source)
            .await
            .map_err(|e| fail(1, format!("open {}: {e}", a.source)))?;
        berth_client::reader_body(f)
    };
    let src = if url { a.source.as_str() } else { "-" };
    let path = format!(
        "/images/create?fromSrc={}&repo={}&message={}{}",
        q(src),
        q(a.reference.as_deref().unwrap_or("")),
        q(a.message.as_deref().unwrap_or("")),
        changes_query(&a.changes)
    );
    let resp = c
        .send(
            Method::POST,
            &path,
            body,
            &[("content-type", "application/x-tar")],
        )
        .await?;
    let mut body = resp.into_body();
    let mut buf = Vec::new();
    while let Some(chunk) = next_chunk(&mut body).await? {
        buf.extend_from_slice(&chunk);
    }
    let mut code = 0;
    for line in buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let Ok(v) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        if let Some(e) = v["errorDetail"]["message"].as_str().or(v["error"].as_str()) {
            eprintln!("Error: {e}");
            code = 1;
        } else if let Some(s) = v["status"].as_str() {
            println!("{s}");
        }
    }
    Ok(code)
}
