//! Named and anonymous volumes (issue 14), as a library the engine calls; not wired into
//! the engine, the API or the CLI yet.
//!
//! - [`Driver`]: what a volume driver does (create with options, get, list, path,
//!   mount/unmount with a reference count per user, remove refused while in use).
//!   [`LocalDriver`] is Docker's `local` driver: content under
//!   `<root>/volumes/<name>/_data` as dockerd lays it out, metadata in its own redb file
//!   `<root>/volumes/metadata.db` (as dockerd keeps its own `metadata.db`), the options
//!   `type`/`device`/`o` validated and mounted as dockerd's local driver does.
//! - [`VolumeService`]: the drivers by name (`local` built in), `create` (named, or
//!   anonymous: 64 hex digits and the `com.docker.volume.anonymous` label as Docker 23+),
//!   `list` with the filters `name`, `label`, `dangling`, `driver`, `prune` (anonymous
//!   volumes only unless `all`), `usage` for `system df -v`.
//! - [`copy`]: copy-up of an image directory into an empty volume, and the moves beyond
//!   Docker: `export` (a tar of `_data`), `import`, `clone`; all through `berth-archive`,
//!   whose rules keep everything inside the volume.
//! - `testsuite` (feature `testsuite`): the checks every driver runs, as containerd's
//!   `snapshots/testsuite`.
//!
//! Errors carry Docker's messages; [`Error::kind`] is what the API maps to a status.
//!
//! # How the engine is meant to call it
//!
//! 1. Daemon start: `VolumeService::new(Arc::new(LocalDriver::open(data_root)?))`
//!    (crash leftovers are deleted there). Then rebuild the counts, which live in memory
//!    only: `reference(name, id)` for every volume of every container on record, and
//!    `mount(name, id)` for those of each container found running (a volume still
//!    mounted, a tmpfs one for example, is not mounted again).
//! 2. Container create: each named volume is `get` or, when missing, `create`d (Docker
//!    creates it on first use: `create(name, driver, opts, labels)`); each anonymous one
//!    (`-v /data`, an image's `VOLUME`) is `create_anonymous`. Then `reference(name, id)`
//!    for each: from now until the container is removed, `volume rm` is a 409 naming it,
//!    running or not, as dockerd. The container's record keeps the names.
//! 3. Container start: `mount(name, id)` gives the host path to bind; when the mount
//!    does not say `nocopy`, [`copy::copy_up`]`(rootfs, destination, path)` before the
//!    container runs (it copies only into an empty volume, from the image's directory
//!    resolved inside the container's root). The bind itself, and its destination, must
//!    be resolved inside the container's root by the engine's mount code, so that a
//!    symlink a container planted in a volume (`/t/root -> /`) never leads a later mount
//!    or copy to the host's `/`.
//! 4. Container stop (and every exit): `unmount(name, id)`; the last one unmounts a
//!    volume with mount options.
//! 5. Container removal: `release(name, id)` for each of its volumes; with `rm -v` and
//!    `--rm`, then `remove` its anonymous ones (not the named ones).
//! 6. `docker volume rm`: `remove(name, force)`; in use is a 409 whatever `force` says;
//!    `force` only makes a missing volume not an error, as dockerd. `volume ls` is `list`
//!    with [`Filters::from_json`]; `volume prune` is `prune(filters, api < 1.42)`;
//!    `system df -v` is `usage`.
//! 7. `berth volume export/import/clone` (beyond Docker): mount the volumes under a
//!    user id of the operation's own, call [`copy::export`], [`copy::import`],
//!    [`copy::clone`] with their paths, then unmount.

pub mod copy;
mod error;
mod local;
mod service;
#[cfg(any(test, feature = "testsuite"))]
pub mod testsuite;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use error::{Error, ErrorKind, Result};
pub use local::LocalDriver;
pub use service::{Filters, PruneReport, Usage, VolumeService, dir_size};

/// The label Docker 23+ puts on anonymous volumes (prune without `all` removes only these).
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// A volume as the API shows it (`docker volume inspect`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Volume {
    pub name: String,
    pub driver: String,
    /// The host path its content is at (`<root>/volumes/<name>/_data` for `local`).
    pub mountpoint: PathBuf,
    /// RFC 3339, seconds, UTC (`2026-12-02T14:18:11Z`).
    pub created_at: String,
    pub labels: BTreeMap<String, String>,
    /// The driver options it was created with (`type`, `device`, `o` for `local`).
    pub options: BTreeMap<String, String>,
    /// `local` (Berth has no cluster volumes).
    pub scope: String,
}

/// What a volume driver does; [`LocalDriver`] is the first, and `testsuite` checks
/// each one the same way.
///
/// A volume is in use while it has at least one user ([`Driver::mount`] without its
/// [`Driver::unmount`]); [`Driver::remove`] refuses it then.
pub trait Driver: Send + Sync {
    /// The driver's name (`local`).
    fn name(&self) -> &str;
    /// Create `name` with the driver's `options` and `labels`. Creating one that exists
    /// gives the existing one back, as dockerd does.
    fn create(
        &self,
        name: &str,
        options: &BTreeMap<String, String>,
        labels: &BTreeMap<String, String>,
    ) -> Result<Volume>;
    /// The volume `name`, or [`Error::NotFound`].
    fn get(&self, name: &str) -> Result<Volume>;
    /// Every volume of this driver, by name.
    fn list(&self) -> Result<Vec<Volume>>;
    /// Where the volume's content is on the host (mounted or not).
    fn path(&self, name: &str) -> Result<PathBuf>;
    /// Count one more use of `name` by `user` (a container id) and give the path to bind;
    /// the first use mounts a volume that has mount options. Mounting again for the same
    /// user counts once.
    fn mount(&self, name: &str, user: &str) -> Result<PathBuf>;
    /// Drop `user`'s use of `name`; the last one unmounts what [`Driver::mount`] mounted.
    fn unmount(&self, name: &str, user: &str) -> Result<()>;
    /// The users of `name` now, sorted.
    fn users(&self, name: &str) -> Result<Vec<String>>;
    /// Remove `name` and its content; refused while it has users. `force`: a missing
    /// volume is not an error.
    fn remove(&self, name: &str, force: bool) -> Result<()>;
}

/// Check a volume name against Docker's rule for local names
/// (`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`), with dockerd's messages (without the `create NAME: `
/// prefix, which [`Error::Invalid`] adds).
pub fn validate_name(name: &str) -> std::result::Result<(), String> {
    if name.len() == 1 {
        return Err(
            "volume name is too short, names should be at least two alphanumeric characters".into(),
        );
    }
    let b = name.as_bytes();
    let ok = !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} includes invalid characters for a local volume name, only \
             \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host \
             directory, use absolute path"
        ))
    }
}

/// A new anonymous volume name: 64 random hex digits, as Docker's.
pub fn anonymous_name() -> Result<String> {
    let mut buf = [0u8; 32];
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: the pointer and length describe the unfilled tail of `buf`.
        let n = unsafe { libc::getrandom(buf[got..].as_mut_ptr().cast(), buf.len() - got, 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::io("getrandom", e));
        }
        got += n as usize;
    }
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Now as RFC 3339 in seconds, UTC.
pub(crate) fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dockers_rule_and_messages() {
        for ok in ["ab", "vol-1", "a.b_c-d", "0x"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            validate_name("a").unwrap_err(),
            "volume name is too short, names should be at least two alphanumeric characters"
        );
        for bad in ["bad/name", "-x", ".x", "vol-bad name", "", "é1"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
        // The reference dockerd 20.10's message, word for word.
        assert_eq!(
            validate_name("bad/name").unwrap_err(),
            "\"bad/name\" includes invalid characters for a local volume name, only \
             \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host \
             directory, use absolute path"
        );
    }

    #[test]
    fn anonymous_names_are_64_hex_and_differ() {
        let a = anonymous_name().unwrap();
        let b = anonymous_name().unwrap();
        assert_eq!(a.len(), 64);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
        assert!(validate_name(&a).is_ok());
    }
}
