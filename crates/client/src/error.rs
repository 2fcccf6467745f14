//! The client's one error type.

/// What a call to the daemon can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The daemon answered with an error status and Docker's `{"message": ...}` body (or,
    /// from a daemon that sends none, the body's text).
    #[error("Error response from daemon: {message}")]
    Api { status: u16, message: String },
    /// The daemon's socket could not be reached.
    #[error(
        "Cannot connect to the Berth daemon at {host}. Is the berth daemon running? ({source})"
    )]
    Connect {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    /// An answer that is not what the API defines (bad JSON, a missing header...).
    #[error("invalid response from daemon: {0}")]
    Decode(String),
    #[error("invalid host {0}: use unix:///path or tcp://host:port")]
    Host(String),
}

impl Error {
    /// The HTTP status of an [`Error::Api`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The daemon said 404 (no such container, image, exec...).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
