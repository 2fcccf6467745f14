//! `berth inspect` (containers, then images), `container inspect`, `image inspect`: the
//! daemon's JSON as the docker CLI prints it (indented, the daemon's bytes kept), or a
//! `--format` template over the typed answer.

use berth_client::Client;
use berth_client::models::{ContainerInspect, ImageInspect};
use bytes::Bytes;
use clap::Args;

use crate::exit::{CmdResult, fail};
use crate::format::{Template, indent_json};

/// `berth inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Format output using a custom template ('json', or a Go template).
    #[arg(short = 'f', long)]
    pub format: Option<String>,
    /// Return JSON for the given type (container or image).
    #[arg(long = "type", value_parser = ["container", "image"])]
    pub kind: Option<String>,
    /// Display total file sizes if the type is container.
    #[arg(short = 's', long)]
    pub size: bool,
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// `berth image inspect`.
#[derive(Args, Debug)]
pub struct ImageInspectArgs {
    /// Format output using a custom template ('json', or a Go template).
    #[arg(short = 'f', long)]
    pub format: Option<String>,
    #[arg(required = true)]
    pub names: Vec<String>,
}

impl From<ImageInspectArgs> for InspectArgs {
    fn from(a: ImageInspectArgs) -> Self {
        InspectArgs {
            format: a.format,
            kind: Some("image".into()),
            size: false,
            names: a.names,
        }
    }
}

/// What a name turned out to be.
enum Found {
    Container(Box<ContainerInspect>, Bytes),
    Image(Box<ImageInspect>, Bytes),
}

impl Found {
    fn raw(&self) -> &[u8] {
        match self {
            Found::Container(_, raw) | Found::Image(_, raw) => raw,
        }
    }

    fn render(&self, t: &Template) -> Result<String, String> {
        match self {
            Found::Container(v, _) => t.render(v),
            Found::Image(v, _) => t.render(v),
        }
    }
}

/// A container named `name` (unless `kind` says image), else an image.
async fn find(c: &Client, name: &str, kind: Option<&str>, size: bool) -> Result<Found, String> {
    let mut last = None;
    if kind != Some("image") {
        match c.container_inspect_with_raw(name, size).await {
            Ok((v, raw)) => return Ok(Found::Container(Box::new(v), raw)),
            Err(e) => last = Some(e),
        }
    }
    if kind != Some("container") {
        match c.image_inspect_with_raw(name).await {
            Ok((v, raw)) => return Ok(Found::Image(Box::new(v), raw)),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) if !e.is_not_found() => e.to_string(),
        _ => format!("Error: No such object: {name}"),
    })
}

/// `berth inspect [-f FORMAT] [--type container|image] [-s] NAME...`.
pub async fn inspect(c: &Client, a: InspectArgs) -> CmdResult {
    let template = match a.format.as_deref() {
        None | Some("") | Some("json") => None,
        Some(f) => {
            Some(Template::parse(f).map_err(|e| fail(64, format!("template parsing error: {e}")))?)
        }
    };
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for n in &a.names {
        match find(c, n, a.kind.as_deref(), a.size).await {
            Ok(f) => found.push(f),
            Err(e) => errors.push(e),
        }
    }
    let raws: Vec<&[u8]> = found.iter().map(Found::raw).collect();
    match (&template, a.format.as_deref()) {
        (Some(t), _) => {
            for f in &found {
                let text = f
                    .render(t)
                    .map_err(|e| fail(1, format!("template parsing error: {e}")))?;
                println!("{text}");
            }
        }
        // As the docker CLI: the answers as they came, in one array.
        (None, Some("json")) => {
            let joined: Vec<String> = raws
                .iter()
                .map(|r| String::from_utf8_lossy(r).trim().to_string())
                .collect();
            println!("[{}]", joined.join(","));
        }
        (None, _) => println!("{}", indent_json(&raws)),
    }
    // As the docker CLI: what was not found, after what was.
    for e in &errors {
        eprintln!("{e}");
    }
    Ok(i32::from(!errors.is_empty()))
}
