//! Docker's json-file log format: one JSON object per line,
//! `{"log":"hello\n","stream":"stdout","time":"2026-11-22T22:44:12.123456789Z"}`, and the
//! log drivers the shim writes it with ([`LogSpec`]): `json-file`, `local` (the same lines
//! in the container's `local-logs/container.log`, rotated by default) and `none`.
//!
//! Output is split at newlines; a line longer than [`MAX_LINE`] is split into pieces of that
//! size (all but the last without a newline), and a partial last line is written when the
//! stream ends. With a `max_size`, the file is rotated as Docker's `LogFile` does: before
//! an entry is written to a file that has reached the size, `log` becomes `log.1` (gzipped
//! to `log.1.gz` with `compress`), `log.1` becomes `log.2`, ..., keeping `max_file` files.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Longest message written as one entry, as in Docker.
pub const MAX_LINE: usize = 16 * 1024;

/// Which driver logs a container's output.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum LogDriver {
    #[default]
    JsonFile,
    Local,
    None,
}

/// How the shim logs a container's output.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LogSpec {
    #[serde(default)]
    pub driver: LogDriver,
    /// Rotate once the file has this many bytes (0: never).
    #[serde(default)]
    pub max_size: u64,
    /// Files kept, the one being written included (0 or 1: the file is truncated instead).
    #[serde(default)]
    pub max_file: u32,
    /// Gzip rotated files (`log.1.gz`...).
    #[serde(default)]
    pub compress: bool,
    /// Extra attributes of every entry (`--log-opt labels=...,env=...`): Docker's `attrs`.
    #[serde(default)]
    pub attrs: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Entry<'a> {
    log: &'a str,
    stream: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    attrs: Option<&'a BTreeMap<String, String>>,
    time: &'a str,
}

/// Append one entry for `msg` to `out`.
pub fn format_entry(out: &mut Vec<u8>, stream: &str, time: &str, msg: &[u8]) {
    format_entry_with(out, stream, time, msg, None);
}

/// [`format_entry`] with Docker's `attrs`.
fn format_entry_with(
    out: &mut Vec<u8>,
    stream: &str,
    time: &str,
    msg: &[u8],
    attrs: Option<&BTreeMap<String, String>>,
) {
    let log = String::from_utf8_lossy(msg);
    let entry = Entry {
        log: &log,
        stream,
        attrs,
        time,
    };
    // Serializing plain strings into a Vec cannot fail.
    if serde_json::to_writer(&mut *out, &entry).is_ok() {
        out.push(b'\n');
    }
}

/// Splits one stream into log entries, keeping at most [`MAX_LINE`] bytes of a partial line.
#[derive(Debug, Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
    /// Docker's `attrs`, added to every entry.
    attrs: Option<BTreeMap<String, String>>,
}

impl LineSplitter {
    /// Feed `data`; complete entries are appended to `out` (formatted with `stream`, `time`).
    pub fn push(&mut self, out: &mut Vec<u8>, stream: &str, time: &str, mut data: &[u8]) {
        while !data.is_empty() {
            let room = MAX_LINE - self.pending.len();
            let window = &data[..data.len().min(room)];
            if let Some(nl) = window.iter().position(|&b| b == b'\n') {
                let (line, rest) = data.split_at(nl + 1);
                let attrs = self.attrs.as_ref();
                if self.pending.is_empty() {
                    format_entry_with(out, stream, time, line, attrs);
                } else {
                    self.pending.extend_from_slice(line);
                    format_entry_with(out, stream, time, &self.pending, attrs);
                    self.pending.clear();
                }
                data = rest;
            } else if window.len() == room {
                self.pending.extend_from_slice(window);
                format_entry_with(out, stream, time, &self.pending, self.attrs.as_ref());
                self.pending.clear();
                data = &data[room..];
            } else {
                self.pending.extend_from_slice(window);
                data = &[];
            }
        }
        if self.pending.is_empty() && self.pending.capacity() > MAX_LINE {
            self.pending = Vec::new();
        }
    }

    /// The stream ended: write what is left.
    pub fn finish(&mut self, out: &mut Vec<u8>, stream: &str, time: &str) {
        if !self.pending.is_empty() {
            format_entry_with(out, stream, time, &self.pending, self.attrs.as_ref());
            self.pending = Vec::new();
        }
    }
}

/// Which output stream bytes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// A container's log, as its [`LogSpec`] says (nothing at all with the `none` driver).
#[derive(Debug)]
pub struct LogWriter {
    file: Option<LogFile>,
    stdout: LineSplitter,
    stderr: LineSplitter,
    buf: Vec<u8>,
}

/// The file being written, and when to rotate it.
#[derive(Debug)]
struct LogFile {
    path: PathBuf,
    file: File,
    size: u64,
    max_size: u64,
    max_file: u32,
    compress: bool,
}

/// Now, as Docker writes log times.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string()
}

fn open_log(path: &Path, truncate: bool) -> crate::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let trunc = if truncate { libc::O_TRUNC } else { 0 };
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .custom_flags(libc::O_CLOEXEC | trunc)
        .open(path)
        .map_err(|e| crate::Error::io(format!("opening log {}", path.display()), e))
}

/// Name of the `n`th rotated file of the log at `path` (`log.1`, `log.2.gz`...).
pub fn rotated_name(path: &Path, n: u32, compressed: bool) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".{n}{}", if compressed { ".gz" } else { "" }));
    PathBuf::from(name)
}

impl LogFile {
    /// Write `data` (whole entries), rotating before an entry when the file is full.
    fn write(&mut self, mut data: &[u8]) -> crate::Result<()> {
        if self.max_size == 0 {
            return self.write_raw(data);
        }
        while !data.is_empty() {
            if self.size >= self.max_size {
                self.rotate()?;
            }
            // Whole entries up to the one that reaches the size.
            let room = (self.max_size - self.size) as usize;
            let mut end = 0;
            while end < data.len() && end < room.max(1) {
                end += data[end..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(data.len() - end, |i| i + 1);
            }
            let (chunk, rest) = data.split_at(end);
            self.write_raw(chunk)?;
            data = rest;
        }
        Ok(())
    }

    fn write_raw(&mut self, data: &[u8]) -> crate::Result<()> {
        self.file
            .write_all(data)
            .map_err(|e| crate::Error::io("writing container log", e))?;
        self.size += data.len() as u64;
        Ok(())
    }

    /// Docker's rotation: shift `log.N` up, drop the oldest, start an empty `log`.
    fn rotate(&mut self) -> crate::Result<()> {
        let io = |what: &str, e| crate::Error::io(format!("rotating the log: {what}"), e);
        if self.max_file >= 2 {
            let last = rotated_name(&self.path, self.max_file - 1, self.compress);
            match std::fs::remove_file(&last) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io("removing the oldest file", e));
                }
                _ => {}
            }
            for i in (2..self.max_file).rev() {
                let from = rotated_name(&self.path, i - 1, self.compress);
                match std::fs::rename(&from, rotated_name(&self.path, i, self.compress)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(io("renaming", e));
                    }
                    _ => {}
                }
            }
            let first = rotated_name(&self.path, 1, false);
            std::fs::rename(&self.path, &first).map_err(|e| io("renaming", e))?;
            self.file = open_log(&self.path, true)?;
            if self.compress {
                gzip_file(&first, &rotated_name(&self.path, 1, true))?;
            }
        } else {
            self.file = open_log(&self.path, true)?;
        }
        self.size = 0;
        Ok(())
    }
}

/// Gzip `from` into `to` (through a temp file, renamed), then remove `from`.
fn gzip_file(from: &Path, to: &Path) -> crate::Result<()> {
    let io = |e| crate::Error::io("compressing a rotated log", e);
    let mut tmp = to.as_os_str().to_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut input = File::open(from).map_err(io)?;
    let out = open_log(&tmp, true)
        .map_err(|_| io(std::io::Error::other(format!("creating {}", tmp.display()))))?;
    let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
    std::io::copy(&mut input, &mut gz).map_err(io)?;
    gz.finish().map_err(io)?;
    std::fs::rename(&tmp, to).map_err(io)?;
    std::fs::remove_file(from).map_err(io)
}

impl LogWriter {
    /// Open (create or append to) the json-file log at `path`, never rotated.
    pub fn open(path: &Path) -> crate::Result<Self> {
        Self::open_spec(path, &LogSpec::default())
    }

    /// The log `spec` asks for, at `path` (unused with the `none` driver).
    pub fn open_spec(path: &Path, spec: &LogSpec) -> crate::Result<Self> {
        let file = if spec.driver == LogDriver::None {
            None
        } else {
            let file = open_log(path, false)?;
            let size = file
                .metadata()
                .map_err(|e| crate::Error::io("reading the log's size", e))?
                .len();
            Some(LogFile {
                path: path.to_path_buf(),
                file,
                size,
                max_size: spec.max_size,
                max_file: spec.max_file,
                compress: spec.compress,
            })
        };
        let attrs = (!spec.attrs.is_empty()).then(|| spec.attrs.clone());
        let splitter = || LineSplitter {
            pending: Vec::new(),
            attrs: attrs.clone(),
        };
        Ok(LogWriter {
            file,
            stdout: splitter(),
            stderr: splitter(),
            buf: Vec::new(),
        })
    }

    fn splitter(&mut self, stream: Stream) -> &mut LineSplitter {
        match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        }
    }

    /// Log `data` read from `stream`.
    pub fn write(&mut self, stream: Stream, data: &[u8]) -> crate::Result<()> {
        if self.file.is_none() {
            return Ok(());
        }
        let time = now_rfc3339();
        let mut buf = std::mem::take(&mut self.buf);
        self.splitter(stream)
            .push(&mut buf, stream.name(), &time, data);
        let r = self.flush_buf(&mut buf);
        self.buf = buf;
        r
    }

    /// `stream` ended: log its partial last line.
    pub fn finish(&mut self, stream: Stream) -> crate::Result<()> {
        if self.file.is_none() {
            return Ok(());
        }
        let time = now_rfc3339();
        let mut buf = std::mem::take(&mut self.buf);
        self.splitter(stream).finish(&mut buf, stream.name(), &time);
        let r = self.flush_buf(&mut buf);
        self.buf = buf;
        r
    }

    fn flush_buf(&mut self, buf: &mut Vec<u8>) -> crate::Result<()> {
        let r = match &mut self.file {
            Some(f) if !buf.is_empty() => f.write(buf),
            _ => Ok(()),
        };
        buf.clear();
        if buf.capacity() > 64 * 1024 {
            *buf = Vec::new();
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(out: &[u8]) -> Vec<serde_json::Value> {
        out.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    }

    #[test]
    fn formats_like_docker() {
        let mut out = Vec::new();
        format_entry(
            &mut out,
            "stdout",
            "2026-11-22T22:44:12.123456789Z",
            b"hello\n",
        );
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-22T22:44:12.123456789Z\"}\n"
        );
    }

    #[test]
    fn splits_lines_and_keeps_partial() {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        s.push(&mut out, "stdout", "t", b"a\nbc");
        s.push(&mut out, "stdout", "t", b"d\ne");
        let e = entries(&out);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0]["log"], "a\n");
        assert_eq!(e[1]["log"], "bcd\n");
        s.finish(&mut out, "stdout", "t");
        let e = entries(&out);
        assert_eq!(e.len(), 3);
        assert_eq!(e[2]["log"], "e");
        out.clear();
        s.finish(&mut out, "stdout", "t");
        assert!(out.is_empty());
    }

    #[test]
    fn splits_long_lines() {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        let mut data = vec![b'x'; MAX_LINE * 2 + 10];
        data.push(b'\n');
        s.push(&mut out, "stderr", "t", &data[..100]);
        s.push(&mut out, "stderr", "t", &data[100..]);
        let e = entries(&out);
        assert_eq!(e.len(), 3);
        assert_eq!(e[0]["log"].as_str().unwrap().len(), MAX_LINE);
        assert_eq!(e[1]["log"].as_str().unwrap().len(), MAX_LINE);
        assert_eq!(e[2]["log"].as_str().unwrap(), "xxxxxxxxxx\n");
        assert_eq!(e[2]["stream"], "stderr");
    }

    #[test]
    fn escapes_and_replaces_invalid_utf8() {
        let mut out = Vec::new();
        format_entry(&mut out, "stdout", "t", b"q\"\t\xff\n");
        let e = entries(&out);
        assert_eq!(e[0]["log"], "q\"\t\u{fffd}\n");
    }

    #[test]
    fn entries_carry_attrs_before_the_time() {
        let mut s = LineSplitter {
            attrs: Some([("a".to_string(), "1".to_string())].into()),
            ..Default::default()
        };
        let mut out = Vec::new();
        s.push(&mut out, "stdout", "t", b"x\n");
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"attrs\":{\"a\":\"1\"},\"time\":\"t\"}\n"
        );
    }

    #[test]
    fn rotates_and_compresses_like_docker() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let spec = LogSpec {
            max_size: 200,
            max_file: 3,
            compress: true,
            ..Default::default()
        };
        let mut w = LogWriter::open_spec(&path, &spec).unwrap();
        for i in 0..40 {
            w.write(Stream::Stdout, format!("line {i:02}\n").as_bytes())
                .unwrap();
        }
        // Each entry is ~80 bytes: three to a file, the oldest files dropped.
        assert!(rotated_name(&path, 1, true).exists());
        assert!(rotated_name(&path, 2, true).exists());
        assert!(!rotated_name(&path, 3, true).exists());
        assert!(!rotated_name(&path, 1, false).exists());
        let current = entries(&std::fs::read(&path).unwrap());
        assert_eq!(current.last().unwrap()["log"], "line 39\n");
        assert!(std::fs::metadata(&path).unwrap().len() < 200 + 100);
        let mut gz =
            flate2::read::GzDecoder::new(File::open(rotated_name(&path, 1, true)).unwrap());
        let mut older = Vec::new();
        std::io::Read::read_to_end(&mut gz, &mut older).unwrap();
        let older = entries(&older);
        let first_current = current[0]["log"].as_str().unwrap();
        let last_older = older.last().unwrap()["log"].as_str().unwrap();
        assert!(last_older < first_current, "{last_older} {first_current}");
    }

    #[test]
    fn one_file_is_truncated_and_none_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let spec = LogSpec {
            max_size: 100,
            max_file: 1,
            ..Default::default()
        };
        let mut w = LogWriter::open_spec(&path, &spec).unwrap();
        for i in 0..10 {
            w.write(Stream::Stdout, format!("line {i}\n").as_bytes())
                .unwrap();
        }
        assert!(std::fs::metadata(&path).unwrap().len() <= 200);
        assert!(!rotated_name(&path, 1, false).exists());
        let none = dir.path().join("none.log");
        let spec = LogSpec {
            driver: LogDriver::None,
            ..Default::default()
        };
        let mut w = LogWriter::open_spec(&none, &spec).unwrap();
        w.write(Stream::Stdout, b"x\n").unwrap();
        w.finish(Stream::Stdout).unwrap();
        assert!(!none.exists());
    }

    #[test]
    fn writer_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let mut w = LogWriter::open(&path).unwrap();
        w.write(Stream::Stdout, b"one\ntw").unwrap();
        w.write(Stream::Stderr, b"err\n").unwrap();
        w.finish(Stream::Stdout).unwrap();
        let e = entries(&std::fs::read(&path).unwrap());
        assert_eq!(e.len(), 3);
        assert_eq!(e[0]["log"], "one\n");
        assert_eq!(e[1]["stream"], "stderr");
        assert_eq!(e[2]["log"], "tw");
        let t = e[0]["time"].as_str().unwrap();
        assert!(t.ends_with('Z') && t.len() == 30, "{t}");
    }
}
