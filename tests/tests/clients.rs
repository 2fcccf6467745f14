//! Real clients against berthd: the docker SDK for Python, testcontainers-python and
//! docker-compose 1.29 run the pytest suites of `tests/python`, each test function here
//! with a berthd of its own (so they run in parallel with each other and the other tests).
//!
//! `tests/python/setup.sh` installs the clients (a venv at `target/py-venv`, docker-compose
//! from apt); `scripts/test.sh` runs it and sets `BERTH_REQUIRE_CLIENTS=1`, under which a
//! missing client fails the test instead of skipping it.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_e2e::{Daemon, unique};

/// The longest one pytest run may take (the suites take seconds; this bounds a hang).
const DEADLINE: Duration = Duration::from_secs(300);

fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

fn venv_python() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/py-venv/bin/python")
}

/// Whether the clients are installed; if not, skip loudly, or fail under
/// `BERTH_REQUIRE_CLIENTS=1`.
fn clients_ready(need: &[&str]) -> bool {
    let mut missing = Vec::new();
    if !venv_python().is_file() {
        missing.push(format!("the Python venv ({})", venv_python().display()));
    }
    for exe in need {
        let found = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(exe).is_file()));
        if !found {
            missing.push(exe.to_string());
        }
    }
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "client tests need {}: run tests/python/setup.sh",
        missing.join(" and ")
    );
    assert!(
        std::env::var("BERTH_REQUIRE_CLIENTS").as_deref() != Ok("1"),
        "{msg} (BERTH_REQUIRE_CLIENTS=1)"
    );
    eprintln!("SKIPPING: {msg}");
    false
}

/// Run pytest on `file` (in tests/python) against `d`; panic with its output and the
/// daemon's log unless every test passed.
fn pytest(d: &Daemon, file: &str) {
    let out_path = d.dir.path().join(format!("{file}.out"));
    let out = std::fs::File::create(&out_path).unwrap();
    let mut child = Command::new(venv_python())
        .args(["-m", "pytest", "-v", "--color=no", "--tb=short"])
        .arg(format!(
            "--basetemp={}",
            d.dir.path().join("pytest").display()
        ))
        .arg(file)
        .current_dir(python_dir())
        .env("DOCKER_HOST", d.host())
        .env("DOCKER_CONFIG", d.dir.path().join("docker-config"))
        .env("BERTH_PY_PREFIX", unique("bpy"))
        .env("TESTCONTAINERS_RYUK_DISABLED", "true")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", venv_python().display()));
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = std::fs::read_to_string(&out_path).unwrap_or_default();
    let summary = output.lines().last().unwrap_or_default().to_string();
    let passed = status.is_some_and(|s| s.success())
        && summary.contains(" passed")
        && !summary.contains("skipped");
    if !passed {
        let log = d.log();
        let tail: Vec<&str> = log.lines().rev().take(60).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        panic!(
            "pytest {file}: {}\n{output}\n--- berthd log (last 60 lines) ---\n{}",
            match status {
                Some(s) => format!("{s}"),
                None => format!("killed after {}s", DEADLINE.as_secs()),
            },
            tail.join("\n")
        );
    }
    println!("pytest {file}: {summary}");
}

/// The docker SDK's documented examples: run attached and detached, logs, exec_run (tty,
/// demux, stream, exit codes), put/get_archive, commit, images, events, errors.
#[test]
fn docker_sdk() {
    if !clients_ready(&[]) {
        return;
    }
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    pytest(&d, "test_sdk.py");
}

/// A testcontainers container: wait for its log line, exec, logs; no Ryuk, no pull.
#[test]
fn testcontainers() {
    if !clients_ready(&[]) {
        return;
    }
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    pytest(&d, "test_testcontainers.py");
}

/// A docker-compose 1.29 project: up, ps, logs, exec, stop, start, down.
#[test]
fn docker_compose() {
    if !clients_ready(&["docker-compose"]) {
        return;
    }
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    pytest(&d, "test_compose.py");
}
