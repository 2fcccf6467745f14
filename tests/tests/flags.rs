//! The run and exec flags audited against dockerd with the docker CLI: `--env-file`,
//! `--entrypoint` (and its reset), `--stop-signal`, `--stop-timeout`, `--workdir`,
//! `exec -u/-w/-e/-t/--privileged`, `attach` to a running container, supplementary groups,
//! and the 126/127 exit codes with Docker's messages.
#![allow(clippy::unwrap_used)]

use berth_e2e::{Daemon, Run, have_docker_cli, unique};

/// Run the same command through berth and, when present, the docker CLI.
fn both(d: &Daemon, args: &[&str], check: impl Fn(&Run, &str)) {
    check(&d.berth(args), "berth");
    if have_docker_cli() {
        check(&d.docker(args), "docker");
    }
}

#[test]
fn run_flags_behave_like_docker() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("env");
    std::fs::write(&env_file, "A=1\n# a comment\nB=two words\n\nPATH\n").unwrap();
    let env_file = env_file.to_str().unwrap();
    both(
        &d,
        &[
            "run",
            "--rm",
            "--env-file",
            env_file,
            "-e",
            "A=override",
            "busybox",
            "sh",
            "-c",
            "echo \"$A|$B|$PATH\"",
        ],
        |out, cli| {
            out.ok();
            // A bare name takes the client's value.
            let path = std::env::var("PATH").unwrap();
            assert_eq!(
                out.stdout(),
                format!("override|two words|{path}\n"),
                "{cli}"
            );
        },
    );
    both(
        &d,
        &[
            "run",
            "--rm",
            "--entrypoint",
            "echo",
            "busybox",
            "hi",
            "there",
        ],
        |out, cli| {
            out.ok();
            assert_eq!(out.stdout(), "hi there\n", "{cli}");
        },
    );
    // `--entrypoint ""` resets the entrypoint: the command runs as given.
    both(
        &d,
        &[
            "run",
            "--rm",
            "--entrypoint",
            "",
            "busybox",
            "echo",
            "reset",
        ],
        |out, cli| {
            out.ok();
            assert_eq!(out.stdout(), "reset\n", "{cli}");
        },
    );
    // The working directory is created when missing.
    both(
        &d,
        &["run", "--rm", "--workdir", "/new/dir", "busybox", "pwd"],
        |out, cli| {
            out.ok();
            assert_eq!(out.stdout(), "/new/dir\n", "{cli}");
        },
    );
    // The primary group is a supplementary group too, as with Docker.
    both(
        &d,
        &["run", "--rm", "-u", "1234:5678", "busybox", "id"],
        |out, cli| {
            out.ok();
            assert_eq!(out.stdout(), "uid=1234 gid=5678 groups=5678\n", "{cli}");
        },
    );
    // 127 and 126 with Docker's message, and (with --rm) no wait error on top.
    both(&d, &["run", "--rm", "busybox", "nosuch"], |out, cli| {
        assert_eq!(out.code(), 127, "{cli}");
        assert!(
            out.stderr()
                .contains("exec: \"nosuch\": executable file not found in $PATH"),
            "{cli}: {}",
            out.stderr()
        );
        assert!(
            !out.stderr().contains("rror waiting"),
            "{cli}: {}",
            out.stderr()
        );
    });
    both(&d, &["run", "--rm", "busybox", "/etc"], |out, cli| {
        assert_eq!(out.code(), 126, "{cli}");
        assert!(out.stderr().contains("permission denied"), "{cli}");
    });
}

#[test]
fn stop_signal_and_stop_timeout() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    for docker in berth_e2e::clis() {
        let run = |args: &[&str]| d.cli(docker, args);
        // The container's stop signal is what `stop` sends.
        let c = unique("stopsig");
        run(&[
            "run",
            "-d",
            "--name",
            &c,
            "--stop-signal",
            "USR1",
            "--stop-timeout",
            "30",
            "busybox",
            "sh",
            "-c",
            "trap 'echo got-usr1; exit 9' USR1; echo ready; while true; do sleep 0.1; done",
        ])
        .ok();
        // A signal without a handler is dropped by PID 1: stop once the trap is set.
        let ready = || run(&["logs", &c]).stdout() == "ready\n";
        assert!(berth_e2e::eventually(30, ready), "{c} never got ready");
        let out = run(&[
            "inspect",
            "--format",
            "{{.Config.StopSignal}} {{.Config.StopTimeout}}",
            &c,
        ]);
        assert_eq!(out.stdout().trim(), "USR1 30");
        run(&["stop", &c]).ok();
        let out = run(&["inspect", "--format", "{{.State.ExitCode}}", &c]);
        assert_eq!(out.stdout().trim(), "9");
        assert_eq!(run(&["logs", &c]).stdout(), "ready\ngot-usr1\n");
        run(&["rm", &c]).ok();

        // A process that ignores the signal is killed once the container's timeout passed.
        let c = unique("stoptimeout");
        run(&[
            "run",
            "-d",
            "--name",
            &c,
            "--stop-timeout",
            "1",
            "busybox",
            "sh",
            "-c",
            "trap '' TERM; echo up; while true; do sleep 0.1; done",
        ])
        .ok();
        let up = || run(&["logs", &c]).stdout() == "up\n";
        assert!(berth_e2e::eventually(30, up), "{c} never came up");
        run(&["stop", &c]).ok();
        let out = run(&["inspect", "--format", "{{.State.ExitCode}}", &c]);
        assert_eq!(out.stdout().trim(), "137");
        run(&["rm", &c]).ok();
    }
}

#[test]
fn exec_flags_and_attach_to_a_running_container() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("execflags");
    d.berth(&["run", "-d", "--name", &c, "busybox", "sleep", "1000"])
        .ok();
    both(
        &d,
        &[
            "exec",
            "--privileged",
            &c,
            "grep",
            "CapEff",
            "/proc/self/status",
        ],
        |out, cli| {
            out.ok();
            assert!(
                !out.stdout().contains("00000000a80425fb"),
                "{cli}: {}",
                out.stdout()
            );
        },
    );
    both(
        &d,
        &["exec", &c, "grep", "CapEff", "/proc/self/status"],
        |out, cli| {
            out.ok();
            assert!(
                out.stdout().contains("00000000a80425fb"),
                "{cli}: {}",
                out.stdout()
            );
        },
    );
    both(
        &d,
        &[
            "exec",
            "-u",
            "1234:5678",
            "-e",
            "HOME=/x",
            "-w",
            "/tmp",
            &c,
            "sh",
            "-c",
            "id; echo $HOME; pwd",
        ],
        |out, cli| {
            out.ok();
            assert_eq!(
                out.stdout(),
                "uid=1234 gid=5678 groups=5678\n/x\n/tmp\n",
                "{cli}"
            );
        },
    );
    // A missing working directory: Docker's message (down the exec stream, so on stdout
    // as with dockerd) and 126.
    both(
        &d,
        &["exec", "-w", "/nonexistent", &c, "pwd"],
        |out, cli| {
            assert_eq!(out.code(), 126, "{cli}");
            let text = out.stdout() + &out.stderr();
            assert!(
                text.contains("chdir to cwd (\"/nonexistent\") set in config.json failed"),
                "{cli}: {text}"
            );
        },
    );
    // With -t the pty is the container's own: the process sees itself on /dev/pts/N.
    both(&d, &["exec", "-t", &c, "tty"], |out, cli| {
        out.ok();
        assert!(
            out.stdout().starts_with("/dev/pts/"),
            "{cli}: {}",
            out.stdout()
        );
    });
    // As Docker's exec: 126 whatever kept the process from starting (run says 127).
    both(&d, &["exec", &c, "nosuch"], |out, cli| {
        assert_eq!(out.code(), 126, "{cli}");
    });
    d.berth(&["rm", "-f", &c]).ok();

    // attach to a container that is already running: its later output and exit code.
    for docker in berth_e2e::clis() {
        let c = unique("attach");
        let run = |args: &[&str]| d.cli(docker, args);
        // The container says "tick" until /go exists: the first tick read through the
        // attach proves the attach is connected, so the release cannot come too early.
        run(&[
            "run",
            "-d",
            "--name",
            &c,
            "busybox",
            "sh",
            "-c",
            "while [ ! -e /go ]; do echo tick; sleep 0.05; done; echo late; exit 3",
        ])
        .ok();
        let mut cmd = d.cli_command(docker);
        let mut child = cmd
            .args(["attach", "--no-stdin", &c])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        assert_eq!(line, "tick\n", "docker={docker}");
        // Detached: the container ends as soon as it sees /go, and its end kills whatever
        // still runs in it, possibly `touch` itself before it is reaped.
        run(&["exec", "-d", &c, "touch", "/go"]).ok();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(3), "docker={docker}");
        assert!(
            rest.ends_with("late\n")
                && rest.trim_end_matches("late\n").lines().all(|l| l == "tick"),
            "docker={docker}: {rest:?}"
        );
        run(&["rm", &c]).ok();
    }
}

/// `run` and `attach` without a TTY proxy the signals the client gets (Ctrl-C, `kill`) to
/// the container's process (`--sig-proxy`, on by default), with `berth` as with the docker
/// CLI; `--sig-proxy=false` leaves the container alone.
#[test]
fn signals_reach_the_container_through_the_client() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let script = "trap 'echo got-int; exit 5' INT; echo ready; while :; do sleep 0.1; done";
    for docker in berth_e2e::clis() {
        // The docker CLI 28 itself waits for a third Ctrl-C before it gives up: the
        // no-proxy case is checked with `berth` only.
        let proxies: &[bool] = if docker { &[true] } else { &[true, false] };
        for &proxy in proxies {
            let c = unique("sigproxy");
            let mut cmd = d.cli_command(docker);
            let flag = format!("--sig-proxy={proxy}");
            let mut child = cmd
                .args(["run", &flag, "--name", &c, "busybox", "sh", "-c", script])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
            let mut line = String::new();
            std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
            assert_eq!(line, "ready\n", "docker={docker}");
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
            let status = child.wait().unwrap();
            let mut rest = String::new();
            std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
            if proxy {
                assert_eq!(status.code(), Some(5), "docker={docker}: {rest}");
                assert_eq!(rest, "got-int\n", "docker={docker}");
            } else {
                // The client died of the signal; the container did not get it.
                assert_eq!(status.code(), None, "docker={docker}: {rest}");
                let out = d.berth(&["inspect", "-f", "{{.State.Running}}", &c]);
                assert_eq!(out.stdout().trim(), "true", "docker={docker}");
            }
            d.berth(&["rm", "-f", &c]).ok();
        }
    }
}

/// `--add-host` and `--dns`/`--dns-search`/`--dns-option` reach the container's
/// `/etc/hosts` and `/etc/resolv.conf`; bad values get Docker's messages.
#[test]
fn add_host_and_dns_like_docker() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    for docker in berth_e2e::clis() {
        let out = d.cli(
            docker,
            &[
                "run",
                "--rm",
                "--add-host",
                "foo:1.2.3.4",
                "--add-host",
                "bar:::1",
                "--dns",
                "9.9.9.9",
                "--dns-search",
                "example.com",
                "--dns-option",
                "ndots:2",
                "busybox",
                "sh",
                "-c",
                "grep -E 'foo|bar' /etc/hosts; cat /etc/resolv.conf",
            ],
        );
        out.ok();
        assert_eq!(
            out.stdout(),
            "1.2.3.4\tfoo\n::1\tbar\nsearch example.com\nnameserver 9.9.9.9\noptions ndots:2\n",
            "docker={docker}"
        );
    }
    for (args, message) in [
        (
            &["--add-host", "foo"][..],
            "bad format for add-host: \"foo\"",
        ),
        (
            &["--add-host", "foo:notip"],
            "invalid IP address in add-host: \"notip\"",
        ),
        (
            &["--dns", "bad"],
            "IP address is not correctly formatted: bad",
        ),
    ] {
        let mut all = vec!["run", "--rm"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["busybox", "true"]);
        let out = d.berth(&all);
        assert_eq!(out.code(), 125, "{args:?}");
        assert!(out.stderr().contains(message), "{}", out.stderr());
    }
    assert_eq!(d.berth(&["ps", "-aq"]).stdout(), "");
}
