//! Health checks (`--health-cmd` and friends) with `berth` and the docker CLI: the status
//! goes from starting to unhealthy after the retries and back to healthy, `ps` shows it,
//! probes that hang are killed at the timeout, and each change is an event.
#![allow(clippy::unwrap_used)]

use berth_e2e::{Daemon, eventually, unique};

fn health(d: &Daemon, c: &str) -> String {
    let out = d.berth(&[
        "inspect",
        "-f",
        "{{.State.Health.Status}} {{.State.Health.FailingStreak}}",
        c,
    ]);
    out.ok();
    out.stdout().trim().to_string()
}

#[test]
fn health_checks_report_and_recover() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    for docker in berth_e2e::clis() {
        let run = |args: &[&str]| d.cli(docker, args);
        let c = unique("health");
        let t0 = berth_e2e::now_unix();
        run(&[
            "run",
            "-d",
            "--name",
            &c,
            "--health-cmd",
            "test -e /tmp/ok && echo fine",
            "--health-interval",
            "200ms",
            "--health-retries",
            "2",
            "busybox",
            "sleep",
            "1000",
        ])
        .ok();
        assert!(
            eventually(30, || health(&d, &c).starts_with("unhealthy ")),
            "docker={docker}: {}",
            health(&d, &c)
        );
        let ps = run(&["ps", "--filter", &format!("name={c}")]);
        assert!(
            ps.stdout().contains("(unhealthy)"),
            "docker={docker}: {}",
            ps.stdout()
        );
        run(&["exec", &c, "touch", "/tmp/ok"]).ok();
        assert!(
            eventually(30, || health(&d, &c) == "healthy 0"),
            "docker={docker}: {}",
            health(&d, &c)
        );
        let last = d.berth(&["inspect", "-f", "{{json .State.Health.Log}}", &c]);
        last.ok();
        let log: serde_json::Value = serde_json::from_str(last.stdout().trim()).unwrap();
        let newest = log.as_array().unwrap().last().unwrap().clone();
        assert_eq!(newest["ExitCode"], 0, "{newest}");
        assert_eq!(newest["Output"], "fine\n", "{newest}");
        let ps = run(&["ps", "--filter", &format!("name={c}")]);
        assert!(
            ps.stdout().contains("(healthy)"),
            "docker={docker}: {}",
            ps.stdout()
        );
        let t1 = berth_e2e::now_unix();
        let events = run(&[
            "events",
            "--since",
            &t0,
            "--until",
            &t1,
            "--filter",
            &format!("container={c}"),
            "--filter",
            "event=health_status",
            "--format",
            "{{.Action}}",
        ]);
        events.ok();
        assert_eq!(
            events.stdout(),
            "health_status: unhealthy\nhealth_status: healthy\n",
            "docker={docker}"
        );
        run(&["rm", "-f", &c]).ok();
    }
}

#[test]
fn hanging_probes_time_out() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("healthto");
    d.berth(&[
        "run",
        "-d",
        "--name",
        &c,
        "--health-cmd",
        "sleep 30",
        "--health-timeout",
        "300ms",
        "--health-interval",
        "200ms",
        "--health-retries",
        "1",
        "busybox",
        "sleep",
        "1000",
    ])
    .ok();
    assert!(
        eventually(30, || health(&d, &c).starts_with("unhealthy ")),
        "{}",
        health(&d, &c)
    );
    let out = d.berth(&["inspect", "-f", "{{json .State.Health.Log}}", &c]);
    let log: serde_json::Value = serde_json::from_str(out.stdout().trim()).unwrap();
    let first = &log[0];
    assert_eq!(first["ExitCode"], -1, "{first}");
    assert!(
        first["Output"]
            .as_str()
            .unwrap()
            .contains("exceeded timeout"),
        "{first}"
    );
    // The hung probe was killed: no `sleep 30` is left in the container.
    let ps = d.berth(&["exec", &c, "ps", "-o", "args"]);
    assert!(
        eventually(10, || !d
            .berth(&["exec", &c, "ps", "-o", "args"])
            .stdout()
            .contains("sleep 30")),
        "{}",
        ps.stdout()
    );
    // --no-healthcheck: no health state at all.
    let n = unique("nohealth");
    d.berth(&[
        "run",
        "-d",
        "--name",
        &n,
        "--no-healthcheck",
        "busybox",
        "sleep",
        "1000",
    ])
    .ok();
    let out = d.berth(&["inspect", "-f", "{{json .State.Health}}", &n]);
    assert_eq!(out.stdout().trim(), "null");
    d.berth(&["rm", "-f", &c, &n]).ok();
}
