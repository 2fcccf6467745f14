//! Errors of the runtime crate.

/// What went wrong, with enough context to show a user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The container's process could not be executed (not found, not executable...). The
    /// message reads like Docker's, e.g. `exec: "nosuch": executable file not found in $PATH`.
    #[error("{0}")]
    Exec(String),
    /// The shim is gone (socket refused or closed) and left no exit record.
    #[error("shim not reachable: {0}")]
    ShimGone(String),
    /// The shim answered with an error.
    #[error("shim: {0}")]
    Shim(String),
    #[error("io error: {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid data: {0}")]
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
