//! `run -it` through a real pseudo-terminal (util-linux `script`), resizing a TTY, and the
//! detach keys of API attach and exec sessions.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::Duration;

use berth_e2e::stdio::{Session, body, demux};
use berth_e2e::terminal::Terminal;
use berth_e2e::{Daemon, bin_dir, have_docker_cli, now_unix, skip_unless_root, unique};

#[test]
fn interactive_tty_session() {
    if skip_unless_root() {
        return;
    }
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipping: util-linux `script` not installed");
        return;
    }
    let d = Daemon::start();
    d.load("busybox.tar");
    let berth = bin_dir().join("berth");
    // `script` gives `berth` a real terminal (30 rows, 100 columns); we type into it, each
    // line once the answer to the one before has shown.
    let mut t = Terminal::start(
        &format!(
            "stty cols 100 rows 30; {} run -it --rm busybox sh",
            berth.display()
        ),
        &d.host(),
    );
    for (line, answer) in [
        ("echo hi-$((6*7))", "\nhi-42\n"),
        ("stty size", "\n30 100\n"),
        ("tty", "\n/dev/"),
    ] {
        t.type_in(format!("{line}\n").as_bytes());
        t.wait_for(answer);
    }
    t.type_in(b"exit 4\n");
    let (code, text) = t.finish();
    assert_eq!(code, Some(4), "{text}");
    // The terminal echoed our input, and the shell ran it with the terminal's size.
    assert!(text.contains("echo hi-$((6*7))"), "{text}");
    assert!(text.contains("\nhi-42\n"), "{text}");
    assert!(text.contains("\n30 100\n"), "{text}");
    assert!(text.contains("\n/dev/pts/0\n"), "{text}");
}

#[test]
fn resize_reaches_the_tty() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("tty");
    d.berth(&[
        "run",
        "-d",
        "-t",
        "--name",
        &c,
        "busybox",
        "sh",
        "-c",
        "trap 'stty size' WINCH; echo ready; while :; do sleep 0.1; done",
    ])
    .ok();
    let wait_for = |s: &str| {
        (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            d.berth(&["logs", &c]).stdout().contains(s)
        })
    };
    assert!(wait_for("ready"));
    d.berth(&["resize", &c, "120", "40"]).ok();
    assert!(wait_for("40 120"), "{}", d.berth(&["logs", &c]).stdout());
    d.berth(&["rm", "-f", &c]).ok();
}

#[test]
fn ctrl_p_ctrl_q_detaches() {
    if skip_unless_root() {
        return;
    }
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipping: util-linux `script` not installed");
        return;
    }
    let d = Daemon::start();
    d.load("busybox.tar");
    let c = unique("detach");
    let mut t = Terminal::start(
        &format!(
            "{} run -it --name {c} busybox sh",
            bin_dir().join("berth").display()
        ),
        &d.host(),
    );
    // Once the shell has answered, the client's terminal is raw: ^P^Q reach it (in
    // cooked mode the terminal itself would swallow ^Q).
    t.type_in(b"echo before-$((1+1))detach\n");
    t.wait_for("\nbefore-2detach\n");
    t.type_in(b"\x10\x11");
    let (code, text) = t.finish();
    assert_eq!(code, Some(0), "{text}");
    // Still running after the client left.
    let state = d.berth(&["inspect", "-f", "{{.State.Running}}", &c]);
    assert_eq!(state.stdout().trim(), "true");
    assert!(d.berth(&["logs", &c]).stdout().contains("before-2detach"));
    d.berth(&["rm", "-f", &c]).ok();
}

/// As with Docker: the TTY is the container's own `/dev/pts/0` (not a host pty bound over
/// /dev/console), and it has the client terminal's size from the start (`ConsoleSize`),
/// before any resize could reach it. Through `berth` and the docker CLI, for run and exec.
#[test]
fn tty_is_the_containers_own_and_sized_from_the_start() {
    if skip_unless_root() {
        return;
    }
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipping: util-linux `script` not installed");
        return;
    }
    let d = Daemon::start();
    d.load("busybox.tar");
    let c = unique("ttysize");
    d.berth(&["run", "-d", "--name", &c, "busybox", "sleep", "1000"])
        .ok();
    let mut clis = vec![format!(
        "BERTH_HOST={} {}",
        d.host(),
        bin_dir().join("berth").display()
    )];
    if have_docker_cli() {
        clis.push(format!("DOCKER_HOST={} /usr/local/bin/docker", d.host()));
    }
    for cli in &clis {
        for (i, sub) in ["run -t --rm busybox".to_string(), format!("exec -t {c}")]
            .iter()
            .enumerate()
        {
            let (rows, cols) = (31 + i, 101 + i);
            let t = Terminal::start(
                &format!("stty cols {cols} rows {rows}; {cli} {sub} sh -c 'tty; stty size'"),
                &d.host(),
            );
            let (code, text) = t.finish();
            assert_eq!(code, Some(0), "{cli} {sub}: {text}");
            let want = if i == 0 { "/dev/pts/0\n" } else { "/dev/pts/" };
            assert!(text.contains(want), "{cli} {sub}: {text}");
            assert!(
                text.contains(&format!("\n{rows} {cols}\n")),
                "{cli} {sub}: {text}"
            );
        }
    }
    d.berth(&["rm", "-f", &c]).ok();
}

/// The daemon ends an API attach session when the client types the detach keys
/// (`detachKeys`, by default Ctrl-P Ctrl-Q; split over writes or in one) on a container
/// with a TTY and stdin: the connection closes, the container runs on, a `detach` event is
/// logged. Without a TTY the keys are ordinary input, as with dockerd.
#[test]
fn api_attach_detach_keys() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let tty = unique("detach");
    let plain = unique("nodetach");
    d.berth(&["run", "-dit", "--name", &tty, "busybox", "cat"])
        .ok();
    d.berth(&["run", "-di", "--name", &plain, "busybox", "cat"])
        .ok();
    let since = now_unix();
    let attach = |c: &str, keys: &str| {
        Session::open(
            &d.socket,
            "POST",
            &format!("/containers/{c}/attach?stream=1&stdin=1&stdout=1&stderr=1{keys}"),
            "",
            Duration::ZERO,
        )
    };
    for (i, keys) in [&[&b"\x10"[..], b"\x11"][..], &[b"\x10\x11"]]
        .iter()
        .enumerate()
    {
        let mut s = attach(&tty, "");
        assert_eq!(s.status(), 101, "{}", s.head);
        let line = format!("line{i}\n");
        s.send(line.as_bytes());
        s.read_until(format!("line{i}\r\n").as_bytes());
        for k in *keys {
            s.send(k);
        }
        // The daemon closes the connection.
        s.read_to_end();
        let state = d.berth(&["inspect", "-f", "{{.State.Running}}", &tty]);
        assert_eq!(state.stdout().trim(), "true");
    }
    // Other keys: Ctrl-P Ctrl-Q go to the container (the TTY echoes ^P; ^Q is flow
    // control), then Ctrl-A x detaches.
    let mut s = attach(&tty, "&detachKeys=ctrl-a,x");
    s.send(b"ab\x10\x11cd\n");
    let got = s.read_until(b"ab\x10cd\r\n");
    assert!(
        got.windows(7).any(|w| w == b"ab\x10cd\r\n"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    s.send(b"\x01x");
    s.read_to_end();
    assert_eq!(
        d.berth(&["inspect", "-f", "{{.State.Running}}", &tty])
            .stdout()
            .trim(),
        "true"
    );
    let events = d
        .raw(
            "GET",
            &format!("/events?since={since}&until={}", now_unix()),
            "",
        )
        .unwrap();
    assert_eq!(
        events.matches(r#""Action":"detach""#).count(),
        3,
        "{events}"
    );

    // No TTY: the keys are input like any other.
    let mut s = attach(&plain, "");
    s.send(b"\x10\x11end\n");
    let (out, _) = demux(&s.read_until(b"end\n"));
    assert_eq!(out, b"\x10\x11end\n");
    drop(s);

    // Invalid keys: Docker's message.
    let r = d
        .raw(
            "POST",
            &format!("/containers/{tty}/attach?stream=1&stdin=1&detachKeys=ctrl-P"),
            "",
        )
        .unwrap();
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    assert_eq!(
        body(&r),
        r#"{"message":"Invalid detach keys (ctrl-P) provided"}"#
    );
    for c in [&tty, &plain] {
        d.berth(&["rm", "-f", c]).ok();
    }
}

/// The same for an exec session: the exec's `DetachKeys` (create) end the session of an
/// exec with a TTY and stdin; dockerd 20.10 then sends `exec attach failed: error on
/// attach stdin: read escape sequence` (framed unless the start asked for a TTY) and
/// closes; the process runs on. Invalid keys fail the create (500, as dockerd).
#[test]
fn api_exec_detach_keys() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("execdetach");
    d.berth(&["run", "-d", "--name", &c, "busybox", "sleep", "1000"])
        .ok();
    let create = |body_json: &str| {
        let r = d
            .raw("POST", &format!("/containers/{c}/exec"), body_json)
            .unwrap();
        (
            r.split_whitespace().nth(1).unwrap().to_string(),
            body(&r).to_string(),
        )
    };
    let message = "exec attach failed: error on attach stdin: read escape sequence\r\n";
    for (start_tty, keys, typed) in [
        (true, "", &b"\x10\x11"[..]),
        (false, "", b"\x10\x11"),
        (true, "ctrl-x", b"\x18"),
    ] {
        let (code, b) = create(&format!(
            r#"{{"AttachStdin":true,"AttachStdout":true,"AttachStderr":true,"Tty":true,"DetachKeys":"{keys}","Cmd":["cat"]}}"#
        ));
        assert_eq!(code, "201", "{b}");
        let id = serde_json::from_str::<serde_json::Value>(&b).unwrap()["Id"]
            .as_str()
            .unwrap()
            .to_string();
        let mut s = Session::open(
            &d.socket,
            "POST",
            &format!("/exec/{id}/start"),
            &format!(r#"{{"Detach":false,"Tty":{start_tty}}}"#),
            Duration::ZERO,
        );
        assert_eq!(s.status(), 101, "{}", s.head);
        s.send(b"hello\n");
        s.read_until(b"hello\r\n");
        s.send(typed);
        let all = s.read_to_end();
        let out = if start_tty { all } else { demux(&all).0 };
        let out = String::from_utf8_lossy(&out).into_owned();
        assert!(out.ends_with(message), "{out:?}");
        let r = d.raw("GET", &format!("/exec/{id}/json"), "").unwrap();
        let v: serde_json::Value = serde_json::from_str(body(&r)).unwrap();
        assert_eq!(v["Running"], true, "{v}");
        // A byte string in Docker's JSON: base64.
        let want = if keys.is_empty() { "" } else { "GA==" };
        assert_eq!(v["DetachKeys"], want, "{v}");
    }
    // Without a TTY, the keys go to the process.
    let (_, b) = create(r#"{"AttachStdin":true,"AttachStdout":true,"Tty":false,"Cmd":["cat"]}"#);
    let id = serde_json::from_str::<serde_json::Value>(&b).unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut s = Session::open(
        &d.socket,
        "POST",
        &format!("/exec/{id}/start"),
        r#"{"Detach":false,"Tty":false}"#,
        Duration::ZERO,
    );
    s.send(b"\x10\x11end\n");
    let (out, _) = demux(&s.read_until(b"end\n"));
    assert_eq!(out, b"\x10\x11end\n");
    drop(s);

    let (code, b) = create(r#"{"Cmd":["true"],"DetachKeys":"ctrl-P"}"#);
    assert_eq!(
        (code.as_str(), b.as_str()),
        (
            "500",
            r#"{"message":"Invalid escape keys (ctrl-P) provided"}"#
        )
    );
    if have_docker_cli() {
        let out = d.docker(&["exec", "--detach-keys=ctrl-P", &c, "true"]);
        assert_eq!(out.code(), 1);
        assert_eq!(
            out.stderr().trim(),
            "Error response from daemon: Invalid escape keys (ctrl-P) provided"
        );
    }
    d.berth(&["rm", "-f", &c]).ok();
}
