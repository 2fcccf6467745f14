//! `berth cp`: copy between a container and the local filesystem through the archive API,
//! with the docker CLI's rules for what lands where (`SRC/.` copies a directory's contents;
//! a missing destination takes the source's place under its own name; a directory never
//! replaces a file). The tars are read and written by the archive crate, with its rules
//! for hostile archives: what a container sends cannot leave the destination directory
//! (no `..`, no writes through symlinks, no hard links out, no device nodes on the host).

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use berth_archive::XattrSet;
use berth_client::{ArchivePut, Client, PathStat, reader_body};
use clap::Args;

use crate::exit::{CmdResult, Exit, fail};
use crate::upload::{open_dir, tar_body};

/// `cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-` or `cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH`.
#[derive(Args, Debug)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information).
    #[arg(short = 'a', long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH.
    #[arg(short = 'L', long = "follow-link")]
    pub follow_link: bool,
    /// Suppress progress output during copy (there is none).
    #[arg(short = 'q', long)]
    pub quiet: bool,
    pub src: String,
    pub dst: String,
}

/// `CONTAINER:PATH` split, or `None` for a local path (one with no colon before any `/`,
/// as the docker CLI reads it; `./a:b` is local).
fn split_container(arg: &str) -> Option<(&str, &str)> {
    if arg.starts_with('/') || arg.starts_with('.') {
        return None;
    }
    let (c, p) = arg.split_once(':')?;
    (!c.contains('/')).then_some((c, p))
}

/// `berth cp [-a] [-L] SRC DEST`: one side `CONTAINER:PATH`, the other a local path or `-`
/// (a tar on stdin or stdout).
pub async fn cp(c: &Client, a: CpArgs) -> CmdResult {
    let (src, dst) = (a.src.as_str(), a.dst.as_str());
    match (split_container(src), split_container(dst)) {
        (Some((container, path)), None) => {
            from_container(c, container, path, dst, a.follow_link).await
        }
        (None, Some((container, path))) => {
            to_container(c, src, container, path, a.follow_link, a.archive).await
        }
        (Some(_), Some(_)) => Err(fail(1, "copying between containers is not supported")),
        (None, None) => Err(fail(
            1,
            "must specify at least one container source (\"berth cp --help\" for help)",
        )),
    }
}

/// Go's `filepath.Split` after `Clean`, keeping a trailing `/.` (docker's
/// `SplitPathDirEntry`): the parent and the last element.
fn split_dir_entry(path: &str) -> (String, String) {
    let p = Path::new(path);
    let mut cleaned: PathBuf = PathBuf::new();
    for comp in p.components() {
        match comp {
            Component::CurDir => {}
            Component::ParentDir => {
                if !cleaned.pop() {
                    cleaned.push("..");
                }
            }
            c => cleaned.push(c),
        }
    }
    let mut cleaned = cleaned.to_string_lossy().into_owned();
    if cleaned.is_empty() {
        cleaned = ".".into();
    }
    if path == "." || path.ends_with("/.") {
        cleaned = format!("{}/.", cleaned.trim_end_matches('/'));
    }
    match cleaned.rsplit_once('/') {
        Some(("", base)) => ("/".into(), base.into()),
        Some((dir, base)) => (dir.into(), base.into()),
        None => (".".into(), cleaned),
    }
}

fn asserts_directory(path: &str) -> bool {
    path.ends_with('/') || path == "." || path.ends_with("/.")
}

async fn from_container(
    c: &Client,
    container: &str,
    path: &str,
    dst: &str,
    follow_link: bool,
) -> CmdResult {
    let mut src_path = path.to_string();
    // With -L a final symlink is followed, the copy keeping the link's name.
    let mut rebase_name = None;
    if follow_link
        && let Ok(st) = c.container_stat_path(container, path).await
        && st.is_symlink()
    {
        let (parent, base) = split_dir_entry(path);
        src_path = if st.link_target.starts_with('/') {
            st.link_target.clone()
        } else {
            format!("{parent}/{}", st.link_target)
        };
        rebase_name = Some(base);
    }
    let (st, mut body) = c.container_archive_get(container, &src_path).await?;
    if dst == "-" {
        let mut out = tokio::io::stdout();
        while let Some(chunk) = body.next().await? {
            tokio::io::AsyncWriteExt::write_all(&mut out, &chunk).await?;
        }
        tokio::io::AsyncWriteExt::flush(&mut out).await?;
        return Ok(0);
    }
    let src_is_dir = st.is_dir();
    // The archive's entries are named after what was fetched (a -L link's target); the
    // copy keeps the name asked for.
    let (_, src_base) = split_dir_entry(&src_path);
    let keep = rebase_name
        .filter(|r| *r != src_base)
        .map(|r| (src_base.clone(), r));
    // Where the destination is (a final symlink followed) and what it is.
    let dst_path = resolve_local(dst)?;
    let dst_md = std::fs::metadata(&dst_path).ok();
    let (dst_parent, dst_base) = split_dir_entry(&dst_path);
    let (extract_to, rename) = match dst_md {
        Some(md) if md.is_dir() => (PathBuf::from(&dst_path), keep),
        Some(_) if src_is_dir => return Err(fail(1, "cannot copy directory")),
        Some(_) => (PathBuf::from(&dst_parent), Some((src_base, dst_base))),
        None if !src_is_dir && asserts_directory(dst) => {
            return Err(fail(1, "no such directory"));
        }
        None => {
            if !Path::new(&dst_parent).is_dir() {
                return Err(fail(
                    1,
                    format!("invalid output path: directory {dst_parent:?} does not exist"),
                ));
            }
            (PathBuf::from(&dst_parent), Some((src_base, dst_base)))
        }
    };
    // The body goes to a blocking extraction through a channel.
    let (tx, rx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(16);
    let extract =
        tokio::task::spawn_blocking(move || extract(ChannelReader::new(rx), &extract_to, rename));
    while let Some(chunk) = body.next().await? {
        if tx.send(chunk).is_err() {
            break;
        }
    }
    drop(tx);
    extract
        .await
        .map_err(|e| fail(1, e.to_string()))?
        .map_err(|e| fail(1, e))?;
    Ok(0)
}

/// A local path with a final symlink followed (as the docker CLI treats a destination).
fn resolve_local(path: &str) -> Result<String, Exit> {
    let mut p = PathBuf::from(path);
    for _ in 0..32 {
        match std::fs::symlink_metadata(&p) {
            Ok(md) if md.file_type().is_symlink() => {
                let target = std::fs::read_link(&p)?;
                p = p.parent().unwrap_or(Path::new("/")).join(target);
            }
            _ => break,
        }
    }
    let mut s = p.to_string_lossy().into_owned();
    if path.ends_with('/') && !s.ends_with('/') {
        s.push('/');
    }
    Ok(s)
}

/// Blocking reads of the chunks a response body delivers.
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<bytes::Bytes>,
    cur: bytes::Bytes,
}

impl ChannelReader {
    fn new(rx: std::sync::mpsc::Receiver<bytes::Bytes>) -> Self {
        ChannelReader {
            rx,
            cur: bytes::Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.recv() {
                Ok(b) => self.cur = b,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        self.cur = self.cur.slice(n..);
        Ok(n)
    }
}

/// Extract a container's archive under `dir`, the first `old` element of each name
/// replaced by `new` when renaming, as the docker CLI's `CopyTo` does: ownership is not
/// kept (the files are the user's), a directory never replaces a file nor the other way
/// round; and, beyond it, no device nodes on the host.
fn extract(input: impl Read, dir: &Path, rename: Option<(String, String)>) -> Result<(), String> {
    let opts = berth_archive::Options {
        whiteouts: berth_archive::Whiteouts::Plain,
        owners: berth_archive::Owners::Unchanged,
        devices: berth_archive::Devices::Refuse,
        xattrs: berth_archive::Xattrs::BestEffort,
        no_overwrite_dir_non_dir: true,
        rename: rename.map(|(from, to)| berth_archive::Rename {
            from: from.into_bytes(),
            to: to.into_bytes(),
        }),
        ..berth_archive::Options::default()
    };
    berth_archive::extract(input, dir, &opts)
        .map(drop)
        .map_err(|e| e.to_string())
}

async fn to_container(
    c: &Client,
    src: &str,
    container: &str,
    path: &str,
    follow_link: bool,
    archive: bool,
) -> CmdResult {
    let mut dst_path = path.to_string();
    let mut dst: Result<PathStat, _> = c.container_stat_path(container, path).await;
    if let Ok(st) = &dst
        && st.is_symlink()
    {
        dst_path = if st.link_target.starts_with('/') {
            st.link_target.clone()
        } else {
            format!("{}/{}", split_dir_entry(path).0, st.link_target)
        };
        dst = c.container_stat_path(container, &dst_path).await;
    }
    // A failed stat is taken for a missing destination (whose parent must exist): the
    // upload then says what is wrong, a missing container included.
    let dst_is_dir = dst.as_ref().is_ok_and(PathStat::is_dir);
    let dst_exists = dst.is_ok();

    let put = ArchivePut {
        no_overwrite_dir_non_dir: true,
        copy_uid_gid: archive,
    };
    if src == "-" {
        if !dst_is_dir {
            return Err(fail(
                1,
                format!("destination \"{container}:{path}\" must be a directory"),
            ));
        }
        c.container_archive_put(container, &dst_path, put, reader_body(tokio::io::stdin()))
            .await?;
        return Ok(0);
    }

    // The local source (a final symlink followed with -L).
    let mut src_path = PathBuf::from(src);
    if follow_link {
        src_path = std::fs::canonicalize(&src_path).unwrap_or(src_path);
    }
    let src_md = std::fs::symlink_metadata(&src_path)
        .map_err(|e| fail(1, format!("lstat {}: {}", src_path.display(), no_such(&e))))?;
    let src_is_dir = src_md.is_dir();
    let contents_only = src == "." || src.ends_with("/.");
    let (_, src_base) = split_dir_entry(src);
    // `path` archives a directory's contents for a name ending in `/.`.
    if contents_only && !src_path.as_os_str().as_encoded_bytes().ends_with(b"/.") {
        src_path.push(".");
    }
    let (dst_parent, dst_base) = split_dir_entry(&dst_path);
    // Which directory the daemon extracts into, and the name the source takes there
    // (`None`: a directory's contents go straight in).
    let (dir, top): (String, Option<String>) = if dst_exists && dst_is_dir {
        (dst_path.clone(), (!contents_only).then_some(src_base))
    } else if dst_exists && src_is_dir {
        return Err(fail(1, "cannot copy directory"));
    } else if !dst_exists && !src_is_dir && asserts_directory(path) {
        return Err(fail(1, "no such directory"));
    } else {
        (dst_parent, Some(dst_base))
    };
    // As the docker CLI: file capabilities are the only extended attributes sent.
    let (body, writer) = tar_body(XattrSet::Capability, move |tar| match &top {
        Some(name) => tar.path(&src_path, name.as_bytes()),
        None => tar.contents(&open_dir(&src_path)?, b""),
    });
    let sent = c.container_archive_put(container, &dir, put, body).await;
    let written = writer.await.map_err(|e| fail(1, e.to_string()))?;
    sent?;
    written.map_err(|e| fail(1, format!("archiving {src}: {e}")))?;
    Ok(0)
}

fn no_such(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        "no such file or directory".into()
    } else {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_as_docker_splits_them() {
        assert_eq!(split_container("c:/a"), Some(("c", "/a")));
        assert_eq!(split_container("./c:/a"), None);
        assert_eq!(split_container("/x:y"), None);
        assert_eq!(split_container("plain"), None);
        assert_eq!(split_dir_entry("/d/f"), ("/d".into(), "f".into()));
        assert_eq!(split_dir_entry("/d/"), ("/".into(), "d".into()));
        assert_eq!(split_dir_entry("/d/."), ("/d".into(), ".".into()));
        assert_eq!(split_dir_entry("out/x"), ("out".into(), "x".into()));
        assert_eq!(split_dir_entry("x"), (".".into(), "x".into()));
    }
}
