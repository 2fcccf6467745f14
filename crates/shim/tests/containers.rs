//! Real containers from the busybox image through write_bundle + spawn_shim + ShimClient.
//! Needs root (namespaces, mounts, cgroups); skipped with a message otherwise.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use berth_runtime::{ContainerSpec, Error, NetworkMode, ShimClient, spawn_shim, write_bundle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("skipping: container tests need root");
    }
    root
}

fn random_hex() -> String {
    let mut b = [0u8; 32];
    let f = std::fs::read("/proc/sys/kernel/random/uuid").unwrap();
    let s = String::from_utf8(f).unwrap().replace(['-', '\n'], "");
    b[..16].copy_from_slice(&s.as_bytes()[..16]);
    let f = std::fs::read("/proc/sys/kernel/random/uuid").unwrap();
    let s2 = String::from_utf8(f).unwrap().replace(['-', '\n'], "");
    format!("{s}{s2}")[..64].to_string()
}

/// One test's container: its own temp dir holding the layer, upper/work dirs and bundle.
struct Fixture {
    dir: tempfile::TempDir,
    spec: ContainerSpec,
}

impl Drop for Fixture {
    /// Also after a failed test: kill whatever still runs in the container's cgroup (its
    /// shim then exits), then remove the cgroups.
    fn drop(&mut self) {
        let parent = self.cgroup_parent();
        let hierarchies: Vec<_> = std::fs::read_dir("/sys/fs/cgroup")
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        for h in &hierarchies {
            let procs = h.join(&parent).join(&self.spec.id).join("cgroup.procs");
            for pid in std::fs::read_to_string(procs).unwrap_or_default().lines() {
                if let Ok(pid) = pid.trim().parse::<i32>() {
                    // SAFETY: kill(2) of a process in this test's own container cgroup.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        }
        for _ in 0..100 {
            let mut left = false;
            for h in &hierarchies {
                let dir = h.join(&parent).join(&self.spec.id);
                left |= std::fs::remove_dir(&dir).is_err() && dir.exists();
                let _ = std::fs::remove_dir(h.join(&parent));
            }
            if !left {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Fixture {
    fn new(args: &[&str]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let layer = dir.path().join("layer");
        std::fs::create_dir(&layer).unwrap();
        extract_busybox(dir.path(), &layer);
        for d in ["upper", "work", "bundle"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        let id = random_hex();
        let spec = ContainerSpec {
            id: id.clone(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: vec![
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
                format!("HOSTNAME={}", &id[..12]),
            ],
            cwd: "/".into(),
            hostname: id[..12].to_string(),
            layers: vec![layer],
            upper_dir: dir.path().join("upper"),
            work_dir: dir.path().join("work"),
            log_path: dir.path().join("bundle/container.log"),
            cgroup_path: format!("/berth-test-{}/{id}", &id[..12]),
            network: NetworkMode::Loopback,
            stop_signal: 15,
            ..Default::default()
        };
        Fixture { dir, spec }
    }

    /// This test's own cgroup parent (removed on drop; the shim removes the leaf).
    fn cgroup_parent(&self) -> String {
        format!("berth-test-{}", &self.spec.id[..12])
    }

    fn bundle(&self) -> PathBuf {
        self.dir.path().join("bundle")
    }

    async fn spawn(&self) -> berth_runtime::Result<ShimClient> {
        write_bundle(&self.bundle(), &self.spec).unwrap();
        spawn_shim(Path::new(env!("CARGO_BIN_EXE_berth-shim")), &self.bundle()).await
    }

    /// Everything the shim should have removed is gone, and no mount leaked to the host.
    fn assert_cleaned_up(&self) {
        assert!(
            !self.bundle().join("shim.sock").exists(),
            "shim.sock left behind"
        );
        for ctl in ["memory", "pids", "cpuset", "cpu", "freezer"] {
            let p = Path::new("/sys/fs/cgroup")
                .join(ctl)
                .join(self.spec.cgroup_path.trim_start_matches('/'));
            if Path::new("/sys/fs/cgroup").join(ctl).exists() {
                assert!(!p.exists(), "cgroup {} left behind", p.display());
            }
        }
        let v2 = Path::new("/sys/fs/cgroup").join(self.spec.cgroup_path.trim_start_matches('/'));
        assert!(!v2.exists() || Path::new("/sys/fs/cgroup/memory").exists());
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
        let dir = self.dir.path().to_str().unwrap();
        assert!(!mounts.contains(dir), "mount left under {dir}:\n{mounts}");
    }
}

fn extract_busybox(tmp: &Path, layer: &Path) {
    let image = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/images/busybox.tar");
    let manifest = Command::new("tar")
        .arg("-xOf")
        .arg(&image)
        .arg("manifest.json")
        .output()
        .unwrap();
    assert!(manifest.status.success());
    let manifest: serde_json::Value = serde_json::from_slice(&manifest.stdout).unwrap();
    let layer_tar = manifest[0]["Layers"][0].as_str().unwrap();
    let st = Command::new("tar")
        .arg("-xf")
        .arg(&image)
        .arg("-C")
        .arg(tmp)
        .arg(layer_tar)
        .status()
        .unwrap();
    assert!(st.success());
    let st = Command::new("tar")
        .arg("-xf")
        .arg(tmp.join(layer_tar))
        .arg("-C")
        .arg(layer)
        .status()
        .unwrap();
    assert!(st.success());
}

/// Read Docker-framed output until EOF: (stdout, stderr).
async fn read_frames(stream: &mut tokio::net::UnixStream) -> (Vec<u8>, Vec<u8>) {
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut all))
        .await
        .expect("attach stream did not end")
        .unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut rest = all.as_slice();
    while !rest.is_empty() {
        assert!(rest.len() >= 8, "truncated frame header");
        let len = u32::from_be_bytes(rest[4..8].try_into().unwrap()) as usize;
        let body = &rest[8..8 + len];
        match rest[0] {
            1 => out.extend_from_slice(body),
            2 => err.extend_from_slice(body),
            s => panic!("bad stream {s}"),
        }
        rest = &rest[8 + len..];
    }
    (out, err)
}

/// Run `args` to completion: (stdout, stderr, exit code).
async fn run(f: &Fixture) -> (String, String, i32) {
    let client = f.spawn().await.unwrap();
    let mut stream = client.attach(false, true, true).await.unwrap();
    client.start().await.unwrap();
    let (out, err) = read_frames(&mut stream).await;
    let exit = client.wait().await.unwrap();
    f.assert_cleaned_up();
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
        exit.exit_code,
    )
}

#[tokio::test]
async fn echo_hello_logs_and_exits_zero() {
    if !is_root() {
        return;
    }
    let f = Fixture::new(&["echo", "hello"]);
    let client = f.spawn().await.unwrap();
    assert!(f.bundle().join("shim.sock").exists());
    let state = client.state().await.unwrap();
    assert_eq!(state.status, "created");
    let mut stream = client.attach(false, true, true).await.unwrap();
    let pid = client.start().await.unwrap();
    assert!(pid > 1);
    let mut all = Vec::new();
    stream.read_to_end(&mut all).await.unwrap();
    assert_eq!(all, b"\x01\x00\x00\x00\x00\x00\x00\x06hello\n");
    let exit = client.wait().await.unwrap();
    assert_eq!(exit.exit_code, 0);
    assert!(!exit.oom_killed);
    let log = std::fs::read_to_string(&f.spec.log_path).unwrap();
    let line: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(line["log"], "hello\n");
    assert_eq!(line["stream"], "stdout");
    assert_eq!(log.lines().count(), 1);
    // The shim is gone: wait and state fall back to exit.json.
    assert_eq!(client.wait().await.unwrap().exit_code, 0);
    let state = client.state().await.unwrap();
    assert_eq!(state.status, "stopped");
    assert_eq!(state.exit.unwrap().exit_code, 0);
    f.assert_cleaned_up();
}

#[tokio::test]
async fn exit_code_is_reported() {
    if !is_root() {
        return;
    }
    let f = Fixture::new(&["sh", "-c", "echo oops >&2; exit 3"]);
    let (out, err, code) = run(&f).await;
    assert_eq!((out.as_str(), err.as_str(), code), ("", "oops\n", 3));
}

#[tokio::test]
async fn missing_command_fails_start_like_docker() {
    if !is_root() {
        return;
    }
    let f = Fixture::new(&["nosuchcommand"]);
    let client = f.spawn().await.unwrap();
    let err = client.start().await.unwrap_err();
    match &err {
        Error::Exec(m) => assert!(
            m.contains("exec: \"nosuchcommand\": executable file not found in $PATH"),
            "{m}"
        ),
        e => panic!("expected exec error, got {e:?}"),
    }
    let exit = client.wait().await.unwrap();
    assert_eq!(exit.exit_code, 127);
    f.assert_cleaned_up();

    let f = Fixture::new(&["/etc/passwd"]);
    let client = f.spawn().await.unwrap();
    let err = client.start().await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    assert_eq!(client.wait().await.unwrap().exit_code, 126);
    f.assert_cleaned_up();
}

#[tokio::test]
async fn unknown_user_fails_create() {
    if !is_root() {
        return;
    }
    let mut f = Fixture::new(&["true"]);
    f.spec.user = "nosuchuser".into();
    let err = f.spawn().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("unable to find user nosuchuser: no matching entries in passwd file"),
        "{err}"
    );
    f.assert_cleaned_up();
}

#[tokio::test]
async fn isolation_matches_docker() {
    if !is_root() {
        return;
    }
    let f = Fixture::new(&[
        "sh",
        "-c",
        "grep CapEff /proc/self/status; hostname; echo $$; cat /proc/net/dev; id; pwd; echo $HOME; ls /dev; cat /proc/self/cgroup",
    ]);
    let (out, err, code) = run(&f).await;
    assert_eq!(code, 0, "stderr: {err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "CapEff:\t00000000a80425fb");
    assert_eq!(lines[1], f.spec.hostname);
    assert_eq!(lines[2], "1");
    let ifaces: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split_once(':').map(|(i, _)| i.trim()))
        .filter(|i| {
            !i.contains(' ') && !i.is_empty() && !i.starts_with("Inter") && !i.starts_with("CapEff")
        })
        .collect();
    assert!(ifaces.contains(&"lo"), "{out}");
    assert!(!out.contains("eth0"), "{out}");
    assert!(out.contains("uid=0(root) gid=0(root)"), "{out}");
    assert!(out.contains("\n/\n/root\n"), "{out}");
    for dev in [
        "null", "zero", "urandom", "tty", "pts", "shm", "mqueue", "ptmx", "fd",
    ] {
        assert!(lines.contains(&dev), "/dev/{dev} missing: {out}");
    }
}

#[tokio::test]
async fn only_loopback_interface() {
    if !is_root() {
        return;
    }
    let f = Fixture::new(&[
        "sh",
        "-c",
        "tail -n +3 /proc/net/dev | cut -d: -f1; ip link show lo 2>/dev/null | head -1",
    ]);
    let (out, _, code) = run(&f).await;
    assert_eq!(code, 0);
    let names: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('1'))
        .collect();
    assert_eq!(names, ["lo"]);
    assert!(out.contains("UP"), "lo is not up: {out}");
}

#[tokio::test]
async fn user_and_workdir() {
    if !is_root() {
        return;
    }
    let mut f = Fixture::new(&["sh", "-c", "id; pwd; grep CapEff /proc/self/status"]);
    f.spec.user = "nobody".into();
    f.spec.cwd = "/work/dir".into();
    let (out, err, code) = run(&f).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("uid=65534(nobody) gid=65534(nogroup)"),
        "{out}"
    );
    assert!(out.contains("\n/work/dir\n"), "{out}");
    // Like Docker: a non-root user keeps no effective capabilities.
    assert!(out.contains("CapEff:\t0000000000000000"), "{out}");
}

#[tokio::test]
async fn stdin_round_trip() {
    if !is_root() {
        return;
    }
    let mut f = Fixture::new(&["cat"]);
    f.spec.open_stdin = true;
    f.spec.stdin_once = true;
    let client = f.spawn().await.unwrap();
    let stream = client.attach(true, true, true).await.unwrap();
    client.start().await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    wr.write_all(b"abc").await.unwrap();
    wr.shutdown().await.unwrap();
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), rd.read_to_end(&mut all))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all, b"\x01\x00\x00\x00\x00\x00\x00\x03abc");
    assert_eq!(client.wait().await.unwrap().exit_code, 0);
    f.assert_cleaned_up();
}

#[tokio::test]
async fn tty_output_is_raw() {
    if !is_root() {
        return;
    }
    // The pty is the container's own (/dev/pts/0), sized from the spec before start.
    let mut f = Fixture::new(&["sh", "-c", "tty; stty size; echo hi"]);
    f.spec.tty = true;
    f.spec.console_size = Some([40, 100]);
    let client = f.spawn().await.unwrap();
    let mut stream = client.attach(false, true, true).await.unwrap();
    client.start().await.unwrap();
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut all))
        .await
        .unwrap()
        .unwrap();
    let out = String::from_utf8(all).unwrap();
    assert_eq!(out, "/dev/pts/0\r\n40 100\r\nhi\r\n");
    assert_eq!(client.wait().await.unwrap().exit_code, 0);
    f.assert_cleaned_up();
}

#[tokio::test]
async fn kill_init_and_all() {
    if !is_root() {
        return;
    }
    // SIGKILL to the init.
    let f = Fixture::new(&["sleep", "100"]);
    let client = f.spawn().await.unwrap();
    client.start().await.unwrap();
    assert_eq!(client.state().await.unwrap().status, "running");
    client.kill(9, false).await.unwrap();
    assert_eq!(client.wait().await.unwrap().exit_code, 137);
    f.assert_cleaned_up();

    // SIGTERM to every process: sleep dies of it, sh (PID 1, which the kernel shields from
    // signals it has no handler for) reports it.
    let f = Fixture::new(&["sh", "-c", "sleep 100; exit $?"]);
    let client = f.spawn().await.unwrap();
    client.start().await.unwrap();
    // Let sh fork sleep: two processes in the container's cgroup (v1's pids hierarchy or
    // the v2 one).
    let rel = f.spec.cgroup_path.trim_start_matches('/');
    let procs = ["/sys/fs/cgroup/pids", "/sys/fs/cgroup"]
        .iter()
        .map(|root| Path::new(root).join(rel).join("cgroup.procs"))
        .find(|p| p.exists())
        .expect("the container's cgroup.procs");
    let mut forked = false;
    for _ in 0..2000 {
        let count = std::fs::read_to_string(&procs).map_or(0, |s| s.lines().count());
        if count >= 2 {
            forked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        forked,
        "sh did not fork sleep within 20 s ({})",
        procs.display()
    );
    client.kill(15, true).await.unwrap();
    assert_eq!(client.wait().await.unwrap().exit_code, 143);
    f.assert_cleaned_up();
}

#[tokio::test]
async fn sigterm_to_handlerless_pid1_is_ignored() {
    if !is_root() {
        return;
    }
    // As with Docker: `sleep` as PID 1 installs no SIGTERM handler, so the kernel drops it.
    let f = Fixture::new(&["sleep", "100"]);
    let client = f.spawn().await.unwrap();
    client.start().await.unwrap();
    client.kill(15, false).await.unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(300), client.wait()).await;
    assert!(waited.is_err(), "SIGTERM unexpectedly ended PID 1");
    client.kill(9, false).await.unwrap();
    assert_eq!(client.wait().await.unwrap().exit_code, 137);
    f.assert_cleaned_up();
}

#[tokio::test]
async fn memory_limit_oom_kills() {
    if !is_root() {
        return;
    }
    let mut f = Fixture::new(&["sh", "-c", "x=a; while true; do x=$x$x; done"]);
    f.spec.memory = 8 << 20;
    let client = f.spawn().await.unwrap();
    client.start().await.unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(60), client.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.oom_killed, "{exit:?}");
    assert_eq!(exit.exit_code, 137);
    f.assert_cleaned_up();
}

#[tokio::test]
async fn binds_and_readonly_paths() {
    if !is_root() {
        return;
    }
    let mut f = Fixture::new(&[
        "sh",
        "-c",
        "cat /etc/berth-test; echo x > /proc/sys/kernel/hostname 2>/dev/null && echo writable; cat /proc/kcore | wc -c; ls /data",
    ]);
    let file = f.dir.path().join("hostfile");
    std::fs::write(&file, "from host\n").unwrap();
    let data = f.dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("inside"), "").unwrap();
    f.spec.binds = vec![
        berth_runtime::BindMount {
            source: file,
            destination: "/etc/berth-test".into(),
            readonly: true,
            propagation: String::new(),
            non_recursive: false,
        },
        berth_runtime::BindMount {
            source: data,
            destination: "/data".into(),
            readonly: false,
            propagation: String::new(),
            non_recursive: false,
        },
    ];
    let (out, err, code) = run(&f).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "from host\n0\ninside\n");
}

/// An exec's state once the shim has recorded its exit (within 20 s).
async fn exec_done(client: &berth_runtime::ShimClient, id: &str) -> berth_runtime::ExecStatus {
    for _ in 0..200 {
        let st = client.exec_state(id).await.unwrap();
        if !st.running {
            return st;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("exec {id} still running");
}

#[tokio::test]
async fn exec_joins_the_container() {
    if !is_root() {
        return;
    }
    let f = Fixture::new(&["sleep", "1000"]);
    let client = f.spawn().await.unwrap();
    client.start().await.unwrap();

    // Output, exit code, and the container's namespaces, hostname and cgroup.
    let process = berth_runtime::ExecProcess {
        args: vec![
            "sh".into(),
            "-c".into(),
            "hostname; [ \"$(cat /proc/self/cgroup)\" = \"$(cat /proc/1/cgroup)\" ] && echo same-cgroup; ls /proc/1/exe >/dev/null && readlink /proc/1/exe; for n in mnt net uts ipc pid cgroup; do [ \"$(readlink /proc/self/ns/$n)\" = \"$(readlink /proc/1/ns/$n)\" ] || echo \"$n namespace differs\"; done; echo err >&2; exit 7".into(),
        ],
        env: vec!["PATH=/bin".into()],
        ..Default::default()
    };
    // The namespaces are compared inside (the process may be gone before we could look
    // at it from here).
    let (_pid, mut stream) = client.exec("e1", process, false, false).await.unwrap();
    let (out, err) = read_frames(&mut stream).await;
    let out = String::from_utf8(out).unwrap();
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some(f.spec.hostname.as_str()), "{out}");
    assert_eq!(lines.next(), Some("same-cgroup"), "{out}");
    assert_eq!(lines.next(), Some("/bin/sleep"), "{out}");
    assert_eq!(lines.next(), None, "{out}");
    assert_eq!(err, b"err\n");
    // The output ends as the process exits; the shim records the exit just after.
    let st = exec_done(&client, "e1").await;
    assert_eq!((st.running, st.exit_code), (false, Some(7)));

    // Stdin, until the client closes its side.
    let process = berth_runtime::ExecProcess {
        args: vec!["tr".into(), "a-z".into(), "A-Z".into()],
        env: vec!["PATH=/bin".into()],
        open_stdin: true,
        ..Default::default()
    };
    let (_, stream) = client.exec("e2", process, false, false).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    wr.write_all(b"shout\n").await.unwrap();
    wr.shutdown().await.unwrap();
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), rd.read_to_end(&mut all))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all, b"\x01\x00\x00\x00\x00\x00\x00\x06SHOUT\n");
    assert_eq!(exec_done(&client, "e2").await.exit_code, Some(0));

    // A missing command fails like Docker's, the container keeps running.
    let process = berth_runtime::ExecProcess {
        args: vec!["nosuch".into()],
        env: vec!["PATH=/bin".into()],
        ..Default::default()
    };
    match client.exec("e3", process, false, false).await {
        Err(Error::Exec(m)) => assert!(m.contains("executable file not found"), "{m}"),
        other => panic!("expected an exec error, got {other:?}"),
    }
    assert_eq!(client.state().await.unwrap().status, "running");

    client.kill(9, false).await.unwrap();
    assert_eq!(client.wait().await.unwrap().exit_code, 137);
    f.assert_cleaned_up();
}

/// The shim starts from a clean descriptor table: a descriptor its parent leaked (open,
/// not close-on-exec) reaches neither the shim nor the container. Both die with SIGKILL
/// of the shim (the init's parent-death signal).
#[tokio::test]
async fn leaked_descriptors_are_closed_and_container_dies_with_shim() {
    use std::os::fd::AsRawFd;
    if !is_root() {
        return;
    }
    let f = Fixture::new(&["sleep", "100"]);
    let leaked_path = f.dir.path().join("leaked");
    let leaked = std::fs::File::create(&leaked_path).unwrap();
    // SAFETY: dup2 onto a number nothing in this test binary uses; dup2 leaves the copy
    // without close-on-exec, as a careless parent would. Closed right after the spawn.
    assert_eq!(unsafe { libc::dup2(leaked.as_raw_fd(), 250) }, 250);
    let client = f.spawn().await;
    // SAFETY: closing the descriptor made above.
    unsafe { libc::close(250) };
    let client = client.unwrap();
    let pid = client.start().await.unwrap();
    let shim = berth_runtime::client::shim_processes(f.dir.path(), "berth-shim".as_ref())
        .into_iter()
        .find(|s| s.id == "bundle")
        .expect("the shim process");
    for p in [shim.process.pid(), pid] {
        let fds: Vec<String> = std::fs::read_dir(format!("/proc/{p}/fd"))
            .unwrap()
            .flatten()
            .map(|e| std::fs::read_link(e.path()).unwrap_or_default())
            .map(|t| t.display().to_string())
            .collect();
        assert!(
            !fds.iter().any(|t| t == &leaked_path.display().to_string()),
            "process {p} holds the leaked descriptor: {fds:?}"
        );
    }
    shim.process.kill(libc::SIGKILL).unwrap();
    assert!(shim.process.wait_exit(Duration::from_secs(10)));
    let container = berth_runtime::linux::procs::Pidfd::open(pid);
    assert!(
        container.is_err() || container.unwrap().wait_exit(Duration::from_secs(10)),
        "the container outlived its shim"
    );
}
