//! `berth inspect` (containers, then images), `container inspect`, `image inspect`: the
//! daemon's JSON as the docker CLI prints it (indented, the daemon's bytes kept), or a
//! `--format` template over the typed answer. [`print_inspected`] does the printing for
//! every inspect command (`network inspect` too).

use berth_client::Client;
use berth_client::models::{ContainerInspect, ImageInspect};
use bytes::Bytes;
use clap::Args;

use crate::exit::{CmdResult, Exit, fail};
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

/// What `inspect` prints of an answer: its bytes as they came (the JSON forms), its typed
/// value for a template.
pub trait Inspected {
    fn raw(&self) -> &[u8];
    fn render(&self, t: &Template) -> Result<String, String>;
}

/// One typed answer with its bytes as they came (networks, volumes).
pub struct Typed<T>(pub T, pub Bytes);

impl<T: serde::Serialize> Inspected for Typed<T> {
    fn raw(&self) -> &[u8] {
        &self.1
    }

    fn render(&self, t: &Template) -> Result<String, String> {
        t.render(&self.0)
    }
}

impl Inspected for Found {
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

/// `--format` of an inspect command: none for the JSON forms (none, `""`, `json`), else
/// the template (a parse error exits 64, as the docker CLI).
pub fn inspect_template(format: Option<&str>) -> Result<Option<Template>, Exit> {
    match format {
        None | Some("") | Some("json") => Ok(None),
        Some(f) => Template::parse(f)
            .map(Some)
            .map_err(|e| fail(64, format!("template parsing error: {e}"))),
    }
}

/// Print what was found as the docker CLI's inspector does, then the errors (what was
/// not found, templates that failed); exit 1 if there were any. `template` is
/// [`inspect_template`]'s of `format`.
pub fn print_inspected<I: Inspected>(
    format: Option<&str>,
    template: Option<&Template>,
    found: &[I],
    mut errors: Vec<String>,
) -> CmdResult {
    let raws: Vec<&[u8]> = found.iter().map(I::raw).collect();
    match (template, format) {
        (Some(t), _) => {
            let mut out = String::new();
            for f in found {
                match f.render(t) {
                    Ok(text) => {
                        out.push_str(&text);
                        out.push('\n');
                    }
                    Err(e) => errors.push(format!("template parsing error: {e}")),
                }
            }
            // Nothing rendered is still a line.
            if out.is_empty() {
                out.push('\n');
            }
            print!("{out}");
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
    for e in &errors {
        eprintln!("{e}");
    }
    Ok(i32::from(!errors.is_empty()))
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
    let template = inspect_template(a.format.as_deref())?;
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for n in &a.names {
        match find(c, n, a.kind.as_deref(), a.size).await {
            Ok(f) => found.push(f),
            Err(e) => errors.push(e),
        }
    }
    print_inspected(a.format.as_deref(), template.as_ref(), &found, errors)
}
