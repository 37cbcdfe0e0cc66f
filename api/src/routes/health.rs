//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the database answers
//! and every migration this binary knows has been applied).

use axum::extract::State;
use fieldwork_core::ErrorCode;
use serde_json::{Value, json};

use crate::envelope::Data;
use crate::error::{ApiError, ApiResult};
use crate::schemas::{ErrorEnvelope, Status, Success};
use crate::state::AppState;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Success<Status>)))]
pub async fn healthz() -> Data<Value> {
    Data(json!({ "status": "ok" }))
}

/// Readiness: the database answers and every migration is applied.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready", body = Success<Status>),
        (status = 503, description = "SERVICE_UNAVAILABLE: database unreachable or migrations pending", body = ErrorEnvelope)))]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Data<Value>> {
    match fieldwork_core::db::migrations_current(&state.pool).await {
        Ok(true) => Ok(Data(json!({ "status": "ready" }))),
        Ok(false) => Err(ApiError::new(
            ErrorCode::ServiceUnavailable,
            "Database migrations are pending; run `fieldwork-api migrate`.",
        )),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::new(
                ErrorCode::ServiceUnavailable,
                "The database is not reachable.",
            ))
        }
    }
}
