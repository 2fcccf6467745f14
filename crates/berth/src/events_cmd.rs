//! `berth events`: the daemon's event stream, printed as the docker CLI prints it.

use berth_client::{Client, next_chunk};
use hyper::Method;
use serde_json::Value;

use crate::commands::{fail, q};
use crate::{CmdResult, format};

/// Docker's default line: `TIME TYPE ACTION ID (k=v, ...)`.
fn line(e: &Value) -> String {
    let nanos = e["timeNano"].as_u64().unwrap_or(0);
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(nanos);
    let attrs: Vec<String> = e["Actor"]["Attributes"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let mut out = format!(
        "{} {} {} {}",
        humantime::format_rfc3339_nanos(time),
        e["Type"].as_str().unwrap_or_default(),
        e["Action"].as_str().unwrap_or_default(),
        e["Actor"]["ID"].as_str().unwrap_or_default(),
    );
    if !attrs.is_empty() {
        out.push_str(&format!(" ({})", attrs.join(", ")));
    }
    out
}

/// `berth events [--since T] [--until T] [-f k=v]... [--format TPL]`.
pub async fn events(
    c: &Client,
    since: Option<&str>,
    until: Option<&str>,
    filters: &[String],
    template: Option<&str>,
) -> CmdResult {
    let mut params = Vec::new();
    if let Some(s) = since {
        params.push(format!("since={}", q(&format::api_time(s))));
    }
    if let Some(u) = until {
        params.push(format!("until={}", q(&format::api_time(u))));
    }
    if !filters.is_empty() {
        params.push(format!(
            "filters={}",
            q(&crate::image_cmds::filters_json(filters)?)
        ));
    }
    let path = format!("/events?{}", params.join("&"));
    let resp = c
        .send(Method::GET, &path, berth_client::empty(), &[])
        .await?;
    let mut body = resp.into_body();
    let mut buf = Vec::new();
    use std::io::Write;
    while let Some(chunk) = next_chunk(&mut body).await? {
        buf.extend_from_slice(&chunk);
        while let Some(end) = buf.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = buf.drain(..=end).collect();
            let Ok(e) = serde_json::from_slice::<Value>(&raw) else {
                continue;
            };
            let text = match template {
                Some(t) => format::template(t, &e).map_err(|m| fail(1, m))?,
                None => line(&e),
            };
            let mut out = std::io::stdout().lock();
            writeln!(out, "{text}")?;
            out.flush()?;
        }
    }
    Ok(0)
}
