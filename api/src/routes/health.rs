//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the database answers
//! and every migration this binary knows has been applied).

use axum::extract::State;
use fieldwork_core::ErrorCode;
use serde_json::{Value, json};

use crate::envelope::Data;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub async fn healthz() -> Data<Value> {
    Data(json!({ "status": "ok" }))
}

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
