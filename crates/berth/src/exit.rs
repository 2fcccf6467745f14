//! How a command ends: an exit code, or an [`Exit`] with the code and the message to print
//! (docker's exit codes: 125 for the CLI's own errors, the container's code for `run`...).

/// A fatal error with the exit code it should produce.
#[derive(Debug)]
pub struct Exit {
    pub code: i32,
    pub message: String,
}

/// What a command returns: its exit code, or an error to print with its code.
pub type CmdResult = Result<i32, Exit>;

/// An [`Exit`] with `code` and `message`.
pub fn fail(code: i32, message: impl Into<String>) -> Exit {
    Exit {
        code,
        message: message.into(),
    }
}

impl From<berth_client::Error> for Exit {
    fn from(e: berth_client::Error) -> Self {
        fail(1, e.to_string())
    }
}

impl From<std::io::Error> for Exit {
    fn from(e: std::io::Error) -> Self {
        fail(1, e.to_string())
    }
}
