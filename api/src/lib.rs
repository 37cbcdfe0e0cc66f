//! Fieldwork API library: `app(state)` builds the axum router with its middleware, `serve`
//! runs it (with the HTTP server's limits, `server`) until a shutdown signal. The binary in
//! `main.rs` only parses the command line.

pub mod auth;
pub mod client_ip;
pub mod envelope;
pub mod error;
pub mod events;
pub mod extract;
pub mod metrics;
pub mod openapi_constraints;
pub mod rate_limit;
pub mod request_id;
pub mod routes;
pub mod schemas;
pub mod server;
pub mod state;

use std::future::Future;

use axum::Router;
use axum::response::{IntoResponse, Response};
use fieldwork_core::ErrorCode;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;

pub use state::AppState;

use crate::error::ApiError;

/// The complete application: routes, the request-body deadline, request ids and access logs,
/// panic safety net.
pub fn app(state: AppState) -> Router {
    metrics::install();
    routes::router(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            state,
            server::body_deadline,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(request_id::request_id))
}

fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    ApiError::new(ErrorCode::InternalError, "An internal error occurred.").into_response()
}

/// Serves `app(state)` on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish. Connection cap and timeouts come from `state.config.http`.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let http = state.config.http.clone();
    server::serve(listener, app(state), http, shutdown).await
}
