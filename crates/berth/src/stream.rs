//! Moving bytes between the terminal and a hijacked attach/exec stream, and the terminal
//! modes that go with `-t`.

use std::io::Write;

use berth_client::{Demux, Hijacked};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The local terminal in raw mode until restored.
pub struct RawTerminal {
    orig: libc::termios,
}

pub fn is_tty(fd: i32) -> bool {
    // SAFETY: isatty has no memory effects.
    unsafe { libc::isatty(fd) == 1 }
}

impl RawTerminal {
    /// Put stdin in raw mode, if it is a terminal.
    pub fn enable() -> Option<RawTerminal> {
        if !is_tty(0) {
            return None;
        }
        let mut t = std::mem::MaybeUninit::<libc::termios>::uninit();
        // SAFETY: fd 0 is a terminal and `t` is a valid output buffer.
        if unsafe { libc::tcgetattr(0, t.as_mut_ptr()) } != 0 {
            return None;
        }
        // SAFETY: tcgetattr filled it.
        let orig = unsafe { t.assume_init() };
        let mut raw = orig;
        // SAFETY: cfmakeraw only edits the struct.
        unsafe { libc::cfmakeraw(&mut raw) };
        // SAFETY: valid fd and struct.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &raw) };
        Some(RawTerminal { orig })
    }

    pub fn restore(&self) {
        // SAFETY: valid fd and struct.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &self.orig) };
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        self.restore();
    }
}

/// (width, height) of the terminal on stdout or stdin.
pub fn term_size() -> Option<(u16, u16)> {
    for fd in [1, 0] {
        let mut ws = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ writes a winsize into `ws`.
        if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0 && ws.ws_col > 0 {
            return Some((ws.ws_col, ws.ws_row));
        }
    }
    None
}

/// How a stream ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The container side closed it (the process exited).
    Closed,
    /// The user typed the detach keys (Ctrl-P Ctrl-Q); the container keeps running.
    Detached,
}

/// Ctrl-P Ctrl-Q, docker's default detach keys.
const DETACH: [u8; 2] = [0x10, 0x11];

/// Scans typed input for the detach keys, holding back a Ctrl-P until it knows.
#[derive(Debug, Default)]
pub struct DetachScanner {
    held: bool,
}

impl DetachScanner {
    /// The bytes to forward, and whether the keys were typed (input after them is dropped).
    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(input.len() + 1);
        for &b in input {
            if self.held {
                self.held = false;
                if b == DETACH[1] {
                    return (out, true);
                }
                out.push(DETACH[0]);
            }
            if b == DETACH[0] {
                self.held = true;
            } else {
                out.push(b);
            }
        }
        (out, false)
    }
}

/// Copy our stdin into the stream (when `send_stdin`) and the stream's output to our
/// stdout/stderr (demultiplexed unless `tty`) until the output ends or, with a TTY, the
/// user types the detach keys.
pub async fn pump(stream: Hijacked, tty: bool, send_stdin: bool) -> std::io::Result<Ended> {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (detach_tx, mut detach_rx) = tokio::sync::oneshot::channel::<()>();
    let input = if send_stdin {
        Some(tokio::spawn(async move {
            let mut stdin = tokio::io::stdin();
            let mut buf = vec![0u8; 32 * 1024];
            let mut scanner = DetachScanner::default();
            loop {
                match stdin.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let (data, detached) = if tty {
                            scanner.feed(&buf[..n])
                        } else {
                            (buf[..n].to_vec(), false)
                        };
                        if wr.write_all(&data).await.is_err() {
                            return;
                        }
                        if detached {
                            let _ = detach_tx.send(());
                            return;
                        }
                    }
                }
            }
            let _ = wr.shutdown().await;
        }))
    } else {
        drop(wr);
        None
    };
    let mut demux = Demux::default();
    let mut buf = vec![0u8; 32 * 1024];
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    // Whether the stdin task is still there to say "detached" (once its sender is gone,
    // the receiver must not be polled again).
    let mut may_detach = true;
    let ended = loop {
        let n = tokio::select! {
            r = rd.read(&mut buf) => r?,
            d = &mut detach_rx, if may_detach => match d {
                Ok(()) => break Ended::Detached,
                Err(_) => {
                    may_detach = false;
                    continue;
                }
            },
        };
        if n == 0 {
            break Ended::Closed;
        }
        if tty {
            let mut o = stdout.lock();
            o.write_all(&buf[..n])?;
            o.flush()?;
            continue;
        }
        for (s, data) in demux.push(&buf[..n]) {
            if s == 2 {
                let mut e = stderr.lock();
                e.write_all(&data)?;
                e.flush()?;
            } else {
                let mut o = stdout.lock();
                o.write_all(&data)?;
                o.flush()?;
            }
        }
    };
    if let Some(t) = input {
        t.abort();
    }
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_are_found_across_reads() {
        let mut s = DetachScanner::default();
        assert_eq!(s.feed(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(s.feed(b"c"), (b"\x10c".to_vec(), false));
        assert_eq!(s.feed(b"x\x10"), (b"x".to_vec(), false));
        assert_eq!(s.feed(b"\x11rest"), (Vec::new(), true));
        let mut s = DetachScanner::default();
        assert_eq!(s.feed(b"\x10\x10\x11"), (b"\x10".to_vec(), true));
    }
}
