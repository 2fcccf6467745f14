//! The commands, one file per group, each with its flags (clap `Args`) and the functions
//! `main` dispatches to; each returns the process's exit code or an [`Exit`]:
//!
//! - [`create`]: the flags of `create` and `run` and the `CreateRequest` they make;
//!   [`netflags`]: their network flags (`--network`, `-p`, `--dns`...);
//! - [`run`]: `run`, `start`, `attach` (attached sessions);
//! - [`container`]: `stop`, `restart`, `kill`, `rm`, `wait`, `pause`, `unpause`,
//!   `rename`, `update`, `resize`, `top`, `container prune`;
//! - [`ps`], [`stats`], [`logs`], [`exec`], [`cp`], [`inspect`], [`events`];
//! - [`port`]: `port`, and the PORTS column of `ps`;
//! - [`network`]: `network create|ls|inspect|rm|prune|connect|disconnect`;
//! - [`volume`]: `volume create|ls|inspect|rm|prune`, and Berth's `export|import|clone`;
//! - [`commit`]: `commit`, `diff`, `export` (a container's filesystem);
//! - [`image`]: `images`, `rmi`, `tag`, `history`, `image prune`, `load`, `save`, `import`;
//! - [`system`]: `version`, `info`, `system df`, `system prune`.
//!
//! Helpers shared by several commands are here: [`each`] for commands that take several
//! names, [`ListFlags`] and [`print_rows`] for list commands, [`filters`] for `--filter`
//! flags, [`confirmed`] for prunes, [`short_id`], [`Aside`] for tars written to a file.

pub mod commit;
pub mod container;
pub mod cp;
pub mod create;
pub mod events;
pub mod exec;
pub mod image;
pub mod inspect;
pub mod logs;
pub mod netflags;
pub mod network;
pub mod port;
pub mod ps;
pub mod run;
pub mod stats;
pub mod system;
pub mod volume;

use std::io::Write;
use std::path::{Path, PathBuf};

use berth_client::{Error as ClientError, Filters};
use clap::Args;
use futures_util::StreamExt;

use crate::exit::{CmdResult, Exit, fail};
use crate::format::rows;

/// The flags the list commands (`ps`, `images`) share.
#[derive(Args, Debug)]
pub struct ListFlags {
    /// Show all (ps: stopped containers too; images: intermediate images too).
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Only display IDs.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Don't truncate output.
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Filter output based on conditions provided.
    #[arg(short = 'f', long = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go
    /// template.
    #[arg(long)]
    pub format: Option<String>,
}

/// Print a list command's rows in `format` (its `default` table without one); `titles` is
/// the row of column titles.
pub fn print_rows<R: serde::Serialize>(
    format: Option<&str>,
    default: &str,
    titles: &R,
    list: &[R],
) -> CmdResult {
    print!(
        "{}",
        rows(format, default, titles, list).map_err(|e| fail(1, e))?
    );
    Ok(0)
}

/// Per-name commands: run `f` on each, up to `parallel` at once, print what it returns in
/// argument order, keep going on errors (exit 1 at the end), as docker does for
/// `start a b c`. The docker CLI runs `stop`, `kill`, `rm`, `pause` and `unpause` of
/// several containers 50 at a time, others one by one.
pub async fn each<F, Fut>(names: &[String], parallel: usize, f: F) -> CmdResult
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, ClientError>>,
{
    let mut results = futures_util::stream::iter(names.iter().cloned())
        .map(f)
        .buffered(parallel);
    let mut code = 0;
    while let Some(r) = results.next().await {
        match r {
            Ok(Some(line)) => println!("{line}"),
            Ok(None) => {}
            Err(e) => {
                eprintln!("{e}");
                code = 1;
            }
        }
    }
    Ok(code)
}

/// `--filter k=v` flags as the docker CLI reads them (`filters.ParseFlag`: the key
/// trimmed and lower-cased, the value trimmed).
pub fn filters(flags: &[String]) -> Result<Filters, Exit> {
    let mut f = Filters::new();
    for flag in flags {
        let (k, v) = flag
            .split_once('=')
            .ok_or_else(|| fail(125, "bad format of filter (expected name=value)"))?;
        f.add(k.trim().to_ascii_lowercase(), v.trim());
    }
    Ok(f)
}

/// Whether to go on with a prune: `force` (`-f`), or the user answers y/yes to `warning`
/// (as the docker CLI asks).
pub fn confirmed(force: bool, warning: &str) -> bool {
    if force {
        return true;
    }
    print!("{warning}\nAre you sure you want to continue? [y/N] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// A file written aside (`.NAME.berth-PID` in the target's directory) and renamed over
/// its target once complete (`save -o`, `volume export -o`): a failed write leaves no
/// partial file under the name. Removed when dropped before [`Aside::keep`].
pub struct Aside {
    tmp: PathBuf,
    target: PathBuf,
    kept: bool,
}

impl Aside {
    pub fn new(target: &Path) -> Aside {
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Aside {
            tmp: dir.join(format!(".{name}.berth-{}", std::process::id())),
            target: target.to_path_buf(),
            kept: false,
        }
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Rename what was written over the target.
    pub fn keep(mut self) -> std::io::Result<()> {
        std::fs::rename(&self.tmp, &self.target)?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for Aside {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// A container or image id as the docker CLI shows it: 12 hex digits, or whole.
pub fn short_id(id: &str, no_trunc: bool) -> String {
    if no_trunc {
        id.to_string()
    } else {
        id.trim_start_matches("sha256:").chars().take(12).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_flags_become_api_filters() {
        let f = filters(&["dangling=true".into(), " Label = a=b".into()]).unwrap();
        assert_eq!(
            f.to_json(),
            r#"{"dangling":{"true":true},"label":{"a=b":true}}"#
        );
        assert!(filters(&["nope".into()]).is_err());
    }
}
