//! `berth cp`: copy between a container and the local filesystem through the archive API,
//! with the docker CLI's rules for what lands where (`SRC/.` copies a directory's contents;
//! a missing destination takes the source's place under its own name; a directory never
//! replaces a file).

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use base64::Engine as _;
use berth_client::{Client, Error as ClientError, next_chunk, reader_body};
use hyper::Method;
use serde::Deserialize;

use crate::commands::{fail, q};
use crate::{CmdResult, Exit};

/// A container path's stat, from `X-Docker-Container-Path-Stat`.
#[derive(Debug, Deserialize)]
struct PathStat {
    #[serde(default)]
    mode: u32,
    #[serde(rename = "linkTarget", default)]
    link_target: String,
}

const GO_DIR: u32 = 1 << 31;
const GO_SYMLINK: u32 = 1 << 27;

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
pub async fn cp(c: &Client, src: &str, dst: &str, follow_link: bool, archive: bool) -> CmdResult {
    match (split_container(src), split_container(dst)) {
        (Some((container, path)), None) => {
            from_container(c, container, path, dst, follow_link).await
        }
        (None, Some((container, path))) => {
            to_container(c, src, container, path, follow_link, archive).await
        }
        (Some(_), Some(_)) => Err(fail(1, "copying between containers is not supported")),
        (None, None) => Err(fail(
            1,
            "must specify at least one container source (\"berth cp --help\" for help)",
        )),
    }
}

async fn stat(c: &Client, container: &str, path: &str) -> Result<PathStat, ClientError> {
    let url = format!("/containers/{}/archive?path={}", q(container), q(path));
    let resp = c
        .send(Method::HEAD, &url, berth_client::empty(), &[])
        .await?;
    decode_stat(resp.headers())
}

fn decode_stat(headers: &hyper::HeaderMap) -> Result<PathStat, ClientError> {
    let bad = |e: String| ClientError::Decode(format!("path stat: {e}"));
    let h = headers
        .get("x-docker-container-path-stat")
        .ok_or_else(|| bad("missing".into()))?;
    let json = base64::engine::general_purpose::STANDARD
        .decode(h.as_bytes())
        .map_err(|e| bad(e.to_string()))?;
    serde_json::from_slice(&json).map_err(|e| bad(e.to_string()))
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
        && let Ok(st) = stat(c, container, path).await
        && st.mode & GO_SYMLINK != 0
    {
        let (parent, base) = split_dir_entry(path);
        src_path = if st.link_target.starts_with('/') {
            st.link_target.clone()
        } else {
            format!("{parent}/{}", st.link_target)
        };
        rebase_name = Some(base);
    }
    let url = format!("/containers/{}/archive?path={}", q(container), q(&src_path));
    let resp = c
        .send(Method::GET, &url, berth_client::empty(), &[])
        .await?;
    let st = decode_stat(resp.headers())?;
    let mut body = resp.into_body();
    if dst == "-" {
        let mut out = tokio::io::stdout();
        while let Some(chunk) = next_chunk(&mut body).await? {
            tokio::io::AsyncWriteExt::write_all(&mut out, &chunk).await?;
        }
        tokio::io::AsyncWriteExt::flush(&mut out).await?;
        return Ok(0);
    }
    let src_is_dir = st.mode & GO_DIR != 0;
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
    while let Some(chunk) = next_chunk(&mut body).await? {
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
/// replaced by `new` when renaming; names with `..` are refused and ownership is not kept
/// (the files are the user's, as with the docker CLI).
fn extract(input: impl Read, dir: &Path, rename: Option<(String, String)>) -> Result<(), String> {
    let mut archive = tar::Archive::new(input);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let name = match &rename {
            Some((old, new)) => rebase(&name, old, new),
            None => name,
        };
        let target = under(dir, &name)?;
        if target == dir && entry.header().entry_type().is_dir() {
            continue;
        }
        if entry.header().entry_type().is_hard_link() {
            // Another name of a file already extracted (named the same way).
            let first = entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .ok_or_else(|| format!("{name}: hard link without target"))?;
            let first = match &rename {
                Some((old, new)) => rebase(&first, old, new),
                None => first,
            };
            let first = under(dir, &first)?;
            let _ = std::fs::remove_file(&target);
            std::fs::hard_link(&first, &target)
                .map_err(|e| format!("{}: {e}", target.display()))?;
            continue;
        }
        entry
            .unpack(&target)
            .map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

/// `name` from an archive as a path below `dir`; `..` is refused.
fn under(dir: &Path, name: &str) -> Result<PathBuf, String> {
    let mut target = dir.to_path_buf();
    for comp in Path::new(name).components() {
        match comp {
            Component::Normal(c) => target.push(c),
            Component::CurDir | Component::RootDir => {}
            _ => return Err(format!("{name}: path escapes the destination")),
        }
    }
    Ok(target)
}

/// The docker CLI's `RebaseArchiveEntries` for one name.
fn rebase(name: &str, old: &str, new: &str) -> String {
    if old == "/" {
        return format!("{new}/{}", name.trim_start_matches('/'))
            .trim_end_matches('/')
            .to_string();
    }
    name.replacen(old, new, 1)
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
    let mut dst = stat(c, container, path).await;
    if let Ok(st) = &dst
        && st.mode & GO_SYMLINK != 0
    {
        dst_path = if st.link_target.starts_with('/') {
            st.link_target.clone()
        } else {
            format!("{}/{}", split_dir_entry(path).0, st.link_target)
        };
        dst = stat(c, container, &dst_path).await;
    }
    // A failed stat is taken for a missing destination (whose parent must exist): the
    // upload then says what is wrong, a missing container included.
    let dst_is_dir = dst.as_ref().is_ok_and(|s| s.mode & GO_DIR != 0);
    let dst_exists = dst.is_ok();

    let put = |dir: String, body| async move {
        let mut url = format!("/containers/{}/archive?path={}", q(container), q(&dir));
        url.push_str("&noOverwriteDirNonDir=true");
        if archive {
            url.push_str("&copyUIDGID=true");
        }
        let resp = c.send(Method::PUT, &url, body, &[]).await?;
        http_body_util::BodyExt::collect(resp.into_body()).await?;
        Ok::<_, ClientError>(())
    };
    if src == "-" {
        if !dst_is_dir {
            return Err(fail(
                1,
                format!("destination \"{container}:{path}\" must be a directory"),
            ));
        }
        put(dst_path, reader_body(tokio::io::stdin())).await?;
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
    // The tar is written by a blocking thread into a channel the request body reads (not a
    // pipe: a daemon that answers early must not kill this process with SIGPIPE).
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(8);
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let out = ChannelWriter { tx };
        let mut tar = tar::Builder::new(std::io::BufWriter::with_capacity(256 * 1024, out));
        tar.follow_symlinks(false);
        tar.mode(tar::HeaderMode::Complete);
        match &top {
            Some(name) if src_is_dir => tar.append_dir_all(name, &src_path)?,
            Some(name) => tar.append_path_with_name(&src_path, name)?,
            None => {
                let mut names: Vec<_> = std::fs::read_dir(&src_path)?
                    .map(|e| e.map(|e| e.file_name()))
                    .collect::<std::io::Result<_>>()?;
                names.sort();
                for n in names {
                    let p = src_path.join(&n);
                    if std::fs::symlink_metadata(&p)?.is_dir() {
                        tar.append_dir_all(&n, &p)?;
                    } else {
                        tar.append_path_with_name(&p, &n)?;
                    }
                }
            }
        }
        tar.into_inner()?.into_inner().map_err(|e| e.into_error())?;
        Ok(())
    });
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move {
        let chunk = rx.recv().await?;
        Some((Ok(hyper::body::Frame::data(chunk)), rx))
    });
    let body = http_body_util::BodyExt::boxed(http_body_util::StreamBody::new(chunks));
    let sent = put(dir, body).await;
    let written = writer.await.map_err(|e| fail(1, e.to_string()))?;
    sent?;
    written.map_err(|e| fail(1, format!("archiving {src}: {e}")))?;
    Ok(0)
}

/// Blocking writes into a channel of chunks (a request body on the other side).
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<bytes::Bytes>,
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tx
            .blocking_send(bytes::Bytes::copy_from_slice(buf))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
        assert_eq!(rebase("d/f", "d", "e"), "e/f");
        assert_eq!(rebase("./f", ".", "e"), "e/f");
        assert_eq!(rebase("/bin", "/", "root"), "root/bin");
        assert_eq!(rebase("/", "/", "root"), "root");
    }
}
