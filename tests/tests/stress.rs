//! Races found under load: output lost by SDK-style clients, commit of a container that
//! has just exited, `rm` of a restarting container. The load is two CPU hogs the test
//! starts and kills; the counts are bounded (a few hundred execs at most).
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command};
use std::time::Duration;

use berth_e2e::stdio::{Session, body, demux};
use berth_e2e::{Daemon, clis, eventually, have_docker_cli, unique};

/// Busy loops on the host, killed when dropped (also when the test fails).
struct Hogs(Vec<Child>);

impl Hogs {
    fn start(n: usize) -> Hogs {
        Hogs(
            (0..n)
                .map(|_| {
                    Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .spawn()
                        .unwrap()
                })
                .collect(),
        )
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// What one SDK-style exec of `echo quick` gave.
#[derive(Debug, Default)]
struct ExecRun {
    /// Output that came with the `101` answer (what the Python SDK loses).
    early: Vec<u8>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    exit_code: serde_json::Value,
}

/// `exec_run(["echo", "quick"])` as the Python SDK does it: create, start with an upgrade
/// (the client reads its answer `delay` late), read the frames to the end, inspect.
fn sdk_exec(d: &Daemon, c: &str, delay: Duration) -> ExecRun {
    let r = d
        .raw(
            "POST",
            &format!("/containers/{c}/exec"),
            r#"{"AttachStdout":true,"AttachStderr":true,"Tty":false,"Cmd":["echo","quick"]}"#,
        )
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(body(&r)).unwrap();
    let id = v["Id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string();
    let s = Session::open(
        &d.socket,
        "POST",
        &format!("/exec/{id}/start"),
        r#"{"Detach":false,"Tty":false}"#,
        delay,
    );
    assert_eq!(s.status(), 101, "{}", s.head);
    let early = s.early.clone();
    let (stdout, stderr) = demux(&s.read_to_end());
    let r = d.raw("GET", &format!("/exec/{id}/json"), "").unwrap();
    let v: serde_json::Value = serde_json::from_str(body(&r)).unwrap();
    ExecRun {
        early,
        stdout,
        stderr,
        exit_code: v["ExitCode"].clone(),
    }
}

/// The Python SDK read an exec's output from the socket beneath the buffered reader that
/// took its `101` answer: output that arrived with the answer was lost (`exec_run` gave
/// nothing, exit code 0, in 8 of 80 runs with two busy loops on the host). The daemon now
/// sends nothing until the client has read the answer. 200 execs, four at a time, the
/// clients reading their answers 0 to 20 ms late.
#[test]
fn sdk_exec_output_is_never_lost_under_load() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("stress");
    d.berth(&["run", "-d", "--name", &c, "busybox", "sleep", "1000"])
        .ok();
    let _hogs = Hogs::start(2);
    let failures: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4u64)
            .map(|w| {
                let (d, c) = (&d, &c);
                s.spawn(move || {
                    let mut failures = Vec::new();
                    for i in 0..50u64 {
                        let delay =
                            Duration::from_millis([0, 2, 5, 10, 20][((w + i) % 5) as usize]);
                        let r = sdk_exec(d, c, delay);
                        if !r.early.is_empty()
                            || r.stdout != b"quick\n"
                            || !r.stderr.is_empty()
                            || r.exit_code != 0
                        {
                            failures.push(format!("{delay:?}: {r:?}"));
                        }
                    }
                    failures
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of 200 execs lost output or sent it with the answer:\n{}",
        failures.len(),
        failures.join("\n")
    );
    d.berth(&["rm", "-f", &c]).ok();
}

/// The same for an attach to a running container that writes all the time: nothing comes
/// with the `101` answer however late the client reads it, and the stream then carries
/// the output.
#[test]
fn sdk_attach_sends_nothing_before_the_answer_is_read() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("stress");
    d.berth(&[
        "run",
        "-d",
        "--name",
        &c,
        "busybox",
        "sh",
        "-c",
        "while :; do echo tick; sleep 0.001; done",
    ])
    .ok();
    let _hogs = Hogs::start(2);
    for i in 0..20u64 {
        let mut s = Session::open(
            &d.socket,
            "POST",
            &format!("/containers/{c}/attach?stream=1&stdout=1&stderr=1"),
            "",
            Duration::from_millis(5 + i),
        );
        assert_eq!(s.status(), 101, "{}", s.head);
        assert!(
            s.early.is_empty(),
            "attach {i}: output came with the answer: {:?}",
            String::from_utf8_lossy(&s.early)
        );
        // A stdout frame of whole lines.
        let got = s.read_until(b"tick\n");
        assert!(
            got.len() >= 13 && got[..4] == [1, 0, 0, 0] && got[8..].starts_with(b"tick\n"),
            "{got:?}"
        );
    }
    d.berth(&["rm", "-f", &c]).ok();
}

/// The CLIs read their answers properly; their output must not be lost under load either:
/// `exec`, `run --rm` through berth and the docker CLI.
#[test]
fn cli_exec_and_run_output_under_load() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("stress");
    d.berth(&["run", "-d", "--name", &c, "busybox", "sleep", "1000"])
        .ok();
    let _hogs = Hogs::start(2);
    let mut failures = Vec::new();
    for docker in clis() {
        for i in 0..30 {
            let out = d.cli(docker, &["exec", &c, "echo", "quick"]);
            if out.code() != 0 || out.stdout() != "quick\n" {
                failures.push(format!(
                    "docker={docker} exec {i}: {} {:?} {:?}",
                    out.code(),
                    out.stdout(),
                    out.stderr()
                ));
            }
        }
        for i in 0..15 {
            let out = d.cli(docker, &["run", "--rm", "busybox", "echo", "x"]);
            if out.code() != 0 || out.stdout() != "x\n" {
                failures.push(format!(
                    "docker={docker} run {i}: {} {:?} {:?}",
                    out.code(),
                    out.stdout(),
                    out.stderr()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    d.berth(&["rm", "-f", &c]).ok();
}

/// A client slower than the process's output gets all of it: the output waits (the
/// process blocks on its pipe, as with dockerd) instead of the shim dropping the client
/// once 512 KiB were buffered for it (`docker exec c head -c 30000000 /dev/zero | (sleep 3;
/// wc -c)` gave 536576), and a client that is still behind when the container exits gets
/// the rest (it was given 1 s). Clients stall 0.5 or 2 s before reading.
#[test]
fn slow_clients_get_all_output() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("slow");
    d.berth(&["run", "-d", "--name", &c, "busybox", "sleep", "1000"])
        .ok();
    // No newlines: the log holds few, long entries.
    let writer = |n: usize| format!("head -c {n} /dev/zero | tr '\\0' a");
    for (n, stall_ms) in [(8_000_000, 500), (700_000, 2000)] {
        let stall = Duration::from_millis(stall_ms);
        // exec through the API, as an SDK.
        let r = d
            .raw(
                "POST",
                &format!("/containers/{c}/exec"),
                &serde_json::json!({"AttachStdout": true, "Cmd": ["sh", "-c", writer(n)]})
                    .to_string(),
            )
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(body(&r)).unwrap();
        let id = v["Id"].as_str().unwrap().to_string();
        let s = Session::open(
            &d.socket,
            "POST",
            &format!("/exec/{id}/start"),
            r#"{"Detach":false,"Tty":false}"#,
            Duration::ZERO,
        );
        std::thread::sleep(stall);
        let (out, _) = demux(&s.read_to_end());
        assert_eq!(out.len(), n, "exec, stalled {stall:?}");
        // run and exec through the CLIs, their stdout read late.
        for docker in clis() {
            for args in [
                vec!["run", "--rm", "busybox", "sh", "-c"],
                vec!["exec", c.as_str(), "sh", "-c"],
            ] {
                let mut cmd = d.cli_command(docker);
                let w = writer(n);
                cmd.args(&args)
                    .arg(&w)
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::piped());
                let mut child = cmd.spawn().unwrap();
                std::thread::sleep(stall);
                let mut got = Vec::new();
                std::io::Read::read_to_end(child.stdout.as_mut().unwrap(), &mut got).unwrap();
                assert!(child.wait().unwrap().success());
                assert_eq!(got.len(), n, "docker={docker} {args:?}, stalled {stall:?}");
            }
        }
    }
    d.berth(&["rm", "-f", &c]).ok();
}

/// `commit` right after `run -d` of a container that exits at once: the container may be
/// gone (its cgroup removed) before the daemon recorded the exit. A stopped container is
/// committed without pausing, and one that exits during the freeze is committed all the
/// same (it failed now and then with `writing FROZEN to .../freezer.state: No such file
/// or directory`, or `no freezer cgroup on this host`).
#[test]
fn commit_of_a_container_that_just_exited() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let repo = unique("stress-commit");
    let _hogs = Hogs::start(2);
    let mut failures = Vec::new();
    for i in 0..80 {
        let id = d.berth(&["run", "-d", "busybox", "true"]);
        id.ok();
        let id = id.stdout().trim().to_string();
        let tag = format!("{repo}:{i}");
        let out = d.berth(&["commit", &id, &tag]);
        if out.code() != 0 {
            failures.push(format!("commit {i}: {}", out.stderr()));
        }
        // Not left paused: once its exit is recorded, it is an ordinary exited container.
        assert!(
            eventually(20, || {
                d.berth(&["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", &id])
                    .stdout()
                    .trim()
                    == "exited false"
            }),
            "{}",
            d.berth(&["inspect", &id]).stdout()
        );
        d.berth(&["rm", &id]).ok();
        if out.code() == 0 {
            d.berth(&["rmi", &tag]).ok();
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `rm` without `-f` of a container between restarts is refused, as by Docker (409 and its
/// message); `rm -f` removes it. Through the API, berth and the docker CLI.
#[test]
fn rm_of_a_restarting_container_is_refused() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("restarting");
    let id = d.berth(&[
        "run",
        "-d",
        "--name",
        &c,
        "--restart",
        "always",
        "busybox",
        "false",
    ]);
    id.ok();
    let id = id.stdout().trim().to_string();
    let expected = format!(
        "You cannot remove a restarting container {id}. Stop the container before attempting removal or force remove"
    );
    // Each try waits for `restarting`; a try that lands in the moment the container runs
    // again (refused as running) is tried again.
    let restarting = || {
        eventually(30, || {
            d.berth(&["inspect", "-f", "{{.State.Status}}", &c])
                .stdout()
                .trim()
                == "restarting"
        })
    };
    let mut checked = Vec::new();
    for attempt in 0..20 {
        let via = ["api", "berth", "docker"][checked.len()];
        if via == "docker" && !have_docker_cli() {
            break;
        }
        assert!(restarting(), "never restarting");
        let (code, message) = match via {
            "api" => {
                let r = d.raw("DELETE", &format!("/containers/{c}"), "").unwrap();
                let code: u16 = r.split_whitespace().nth(1).unwrap().parse().unwrap();
                let v: serde_json::Value = serde_json::from_str(body(&r)).unwrap();
                (
                    i32::from(code),
                    v["message"].as_str().unwrap_or_default().to_string(),
                )
            }
            cli => {
                let out = d.cli(cli == "docker", &["rm", &c]);
                (out.code(), out.stderr())
            }
        };
        if message.contains("is running") || message.contains("container is running") {
            assert!(attempt < 19, "never caught it restarting");
            continue;
        }
        match via {
            "api" => assert_eq!((code, message.as_str()), (409, expected.as_str())),
            _ => {
                assert_eq!(code, 1, "{via}: {message}");
                assert_eq!(
                    message.trim(),
                    format!("Error response from daemon: {expected}"),
                    "{via}"
                );
            }
        }
        checked.push(via);
        if checked.len() == 3 {
            break;
        }
    }
    assert!(checked.len() >= 2, "{checked:?}");
    d.berth(&["rm", "-f", &c]).ok();
    assert_ne!(d.berth(&["inspect", &c]).code(), 0);
}
