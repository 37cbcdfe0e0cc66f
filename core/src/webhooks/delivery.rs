//! What the worker's delivery jobs read and write about a subscription, in the tenant's
//! transaction: the target with its secrets ([`DeliveryTarget`]), recording an attempt (its
//! row, the cursor, the failure run) and disabling an endpoint that failed every attempt for
//! `WEBHOOK_DISABLE_AFTER` (audited as `webhook_subscription.disabled`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::deliveries::{self, NewDelivery};
use super::service::{ENTITY, fetch};
use crate::audit::{self, AuditAction, compute_changes, snapshot};
use crate::error::Result;
use crate::ids::Actor;

/// A subscription as its deliveries need it (secrets included; never shown to clients).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryTarget {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub active: bool,
    pub deleted: bool,
    pub cursor: i64,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

impl DeliveryTarget {
    /// The secrets that sign at `now`: the current one, and the previous during its window.
    pub fn secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) =
            (&self.previous_secret, self.previous_secret_expires_at)
            && until > now
        {
            secrets.push(previous);
        }
        secrets
    }

    /// Whether deliveries from the cursor should run.
    pub fn receives(&self) -> bool {
        self.active && !self.deleted
    }
}

macro_rules! target_select {
    () => {
        "SELECT id, url, event_types, active, deleted_at IS NOT NULL AS deleted, cursor, secret,
                previous_secret, previous_secret_expires_at
           FROM webhook_subscriptions WHERE id = $1"
    };
}

/// The subscription `id` of the caller's tenant (deleted ones too: `deleted` says so).
/// `share`: `FOR SHARE`, waiting for a change in progress (a re-enable) to commit first.
pub async fn delivery_target(
    conn: &mut PgConnection,
    id: Uuid,
    share: bool,
) -> Result<Option<DeliveryTarget>> {
    let sql = if share {
        concat!(target_select!(), " FOR SHARE")
    } else {
        target_select!()
    };
    Ok(sqlx::query_as(sql).bind(id).fetch_optional(conn).await?)
}

/// The caller's tenant's subscriptions that receive events and are behind `last`.
pub async fn behind(conn: &mut PgConnection, last: i64) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM webhook_subscriptions
          WHERE user_id = app_current_user_id() AND active AND deleted_at IS NULL
            AND cursor < $1",
    )
    .bind(last)
    .fetch_all(conn)
    .await?)
}

/// Disabled, live subscriptions across tenants (a system transaction): the
/// `fieldwork_webhook_endpoints_disabled` gauge.
pub async fn disabled_count(conn: &mut PgConnection) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM webhook_subscriptions
          WHERE disabled_at IS NOT NULL AND deleted_at IS NULL",
    )
    .fetch_one(conn)
    .await?)
}

/// Moves the cursor forward (never back) past events that are done with.
pub async fn advance_cursor(conn: &mut PgConnection, id: Uuid, to: i64) -> Result<()> {
    sqlx::query("UPDATE webhook_subscriptions SET cursor = greatest(cursor, $2) WHERE id = $1")
        .bind(id)
        .bind(to)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records attempts (oldest first). For in-order deliveries (`trigger = delivery`) it also
/// moves the cursor to `advance_to` (the last event succeeded or given up), ends or extends
/// the failure run by the last attempt's outcome, and disables the endpoint when the run has
/// lasted `disable_after`. Returns whether the endpoint was disabled now.
pub async fn record_attempts(
    conn: &mut PgConnection,
    actor: &Actor,
    records: &[NewDelivery],
    advance_to: Option<i64>,
    disable_after: Duration,
) -> Result<bool> {
    deliveries::insert_many(conn, records).await?;
    let Some(delivery) = records.last() else {
        return Ok(false);
    };
    if delivery.trigger != "delivery" {
        return Ok(false);
    }
    let succeeded = delivery.status == "succeeded";
    sqlx::query(
        "UPDATE webhook_subscriptions
            SET cursor = greatest(cursor, coalesce($2, cursor)),
                failing_since = CASE WHEN $3 THEN NULL ELSE coalesce(failing_since, now()) END
          WHERE id = $1",
    )
    .bind(delivery.subscription_id)
    .bind(advance_to)
    .bind(succeeded)
    .execute(&mut *conn)
    .await?;
    if succeeded {
        return Ok(false);
    }
    let secs = disable_after.as_secs_f64();
    let due: bool = sqlx::query_scalar(
        "SELECT active AND deleted_at IS NULL
                AND failing_since <= now() - make_interval(secs => $2)
           FROM webhook_subscriptions WHERE id = $1",
    )
    .bind(delivery.subscription_id)
    .bind(secs)
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or(false);
    if !due {
        return Ok(false);
    }
    let Some(before) = fetch(conn, delivery.subscription_id, true).await? else {
        return Ok(false);
    };
    let reason = format!(
        "every delivery failed for {} (WEBHOOK_DISABLE_AFTER); last error: {}",
        humanize(disable_after),
        delivery
            .error
            .clone()
            .or(delivery.response_status.map(|s| format!("HTTP {s}")))
            .unwrap_or_default()
    );
    sqlx::query(
        "UPDATE webhook_subscriptions
            SET active = false, disabled_at = now(), disabled_reason = $2
          WHERE id = $1",
    )
    .bind(before.id)
    .bind(reason.chars().take(500).collect::<String>())
    .execute(&mut *conn)
    .await?;
    let Some(after) = fetch(conn, before.id, false).await? else {
        return Ok(false);
    };
    let changes = compute_changes(&snapshot(&before)?, &snapshot(&after)?);
    audit::log_change(
        conn,
        actor,
        ENTITY,
        before.id,
        AuditAction::Action("disable"),
        changes,
    )
    .await?;
    Ok(true)
}

fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s >= 86400 && s % 86400 == 0 => format!("{} d", s / 86400),
        s if s >= 3600 && s % 3600 == 0 => format!("{} h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}
