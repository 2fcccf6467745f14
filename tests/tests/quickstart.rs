//! The quickstart's pieces that need no release build: the busybox image it makes on a
//! machine without `../shared` (`scripts/busybox-image.sh`, imported and run as the
//! quickstart does), and `scripts/quickstart.sh stop`.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

use berth_e2e::{Daemon, bin_dir, have_docker_cli, skip_unless_root};

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts")
        .join(name)
}

#[test]
fn busybox_image_from_debian_runs() {
    if skip_unless_root() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let tar = tmp.path().join("busybox.tar");
    let out = Command::new(script("busybox-image.sh"))
        .arg(&tar)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    if out.status.code() == Some(3) {
        eprintln!(
            "skipping: no static busybox to make the image from: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // What the quickstart does with it, on a daemon with no image yet.
    let d = Daemon::start();
    d.berth(&[
        "import",
        "--change",
        r#"CMD ["sh"]"#,
        tar.to_str().unwrap(),
        "busybox:latest",
    ])
    .ok();
    let out = d.berth(&["run", "--rm", "busybox", "echo", "hello"]);
    assert_eq!(out.ok().stdout(), "hello\n");
    // Its CMD, applets and users are those of the busybox image.
    let out = d.berth(&["image", "inspect", "-f", "{{json .Config.Cmd}}", "busybox"]);
    assert_eq!(out.ok().stdout().trim(), r#"["sh"]"#);
    let out = d.berth(&["run", "--rm", "busybox", "sh", "-c", "id -un; ls /bin/wget"]);
    assert_eq!(out.ok().stdout(), "root\n/bin/wget\n");
    for user in ["daemon", "nobody", "www-data"] {
        let out = d.berth(&["run", "--rm", "--user", user, "busybox", "id", "-un"]);
        assert_eq!(out.ok().stdout().trim(), user);
    }
    if have_docker_cli() {
        let out = d.docker(&["run", "--rm", "busybox", "echo", "hello"]);
        assert_eq!(out.ok().stdout(), "hello\n");
    }
}

/// `quickstart.sh stop` says it stopped berthd only when it did.
#[test]
fn quickstart_stop_says_what_it_did() {
    if skip_unless_root() {
        return;
    }
    let b = tempfile::tempdir().unwrap();
    let stop = || {
        let out = Command::new(script("quickstart.sh"))
            .arg("stop")
            .env("BERTH_QUICKSTART_DIR", b.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(stop().starts_with("no quickstart berthd was running"));

    // A berthd as the quickstart starts it, with its pid file.
    let mut berthd = Command::new(bin_dir().join("berthd"))
        .arg("--data-root")
        .arg(b.path().join("root"))
        .arg("--exec-root")
        .arg(b.path().join("run"))
        .arg("-H")
        .arg(format!("unix://{}/berthd.sock", b.path().display()))
        .arg("--cgroup-parent")
        .arg(berth_e2e::unique("berth-e2e-"))
        // Names of its own: no default bridge (berth0 would outlive the daemon, as
        // docker0 does) and a firewall table no other test uses.
        .args(["--bridge", "none", "--firewall-table"])
        .arg(berth_e2e::unique("bq"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::fs::write(b.path().join("berthd.pid"), berthd.id().to_string()).unwrap();
    assert!(
        berth_e2e::eventually(20, || b.path().join("berthd.sock").exists()),
        "berthd did not start"
    );
    let said = stop();
    let status = berthd.try_wait().unwrap();
    if status.is_none() {
        let _ = berthd.kill();
        let _ = berthd.wait();
    }
    assert!(said.starts_with("berthd stopped"), "{said}");
    assert!(status.is_some(), "berthd still running after stop");
    assert!(!b.path().join("berthd.pid").exists());
    assert!(stop().starts_with("no quickstart berthd was running"));
}
