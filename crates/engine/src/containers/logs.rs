//! Log drivers as Docker's (`json-file`, `local`, `none`): their options, checked at
//! create with dockerd's messages, and reading a container's log back (rotated files
//! included) as Docker's `logs` stream.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use berth_models::{DEFAULT_LOG_DRIVER, LogConfig};
use berth_runtime::jsonlog::{LogDriver, LogSpec, rotated_name};
use bytes::Bytes;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::{mpsc, watch};

use crate::containers::record::Container;
use crate::{Error, ErrorKind, Progress, Result};

/// The log drivers Berth has (`/info`'s `Plugins.Log`).
pub const LOG_DRIVERS: [&str; 3] = ["json-file", "local", "none"];

/// Docker's other log drivers: known names, refused as not supported rather than
/// looked up as plugins.
const DOCKER_ONLY_DRIVERS: [&str; 9] = [
    "syslog",
    "journald",
    "gelf",
    "fluentd",
    "awslogs",
    "splunk",
    "etwlogs",
    "gcplogs",
    "logentries",
];

/// What `GET /containers/{id}/logs` asks for.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub stdout: bool,
    pub stderr: bool,
    pub follow: bool,
    /// Only the last N lines (None: all).
    pub tail: Option<usize>,
    pub timestamps: bool,
    /// Each line starts with its extra attributes (`--log-opt labels=/env=`).
    pub details: bool,
    /// Only lines at or after this unix time (0: no bound).
    pub since: i64,
    /// Only lines before this unix time (0: no bound).
    pub until: i64,
}

#[derive(Deserialize)]
struct Line {
    log: String,
    stream: String,
    #[serde(default)]
    attrs: BTreeMap<String, String>,
    time: String,
}

/// A size as go-units reads it: decimal (`FromHumanSize`, `1k` = 1000) or binary
/// (`RAMInBytes`, `1k` = 1024), an optional `i` and `b` after the unit.
fn parse_size(s: &str, binary: bool) -> Option<u64> {
    let t = s.trim();
    let num_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(num_end);
    let value: f64 = num.parse().ok()?;
    let unit = unit.trim_start().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let base: f64 = if binary { 1024.0 } else { 1000.0 };
    let power = match unit {
        "" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return None,
    };
    Some((value * base.powi(power)) as u64)
}

/// Go's `strconv.ParseBool`.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// A bad option value, as dockerd words it when the driver starts.
fn init_failed(why: impl std::fmt::Display) -> Error {
    Error::invalid(format!("failed to initialize logging driver: {why}"))
}

/// `max-file` as Go's `strconv.Atoi` reads it.
fn parse_count(v: &str) -> Result<i64> {
    v.parse::<i64>()
        .map_err(|_| init_failed(format!("strconv.Atoi: parsing {v:?}: invalid syntax")))
}

fn compress_opt(v: &str) -> Result<bool> {
    parse_bool(v)
        .ok_or_else(|| init_failed(format!("strconv.ParseBool: parsing {v:?}: invalid syntax")))
}

/// Check `LogConfig` at create as dockerd does (its messages; value errors dockerd only
/// finds at start are found here already), filling in the daemon's default driver, and its
/// default options for that driver (dockerd's `mergeAndVerifyLogConfig`).
pub(crate) fn check_log_config(lc: &mut LogConfig, default: &LogConfig) -> Result<()> {
    if lc.r#type.is_empty() {
        lc.r#type = if default.r#type.is_empty() {
            DEFAULT_LOG_DRIVER.into()
        } else {
            default.r#type.clone()
        };
    }
    if lc.r#type == default.r#type {
        for (k, v) in &default.config {
            lc.config.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    driver_spec(lc).map(|_| ())
}

/// Check the daemon's default log driver and options (`--log-driver`, `--log-opt`).
pub fn check_default(lc: &LogConfig) -> Result<()> {
    driver_spec(lc).map(|_| ())
}

/// The driver and rotation `lc` asks for (attributes not included).
fn driver_spec(lc: &LogConfig) -> Result<(LogSpec, Vec<(String, String)>)> {
    let driver = lc.r#type.as_str();
    let opts = &lc.config;
    let mut attr_opts = Vec::new();
    let spec = match driver {
        "json-file" | "" => {
            const KNOWN: [&str; 7] = [
                "max-size",
                "max-file",
                "compress",
                "labels",
                "labels-regex",
                "env",
                "env-regex",
            ];
            if let Some(k) = opts.keys().find(|k| !KNOWN.contains(&k.as_str())) {
                let why = if k == "tag" {
                    " (Docker accepts it and ignores it with json-file; Berth refuses it)"
                } else {
                    ""
                };
                return Err(Error::invalid(format!(
                    "unknown log opt '{k}' for json-file log driver{why}"
                )));
            }
            let mut max_size = 0;
            if let Some(v) = opts.get("max-size") {
                if v.trim_start().starts_with('-') {
                    return Err(init_failed(format!("invalid size: '{v}'")));
                }
                max_size = parse_size(v, false)
                    .ok_or_else(|| init_failed(format!("invalid size: '{v}'")))?;
                if max_size == 0 {
                    return Err(init_failed("max-size must be a positive number"));
                }
            }
            let mut max_file = 1;
            if let Some(v) = opts.get("max-file") {
                max_file = parse_count(v)?;
                if max_file < 1 {
                    return Err(init_failed("max-file cannot be less than 1"));
                }
            }
            let compress = match opts.get("compress") {
                Some(v) => compress_opt(v)?,
                None => false,
            };
            if compress && (max_file == 1 || max_size == 0) {
                return Err(init_failed(
                    "compress cannot be true when max-file is less than 2 or max-size is not set",
                ));
            }
            for k in ["labels", "labels-regex", "env", "env-regex"] {
                if let Some(v) = opts.get(k) {
                    attr_opts.push((k.to_string(), v.clone()));
                }
            }
            LogSpec {
                driver: LogDriver::JsonFile,
                max_size,
                max_file: max_file.min(u32::MAX as i64) as u32,
                compress,
                attrs: BTreeMap::new(),
            }
        }
        "local" => {
            if let Some(k) = opts
                .keys()
                .find(|k| !matches!(k.as_str(), "max-size" | "max-file" | "compress"))
            {
                return Err(Error::invalid(format!(
                    "unknown log opt '{k}' for log driver local"
                )));
            }
            let mut max_size = 20 << 20;
            if let Some(v) = opts.get("max-size") {
                max_size = parse_size(v, true).ok_or_else(|| {
                    init_failed(format!(
                        "invalid value for max-size: {v}: invalid size: '{v}'"
                    ))
                })?;
            }
            let mut max_file = 5;
            if let Some(v) = opts.get("max-file") {
                max_file = parse_count(v)?;
                if max_file < 0 {
                    return Err(init_failed("max file count cannot be less than 0"));
                }
            }
            let compress = match opts.get("compress") {
                Some(v) => compress_opt(v)?,
                None => true,
            };
            if compress && max_file <= 1 {
                return Err(init_failed(
                    "compression cannot be enabled when max file count is 1",
                ));
            }
            LogSpec {
                driver: LogDriver::Local,
                max_size,
                max_file: max_file.min(u32::MAX as i64) as u32,
                compress,
                attrs: BTreeMap::new(),
            }
        }
        "none" => {
            if !opts.is_empty() {
                return Err(Error::invalid("invalid logging opts for driver none"));
            }
            LogSpec {
                driver: LogDriver::None,
                ..LogSpec::default()
            }
        }
        d if DOCKER_ONLY_DRIVERS.contains(&d) => {
            return Err(Error::new(
                ErrorKind::NotImplemented,
                format!(
                    "log driver {d} is not supported by Berth (supported: {})",
                    LOG_DRIVERS.join(", ")
                ),
            ));
        }
        other => {
            return Err(Error::invalid(format!(
                "error looking up logging plugin {other}: plugin \"{other}\" not found"
            )));
        }
    };
    Ok((spec, attr_opts))
}

/// Docker's `ExtraAttributes`: the labels and environment variables `--log-opt
/// labels=`, `labels-regex=`, `env=`, `env-regex=` name, added to every entry.
fn extra_attributes(opts: &[(String, String)], c: &Container) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let env: BTreeMap<&str, &str> = c
        .config
        .env
        .iter()
        .filter_map(|e| e.split_once('='))
        .collect();
    let regex = |v: &str| {
        regex::Regex::new(v).map_err(|e| init_failed(format!("error parsing regexp: {e}")))
    };
    for (k, v) in opts {
        match k.as_str() {
            "labels" => {
                for l in v.split(',') {
                    if let Some(val) = c.config.labels.get(l) {
                        out.insert(l.to_string(), val.clone());
                    }
                }
            }
            "env" => {
                for name in v.split(',') {
                    if let Some(val) = env.get(name) {
                        out.insert(name.to_string(), val.to_string());
                    }
                }
            }
            "labels-regex" if !v.is_empty() => {
                let re = regex(v)?;
                for (l, val) in c.config.labels.iter().filter(|(l, _)| re.is_match(l)) {
                    out.insert(l.clone(), val.clone());
                }
            }
            "env-regex" if !v.is_empty() => {
                let re = regex(v)?;
                for (name, val) in env.iter().filter(|(n, _)| re.is_match(n)) {
                    out.insert(name.to_string(), val.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// How the shim is to log container `c`'s output.
pub(crate) fn log_spec(lc: &LogConfig, c: &Container) -> Result<LogSpec> {
    let (mut spec, attr_opts) = driver_spec(lc)?;
    spec.attrs = extra_attributes(&attr_opts, c)?;
    Ok(spec)
}

/// Docker's 8-byte stream frame header followed by `data`.
pub fn frame(stream: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + data.len());
    out.extend_from_slice(&[stream, 0, 0, 0]);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// Turn one json-file line into output bytes, or None if filtered out.
fn render(raw: &[u8], opts: &LogOptions, tty: bool) -> Option<Vec<u8>> {
    let line: Line = serde_json::from_slice(raw).ok()?;
    let stream = match line.stream.as_str() {
        "stdout" if opts.stdout => 1,
        "stderr" if opts.stderr => 2,
        _ => return None,
    };
    if opts.since > 0 || opts.until > 0 {
        let t = crate::time::unix_seconds(&line.time);
        if (opts.since > 0 && t < opts.since) || (opts.until > 0 && t >= opts.until) {
            return None;
        }
    }
    let mut text = String::new();
    if opts.timestamps {
        text.push_str(&line.time);
        text.push(' ');
    }
    if opts.details {
        // Docker's attrsByteSlice: sorted, query-escaped `k=v` pairs, then a space.
        let attrs: Vec<String> = line
            .attrs
            .iter()
            .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
            .collect();
        text.push_str(&attrs.join(","));
        text.push(' ');
    }
    text.push_str(&line.log);
    Some(if tty {
        text.into_bytes()
    } else {
        frame(stream, text.as_bytes())
    })
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The log at `path` opened now, with its rotated files (oldest first, each marked when
/// gzipped): a container removed right after the request (as the docker SDK's `run(...,
/// remove=True)` does) takes its files away, and open files still read whole.
pub(crate) struct OpenLog {
    rotated: Vec<(std::fs::File, bool)>,
    current: Option<std::fs::File>,
}

impl OpenLog {
    pub(crate) fn open(path: &Path) -> Self {
        Self {
            rotated: open_rotated(path),
            current: std::fs::File::open(path).ok(),
        }
    }
}

/// The rotated files of the log at `path`, oldest first; while a rotated file is being
/// compressed both may exist, and the plain one is whole.
fn open_rotated(path: &Path) -> Vec<(std::fs::File, bool)> {
    let mut numbers: Vec<u32> = Vec::new();
    let (Some(dir), Some(base)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let prefix = format!("{}.", base.to_string_lossy());
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        if let Ok(n) = rest.strip_suffix(".gz").unwrap_or(rest).parse::<u32>()
            && n > 0
            && !numbers.contains(&n)
        {
            numbers.push(n);
        }
    }
    numbers.sort_unstable_by(|a, b| b.cmp(a));
    numbers
        .into_iter()
        .filter_map(|n| {
            std::fs::File::open(rotated_name(path, n, false))
                .map(|f| (f, false))
                .or_else(|_| std::fs::File::open(rotated_name(path, n, true)).map(|f| (f, true)))
                .ok()
        })
        .collect()
}

/// The rotated files read whole, gzipped ones decompressed.
fn read_rotated(files: Vec<(std::fs::File, bool)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (f, gz) in files {
        read_whole(&f, gz, &mut out);
    }
    out
}

/// A log file from its start, decompressed when `gz`, appended to `out` (best effort).
fn read_whole(mut f: &std::fs::File, gz: bool, out: &mut Vec<u8>) {
    use std::io::Seek;
    if f.seek(std::io::SeekFrom::Start(0)).is_err() {
        return;
    }
    let _ = if gz {
        flate2::read::GzDecoder::new(f).read_to_end(out)
    } else {
        f.read_to_end(out)
    };
}

/// A log file's first entry (what tells its files apart: each entry has its time in
/// nanoseconds), empty if it has none yet.
fn first_entry(mut f: &std::fs::File, gz: bool) -> Vec<u8> {
    use std::io::{BufRead, Seek};
    let mut line = Vec::new();
    if f.seek(std::io::SeekFrom::Start(0)).is_ok() {
        let _ = if gz {
            std::io::BufReader::new(flate2::read::GzDecoder::new(f)).read_until(b'\n', &mut line)
        } else {
            std::io::BufReader::new(f).read_until(b'\n', &mut line)
        };
    }
    line
}

/// For a follower whose file (first entry `ours`) was rotated away: the rotated files the
/// log went through since, read whole, oldest first, up to the one it goes on with
/// (`next`, the log file opened after the rotation, which may itself have been rotated
/// meanwhile). A follower that looks every 100 ms misses whole files otherwise when
/// entries come fast. When its file is no longer there (more rotations than `max-file`
/// keeps), every rotated file left came after it: all are read.
fn missed_rotations(path: &Path, ours: &[u8], next: &std::fs::File) -> Vec<u8> {
    let mut out = Vec::new();
    if ours.is_empty() {
        return out;
    }
    let files = open_rotated(path);
    let after = files
        .iter()
        .position(|(f, gz)| first_entry(f, *gz) == ours)
        .map_or(0, |at| at + 1);
    // Read after the list: had `next` been rotated before it, it had entries by then.
    let next = first_entry(next, false);
    for (f, gz) in &files[after..] {
        if !next.is_empty() && first_entry(f, *gz) == next {
            break;
        }
        read_whole(f, *gz, &mut out);
    }
    out
}

/// [`missed_rotations`] between a follower's file `ours` and `next`, read on a blocking
/// thread.
async fn missed_since(path: &Path, ours: &tokio::fs::File, next: &tokio::fs::File) -> Vec<u8> {
    let (Ok(ours), Ok(next)) = (ours.try_clone().await, next.try_clone().await) else {
        return Vec::new();
    };
    let (ours, next) = (ours.into_std().await, next.into_std().await);
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || missed_rotations(&path, &first_entry(&ours, false), &next))
        .await
        .unwrap_or_default()
}

/// Stream the log at `path` (opened as `log`) into `tx`; with `follow`, keep reading what is
/// appended until the container stops running (seen through `progress`) and the file is
/// drained.
pub(crate) async fn stream(
    path: PathBuf,
    log: OpenLog,
    opts: LogOptions,
    tty: bool,
    mut progress: watch::Receiver<Progress>,
    tx: mpsc::Sender<Bytes>,
) {
    let OpenLog { rotated, current } = log;
    let rotated = tokio::task::spawn_blocking(move || read_rotated(rotated))
        .await
        .unwrap_or_default();
    let Some(file) = current else {
        return;
    };
    let mut file = tokio::fs::File::from_std(file);
    let mut buf = rotated;
    let rotated_len = buf.len();
    if file.read_to_end(&mut buf).await.is_err() {
        return;
    }
    // Complete lines only; a partial last line waits for its end.
    let complete = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut lines: Vec<&[u8]> = buf[..complete]
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    if let Some(n) = opts.tail {
        let skip = lines.len().saturating_sub(n);
        lines.drain(..skip);
    }
    let mut out = Vec::new();
    for l in lines {
        if let Some(b) = render(l, &opts, tty) {
            out.extend_from_slice(&b);
        }
    }
    if !out.is_empty() && tx.send(Bytes::from(out)).await.is_err() {
        return;
    }
    if !opts.follow {
        return;
    }
    let mut offset = (buf.len() - rotated_len) as u64;
    let mut pending: Vec<u8> = buf[complete..].to_vec();
    loop {
        let running = progress.borrow_and_update().running;
        // Read whatever was appended.
        let mut chunk = Vec::new();
        if file.seek(std::io::SeekFrom::Start(offset)).await.is_err()
            || file.read_to_end(&mut chunk).await.is_err()
        {
            return;
        }
        offset += chunk.len() as u64;
        // Rotated away (renamed: what was written before is all in our file, read to its
        // end above) or truncated in place (one file kept): go on from the new start. Gone
        // (the container removed): what was read is sent, and that is the end.
        let mut gone = false;
        match (tokio::fs::metadata(&path).await, file.metadata().await) {
            (Ok(now), Ok(ours)) => {
                use std::os::unix::fs::MetadataExt;
                if now.ino() != ours.ino() {
                    let mut rest = Vec::new();
                    let _ = file.read_to_end(&mut rest).await;
                    chunk.extend_from_slice(&rest);
                    match tokio::fs::File::open(&path).await {
                        Ok(next) => {
                            chunk.extend_from_slice(&missed_since(&path, &file, &next).await);
                            file = next;
                        }
                        Err(_) => gone = true,
                    }
                    offset = 0;
                } else if now.len() < offset {
                    offset = 0;
                }
            }
            _ => gone = true,
        }
        pending.extend_from_slice(&chunk);
        if let Some(end) = pending.iter().rposition(|&b| b == b'\n') {
            let rest = pending.split_off(end + 1);
            let mut out = Vec::new();
            for l in pending.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                if let Some(b) = render(l, &opts, tty) {
                    out.extend_from_slice(&b);
                }
            }
            pending = rest;
            if !out.is_empty() && tx.send(Bytes::from(out)).await.is_err() {
                return;
            }
        }
        if gone || (!running && chunk.is_empty()) {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
            _ = progress.changed() => {}
            _ = tx.closed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_filters() {
        let opts = LogOptions {
            stdout: true,
            stderr: false,
            ..Default::default()
        };
        let out = render(
            br#"{"log":"hi\n","stream":"stdout","time":"2026-11-22T22:44:12.1Z"}"#,
            &opts,
            false,
        )
        .expect("rendered");
        assert_eq!(out, [&[1u8, 0, 0, 0, 0, 0, 0, 3][..], b"hi\n"].concat());
        assert!(
            render(
                br#"{"log":"x\n","stream":"stderr","time":"2026-11-22T22:44:12.1Z"}"#,
                &opts,
                false
            )
            .is_none()
        );
        let ts = LogOptions {
            stdout: true,
            timestamps: true,
            ..Default::default()
        };
        let out = render(
            br#"{"log":"hi\n","stream":"stdout","time":"2026-11-22T22:44:12.1Z"}"#,
            &ts,
            true,
        )
        .expect("rendered");
        assert_eq!(out, b"2026-11-22T22:44:12.1Z hi\n");
    }

    #[tokio::test]
    async fn tail_keeps_last_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log");
        let mut content = String::new();
        for i in 0..5 {
            content.push_str(&format!(
                "{{\"log\":\"l{i}\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-22T22:44:12Z\"}}\n"
            ));
        }
        std::fs::write(&path, content).expect("write");
        let (_ptx, prx) = watch::channel(Progress::default());
        let (tx, mut rx) = mpsc::channel(4);
        let opts = LogOptions {
            stdout: true,
            tail: Some(2),
            ..Default::default()
        };
        let log = OpenLog::open(&path);
        stream(path, log, opts, true, prx, tx).await;
        let got = rx.recv().await.expect("data");
        assert_eq!(&got[..], b"l3\nl4\n");
        assert!(rx.recv().await.is_none());
    }

    /// The docker SDK's `run(..., remove=True)` asks for the log, waits and removes the
    /// container before it reads the answer: a log opened at the request still reads whole,
    /// rotated files included, following or not.
    #[tokio::test]
    async fn a_log_removed_after_the_request_still_reads_whole() {
        for follow in [false, true] {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("log");
            let line = |t: &str| {
                format!(
                    "{{\"log\":\"{t}\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-22T22:44:12Z\"}}\n"
                )
            };
            std::fs::write(rotated_name(&path, 1, false), line("old")).expect("write");
            std::fs::write(&path, line("new")).expect("write");
            let log = OpenLog::open(&path);
            std::fs::remove_dir_all(dir.path()).expect("remove");
            let (_ptx, prx) = watch::channel(Progress::default());
            let (tx, mut rx) = mpsc::channel(4);
            let opts = LogOptions {
                stdout: true,
                follow,
                ..Default::default()
            };
            stream(path, log, opts, true, prx, tx).await;
            let got = rx.recv().await.expect("data");
            assert_eq!(&got[..], b"old\nnew\n");
            assert!(rx.recv().await.is_none());
        }
    }

    /// A follower that sleeps through two rotations (the log went through a whole file
    /// between two looks) still gets every entry, in order: the file in between is read
    /// from where rotation left it, plain or compressed, and also when its own file was
    /// dropped meanwhile (more rotations than `max-file` keeps).
    #[tokio::test]
    async fn a_follower_gets_the_files_it_slept_through() {
        for (gz, dropped) in [(false, false), (true, false), (false, true)] {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("log");
            let line = |t: &str| {
                format!(
                    "{{\"log\":\"{t}\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-22T22:44:12Z\"}}\n"
                )
            };
            let append = |p: &Path, t: &str| {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(p)
                    .expect("open");
                f.write_all(line(t).as_bytes()).expect("write");
            };
            append(&path, "e1");
            append(&path, "e2");
            let (ptx, prx) = watch::channel(Progress {
                running: true,
                ..Progress::default()
            });
            let (tx, mut rx) = mpsc::channel(16);
            let opts = LogOptions {
                stdout: true,
                follow: true,
                ..Default::default()
            };
            let log = OpenLog::open(&path);
            let task = tokio::spawn(stream(path.clone(), log, opts, true, prx, tx));
            assert_eq!(&rx.recv().await.expect("data")[..], b"e1\ne2\n");
            // Past its first look: asleep.
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            append(&path, "e3");
            std::fs::rename(&path, rotated_name(&path, 1, false)).expect("rotate");
            append(&path, "e4");
            append(&path, "e5");
            std::fs::rename(rotated_name(&path, 1, false), rotated_name(&path, 2, false))
                .expect("rotate");
            std::fs::rename(&path, rotated_name(&path, 1, false)).expect("rotate");
            if dropped {
                // The follower's own file, the oldest, as `max-file=2` drops it.
                std::fs::remove_file(rotated_name(&path, 2, false)).expect("drop");
            }
            if gz {
                // The one in between compressed meanwhile, as `compress=true` does.
                let plain = rotated_name(&path, 1, false);
                let mut enc = flate2::write::GzEncoder::new(
                    std::fs::File::create(rotated_name(&path, 1, true)).expect("create"),
                    flate2::Compression::fast(),
                );
                std::io::Write::write_all(&mut enc, &std::fs::read(&plain).expect("read"))
                    .expect("gz");
                enc.finish().expect("gz");
                std::fs::remove_file(plain).expect("remove");
            }
            append(&path, "e6");
            ptx.send_modify(|p| p.running = false);
            task.await.expect("stream");
            let mut got = Vec::new();
            while let Some(b) = rx.recv().await {
                got.extend_from_slice(&b);
            }
            assert_eq!(
                String::from_utf8_lossy(&got),
                "e3\ne4\ne5\ne6\n",
                "gz: {gz}, dropped: {dropped}"
            );
        }
    }
}
