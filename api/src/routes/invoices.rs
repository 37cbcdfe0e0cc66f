//! `/api/data/invoices`: list (filters `customer_id`, `status`), get, create with items,
//! patch, soft delete of drafts; one tenant transaction each. Status changes are actions.

use axum::extract::State;
use fieldwork_core::invoices::{self, Invoice, InvoiceCreate, InvoiceFilter, InvoicePatch};
use fieldwork_core::pagination::{ListParams, Page};
use serde_json::{Value, json};

use crate::auth::AuthUser;
use crate::envelope::{Created, Data};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::schemas::{Deleted, ListFilter, ListQuery, ReadErrors, Success, WriteErrors};
use crate::state::AppState;

/// List live invoices with their items, in creation order.
#[utoipa::path(get, path = "/data/invoices", tag = "invoices",
    params(ListQuery, ListFilter),
    responses((status = 200, description = "A page of invoices", body = Success<Page<Invoice>>), ReadErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery,
) -> ApiResult<Data<Page<Invoice>>> {
    let params = ListParams::from_query(&query)?;
    let filter = InvoiceFilter::from_query(&query)?;
    let page = state
        .in_tenant_pages(&user, async |tx| invoices::list(tx, &filter, &params).await)
        .await?;
    Ok(Data(page))
}

/// One invoice with its items.
#[utoipa::path(get, path = "/data/invoices/{id}", tag = "invoices",
    params(("id" = uuid::Uuid, Path, description = "Invoice id")),
    responses((status = 200, description = "The invoice", body = Success<Invoice>), ReadErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Data<Invoice>> {
    let invoice = state
        .in_tenant(&user, async |tx| invoices::get(tx, id).await)
        .await?;
    Ok(Data(invoice))
}

/// Create a draft invoice with its items for an active customer; it gets the next number.
#[utoipa::path(post, path = "/data/invoices", tag = "invoices",
    request_body = InvoiceCreate,
    responses((status = 201, description = "The new invoice", body = Success<Invoice>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(input): ApiJson<InvoiceCreate>,
) -> ApiResult<Created<Invoice>> {
    let invoice = state
        .in_tenant(&user, async |tx| {
            invoices::create(tx, &user.actor(), input).await
        })
        .await?;
    Ok(Created(invoice))
}

/// Change an invoice: items and currency while draft, notes and due date while draft or sent.
#[utoipa::path(patch, path = "/data/invoices/{id}", tag = "invoices",
    params(("id" = uuid::Uuid, Path, description = "Invoice id")),
    request_body = InvoicePatch,
    responses((status = 200, description = "The updated invoice", body = Success<Invoice>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ApiJson(patch): ApiJson<InvoicePatch>,
) -> ApiResult<Data<Invoice>> {
    let invoice = state
        .in_tenant(&user, async |tx| {
            invoices::update(tx, &user.actor(), id, patch).await
        })
        .await?;
    Ok(Data(invoice))
}

/// Soft-delete a draft invoice (others: INVALID_STATE, void them instead).
#[utoipa::path(delete, path = "/data/invoices/{id}", tag = "invoices",
    params(("id" = uuid::Uuid, Path, description = "Invoice id")),
    responses((status = 200, description = "Deleted", body = Success<Deleted>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Data<Value>> {
    state
        .in_tenant(&user, async |tx| {
            invoices::delete(tx, &user.actor(), id).await
        })
        .await?;
    Ok(Data(json!({ "id": id, "deleted": true })))
}
