//! Engine errors. Each carries an [`ErrorKind`]; the API layer turns kinds into HTTP status.

/// What kind of failure, for the API's status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 404
    NotFound,
    /// 409
    Conflict,
    /// 403
    Forbidden,
    /// 400
    InvalidArgument,
    /// 304
    NotModified,
    /// 501
    NotImplemented,
    /// 500
    Internal,
}

/// An engine error: a kind and a message meant for the user.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    /// An internal error from an I/O failure, with what we were doing.
    pub fn io(context: &str, err: std::io::Error) -> Self {
        Self::internal(format!("{context}: {err}"))
    }
}

impl From<berth_store::Error> for Error {
    fn from(e: berth_store::Error) -> Self {
        use berth_store::ErrorKind as K;
        let kind = match e.kind() {
            K::NotFound => ErrorKind::NotFound,
            K::InvalidArgument => ErrorKind::InvalidArgument,
            K::Conflict => ErrorKind::Conflict,
            K::Internal => ErrorKind::Internal,
        };
        Error::new(kind, e.to_string())
    }
}

impl From<berth_runtime::Error> for Error {
    fn from(e: berth_runtime::Error) -> Self {
        match e {
            // Docker answers 400 for a process that cannot be executed; the docker CLI
            // reads the message to pick exit code 126 or 127.
            berth_runtime::Error::Exec(m) => Error::invalid(format!(
                "failed to create task for container: failed to start container process: {m}: unknown"
            )),
            other => Error::internal(other.to_string()),
        }
    }
}

impl From<redb::Error> for Error {
    fn from(e: redb::Error) -> Self {
        Error::internal(format!("metadata store: {e}"))
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::from(redb::Error::from(e))
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

pub type Result<T, E = Error> = std::result::Result<T, E>;
