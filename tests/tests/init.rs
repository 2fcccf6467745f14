//! `--init` as Docker does it: the host's static init binary (tini: `docker-init`, else
//! Debian's `tini-static`, or `berthd --init-path`) bind-mounted read-only at
//! `/sbin/docker-init` and run as PID 1 with the workload as its child; with berth and the
//! docker CLI, Berth's runtime and runc. Needs tini on the host (scripts/test.sh installs
//! it).
#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};

use berth_e2e::{Daemon, bin_dir, clis, eventually, have_docker_cli, skip_unless_root, unique};

/// The fields of the `ps` line of PID 1.
fn pid1(ps: &str) -> Vec<String> {
    ps.lines()
        .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        .find(|f| f.first().map(String::as_str) == Some("1"))
        .unwrap_or_else(|| panic!("no PID 1 in {ps:?}"))
}

#[test]
fn init_is_docker_init_as_pid_1_with_no_host_path() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    for docker in clis() {
        let run = |args: &[&str]| d.cli(docker, args);
        let out = run(&["run", "--rm", "--init", "busybox", "ps"]);
        out.ok();
        assert_eq!(
            pid1(&out.stdout()),
            ["1", "root", "/sbin/docker-init", "--", "ps"],
            "{}",
            out.stdout()
        );
        // Nothing of the host in what the container sees of its PID 1.
        let out = run(&["run", "--rm", "--init", "busybox", "cat", "/proc/1/cmdline"]);
        assert_eq!(
            out.ok().stdout(),
            "/sbin/docker-init\0--\0cat\0/proc/1/cmdline\0"
        );
        let out = run(&[
            "run",
            "--rm",
            "--init",
            "busybox",
            "readlink",
            "/proc/1/exe",
        ]);
        assert_eq!(out.ok().stdout(), "/sbin/docker-init\n");
        // A read-only bind, as Docker's; the workload is PID 1's child (`$PPID`).
        let out = run(&[
            "run",
            "--rm",
            "--init",
            "busybox",
            "sh",
            "-c",
            "grep ' /sbin/docker-init ' /proc/self/mountinfo; cat /proc/$PPID/cmdline",
        ]);
        let text = out.ok().stdout();
        let mount: Vec<&str> = text.lines().next().unwrap().split(' ').collect();
        assert_eq!(mount[4], "/sbin/docker-init", "{text}");
        assert!(mount[5].split(',').any(|o| o == "ro"), "{text}");
        assert!(
            text.contains("\n/sbin/docker-init\0--\0sh\0-c\0"),
            "{text:?}"
        );

        // Recorded as asked; Path and Args stay the workload's, as in Docker.
        let name = unique("init-inspect");
        run(&["create", "--init", "--name", &name, "busybox", "sleep", "5"]).ok();
        let out = run(&[
            "inspect",
            "--format",
            "{{.HostConfig.Init}} {{.Path}} {{.Args}}",
            &name,
        ]);
        assert_eq!(out.ok().stdout().trim(), "true sleep [5]");
        run(&["rm", &name]).ok();
    }
}

#[test]
fn init_forwards_signals_and_reaps_orphans() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    for docker in clis() {
        let run = |args: &[&str]| d.cli(docker, args);
        // An orphan is reparented to PID 1, which reaps it when it ends.
        let name = unique("init-reap");
        let script = "sh -c 'sleep 0.2 &'; exec sleep 1000";
        run(&[
            "run", "-d", "--init", "--name", &name, "busybox", "sh", "-c", script,
        ])
        .ok();
        assert!(
            eventually(20, || {
                let out = run(&["exec", &name, "ps", "-o", "stat,args"]);
                let text = out.stdout();
                out.code() == 0
                    && !text
                        .lines()
                        .any(|l| l.ends_with(" sleep 0.2") || l.starts_with('Z'))
            }),
            "the orphan is reaped"
        );
        // stop's SIGTERM reaches `sleep` through the init: it ends of it (143), long
        // before stop's timeout would have killed it (137).
        run(&["stop", "-t", "60", &name]).ok();
        let out = run(&["inspect", "--format", "{{.State.ExitCode}}", &name]);
        assert_eq!(out.ok().stdout().trim(), "143");
        // The workload's exit code is the container's; a command that cannot run is
        // tini's 127, as under Docker.
        let out = run(&["run", "--rm", "--init", "busybox", "sh", "-c", "exit 7"]);
        assert_eq!(out.code(), 7, "{}", out.stderr());
        let out = run(&["run", "--rm", "--init", "busybox", "no-such-command"]);
        assert_eq!(out.code(), 127, "{}", out.stderr());
        assert!(
            out.stderr().contains("exec no-such-command failed"),
            "{}",
            out.stderr()
        );
        run(&["rm", &name]).ok();
    }
}

/// The same init with another OCI runtime: it is only a bind mount and an argv prefix in
/// config.json.
#[test]
fn init_with_runc() {
    if skip_unless_root() {
        return;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    if !std::env::split_paths(&path).any(|d| d.join("runc").is_file()) {
        eprintln!("skipping: runc is not installed (apt-get install runc)");
        return;
    }
    let d = Daemon::start();
    d.load("busybox.tar");
    for docker in clis() {
        let run = |args: &[&str]| d.cli(docker, args);
        let out = run(&[
            "run",
            "--rm",
            "--runtime",
            "runc",
            "--init",
            "busybox",
            "ps",
        ]);
        out.ok();
        assert_eq!(
            pid1(&out.stdout()),
            ["1", "root", "/sbin/docker-init", "--", "ps"]
        );
        let name = unique("init-runc");
        run(&[
            "run",
            "-d",
            "--runtime",
            "runc",
            "--init",
            "--name",
            &name,
            "busybox",
            "sleep",
            "1000",
        ])
        .ok();
        run(&["stop", "-t", "60", &name]).ok();
        let out = run(&["inspect", "--format", "{{.State.ExitCode}}", &name]);
        assert_eq!(out.ok().stdout().trim(), "143");
        run(&["rm", &name]).ok();
    }
}

/// `GET /vVERSION/info` as JSON.
fn info(d: &Daemon, version: &str) -> serde_json::Value {
    let resp = d.raw("GET", &format!("/v{version}/info"), "").unwrap();
    let (_, body) = resp.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {resp}"))
}

/// Where dockerd looks for `docker-init` besides PATH.
const LIBEXEC: [&str; 6] = [
    "/usr/local/libexec/docker",
    "/usr/libexec/docker",
    "/usr/local/lib/docker",
    "/usr/lib/docker",
    "/usr/local/libexec",
    "/usr/libexec",
];

/// With no init binary to be found, `--init` fails at start with dockerd's message (and
/// `--rm` removes the container); other containers run. `/info` says what dockerd says.
#[test]
fn without_an_init_binary_init_fails_as_in_docker() {
    if skip_unless_root() {
        return;
    }
    if LIBEXEC.iter().any(|d| {
        ["docker-init", "tini-static"]
            .iter()
            .any(|b| std::path::Path::new(d).join(b).exists())
    }) {
        eprintln!("skipping: an init binary is in a libexec dir, where berthd always finds it");
        return;
    }
    let empty = tempfile::tempdir().unwrap();
    let d = Daemon::start_with_env(&[], &[("PATH", empty.path().to_str().unwrap())]);
    d.load("busybox.tar");
    let info = info(&d, "1.50");
    assert_eq!(info["InitBinary"], "docker-init");
    assert_eq!(info["InitCommit"], serde_json::json!({ "ID": "" }));
    for docker in clis() {
        let run = |args: &[&str]| d.cli(docker, args);
        let out = run(&["run", "--rm", "--init", "busybox", "true"]);
        assert_ne!(out.code(), 0);
        assert!(
            out.stderr()
                .contains(r#"exec: "docker-init": executable file not found in $PATH"#),
            "{}",
            out.stderr()
        );
        assert_eq!(run(&["ps", "-aq"]).ok().stdout(), "", "--rm removed it");
        run(&["run", "--rm", "busybox", "true"]).ok();
    }
    let name = unique("init-none");
    d.berth(&["create", "--init", "--name", &name, "busybox", "true"])
        .ok();
    let resp = d
        .raw("POST", &format!("/containers/{name}/start"), "")
        .unwrap();
    assert!(resp.starts_with("HTTP/1.1 500"), "{resp}");
    assert!(
        resp.contains(r#"{"message":"exec: \"docker-init\": executable file not found in $PATH"}"#),
        "{resp}"
    );
    d.berth(&["rm", &name]).ok();
}

/// `berthd --init-path`: a path or a name found as dockerd finds `docker-init`, shown as
/// `InitBinary`; what is missing or not statically linked stops berthd with a clear
/// message. `InitCommit` carries `Expected` below API 1.49, as dockerd's.
#[test]
fn init_path_is_dockerds_flag() {
    if skip_unless_root() {
        return;
    }
    let refused = |flag: &str| {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(bin_dir().join("berthd"))
            .arg("--data-root")
            .arg(dir.path().join("root"))
            .arg("--exec-root")
            .arg(dir.path().join("run"))
            .arg("-H")
            .arg(format!("unix://{}/s.sock", dir.path().display()))
            .args(["--init-path", flag])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "berthd started with --init-path {flag}"
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = refused("berth-no-such-init");
    assert!(
        err.contains(r#"exec: "berth-no-such-init": executable file not found in $PATH"#),
        "{err}"
    );
    // berth itself: a dynamically linked executable.
    let err = refused(bin_dir().join("berth").to_str().unwrap());
    assert!(err.contains("is dynamically linked"), "{err}");

    let Some(tini) = ["/usr/bin/tini-static", "/usr/bin/docker-init"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
    else {
        eprintln!("skipping the rest: no static tini (apt-get install tini)");
        return;
    };
    let d = Daemon::start_with(&["--init-path", tini]);
    d.load("busybox.tar");
    let info = info(&d, "1.50");
    assert_eq!(info["InitBinary"], tini);
    let commit = info["InitCommit"].as_object().unwrap();
    assert_eq!(commit.keys().collect::<Vec<_>>(), ["ID"]);
    let info = self::info(&d, "1.41");
    assert_eq!(info["InitCommit"]["Expected"], info["InitCommit"]["ID"]);
    let out = d.berth(&[
        "run",
        "--rm",
        "--init",
        "busybox",
        "readlink",
        "/proc/1/exe",
    ]);
    assert_eq!(out.ok().stdout(), "/sbin/docker-init\n");
    if have_docker_cli() {
        let out = d.docker(&["info", "--format", "{{.InitBinary}}"]);
        assert_eq!(out.ok().stdout().trim(), tini);
    }
}

#[test]
fn init_with_another_pid_namespace_is_refused() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    for docker in berth_e2e::clis() {
        let out = d.cli(docker, &["create", "--init", "--pid", "host", "busybox"]);
        assert_ne!(out.code(), 0);
        assert!(
            out.stderr()
                .contains("--init needs a pid namespace of the container's own"),
            "{}",
            out.stderr()
        );
    }
    assert_eq!(d.berth(&["ps", "-aq"]).stdout(), "");
}
