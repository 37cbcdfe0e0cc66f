//! `/api/data/products`: list, get, create, patch, soft delete; one tenant transaction each.

use axum::extract::State;
use fieldwork_core::pagination::{ListParams, Page};
use fieldwork_core::products::{self, Product, ProductCreate, ProductPatch};
use serde_json::{Value, json};

use crate::auth::AuthUser;
use crate::envelope::{Created, Data};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::schemas::{Deleted, ListQuery, ReadErrors, Success, WriteErrors};
use crate::state::AppState;

/// List live products in creation order.
#[utoipa::path(get, path = "/data/products", tag = "products",
    params(ListQuery),
    responses((status = 200, description = "A page of products", body = Success<Page<Product>>), ReadErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery,
) -> ApiResult<Data<Page<Product>>> {
    let params = ListParams::from_query(&query)?;
    let page = state
        .in_tenant_pages(&user, async |tx| products::list(tx, &params).await)
        .await?;
    Ok(Data(page))
}

/// One product.
#[utoipa::path(get, path = "/data/products/{id}", tag = "products",
    params(("id" = uuid::Uuid, Path, description = "Product id")),
    responses((status = 200, description = "The product", body = Success<Product>), ReadErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Data<Product>> {
    let product = state
        .in_tenant(&user, async |tx| products::get(tx, id).await)
        .await?;
    Ok(Data(product))
}

/// Create a product (a SKU already used by a live product: CONFLICT).
#[utoipa::path(post, path = "/data/products", tag = "products",
    request_body = ProductCreate,
    responses((status = 201, description = "The new product", body = Success<Product>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(input): ApiJson<ProductCreate>,
) -> ApiResult<Created<Product>> {
    let product = state
        .in_tenant(&user, async |tx| {
            products::create(tx, &user.actor(), input).await
        })
        .await?;
    Ok(Created(product))
}

/// Change some fields of a product.
#[utoipa::path(patch, path = "/data/products/{id}", tag = "products",
    params(("id" = uuid::Uuid, Path, description = "Product id")),
    request_body = ProductPatch,
    responses((status = 200, description = "The updated product", body = Success<Product>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ApiJson(patch): ApiJson<ProductPatch>,
) -> ApiResult<Data<Product>> {
    let product = state
        .in_tenant(&user, async |tx| {
            products::update(tx, &user.actor(), id, patch).await
        })
        .await?;
    Ok(Data(product))
}

/// Soft-delete a product (invoice items keep referring to it; its SKU becomes free).
#[utoipa::path(delete, path = "/data/products/{id}", tag = "products",
    params(("id" = uuid::Uuid, Path, description = "Product id")),
    responses((status = 200, description = "Deleted", body = Success<Deleted>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Data<Value>> {
    state
        .in_tenant(&user, async |tx| {
            products::delete(tx, &user.actor(), id).await
        })
        .await?;
    Ok(Data(json!({ "id": id, "deleted": true })))
}
