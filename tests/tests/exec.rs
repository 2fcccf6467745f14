//! `exec` with `berth` and the real docker CLI: output, exit codes, stdin, namespaces;
//! exec and attach streams as the Docker SDKs drive them (raw HTTP), compared with what
//! dockerd 20.10 sends.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use berth_e2e::stdio::{Session, body, demux};
use berth_e2e::{Daemon, clis, have_docker_cli, skip_unless_root, unique};

#[test]
fn exec_runs_in_the_container() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("exec");
    d.berth(&["run", "-d", "--name", &c, "busybox", "sleep", "1000"])
        .ok();

    // Same hostname and pid namespace as the container: its PID 1 is the workload.
    let out = d.berth(&[
        "exec",
        &c,
        "sh",
        "-c",
        "hostname; cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    out.ok();
    let id = d.berth(&["inspect", "-f", "{{.Id}}", &c]).stdout();
    assert_eq!(out.stdout(), format!("{}\nsleep 1000 ", &id.trim()[..12]));

    d.berth(&["exec", &c, "sh", "-c", "exit 5"]).expect_code(5);
    d.berth(&["exec", &c, "nosuch"]).expect_code(126);
    let out = d.berth(&[
        "exec",
        "-e",
        "X=1",
        "-w",
        "/tmp",
        "-u",
        "nobody",
        &c,
        "sh",
        "-c",
        "echo $X $(pwd) $(id -u)",
    ]);
    out.ok();
    assert_eq!(out.stdout(), "1 /tmp 65534\n");
    d.berth(&["exec", "-d", &c, "touch", "/detached"]).ok();
    // Detached exec may still be running: poll for its effect.
    let mut seen = false;
    for _ in 0..50 {
        if d.berth(&["exec", &c, "test", "-e", "/detached"]).code() == 0 {
            seen = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(seen, "detached exec did not run");

    if have_docker_cli() {
        let out = d.docker(&["exec", &c, "sh", "-c", "echo via docker; exit 3"]);
        assert_eq!(out.code(), 3);
        assert_eq!(out.stdout(), "via docker\n");
        let mut cmd = std::process::Command::new(berth_e2e::DOCKER);
        cmd.env("DOCKER_HOST", d.host())
            .args(["exec", "-i", &c, "tr", "a-z", "A-Z"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"shout\n").unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "SHOUT\n");
    }

    // Not running: exec is refused with Docker's 409 message.
    d.berth(&["kill", &c]).ok();
    d.berth(&["wait", &c]).ok();
    let out = d.berth(&["exec", &c, "true"]);
    assert_ne!(out.code(), 0);
    assert!(out.stderr().contains("is not running"), "{}", out.stderr());
    d.berth(&["rm", &c]).ok();
}

/// Descriptors the daemon inherited (here fd 201, open without close-on-exec as a shell
/// would leave it) never reach containers: their init and exec'd processes see 0, 1, 2
/// only (as with runc, which marks everything above 2 close-on-exec before its exec).
#[test]
fn inherited_descriptors_stay_out_of_containers() {
    if skip_unless_root() {
        return;
    }
    let null = std::fs::File::open("/dev/null").unwrap();
    // SAFETY: dup2 onto an unused number; the copy is deliberately not close-on-exec and
    // stays open for the rest of this test process (other tests' daemons inherit it too).
    assert_eq!(
        unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), 201) },
        201
    );
    let d = Daemon::start();
    d.load("busybox.tar");
    let c = unique("fds");
    d.berth(&["run", "-d", "--name", &c, "busybox", "sleep", "1000"])
        .ok();
    let fds = |args: &[&str]| {
        let out = d.berth(args);
        out.ok();
        out.stdout()
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(fds(&["exec", &c, "ls", "/proc/1/fd"]), ["0", "1", "2"]);
    // `ls` itself holds one more: the directory it lists.
    assert_eq!(
        fds(&["exec", &c, "ls", "/proc/self/fd"]),
        ["0", "1", "2", "3"]
    );
    assert_eq!(
        fds(&["run", "--rm", "-t", "busybox", "ls", "/proc/self/fd"]),
        ["0", "1", "2", "3"]
    );
    d.berth(&["rm", "-f", &c]).ok();
}

/// `POST /containers/{id}/exec` with `body`: the exec's id.
fn exec_create(d: &Daemon, c: &str, body_json: &str) -> String {
    let r = d
        .raw("POST", &format!("/containers/{c}/exec"), body_json)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(body(&r)).unwrap();
    v["Id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string()
}

/// `GET /exec/{id}/json`.
fn exec_inspect(d: &Daemon, id: &str) -> serde_json::Value {
    let r = d.raw("GET", &format!("/exec/{id}/json"), "").unwrap();
    serde_json::from_str(body(&r)).unwrap()
}

/// As dockerd: the exec's create `Tty` decides whether the process gets a pty, its start
/// `Tty` whether the stream is raw or framed (and its content type from API 1.42). A raw
/// stream without a pty carries stdout only (dockerd has no stderr writer then); a framed
/// one with a pty carries the pty's output as stdout frames. The SDKs' `exec_run` sends
/// false twice, `exec_start(tty=...)` may disagree with the create.
#[test]
fn exec_stream_follows_the_start_tty() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("execfr");
    d.berth(&["run", "-d", "--name", &c, "busybox", "sleep", "1000"])
        .ok();
    for (create_tty, start_tty) in [(true, false), (false, true), (true, true), (false, false)] {
        for version in ["v1.41", "v1.44"] {
            let id = exec_create(
                &d,
                &c,
                &format!(
                    r#"{{"AttachStdout":true,"AttachStderr":true,"Tty":{create_tty},"Cmd":["sh","-c","tty; echo err >&2"]}}"#
                ),
            );
            let s = Session::open(
                &d.socket,
                "POST",
                &format!("/{version}/exec/{id}/start"),
                &format!(r#"{{"Detach":false,"Tty":{start_tty}}}"#),
                Duration::ZERO,
            );
            let what = format!("create Tty {create_tty}, start Tty {start_tty}, {version}");
            assert_eq!(s.status(), 101, "{what}: {}", s.head);
            let multiplexed = !start_tty && version == "v1.44";
            assert_eq!(
                s.header("content-type").as_deref(),
                Some(if multiplexed {
                    "application/vnd.docker.multiplexed-stream"
                } else {
                    "application/vnd.docker.raw-stream"
                }),
                "{what}"
            );
            let all = s.read_to_end();
            let (out, err) = if start_tty {
                (all, Vec::new())
            } else {
                demux(&all)
            };
            let (out, err) = (
                String::from_utf8(out).unwrap(),
                String::from_utf8(err).unwrap(),
            );
            match (create_tty, start_tty) {
                (true, _) => {
                    assert!(out.starts_with("/dev/pts/"), "{what}: {out:?}");
                    assert!(out.ends_with("\r\nerr\r\n"), "{what}: {out:?}");
                    assert_eq!(err, "", "{what}");
                }
                (false, true) => {
                    assert_eq!((out.as_str(), err.as_str()), ("not a tty\n", ""), "{what}")
                }
                (false, false) => {
                    assert_eq!(
                        (out.as_str(), err.as_str()),
                        ("not a tty\n", "err\n"),
                        "{what}"
                    )
                }
            }
            assert_eq!(exec_inspect(&d, &id)["ExitCode"], 0, "{what}");
        }
    }
    d.berth(&["rm", "-f", &c]).ok();
}

/// An exec whose process cannot start exits 126, whatever the reason, as Docker's
/// (`run` of a missing command stays 127): the message on the stream (a stdout frame
/// unless the start asked for a TTY) and the CLIs' exit code, and `ExitCode` 126.
#[test]
fn exec_failures_exit_126() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("exec126");
    d.berth(&["run", "-d", "--name", &c, "busybox", "sleep", "1000"])
        .ok();
    let oci = "OCI runtime exec failed: exec failed: unable to start container process:";
    let cases: [(&[&str], String); 5] = [
        (
            &["nosuch"],
            format!("{oci} exec: \"nosuch\": executable file not found in $PATH: unknown"),
        ),
        (
            &["/etc/passwd"],
            format!("{oci} exec: \"/etc/passwd\": permission denied: unknown"),
        ),
        (
            &["/nosuch/x"],
            format!(
                "{oci} exec: \"/nosuch/x\": stat /nosuch/x: no such file or directory: unknown"
            ),
        ),
        (
            &["-w", "/nowhere", "true"],
            format!(
                "{oci} chdir to cwd (\"/nowhere\") set in config.json failed: no such file or directory: unknown"
            ),
        ),
        (
            &["-u", "nosuchuser", "true"],
            "unable to find user nosuchuser: no matching entries in passwd file".to_string(),
        ),
    ];
    for docker in clis() {
        for (args, message) in &cases {
            let (opts, cmd) = args.split_at(args.len() - 1);
            let mut argv = vec!["exec"];
            argv.extend_from_slice(opts);
            argv.push(&c);
            argv.extend_from_slice(cmd);
            let out = d.cli(docker, &argv);
            assert_eq!(
                out.code(),
                126,
                "docker={docker} {args:?}: {}",
                out.stderr()
            );
            // The message comes down the stream, as output (stdout), as with dockerd.
            assert_eq!(out.stdout().trim(), message, "docker={docker} {args:?}");
        }
    }
    // Through the API, as an SDK sees it.
    for tty in [false, true] {
        let id = exec_create(
            &d,
            &c,
            r#"{"AttachStdout":true,"AttachStderr":true,"Cmd":["nosuch"]}"#,
        );
        let s = Session::open(
            &d.socket,
            "POST",
            &format!("/exec/{id}/start"),
            &format!(r#"{{"Detach":false,"Tty":{tty}}}"#),
            Duration::ZERO,
        );
        let all = s.read_to_end();
        let out = if tty { all } else { demux(&all).0 };
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{}\r\n", cases[0].1),
            "tty {tty}"
        );
        let v = exec_inspect(&d, &id);
        assert_eq!(
            (v["ExitCode"].clone(), v["Running"].clone()),
            (126.into(), false.into())
        );
    }
    d.berth(&["rm", "-f", &c]).ok();
}

/// `POST /containers/{id}/attach` with `logs=1` replays the log (framed unless TTY); with
/// `stream=0` the answer ends there, upgraded (101) or not (200), as dockerd does.
#[test]
fn attach_replays_logs() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let plain = unique("attlogs");
    let tty = unique("attlogst");
    d.berth(&[
        "run",
        "--name",
        &plain,
        "busybox",
        "sh",
        "-c",
        "echo out1; echo err1 >&2; echo out2",
    ])
    .ok();
    d.berth(&[
        "run",
        "-t",
        "--name",
        &tty,
        "busybox",
        "sh",
        "-c",
        "echo out1; echo err1 >&2",
    ])
    .ok();
    for upgrade in [true, false] {
        let attach = |c: &str, q: &str| {
            let s = Session::open_with(
                &d.socket,
                "POST",
                &format!("/v1.41/containers/{c}/attach?{q}"),
                "",
                Duration::ZERO,
                upgrade,
            );
            assert_eq!(
                s.status(),
                if upgrade { 101 } else { 200 },
                "{q}: {}",
                s.head
            );
            assert_eq!(
                s.header("content-type").as_deref(),
                Some("application/vnd.docker.raw-stream")
            );
            s.read_to_end()
        };
        let (out, err) = demux(&attach(&plain, "stream=0&logs=1&stdout=1&stderr=1"));
        assert_eq!(
            (out.as_slice(), err.as_slice()),
            (&b"out1\nout2\n"[..], &b"err1\n"[..])
        );
        let (out, err) = demux(&attach(&plain, "logs=1&stderr=1"));
        assert_eq!((out.as_slice(), err.as_slice()), (&b""[..], &b"err1\n"[..]));
        assert_eq!(attach(&plain, "stream=0&logs=0&stdout=1&stderr=1"), b"");
        assert_eq!(
            attach(&tty, "stream=0&logs=1&stdout=1&stderr=1"),
            b"out1\r\nerr1\r\n"
        );
        // A TTY's log is all stdout.
        assert_eq!(attach(&tty, "logs=1&stderr=1"), b"");
    }

    // With `stream=1` the replay comes first, then the live stream.
    let live = unique("attlive");
    d.berth(&[
        "run",
        "-d",
        "-i",
        "--name",
        &live,
        "busybox",
        "sh",
        "-c",
        "echo before; read x; echo got-$x",
    ])
    .ok();
    assert!(berth_e2e::eventually(30, || d
        .berth(&["logs", &live])
        .stdout()
        .contains("before")));
    let mut s = Session::open(
        &d.socket,
        "POST",
        &format!("/containers/{live}/attach?stream=1&logs=1&stdin=1&stdout=1&stderr=1"),
        "",
        Duration::ZERO,
    );
    assert_eq!(s.status(), 101, "{}", s.head);
    s.read_until(b"before\n");
    s.send(b"it\n");
    let (out, _) = demux(&s.read_to_end());
    assert_eq!(out, b"before\ngot-it\n");
    for c in [&plain, &tty, &live] {
        d.berth(&["rm", "-f", c]).ok();
    }
}

/// A paused container takes neither an exec nor an attach: 409 with dockerd's messages
/// (they name the container as the request did).
#[test]
fn paused_container_refuses_exec_and_attach() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("paused");
    d.berth(&["run", "-d", "--name", &c, "busybox", "sleep", "1000"])
        .ok();
    d.berth(&["pause", &c]).ok();
    let r = d
        .raw(
            "POST",
            &format!("/containers/{c}/exec"),
            r#"{"Cmd":["true"]}"#,
        )
        .unwrap();
    assert!(r.starts_with("HTTP/1.1 409"), "{r}");
    assert_eq!(
        body(&r),
        format!(r#"{{"message":"Container {c} is paused, unpause the container before exec"}}"#)
    );
    let r = d
        .raw(
            "POST",
            &format!("/containers/{c}/attach?stream=1&stdout=1"),
            "",
        )
        .unwrap();
    assert!(r.starts_with("HTTP/1.1 409"), "{r}");
    assert_eq!(
        body(&r),
        format!(r#"{{"message":"container {c} is paused, unpause the container before attach"}}"#)
    );
    d.berth(&["unpause", &c]).ok();
    d.berth(&["exec", &c, "true"]).ok();
    d.berth(&["rm", "-f", &c]).ok();
}
