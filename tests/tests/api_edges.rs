//! API edges real clients trip on: an answer given before the request body is read still
//! reaches the client (docker-compose died of SIGPIPE on `up`); swarm mode and plugins
//! answer as dockerd answers with them off, and `/info` and `/version` carry dockerd's
//! keys; load errors come in the JSON message stream, as dockerd sends them.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use berth_e2e::{Daemon, have_docker_cli, image, skip_unless_root, unique};

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
        r#"{{"Name":"n","Driver":"macvlan","Labels":{{"junk":"{}"}}}}"#,
        "a".repeat(big)
    )
    .into_bytes();
    let tar = junk(big);
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("POST", "/v1.50/nosuch", tar.clone(), 404, "page not found"),
        // What docker-compose sends first on `up`, with a driver Berth lacks.
        (
            "POST",
            "/v1.41/networks/create",
            network,
            501,
            "network driver \"macvlan\" is not supported yet: only bridge (--driver)",
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

/// docker-compose 1.29 `up` against Berth with a network driver Berth lacks: the network
/// cannot be created, and compose says so and exits 1. Before, berthd answered 404 to
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
            "version: \"3\"\nservices:\n  web:\n    image: busybox\n    command: [\"sleep\", \"1000\"]\nnetworks:\n  default:\n    driver: macvlan\n    labels:\n      junk: \"{}\"\n",
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
                && stderr.trim_end().ends_with(
                    "network driver \"macvlan\" is not supported yet: only bridge (--driver)"
                ),
            "round {round}: {stderr}"
        );
    }
}

const NOT_MANAGER: &str = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.";

/// Swarm mode and plugins answer as dockerd answers on a node in no swarm and without
/// plugins: statuses and messages of the API, and of the docker CLI.
#[test]
fn swarm_and_plugins_answer_as_dockerd_with_them_off() {
    if skip_unless_root() {
        return;
    }
    let d = Daemon::start();
    let mut c = Conn::open(&d);
    let cases: &[(&str, &str, &str, u16, &str)] = &[
        ("GET", "/swarm", "", 503, NOT_MANAGER),
        (
            "POST",
            "/swarm/leave",
            "",
            503,
            "This node is not part of a swarm",
        ),
        (
            "POST",
            "/swarm/leave?force=1",
            "",
            503,
            "This node is not part of a swarm",
        ),
        ("GET", "/swarm/unlockkey", "", 503, NOT_MANAGER),
        ("POST", "/swarm/unlock", "{}", 503, NOT_MANAGER),
        ("POST", "/swarm/update?version=1", "{}", 503, NOT_MANAGER),
        (
            "POST",
            "/swarm/update?version=1",
            "",
            400,
            "got EOF while reading request body",
        ),
        (
            "POST",
            "/swarm/update",
            "{}",
            400,
            "invalid swarm version '': strconv.ParseUint: parsing \"\": invalid syntax",
        ),
        (
            "POST",
            "/swarm/init",
            "{}",
            501,
            "Berth does not support swarm mode",
        ),
        (
            "POST",
            "/swarm/join",
            "{}",
            501,
            "Berth does not support swarm mode",
        ),
        ("GET", "/services", "", 503, NOT_MANAGER),
        ("POST", "/services/create", "{}", 503, NOT_MANAGER),
        ("GET", "/services/x", "", 503, NOT_MANAGER),
        ("DELETE", "/services/x", "", 503, NOT_MANAGER),
        (
            "POST",
            "/services/x/update?version=1",
            "{}",
            503,
            NOT_MANAGER,
        ),
        ("GET", "/services/x/logs?stdout=1", "", 503, NOT_MANAGER),
        (
            "GET",
            "/services/x/logs",
            "",
            500,
            "Bad parameters: you must choose at least one stream",
        ),
        ("GET", "/nodes", "", 503, NOT_MANAGER),
        ("GET", "/nodes/x", "", 503, NOT_MANAGER),
        ("DELETE", "/nodes/x", "", 503, NOT_MANAGER),
        ("POST", "/nodes/x/update?version=1", "{}", 503, NOT_MANAGER),
        ("GET", "/tasks", "", 503, NOT_MANAGER),
        ("GET", "/tasks/x", "", 503, NOT_MANAGER),
        ("GET", "/tasks/x/logs?stderr=1", "", 503, NOT_MANAGER),
        ("GET", "/secrets", "", 503, NOT_MANAGER),
        ("POST", "/secrets/create", "{}", 503, NOT_MANAGER),
        ("GET", "/secrets/x", "", 503, NOT_MANAGER),
        ("DELETE", "/secrets/x", "", 503, NOT_MANAGER),
        (
            "POST",
            "/secrets/x/update",
            "{}",
            400,
            "invalid secret version",
        ),
        ("GET", "/configs", "", 503, NOT_MANAGER),
        ("POST", "/configs/create", "{}", 503, NOT_MANAGER),
        ("GET", "/configs/x", "", 503, NOT_MANAGER),
        (
            "POST",
            "/configs/x/update?version=2",
            "{}",
            503,
            NOT_MANAGER,
        ),
        ("GET", "/plugins/x/json", "", 404, "plugin \"x\" not found"),
        (
            "GET",
            "/plugins/library/x:1/json",
            "",
            404,
            "plugin \"library/x:1\" not found",
        ),
        (
            "DELETE",
            "/plugins/x?force=1",
            "",
            404,
            "plugin \"x\" not found",
        ),
        (
            "POST",
            "/plugins/x/enable?timeout=0",
            "",
            404,
            "plugin \"x\" not found",
        ),
        (
            "POST",
            "/plugins/x/disable",
            "",
            404,
            "plugin \"x\" not found",
        ),
        ("POST", "/plugins/x/push", "", 404, "plugin \"x\" not found"),
        (
            "POST",
            "/plugins/x/set",
            "[]",
            404,
            "plugin \"x\" not found",
        ),
        (
            "POST",
            "/plugins/x/upgrade?remote=y",
            "[]",
            404,
            "plugin \"x:latest\" not found",
        ),
        ("GET", "/plugins/x/nosuch", "", 404, "page not found"),
        (
            "GET",
            "/plugins?filters=%7B%22foo%22%3A%5B%22x%22%5D%7D",
            "",
            400,
            "Invalid filter 'foo'",
        ),
        (
            "GET",
            "/plugins?filters=%7B%22enabled%22%3A%5B%22maybe%22%5D%7D",
            "",
            400,
            "Invalid filter 'enabled=[maybe]'",
        ),
    ];
    for (method, path, body, status, message) in cases {
        let path = format!("/v1.50{path}");
        let r = c.request(method, &path, body.as_bytes()).unwrap();
        assert_eq!(r.status, *status, "{method} {path}: {}", r.text());
        assert_eq!(&r.message(), message, "{method} {path}");
    }
    for path in [
        "/v1.50/plugins",
        "/v1.50/plugins?filters=%7B%22capability%22%3A%5B%22volumedriver%22%5D%2C%22enabled%22%3A%5B%22true%22%5D%7D",
    ] {
        let r = c.request("GET", path, b"").unwrap();
        assert_eq!((r.status, r.text().as_str()), (200, "[]"), "{path}");
    }

    if !have_docker_cli() {
        return;
    }
    let r = d.docker(&["plugin", "ls"]);
    r.ok();
    assert_eq!(
        r.stdout().trim_end(),
        "ID        NAME      DESCRIPTION   ENABLED"
    );
    for (args, message) in [
        (&["swarm", "leave"][..], "This node is not part of a swarm"),
        (
            &["swarm", "leave", "--force"][..],
            "This node is not part of a swarm",
        ),
        (&["node", "ls"][..], NOT_MANAGER),
        (&["service", "ls"][..], NOT_MANAGER),
        (&["secret", "ls"][..], NOT_MANAGER),
        (
            &["plugin", "rm", "nosuch"][..],
            "plugin \"nosuch\" not found",
        ),
    ] {
        let r = d.docker(args);
        r.expect_code(1);
        assert_eq!(
            r.stderr(),
            format!("Error response from daemon: {message}\n"),
            "docker {args:?}"
        );
    }
}

/// `/info` and `/version` have every key dockerd's have (what dockerd 20.10 answers), with
/// the swarm inactive and only the plugins Berth has; `docker info` prints them cleanly.
#[test]
fn info_and_version_have_dockerd_keys() {
    if skip_unless_root() {
        return;
    }
    let d = Daemon::start();
    let mut c = Conn::open(&d);
    let info = c.request("GET", "/v1.41/info", b"").unwrap().json();
    let keys = [
        "ID",
        "Containers",
        "ContainersRunning",
        "ContainersPaused",
        "ContainersStopped",
        "Images",
        "Driver",
        "DriverStatus",
        "Plugins",
        "MemoryLimit",
        "SwapLimit",
        "KernelMemory",
        "KernelMemoryTCP",
        "CpuCfsPeriod",
        "CpuCfsQuota",
        "CPUShares",
        "CPUSet",
        "PidsLimit",
        "IPv4Forwarding",
        "BridgeNfIptables",
        "BridgeNfIp6tables",
        "Debug",
        "NFd",
        "OomKillDisable",
        "NGoroutines",
        "SystemTime",
        "LoggingDriver",
        "CgroupDriver",
        "CgroupVersion",
        "NEventsListener",
        "KernelVersion",
        "OperatingSystem",
        "OSVersion",
        "OSType",
        "Architecture",
        "IndexServerAddress",
        "RegistryConfig",
        "NCPU",
        "MemTotal",
        "GenericResources",
        "DockerRootDir",
        "HttpProxy",
        "HttpsProxy",
        "NoProxy",
        "Name",
        "Labels",
        "ExperimentalBuild",
        "ServerVersion",
        "Runtimes",
        "DefaultRuntime",
        "Swarm",
        "LiveRestoreEnabled",
        "Isolation",
        "InitBinary",
        "ContainerdCommit",
        "RuncCommit",
        "InitCommit",
        "SecurityOptions",
        "Warnings",
    ];
    for k in keys {
        assert!(info.get(k).is_some(), "/info has no {k}: {info}");
    }
    // API 1.50, as dockerd 28 answers it: the kernel memory (gone in 1.42) and netfilter
    // (gone in 1.50) switches and the commits' `Expected` (gone in 1.49) are left out;
    // `CDISpecDirs` (1.44) is there.
    let new = c.request("GET", "/v1.50/info", b"").unwrap().json();
    for k in [
        "KernelMemory",
        "KernelMemoryTCP",
        "BridgeNfIptables",
        "BridgeNfIp6tables",
    ] {
        assert!(new.get(k).is_none(), "/v1.50/info has {k}");
    }
    assert!(new["ContainerdCommit"].get("Expected").is_none());
    assert_eq!(new["CDISpecDirs"], serde_json::json!([]));
    assert_eq!(info["ContainerdCommit"]["Expected"], "");
    assert_eq!(
        info["Swarm"],
        serde_json::json!({
            "NodeID": "",
            "NodeAddr": "",
            "LocalNodeState": "inactive",
            "ControlAvailable": false,
            "Error": "",
            "RemoteManagers": null,
        })
    );
    assert_eq!(
        info["Plugins"],
        serde_json::json!({
            "Volume": [],
            "Network": [],
            "Authorization": null,
            "Log": ["json-file", "local"],
        })
    );
    assert_eq!(info["Architecture"], std::env::consts::ARCH);
    let version = c.request("GET", "/v1.50/version", b"").unwrap().json();
    for k in [
        "Platform",
        "Components",
        "Version",
        "ApiVersion",
        "MinAPIVersion",
        "GitCommit",
        "GoVersion",
        "Os",
        "Arch",
        "KernelVersion",
        "BuildTime",
    ] {
        assert!(version.get(k).is_some(), "/version has no {k}: {version}");
    }
    for k in [
        "ApiVersion",
        "Arch",
        "BuildTime",
        "Experimental",
        "GitCommit",
        "GoVersion",
        "KernelVersion",
        "MinAPIVersion",
        "Os",
    ] {
        assert!(
            version["Components"][0]["Details"].get(k).is_some(),
            "/version Engine details have no {k}: {version}"
        );
    }

    if !have_docker_cli() {
        return;
    }
    let r = d.docker(&["info"]);
    r.ok();
    assert_eq!(r.stderr(), "", "docker info warns");
    let out = r.stdout();
    for line in [
        " Swarm: inactive\n",
        "  Log: json-file local\n",
        " Default Runtime: berth\n",
        &format!(" Architecture: {}\n", std::env::consts::ARCH),
    ] {
        assert!(out.contains(line), "no {line:?} in:\n{out}");
    }
    let r = d.docker(&["version"]);
    r.ok();
    assert_eq!(r.stderr(), "");
    assert!(
        r.stdout().contains("  Experimental:     false\n"),
        "{}",
        r.stdout()
    );
}

/// A broken archive to `POST /images/load` gets 200 and the error in the JSON message
/// stream, as from dockerd (`quiet` or not); the docker CLI and `berth load` print the
/// message alone and exit 1. Before, the daemon answered 400.
#[test]
fn load_errors_come_in_the_message_stream() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let busybox = std::fs::read(image("busybox.tar")).unwrap();
    let truncated = busybox[..busybox.len() / 2].to_vec();
    let cases = [
        (junk(4 << 20), "invalid archive: invalid tar header"),
        (
            truncated,
            "invalid archive: unexpected end of archive in 8b40b8e65fe76a46e1884e6fce84cb9f8ac7bd4962bb184b8a99e02cfa999e73/layer.tar (1069056 of 2140160 bytes)",
        ),
    ];
    let before = d.berth(&["images", "-q"]).stdout();
    let mut c = Conn::open(&d);
    for (data, message) in &cases {
        for quiet in ["", "?quiet=1", "?quiet=0"] {
            let r = c
                .request("POST", &format!("/v1.50/images/load{quiet}"), data)
                .unwrap();
            assert_eq!(r.status, 200, "{}", r.text());
            assert_eq!(r.header("content-type"), Some("application/json"));
            assert_eq!(
                r.json(),
                serde_json::json!({ "errorDetail": { "message": message }, "error": message }),
            );
            assert!(r.text().ends_with("}\r\n"), "{:?}", r.text());
        }
        let file = d.dir.path().join("broken.tar");
        std::fs::write(&file, data).unwrap();
        let file = file.to_str().unwrap();
        let mut runs = vec![d.berth(&["load", "-i", file])];
        if have_docker_cli() {
            runs.push(d.docker(&["load", "-i", file]));
        }
        for r in runs {
            r.expect_code(1);
            assert_eq!(r.stderr(), format!("{message}\n"));
            assert_eq!(r.stdout(), "");
        }
    }
    assert_eq!(d.berth(&["images", "-q"]).stdout(), before);
    // A good archive: one line per tag, the same for `quiet` or not.
    for quiet in ["?quiet=1", "?quiet=0"] {
        let r = c
            .request("POST", &format!("/v1.50/images/load{quiet}"), &busybox)
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(
            r.text(),
            "{\"stream\":\"Loaded image: busybox:latest\\n\"}\r\n"
        );
    }
}
