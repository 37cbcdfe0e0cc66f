//! `/api/data/customers`: list (cursor pages, `?q=` fuzzy search), get, create, patch,
//! soft delete. Each request is one tenant transaction.

use axum::extract::State;
use fieldwork_core::customers::{self, Customer, CustomerCreate, CustomerPatch};
use fieldwork_core::db::begin_tenant;
use fieldwork_core::pagination::{ListParams, Page};
use serde_json::{Value, json};

use crate::envelope::{Created, Data};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, AuthUser, IdPath};
use crate::state::AppState;

pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery,
) -> ApiResult<Data<Page<Customer>>> {
    let params = ListParams::from_query(&query)?;
    let mut tx = begin_tenant(&state.pool, user.user_id).await?;
    let page = match query.get("q") {
        Some(q) => customers::search(&mut tx, q, &params).await?,
        None => customers::list(&mut tx, &params).await?,
    };
    tx.commit().await?;
    Ok(Data(page))
}

pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Data<Customer>> {
    let mut tx = begin_tenant(&state.pool, user.user_id).await?;
    let customer = customers::get(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Data(customer))
}

pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(input): ApiJson<CustomerCreate>,
) -> ApiResult<Created<Customer>> {
    let mut tx = begin_tenant(&state.pool, user.user_id).await?;
    let customer = customers::create(&mut tx, &user.actor(), input).await?;
    tx.commit().await?;
    Ok(Created(customer))
}

pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ApiJson(patch): ApiJson<CustomerPatch>,
) -> ApiResult<Data<Customer>> {
    let mut tx = begin_tenant(&state.pool, user.user_id).await?;
    let customer = customers::update(&mut tx, &user.actor(), id, patch).await?;
    tx.commit().await?;
    Ok(Data(customer))
}

pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Data<Value>> {
    let mut tx = begin_tenant(&state.pool, user.user_id).await?;
    customers::delete(&mut tx, &user.actor(), id).await?;
    tx.commit().await?;
    Ok(Data(json!({ "id": id, "deleted": true })))
}
