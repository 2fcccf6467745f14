//! Races found under load: output lost by SDK-style clients, commit of a container that
//! has just exited, `rm` of a restarting container. The load is two CPU hogs the test
//! starts and kills; the counts are bounded (a few hundred execs at most).
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command};

use berth_e2e::stdio::body;
use berth_e2e::{Daemon, eventually, have_docker_cli, unique};

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
