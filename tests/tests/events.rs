//! `GET /events` through `berth events` and `docker events`: what happened to containers
//! and images, replayed with --since/--until, filtered, and followed live.
#![allow(clippy::unwrap_used)]

use std::io::BufRead;

use berth_e2e::{Daemon, unique};

#[test]
fn container_and_image_events_replay_and_filter() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    for docker in berth_e2e::clis() {
        let run = |args: &[&str]| d.cli(docker, args);
        let t0 = berth_e2e::now_unix();
        let c = unique("ev");
        let out = run(&[
            "run",
            "--rm",
            "--name",
            &c,
            "-l",
            "tier=front",
            "busybox",
            "sh",
            "-c",
            "exit 4",
        ]);
        assert_eq!(out.code(), 4, "{}", out.stderr());
        let kept = unique("evkept");
        run(&["run", "-d", "--name", &kept, "busybox", "sleep", "1000"]).ok();
        run(&["exec", &kept, "true"]).ok();
        run(&["pause", &kept]).ok();
        run(&["unpause", &kept]).ok();
        run(&["kill", &kept]).ok();
        run(&["rm", &kept]).ok();
        let tag = format!("{}:v1", unique("evtag"));
        run(&["tag", "busybox", &tag]).ok();
        run(&["rmi", &tag]).ok();
        let t1 = berth_e2e::now_unix();

        let events = |filters: &[&str], format: &str| {
            let mut args = vec!["events", "--since", &t0, "--until", &t1, "--format", format];
            for f in filters {
                args.extend_from_slice(&["--filter", f]);
            }
            let out = run(&args);
            out.ok();
            out.stdout().lines().map(str::to_string).collect::<Vec<_>>()
        };
        let name_filter = format!("container={c}");
        assert_eq!(
            events(&[&name_filter], "{{.Action}}"),
            ["create", "attach", "start", "die", "destroy"],
            "docker={docker}"
        );
        assert_eq!(
            events(
                &[&name_filter, "event=die"],
                "{{.Actor.Attributes.exitCode}} {{.Actor.Attributes.tier}} {{.Actor.Attributes.image}}"
            ),
            ["4 front busybox"],
            "docker={docker}"
        );
        let kept_filter = format!("container={kept}");
        let actions = events(&[&kept_filter], "{{.Action}}");
        assert_eq!(
            actions,
            [
                "create",
                "start",
                "exec_create: true",
                "exec_start: true",
                "pause",
                "unpause",
                "kill",
                "die",
                "destroy"
            ],
            "docker={docker}"
        );
        assert_eq!(
            events(&["type=image"], "{{.Action}} {{.Actor.Attributes.name}}"),
            [format!("tag {tag}"), format!("untag {tag}")],
            "docker={docker}"
        );
        assert_eq!(
            events(&["label=tier=front", "event=destroy"], "{{.Action}}"),
            ["destroy"]
        );
    }
    let resp = d.raw("GET", "/events?since=yesterday", "").unwrap();
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
}

/// A follower sees what happens after it started (and what it asked to replay).
#[test]
fn events_follow_live() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("evlive");
    let t0 = berth_e2e::now_unix();
    // Should an event never come, the daemon ends the stream after a minute (--until) and
    // the test fails instead of hanging.
    let until = (t0.parse::<f64>().unwrap() as u64 + 60).to_string();
    let mut child = std::process::Command::new(berth_e2e::bin_dir().join("berth"))
        .env("BERTH_HOST", d.host())
        .args([
            "events",
            "--since",
            &t0,
            "--until",
            &until,
            "--filter",
            &format!("container={c}"),
            "--format",
            "{{.Action}}",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    d.berth(&["run", "-d", "--name", &c, "busybox", "sleep", "1000"])
        .ok();
    assert_eq!(lines.next().unwrap().unwrap(), "create");
    assert_eq!(lines.next().unwrap().unwrap(), "start");
    d.berth(&["rm", "-f", &c]).ok();
    let rest: Vec<String> = (0..3).map(|_| lines.next().unwrap().unwrap()).collect();
    assert_eq!(rest, ["kill", "die", "destroy"]);
    child.kill().unwrap();
    child.wait().unwrap();
}
