//! Restart policies (`--restart no|always|unless-stopped|on-failure[:N]`), with `berth` and
//! the docker CLI: restarts with Docker's back-off, RestartCount, manual stops that stick,
//! restarts of containers that died while the daemon was down, and Docker's refusals.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use berth_e2e::{Daemon, unique};

fn inspect(d: &Daemon, c: &str, format: &str) -> String {
    let out = d.berth(&["inspect", "-f", format, c]);
    out.ok();
    out.stdout().trim().to_string()
}

/// Wait (up to 30 s) until `f` holds.
fn eventually(f: impl FnMut() -> bool) -> bool {
    berth_e2e::eventually(30, f)
}

#[test]
fn on_failure_restarts_up_to_its_count() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    for docker in berth_e2e::clis() {
        let run = |args: &[&str]| d.cli(docker, args);
        // Fails every time: started once, restarted twice, then left exited.
        let c = unique("onfail");
        run(&[
            "run",
            "-d",
            "--restart",
            "on-failure:2",
            "--name",
            &c,
            "busybox",
            "sh",
            "-c",
            "echo run; exit 3",
        ])
        .ok();
        assert!(
            eventually(|| inspect(&d, &c, "{{.State.Status}} {{.RestartCount}}") == "exited 2"),
            "docker={docker}: {}",
            inspect(&d, &c, "{{.State.Status}} {{.RestartCount}}")
        );
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(
            inspect(
                &d,
                &c,
                "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}"
            ),
            "exited 2 3"
        );
        assert_eq!(
            d.berth(&["logs", &c]).stdout(),
            "run\nrun\nrun\n",
            "docker={docker}"
        );
        // A clean exit is not a failure.
        let ok = unique("onfail-ok");
        run(&[
            "run",
            "-d",
            "--restart",
            "on-failure",
            "--name",
            &ok,
            "busybox",
            "true",
        ])
        .ok();
        assert!(eventually(
            || inspect(&d, &ok, "{{.State.Status}}") == "exited"
        ));
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(inspect(&d, &ok, "{{.RestartCount}}"), "0");
        run(&["rm", &c, &ok]).ok();
    }
}

#[test]
fn always_restarts_until_stopped_by_hand() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("always");
    d.berth(&[
        "run",
        "-d",
        "--restart",
        "always",
        "--name",
        &c,
        "busybox",
        "sh",
        "-c",
        "echo run; sleep 0.2; exit 0",
    ])
    .ok();
    assert!(
        eventually(|| inspect(&d, &c, "{{.RestartCount}}").parse::<i64>().unwrap() >= 3),
        "{}",
        inspect(&d, &c, "{{.RestartCount}}")
    );
    // stop sticks, whether it finds the container running or waiting to restart.
    d.berth(&["stop", "-t", "1", &c]).ok();
    let count = inspect(&d, &c, "{{.RestartCount}}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        inspect(&d, &c, "{{.State.Status}} {{.State.Restarting}}"),
        "exited false"
    );
    assert_eq!(inspect(&d, &c, "{{.RestartCount}}"), count);
    // A user start counts from zero again and the policy applies again.
    // (The count is 1 for only ~300 ms before the next restart: wait for any restart and
    // check that it counted from zero, i.e. is below the count before the stop, >= 3.)
    d.berth(&["start", &c]).ok();
    let restarts = || inspect(&d, &c, "{{.RestartCount}}").parse::<i64>().unwrap();
    assert!(eventually(|| restarts() >= 1));
    let after = restarts();
    let before: i64 = count.parse().unwrap();
    assert!(
        after < before,
        "restart count {after} after start, {before} before stop"
    );
    d.berth(&["rm", "-f", &c]).ok();
    assert!(d.berth(&["ps", "-aq"]).stdout().is_empty());
}

#[test]
fn containers_that_died_with_the_daemon_down_are_restarted() {
    let Some(mut d) = Daemon::with_busybox() else {
        return;
    };
    let always = unique("down-always");
    let never = unique("down-no");
    for (name, policy) in [(&always, "unless-stopped"), (&never, "no")] {
        d.berth(&[
            "run",
            "-d",
            "--restart",
            policy,
            "--name",
            name,
            "busybox",
            "sleep",
            "1000",
        ])
        .ok();
    }
    let started: Vec<(i32, String)> = [&always, &never]
        .iter()
        .map(|n| {
            let pid = inspect(&d, n, "{{.State.Pid}}").parse().unwrap();
            (pid, inspect(&d, n, "{{.Id}}"))
        })
        .collect();
    d.kill9();
    for (pid, _) in &started {
        // SAFETY: kill(2) of the containers' processes, which this test started.
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    // Each shim records the exit (exit.json in its bundle) before it goes.
    for (_, id) in &started {
        let exit = d.dir.path().join("run").join(id).join("exit.json");
        assert!(
            eventually(|| exit.exists()),
            "{} never written",
            exit.display()
        );
    }
    d.restart();
    assert!(
        eventually(|| inspect(&d, &always, "{{.State.Status}} {{.RestartCount}}") == "running 1"),
        "{}",
        inspect(&d, &always, "{{.State.Status}} {{.RestartCount}}")
    );
    assert_eq!(
        inspect(&d, &never, "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 137"
    );
    d.berth(&["rm", "-f", &always, &never]).ok();
}

#[test]
fn restart_policies_are_checked_like_docker() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    for (args, msg) in [
        (
            &["--restart", "sometimes"][..],
            "invalid restart policy 'sometimes'",
        ),
        (
            &["--restart", "always:3"],
            "maximum retry count cannot be used with restart policy 'always'",
        ),
        (&["--rm", "--restart", "always"], "AutoRemove"),
    ] {
        let mut cmd = vec!["create"];
        cmd.extend_from_slice(args);
        cmd.extend_from_slice(&["busybox", "true"]);
        let out = d.berth(&cmd);
        assert_ne!(out.code(), 0, "{args:?}");
        assert!(out.stderr().contains(msg), "{args:?}: {}", out.stderr());
    }
    let resp = d
        .raw(
            "POST",
            "/containers/create",
            r#"{"Image":"busybox","HostConfig":{"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":-1}}}"#,
        )
        .unwrap();
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    assert!(
        resp.contains("maximum retry count cannot be negative"),
        "{resp}"
    );
    assert!(d.berth(&["ps", "-aq"]).stdout().is_empty());
}
