//! The crate's error types: [`Error`] for fatal failures and [`CommandError`] for a command
//! that was refused (it carries a wire [`ErrorCode`]).

use framebus_protocol::ErrorCode;

/// A failure building or running part of the runtime.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid (with file, line and field).
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A stage failed; the pipeline reports it and goes on.
    #[error("{0}")]
    Stage(String),
    /// A source failed to open or to deliver a frame.
    #[error("source: {0}")]
    Source(String),
    /// An I/O error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Error {
    /// A stage failure with a message.
    pub fn stage(message: impl Into<String>) -> Self {
        Self::Stage(message.into())
    }

    /// A source failure with a message.
    pub fn source(message: impl Into<String>) -> Self {
        Self::Source(message.into())
    }
}

/// The crate's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A refused command: an [`ErrorCode`] and a human-readable message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct CommandError {
    /// Machine-readable reason.
    pub code: ErrorCode,
    /// Human-readable reason.
    pub message: String,
}

impl CommandError {
    /// An error with any code.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// `bad_args`: wrong type, out of range, missing or unknown argument.
    pub fn bad_args(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadArgs, message)
    }

    /// `unknown_command` for `cmd` on `target`.
    pub fn unknown_command(target: &str, cmd: &str) -> Self {
        Self::new(
            ErrorCode::UnknownCommand,
            format!("`{target}` has no command `{cmd}`"),
        )
    }

    /// `busy`: refused by the recording lock or because the target cannot take it now.
    pub fn busy(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Busy, message)
    }
}

/// Parses command args into a typed struct, mapping failures to `bad_args`.
pub fn parse_args<T: serde::de::DeserializeOwned>(
    args: &serde_json::Value,
) -> Result<T, CommandError> {
    serde_json::from_value(args.clone()).map_err(|e| CommandError::bad_args(e.to_string()))
}
