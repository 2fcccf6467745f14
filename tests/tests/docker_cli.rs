//! The real docker CLI (28) against berthd.
#![allow(clippy::unwrap_used)]

use berth_e2e::{Daemon, have_docker_cli, image, skip_unless_root, unique};

#[test]
fn docker_cli_runs_containers() {
    if skip_unless_root() {
        return;
    }
    if !have_docker_cli() {
        eprintln!("skipping: {} not installed", berth_e2e::DOCKER);
        return;
    }
    let d = Daemon::start();
    let out = d.docker(&["load", "-i", image("busybox.tar").to_str().expect("path")]);
    out.ok();
    assert!(
        out.stdout().contains("Loaded image: busybox:latest"),
        "{}",
        out.stdout()
    );

    let out = d.docker(&["run", "--rm", "busybox", "echo", "hello"]);
    out.ok();
    assert_eq!(out.stdout(), "hello\n");
    d.docker(&["run", "--rm", "busybox", "sh", "-c", "exit 3"])
        .expect_code(3);

    // Stdin through the hijacked attach stream.
    let out = {
        let mut cmd = std::process::Command::new(berth_e2e::DOCKER);
        cmd.env("DOCKER_HOST", d.host())
            .args(["run", "--rm", "-i", "busybox", "tr", "a-z", "A-Z"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("docker");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"shout\n")
            .expect("write");
        child.wait_with_output().expect("wait")
    };
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "SHOUT\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let web = unique("web");
    let out = d.docker(&[
        "run",
        "-d",
        "--name",
        &web,
        "busybox",
        "sh",
        "-c",
        "echo up; exec sleep 1000",
    ]);
    out.ok();
    let ps = d.docker(&["ps"]);
    ps.ok();
    assert!(ps.stdout().contains(&web), "{}", ps.stdout());
    let mut logs = String::new();
    for _ in 0..300 {
        logs = d.docker(&["logs", &web]).stdout();
        if !logs.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(logs, "up\n");
    d.docker(&["stop", "-t", "1", &web]).ok();
    let st = d.docker(&["inspect", "-f", "{{.State.Status}}", &web]);
    st.ok();
    assert_eq!(st.stdout().trim(), "exited");
    d.docker(&["rm", &web]).ok();
    assert!(!d.docker(&["ps", "-a"]).stdout().contains(&web));

    let images = d.docker(&["images"]);
    images.ok();
    assert!(images.stdout().contains("busybox"), "{}", images.stdout());
    let inspect = d.docker(&["inspect", "busybox"]);
    inspect.ok();
    let v: serde_json::Value = serde_json::from_str(&inspect.stdout()).expect("json");
    assert_eq!(v[0]["RepoTags"][0], "busybox:latest");
    let version = d.docker(&["version", "--format", "{{.Server.APIVersion}}"]);
    version.ok();
    assert_eq!(version.stdout().trim(), "1.50");
}
