//! How an exec's or an attach's stdio stream runs: Docker's detach keys (parsed as
//! moby/term does) and when they apply, and the checks of an attach before its connection
//! is hijacked.

use crate::{Engine, Error, Result};

/// Docker's detach keys when none are given: Ctrl-P Ctrl-Q.
pub const DEFAULT_DETACH_KEYS: [u8; 2] = [0x10, 0x11];

/// Parse a detach key sequence as Docker does (moby/term `ToBytes`): comma-separated keys,
/// each a single character, `ctrl-@`, `ctrl-a`..`ctrl-z`, `ctrl-[`, `ctrl-\`, `ctrl-]`,
/// `ctrl-^`, `ctrl-_` or `DEL`. `None` when a key is none of these.
pub fn parse_detach_keys(keys: &str) -> Option<Vec<u8>> {
    const CTRL: &[u8] = b"@abcdefghijklmnopqrstuvwxyz[\\]^_";
    keys.split(',')
        .map(|key| match key.as_bytes() {
            [c] => Some(*c),
            b"DEL" => Some(127),
            [b'c', b't', b'r', b'l', b'-', c] => CTRL.iter().position(|x| x == c).map(|i| i as u8),
            _ => None,
        })
        .collect()
}

/// Where the detach keys apply to an exec's or attach's stream: with a TTY and stdin, as
/// in dockerd (without a TTY, input goes through untouched).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StdioSession {
    /// The container (attach) or the exec (its create) has a TTY.
    pub tty: bool,
    /// The sequence that ends the session (the process keeps running), if it applies.
    pub detach_keys: Option<Vec<u8>>,
}

impl Engine {
    /// How an attach to container `key` runs: the detach keys (`detachKeys`, "" for the
    /// default) end it when the container has a TTY and an open stdin the client attaches
    /// to. Invalid keys, and a paused or restarting container, are refused with Docker's
    /// messages.
    pub fn attach_session(&self, key: &str, stdin: bool, keys: &str) -> Result<StdioSession> {
        // In dockerd's order: the keys, the container, its state.
        let keys = if keys.is_empty() {
            DEFAULT_DETACH_KEYS.to_vec()
        } else {
            parse_detach_keys(keys)
                .ok_or_else(|| Error::invalid(format!("Invalid detach keys ({keys}) provided")))?
        };
        let entry = self.lookup(key)?;
        let r = entry.record();
        if r.state.paused {
            return Err(Error::conflict(format!(
                "container {key} is paused, unpause the container before attach"
            )));
        }
        if r.state.restarting {
            return Err(Error::conflict(format!(
                "container {key} is restarting, wait until the container is running"
            )));
        }
        Ok(StdioSession {
            tty: r.config.tty,
            detach_keys: (stdin && r.config.tty && r.config.open_stdin).then_some(keys),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse_as_docker() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q"), Some(vec![0x10, 0x11]));
        assert_eq!(parse_detach_keys("ctrl-@"), Some(vec![0]));
        assert_eq!(parse_detach_keys("ctrl-a,x,DEL"), Some(vec![1, b'x', 127]));
        assert_eq!(
            parse_detach_keys("ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_"),
            Some(vec![27, 28, 29, 30, 31])
        );
        assert_eq!(parse_detach_keys("ctrl-z"), Some(vec![26]));
        for bad in ["ctrl-P", "ctrl-", "ab", "ctrl-p,", "", "ctrl-1", "é"] {
            assert_eq!(parse_detach_keys(bad), None, "{bad:?}");
        }
    }
}
