//! The documentation types of the OpenAPI document that handlers name in their
//! `#[utoipa::path]` attributes: the envelopes, small response bodies, the error responses of
//! reads, writes and logins, and the list parameters. No behaviour: the envelope itself is
//! `envelope.rs`, errors are `error.rs`.

use fieldwork_core::ErrorCode;
use serde::Serialize;
use serde_json::Value;
use utoipa::{IntoParams, IntoResponses, ToSchema};

/// The success envelope.
#[derive(Serialize, ToSchema)]
pub struct Success<T> {
    /// Always `true`.
    pub success: bool,
    pub data: T,
}

/// The error envelope every failure is answered with.
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    /// Always `false`.
    pub success: bool,
    pub error: ErrorBody,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub code: ErrorCode,
    /// For humans; may change. Branch on `code`.
    pub message: String,
    /// Present for VALIDATION_ERROR (`{"fields": {...}}`), MALFORMED_REQUEST (`{"line",
    /// "column"}`) and RATE_LIMITED (`{"retry_after_seconds"}`).
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}

/// `data` of a login.
#[derive(Serialize, ToSchema)]
pub struct LoginData {
    /// The session token: send it as `Authorization: Bearer <token>` (or rely on the cookie).
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub user: fieldwork_core::auth::User,
}

/// `{"logged_out": true}`.
#[derive(Serialize, ToSchema)]
pub struct LoggedOut {
    pub logged_out: bool,
}

/// `{"status": "ok"}` or `{"status": "ready"}`.
#[derive(Serialize, ToSchema)]
pub struct Status {
    pub status: String,
}

/// `{"id": ..., "deleted": true}`.
#[derive(Serialize, ToSchema)]
pub struct Deleted {
    pub id: uuid::Uuid,
    pub deleted: bool,
}

/// Errors of routes that read (`GET` with a session).
#[derive(IntoResponses)]
pub enum ReadErrors {
    /// MALFORMED_REQUEST: the query string cannot be decoded.
    #[response(status = 400)]
    Malformed(ErrorEnvelope),
    /// UNAUTHORIZED: no valid session token.
    #[response(status = 401)]
    Unauthorized(ErrorEnvelope),
    /// NOT_FOUND: missing, deleted, or another tenant's.
    #[response(status = 404)]
    NotFound(ErrorEnvelope),
    /// VALIDATION_ERROR: a bad id, limit, cursor or filter.
    #[response(status = 422)]
    Validation(ErrorEnvelope),
    /// INTERNAL_ERROR.
    #[response(status = 500)]
    Internal(ErrorEnvelope),
    /// SERVICE_UNAVAILABLE: the database cannot be reached.
    #[response(status = 503)]
    Unavailable(ErrorEnvelope),
}

/// Errors of routes that write.
#[derive(IntoResponses)]
pub enum WriteErrors {
    /// MALFORMED_REQUEST (the body is not JSON) or UNKNOWN_ACTION (`/api/actions` only).
    #[response(status = 400)]
    BadRequest(ErrorEnvelope),
    /// UNAUTHORIZED: no valid session token.
    #[response(status = 401)]
    Unauthorized(ErrorEnvelope),
    /// NOT_FOUND: the entity, or an entity it references, is missing, deleted, or another
    /// tenant's.
    #[response(status = 404)]
    NotFound(ErrorEnvelope),
    /// CONFLICT (a duplicate such as a SKU), CUSTOMER_ARCHIVED (new or changed work for an
    /// archived customer, archiving twice), INVALID_STATE (an illegal state transition).
    #[response(status = 409)]
    Conflict(ErrorEnvelope),
    /// PAYLOAD_TOO_LARGE: over 1 MiB.
    #[response(status = 413)]
    TooLarge(ErrorEnvelope),
    /// UNSUPPORTED_MEDIA_TYPE: not `application/json`.
    #[response(status = 415)]
    MediaType(ErrorEnvelope),
    /// VALIDATION_ERROR: wrong, missing, unknown or read-only fields (`details.fields`).
    #[response(status = 422)]
    Validation(ErrorEnvelope),
    /// INTERNAL_ERROR.
    #[response(status = 500)]
    Internal(ErrorEnvelope),
    /// SERVICE_UNAVAILABLE: the database cannot be reached.
    #[response(status = 503)]
    Unavailable(ErrorEnvelope),
}

/// Errors of the sign-in routes.
#[derive(IntoResponses)]
pub enum AuthErrors {
    /// MALFORMED_REQUEST: the body is not JSON.
    #[response(status = 400)]
    Malformed(ErrorEnvelope),
    /// UNAUTHORIZED: wrong email or password, or no valid session.
    #[response(status = 401)]
    Unauthorized(ErrorEnvelope),
    /// CONFLICT: the email already has an account.
    #[response(status = 409)]
    Conflict(ErrorEnvelope),
    /// UNSUPPORTED_MEDIA_TYPE.
    #[response(status = 415)]
    MediaType(ErrorEnvelope),
    /// VALIDATION_ERROR.
    #[response(status = 422)]
    Validation(ErrorEnvelope),
    /// RATE_LIMITED: too many failed logins for the email, or too many logins/registrations
    /// from the client address (`details.retry_after_seconds`, `Retry-After`).
    #[response(status = 429)]
    RateLimited(ErrorEnvelope),
    /// INTERNAL_ERROR.
    #[response(status = 500)]
    Internal(ErrorEnvelope),
    /// SERVICE_UNAVAILABLE: the database is unreachable, or every password-hashing slot
    /// stayed busy for 2 s (`Retry-After`).
    #[response(status = 503)]
    Unavailable(ErrorEnvelope),
}

/// `limit` and `cursor` of every list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1 to 100, default 20.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Filters of the ticket, invoice and message lists (besides `limit` and `cursor`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListFilter {
    /// Only this customer's rows.
    pub customer_id: Option<uuid::Uuid>,
    /// Only rows in this status.
    pub status: Option<String>,
}
