//! The one error type of the core and the stable error codes the API reports to clients.

use std::collections::BTreeMap;

/// Result alias used throughout the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Field name → human-readable problem, reported as `details.fields` of a `VALIDATION_ERROR`.
pub type FieldErrors = BTreeMap<String, String>;

/// Everything that can go wrong in a core operation. Each variant maps to exactly one
/// documented [`ErrorCode`]; internal causes (database, crypto) are kept for logs only.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("validation failed")]
    Validation(FieldErrors),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("customer has been archived")]
    CustomerArchived,
    #[error("{0}")]
    InvalidState(String),
    /// `POST /api/actions` named a domain/action pair that does not exist.
    #[error("unknown action {0}")]
    UnknownAction(String),
    #[error("authentication required")]
    Unauthorized,
    /// A bounded resource (password hashing slots) is saturated: try again shortly.
    #[error("busy: {0}")]
    Busy(&'static str),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A validation error on a single field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(field.to_owned(), message.into());
        Error::Validation(errors)
    }

    /// The documented code clients see for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Validation(_) => ErrorCode::ValidationError,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::CustomerArchived => ErrorCode::CustomerArchived,
            Error::InvalidState(_) => ErrorCode::InvalidState,
            Error::UnknownAction(_) => ErrorCode::UnknownAction,
            Error::Unauthorized => ErrorCode::Unauthorized,
            Error::Busy(_) => ErrorCode::ServiceUnavailable,
            Error::Database(e) if is_unavailable(e) => ErrorCode::ServiceUnavailable,
            Error::Database(_) | Error::Internal(_) => ErrorCode::InternalError,
        }
    }
}

/// Whether a database error means "try again later" rather than a bug: no connection free
/// within the acquire timeout, the server unreachable or restarting (connection refused or
/// reset, SQLSTATE class 08, `admin_shutdown`, `crash_shutdown`, `cannot_connect_now`), or
/// out of connections (`too_many_connections`).
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

/// Stable, documented error codes (`docs/ERROR_CODES.md`), each with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    ValidationError,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    CustomerArchived,
    InvalidState,
    UnknownAction,
    MalformedRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    RequestTimeout,
    RateLimited,
    InternalError,
    ServiceUnavailable,
}

impl ErrorCode {
    /// Every code, in the order `docs/ERROR_CODES.md` lists them.
    pub const ALL: [ErrorCode; 16] = [
        ErrorCode::ValidationError,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::CustomerArchived,
        ErrorCode::InvalidState,
        ErrorCode::UnknownAction,
        ErrorCode::MalformedRequest,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::RequestTimeout,
        ErrorCode::RateLimited,
        ErrorCode::InternalError,
        ErrorCode::ServiceUnavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ValidationError => "VALIDATION_ERROR",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::CustomerArchived => "CUSTOMER_ARCHIVED",
            ErrorCode::InvalidState => "INVALID_STATE",
            ErrorCode::UnknownAction => "UNKNOWN_ACTION",
            ErrorCode::MalformedRequest => "MALFORMED_REQUEST",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ErrorCode::RequestTimeout => "REQUEST_TIMEOUT",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::ServiceUnavailable => "SERVICE_UNAVAILABLE",
        }
    }

    /// The HTTP status that accompanies the code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::ValidationError => 422,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::Conflict | ErrorCode::CustomerArchived | ErrorCode::InvalidState => 409,
            ErrorCode::UnknownAction | ErrorCode::MalformedRequest => 400,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::RequestTimeout => 408,
            ErrorCode::RateLimited => 429,
            ErrorCode::InternalError => 500,
            ErrorCode::ServiceUnavailable => 503,
        }
    }
}

/// Turns a violation of the foreign key `constraint` into "not found": a reference to a row the
/// tenant cannot see (another tenant's, or one that vanished concurrently) is answered exactly
/// like a reference to a missing row.
pub fn on_foreign_key(constraint: &str, err: sqlx::Error, what: &'static str) -> Error {
    on_constraint(constraint, err, || Error::NotFound(what))
}

/// Turns a unique-constraint violation on `constraint` into the given error, passing every
/// other error through. The database decides uniqueness (safe under concurrency); this only
/// translates its answer.
pub fn on_constraint(constraint: &str, err: sqlx::Error, map: impl FnOnce() -> Error) -> Error {
    match &err {
        sqlx::Error::Database(db) if db.constraint() == Some(constraint) => map(),
        _ => Error::Database(err),
    }
}
