//! Docker's default confinement and the flags that change it: capabilities, seccomp,
//! no-new-privileges, `--privileged`.
#![allow(clippy::unwrap_used)]

use berth_e2e::Daemon;

fn status_field(d: &Daemon, extra: &[&str], field: &str) -> String {
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["busybox", "grep", field, "/proc/self/status"]);
    let out = d.berth(&args);
    out.ok();
    out.stdout()
        .trim()
        .trim_start_matches(field)
        .trim()
        .to_string()
}

#[test]
fn capabilities_follow_docker_and_the_flags() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    assert_eq!(status_field(&d, &[], "CapEff:"), "00000000a80425fb");
    assert_eq!(
        status_field(&d, &["--cap-drop", "ALL"], "CapEff:"),
        "0000000000000000"
    );
    // NET_ADMIN is bit 12; dropping chown (bit 0) too.
    assert_eq!(
        status_field(
            &d,
            &["--cap-add", "net_admin", "--cap-drop", "CAP_CHOWN"],
            "CapEff:"
        ),
        "00000000a80435fa"
    );
    let mine = std::fs::read_to_string("/proc/self/status").unwrap();
    let bnd = mine
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(status_field(&d, &["--privileged"], "CapEff:"), bnd);

    let out = d.berth(&["run", "--rm", "--cap-add", "NOPE", "busybox", "true"]);
    assert_eq!(out.code(), 125);
    assert!(
        out.stderr().contains("unknown capability"),
        "{}",
        out.stderr()
    );
}

#[test]
fn seccomp_and_no_new_privileges() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    // Mode 2: a filter is installed.
    assert_eq!(status_field(&d, &[], "Seccomp:"), "2");
    assert_eq!(
        status_field(&d, &["--security-opt", "seccomp=unconfined"], "Seccomp:"),
        "0"
    );
    assert_eq!(status_field(&d, &["--privileged"], "Seccomp:"), "0");
    assert_eq!(status_field(&d, &[], "NoNewPrivs:"), "0");
    assert_eq!(
        status_field(&d, &["--security-opt", "no-new-privileges"], "NoNewPrivs:"),
        "1"
    );

    // Creating a user namespace needs no capability, but the default profile refuses it.
    let out = d.berth(&["run", "--rm", "busybox", "unshare", "-U", "true"]);
    assert_ne!(out.code(), 0);
    assert!(
        out.stderr().contains("Operation not permitted"),
        "{}",
        out.stderr()
    );
    d.berth(&[
        "run",
        "--rm",
        "--security-opt",
        "seccomp=unconfined",
        "busybox",
        "unshare",
        "-U",
        "true",
    ])
    .ok();
    // Options we do not know are refused, not ignored.
    let out = d.berth(&["run", "--rm", "--security-opt", "bogus", "busybox", "true"]);
    assert_eq!(out.code(), 125);
    assert!(
        out.stderr().contains("Invalid --security-opt"),
        "{}",
        out.stderr()
    );
}

#[test]
fn namespace_modes() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let ns = |pid: &str, kind: &str| std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).unwrap();
    let run = |args: &[&str]| {
        let mut a = vec!["run", "--rm"];
        a.extend_from_slice(args);
        let out = d.berth(&a);
        out.ok();
        out.stdout().trim().to_string()
    };
    // Own namespaces by default; the host's on request.
    let script = "readlink /proc/self/ns/uts; readlink /proc/self/ns/ipc";
    let own = run(&["busybox", "sh", "-c", script]);
    let host = run(&[
        "--uts", "host", "--ipc", "host", "busybox", "sh", "-c", script,
    ]);
    let me = format!(
        "{}\n{}",
        ns("self", "uts").display(),
        ns("self", "ipc").display()
    );
    assert_eq!(host, me);
    assert_ne!(own, me);
    // --pid host: the host's processes are visible, PID 1 is the host's init.
    let out = run(&[
        "--pid",
        "host",
        "busybox",
        "sh",
        "-c",
        "test -e /proc/1 && echo $$",
    ]);
    assert_ne!(out, "1");

    // container:NAME joins another container's pid and ipc namespaces.
    let a = berth_e2e::unique("nsa");
    d.berth(&["run", "-d", "--name", &a, "busybox", "sleep", "1000"])
        .ok();
    let out = run(&[
        "--pid",
        &format!("container:{a}"),
        "--ipc",
        &format!("container:{a}"),
        "busybox",
        "cat",
        "/proc/1/cmdline",
    ]);
    assert_eq!(out, "sleep\u{0}1000\u{0}");
    d.berth(&["rm", "-f", &a]).ok();
    let out = d.berth(&["run", "--rm", "--pid", "bogus", "busybox", "true"]);
    assert_eq!(out.code(), 125);
}

#[test]
fn device_cgroup_and_device_flag() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    if std::path::Path::new("/sys/fs/cgroup/devices").is_dir() {
        // CAP_MKNOD lets a container make a node for the host's disk; the device cgroup
        // must still refuse to open it.
        let out = d.berth(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "mknod /tmp/disk b 7 0 && echo made; head -c 1 /tmp/disk >/dev/null 2>&1 && echo read || echo denied",
        ]);
        out.ok();
        assert_eq!(out.stdout(), "made\ndenied\n");
    }
    if !std::path::Path::new("/dev/loop0").exists() {
        return;
    }
    let out = d.berth(&[
        "run",
        "--rm",
        "--device",
        "/dev/loop0:/dev/xloop:r",
        "busybox",
        "sh",
        "-c",
        "ls -l /dev/xloop | awk '{print $1, $5, $6}'; dd if=/dev/xloop of=/dev/null bs=1 count=0 2>/dev/null && echo opened; echo x 2>/dev/null > /dev/xloop || echo no-write",
    ]);
    out.ok();
    assert_eq!(out.stdout(), "brw------- 7, 0\nopened\nno-write\n");
    let out = d.berth(&["run", "--rm", "--device", "/etc/passwd", "busybox", "true"]);
    assert_eq!(out.code(), 125);
    assert!(
        out.stderr().contains("not a device node"),
        "{}",
        out.stderr()
    );
}
