//! `/api/data/scheduled_messages`: list (filters `customer_id`, `status`), get, create, patch
//! and soft delete of pending messages, and the preview of what the sender would send; one
//! tenant transaction each.

use axum::extract::State;
use fieldwork_core::messages::{
    self, MessageCreate, MessageFilter, MessagePatch, Preview, ScheduledMessage,
};
use fieldwork_core::pagination::{ListParams, Page};
use serde_json::{Value, json};

use crate::auth::AuthUser;
use crate::envelope::{Created, Data};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::schemas::{Deleted, ListFilter, ListQuery, ReadErrors, Success, WriteErrors};
use crate::state::AppState;

/// List live scheduled messages in creation order.
#[utoipa::path(get, path = "/data/scheduled_messages", tag = "scheduled_messages",
    params(ListQuery, ListFilter),
    responses((status = 200, description = "A page of messages", body = Success<Page<ScheduledMessage>>), ReadErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery,
) -> ApiResult<Data<Page<ScheduledMessage>>> {
    let params = ListParams::from_query(&query)?;
    let filter = MessageFilter::from_query(&query)?;
    let page = state
        .in_tenant_pages(&user, async |tx| messages::list(tx, &filter, &params).await)
        .await?;
    Ok(Data(page))
}

/// One scheduled message.
#[utoipa::path(get, path = "/data/scheduled_messages/{id}", tag = "scheduled_messages",
    params(("id" = uuid::Uuid, Path, description = "Message id")),
    responses((status = 200, description = "The message", body = Success<ScheduledMessage>), ReadErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Data<ScheduledMessage>> {
    let message = state
        .in_tenant(&user, async |tx| messages::get(tx, id).await)
        .await?;
    Ok(Data(message))
}

/// Schedule a message of any type for an active customer.
#[utoipa::path(post, path = "/data/scheduled_messages", tag = "scheduled_messages",
    request_body = MessageCreate,
    responses((status = 201, description = "The new message", body = Success<ScheduledMessage>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(input): ApiJson<MessageCreate>,
) -> ApiResult<Created<ScheduledMessage>> {
    let message = state
        .in_tenant(&user, async |tx| {
            messages::create(tx, &user.actor(), input).await
        })
        .await?;
    Ok(Created(message))
}

/// Change a pending message: `scheduled_for`, and `subject`/`body` of a custom message.
#[utoipa::path(patch, path = "/data/scheduled_messages/{id}", tag = "scheduled_messages",
    params(("id" = uuid::Uuid, Path, description = "Message id")),
    request_body = MessagePatch,
    responses((status = 200, description = "The updated message", body = Success<ScheduledMessage>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ApiJson(patch): ApiJson<MessagePatch>,
) -> ApiResult<Data<ScheduledMessage>> {
    let message = state
        .in_tenant(&user, async |tx| {
            messages::update(tx, &user.actor(), id, patch).await
        })
        .await?;
    Ok(Data(message))
}

/// Soft-delete a pending message (others are kept as history: INVALID_STATE).
#[utoipa::path(delete, path = "/data/scheduled_messages/{id}", tag = "scheduled_messages",
    params(("id" = uuid::Uuid, Path, description = "Message id")),
    responses((status = 200, description = "Deleted", body = Success<Deleted>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Data<Value>> {
    state
        .in_tenant(&user, async |tx| {
            messages::delete(tx, &user.actor(), id).await
        })
        .await?;
    Ok(Data(json!({ "id": id, "deleted": true })))
}

/// Exactly what the sender would send, rendered now: subject, text and HTML bodies, the
/// address, and when it goes out (after quiet hours) in UTC and in the customer's zone.
#[utoipa::path(get, path = "/data/scheduled_messages/{id}/preview", tag = "scheduled_messages",
    params(("id" = uuid::Uuid, Path, description = "Message id")),
    responses((status = 200, description = "The rendered email", body = Success<Preview>), ReadErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn preview(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Data<Preview>> {
    let preview = state
        .in_tenant(&user, async |tx| {
            messages::preview(tx, &state.config.messages, id).await
        })
        .await?;
    Ok(Data(preview))
}
