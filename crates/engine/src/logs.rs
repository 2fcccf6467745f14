//! Reading a container's json-file log back as Docker's `logs` stream.

use std::path::PathBuf;

use bytes::Bytes;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::{mpsc, watch};

use crate::Progress;

/// What `GET /containers/{id}/logs` asks for.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub stdout: bool,
    pub stderr: bool,
    pub follow: bool,
    /// Only the last N lines (None: all).
    pub tail: Option<usize>,
    pub timestamps: bool,
    /// Only lines at or after this unix time (0: no bound).
    pub since: i64,
    /// Only lines before this unix time (0: no bound).
    pub until: i64,
}

#[derive(Deserialize)]
struct Line {
    log: String,
    stream: String,
    time: String,
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
    let text = if opts.timestamps {
        format!("{} {}", line.time, line.log)
    } else {
        line.log
    };
    Some(if tty {
        text.into_bytes()
    } else {
        frame(stream, text.as_bytes())
    })
}

/// Stream the log at `path` into `tx`; with `follow`, keep reading what is appended until the
/// container stops running (seen through `progress`) and the file is drained.
pub(crate) async fn stream(
    path: PathBuf,
    opts: LogOptions,
    tty: bool,
    mut progress: watch::Receiver<Progress>,
    tx: mpsc::Sender<Bytes>,
) {
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(_) => return,
    };
    let mut buf = Vec::new();
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
    let mut offset = complete as u64;
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
        if !running && chunk.is_empty() {
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
        stream(path, opts, true, prx, tx).await;
        let got = rx.recv().await.expect("data");
        assert_eq!(&got[..], b"l3\nl4\n");
        assert!(rx.recv().await.is_none());
    }
}
