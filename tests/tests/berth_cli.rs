//! The walking-skeleton flow with Berth's own CLI against a real berthd.
#![allow(clippy::unwrap_used)]

use berth_e2e::{Daemon, image, skip_unless_root, unique};

#[test]
fn load_run_ps_logs_stop_rm_images_inspect() {
    if skip_unless_root() {
        return;
    }
    let d = Daemon::start();
    let out = d.berth(&["load", "-i", image("busybox.tar").to_str().expect("path")]);
    out.ok();
    assert!(
        out.stdout().contains("Loaded image: busybox:latest"),
        "{}",
        out.stdout()
    );

    let out = d.berth(&["run", "--rm", "busybox", "echo", "hello"]);
    out.ok();
    assert_eq!(out.stdout(), "hello\n");

    d.berth(&["run", "--rm", "busybox", "sh", "-c", "exit 3"])
        .expect_code(3);

    // Stderr stays stderr.
    let out = d.berth(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2",
    ]);
    out.ok();
    assert_eq!(out.stdout(), "out\n");
    assert_eq!(out.stderr(), "err\n");

    let web = unique("web");
    let out = d.berth(&[
        "run",
        "-d",
        "--name",
        &web,
        "busybox",
        "sh",
        "-c",
        "echo started; exec sleep 1000",
    ]);
    out.ok();
    let id = out.stdout().trim().to_string();
    assert_eq!(id.len(), 64, "run -d prints the full id: {id:?}");

    let ps = d.berth(&["ps"]);
    ps.ok();
    assert!(ps.stdout().contains(&web), "{}", ps.stdout());
    assert!(ps.stdout().contains(&id[..12]), "{}", ps.stdout());
    assert!(ps.stdout().contains("Up "), "{}", ps.stdout());

    // The log line may take a moment to be written after start.
    let logs = || d.berth(&["logs", &web]).stdout();
    berth_e2e::eventually(30, || logs().contains("started"));
    assert_eq!(logs(), "started\n");

    d.berth(&["stop", "-t", "1", &web]).ok();
    let inspect = d.berth(&["inspect", &web]);
    inspect.ok();
    let v: serde_json::Value = serde_json::from_str(&inspect.stdout()).expect("inspect json");
    assert_eq!(v[0]["State"]["Status"], "exited");
    assert_eq!(v[0]["State"]["Running"], false);
    // sleep is PID 1 and ignores SIGTERM's default... it is killed by SIGTERM or SIGKILL.
    let code = v[0]["State"]["ExitCode"].as_i64().expect("exit code");
    assert!(code == 143 || code == 137, "exit code {code}");

    // Logs are kept after exit.
    assert_eq!(d.berth(&["logs", &web]).stdout(), "started\n");
    d.berth(&["rm", &web]).ok();
    let ps = d.berth(&["ps", "-a"]);
    assert!(!ps.stdout().contains(&web), "{}", ps.stdout());

    let images = d.berth(&["images"]);
    images.ok();
    assert!(images.stdout().contains("busybox"), "{}", images.stdout());
    assert!(images.stdout().contains("latest"), "{}", images.stdout());

    let inspect = d.berth(&["inspect", "busybox"]);
    inspect.ok();
    let v: serde_json::Value = serde_json::from_str(&inspect.stdout()).expect("inspect json");
    assert_eq!(v[0]["RepoTags"][0], "busybox:latest");
    assert_eq!(v[0]["Config"]["Cmd"][0], "sh");
    assert!(v[0]["Id"].as_str().expect("id").starts_with("sha256:"));
}

#[test]
fn image_config_is_honoured() {
    if skip_unless_root() {
        return;
    }
    let d = Daemon::start();
    d.load("layers-test.docker.tar");
    // ENTRYPOINT + CMD, ENV, WORKDIR and USER of the image (see shared/images/README.md).
    let out = d.berth(&["run", "--rm", "layers-test:1", "x", "y"]);
    out.ok();
    assert_eq!(
        out.stdout(),
        "entry: hello from layers user=1234 cwd=/home/app args=x y\n"
    );
    // The merged layers: whiteouts, opaque dir, hardlink, symlink, modes.
    let out = d.berth(&[
        "run", "--rm", "--entrypoint", "sh", "layers-test:1", "-c",
        "ls /opt; ls /opt/opaque; test -e /opt/gone || echo gone-ok; test -e /bin/hostname || echo hostname-ok; stat -c '%h %a' /opt/hardlink /opt/mode600 /opt/sticky",
    ]);
    out.ok();
    let s = out.stdout();
    assert!(s.contains("gone-ok") && s.contains("hostname-ok"), "{s}");
    assert!(s.contains("2 "), "hardlink count: {s}");
    assert!(s.contains("600") && s.contains("1777"), "{s}");
}

#[test]
fn container_is_isolated() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let out = d.berth(&[
        "run", "--rm", "busybox", "sh", "-c",
        "echo pid=$$; hostname; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; ls /proc/1/exe >/dev/null && echo proc-ok; test -c /dev/null && echo dev-ok; test -d /sys/fs && echo sys-ok",
    ]);
    out.ok();
    let s = out.stdout();
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines[0], "pid=1", "{s}");
    assert_eq!(lines[1].len(), 12, "hostname is the short id: {s}");
    assert_eq!(lines[2], "lo", "only loopback: {s}");
    assert!(
        s.contains("proc-ok") && s.contains("dev-ok") && s.contains("sys-ok"),
        "{s}"
    );
    // A write in one container is not seen by the next: each has its own writable layer.
    d.berth(&["run", "--rm", "busybox", "sh", "-c", "echo x > /marker"])
        .ok();
    d.berth(&["run", "--rm", "busybox", "test", "!", "-e", "/marker"])
        .ok();
}

#[test]
fn containers_survive_daemon_kill() {
    let Some(mut d) = Daemon::with_busybox() else {
        return;
    };
    let a = unique("live");
    d.berth(&[
        "run",
        "-d",
        "--name",
        &a,
        "busybox",
        "sh",
        "-c",
        "echo one; sleep 1000",
    ])
    .ok();
    let b = unique("quick");
    d.berth(&[
        "run",
        "-d",
        "--name",
        &b,
        "busybox",
        "sh",
        "-c",
        "sleep 1; exit 7",
    ])
    .ok();
    d.kill9_and_restart();
    let ps = d.berth(&["ps"]);
    ps.ok();
    assert!(ps.stdout().contains(&a), "{}", ps.stdout());
    // The one that exits while we wait reports its code through wait.
    let out = d.berth(&["wait", &b]);
    out.ok();
    assert_eq!(out.stdout().trim(), "7");
    assert_eq!(d.berth(&["logs", &a]).stdout(), "one\n");
    d.berth(&["stop", "-t", "1", &a]).ok();
    d.berth(&["rm", &a, &b]).ok();
}

#[test]
fn three_containers_outlive_a_daemon_kill() {
    let Some(mut d) = Daemon::with_busybox() else {
        return;
    };
    let names: Vec<String> = (0..3).map(|i| unique(&format!("live{i}"))).collect();
    for n in &names {
        d.berth(&[
            "run",
            "-d",
            "--name",
            n,
            "busybox",
            "sh",
            "-c",
            "trap 'echo bye; exit 0' TERM; i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.2; done",
        ])
        .ok();
    }
    d.kill9_and_restart();
    for n in &names {
        let state = d.berth(&["inspect", "-f", "{{.State.Running}}", n]);
        assert_eq!(state.stdout().trim(), "true", "{n}");
        // Output keeps flowing into the log, and `logs -f` follows it.
        let mut child = std::process::Command::new(berth_e2e::bin_dir().join("berth"))
            .env("BERTH_HOST", d.host())
            .args(["logs", "-f", "--tail", "1", n])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // New lines keep coming through the follow (the tail gives one).
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        for i in 0..3 {
            let mut line = String::new();
            std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
            assert!(
                line.starts_with("tick "),
                "logs -f line {i} for {n}: {line:?}"
            );
        }
        child.kill().unwrap();
        child.wait().unwrap();
        d.berth(&["exec", n, "true"]).ok();
    }
    // Stops cleanly: the TERM handler runs and the exit code comes back.
    for n in &names {
        d.berth(&["stop", n]).ok();
        assert_eq!(
            d.berth(&["inspect", "-f", "{{.State.ExitCode}}", n])
                .stdout()
                .trim(),
            "0"
        );
        assert!(
            d.berth(&["logs", "--tail", "1", n])
                .stdout()
                .contains("bye")
        );
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut args = vec!["rm"];
    args.extend(refs);
    d.berth(&args).ok();
}

/// CPU time (user + system, in clock ticks) of the process whose command line contains
/// `berth-shim` and `needle`, with its pid.
fn shim_cpu_ticks(needle: &str) -> Option<(u32, u64)> {
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd);
        if !cmd.contains("berth-shim") || !cmd.contains(needle) {
            continue;
        }
        let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks = fields[11].parse::<u64>().ok()? + fields[12].parse::<u64>().ok()?;
        return Some((pid, ticks));
    }
    None
}

/// A shim whose daemon died stays idle (it used to spin on the dead connection's POLLHUP).
#[test]
fn shims_stay_idle_while_the_daemon_is_down() {
    let Some(mut d) = Daemon::with_busybox() else {
        return;
    };
    let name = unique("idle");
    let id = d.berth(&["run", "-d", "--name", &name, "busybox", "sleep", "1000"]);
    id.ok();
    let id = id.stdout().trim().to_string();
    d.kill9();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (pid, before) = shim_cpu_ticks(&id).expect("the shim runs on");
    std::thread::sleep(std::time::Duration::from_secs(1));
    let (pid2, after) = shim_cpu_ticks(&id).expect("the shim runs on");
    assert_eq!(pid, pid2);
    // Idle is 0 ticks; the spinning shim took about 100 a second.
    assert!(
        after - before < 30,
        "shim {pid} used {} ticks in 1 s",
        after - before
    );
    d.restart();
    d.berth(&["rm", "-f", &name]).ok();
}

/// Commands on several containers (run in parallel, as the docker CLI does for stop, kill,
/// rm, pause): every name is handled, output comes in argument order, a missing one is
/// reported and makes the exit code 1 without stopping the others.
#[test]
fn several_names_at_once() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let names: Vec<String> = (0..6).map(|i| unique(&format!("many{i}"))).collect();
    for n in &names {
        d.berth(&["run", "-d", "--name", n, "busybox", "sleep", "1000"])
            .ok();
    }
    let missing = unique("missing");
    let mut args: Vec<&str> = names.iter().map(String::as_str).collect();
    args.insert(3, &missing);
    let expect: String = names.iter().map(|n| format!("{n}\n")).collect();
    for verb in [&["pause"][..], &["unpause"], &["kill", "-s", "TERM"]] {
        let cmd: Vec<&str> = verb.iter().chain(&args).copied().collect();
        let out = d.berth(&cmd);
        assert_eq!(out.code(), 1, "{verb:?}: {}", out.stderr());
        assert_eq!(out.stdout(), expect, "{verb:?}");
        assert!(
            out.stderr()
                .contains(&format!("No such container: {missing}")),
            "{verb:?}: {}",
            out.stderr()
        );
    }
    let cmd: Vec<&str> = ["rm", "-f"].iter().chain(&args).copied().collect();
    let out = d.berth(&cmd);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert_eq!(out.stdout(), expect);
    assert_eq!(d.berth(&["ps", "-aq"]).stdout(), "");
}

/// `kill` with SIGKILL (its default) returns once the container is down, as Docker's does:
/// an `inspect` or `rm` straight after it finds the container stopped, its exit code
/// recorded. The container holds 300 MB so that its teardown takes a while after the signal.
#[test]
fn kill_returns_once_the_container_is_down() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let hold = "dd if=/dev/zero bs=300M count=1 2>/dev/null | (head -c 1 >/dev/null; echo ready; sleep 1000)";
    for docker in berth_e2e::clis() {
        let c = unique("killed");
        d.cli(
            docker,
            &["run", "-d", "--name", &c, "busybox", "sh", "-c", hold],
        )
        .ok();
        let ready = || d.berth(&["logs", &c]).stdout() == "ready\n";
        assert!(berth_e2e::eventually(30, ready), "{c} never got ready");
        d.cli(docker, &["kill", &c]).ok();
        let state = d.cli(
            docker,
            &[
                "inspect",
                "-f",
                "{{.State.Running}} {{.State.ExitCode}}",
                &c,
            ],
        );
        assert_eq!(state.stdout().trim(), "false 137", "docker={docker}");
        d.cli(docker, &["rm", &c]).ok();
    }
}

/// A removal cut short by a crash is finished at the next start: a container whose
/// directory was already renamed away (the first step of `rm`) is gone from `ps -a`, and
/// what removals and creates left behind (renamed directories, directories and bundles with
/// no record) is deleted; the other containers are untouched.
#[test]
fn interrupted_removals_are_finished_at_start() {
    let Some(mut d) = Daemon::with_busybox() else {
        return;
    };
    let (cut, kept) = (unique("cut"), unique("kept"));
    for n in [&cut, &kept] {
        d.berth(&["create", "--name", n, "busybox", "true"]).ok();
    }
    let id = |n: &str| {
        d.berth(&["inspect", "-f", "{{.Id}}", n])
            .stdout()
            .trim()
            .to_string()
    };
    let (cut_id, kept_id) = (id(&cut), id(&kept));
    d.kill9();
    let containers = d.dir.path().join("root/containers");
    // `cut`: its rm got as far as the rename, the record is still there.
    std::fs::rename(
        containers.join(&cut_id),
        containers.join(format!("{cut_id}.removed")),
    )
    .unwrap();
    // Leftovers of a create that never recorded its container.
    let stray = "ab".repeat(32);
    std::fs::create_dir_all(containers.join(&stray).join("upper")).unwrap();
    std::fs::create_dir_all(d.dir.path().join("run").join(&stray)).unwrap();
    d.restart();
    let ids = d.berth(&["ps", "-a", "-q", "--no-trunc"]);
    assert_eq!(ids.stdout().trim(), kept_id, "{}", d.log());
    let mut left: Vec<String> = std::fs::read_dir(&containers)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [kept_id]);
    assert!(!d.dir.path().join("run").join(&stray).exists());
    d.berth(&["start", "-a", &kept]).ok();
    d.berth(&["rm", &kept]).ok();
    // Its files go in the background once the removal is answered.
    assert!(berth_e2e::eventually(10, || std::fs::read_dir(&containers)
        .unwrap()
        .count()
        == 0));
}

/// `logs --since/--until` take what the docker CLI takes: relative durations, RFC 3339
/// times and Unix seconds.
#[test]
fn logs_since_and_until() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("logwin");
    d.berth(&["run", "--name", &c, "busybox", "echo", "line"])
        .ok();
    for docker in berth_e2e::clis() {
        let logs = |extra: &[&str]| {
            let mut args = vec!["logs"];
            args.extend_from_slice(extra);
            args.push(&c);
            let out = d.cli(docker, &args);
            out.ok();
            out.stdout()
        };
        assert_eq!(logs(&["--since", "10m"]), "line\n", "docker={docker}");
        assert_eq!(logs(&["--until", "10m"]), "", "docker={docker}");
        assert_eq!(logs(&["--since", "2000-01-01T00:00:00Z"]), "line\n");
        assert_eq!(
            logs(&["--until", "2000-01-01T00:00:00Z"]),
            "",
            "docker={docker}"
        );
        let later = (berth_e2e::now_unix().parse::<f64>().unwrap() as u64 + 3600).to_string();
        assert_eq!(logs(&["--since", &later]), "", "docker={docker}");
    }
    d.berth(&["rm", &c]).ok();
}

#[test]
fn run_interactive_with_piped_stdin() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    // The input ends before the container does: berth must keep printing its output and
    // take its exit code (it panicked when stdin reached its end first).
    let out = d.berth_stdin(
        &[
            "run",
            "--rm",
            "-i",
            "busybox",
            "sh",
            "-c",
            "cat; sleep 0.2; echo done; exit 3",
        ],
        Some(b"hello\n"),
    );
    out.expect_code(3);
    assert_eq!(out.stdout(), "hello\ndone\n");
}
