//! Store errors.

/// Broad kind of an error, for mapping to API status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    InvalidArgument,
    Conflict,
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("metadata store: {0}")]
    Db(String),
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Invalid(_) => ErrorKind::InvalidArgument,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::Io { .. } | Error::Db(_) => ErrorKind::Internal,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<berth_archive::Error> for Error {
    fn from(e: berth_archive::Error) -> Error {
        match e {
            berth_archive::Error::Invalid(m) | berth_archive::Error::Limit(m) => Error::Invalid(m),
            berth_archive::Error::Changed(m) => Error::Conflict(m),
            berth_archive::Error::Io { context, source } => Error::Io { context, source },
        }
    }
}
