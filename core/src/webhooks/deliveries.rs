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

/// Records attempts in the caller's tenant transaction, in one statement.
pub async fn insert_many(conn: &mut PgConnection, rows: &[NewDelivery]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&NewDelivery) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO webhook_deliveries (user_id, subscription_id, event_id, event_type, sequence,
                trigger, attempt, status, response_status, latency_ms, response_body, error)
         SELECT app_current_user_id(), r.subscription_id, r.event_id, r.event_type, r.sequence,
                r.trigger, r.attempt, r.status, r.response_status, r.latency_ms, r.response_body,
                r.error
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int8[], $5::text[], $6::int4[],
                       $7::text[], $8::int4[], $9::int4[], $10::text[], $11::text[])
             WITH ORDINALITY AS r(subscription_id, event_id, event_type, sequence, trigger,
                                  attempt, status, response_status, latency_ms, response_body,
                                  error, ord)
          ORDER BY r.ord",
    )
    .bind(rows.iter().map(|d| d.subscription_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|d| d.event_id).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|d| d.event_type.clone())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|d| d.sequence).collect::<Vec<_>>())
    .bind(rows.iter().map(|d| d.trigger).collect::<Vec<_>>())
    .bind(rows.iter().map(|d| d.attempt).collect::<Vec<_>>())
    .bind(rows.iter().map(|d| d.status).collect::<Vec<_>>())
    .bind(rows.iter().map(|d| d.response_status).collect::<Vec<_>>())
    .bind(rows.iter().map(|d| d.latency_ms).collect::<Vec<_>>())
    .bind(col(|d| d.response_body.clone()))
    .bind(col(|d| d.error.clone()))
    .execute(conn)
    .await?;
    Ok(())
}

/// Attempts so far per event of `event_ids` on the subscription (redeliveries excluded).
pub async fn attempts_by_event(
    conn: &mut PgConnection,
    subscription_id: Uuid,
    event_ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, i32>> {
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT event_id, count(*) FROM webhook_deliveries
          WHERE user_id = app_current_user_id() AND subscription_id = $1
            AND event_id = ANY($2) AND trigger = 'delivery'
          GROUP BY event_id",
    )
    .bind(subscription_id)
    .bind(event_ids)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, n)| (id, i32::try_from(n).unwrap_or(i32::MAX)))
        .collect())
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
