//! The API error: one enum of documented codes, rendered as the JSON error envelope
//! `{"success": false, "error": {"code", "message", "details"}}` with the code's status.
//! Internal causes are logged (with the request id of the surrounding span), never returned.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldwork_core::{Error, ErrorCode};
use serde_json::{Value, json};

/// Seconds a client is asked to wait (`Retry-After`) when the database is unreachable or no
/// pooled connection became free within `DB_ACQUIRE_TIMEOUT_SECS`.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 1;

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

/// An error as the client will see it.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
    /// Sent as `Retry-After` (seconds): how long a rate-limited or busy client should wait.
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
            retry_after_secs: None,
        }
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_secs = Some(seconds.max(1));
        self
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn unauthorized() -> Self {
        Self::new(
            ErrorCode::Unauthorized,
            "Authentication required. Log in and send the session token.",
        )
    }

    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "The requested resource was not found.")
    }

    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::MalformedRequest, message)
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let code = err.code();
        match err {
            Error::Validation(fields) => ApiError::new(code, "The request has invalid fields.")
                .with_details(json!({ "fields": fields })),
            Error::NotFound(what) => ApiError::new(code, capitalise(what)),
            Error::Conflict(message) | Error::InvalidState(message) => {
                ApiError::new(code, capitalise(&message))
            }
            Error::UnknownAction(name) => ApiError::new(code, format!("Unknown action {name}.")),
            Error::CustomerArchived => {
                ApiError::new(code, "The customer has been archived; restore it first.")
            }
            Error::Unauthorized => ApiError::unauthorized(),
            Error::Busy(what) => {
                tracing::warn!(reason = what, "refused: busy");
                ApiError::new(code, "The service is busy. Try again shortly.")
                    .with_retry_after(fieldwork_core::auth::password::BUSY_RETRY_AFTER_SECS)
            }
            Error::Database(_) | Error::Internal(_) => {
                if code == ErrorCode::ServiceUnavailable {
                    tracing::warn!(error = %err, "database unavailable");
                    ApiError::new(
                        code,
                        "The service is temporarily unavailable. Try again shortly.",
                    )
                    .with_retry_after(UNAVAILABLE_RETRY_AFTER_SECS)
                } else {
                    tracing::error!(error = %err, "internal error");
                    ApiError::new(code, "An internal error occurred.")
                }
            }
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

#[derive(serde::Serialize)]
struct ErrorEnvelope {
    success: bool,
    error: ErrorBody,
}

#[derive(serde::Serialize)]
struct ErrorBody {
    code: ErrorCode,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Value>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorEnvelope {
            success: false,
            error: ErrorBody {
                code: self.code,
                message: self.message,
                details: self.details,
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
