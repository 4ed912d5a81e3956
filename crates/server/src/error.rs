//! Errors: [`ApiError`] (what a REST handler returns: JSON `{code, message}` with the HTTP
//! status that fits the code) and [`Error`] (what starting the server can fail with).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use framebus_protocol::{ErrorCode, ErrorReply};
use serde::Serialize;

/// The crate's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A socket or thread could not be set up.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The runtime refused the config.
    #[error("{0}")]
    Runtime(#[from] framebus_core::Error),
    /// The server settings are unsafe or inconsistent (e.g. a public bind without a token).
    #[error("{0}")]
    Settings(String),
}

/// A REST error: serialized as `{"code": "...", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ApiError {
    /// Machine-readable reason (`unknown_target`, `bad_args`, …).
    #[schema(value_type = String, example = "bad_args")]
    pub code: ErrorCode,
    /// Human-readable reason.
    pub message: String,
}

impl ApiError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// `bad_message`.
    pub fn bad_message(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadMessage, message)
    }
}

impl From<ErrorReply> for ApiError {
    fn from(e: ErrorReply) -> Self {
        Self::new(e.code, e.message)
    }
}

/// The HTTP status for an error code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::UnknownTarget | ErrorCode::UnknownCommand | ErrorCode::NotFound => {
            StatusCode::NOT_FOUND
        }
        ErrorCode::BadArgs | ErrorCode::BadMessage => StatusCode::BAD_REQUEST,
        ErrorCode::Busy => StatusCode::CONFLICT,
        ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::StageFailed | ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (status_of(self.code), Json(&self)).into_response();
        if self.code == ErrorCode::Unauthorized {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

/// Rejections of axum's extractors (bad JSON, wrong content type, body too large) as
/// [`ApiError`]s, so every error body has the same shape.
impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        let code = if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ErrorCode::TooLarge
        } else {
            ErrorCode::BadMessage
        };
        Self::new(code, r.body_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_statuses() {
        assert_eq!(status_of(ErrorCode::UnknownTarget), StatusCode::NOT_FOUND);
        assert_eq!(status_of(ErrorCode::Busy), StatusCode::CONFLICT);
        assert_eq!(
            status_of(ErrorCode::TooLarge),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let r = ApiError::new(ErrorCode::Unauthorized, "no").into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
    }
}
