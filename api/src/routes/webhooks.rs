//! `/api/data/webhook_subscriptions` (list, get, create — the answer carries the secret this
//! once —, patch, soft delete) and `/api/data/webhook_deliveries` (read-only attempts of one
//! subscription); one tenant transaction each.

use axum::extract::State;
use fieldwork_core::Error;
use fieldwork_core::pagination::{ListParams, Page, uuid_param};
use fieldwork_core::webhooks::deliveries::{self, WebhookDelivery};
use fieldwork_core::webhooks::{
    self, WebhookSubscription, WebhookSubscriptionCreate, WebhookSubscriptionPatch,
    WebhookSubscriptionWithSecret,
};
use serde_json::{Value, json};

use crate::auth::AuthUser;
use crate::envelope::{Created, Data};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::schemas::{Deleted, ListQuery, ReadErrors, Success, WriteErrors};
use crate::state::AppState;

/// List live webhook subscriptions in creation order (secrets are never listed).
#[utoipa::path(get, path = "/data/webhook_subscriptions", tag = "webhooks",
    params(ListQuery),
    responses((status = 200, description = "A page of subscriptions", body = Success<Page<WebhookSubscription>>), ReadErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery,
) -> ApiResult<Data<Page<WebhookSubscription>>> {
    let params = ListParams::from_query(&query)?;
    let page = state
        .in_tenant(&user, async |tx| webhooks::list(tx, &params).await)
        .await?;
    Ok(Data(page))
}

/// One subscription.
#[utoipa::path(get, path = "/data/webhook_subscriptions/{id}", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Subscription id")),
    responses((status = 200, description = "The subscription", body = Success<WebhookSubscription>), ReadErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Data<WebhookSubscription>> {
    let sub = state
        .in_tenant(&user, async |tx| webhooks::get(tx, id).await)
        .await?;
    Ok(Data(sub))
}

/// Subscribe an endpoint. The URL must be https (http with WEBHOOK_ALLOW_HTTP) and resolve
/// only to public addresses (422 otherwise). The answer's `secret` is shown this once.
#[utoipa::path(post, path = "/data/webhook_subscriptions", tag = "webhooks",
    request_body = WebhookSubscriptionCreate,
    responses((status = 201, description = "The new subscription with its secret", body = Success<WebhookSubscriptionWithSecret>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(input): ApiJson<WebhookSubscriptionCreate>,
) -> ApiResult<Created<WebhookSubscriptionWithSecret>> {
    let settings = state.config.webhooks.clone();
    let sub = state
        .in_tenant(&user, async |tx| {
            webhooks::create(tx, &user.actor(), &settings, input).await
        })
        .await?;
    Ok(Created(sub))
}

/// Change a subscription. `active: true` re-enables a disabled endpoint: it receives what it
/// missed, in order, from its cursor.
#[utoipa::path(patch, path = "/data/webhook_subscriptions/{id}", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Subscription id")),
    request_body = WebhookSubscriptionPatch,
    responses((status = 200, description = "The updated subscription", body = Success<WebhookSubscription>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
    ApiJson(patch): ApiJson<WebhookSubscriptionPatch>,
) -> ApiResult<Data<WebhookSubscription>> {
    let settings = state.config.webhooks.clone();
    let sub = state
        .in_tenant(&user, async |tx| {
            webhooks::update(tx, &user.actor(), &settings, id, patch).await
        })
        .await?;
    Ok(Data(sub))
}

/// Delete a subscription (soft): nothing more is delivered to it.
#[utoipa::path(delete, path = "/data/webhook_subscriptions/{id}", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Subscription id")),
    responses((status = 200, description = "Deleted", body = Success<Deleted>), WriteErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Data<Value>> {
    state
        .in_tenant(&user, async |tx| {
            webhooks::delete(tx, &user.actor(), id).await
        })
        .await?;
    Ok(Data(json!({ "id": id, "deleted": true })))
}

/// A subscription's delivery attempts, oldest first (`subscription_id` is required).
#[utoipa::path(get, path = "/data/webhook_deliveries", tag = "webhooks",
    params(ListQuery,
        ("subscription_id" = uuid::Uuid, Query, description = "The subscription")),
    responses((status = 200, description = "A page of delivery attempts", body = Success<Page<WebhookDelivery>>), ReadErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn deliveries(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery,
) -> ApiResult<Data<Page<WebhookDelivery>>> {
    let params = ListParams::from_query(&query)?;
    let subscription_id = uuid_param(&query, "subscription_id")?
        .ok_or_else(|| Error::field("subscription_id", "is required"))?;
    let page = state
        .in_tenant(&user, async |tx| {
            webhooks::get(tx, subscription_id).await?;
            deliveries::list(tx, subscription_id, &params).await
        })
        .await?;
    Ok(Data(page))
}

/// One delivery attempt.
#[utoipa::path(get, path = "/data/webhook_deliveries/{id}", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Delivery attempt id")),
    responses((status = 200, description = "The attempt", body = Success<WebhookDelivery>), ReadErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn delivery(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Data<WebhookDelivery>> {
    let d = state
        .in_tenant(&user, async |tx| deliveries::get(tx, id).await)
        .await?;
    Ok(Data(d))
}
