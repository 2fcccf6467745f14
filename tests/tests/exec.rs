//! `exec` with `berth` and the real docker CLI: output, exit codes, stdin, namespaces.
#![allow(clippy::unwrap_used)]

use berth_e2e::{Daemon, have_docker_cli, skip_unless_root, unique};

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
    d.berth(&["exec", &c, "nosuch"]).expect_code(127);
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
