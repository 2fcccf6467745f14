//! Processes found in /proc and held by a pidfd, so that a signal or a wait reaches the
//! process that was found and never one that got its pid after it exited.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::time::{Duration, Instant};

/// A process by pidfd (pidfd_open(2), Linux 5.3+).
#[derive(Debug)]
pub struct Pidfd {
    pid: i32,
    fd: OwnedFd,
}

impl Pidfd {
    /// Open `pid`; fails with ESRCH when it is gone.
    pub fn open(pid: i32) -> std::io::Result<Pidfd> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: the kernel just returned this descriptor to us and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        Ok(Pidfd { pid, fd })
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Send `signal`; a process that has exited already is not an error.
    pub fn kill(&self, signal: i32) -> std::io::Result<()> {
        // SAFETY: pidfd_send_signal with a valid pidfd, no siginfo and no flags.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.fd.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ESRCH) {
            return Ok(());
        }
        Err(e)
    }

    /// Wait up to `timeout` for the process to exit (a zombie counts as exited); whether
    /// it did.
    pub fn wait_exit(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().min(i32::MAX as u128) as i32;
            // SAFETY: one valid pollfd for the duration of the call.
            let n = unsafe { libc::poll(&mut pfd, 1, ms) };
            if n > 0 {
                return true;
            }
            if n == 0 || Instant::now() >= deadline {
                return false;
            }
            // EINTR: poll again for what is left.
        }
    }
}

/// Every pid in /proc.
pub fn all_pids() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// The command line of `pid` (empty for a kernel thread or a zombie; None once gone).
pub fn cmdline(pid: i32) -> Option<Vec<OsString>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| OsString::from_vec(a.to_vec()))
            .collect(),
    )
}

/// The name the kernel keeps for `pid` (`comm`: the program's file name, cut to 15 bytes).
pub fn comm(pid: i32) -> Option<String> {
    let mut s = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    if s.ends_with('\n') {
        s.pop();
    }
    Some(s)
}

/// The parent pid of `pid`, from `/proc/<pid>/stat` (after the command name, which may
/// contain spaces and parentheses).
pub fn parent(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_ppid(&stat)
}

fn parse_stat_ppid(stat: &str) -> Option<i32> {
    stat_fields(stat)?.nth(1)?.parse().ok()
}

/// Whether `pid` is gone or on its way out: no such process, a zombie, or a task the
/// kernel marked `PF_EXITING` (still in `do_exit`, e.g. tearing its namespaces down; a
/// cgroup freeze waits for such a task and a shim has not seen its exit yet).
pub fn exiting(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => parse_stat_exiting(&stat),
        Err(_) => true,
    }
}

fn parse_stat_exiting(stat: &str) -> bool {
    const PF_EXITING: u64 = 0x4;
    let Some(mut f) = stat_fields(stat) else {
        return false;
    };
    // " S ppid pgrp session tty_nr tpgid flags ...".
    let state = f.next().unwrap_or_default();
    let flags: u64 = f.nth(5).and_then(|v| v.parse().ok()).unwrap_or(0);
    matches!(state, "Z" | "X" | "x") || flags & PF_EXITING != 0
}

/// The fields of a `/proc/PID/stat` line after the command name (which may hold spaces
/// and parentheses), from the state on.
fn stat_fields(stat: &str) -> Option<std::str::SplitWhitespace<'_>> {
    Some(stat[stat.rfind(')')? + 1..].split_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppid_after_odd_names() {
        assert_eq!(parse_stat_ppid("42 (a) b) S 7 42 42 0"), Some(7));
        assert_eq!(parse_stat_ppid("1 (init) S 0 1 1"), Some(0));
        assert_eq!(parse_stat_ppid("garbage"), None);
    }

    #[test]
    fn exiting_from_state_and_flags() {
        let line = |state: &str, flags: u64| format!("9 (a) b) {state} 1 9 9 0 -1 {flags} 0 0");
        assert!(!parse_stat_exiting(&line("S", 0x400100)));
        assert!(!parse_stat_exiting(&line("R", 0x400000)));
        assert!(parse_stat_exiting(&line("D", 0x400104)), "PF_EXITING");
        assert!(parse_stat_exiting(&line("Z", 0x400000)));
        assert!(!parse_stat_exiting("garbage"));
        assert!(!exiting(std::process::id() as i32));
        assert!(exiting(i32::MAX), "no such process");
    }

    #[test]
    fn finds_itself_and_its_parent() {
        let me = std::process::id() as i32;
        assert!(all_pids().contains(&me));
        assert_eq!(parent(me), Some(nix::unistd::getppid().as_raw()));
        assert!(!cmdline(me).expect("own cmdline").is_empty());
        let exe = std::env::current_exe().expect("exe");
        let name = exe
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert_eq!(comm(me).expect("comm"), name[..name.len().min(15)]);
    }

    #[test]
    fn pidfd_sees_a_child_exit() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let p = Pidfd::open(child.id() as i32).expect("pidfd");
        assert!(!p.wait_exit(Duration::from_millis(10)));
        p.kill(libc::SIGKILL).expect("kill");
        assert!(p.wait_exit(Duration::from_secs(10)));
        let _ = child.wait();
        // Reaped: signalling it is still fine.
        p.kill(libc::SIGKILL).expect("kill after exit");
    }
}
