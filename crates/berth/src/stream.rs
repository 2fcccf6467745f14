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

/// Copy our stdin into the stream (when `send_stdin`) and the stream's output to our
/// stdout/stderr (demultiplexed unless `tty`) until the output ends.
pub async fn pump(stream: Hijacked, tty: bool, send_stdin: bool) -> std::io::Result<()> {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let input = if send_stdin {
        Some(tokio::spawn(async move {
            let mut stdin = tokio::io::stdin();
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match stdin.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if wr.write_all(&buf[..n]).await.is_err() {
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
    loop {
        let n = rd.read(&mut buf).await?;
        if n == 0 {
            break;
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
    }
    if let Some(t) = input {
        t.abort();
    }
    Ok(())
}
