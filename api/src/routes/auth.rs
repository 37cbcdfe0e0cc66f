//! `/api/auth`: register, login (token in the body and an HttpOnly cookie), logout, me. Every
//! answer carries `Cache-Control: no-store` (set on these routes in `routes::router`). Login
//! and registration are limited per client address; a login is validated before the throttle
//! and the database see it, and only real failures count against an email.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use fieldwork_core::ErrorCode;
use fieldwork_core::auth::{self, LoginAttempt, LoginInput, RegisterInput, User, UserPatch};
use serde_json::json;

use crate::auth::{AuthUser, SESSION_COOKIE};
use crate::client_ip::ClientIp;
use crate::envelope::{Created, Data};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::schemas::{AuthErrors, LoggedOut, LoginData, Success, WriteErrors};
use crate::state::AppState;

/// Create an account (one per business).
#[utoipa::path(post, path = "/auth/register", tag = "auth",
    request_body = RegisterInput,
    responses((status = 201, description = "The new account", body = Success<User>), AuthErrors))]
pub async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(input): ApiJson<RegisterInput>,
) -> ApiResult<Created<User>> {
    state
        .register_per_ip
        .check(ip)
        .map_err(|secs| rate_limited("Too many registrations from this address.", secs))?;
    Ok(Created(
        auth::register(&state.pool, &state.hashing, input).await?,
    ))
}

/// `RATE_LIMITED` with `Retry-After` and `details.retry_after_seconds`.
fn rate_limited(message: &str, seconds: u64) -> ApiError {
    ApiError::new(
        ErrorCode::RateLimited,
        format!("{message} Try again later."),
    )
    .with_details(json!({ "retry_after_seconds": seconds }))
    .with_retry_after(seconds)
}

fn invalid_credentials() -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, "Invalid email or password.")
}

/// Log in: the session token comes in the body and as the HttpOnly `session_token` cookie.
#[utoipa::path(post, path = "/auth/login", tag = "auth",
    request_body = LoginInput,
    responses((status = 200, description = "A new session", body = Success<LoginData>), AuthErrors))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(input): ApiJson<LoginInput>,
) -> ApiResult<Response> {
    state
        .login_per_ip
        .check(ip)
        .map_err(|secs| rate_limited("Too many login attempts from this address.", secs))?;
    // Input that cannot be anyone's credentials is refused here: it reaches neither the
    // throttle (no entry per junk email) nor the database, and counts against no account.
    let attempt = LoginAttempt::parse(input).map_err(|_| invalid_credentials())?;
    let email = attempt.email().to_owned();
    if let Some(seconds) = state.login_throttle.retry_after(&email) {
        return Err(rate_limited("Too many failed logins.", seconds));
    }
    let ttl =
        chrono::Duration::from_std(state.config.session_ttl).unwrap_or(chrono::Duration::days(30));
    let session = match auth::login(&state.pool, &state.hashing, attempt, ttl).await {
        Ok(s) => s,
        Err(fieldwork_core::Error::Unauthorized) => {
            state.login_throttle.record_failure(&email);
            return Err(invalid_credentials());
        }
        Err(e) => return Err(e.into()),
    };
    state.login_throttle.record_success(&email);
    let cookie = session_cookie(
        &session.token,
        state.config.session_ttl.as_secs(),
        state.config.secure_cookies(),
    );
    let body = Data(json!({
        "token": session.token,
        "expires_at": session.expires_at,
        "user": session.user,
    }));
    Ok((cookie_header(&cookie), body).into_response())
}

/// End the current session.
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    responses((status = 200, description = "Logged out", body = Success<LoggedOut>), AuthErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn logout(State(state): State<AppState>, user: AuthUser) -> ApiResult<Response> {
    auth::logout(&state.pool, user.user_id, &user.token).await?;
    let cookie = session_cookie("", 0, state.config.secure_cookies());
    Ok((cookie_header(&cookie), Data(json!({ "logged_out": true }))).into_response())
}

/// The signed-in account.
#[utoipa::path(get, path = "/auth/me", tag = "auth",
    responses((status = 200, description = "The account", body = Success<User>), AuthErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<Data<User>> {
    Ok(Data(auth::me(&state.pool, user.user_id).await?))
}

/// Change the signed-in account's `business_name` or `timezone` (IANA, e.g. `Europe/Berlin`:
/// the week view counts its days in it, customers without a zone read their emails in it).
#[utoipa::path(patch, path = "/auth/me", tag = "auth",
    request_body = UserPatch,
    responses((status = 200, description = "The updated account", body = Success<User>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn update_me(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(patch): ApiJson<UserPatch>,
) -> ApiResult<Data<User>> {
    Ok(Data(
        auth::update_me(&state.pool, &user.actor(), patch).await?,
    ))
}

fn session_cookie(token: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

fn cookie_header(cookie: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(cookie) {
        headers.insert(SET_COOKIE, value);
    }
    headers
}

/// Marks an auth response as never to be stored by a browser or proxy cache: they carry
/// session tokens and account data.
pub async fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    response
}
