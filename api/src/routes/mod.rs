//! The router: every route of the API and the fallbacks that keep even unknown routes and
//! methods inside the error envelope.

mod audit_log;
mod auth;
mod customers;
mod health;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use fieldwork_core::ErrorCode;

use crate::error::ApiError;
use crate::state::AppState;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The whole API as an axum router.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        .route(
            "/data/customers",
            get(customers::list).post(customers::create),
        )
        .route(
            "/data/customers/{id}",
            get(customers::get)
                .patch(customers::update)
                .delete(customers::delete),
        )
        .route("/data/audit_log", get(audit_log::list))
        .route("/data/audit_log/{id}", get(audit_log::get));
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .nest("/api", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "This method is not allowed on this resource.",
    )
}
