//! `--runtime`: containers made by another OCI runtime (runc), driven by the shim through
//! its command line, with berth and the docker CLI. Skipped when runc is not installed.
#![allow(clippy::unwrap_used)]

use berth_e2e::{Daemon, have_docker_cli, skip_unless_root, unique};

fn runc() -> Option<String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|d| d.join("runc"))
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!("skipping: runc is not installed (apt-get install runc)");
    }
    found.map(|p| p.to_string_lossy().into_owned())
}

#[test]
fn runc_runs_containers_end_to_end() {
    if skip_unless_root() || runc().is_none() {
        return;
    }
    let d = Daemon::start();
    d.load("busybox.tar");
    for docker in berth_e2e::clis() {
        let run = |args: &[&str]| d.cli(docker, args);
        // Output and exit code; the process is confined as with Berth's runtime.
        let out = run(&[
            "run",
            "--rm",
            "--runtime",
            "runc",
            "busybox",
            "sh",
            "-c",
            "echo hello; grep -E '^(Seccomp|CapEff):' /proc/self/status; ip addr show lo; exit 3",
        ]);
        assert_eq!(out.code(), 3, "{}", out.stderr());
        let stdout = out.stdout();
        assert!(stdout.starts_with("hello\n"), "{stdout}");
        assert!(stdout.contains("CapEff:\t00000000a80425fb"), "{stdout}");
        assert!(stdout.contains("Seccomp:\t2"), "{stdout}");
        assert!(stdout.contains("127.0.0.1"), "loopback is up: {stdout}");

        // Detached, exec (with user and workdir), logs, stop with the TERM trap.
        let name = unique("runc");
        run(&[
            "run",
            "-d",
            "--name",
            &name,
            "--runtime",
            "runc",
            "busybox",
            "sh",
            "-c",
            "echo started; trap 'echo bye; exit 7' TERM; while true; do sleep 0.1; done",
        ])
        .ok();
        let out = run(&["exec", &name, "sh", "-c", "echo in-exec; exit 4"]);
        assert_eq!(out.code(), 4);
        assert_eq!(out.stdout(), "in-exec\n");
        let out = run(&[
            "exec",
            "-u",
            "nobody",
            "-w",
            "/tmp",
            &name,
            "sh",
            "-c",
            "id -u; pwd",
        ]);
        out.ok();
        assert_eq!(out.stdout(), "65534\n/tmp\n");
        // The exec'd process is in the container's pid namespace.
        let out = run(&[
            "exec",
            &name,
            "sh",
            "-c",
            "cat /proc/1/cmdline | tr '\\0' ' '",
        ]);
        assert!(out.stdout().contains("trap"), "{}", out.stdout());
        run(&["stop", &name]).ok();
        let out = run(&[
            "inspect",
            "--format",
            "{{.State.ExitCode}} {{.HostConfig.Runtime}}",
            &name,
        ]);
        assert_eq!(out.stdout().trim(), "7 runc");
        let out = run(&["logs", &name]);
        assert_eq!(out.stdout(), "started\nbye\n");
        run(&["rm", &name]).ok();

        // A command that is not there: Docker's 127.
        let out = run(&["run", "--rm", "--runtime", "runc", "busybox", "nosuch"]);
        assert_eq!(out.code(), 127, "{}", out.stderr());
        assert!(
            out.stderr().contains("executable file not found"),
            "{}",
            out.stderr()
        );
    }
    // runc's state is private to this daemon and gone with the containers.
    let state = d.dir.path().join("run/runtime-runc");
    assert!(state.is_dir());
    assert_eq!(std::fs::read_dir(&state).unwrap().count(), 0);
}

#[test]
fn runc_honours_tty_users_and_seccomp_profiles() {
    if skip_unless_root() || runc().is_none() {
        return;
    }
    let d = Daemon::start();
    d.load("busybox.tar");
    let out = d.berth(&["run", "--rm", "-t", "--runtime", "runc", "busybox", "tty"]);
    out.ok();
    assert!(out.stdout().starts_with("/dev/pts/"), "{}", out.stdout());
    let out = d.berth(&[
        "run",
        "--rm",
        "--runtime",
        "runc",
        "-u",
        "daemon",
        "--group-add",
        "www-data",
        "busybox",
        "id",
    ]);
    out.ok();
    assert!(
        out.stdout().starts_with("uid=1(daemon) gid=1(daemon)"),
        "{}",
        out.stdout()
    );
    assert!(out.stdout().contains("33(www-data)"), "{}", out.stdout());
    // A custom profile goes to runc as config.json's linux.seccomp.
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let out = d.berth(&[
        "run",
        "--rm",
        "--runtime",
        "runc",
        "--security-opt",
        &opt,
        "busybox",
        "mkdir",
        "/x",
    ]);
    assert_eq!(out.code(), 1);
    assert!(
        out.stderr().contains("Operation not permitted"),
        "{}",
        out.stderr()
    );
    d.berth(&["run", "--rm", "--runtime", "runc", "busybox", "mkdir", "/x"])
        .ok();
}

#[test]
fn runtimes_are_configured_like_dockerd() {
    if skip_unless_root() {
        return;
    }
    let Some(runc) = runc() else { return };
    let flag = format!("myrunc={runc}");
    let d = Daemon::start_with(&["--add-runtime", &flag]);
    d.load("busybox.tar");
    let info = d.raw("GET", "/info", "").unwrap();
    assert!(info.contains("\"DefaultRuntime\":\"berth\""), "{info}");
    assert!(info.contains("\"myrunc\":{\"path\":"), "{info}");
    assert!(
        info.contains("\"SecurityOptions\":[\"name=seccomp,profile=default\"]"),
        "{info}"
    );
    d.berth(&["run", "--rm", "--runtime", "myrunc", "busybox", "true"])
        .ok();
    // The default runtime by name, and what inspect records.
    let name = unique("rt-default");
    d.berth(&["create", "--name", &name, "busybox", "true"])
        .ok();
    let out = d.berth(&["inspect", "--format", "{{.HostConfig.Runtime}}", &name]);
    assert_eq!(out.stdout().trim(), "berth");
    d.berth(&["rm", &name]).ok();
    d.berth(&["run", "--rm", "--runtime", "berth", "busybox", "true"])
        .ok();

    let out = d.berth(&["run", "--rm", "--runtime", "nope", "busybox", "true"]);
    assert_eq!(out.code(), 125);
    assert!(
        out.stderr()
            .contains("unknown or invalid runtime name: nope"),
        "{}",
        out.stderr()
    );
    let resp = d
        .raw(
            "POST",
            "/containers/create",
            r#"{"Image":"busybox","HostConfig":{"Runtime":"nope"}}"#,
        )
        .unwrap();
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    if have_docker_cli() {
        let out = d.docker(&["run", "--rm", "--runtime", "nope", "busybox", "true"]);
        assert_eq!(out.code(), 125);
        assert!(
            out.stderr()
                .contains("unknown or invalid runtime name: nope")
        );
        let out = d.docker(&["info", "--format", "{{.DefaultRuntime}} {{len .Runtimes}}"]);
        assert_eq!(
            out.stdout().trim(),
            "berth 3",
            "berth, myrunc and runc from PATH"
        );
    }
}

/// `berthd --default-runtime runc`: containers that name no runtime are runc's (recorded
/// so, and reported by /info); `--runtime berth` still picks Berth's own. An unknown
/// default stops berthd at start with a clear message.
#[test]
fn default_runtime_flag() {
    if skip_unless_root() || runc().is_none() {
        return;
    }
    let d = Daemon::start_with(&["--default-runtime", "runc"]);
    d.load("busybox.tar");
    let info = d.raw("GET", "/info", "").unwrap();
    assert!(info.contains("\"DefaultRuntime\":\"runc\""), "{info}");
    let name = unique("rt-runc");
    d.berth(&["run", "-d", "--name", &name, "busybox", "sleep", "1000"])
        .ok();
    let out = d.berth(&["inspect", "--format", "{{.HostConfig.Runtime}}", &name]);
    assert_eq!(out.stdout().trim(), "runc");
    // runc's own record of it, under the state root the shim gives runc.
    let id = d.berth(&["inspect", "--format", "{{.Id}}", &name]).stdout();
    let state = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "find {} -name state.json -path '*{}*' | head -1",
            d.dir.path().display(),
            id.trim()
        ))
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&state.stdout).trim().is_empty(),
        "no runc state for {name}"
    );
    let out = d.berth(&["run", "--rm", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(out.code(), 3, "{}", out.stderr());
    let own = unique("rt-own");
    d.berth(&["create", "--runtime", "berth", "--name", &own, "busybox"])
        .ok();
    let out = d.berth(&["inspect", "--format", "{{.HostConfig.Runtime}}", &own]);
    assert_eq!(out.stdout().trim(), "berth");
    d.berth(&["rm", "-f", &name, &own]).ok();

    let dir = tempfile::tempdir_in("/tmp").unwrap();
    let out = std::process::Command::new(berth_e2e::bin_dir().join("berthd"))
        .arg("--data-root")
        .arg(dir.path().join("root"))
        .arg("--exec-root")
        .arg(dir.path().join("run"))
        .arg("-H")
        .arg(format!("unix://{}/s.sock", dir.path().display()))
        .args(["--default-runtime", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--default-runtime \"nope\": no such runtime"),
        "{err}"
    );
}
