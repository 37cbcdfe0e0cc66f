//! Delivery records (`webhook_deliveries`): one row per attempt — status, attempt number,
//! response status, latency, the first KiB of the response body, error — written by the
//! worker in the tenant's transaction and read by clients per subscription.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::pagination::{Cursor, ListParams, Page};

/// One attempt as clients see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct WebhookDelivery {
    pub id: Uuid,
    pub subscription_id: Uuid,
    /// The event (audit row) delivered; null for a ping.
    pub event_id: Option<Uuid>,
    pub event_type: String,
    pub sequence: Option<i64>,
    /// `delivery` (in order from the cursor), `redelivery` or `ping`.
    pub trigger: String,
    /// 1 for the first attempt of this event on this endpoint.
    pub attempt: i32,
    /// `succeeded`, `failed` (retried), `exhausted` (given up) or `refused` (SSRF guard).
    pub status: String,
    pub response_status: Option<i32>,
    pub latency_ms: Option<i32>,
    /// The first KiB of the response body.
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, subscription_id, event_id, event_type, sequence, trigger, attempt, \
                       status, response_status, latency_ms, response_body, error, created_at";

/// What one attempt recorded.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub subscription_id: Uuid,
    pub event_id: Option<Uuid>,
    pub event_type: String,
    pub sequence: Option<i64>,
    pub trigger: &'static str,
    pub attempt: i32,
    pub status: &'static str,
    pub response_status: Option<i32>,
    pub latency_ms: Option<i32>,
    pub response_body: Option<String>,
    pub error: Option<String>,
}

/// Records one attempt in the caller's tenant transaction.
pub async fn insert(conn: &mut PgConnection, d: &NewDelivery) -> Result<Uuid> {
    Ok(sqlx::query_scalar(
        "INSERT INTO webhook_deliveries (user_id, subscription_id, event_id, event_type, sequence,
                trigger, attempt, status, response_status, latency_ms, response_body, error)
         VALUES (app_current_user_id(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         RETURNING id",
    )
    .bind(d.subscription_id)
    .bind(d.event_id)
    .bind(&d.event_type)
    .bind(d.sequence)
    .bind(d.trigger)
    .bind(d.attempt)
    .bind(d.status)
    .bind(d.response_status)
    .bind(d.latency_ms)
    .bind(&d.response_body)
    .bind(&d.error)
    .fetch_one(conn)
    .await?)
}

/// Attempts so far of `event_id` on the subscription, in order (redeliveries excluded).
pub async fn attempts_of(
    conn: &mut PgConnection,
    subscription_id: Uuid,
    event_id: Uuid,
) -> Result<i32> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM webhook_deliveries
          WHERE user_id = app_current_user_id() AND subscription_id = $1 AND event_id = $2
            AND trigger = 'delivery'",
    )
    .bind(subscription_id)
    .bind(event_id)
    .fetch_one(conn)
    .await?;
    Ok(i32::try_from(n).unwrap_or(i32::MAX))
}

/// A subscription's attempts, oldest first, paged.
pub async fn list(
    conn: &mut PgConnection,
    subscription_id: Uuid,
    params: &ListParams,
) -> Result<Page<WebhookDelivery>> {
    let after = Cursor::after_id(params.cursor)?;
    let rows: Vec<WebhookDelivery> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM webhook_deliveries
          WHERE user_id = app_current_user_id() AND subscription_id = $1
            AND ($2::uuid IS NULL OR id > $2)
          ORDER BY id LIMIT $3"
    )))
    .bind(subscription_id)
    .bind(after)
    .bind(params.fetch_limit())
    .fetch_all(conn)
    .await?;
    Ok(Page::from_rows(rows, params.limit, |d| Cursor::After(d.id)))
}

/// One attempt by id.
pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<WebhookDelivery> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM webhook_deliveries WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(Error::NotFound("webhook delivery not found"))
}
