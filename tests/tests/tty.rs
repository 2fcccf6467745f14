//! `run -it` through a real pseudo-terminal (util-linux `script`), and resizing a TTY.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use berth_e2e::{Daemon, bin_dir, have_docker_cli, skip_unless_root, unique};

/// A command running under `script`, on a real terminal, whose output is collected as it
/// comes so the test can wait for what it expects before typing on.
struct Terminal {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    out: std::sync::Arc<std::sync::Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

impl Terminal {
    fn start(command: &str, host: &str) -> Terminal {
        let mut child = Command::new("script")
            .args(["-qfec", command, "/dev/null"])
            .env("BERTH_HOST", host)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let out = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = out.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match std::io::Read::read(&mut stdout, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => sink
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]).replace('\r', "")),
                }
            }
        });
        Terminal {
            child,
            stdin,
            out,
            reader,
        }
    }

    fn text(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Wait (up to 30 s) until the terminal has shown `s`.
    fn wait_for(&self, s: &str) {
        for _ in 0..300 {
            if self.text().contains(s) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the terminal never showed {s:?}: {}", self.text());
    }

    fn type_in(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).unwrap();
        self.stdin.flush().unwrap();
    }

    /// Wait for the command to end: its exit code and everything it showed.
    fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().unwrap();
        let text = self.out.clone();
        self.reader.join().unwrap();
        let text = text.lock().unwrap().clone();
        (status.code(), text)
    }
}

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
