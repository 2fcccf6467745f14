//! pause/unpause, top and stats, with `berth` and the real docker CLI.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use berth_e2e::{Daemon, have_docker_cli, unique};

#[test]
fn pause_top_stats() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("ops");
    d.berth(&[
        "run",
        "-d",
        "--name",
        &c,
        "--memory",
        "64m",
        "--pids-limit",
        "50",
        "busybox",
        "sh",
        "-c",
        "while :; do echo tick; sleep 0.1; done",
    ])
    .ok();

    // top: the container's processes only, with ps's columns.
    let out = d.berth(&["top", &c]);
    out.ok();
    let text = out.stdout();
    assert!(text.starts_with("UID"), "{text}");
    assert!(text.contains("while :; do echo tick"), "{text}");
    assert!(!text.contains("berthd"), "{text}");

    // pause: no more output while frozen; status says so.
    d.berth(&["pause", &c]).ok();
    assert_eq!(
        d.berth(&["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", &c])
            .stdout()
            .trim(),
        "paused true"
    );
    assert!(d.berth(&["ps"]).stdout().contains("(Paused)"));
    // (A tick written just before the freeze may still be on its way through the shim.)
    std::thread::sleep(Duration::from_millis(300));
    let before = d.berth(&["logs", &c]).stdout().lines().count();
    std::thread::sleep(Duration::from_millis(600));
    let after = d.berth(&["logs", &c]).stdout().lines().count();
    assert_eq!(before, after, "output while paused");
    let again = d.berth(&["pause", &c]);
    assert!(
        again.stderr().contains("already paused"),
        "{}",
        again.stderr()
    );
    d.berth(&["unpause", &c]).ok();
    assert!(
        (0..300).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            d.berth(&["logs", &c]).stdout().lines().count() > after
        }),
        "no output after unpause"
    );

    // stats: Docker's JSON fields, from the container's cgroup.
    let resp = d
        .raw(
            "GET",
            &format!("/containers/{c}/stats?stream=false&one-shot=true"),
            "",
        )
        .unwrap();
    let (_, body) = resp.split_once("\r\n\r\n").unwrap();
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["memory_stats"]["limit"], 64 * 1024 * 1024);
    assert!(v["memory_stats"]["usage"].as_u64().unwrap() > 0);
    assert!(v["pids_stats"]["current"].as_u64().unwrap() >= 1);
    assert_eq!(v["pids_stats"]["limit"], 50);
    assert!(v["cpu_stats"]["cpu_usage"]["total_usage"].as_u64().unwrap() > 0);
    assert!(v["cpu_stats"]["system_cpu_usage"].as_u64().unwrap() > 0);
    let out = d.berth(&["stats", "--no-stream", &c]);
    out.ok();
    assert!(out.stdout().contains("64MiB"), "{}", out.stdout());

    if have_docker_cli() {
        d.docker(&["pause", &c]).ok();
        d.docker(&["unpause", &c]).ok();
        let out = d.docker(&["top", &c]);
        out.ok();
        assert!(out.stdout().contains("sleep"), "{}", out.stdout());
        let out = d.docker(&[
            "stats",
            "--no-stream",
            "--format",
            "{{.MemUsage}} {{.PIDs}}",
            &c,
        ]);
        out.ok();
        assert!(out.stdout().contains("/ 64MiB"), "{}", out.stdout());
    }

    // A paused container can still be removed by force.
    d.berth(&["pause", &c]).ok();
    d.berth(&["rm", "-f", &c]).ok();
}

#[test]
fn update_changes_limits_of_a_running_container() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("upd");
    d.berth(&[
        "run",
        "-d",
        "--name",
        &c,
        "--memory",
        "64m",
        "--pids-limit",
        "50",
        "busybox",
        "sleep",
        "1000",
    ])
    .ok();
    let v2 = !std::path::Path::new("/sys/fs/cgroup/memory").exists();
    // The container sees its own cgroup at the root of /sys/fs/cgroup (cgroup namespace).
    let read = |v1: &str, v2file: &str| {
        let f = if v2 {
            format!("/sys/fs/cgroup/{v2file}")
        } else {
            format!("/sys/fs/cgroup/{v1}")
        };
        let out = d.berth(&["exec", &c, "cat", &f]);
        out.ok();
        out.stdout().trim().to_string()
    };
    assert_eq!(
        read("memory/memory.limit_in_bytes", "memory.max"),
        "67108864"
    );
    d.berth(&[
        "update",
        "--memory",
        "96m",
        "--memory-swap",
        "192m",
        "--cpus",
        "0.5",
        "--pids-limit",
        "20",
        &c,
    ])
    .ok();
    assert_eq!(
        read("memory/memory.limit_in_bytes", "memory.max"),
        "100663296"
    );
    assert_eq!(read("pids/pids.max", "pids.max"), "20");
    // What an update cannot change is refused by name, and nothing of it applies.
    if have_docker_cli() {
        let refused = d.docker(&["update", "--memory", "128m", "--cpu-rt-period", "1000", &c]);
        assert_ne!(refused.code(), 0);
        assert!(
            refused.stderr().contains(
                "UpdateConfig.CpuRealtimePeriod: realtime CPU scheduling (--cpu-rt-period) is not supported yet"
            ),
            "{}",
            refused.stderr()
        );
        assert_eq!(
            read("memory/memory.limit_in_bytes", "memory.max"),
            "100663296"
        );
    }
    if v2 {
        assert_eq!(read("", "cpu.max"), "50000 100000");
    } else {
        assert_eq!(read("cpu/cpu.cfs_quota_us", ""), "50000");
    }
    assert_eq!(
        d.berth(&[
            "inspect",
            "-f",
            "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}",
            &c
        ])
        .stdout()
        .trim(),
        "100663296 500000000"
    );
    d.berth(&["rm", "-f", &c]).ok();
}
