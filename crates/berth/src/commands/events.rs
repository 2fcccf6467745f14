//! `berth events`: the daemon's event stream, printed as the docker CLI prints it.

use std::io::Write;

use berth_client::models::EventMessage;
use berth_client::{Client, EventsOptions};
use clap::Args;

use super::filters;
use crate::exit::{CmdResult, fail};
use crate::format::Template;
use crate::units::{api_time, rfc3339_nanos};

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Show all events created since timestamp (Unix seconds, RFC 3339, or a duration ago
    /// such as 10m).
    #[arg(long)]
    pub since: Option<String>,
    /// Stream events until this timestamp.
    #[arg(long)]
    pub until: Option<String>,
    /// Filter output based on conditions provided (type, event, container, image, label).
    #[arg(short = 'f', long = "filter")]
    pub filter: Vec<String>,
    /// Format the output using the given Go template.
    #[arg(long)]
    pub format: Option<String>,
}

/// Docker's default line: `TIME TYPE ACTION ID (k=v, ...)`.
fn line(e: &EventMessage) -> String {
    let mut out = format!(
        "{} {} {} {}",
        rfc3339_nanos(e.time_nano),
        e.r#type,
        e.action,
        e.actor.id
    );
    if !e.actor.attributes.is_empty() {
        let mut attrs: Vec<String> = e
            .actor
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        attrs.sort();
        out.push_str(&format!(" ({})", attrs.join(", ")));
    }
    out
}

/// `berth events [--since T] [--until T] [-f k=v]... [--format TPL]`.
pub async fn events(c: &Client, a: EventsArgs) -> CmdResult {
    let template = a
        .format
        .as_deref()
        .map(Template::parse)
        .transpose()
        .map_err(|e| fail(1, format!("failed to parse template: {e}")))?;
    let o = EventsOptions {
        since: a.since.as_deref().map(api_time),
        until: a.until.as_deref().map(api_time),
        filters: filters(&a.filter)?,
    };
    let mut stream = c.events(&o).await?;
    while let Some(e) = stream.next().await? {
        let text = match &template {
            Some(t) => t.render(&e).map_err(|m| fail(1, m))?,
            None => line(&e),
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{text}")?;
        out.flush()?;
    }
    Ok(0)
}
