//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the database answers
//! and every migration this binary knows has been applied).

use axum::extract::State;
use fieldwork_core::ErrorCode;
use serde_json::{Value, json};

use crate::envelope::Data;
use crate::error::{ApiError, ApiResult};
use crate::schemas::{ErrorEnvelope, Status, Success};
use crate::state::AppState;

/// Longest `/readyz` waits for the database before answering 503.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

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
    let check = fieldwork_core::db::migrations_current(&state.pool);
    let unreachable = || {
        ApiError::new(
            ErrorCode::ServiceUnavailable,
            "The database is not reachable.",
        )
        .with_retry_after(crate::error::UNAVAILABLE_RETRY_AFTER_SECS)
    };
    // A load balancer asking must get an answer quickly, whatever the pool is doing.
    let Ok(result) = tokio::time::timeout(READY_TIMEOUT, check).await else {
        tracing::warn!("readiness check timed out");
        return Err(unreachable());
    };
    match result {
        Ok(true) => Ok(Data(json!({ "status": "ready" }))),
        Ok(false) => Err(ApiError::new(
            ErrorCode::ServiceUnavailable,
            "Database migrations are pending; run `fieldwork-api migrate`.",
        )),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(unreachable())
        }
    }
}
