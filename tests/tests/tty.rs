//! `run -it` through a real pseudo-terminal (util-linux `script`), and resizing a TTY.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use berth_e2e::{Daemon, bin_dir, skip_unless_root, unique};

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
    // `script` gives `berth` a real terminal (30 rows, 100 columns); we type into it.
    let mut child = Command::new("script")
        .args(["-qfec"])
        .arg(format!(
            "stty cols 100 rows 30; {} run -it --rm busybox sh",
            berth.display()
        ))
        .arg("/dev/null")
        .env("BERTH_HOST", d.host())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in ["echo hi-$((6*7))", "stty size", "tty", "exit 4"] {
        std::thread::sleep(Duration::from_millis(500));
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert_eq!(out.status.code(), Some(4), "{text}");
    // The terminal echoed our input, and the shell ran it with the terminal's size.
    assert!(text.contains("echo hi-$((6*7))"), "{text}");
    assert!(text.contains("\nhi-42\n"), "{text}");
    assert!(text.contains("\n30 100\n"), "{text}");
    assert!(
        text.contains("\n/dev/console\n") || text.contains("\n/dev/pts/0\n"),
        "{text}"
    );
}

#[test]
fn resize_reaches_the_tty() {
    if skip_unless_root() {
        return;
    }
    let d = Daemon::start();
    d.load("busybox.tar");
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
    let mut child = Command::new("script")
        .args(["-qfec"])
        .arg(format!(
            "{} run -it --name {c} busybox sh",
            bin_dir().join("berth").display()
        ))
        .arg("/dev/null")
        .env("BERTH_HOST", d.host())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    stdin.write_all(b"echo before-detach\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    stdin.write_all(b"\x10\x11").unwrap();
    stdin.flush().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    // Still running after the client left.
    let state = d.berth(&["inspect", "-f", "{{.State.Running}}", &c]);
    assert_eq!(state.stdout().trim(), "true");
    assert!(d.berth(&["logs", &c]).stdout().contains("before-detach"));
    d.berth(&["rm", "-f", &c]).ok();
}
