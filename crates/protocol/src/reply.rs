//! Replies to commands.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// The closed set of error codes a command or request can fail with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ErrorCode {
    /// No stage, source or built-in target has this id.
    UnknownTarget,
    /// The target does not know this command.
    UnknownCommand,
    /// The arguments are of the wrong type, out of range or missing.
    BadArgs,
    /// Refused by the recording lock, or the target cannot take it now.
    Busy,
    /// The message could not be parsed.
    BadMessage,
    /// The message or body exceeds the size cap.
    TooLarge,
    /// Missing or wrong token.
    Unauthorized,
    /// Refused for policy (e.g. foreign Origin).
    Forbidden,
    /// The resource does not exist.
    NotFound,
    /// The stage failed while handling the command.
    StageFailed,
    /// The runtime is shutting down or the pipeline is gone.
    Unavailable,
    /// A bug: should not happen.
    Internal,
}

impl ErrorCode {
    /// The wire spelling (`unknown_target`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownTarget => "unknown_target",
            Self::UnknownCommand => "unknown_command",
            Self::BadArgs => "bad_args",
            Self::Busy => "busy",
            Self::BadMessage => "bad_message",
            Self::TooLarge => "too_large",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::StageFailed => "stage_failed",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A successful reply: `{"type":"ack","id",…,"result"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Ack {
    /// The command's correlation id, if it had one.
    #[ts(type = "string | number | null")]
    pub id: Option<Value>,
    /// The command's target.
    pub target: String,
    /// The command's name.
    pub cmd: String,
    /// What the target returned (for `set_params`: the params now in force).
    #[ts(type = "unknown")]
    pub result: Value,
}

/// A failed reply: `{"type":"error","id","code","message"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ErrorReply {
    /// The command's correlation id, if it had one.
    #[ts(type = "string | number | null")]
    pub id: Option<Value>,
    /// Machine-readable reason.
    pub code: ErrorCode,
    /// Human-readable reason.
    pub message: String,
}
