//! Raw attach and exec sessions over a daemon's socket, driven as the Docker SDKs drive
//! them: a request with `Upgrade: tcp`, the answer's head, then the stream.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// An upgraded (hijacked) connection after its answer's head.
pub struct Session {
    pub stream: UnixStream,
    /// The answer's status line and headers (header names lowercased).
    pub head: String,
    /// Bytes that came in the same read as the end of the head: a client that reads the
    /// head through a buffer and then the socket beneath it (the Python SDK) loses them.
    pub early: Vec<u8>,
}

impl Session {
    /// Send `method path` (with a JSON `body` when not empty) asking for an upgrade. After
    /// `delay` (a client slow to read its answer), read the head with 8 KiB reads, as a
    /// buffered HTTP client does.
    pub fn open(socket: &Path, method: &str, path: &str, body: &str, delay: Duration) -> Session {
        Session::open_with(socket, method, path, body, delay, true)
    }

    /// [`Session::open`], with or without the upgrade headers.
    pub fn open_with(
        socket: &Path,
        method: &str,
        path: &str,
        body: &str,
        delay: Duration,
        upgrade: bool,
    ) -> Session {
        let mut stream = UnixStream::connect(socket).expect("connecting to the daemon");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("read timeout");
        let upgrade = if upgrade {
            "Connection: Upgrade\r\nUpgrade: tcp\r\n"
        } else {
            ""
        };
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: berth\r\n{upgrade}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream
            .write_all(req.as_bytes())
            .expect("sending the request");
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let mut got = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            let n = stream.read(&mut buf).expect("reading the answer");
            assert!(
                n > 0,
                "connection closed in the answer's head: {:?}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
            if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let early = got.split_off(end + 4);
                return Session {
                    stream,
                    head: String::from_utf8_lossy(&got).to_lowercase(),
                    early,
                };
            }
        }
    }

    /// The status code of the answer.
    pub fn status(&self) -> u16 {
        self.head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// The value of header `name` (lowercase), if present.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == name).then(|| v.trim().to_string())
        })
    }

    /// Everything after the head, `early` included, until the daemon closes the stream.
    pub fn read_to_end(mut self) -> Vec<u8> {
        let mut all = std::mem::take(&mut self.early);
        self.stream
            .read_to_end(&mut all)
            .expect("reading the stream");
        all
    }

    /// Read until what came after the head contains `s` (or the stream ends); all of it.
    pub fn read_until(&mut self, s: &[u8]) -> Vec<u8> {
        let mut buf = [0u8; 4096];
        while !self.early.windows(s.len()).any(|w| w == s) {
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => self.early.extend_from_slice(&buf[..n]),
            }
        }
        self.early.clone()
    }

    pub fn send(&mut self, data: &[u8]) {
        self.stream.write_all(data).expect("sending input");
    }
}

/// Split a multiplexed stream into (stdout, stderr); panics on a malformed frame.
pub fn demux(mut data: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    while !data.is_empty() {
        assert!(data.len() >= 8, "truncated frame header: {data:?}");
        let len = u32::from_be_bytes([data[4], data[5], data[6], data[7]]) as usize;
        assert!(
            data[1..4] == [0, 0, 0] && data.len() >= 8 + len,
            "malformed frame: {data:?}"
        );
        match data[0] {
            1 => out.extend_from_slice(&data[8..8 + len]),
            2 => err.extend_from_slice(&data[8..8 + len]),
            s => panic!("frame of stream {s}: {data:?}"),
        }
        data = &data[8 + len..];
    }
    (out, err)
}

/// The body of a whole response as [`crate::Daemon::raw`] returns it.
pub fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}
