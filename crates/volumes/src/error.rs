//! Errors, with dockerd 20.10's messages (`OP NAME: reason`, as its volume service's
//! `OpErr`), and the kind the API turns into a status.

/// What went wrong, worded as dockerd words it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `get NAME: no such volume` (404).
    #[error("{op} {name}: no such volume")]
    NotFound { op: &'static str, name: String },
    /// `remove NAME: volume is in use - [ID, ID]` (409).
    #[error("{op} {name}: volume is in use - [{}]", users.join(", "))]
    InUse {
        op: &'static str,
        name: String,
        users: Vec<String>,
    },
    /// A name held by another driver (409).
    #[error("{op} {name}: {reason}")]
    Conflict {
        op: &'static str,
        name: String,
        reason: String,
    },
    /// A bad name or option: `create NAME: invalid option: "foo"` (400).
    #[error("{op} {name}: {reason}")]
    Invalid {
        op: &'static str,
        name: String,
        reason: String,
    },
    /// `create NAME: error looking up volume plugin X: plugin "X" not found` (404, as
    /// dockerd answers it).
    #[error("{op} {name}: error looking up volume plugin {driver}: plugin {driver:?} not found")]
    UnknownDriver {
        op: &'static str,
        name: String,
        driver: String,
    },
    /// A bad `filters` value: `Invalid filter 'bogus'` (400).
    #[error("{0}")]
    Filter(String),
    /// Mounting failed: `error while mounting volume 'PATH': failed to mount local volume:
    /// mount DEV:PATH, flags: 0x1000: no such file or directory` (500).
    #[error("error while mounting volume '{path}': {reason}")]
    Mount { path: String, reason: String },
    /// An archive refused or failed (export, import, copy-up): hostile content is 400.
    #[error("{0}")]
    Archive(#[from] berth_archive::Error),
    /// The metadata database.
    #[error("volume metadata: {0}")]
    Db(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// What the API maps to a status (in `api/src/error.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 404.
    NotFound,
    /// 409.
    Conflict,
    /// 400.
    InvalidParameter,
    /// 500.
    System,
}

impl Error {
    /// The kind the API turns into a status.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound { .. } | Error::UnknownDriver { .. } => ErrorKind::NotFound,
            Error::InUse { .. } | Error::Conflict { .. } => ErrorKind::Conflict,
            Error::Invalid { .. } | Error::Filter(_) => ErrorKind::InvalidParameter,
            Error::Archive(berth_archive::Error::Invalid(_) | berth_archive::Error::Limit(_)) => {
                ErrorKind::InvalidParameter
            }
            Error::Archive(_) | Error::Mount { .. } | Error::Db(_) | Error::Io { .. } => {
                ErrorKind::System
            }
        }
    }

    /// dockerd's HTTP status for [`Error::kind`].
    pub fn status(&self) -> u16 {
        match self.kind() {
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::InvalidParameter => 400,
            ErrorKind::System => 500,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn db(e: impl std::fmt::Display) -> Error {
        Error::Db(e.to_string())
    }

    pub(crate) fn invalid(op: &'static str, name: &str, reason: impl Into<String>) -> Error {
        Error::Invalid {
            op,
            name: name.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn not_found(op: &'static str, name: &str) -> Error {
        Error::NotFound {
            op,
            name: name.to_string(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages and statuses of the reference dockerd 20.10 (`docker volume create
    /// 'bad/name'`, `-o foo=bar`, `-d nosuch`, `rm` of one in use, `inspect` of none).
    #[test]
    fn messages_and_statuses_are_dockerds() {
        let cases: Vec<(Error, &str, u16)> = vec![
            (
                Error::not_found("get", "nosuch"),
                "get nosuch: no such volume",
                404,
            ),
            (
                Error::InUse {
                    op: "remove",
                    name: "v1".into(),
                    users: vec!["aa".into(), "bb".into()],
                },
                "remove v1: volume is in use - [aa, bb]",
                409,
            ),
            (
                Error::invalid("create", "x", "invalid option: \"foo\""),
                "create x: invalid option: \"foo\"",
                400,
            ),
            (
                Error::UnknownDriver {
                    op: "create",
                    name: "vol-y".into(),
                    driver: "nosuch".into(),
                },
                "create vol-y: error looking up volume plugin nosuch: plugin \"nosuch\" not found",
                404,
            ),
            (
                Error::Filter("Invalid filter 'bogus'".into()),
                "Invalid filter 'bogus'",
                400,
            ),
        ];
        for (e, msg, status) in cases {
            assert_eq!(e.to_string(), msg);
            assert_eq!(e.status(), status, "{msg}");
        }
    }
}
