//! Berth's one tar reader and writer, with one set of safety rules for everything that
//! turns archives into files or files into archives: image layers (load, commit, import),
//! `docker cp` both ways (the daemon's helper and the `berth cp` CLI), and later build
//! contexts and volume export.
//!
//! - [`extract()`] writes a tar (plain, gzip or zstd) into a directory. Whatever the
//!   archive holds stays inside it: `..` is refused, absolute names are taken relative to
//!   it, parents are opened one component at a time without following symlinks, hard
//!   links must point inside. The caller's [`Options`] say what whiteouts are (overlayfs
//!   form, plain files, refused), who owns the files (the archive's owners, mapped, forced,
//!   or the extracting process), whether device nodes may be made, what happens to
//!   extended attributes, whether a directory may replace a file and the other way round,
//!   how many entries and bytes are allowed, and how names are rebased.
//! - [`Writer`] writes a tar from a directory tree read through directory fds ([`Dir`]):
//!   names exactly as given (the naming rules `docker cp` needs), hard links kept, the
//!   chosen extended attributes.
//! - [`compress`]: gzip and zstd input, and hashing a stream on the way.
//! - [`sys`]: the `*at(2)` system calls both are built on.
//!
//! The hostile-archive suite (`tests/hostile.rs`) runs against this crate; each caller
//! runs the same cases ([`hostile`]) again end to end.

pub mod compress;
mod extract;
pub mod hostile;
pub mod sys;
mod write;
pub mod xattr;

pub use compress::{Compression, HashReader, decompress};
pub use extract::{
    Devices, Digesting, Extracted, IdMap, IdRange, Limits, Options, Owners, Rename, Whiteouts,
    Xattrs, extract,
};
pub use write::{Dir, Stat, WriteOptions, Writer, XattrSet};

/// What went wrong reading or writing an archive.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The archive is malformed, or asks for something the rules or options forbid
    /// (a path escaping the destination, a device node where none may be...).
    #[error("{0}")]
    Invalid(String),
    /// The archive goes over one of the [`Limits`].
    #[error("{0}")]
    Limit(String),
    /// A file changed while it was being archived (a running container's).
    #[error("{0}")]
    Changed(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
