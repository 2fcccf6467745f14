//! Helpers for Berth's end-to-end tests: a real `berthd` on its own socket, data root,
//! exec root and cgroup parent, driven with `berth` and the real `docker` CLI.
//!
//! Binaries are taken from `BERTH_BIN_DIR`, else `$CARGO_TARGET_DIR/debug`, else
//! `<workspace>/target/debug`: build them first (`cargo build --workspace --bins`).
//! [`Daemon`] cleans up everything it made when dropped, also when a test fails.
#![allow(clippy::unwrap_used)]

pub mod faults;
pub mod stdio;
pub mod terminal;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The real docker CLI.
pub const DOCKER: &str = "/usr/local/bin/docker";

/// Directory holding berthd, berth and berth-shim.
pub fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BERTH_BIN_DIR") {
        return PathBuf::from(d);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("debug")
}

/// `../shared/images/NAME` of the workspace.
pub fn image(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/images")
        .join(name)
}

/// Skip (return true and say why) when not root: these tests create namespaces and mounts.
pub fn skip_unless_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: end-to-end tests need root (namespaces, mounts, cgroups)");
        return true;
    }
    false
}

/// Whether the real docker CLI is installed.
pub fn have_docker_cli() -> bool {
    Path::new(DOCKER).is_file()
}

/// The CLIs a test drives a daemon with: `berth` (`false`) and, where it is installed, the
/// docker CLI (`true`); see [`Daemon::cli`].
pub fn clis() -> Vec<bool> {
    let mut clis = vec![false];
    if have_docker_cli() {
        clis.push(true);
    }
    clis
}

/// Now as Unix seconds with nanoseconds, as the docker CLI sends `--since`/`--until`
/// times (its durations ago go as whole seconds, which leave out the current second).
pub fn now_unix() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

/// Poll `f` every 100 ms for up to `secs` seconds; whether it came true.
pub fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A unique short tag for names owned by one test.
pub fn unique(prefix: &str) -> String {
    let mut b = [0u8; 4];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut b);
    }
    format!(
        "{prefix}{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}

/// A running berthd owned by one test.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub cgroup_parent: String,
    child: Option<Child>,
    /// Extra berthd flags, kept for restarts.
    extra: Vec<String>,
    /// Environment variables set for berthd, kept for restarts.
    env: Vec<(String, String)>,
    /// Files berthd inherits at the descriptor numbers given (not close-on-exec).
    inherit: Vec<(i32, std::fs::File)>,
    /// This daemon's own network names: its nftables table (`inet <fw_table>`), its
    /// default bridge (`None`: `--bridge none`, the default here), and the second octet
    /// of its addresses, `10.<net_octet>.0.0/16` (the default bridge is
    /// `10.<net_octet>.255.0/24`, networks without a subnet get /24s from the rest).
    pub fw_table: String,
    pub bridge: Option<String>,
    pub net_octet: u8,
}

/// A second octet for one daemon's addresses (`10.X.0.0/16`): different for daemons of
/// one test binary (they run at once) and, likely, from the binary run before.
fn net_octet() -> u8 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) + std::process::id() * 7;
    (100 + n % 150) as u8
}

/// The output of a command, with helpers for assertions.
pub struct Run {
    pub out: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    /// Panic with both streams unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            code,
            "exit code; stdout: {:?} stderr: {:?}",
            self.stdout(),
            self.stderr()
        );
        self
    }
    #[track_caller]
    pub fn ok(&self) -> &Self {
        self.expect_code(0)
    }
}

impl Daemon {
    /// Start a berthd in a fresh temp dir and wait for its socket to answer.
    pub fn start() -> Daemon {
        Daemon::start_with(&[])
    }

    /// The start of most tests: [`skip_unless_root`], then a daemon with busybox loaded
    /// (`None`, and the test returns, when not root).
    pub fn with_busybox() -> Option<Daemon> {
        if skip_unless_root() {
            return None;
        }
        let d = Daemon::start();
        d.load("busybox.tar");
        Some(d)
    }

    /// [`Daemon::start`] with extra berthd flags.
    pub fn start_with(extra: &[&str]) -> Daemon {
        Daemon::start_with_env(extra, &[])
    }

    /// [`Daemon::start_with`], berthd's environment changed by `env` (e.g. its PATH).
    pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        let mut d = Daemon::unstarted(extra, env);
        d.spawn();
        d
    }

    /// A daemon ready to [`Daemon::spawn`]: its temp dir, socket and cgroup parent.
    /// A daemon with a default bridge of its own (`bt` and a unique tag, subnet
    /// `10.<net_octet>.255.0/24`) and busybox loaded.
    pub fn networked() -> Option<Daemon> {
        if skip_unless_root() {
            return None;
        }
        let mut d = Daemon::unstarted(&[], &[]);
        d.bridge = Some(unique("bt"));
        d.spawn();
        d.load("busybox.tar");
        Some(d)
    }

    /// A subnet of this daemon's own for a test's network: `10.<net_octet>.<n>.0/24`
    /// (`n` from 128: networks without a subnet take theirs from the bottom).
    pub fn subnet(&self, n: u8) -> String {
        format!("10.{}.{}.0/24", self.net_octet, 128 + n % 100)
    }

    /// An IPv6 subnet of this daemon's own, beside [`Daemon::subnet`]`(n)`:
    /// `fd00:b:<net_octet>:<128 + n>::/64` (hex).
    pub fn subnet6(&self, n: u8) -> String {
        format!("fd00:b:{:x}:{:x}::/64", self.net_octet, 128 + n % 100)
    }

    fn unstarted(extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("berth-e2e.")
            .tempdir_in("/tmp")
            .expect("tempdir");
        let cgroup_parent = unique("berth-e2e-");
        Daemon {
            socket: dir.path().join("berthd.sock"),
            dir,
            cgroup_parent,
            child: None,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            fw_table: unique("berth_e2e_"),
            bridge: None,
            net_octet: net_octet(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            inherit: Vec::new(),
        }
    }

    /// A daemon that inherits `file` as descriptor `fd` (not close-on-exec), as from a
    /// shell's `exec 251>file` in whatever started it.
    pub fn start_inheriting(fd: i32, file: std::fs::File) -> Daemon {
        let mut d = Daemon::unstarted(&[], &[]);
        d.inherit.push((fd, file));
        d.spawn();
        d
    }

    /// A daemon whose data root is a tmpfs of `bytes` (mounted in its temp dir, unmounted
    /// when it is dropped): a disk that fills up.
    pub fn start_on_small_disk(bytes: u64) -> Daemon {
        let mut d = Daemon::unstarted(&[], &[]);
        let root = d.dir.path().join("root");
        std::fs::create_dir_all(&root).expect("data root");
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={bytes}"),
                "berth-e2e-disk",
            ])
            .arg(&root)
            .status()
            .expect("mount");
        assert!(ok.success(), "mounting a tmpfs on {}", root.display());
        d.spawn();
        d
    }

    /// The data root (`--data-root`).
    pub fn data_root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// The exec root (`--exec-root`).
    pub fn exec_root(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// berthd's pid, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Set (`Some`) or unset (`None`) a variable of berthd's environment for its next
    /// start.
    pub fn set_env(&mut self, key: &str, value: Option<&str>) {
        self.env.retain(|(k, _)| k != key);
        if let Some(v) = value {
            self.env.push((key.to_string(), v.to_string()));
        }
    }

    /// Wait up to `secs` for berthd to exit by itself (e.g. at a fault point); whether it
    /// did. It is then down, as after [`Daemon::kill9`].
    pub fn wait_down(&mut self, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            match self.child.as_mut().map(|c| c.try_wait()) {
                None => return true,
                Some(Ok(Some(_))) => {
                    self.child = None;
                    return true;
                }
                Some(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        false
    }

    fn try_spawn(&mut self) -> bool {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("berthd.log"))
            .expect("log file");
        let mut cmd = Command::new(bin_dir().join("berthd"));
        let inherit: Vec<(i32, i32)> = self
            .inherit
            .iter()
            .map(|(fd, f)| (*fd, std::os::fd::AsRawFd::as_raw_fd(f)))
            .collect();
        if !inherit.is_empty() {
            // SAFETY: the closure only calls dup2, which is async-signal-safe, on
            // descriptors that stay open in the parent until spawn returns.
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
                    for (to, from) in &inherit {
                        if libc::dup2(*from, *to) < 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                    Ok(())
                });
            }
        }
        let child = cmd
            .arg("--data-root")
            .arg(self.dir.path().join("root"))
            .arg("--exec-root")
            .arg(self.dir.path().join("run"))
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .arg("--cgroup-parent")
            .arg(&self.cgroup_parent)
            .arg("--log-level")
            .arg("debug")
            .arg("--firewall-table")
            .arg(&self.fw_table)
            .arg("--default-address-pool")
            .arg(format!("base=10.{}.0.0/17,size=24", self.net_octet))
            .args(match &self.bridge {
                Some(b) => vec![
                    "--bridge".to_string(),
                    b.clone(),
                    "--bip".to_string(),
                    format!("10.{}.255.1/24", self.net_octet),
                ],
                None => vec!["--bridge".to_string(), "none".to_string()],
            })
            .args(&self.extra)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "starting {}: {e} (build the binaries first: cargo build --workspace --bins)",
                    bin_dir().join("berthd").display()
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self
                .raw("GET", "/_ping", "")
                .is_some_and(|r| r.starts_with("HTTP/1.1 200"))
            {
                return true;
            }
            if let Some(Ok(Some(_))) = self.child.as_mut().map(|c| c.try_wait()) {
                self.child = None;
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("berthd did not answer within 20s; log:\n{}", self.log());
    }

    fn spawn(&mut self) {
        assert!(
            self.try_spawn(),
            "berthd exited before it answered; log:\n{}",
            self.log()
        );
    }

    /// Start berthd again after [`Daemon::kill9`]; false when it exited before it answered
    /// (e.g. at a fault point reached while it recovers).
    pub fn try_restart(&mut self) -> bool {
        self.try_spawn()
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("berthd.log")).unwrap_or_default()
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// Kill the daemon with SIGKILL (containers keep running) and start it again.
    pub fn kill9_and_restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// SIGKILL berthd and leave it down (containers and shims go on); [`Daemon::restart`]
    /// brings it back.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start berthd again: after [`Daemon::kill9`], or stopped first (SIGTERM, as a
    /// service manager stops it) when it runs.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// SIGTERM berthd and wait for it (killed after 5 s); nothing when it is down.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && matches!(c.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `berth ARGS` against this daemon.
    pub fn berth(&self, args: &[&str]) -> Run {
        self.berth_stdin(args, None)
    }

    pub fn berth_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Run {
        let mut cmd = Command::new(bin_dir().join("berth"));
        cmd.env("BERTH_HOST", self.host())
            .env_remove("DOCKER_HOST")
            .args(args);
        run(cmd, stdin)
    }

    /// The real docker CLI against this daemon.
    pub fn docker(&self, args: &[&str]) -> Run {
        let mut cmd = self.cli_command(true);
        cmd.args(args);
        run(cmd, None)
    }

    /// `berth` (`docker` false) or the docker CLI (`docker` true) against this daemon.
    /// The docker CLI where it is installed, else `berth`.
    pub fn docker_or_berth(&self, args: &[&str]) -> Run {
        self.cli(have_docker_cli(), args)
    }

    pub fn cli(&self, docker: bool, args: &[&str]) -> Run {
        if docker {
            self.docker(args)
        } else {
            self.berth(args)
        }
    }

    /// A command for `berth` or the docker CLI pointed at this daemon, for a child the test
    /// drives itself (its own stdio, signals).
    pub fn cli_command(&self, docker: bool) -> Command {
        if docker {
            let mut cmd = Command::new(DOCKER);
            cmd.env("DOCKER_HOST", self.host())
                .env("DOCKER_CONFIG", self.dir.path().join("docker-config"));
            cmd
        } else {
            let mut cmd = Command::new(bin_dir().join("berth"));
            cmd.env("BERTH_HOST", self.host()).env_remove("DOCKER_HOST");
            cmd
        }
    }

    /// One raw HTTP/1.0-style request; the whole response as text (None if no connection).
    pub fn raw(&self, method: &str, path: &str, body: &str) -> Option<String> {
        let mut s = UnixStream::connect(&self.socket).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: berth\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    }

    /// The ids of the daemon's networks (through the API).
    pub fn network_ids(&self) -> Vec<String> {
        let resp = self.raw("GET", "/networks", "").unwrap_or_default();
        let body = resp.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let nets: Vec<serde_json::Value> = serde_json::from_str(body).unwrap_or_default();
        nets.iter()
            .filter_map(|n| n["Id"].as_str().map(str::to_string))
            .collect()
    }

    /// Load an image from ../shared/images with berth.
    pub fn load(&self, name: &str) {
        let path = image(name);
        self.berth(&["load", "-i", path.to_str().expect("utf-8 path")])
            .ok();
    }
}

fn run(mut cmd: Command, stdin: Option<&[u8]>) -> Run {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    if let Some(data) = stdin {
        let mut w = child.stdin.take().expect("stdin");
        w.write_all(data).expect("writing stdin");
    }
    let out = child.wait_with_output().expect("waiting for command");
    Run { out }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Remove every container through the API, then stop the daemon.
        if self.child.is_some() {
            let ids = self.berth(&["ps", "-aq", "--no-trunc"]).stdout();
            for id in ids.split_whitespace() {
                let _ = self.raw("DELETE", &format!("/containers/{id}?force=1"), "");
            }
            // Its networks (their bridges), then a stop that removes its firewall table.
            for id in self.network_ids() {
                let _ = self.raw("DELETE", &format!("/networks/{id}"), "");
            }
        }
        self.stop();
        // Whatever a failed test (or a killed daemon) left of its network names.
        let _ = Command::new("nft")
            .args(["delete", "table", "inet", &self.fw_table])
            .stderr(Stdio::null())
            .status();
        if let Some(b) = &self.bridge {
            let _ = Command::new("ip")
                .args(["link", "delete", b])
                .stderr(Stdio::null())
                .status();
        }
        let root = self.dir.path().to_string_lossy().into_owned();
        // Shims still alive (a failed test): kill them.
        if let Ok(procs) = std::fs::read_dir("/proc") {
            for p in procs.flatten() {
                let cmdline = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
                let cmdline = String::from_utf8_lossy(&cmdline);
                if cmdline.contains("berth-shim")
                    && cmdline.contains(&root)
                    && let Ok(pid) = p.file_name().to_string_lossy().parse::<i32>()
                {
                    // SAFETY: kill has no memory-safety preconditions.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        }
        // Mounts under the temp dir, deepest first.
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let mut ours: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .filter(|m| m.starts_with(&root))
            .collect();
        ours.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in ours {
            let _ = Command::new("umount").arg("-l").arg(m).status();
        }
        // Processes left in our containers' cgroups (a failed test, a container that
        // outlived its shim): thawed, so that they can die, and killed.
        for base in cgroup_roots() {
            let Ok(children) = std::fs::read_dir(base.join(&self.cgroup_parent)) else {
                continue;
            };
            for c in children.flatten().filter(|c| c.path().is_dir()) {
                let _ = std::fs::write(c.path().join("freezer.state"), "THAWED");
                let _ = std::fs::write(c.path().join("cgroup.freeze"), "0");
                let procs = std::fs::read_to_string(c.path().join("cgroup.procs"));
                for pid in procs.unwrap_or_default().lines() {
                    if let Ok(pid) = pid.trim().parse::<i32>() {
                        // SAFETY: kill has no memory-safety preconditions.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
            }
        }
        // Our cgroup parent in every hierarchy (children go when their shims exit).
        let deadline = Instant::now() + Duration::from_secs(5);
        for base in cgroup_roots() {
            let dir = base.join(&self.cgroup_parent);
            while dir.exists() && Instant::now() < deadline {
                if let Ok(children) = std::fs::read_dir(&dir) {
                    for c in children.flatten() {
                        if c.path().is_dir() {
                            let _ = std::fs::remove_dir(c.path());
                        }
                    }
                }
                if std::fs::remove_dir(&dir).is_ok() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Every cgroup hierarchy mount point (v1 controllers, or the v2 root).
pub fn cgroup_roots() -> Vec<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2 && (f[2] == "cgroup" || f[2] == "cgroup2")).then(|| PathBuf::from(f[1]))
        })
        .collect()
}
