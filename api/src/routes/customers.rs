//! `/api/data/customers`: list (cursor pages, `?q=` fuzzy search), get, create, patch,
//! soft delete. Each request is one tenant transaction. Archive and restore are actions.

use axum::extract::State;
use fieldwork_core::customers::{self, Customer, CustomerCreate, CustomerPatch};
use fieldwork_core::pagination::{ListParams, Page};
use serde_json::{Value, json};

use crate::auth::AuthUser;
use crate::envelope::{Created, Data};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::schemas::{Deleted, ListQuery, ReadErrors, Success, WriteErrors};
use crate::state::AppState;

/// List customers (archived ones included, with `archived_at` set), or search them with `q`.
#[utoipa::path(get, path = "/data/customers", tag = "customers",
    params(ListQuery, ("q" = Option<String>, Query, description = "Fuzzy search over names, email and phone (1 to 100 characters); best match first")),
    responses((status = 200, description = "A page of customers", body = Success<Page<Customer>>), ReadErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery,
) -> ApiResult<Data<Page<Customer>>> {
    let params = ListParams::from_query(&query)?;
    let page = state
        .in_tenant_pages(&user, async |tx| match query.get("q") {
            Some(q) => customers::search(tx, q, &params).await,
            None => customers::list(tx, &params).await,
        })
        .await?;
    Ok(Data(page))
}

/// One customer.
#[utoipa::path(get, path = "/data/customers/{id}", tag = "customers",
    params(("id" = uuid::Uuid, Path, description = "Customer id")),
    responses((status = 200, description = "The customer", body = Success<Customer>), ReadErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Data<Customer>> {
    let customer = state
        .in_tenant(&user, async |tx| customers::get(tx, id).await)
        .await?;
    Ok(Data(customer))
}

/// Create a customer.
#[utoipa::path(post, path = "/data/customers", tag = "customers",
    request_body = CustomerCreate,
    responses((status = 201, description = "The new customer", body = Success<Customer>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(input): ApiJson<CustomerCreate>,
) -> ApiResult<Created<Customer>> {
    let customer = state
        .in_tenant(&user, async |tx| {
            customers::create(tx, &user.actor(), input).await
        })
        .await?;
    Ok(Created(customer))
}

/// Change some fields of a customer (an archived one: CUSTOMER_ARCHIVED).
#[utoipa::path(patch, path = "/data/customers/{id}", tag = "customers",
    params(("id" = uuid::Uuid, Path, description = "Customer id")),
    request_body = CustomerPatch,
    responses((status = 200, description = "The updated customer", body = Success<Customer>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ApiJson(patch): ApiJson<CustomerPatch>,
) -> ApiResult<Data<Customer>> {
    let customer = state
        .in_tenant(&user, async |tx| {
            customers::update(tx, &user.actor(), id, patch).await
        })
        .await?;
    Ok(Data(customer))
}

/// Soft-delete a customer: gone from every read (404).
#[utoipa::path(delete, path = "/data/customers/{id}", tag = "customers",
    params(("id" = uuid::Uuid, Path, description = "Customer id")),
    responses((status = 200, description = "Deleted", body = Success<Deleted>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Data<Value>> {
    state
        .in_tenant(&user, async |tx| {
            customers::delete(tx, &user.actor(), id).await
        })
        .await?;
    Ok(Data(json!({ "id": id, "deleted": true })))
}
