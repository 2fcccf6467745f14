//! The archive crate's hostile archives (`berth_archive::hostile`) once more through each
//! caller, end to end: `load` of an image with a hostile layer, `docker cp` of a hostile
//! tar into a container (running and stopped), `berth cp` of a hostile tar from a daemon
//! to the host, `import`. Every escape is refused and leaves a host directory (and, for
//! `docker cp`, the container's copy of it) as it was; every harmless oddity lands inside.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use berth_archive::hostile::{RawTar, contained, escapes};
use berth_e2e::{Daemon, have_docker_cli, skip_unless_root, unique};
use sha2::Digest;

/// A host directory `outside` holding `victim` (`safe`), in a temporary directory.
struct Outside {
    dir: tempfile::TempDir,
}

impl Outside {
    fn new() -> Outside {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("outside")).unwrap();
        std::fs::write(dir.path().join("outside/victim"), "safe").unwrap();
        Outside { dir }
    }
    fn path(&self) -> String {
        self.dir.path().join("outside").display().to_string()
    }
    fn check(&self, what: &str) {
        let o = self.dir.path().join("outside");
        assert_eq!(
            std::fs::read_to_string(o.join("victim")).unwrap(),
            "safe",
            "{what}"
        );
        assert_eq!(std::fs::read_dir(&o).unwrap().count(), 1, "{what}");
    }
    /// A file for an archive, next to `outside`.
    fn file(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        p
    }
}

fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

/// A `docker save` archive of one image, `hostile:1`, whose only layer is `layer`.
fn archive_with_layer(layer: &[u8]) -> Vec<u8> {
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
        sha(layer)
    );
    let cid = sha(config.as_bytes());
    let manifest = format!(
        r#"[{{"Config":"{}.json","RepoTags":["hostile:1"],"Layers":["l/layer.tar"]}}]"#,
        &cid[7..]
    );
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [
        (format!("{}.json", &cid[7..]), config.as_bytes()),
        ("l/layer.tar".to_string(), layer),
        ("manifest.json".to_string(), manifest.as_bytes()),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
    }
    b.into_inner().unwrap()
}

fn layer_dir(d: &Daemon, layer: &[u8]) -> PathBuf {
    d.dir
        .path()
        .join("root/image/layers")
        .join(&sha(layer)[7..])
}

fn image_count(d: &Daemon) -> usize {
    d.berth(&["images", "-aq"]).stdout().lines().count()
}

#[test]
fn load_refuses_hostile_layers() {
    if skip_unless_root() {
        return;
    }
    let d = Daemon::start();
    let o = Outside::new();
    for (i, (what, layer)) in escapes(&o.path()).into_iter().enumerate() {
        let f = o.file("hostile.tar", &archive_with_layer(&layer));
        // The docker CLI for the first case, berth for the others.
        let docker = i == 0 && have_docker_cli();
        let out = d.cli(docker, &["load", "-i", f.to_str().unwrap()]);
        assert_ne!(out.code(), 0, "{what}: loaded");
        assert!(
            out.stderr().contains("invalid layer"),
            "{what}: {}",
            out.stderr()
        );
        o.check(what);
        assert_eq!(image_count(&d), 0, "{what}");
    }
    for c in contained(&o.path()) {
        let f = o.file("odd.tar", &archive_with_layer(&c.tar));
        d.berth(&["load", "-i", f.to_str().unwrap()]).ok();
        let got = std::fs::read(layer_dir(&d, &c.tar).join(&c.check)).unwrap();
        assert_eq!(got, c.want, "{}", c.name);
        o.check(c.name);
    }
}

#[test]
fn import_refuses_hostile_tars() {
    if skip_unless_root() {
        return;
    }
    let d = Daemon::start();
    let o = Outside::new();
    for (what, tar) in escapes(&o.path()) {
        let f = o.file("hostile.tar", &tar);
        let out = d.berth(&["import", f.to_str().unwrap(), "hostile:1"]);
        assert_ne!(out.code(), 0, "{what}: imported");
        assert!(
            out.stderr().contains("invalid layer"),
            "{what}: {}",
            out.stderr()
        );
        o.check(what);
        assert_eq!(image_count(&d), 0, "{what}");
    }
    for c in contained(&o.path()) {
        let f = o.file("odd.tar", &c.tar);
        d.berth(&["import", f.to_str().unwrap(), "odd:1"]).ok();
        let got = std::fs::read(layer_dir(&d, &c.tar).join(&c.check)).unwrap();
        assert_eq!(got, c.want, "{}", c.name);
        o.check(c.name);
    }
}

/// `berth cp CONTAINER:PATH -` of a file: its contents.
fn read_in_container(d: &Daemon, c: &str, path: &str) -> Option<Vec<u8>> {
    let out = d.berth(&["cp", &format!("{c}:{path}"), "-"]);
    if out.code() != 0 {
        return None;
    }
    let mut a = tar::Archive::new(out.out.stdout.as_slice());
    let mut e = a.entries().unwrap().next()?.unwrap();
    let mut data = Vec::new();
    e.read_to_end(&mut data).unwrap();
    Some(data)
}

#[test]
fn cp_into_a_container_refuses_hostile_tars() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let o = Outside::new();
    let out = o.path();
    let c = unique("cphostile");
    // The container has its own `outside/victim` at the host's path: an escape that
    // reached it would be caught there too.
    let setup = format!("mkdir -p {out} && echo -n safe > {out}/victim && echo up && sleep 1000");
    d.berth(&["run", "-d", "--name", &c, "busybox", "sh", "-c", &setup])
        .ok();
    assert!(berth_e2e::eventually(30, || d
        .berth(&["logs", &c])
        .stdout()
        == "up\n"));
    let docker = have_docker_cli();
    let put = |data: &[u8]| {
        let mut child = d
            .cli_command(docker)
            .args(["cp", "-", &format!("{c}:/")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(data).unwrap();
        child.wait_with_output().unwrap()
    };
    for running in [true, false] {
        if !running {
            d.berth(&["stop", "-t", "0", &c]).ok();
        }
        for (what, tar) in escapes(&out) {
            let r = put(&tar);
            assert!(!r.status.success(), "running={running}: {what}: accepted");
            assert!(
                String::from_utf8_lossy(&r.stderr).contains("Error processing tar file"),
                "{what}: {}",
                String::from_utf8_lossy(&r.stderr)
            );
            o.check(what);
            assert_eq!(
                read_in_container(&d, &c, &format!("{out}/victim")).as_deref(),
                Some(&b"safe"[..]),
                "running={running}: {what}"
            );
        }
        for k in contained(&out) {
            let r = put(&k.tar);
            assert!(
                r.status.success(),
                "running={running}: {}: {}",
                k.name,
                String::from_utf8_lossy(&r.stderr)
            );
            assert_eq!(
                read_in_container(&d, &c, &format!("/{}", k.check)).as_deref(),
                Some(k.want),
                "running={running}: {}",
                k.name
            );
            o.check(k.name);
        }
    }
    d.berth(&["rm", "-f", &c]).ok();
}

/// A fake daemon on a Unix socket that answers `_ping`, and every archive request with
/// the tar it is given (stat: a directory), as a hostile or broken daemon could.
struct FakeDaemon {
    socket: PathBuf,
    tar: Arc<Mutex<Vec<u8>>>,
    _dir: tempfile::TempDir,
}

impl FakeDaemon {
    fn start() -> FakeDaemon {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("fake.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let tar: Arc<Mutex<Vec<u8>>> = Arc::default();
        let served = tar.clone();
        // The thread ends with the test process (the listener is never closed before).
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    continue;
                }
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let stat = r#"{"name":"x","size":0,"mode":2147484141,"mtime":"2024-01-01T00:00:00Z","linkTarget":""}"#;
                let stat = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, stat);
                let (head, body) = if first.contains("/_ping") {
                    ("Api-Version: 1.45\r\n".to_string(), b"OK".to_vec())
                } else if first.starts_with("HEAD") {
                    (
                        format!("X-Docker-Container-Path-Stat: {stat}\r\n"),
                        Vec::new(),
                    )
                } else {
                    (
                        format!(
                            "X-Docker-Container-Path-Stat: {stat}\r\nContent-Type: application/x-tar\r\n"
                        ),
                        served.lock().unwrap().clone(),
                    )
                };
                let len = if first.starts_with("HEAD") {
                    0
                } else {
                    body.len()
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\n{head}Content-Length: {len}\r\nConnection: close\r\n\r\n"
                );
                if !first.starts_with("HEAD") {
                    let _ = conn.write_all(&body);
                }
            }
        });
        FakeDaemon {
            socket,
            tar,
            _dir: dir,
        }
    }

    /// `berth cp c:/x DEST` against this daemon serving `tar`.
    fn cp(&self, tar: &[u8], dest: &Path) -> berth_e2e::Run {
        *self.tar.lock().unwrap() = tar.to_vec();
        let mut cmd = std::process::Command::new(berth_e2e::bin_dir().join("berth"));
        cmd.env("BERTH_HOST", format!("unix://{}", self.socket.display()))
            .env_remove("DOCKER_HOST")
            .args(["cp", "c:/x", dest.to_str().unwrap()])
            .stdin(Stdio::null());
        berth_e2e::Run {
            out: cmd.output().unwrap(),
        }
    }
}

#[test]
fn berth_cp_to_the_host_stays_in_the_destination() {
    let fake = FakeDaemon::start();
    let o = Outside::new();
    let dest_root = tempfile::tempdir().unwrap();
    let mut n = 0;
    let mut dest = || {
        n += 1;
        let p = dest_root.path().join(format!("d{n}"));
        std::fs::create_dir(&p).unwrap();
        p
    };
    for (what, tar) in escapes(&o.path()) {
        let out = fake.cp(&tar, &dest());
        assert_ne!(out.code(), 0, "{what}: accepted");
        o.check(what);
    }
    // No device node on the host, whatever the container holds.
    let dev = RawTar::new()
        .device("null", tar::EntryType::Char, 1, 3)
        .finish();
    let d = dest();
    let out = fake.cp(&dev, &d);
    assert_ne!(out.code(), 0, "a device node was accepted");
    assert!(out.stderr().contains("device nodes"), "{}", out.stderr());
    assert!(!d.join("null").exists());
    for c in contained(&o.path()) {
        let d = dest();
        let out = fake.cp(&c.tar, &d);
        assert_eq!(out.code(), 0, "{}: {}", c.name, out.stderr());
        assert_eq!(
            std::fs::read(d.join(&c.check)).unwrap(),
            c.want,
            "{}",
            c.name
        );
        o.check(c.name);
    }
}

/// `PUT /containers/{id}/archive` of raw bytes; the status code and body.
fn put_archive(d: &Daemon, c: &str, path: &str, query: &str, tar: &[u8]) -> (u16, String) {
    let mut s = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
    let head = format!(
        "PUT /containers/{c}/archive?path={path}{query} HTTP/1.1\r\nHost: berth\r\nConnection: close\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\n\r\n",
        tar.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(tar).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let code = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (code, body)
}

/// A file replacing a directory through `docker cp`'s API: refused with
/// `noOverwriteDirNonDir` (what the docker CLI sends), done without it (what the Python
/// SDK's `put_archive` sends), in a running and a stopped container. (The helper runs
/// chrooted into the container, where there is no `/proc/self`: removing the directory
/// used to fail there.)
#[test]
fn cp_replaces_a_directory_only_when_allowed() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("cpreplace");
    d.berth(&["run", "-d", "--name", &c, "busybox", "sleep", "1000"])
        .ok();
    let dir = RawTar::new()
        .entry("rep/", tar::EntryType::Directory, "", b"")
        .entry("rep/inner", tar::EntryType::Regular, "", b"inner")
        .finish();
    let file = RawTar::new()
        .entry("rep", tar::EntryType::Regular, "", b"a file now")
        .finish();
    for running in [true, false] {
        if !running {
            d.berth(&["stop", "-t", "0", &c]).ok();
        }
        let what = format!("running={running}");
        assert_eq!(put_archive(&d, &c, "/tmp", "", &dir).0, 200, "{what}");
        let (code, body) = put_archive(&d, &c, "/tmp", "&noOverwriteDirNonDir=true", &file);
        assert!(code >= 400, "{what}: {code} {body}");
        assert!(
            body.contains("cannot overwrite directory"),
            "{what}: {body}"
        );
        assert_eq!(
            read_in_container(&d, &c, "/tmp/rep/inner").as_deref(),
            Some(&b"inner"[..]),
            "{what}"
        );
        let (code, body) = put_archive(&d, &c, "/tmp", "", &file);
        assert_eq!(code, 200, "{what}: {body}");
        assert_eq!(
            read_in_container(&d, &c, "/tmp/rep").as_deref(),
            Some(&b"a file now"[..]),
            "{what}"
        );
        // Back to a directory for the next round.
        assert_eq!(put_archive(&d, &c, "/tmp", "", &dir).0, 200, "{what}");
    }
    d.berth(&["rm", "-f", &c]).ok();
}
