//! `/api/data/tickets`: list (filters `customer_id`, `status`), the week view, get, create,
//! patch, soft delete; one tenant transaction each. Status changes are actions.

use axum::extract::State;
use fieldwork_core::pagination::{ListParams, Page};
use fieldwork_core::tickets::{self, Ticket, TicketCreate, TicketFilter, TicketPatch, Week};
use serde_json::{Value, json};

use crate::auth::AuthUser;
use crate::envelope::{Created, Data};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::schemas::{Deleted, ListFilter, ListQuery, ReadErrors, Success, WriteErrors};
use crate::state::AppState;

/// List live tickets in creation order.
#[utoipa::path(get, path = "/data/tickets", tag = "tickets",
    params(ListQuery, ListFilter),
    responses((status = 200, description = "A page of tickets", body = Success<Page<Ticket>>), ReadErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery,
) -> ApiResult<Data<Page<Ticket>>> {
    let params = ListParams::from_query(&query)?;
    let filter = TicketFilter::from_query(&query)?;
    let page = state
        .in_tenant_pages(&user, async |tx| tickets::list(tx, &filter, &params).await)
        .await?;
    Ok(Data(page))
}

/// The week view: tickets scheduled from `start_date` 00:00 for seven days (end exclusive),
/// ordered by `scheduled_at`. Days are counted in the business's time zone (`timezone` of
/// `GET /api/auth/me`).
#[utoipa::path(get, path = "/data/tickets/week", tag = "tickets",
    params(("start_date" = String, Query, description = "First day of the week, YYYY-MM-DD (in the business's time zone)")),
    responses((status = 200, description = "The week's tickets", body = Success<Week>), ReadErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn week(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery,
) -> ApiResult<Data<Week>> {
    let week = state
        .in_tenant_pages(&user, async |tx| {
            tickets::week(tx, query.get("start_date").map(String::as_str)).await
        })
        .await?;
    Ok(Data(week))
}

/// One ticket.
#[utoipa::path(get, path = "/data/tickets/{id}", tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "Ticket id")),
    responses((status = 200, description = "The ticket", body = Success<Ticket>), ReadErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Data<Ticket>> {
    let ticket = state
        .in_tenant(&user, async |tx| tickets::get(tx, id).await)
        .await?;
    Ok(Data(ticket))
}

/// Create a ticket for an active customer (`scheduled` when `scheduled_at` is given).
#[utoipa::path(post, path = "/data/tickets", tag = "tickets",
    request_body = TicketCreate,
    responses((status = 201, description = "The new ticket", body = Success<Ticket>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(input): ApiJson<TicketCreate>,
) -> ApiResult<Created<Ticket>> {
    let ticket = state
        .in_tenant(&user, async |tx| {
            tickets::create(tx, &user.actor(), input, &state.config.messages).await
        })
        .await?;
    Ok(Created(ticket))
}

/// Change some fields of an open ticket (closed tickets: INVALID_STATE).
#[utoipa::path(patch, path = "/data/tickets/{id}", tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "Ticket id")),
    request_body = TicketPatch,
    responses((status = 200, description = "The updated ticket", body = Success<Ticket>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ApiJson(patch): ApiJson<TicketPatch>,
) -> ApiResult<Data<Ticket>> {
    let ticket = state
        .in_tenant(&user, async |tx| {
            tickets::update(tx, &user.actor(), id, patch).await
        })
        .await?;
    Ok(Data(ticket))
}

/// Soft-delete a ticket.
#[utoipa::path(delete, path = "/data/tickets/{id}", tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "Ticket id")),
    responses((status = 200, description = "Deleted", body = Success<Deleted>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Data<Value>> {
    state
        .in_tenant(&user, async |tx| {
            tickets::delete(tx, &user.actor(), id).await
        })
        .await?;
    Ok(Data(json!({ "id": id, "deleted": true })))
}
