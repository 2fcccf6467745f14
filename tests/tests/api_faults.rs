//! API-level faults: requests hyper cannot parse and bodies of the wrong type get
//! Docker's JSON errors; concurrent operations on one container have one winner and the
//! others get Docker's answers; an operation whose client hangs up runs to its end (or
//! rolls back); `docker cp` of a container that stops meanwhile is no 500; out-of-range
//! limits get dockerd's 400 and message.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use berth_e2e::{Daemon, eventually, image, unique};
use serde_json::{Value, json};

/// One answer: status, headers (names lowercase), body.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?} {}", self.status, self.text()))
    }
    /// The `message` of a JSON error, checking it is one as Docker sends it.
    #[track_caller]
    fn message(&self) -> String {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{} {}",
            self.status,
            self.text()
        );
        assert_eq!(self.header("api-version"), Some("1.50"), "{}", self.text());
        self.json()["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message: {}", self.text()))
            .to_string()
    }
}

/// Parse one answer from the whole of what a connection returned.
fn parse(raw: &[u8]) -> Answer {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v == "chunked");
    let body = if chunked {
        let mut body = Vec::new();
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap().trim(), 16)
                .unwrap();
            if n == 0 {
                break body;
            }
            body.extend_from_slice(&rest[nl + 2..nl + 2 + n]);
            rest = &rest[nl + 2 + n + 2..];
        }
    } else {
        rest.to_vec()
    };
    Answer {
        status,
        headers,
        body,
    }
}

/// Send `raw` (a whole request, or anything) on a new connection and read what comes
/// back until the daemon closes it.
fn exchange(d: &Daemon, raw: &[u8]) -> Answer {
    let mut s = UnixStream::connect(&d.socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut w = s.try_clone().unwrap();
    let raw = raw.to_vec();
    // The daemon may answer before it read everything (a head too large).
    let writer = std::thread::spawn(move || {
        let _ = w.write_all(&raw);
    });
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    let _ = writer.join();
    parse(&out)
}

/// A request with `Connection: close` and these extra header lines.
fn request(method: &str, path: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "{method} {path} HTTP/1.1\r\nHost: berth\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

const JSON: &str = "Content-Type: application/json\r\n";

/// A request with a JSON body (none when `body` is null), its answer.
fn call(d: &Daemon, method: &str, path: &str, body: &Value) -> Answer {
    let (headers, bytes) = if body.is_null() {
        ("", Vec::new())
    } else {
        (JSON, serde_json::to_vec(body).unwrap())
    };
    exchange(
        d,
        &request(method, &format!("/v1.50{path}"), headers, &bytes),
    )
}

/// Send a whole request and hang up at once, without reading the answer.
fn hang_up(d: &Daemon, raw: &[u8]) {
    let mut s = UnixStream::connect(&d.socket).unwrap();
    s.write_all(raw).unwrap();
    drop(s);
}

/// `GET /containers/{c}/json`, `None` once it is gone.
fn inspect(d: &Daemon, c: &str) -> Option<Value> {
    let a = call(d, "GET", &format!("/containers/{c}/json"), &Value::Null);
    match a.status {
        200 => Some(a.json()),
        404 => None,
        s => panic!("inspect {c}: {s} {}", a.text()),
    }
}

fn running(d: &Daemon, c: &str) -> bool {
    inspect(d, c).is_some_and(|v| v["State"]["Running"] == true)
}

/// `berth run -d --name NAME busybox ARGS...`
fn run_detached(d: &Daemon, name: &str, args: &[&str]) {
    let mut all = vec!["run", "-d", "--name", name, "busybox"];
    all.extend_from_slice(args);
    d.berth(&all).ok();
}

/// The end of the daemon's log, for failure messages.
fn log_tail(d: &Daemon) -> String {
    let log = d.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| !l.contains("hyper") && !l.contains("TRACE") && !l.contains("No such image"))
        .collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A tar holding one file.
fn tar_of(name: &str, content: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(content.len() as u64);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    b.append_data(&mut h, name, content).unwrap();
    b.into_inner().unwrap()
}

/// Whether `path` exists in container `c` (through `GET /archive`).
fn has_file(d: &Daemon, c: &str, path: &str) -> bool {
    let a = call(
        d,
        "GET",
        &format!("/containers/{c}/archive?path={path}"),
        &Value::Null,
    );
    a.status == 200
}

/// Requests hyper cannot parse, bodies of another type than JSON and a start with a
/// body: each gets Docker's JSON error with the status dockerd (or hyper, for what
/// dockerd takes) gives. hyper answered the first ones with an empty body.
#[test]
fn every_error_answer_is_json() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let big_header = {
        let mut r = b"GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
        r.extend(std::iter::repeat_n(b'a', 1 << 20));
        r.extend_from_slice(b"\r\n\r\n");
        r
    };
    let many_headers = {
        let mut r = b"GET /_ping HTTP/1.1\r\nHost: x\r\n".to_vec();
        for i in 0..200 {
            r.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
        }
        r.extend_from_slice(b"\r\n");
        r
    };
    let long_name = request(
        "POST",
        &format!("/v1.50/containers/create?name={}", "a".repeat(100_000)),
        JSON,
        br#"{"Image":"busybox"}"#,
    );
    let bad_chunk = b"POST /v1.50/containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n".to_vec();
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "1 MiB header",
            big_header,
            431,
            "request header fields too large",
        ),
        (
            "200 headers",
            many_headers,
            431,
            "request header fields too large",
        ),
        (
            "100,000-character name",
            long_name,
            414,
            "request URI too long",
        ),
        (
            "bad method",
            b"G@T /_ping HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            400,
            "malformed HTTP request",
        ),
        (
            "bad version",
            b"GET /_ping HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(),
            400,
            "malformed HTTP request",
        ),
        (
            "bad Content-Length",
            b"POST /_ping HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".to_vec(),
            400,
            "malformed HTTP request",
        ),
        (
            "bad chunk",
            bad_chunk,
            400,
            "Failed to buffer the request body",
        ),
    ];
    for (what, raw, status, message) in cases {
        let a = exchange(&d, &raw);
        assert_eq!(a.status, status, "{what}: {}", a.text());
        let m = a.message();
        assert!(m.starts_with(message), "{what}: {m}");
    }

    // dockerd's Content-Type check on the routes that read JSON.
    run_detached(&d, "ct", &["sleep", "1000"]);
    let exec = call(&d, "POST", "/containers/ct/exec", &json!({"Cmd": ["true"]})).json()["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let text = "Content-Type: text/plain\r\n";
    let body = br#"{"Image":"busybox","Cmd":["true"]}"#;
    for path in [
        "/containers/create".to_string(),
        "/containers/ct/update".to_string(),
        "/containers/ct/exec".to_string(),
        format!("/exec/{exec}/start"),
        "/commit?container=ct".to_string(),
    ] {
        let a = exchange(&d, &request("POST", &format!("/v1.50{path}"), text, body));
        assert_eq!(a.status, 400, "{path}: {}", a.text());
        assert_eq!(
            a.message(),
            "Content-Type specified (text/plain) must be 'application/json'",
            "{path}"
        );
        let a = exchange(&d, &request("POST", &format!("/v1.50{path}"), "", body));
        assert_eq!(a.status, 400, "{path}: {}", a.text());
        assert_eq!(
            a.message(),
            "Content-Type specified () must be 'application/json'",
            "{path}"
        );
    }
    // No type is fine without a body; a JSON type with parameters is JSON.
    let a = exchange(&d, &request("POST", "/v1.50/containers/create", "", b""));
    assert_eq!(a.status, 400, "{}", a.text());
    assert!(!a.message().contains("Content-Type"), "{}", a.text());
    let a = exchange(
        &d,
        &request(
            "POST",
            "/v1.50/containers/create",
            "Content-Type: application/json; charset=utf-8\r\n",
            br#"{"Image":"nosuchimage"}"#,
        ),
    );
    assert_eq!(
        (a.status, a.message().as_str()),
        (404, "No such image: nosuchimage")
    );
    // A start with a body (a HostConfig, before API 1.24) is refused; "{}" is no body.
    d.berth(&["create", "--name", "sb", "busybox", "true"]).ok();
    let a = exchange(
        &d,
        &request(
            "POST",
            "/v1.50/containers/sb/start",
            JSON,
            br#"{"Privileged":true}"#,
        ),
    );
    assert_eq!(a.status, 400, "{}", a.text());
    assert_eq!(
        a.message(),
        "starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24"
    );
    let a = exchange(
        &d,
        &request("POST", "/v1.50/containers/sb/start", JSON, b"{}"),
    );
    assert_eq!(a.status, 204, "{}", a.text());
    // Bad `ps` arguments of a top are the client's: 400 (dockerd: 500), ps's first line.
    let a = call(
        &d,
        "GET",
        "/containers/ct/top?ps_args=--garbage",
        &Value::Null,
    );
    assert_eq!(a.status, 400, "{}", a.text());
    assert!(a.message().starts_with("ps: "), "{}", a.text());
    assert!(!a.message().contains('\n'), "{}", a.text());
    // The daemon is fine after all that.
    assert_eq!(call(&d, "GET", "/_ping", &Value::Null).text(), "OK");
}

/// Each operation whose client hangs up right after sending it runs to its end: stop
/// (the SIGKILL after `t`), kill, restart, start, create, rm, commit (the container
/// thawed after), load, import, `cp` into a container, exec start; a load whose body is
/// cut short leaves nothing behind. Before, the operation was dropped with the
/// connection: a `stop?t=3` left the container running for good.
#[test]
fn operations_finish_when_the_client_hangs_up() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let post = |path: &str| request("POST", &format!("/v1.50{path}"), "", b"");
    // What did not finish, all of it said at the end.
    let mut unfinished: Vec<&str> = Vec::new();
    let mut check = |done: bool, what: &'static str| {
        if !done {
            unfinished.push(what);
        }
    };
    // stop: busybox sleep as PID 1 ignores SIGTERM, so only the SIGKILL after 3 s
    // stops it.
    run_detached(&d, "stop", &["sleep", "1000"]);
    hang_up(&d, &post("/containers/stop/stop?t=3"));
    check(
        eventually(60, || !running(&d, "stop")),
        "stop?t=3 did not stop the container",
    );
    // kill
    run_detached(&d, "kill", &["sleep", "1000"]);
    hang_up(&d, &post("/containers/kill/kill"));
    check(eventually(60, || !running(&d, "kill")), "kill did not kill");
    // restart: a new start after the stop's SIGKILL.
    run_detached(&d, "restart", &["sleep", "1000"]);
    let started = inspect(&d, "restart").unwrap()["State"]["StartedAt"].clone();
    hang_up(&d, &post("/containers/restart/restart?t=3"));
    check(
        eventually(60, || {
            inspect(&d, "restart").is_some_and(|v| {
                v["State"]["Running"] == true && v["State"]["StartedAt"] != started
            })
        }),
        "restart did not start the container again",
    );
    // start
    d.berth(&["create", "--name", "start", "busybox", "sleep", "1000"])
        .ok();
    hang_up(&d, &post("/containers/start/start"));
    check(
        eventually(60, || running(&d, "start")),
        "start did not start",
    );
    // create
    let body = br#"{"Image":"busybox","Cmd":["true"]}"#;
    hang_up(
        &d,
        &request("POST", "/v1.50/containers/create?name=create", JSON, body),
    );
    check(
        eventually(60, || inspect(&d, "create").is_some()),
        "create did not create",
    );
    // rm -f of a running container
    run_detached(&d, "rm", &["sleep", "1000"]);
    hang_up(
        &d,
        &request("DELETE", "/v1.50/containers/rm?force=1", "", b""),
    );
    check(
        eventually(60, || inspect(&d, "rm").is_none()),
        "rm did not remove",
    );
    // commit of a running container: committed, and thawed after.
    run_detached(&d, "commit", &["sleep", "1000"]);
    hang_up(
        &d,
        &post("/commit?container=commit&repo=hung-up&tag=commit"),
    );
    check(
        eventually(60, || {
            call(&d, "GET", "/images/hung-up:commit/json", &Value::Null).status == 200
        }),
        "commit did not commit",
    );
    check(
        eventually(60, || {
            inspect(&d, "commit")
                .is_some_and(|v| v["State"]["Paused"] == false && v["State"]["Running"] == true)
        }),
        "commit left the container paused",
    );
    // load
    let archive = std::fs::read(image("layers-test.docker.tar")).unwrap();
    hang_up(
        &d,
        &request("POST", "/v1.50/images/load?quiet=1", "", &archive),
    );
    check(
        eventually(60, || {
            call(&d, "GET", "/images/layers-test:1/json", &Value::Null).status == 200
        }),
        "load did not load",
    );
    // import
    let tar = tar_of("imported.txt", b"imported\n");
    hang_up(
        &d,
        &request(
            "POST",
            "/v1.50/images/create?fromSrc=-&repo=hung-up&tag=import",
            "",
            &tar,
        ),
    );
    check(
        eventually(60, || {
            call(&d, "GET", "/images/hung-up:import/json", &Value::Null).status == 200
        }),
        "import did not import",
    );
    // cp into a running container
    run_detached(&d, "target", &["sleep", "1000"]);
    let tar = tar_of("copied.txt", b"copied\n");
    hang_up(
        &d,
        &request(
            "PUT",
            "/v1.50/containers/target/archive?path=/tmp",
            "",
            &tar,
        ),
    );
    check(
        eventually(60, || has_file(&d, "target", "/tmp/copied.txt")),
        "cp did not copy",
    );
    // exec start, upgraded as the docker CLI asks for it
    let exec = call(
        &d,
        "POST",
        "/containers/target/exec",
        &json!({"Cmd": ["touch", "/tmp/exec-ran"], "AttachStdout": true, "AttachStderr": true}),
    )
    .json()["Id"]
        .as_str()
        .unwrap()
        .to_string();
    hang_up(
        &d,
        &request(
            "POST",
            &format!("/v1.50/exec/{exec}/start"),
            "Content-Type: application/json\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n",
            br#"{"Detach":false,"Tty":false}"#,
        ),
    );
    check(
        eventually(60, || has_file(&d, "target", "/tmp/exec-ran")),
        "exec start did not run the command",
    );
    // A load cut short: nothing of it is kept, and the store takes the same archive next.
    let mut cut = format!(
        "POST /v1.50/images/load HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        archive.len()
    )
    .into_bytes();
    cut.extend_from_slice(&archive[..archive.len() / 2]);
    call(&d, "DELETE", "/images/layers-test:1", &Value::Null);
    hang_up(&d, &cut);
    let tmp = d.dir.path().join("root/image/tmp");
    check(
        eventually(60, || {
            std::fs::read_dir(&tmp).is_ok_and(|mut e| e.next().is_none())
        }),
        "a load cut short left files in the store's tmp",
    );
    d.berth(&[
        "load",
        "-i",
        image("layers-test.docker.tar").to_str().unwrap(),
    ])
    .ok();
    assert!(
        unfinished.is_empty(),
        "{unfinished:?}; log:\n{}",
        log_tail(&d)
    );
    // The daemon's state is whole: every container answers, the daemon too.
    assert_eq!(call(&d, "GET", "/_ping", &Value::Null).text(), "OK");
    let list = call(&d, "GET", "/containers/json?all=1", &Value::Null).json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["Names"][0].as_str())
        .collect();
    for n in ["/stop", "/kill", "/restart", "/start", "/create", "/commit"] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    assert!(!names.contains(&"/rm"), "{names:?}");
}

/// Send all of `requests` at once (one connection each); their answers, in order.
fn at_once(d: &Daemon, requests: Vec<Vec<u8>>) -> Vec<Answer> {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(requests.len()));
    let socket = d.socket.clone();
    let threads: Vec<_> = requests
        .into_iter()
        .map(|raw| {
            let barrier = barrier.clone();
            let socket = socket.clone();
            std::thread::spawn(move || {
                let mut s = UnixStream::connect(&socket).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
                barrier.wait();
                s.write_all(&raw).unwrap();
                let mut out = Vec::new();
                s.read_to_end(&mut out).unwrap();
                parse(&out)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

/// (status, message) of each answer, counted.
fn tally(answers: &[Answer]) -> std::collections::BTreeMap<(u16, String), usize> {
    let mut t = std::collections::BTreeMap::new();
    for a in answers {
        let m = if a.status >= 400 {
            a.message()
        } else {
            String::new()
        };
        *t.entry((a.status, m)).or_insert(0) += 1;
    }
    t
}

/// Concurrent operations on one container: one removal among 20 forced ones answers
/// 204, the others Docker's 409 "removal ... already in progress" (or 404 once it is
/// gone); one start of ten (the others 304); a stop racing non-forced removals, a commit
/// and updates racing a forced one, two renames to one name: one winner, Docker's answers
/// for the others, and records that agree, also after the daemon restarts. Before, 8 to
/// 20 of the forced removals answered 204.
#[test]
fn concurrent_operations_have_one_winner() {
    let Some(mut d) = Daemon::with_busybox() else {
        return;
    };
    let delete = |key: &str, force: bool| {
        request(
            "DELETE",
            &format!("/v1.50/containers/{key}?force={}", u8::from(force)),
            "",
            b"",
        )
    };
    let post = |path: &str| request("POST", &format!("/v1.50{path}"), "", b"");
    for running in [true, false] {
        let c = unique("rm");
        if running {
            run_detached(&d, &c, &["sleep", "1000"]);
        } else {
            d.berth(&["create", "--name", &c, "busybox", "true"]).ok();
        }
        let id = inspect(&d, &c).unwrap()["Id"].as_str().unwrap().to_string();
        let answers = at_once(&d, (0..20).map(|_| delete(&c, true)).collect());
        let t = tally(&answers);
        assert_eq!(t.get(&(204, String::new())), Some(&1), "{t:?}");
        for (status, message) in t.keys() {
            match status {
                204 => {}
                409 => assert_eq!(
                    message,
                    &format!("removal of container {c} is already in progress")
                ),
                404 => assert_eq!(message, &format!("No such container: {c}")),
                s => panic!("status {s}: {t:?}"),
            }
        }
        assert!(inspect(&d, &c).is_none());
        // Its files go in the background once the removal is answered.
        let containers = d.dir.path().join("root/containers");
        assert!(
            eventually(10, || !std::fs::read_dir(&containers)
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(&id))),
            "{c}'s directory is left"
        );
    }

    // Ten starts: one starts it, the others find it started.
    let c = unique("start");
    d.berth(&["create", "--name", &c, "busybox", "sleep", "1000"])
        .ok();
    let t = tally(&at_once(
        &d,
        (0..10)
            .map(|_| post(&format!("/containers/{c}/start")))
            .collect(),
    ));
    assert_eq!(t.get(&(204, String::new())), Some(&1), "{t:?}");
    assert_eq!(t.get(&(304, String::new())), Some(&9), "{t:?}");

    // Restarts at once: each answers 204 (one of them may find the container started by
    // another, which is no 304), and it runs after.
    let c = unique("restarts");
    run_detached(&d, &c, &["sleep", "1000"]);
    let t = tally(&at_once(
        &d,
        (0..4)
            .map(|_| post(&format!("/containers/{c}/restart?t=1")))
            .collect(),
    ));
    assert_eq!(t.get(&(204, String::new())), Some(&4), "{t:?}");
    assert!(running(&d, &c));

    // Stops and removals without force: a removal succeeds only once the container is
    // stopped, and then only one.
    let c = unique("stoprm");
    run_detached(&d, &c, &["sleep", "1000"]);
    let mut reqs: Vec<Vec<u8>> = (0..3)
        .map(|_| post(&format!("/containers/{c}/stop?t=1")))
        .collect();
    reqs.extend((0..3).map(|_| delete(&c, false)));
    let answers = at_once(&d, reqs);
    let removed = answers[3..].iter().filter(|a| a.status == 204).count();
    assert!(removed <= 1, "{:?}", tally(&answers));
    for a in &answers[..3] {
        assert!(matches!(a.status, 204 | 304 | 404), "stop: {a:?}");
    }
    for a in &answers[3..] {
        assert!(
            a.status == 204
                || (a.status == 404 && a.message() == format!("No such container: {c}"))
                || (a.status == 409
                    && (a.message() == format!("removal of container {c} is already in progress")
                        || a.message().contains("container is running"))),
            "rm: {} {}",
            a.status,
            a.text()
        );
    }
    match inspect(&d, &c) {
        Some(v) => assert_eq!((removed, v["State"]["Running"].clone()), (0, json!(false))),
        None => assert_eq!(removed, 1),
    }

    // A commit and updates racing a forced removal.
    let c = unique("commitrm");
    run_detached(&d, &c, &["sleep", "1000"]);
    let update = request(
        "POST",
        &format!("/v1.50/containers/{c}/update"),
        JSON,
        br#"{"CpuShares":512}"#,
    );
    let mut reqs = vec![post(&format!(
        "/commit?container={c}&repo=raced&tag=commit"
    ))];
    reqs.extend((0..4).map(|_| update.clone()));
    reqs.push(delete(&c, true));
    let answers = at_once(&d, reqs);
    let commit = &answers[0];
    assert!(
        matches!(commit.status, 201 | 404 | 409),
        "commit: {commit:?}"
    );
    for a in &answers[1..5] {
        assert!(
            a.status == 200
                || (a.status == 404 && a.message() == format!("No such container: {c}"))
                || (a.status == 409 && a.message().contains("is marked for removal")),
            "update: {} {}",
            a.status,
            a.text()
        );
    }
    assert_eq!(answers[5].status, 204, "rm: {}", answers[5].text());
    assert!(inspect(&d, &c).is_none());
    let image = call(&d, "GET", "/images/raced:commit/json", &Value::Null).status;
    assert_eq!(image == 200, commit.status == 201, "commit: {commit:?}");

    // Two containers renamed to one name at once: one gets it.
    let (a, b, name) = (unique("ra"), unique("rb"), unique("taken"));
    for c in [&a, &b] {
        d.berth(&["create", "--name", c, "busybox", "true"]).ok();
    }
    let answers = at_once(
        &d,
        vec![
            post(&format!("/containers/{a}/rename?name={name}")),
            post(&format!("/containers/{b}/rename?name={name}")),
        ],
    );
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    statuses.sort();
    assert_eq!(statuses, [204, 409], "{answers:?}");
    let loser = answers.iter().find(|a| a.status == 409).unwrap();
    assert!(
        loser
            .message()
            .starts_with(&format!("Error when allocating new name: Conflict. The container name \"/{name}\" is already in use")),
        "{}",
        loser.text()
    );
    let named = |n: &str| inspect(&d, n).is_some();
    assert!(named(&name) && (named(&a) != named(&b)));

    // What the daemon finds on disk agrees with what it answered.
    let before = list_names(&d);
    d.kill9_and_restart();
    assert_eq!(list_names(&d), before);
}

/// The names of all containers, sorted.
fn list_names(d: &Daemon) -> Vec<String> {
    let list = call(d, "GET", "/containers/json?all=1", &Value::Null).json();
    let mut names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["Names"][0].as_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

/// `docker cp` (stat, get, put) of a container while it is killed: the content, never a
/// 500. Before, a request that read the container as running and found its process gone
/// answered 500 "chroot /proc/<pid>/root: No such file or directory" (a quarter of them).
#[test]
fn cp_of_a_container_that_stops_meanwhile() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("cp");
    d.berth(&["create", "--name", &c, "busybox", "sleep", "1000"])
        .ok();
    let tar = tar_of("put.txt", b"put\n");
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..10 {
        d.berth(&["start", &c]).ok();
        let readers: Vec<_> = (0..3)
            .map(|i| {
                let socket = d.socket.clone();
                let (c, tar) = (c.clone(), tar.clone());
                std::thread::spawn(move || {
                    let mut seen = Vec::new();
                    for _ in 0..8 {
                        let raw = match i {
                            0 => request(
                                "GET",
                                &format!("/v1.50/containers/{c}/archive?path=/etc/hostname"),
                                "",
                                b"",
                            ),
                            1 => request(
                                "HEAD",
                                &format!("/v1.50/containers/{c}/archive?path=/etc"),
                                "",
                                b"",
                            ),
                            _ => request(
                                "PUT",
                                &format!("/v1.50/containers/{c}/archive?path=/tmp"),
                                "",
                                &tar,
                            ),
                        };
                        let mut s = UnixStream::connect(&socket).unwrap();
                        s.write_all(&raw).unwrap();
                        let mut out = Vec::new();
                        s.read_to_end(&mut out).unwrap();
                        let a = parse(&out);
                        seen.push((
                            a.status,
                            if a.status >= 500 {
                                a.text()
                            } else {
                                String::new()
                            },
                        ));
                    }
                    seen
                })
            })
            .collect();
        d.berth(&["kill", &c]).ok();
        for r in readers {
            for s in r.join().unwrap() {
                *statuses.entry(s).or_insert(0) += 1;
            }
        }
    }
    assert!(statuses.keys().all(|(s, _)| *s == 200), "{statuses:?}");
    // Nothing left mounted or in the scratch directory.
    let scratch = d.dir.path().join("run/archive");
    assert!(eventually(10, || {
        std::fs::read_dir(&scratch).is_ok_and(|mut e| e.next().is_none())
    }));
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(!mounts.contains(&d.dir.path().to_string_lossy().into_owned()));
}

/// Limits out of range get dockerd's 400 and message at create and update (the OCI
/// runtime's for CPU shares, which dockerd only finds at start, with a 500); dockerd's
/// normalizations hold (a PIDs limit of 0 or less and a swappiness of -1 are none);
/// settings Berth does not act on are refused by name rather than ignored. Before, a
/// `Memory` of -1 or 1 byte, periods, quotas and weights out of range were accepted.
#[test]
fn out_of_range_limits_are_refused_as_dockerd() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let create = |hc: Value| {
        call(
            &d,
            "POST",
            "/containers/create",
            &json!({"Image": "busybox", "Cmd": ["true"], "HostConfig": hc}),
        )
    };
    let cases = [
        (
            json!({"Memory": -1}),
            400,
            "Minimum memory limit allowed is 6MB",
        ),
        (
            json!({"Memory": 6291455}),
            400,
            "Minimum memory limit allowed is 6MB",
        ),
        (
            json!({"Memory": 10000000, "MemorySwap": 5000000}),
            400,
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ),
        (
            json!({"MemorySwap": 5000000}),
            400,
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ),
        (
            json!({"MemoryReservation": 1}),
            400,
            "Minimum memory reservation allowed is 6MB",
        ),
        (
            json!({"Memory": 10000000, "MemoryReservation": 20000000}),
            400,
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        ),
        (
            json!({"MemorySwappiness": 101}),
            400,
            "Invalid value: 101, valid memory swappiness range is 0-100",
        ),
        (
            json!({"CpuShares": -1}),
            400,
            "invalid CPU shares (-1): value must be a positive integer",
        ),
        (
            json!({"CpuShares": 1}),
            400,
            "the minimum allowed cpu-shares is 2",
        ),
        (
            json!({"CpuShares": 262145}),
            400,
            "the maximum allowed cpu-shares is 262144",
        ),
        (
            json!({"CpuPeriod": 999}),
            400,
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ),
        (
            json!({"CpuPeriod": 1000001}),
            400,
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ),
        (
            json!({"CpuQuota": 999}),
            400,
            "CPU cfs quota can not be less than 1ms (i.e. 1000)",
        ),
        (
            json!({"NanoCpus": 100000000, "CpuQuota": 5000}),
            400,
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
        ),
        (
            json!({"CpusetCpus": "abc"}),
            400,
            "Invalid value abc for cpuset cpus: invalid format: abc",
        ),
        (
            json!({"CpusetCpus": "100000"}),
            400,
            "Requested CPUs are not available - requested 100000",
        ),
        (
            json!({"CpusetMems": "4096"}),
            400,
            "Requested memory nodes are not available - requested 4096",
        ),
        (
            json!({"BlkioWeight": 9}),
            400,
            "Range of blkio weight is from 10 to 1000",
        ),
        (
            json!({"BlkioWeight": 1001}),
            400,
            "Range of blkio weight is from 10 to 1000",
        ),
        (
            json!({"OomScoreAdj": 1001}),
            400,
            "Invalid value 1001, range for oom score adj is [-1000, 1000]",
        ),
        (
            json!({"ShmSize": -1}),
            400,
            "SHM size can not be less than 0",
        ),
        (
            json!({"IOMaximumBandwidth": 5}),
            400,
            "Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps",
        ),
        (
            json!({"OomScoreAdj": 500}),
            501,
            "HostConfig.OomScoreAdj: the OOM score adjustment (--oom-score-adj) is not supported yet",
        ),
        (
            json!({"MemorySwappiness": 60}),
            501,
            "HostConfig.MemorySwappiness: memory swappiness (--memory-swappiness) is not supported yet",
        ),
        (
            json!({"BlkioDeviceReadBps": [{"Path": "/dev/sda", "Rate": 1024}]}),
            501,
            "HostConfig.BlkioDeviceReadBps: block IO throttling (--device-read-bps) is not supported yet",
        ),
    ];
    for (hc, status, message) in &cases {
        let a = create(hc.clone());
        assert_eq!(a.status, *status, "{hc}: {}", a.text());
        let m = a.message();
        assert!(m.starts_with(message), "{hc}: {m}");
    }
    // In range, and dockerd's normalizations.
    let a = create(json!({
        "Memory": 6291456, "MemorySwap": -1, "CpuShares": 2, "CpuPeriod": 100000,
        "CpuQuota": -1, "PidsLimit": -1, "MemorySwappiness": -1, "OomScoreAdj": 0,
        "BlkioWeightDevice": [], "CpusetCpus": "0", "CpusetMems": "0",
    }));
    assert_eq!(a.status, 201, "{}", a.text());
    let id = a.json()["Id"].as_str().unwrap().to_string();
    let hc = inspect(&d, &id).unwrap()["HostConfig"].clone();
    assert_eq!(hc["PidsLimit"], Value::Null);
    assert_eq!(hc["MemorySwappiness"], Value::Null);
    assert_eq!(hc["Memory"], 6291456);

    // Update checks the same limits.
    let c = unique("upd");
    d.berth(&[
        "run",
        "-d",
        "--name",
        &c,
        "--pids-limit",
        "50",
        "busybox",
        "sleep",
        "1000",
    ])
    .ok();
    let update = |body: Value| call(&d, "POST", &format!("/containers/{c}/update"), &body);
    for (body, message) in [
        (json!({"Memory": -1}), "Minimum memory limit allowed is 6MB"),
        (
            json!({"CpuShares": 1}),
            "the minimum allowed cpu-shares is 2",
        ),
        (
            json!({"CpuPeriod": 999}),
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ),
        (
            json!({"BlkioWeight": 1001}),
            "Range of blkio weight is from 10 to 1000",
        ),
        (
            json!({"PidsLimit": -1}),
            "Cannot update container: removing the PIDs limit (PidsLimit 0 or less) of a running container is not supported",
        ),
    ] {
        let a = update(body.clone());
        assert_eq!((a.status, a.message().as_str()), (400, message), "{body}");
    }
    let a = update(json!({"CpuShares": 512, "PidsLimit": 100}));
    assert_eq!(a.status, 200, "{}", a.text());
    let hc = inspect(&d, &c).unwrap()["HostConfig"].clone();
    assert_eq!(
        (hc["CpuShares"].clone(), hc["PidsLimit"].clone()),
        (json!(512), json!(100))
    );
}
