//! The router: every route of the API, registered once through `utoipa_axum::routes!` so that
//! each handler's `#[utoipa::path]` attribute is both its route and its OpenAPI operation, plus
//! the fallbacks that keep even unknown routes and methods inside the error envelope.

mod actions;
mod audit_log;
mod auth;
mod customers;
mod health;
mod invoices;
mod openapi;
mod products;
mod scheduled_messages;
mod tickets;
mod unsubscribe;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use fieldwork_core::ErrorCode;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;
use openapi::ApiDoc;
pub use openapi::document;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The whole API as an axum router.
pub fn router(state: AppState) -> Router {
    let (router, _openapi) = api_routes().split_for_parts();
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Every route with its OpenAPI operation. The only place routes are added: a route added
/// anywhere else would be missing from the document (the OpenAPI tests would notice).
fn api_routes() -> OpenApiRouter<AppState> {
    let auth_routes = OpenApiRouter::new()
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me, auth::update_me))
        .layer(axum::middleware::map_response(auth::no_store));
    let api = OpenApiRouter::new()
        .merge(auth_routes)
        .routes(routes!(customers::list, customers::create))
        .routes(routes!(
            customers::get,
            customers::update,
            customers::delete
        ))
        .routes(routes!(products::list, products::create))
        .routes(routes!(products::get, products::update, products::delete))
        .routes(routes!(tickets::list, tickets::create))
        .routes(routes!(tickets::week))
        .routes(routes!(tickets::get, tickets::update, tickets::delete))
        .routes(routes!(invoices::list, invoices::create))
        .routes(routes!(invoices::get, invoices::update, invoices::delete))
        .routes(routes!(
            scheduled_messages::list,
            scheduled_messages::create
        ))
        .routes(routes!(
            scheduled_messages::get,
            scheduled_messages::update,
            scheduled_messages::delete
        ))
        .routes(routes!(scheduled_messages::preview))
        .routes(routes!(actions::run))
        .routes(routes!(audit_log::list))
        .routes(routes!(audit_log::get))
        .routes(routes!(openapi_json));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(unsubscribe::show, unsubscribe::confirm))
        .nest("/api", api)
}

/// This document: the OpenAPI 3.1 description of every route (not wrapped in the envelope).
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = serde_json::Value)))]
async fn openapi_json() -> Response {
    axum::Json(document()).into_response()
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
