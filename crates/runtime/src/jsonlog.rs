//! Docker's json-file log format: one JSON object per line,
//! `{"log":"hello\n","stream":"stdout","time":"2026-11-22T22:44:12.123456789Z"}`.
//!
//! Output is split at newlines; a line longer than [`MAX_LINE`] is split into pieces of that
//! size (all but the last without a newline), and a partial last line is written when the
//! stream ends.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

/// Longest message written as one entry, as in Docker.
pub const MAX_LINE: usize = 16 * 1024;

#[derive(Serialize)]
struct Entry<'a> {
    log: &'a str,
    stream: &'a str,
    time: &'a str,
}

/// Append one entry for `msg` to `out`.
pub fn format_entry(out: &mut Vec<u8>, stream: &str, time: &str, msg: &[u8]) {
    let log = String::from_utf8_lossy(msg);
    let entry = Entry {
        log: &log,
        stream,
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
}

impl LineSplitter {
    /// Feed `data`; complete entries are appended to `out` (formatted with `stream`, `time`).
    pub fn push(&mut self, out: &mut Vec<u8>, stream: &str, time: &str, mut data: &[u8]) {
        while !data.is_empty() {
            let room = MAX_LINE - self.pending.len();
            let window = &data[..data.len().min(room)];
            if let Some(nl) = window.iter().position(|&b| b == b'\n') {
                let (line, rest) = data.split_at(nl + 1);
                if self.pending.is_empty() {
                    format_entry(out, stream, time, line);
                } else {
                    self.pending.extend_from_slice(line);
                    format_entry(out, stream, time, &self.pending);
                    self.pending.clear();
                }
                data = rest;
            } else if window.len() == room {
                self.pending.extend_from_slice(window);
                format_entry(out, stream, time, &self.pending);
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
            format_entry(out, stream, time, &self.pending);
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

/// A container's json-file log.
#[derive(Debug)]
pub struct LogWriter {
    file: File,
    stdout: LineSplitter,
    stderr: LineSplitter,
    buf: Vec<u8>,
}

/// Now, as Docker writes log times.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string()
}

impl LogWriter {
    /// Open (create or append to) the log at `path`.
    pub fn open(path: &Path) -> crate::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| crate::Error::io(format!("opening log {}", path.display()), e))?;
        Ok(LogWriter {
            file,
            stdout: LineSplitter::default(),
            stderr: LineSplitter::default(),
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
        let time = now_rfc3339();
        let mut buf = std::mem::take(&mut self.buf);
        self.splitter(stream).finish(&mut buf, stream.name(), &time);
        let r = self.flush_buf(&mut buf);
        self.buf = buf;
        r
    }

    fn flush_buf(&mut self, buf: &mut Vec<u8>) -> crate::Result<()> {
        let r = if buf.is_empty() {
            Ok(())
        } else {
            self.file
                .write_all(buf)
                .map_err(|e| crate::Error::io("writing container log", e))
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
