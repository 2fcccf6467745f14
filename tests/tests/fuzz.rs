//! The Engine API fuzzed from its own description: `tests/python/test_fuzz.py`
//! (Schemathesis) against a berthd of this test's own, listening on 127.0.0.1 as well for
//! that client; then the daemon is checked: it answers, its descriptors and memory did not
//! grow without bound, and once its containers are removed nothing is left of them (no
//! shim, mount or cgroup).
//!
//! Bounded and derandomized (the same requests each run): `BERTH_FUZZ_EXAMPLES` per
//! operation, 10 by default (a couple of minutes); more for a longer local run, e.g.
//! `BERTH_FUZZ_EXAMPLES=200 cargo test -p berth-e2e --test fuzz`, with `BERTH_FUZZ_SEED`
//! for other examples. Needs the Python venv of `tests/python/setup.sh` (skipped without
//! it, failed under `BERTH_REQUIRE_CLIENTS=1`).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_e2e::{Daemon, cgroup_roots, eventually, skip_unless_root, unique};

/// The longest the fuzz may run (a hang fails the test instead of the run).
const DEADLINE: Duration = Duration::from_secs(1800);

/// How much berthd's resident memory may grow over the run.
const RSS_GROWTH: u64 = 64 << 20;

fn venv_python() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/py-venv/bin/python")
}

/// Whether the venv has Schemathesis; if not, skip loudly, or fail under
/// `BERTH_REQUIRE_CLIENTS=1`.
fn fuzzer_ready() -> bool {
    let ok = Command::new(venv_python())
        .args(["-c", "import schemathesis"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return true;
    }
    let msg = "the API fuzz needs Schemathesis in target/py-venv: run tests/python/setup.sh";
    assert!(
        std::env::var("BERTH_REQUIRE_CLIENTS").as_deref() != Ok("1"),
        "{msg} (BERTH_REQUIRE_CLIENTS=1)"
    );
    eprintln!("SKIPPING: {msg}");
    false
}

/// A port on 127.0.0.1 that is free now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The pid of the berthd serving `d` (found by its socket on its command line).
fn berthd_pid(d: &Daemon) -> u32 {
    let socket = d.socket.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .find_map(|p| {
            let pid: u32 = p.file_name().to_string_lossy().parse().ok()?;
            let cmdline = std::fs::read(p.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline);
            (cmdline.contains("berthd")
                && !cmdline.contains("berth-shim")
                && cmdline.contains(&socket))
            .then_some(pid)
        })
        .expect("berthd's pid")
}

/// Open descriptors and resident memory (bytes) of `pid`.
fn usage(pid: u32) -> (usize, u64) {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    (fds, rss_kb << 10)
}

/// Processes whose command line mentions `root` (the daemon's temp dir), berthd aside.
fn processes_under(root: &str, berthd: u32) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|p| {
            let pid: u32 = p.file_name().to_string_lossy().parse().ok()?;
            let cmdline = std::fs::read(p.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (pid != berthd && cmdline.contains(root)).then(|| format!("{pid}: {cmdline}"))
        })
        .collect()
}

#[test]
fn api_fuzz() {
    if skip_unless_root() || !fuzzer_ready() {
        return;
    }
    let port = free_port();
    let d = Daemon::start_with(&["-H", &format!("tcp://127.0.0.1:{port}")]);
    d.load("busybox.tar");
    let (running, stopped) = (unique("fuzz-running-"), unique("fuzz-created-"));
    d.berth(&["run", "-d", "--name", &running, "busybox", "sleep", "1000"])
        .ok();
    d.berth(&["create", "--name", &stopped, "busybox", "true"])
        .ok();
    let pid = berthd_pid(&d);
    let (fds_before, rss_before) = usage(pid);

    let out_path = d.dir.path().join("fuzz.out");
    let out = std::fs::File::create(&out_path).unwrap();
    let mut child = Command::new(venv_python())
        .args([
            "-m",
            "pytest",
            "-q",
            "--color=no",
            "--tb=short",
            "-p",
            "no:timeout",
        ])
        .arg("test_fuzz.py")
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("python"))
        .env("BERTH_FUZZ_URL", format!("http://127.0.0.1:{port}/v1.50"))
        .env("BERTH_FUZZ_CONTAINERS", format!("{running},{stopped}"))
        .env("DOCKER_HOST", d.host())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env(
            "HYPOTHESIS_STORAGE_DIRECTORY",
            d.dir.path().join("hypothesis"),
        )
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = std::fs::read_to_string(&out_path).unwrap_or_default();
    let summary = output.lines().last().unwrap_or_default().to_string();
    assert!(
        status.is_some_and(|s| s.success()) && summary.contains(" passed"),
        "API fuzz: {status:?}\n{output}"
    );
    println!("API fuzz: {summary}");

    // The daemon is alive, and what the requests took it gave back.
    let ping = d.raw("GET", "/_ping", "").unwrap_or_default();
    assert!(ping.starts_with("HTTP/1.1 200"), "{ping}");
    let settled = eventually(30, || usage(pid).0 <= fds_before + 8);
    let (fds, rss) = usage(pid);
    assert!(
        settled,
        "berthd's descriptors: {fds_before} before, {fds} after"
    );
    assert!(
        rss <= rss_before + RSS_GROWTH,
        "berthd's memory: {rss_before} bytes before, {rss} after"
    );

    // Once every container is removed, nothing is left of them.
    let ids = d.berth(&["ps", "-aq", "--no-trunc"]).stdout();
    for id in ids.split_whitespace() {
        d.berth(&["rm", "-f", id]).ok();
    }
    let root = d.dir.path().to_string_lossy().into_owned();
    assert!(
        eventually(30, || processes_under(&root, pid).is_empty()),
        "left running: {:?}",
        processes_under(&root, pid)
    );
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(!mounts.contains(&root), "left mounted under {root}");
    for base in cgroup_roots() {
        let parent = base.join(&d.cgroup_parent);
        let children: Vec<_> = std::fs::read_dir(&parent)
            .map(|e| e.flatten().filter(|e| e.path().is_dir()).collect())
            .unwrap_or_default();
        assert!(children.is_empty(), "cgroups left in {}", parent.display());
    }
    // A removed container's files go in the background once the removal is answered.
    for dir in ["root/containers", "run/archive", "root/image/tmp"] {
        let left = || -> Vec<_> {
            std::fs::read_dir(d.dir.path().join(dir))
                .map(|e| e.flatten().map(|e| e.file_name()).collect())
                .unwrap_or_default()
        };
        eventually(10, || left().is_empty());
        let left = left();
        assert!(left.is_empty(), "left in {dir}: {left:?}");
    }
}
