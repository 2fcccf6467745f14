//! A command on a real terminal: util-linux `script` runs it on a pseudo-terminal, the test
//! reads what it shows as it comes and types into it.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Whether util-linux `script` is there (skip the test, saying why, when not).
pub fn have_script() -> bool {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipping: util-linux `script` not installed");
        return false;
    }
    true
}

/// A command running under `script`, on a real terminal, whose output is collected as it
/// comes so the test can wait for what it expects before typing on.
pub struct Terminal {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    out: std::sync::Arc<std::sync::Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

impl Terminal {
    pub fn start(command: &str, host: &str) -> Terminal {
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

    pub fn text(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Wait (up to 30 s) until the terminal has shown `s`.
    pub fn wait_for(&self, s: &str) {
        for _ in 0..300 {
            if self.text().contains(s) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the terminal never showed {s:?}: {}", self.text());
    }

    pub fn type_in(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).unwrap();
        self.stdin.flush().unwrap();
    }

    /// Wait for the command to end: its exit code and everything it showed.
    pub fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().unwrap();
        let text = self.out.clone();
        self.reader.join().unwrap();
        let text = text.lock().unwrap().clone();
        (status.code(), text)
    }
}
