//! API edges real clients trip on: an answer given before the request body is read still
//! reaches the client (docker-compose died of SIGPIPE on `up`).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use berth_e2e::{Daemon, skip_unless_root, unique};

const COMPOSE: &str = "/usr/bin/docker-compose";

/// One response: status, headers (names lowercase), body.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The body as one JSON value.
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    /// `{"message": ...}` of an error.
    fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message: {}", self.text()))
            .to_string()
    }
}

/// A kept-alive HTTP/1.1 connection to the daemon: requests are written whole, body
/// included (a failed write is an error: the daemon closed without reading the body),
/// then one response is read.
struct Conn {
    r: BufReader<UnixStream>,
    w: UnixStream,
}

impl Conn {
    fn open(d: &Daemon) -> Conn {
        let s = UnixStream::connect(&d.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        Conn {
            w: s.try_clone().unwrap(),
            r: BufReader::new(s),
        }
    }

    fn request(&mut self, method: &str, path: &str, body: &[u8]) -> std::io::Result<Response> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.w.write_all(head.as_bytes())?;
        for chunk in body.chunks(64 << 10) {
            self.w.write_all(chunk)?;
        }
        self.read_response()
    }

    fn read_response(&mut self) -> std::io::Result<Response> {
        let mut line = String::new();
        self.r.read_line(&mut line)?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            self.r.read_line(&mut h)?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        if status == 100 {
            return self.read_response();
        }
        let mut body = Vec::new();
        let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        if let Some(len) = get("content-length") {
            body.resize(len.parse().unwrap(), 0);
            self.r.read_exact(&mut body)?;
        } else if get("transfer-encoding").is_some_and(|t| t == "chunked") {
            loop {
                let mut size = String::new();
                self.r.read_line(&mut size)?;
                let n = usize::from_str_radix(size.trim(), 16).unwrap();
                let mut chunk = vec![0; n + 2];
                self.r.read_exact(&mut chunk)?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// `{"Image":IMAGE,"Env":["JUNK=aaa..."]}` of about `size` bytes.
fn big_create(image: &str, size: usize) -> Vec<u8> {
    format!(
        r#"{{"Image":"{image}","Cmd":["true"],"Env":["JUNK={}"]}}"#,
        "a".repeat(size)
    )
    .into_bytes()
}

/// Bytes that are no tar (a fixed pseudo-random sequence).
fn junk(size: usize) -> Vec<u8> {
    let mut x: u32 = 12345;
    (0..size)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        })
        .collect()
}

/// Requests answered before their body is read (unknown route, unknown method, bad version,
/// a handler that refuses before it reads, a body over the limit) still get their answer
/// after the client wrote the whole body, and the connection goes on: the daemon reads and
/// drops the rest. Before, it closed the connection with the body unread and the client's
/// write failed (EPIPE), which killed docker-compose 1.29.
#[test]
fn early_answers_read_the_whole_body_first() {
    if skip_unless_root() {
        return;
    }
    let d = Daemon::start();
    let mut c = Conn::open(&d);
    let big = 8 << 20;
    let network = format!(
        r#"{{"Name":"n","Labels":{{"junk":"{}"}}}}"#,
        "a".repeat(big)
    )
    .into_bytes();
    let tar = junk(big);
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("POST", "/v1.50/nosuch", tar.clone(), 404, "page not found"),
        // What docker-compose sends first on `up` (no networks in Berth yet).
        (
            "POST",
            "/v1.41/networks/create",
            network,
            404,
            "page not found",
        ),
        // A path known with other methods is unknown too, as in dockerd (not 405).
        (
            "PUT",
            "/v1.50/containers/json",
            tar.clone(),
            404,
            "page not found",
        ),
        (
            "POST",
            "/v1.99/containers/create",
            big_create("busybox", big),
            400,
            "client version 1.99 is too new. Maximum supported API version is 1.50",
        ),
        // A JSON body of several MB is read whole, as dockerd reads it.
        (
            "POST",
            "/v1.50/containers/create",
            big_create("nosuchimage", big),
            404,
            "No such image: nosuchimage",
        ),
        // Handlers that refuse before they read the body.
        (
            "POST",
            "/v1.50/images/create?fromSrc=http://example.com/x.tar",
            tar.clone(),
            501,
            "importing from a URL (http://example.com/x.tar) is not supported: download the file and import it from a file or stdin",
        ),
        (
            "PUT",
            "/v1.50/containers/nosuch/archive?path=/",
            tar.clone(),
            404,
            "No such container: nosuch",
        ),
        // Over the limit of what is parsed whole: refused, still drained.
        (
            "POST",
            "/v1.50/containers/create",
            big_create("busybox", 65 << 20),
            413,
            "request body too large: more than 64 MiB",
        ),
    ];
    for (method, path, body, status, message) in cases {
        let r = c
            .request(method, path, &body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e} (daemon log:\n{})", d.log()));
        assert_eq!(r.status, status, "{method} {path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
        assert_eq!(r.message(), message, "{method} {path}");
        assert!(r.header("allow").is_none(), "{path}");
        // The same connection serves the next request.
        let ping = c.request("GET", "/_ping", b"").unwrap();
        assert_eq!((ping.status, ping.text().as_str()), (200, "OK"), "{path}");
    }
}

/// docker-compose 1.29 `up` against Berth: the default network cannot be created (no
/// networks yet), and compose says so and exits 1. Before, berthd answered 404 to
/// `POST /networks/create` without reading the body and compose died of SIGPIPE (exit
/// 141, no message); a big label on the network makes that certain.
#[test]
fn compose_up_fails_with_a_message_not_sigpipe() {
    if !Path::new(COMPOSE).is_file() {
        eprintln!("skipped: no docker-compose");
        return;
    }
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let project = unique("edges");
    let dir = d.dir.path().join("compose");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("docker-compose.yml");
    std::fs::write(
        &file,
        format!(
            "version: \"3\"\nservices:\n  web:\n    image: busybox\n    command: [\"sleep\", \"1000\"]\nnetworks:\n  default:\n    labels:\n      junk: \"{}\"\n",
            "a".repeat(1 << 20)
        ),
    )
    .unwrap();
    let compose = |args: &[&str]| {
        Command::new(COMPOSE)
            .arg("-p")
            .arg(&project)
            .arg("-f")
            .arg(&file)
            .args(args)
            .env("DOCKER_HOST", d.host())
            .env("DOCKER_CONFIG", d.dir.path().join("docker-config"))
            .output()
            .unwrap()
    };
    for round in 0..3 {
        let out = compose(&["up", "-d"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "round {round}: {:?}, stderr: {stderr}",
            out.status
        );
        assert!(
            stderr.contains(&format!("Creating network \"{project}_default\""))
                && stderr.trim_end().ends_with("page not found"),
            "round {round}: {stderr}"
        );
    }
}
