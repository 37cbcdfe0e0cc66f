//! `POST /api/actions`: parse `{domain, action, data}` against the core's action registry
//! (unknown: 400 UNKNOWN_ACTION, bad payload: 422) before any database work, then run the
//! action in one tenant transaction. Any error rolls the whole action back.

use axum::extract::State;
use fieldwork_core::actions::{self, ActionOutcome, ActionRequest};

use crate::auth::AuthUser;
use crate::envelope::Data;
use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::schemas::{Success, WriteErrors};
use crate::state::AppState;

/// Run a domain action. The request body is one of the variants below (one per action); the
/// answer is the entity the action changed or created.
#[utoipa::path(post, path = "/actions", tag = "actions",
    request_body = ActionRequest,
    responses((status = 200, description = "The changed or created entity", body = Success<ActionOutcome>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn run(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(request): ApiJson<ActionRequest>,
) -> ApiResult<Data<ActionOutcome>> {
    let action = actions::parse(request)?;
    let outcome = state
        .in_tenant(&user, async |tx| {
            actions::execute(tx, &user.actor(), &state.config.messages, action).await
        })
        .await?;
    Ok(Data(outcome))
}
