//! Subscription queries in the caller's tenant transaction (RLS), audited like every entity:
//! create (server-generated secret, SSRF-checked URL, cursor at the tenant's last event),
//! list, get, patch (re-enabling replays from the cursor), soft delete.

use serde_json::{Map, Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::jobs::wake_delivery;
use super::settings::WebhookSettings;
use super::signing::generate_secret;
use super::{
    SubscriptionValues, WebhookSubscription, WebhookSubscriptionCreate, WebhookSubscriptionPatch,
    WebhookSubscriptionWithSecret, columns, ssrf,
};
use crate::audit::{self, AuditAction, compute_changes, snapshot};
use crate::error::{Error, Result};
use crate::events;
use crate::ids::{Actor, new_id};
use crate::pagination::{Cursor, ListParams, Page};

pub(crate) const NOT_FOUND: Error = Error::NotFound("webhook subscription not found");
pub(crate) const ENTITY: &str = "webhook_subscription";

/// Checks a URL as deliveries will: syntax, scheme, and every address its host resolves to
/// (422 on `url` when refused).
pub async fn check_url(url: &str, settings: &WebhookSettings) -> Result<()> {
    let target =
        ssrf::parse_target(url, settings.allow_http).map_err(|m| Error::field("url", m))?;
    ssrf::resolve_checked(&target.host, target.port, target.ip, settings.allow_private)
        .await
        .map_err(|m| Error::field("url", m))?;
    Ok(())
}

/// Creates a subscription; its secret is returned this once.
pub async fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    settings: &WebhookSettings,
    input: WebhookSubscriptionCreate,
) -> Result<WebhookSubscriptionWithSecret> {
    let v = input.parse()?;
    check_url(&v.url, settings).await?;
    let secret = generate_secret()?;
    let cursor = events::last_sequence(conn).await?;
    let sub: WebhookSubscription = sqlx::query_as(concat!(
        "INSERT INTO webhook_subscriptions (id, user_id, url, event_types, description, active, secret, cursor)
         VALUES ($1, app_current_user_id(), $2, $3, $4, $5, $6, $7)
         RETURNING ",
        columns!()
    ))
    .bind(new_id())
    .bind(&v.url)
    .bind(&v.event_types)
    .bind(&v.description)
    .bind(v.active)
    .bind(&secret)
    .bind(cursor)
    .fetch_one(&mut *conn)
    .await?;
    let changes = compute_changes(&Value::Null, &snapshot(&sub)?);
    audit::log_change(conn, actor, ENTITY, sub.id, AuditAction::Create, changes).await?;
    Ok(WebhookSubscriptionWithSecret {
        subscription: sub,
        secret,
    })
}

/// A live subscription of the current tenant.
pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<WebhookSubscription> {
    fetch(conn, id, false).await?.ok_or(NOT_FOUND)
}

pub(crate) async fn fetch(
    conn: &mut PgConnection,
    id: Uuid,
    for_update: bool,
) -> Result<Option<WebhookSubscription>> {
    let sql = if for_update {
        concat!(
            "SELECT ",
            columns!(),
            " FROM webhook_subscriptions WHERE id = $1 AND deleted_at IS NULL FOR UPDATE"
        )
    } else {
        concat!(
            "SELECT ",
            columns!(),
            " FROM webhook_subscriptions WHERE id = $1 AND deleted_at IS NULL"
        )
    };
    Ok(sqlx::query_as(sql).bind(id).fetch_optional(conn).await?)
}

/// Live subscriptions in creation order.
pub async fn list(
    conn: &mut PgConnection,
    params: &ListParams,
) -> Result<Page<WebhookSubscription>> {
    let after = Cursor::after_id(params.cursor)?;
    let rows: Vec<WebhookSubscription> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM webhook_subscriptions
          WHERE deleted_at IS NULL AND ($1::uuid IS NULL OR id > $1)
          ORDER BY id LIMIT $2"
    ))
    .bind(after)
    .bind(params.fetch_limit())
    .fetch_all(conn)
    .await?;
    Ok(Page::from_rows(rows, params.limit, |s| Cursor::After(s.id)))
}

/// Applies a partial update. `active: true` on a disabled endpoint re-enables it: the
/// failure run is forgotten and its delivery job replays everything after its cursor.
pub async fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    settings: &WebhookSettings,
    id: Uuid,
    patch: WebhookSubscriptionPatch,
) -> Result<WebhookSubscription> {
    let current = fetch(conn, id, true).await?.ok_or(NOT_FOUND)?;
    let values = patch.apply(&current)?;
    if values.url != current.url {
        check_url(&values.url, settings).await?;
    }
    let enabling = values.active && !current.active;
    let updated = write(conn, id, &values, enabling).await?;
    let changes = compute_changes(&snapshot(&current)?, &snapshot(&updated)?);
    if !changes.is_empty() {
        audit::log_change(conn, actor, ENTITY, id, AuditAction::Update, changes).await?;
    }
    if enabling {
        wake_delivery(conn, id).await?;
    }
    Ok(updated)
}

async fn write(
    conn: &mut PgConnection,
    id: Uuid,
    v: &SubscriptionValues,
    enabling: bool,
) -> Result<WebhookSubscription> {
    sqlx::query_as(concat!(
        "UPDATE webhook_subscriptions
            SET url = $2, event_types = $3, description = $4, active = $5,
                disabled_at = CASE WHEN $5 THEN NULL ELSE disabled_at END,
                disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END,
                failing_since = CASE WHEN $6 THEN NULL ELSE failing_since END
          WHERE id = $1 AND deleted_at IS NULL
          RETURNING ",
        columns!()
    ))
    .bind(id)
    .bind(&v.url)
    .bind(&v.event_types)
    .bind(&v.description)
    .bind(v.active)
    .bind(enabling)
    .fetch_optional(conn)
    .await?
    .ok_or(NOT_FOUND)
}

/// Soft delete: nothing more is delivered; its delivery records stay readable by id.
pub async fn delete(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<()> {
    let deleted_at: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
        "UPDATE webhook_subscriptions SET deleted_at = now(), active = false
          WHERE id = $1 AND deleted_at IS NULL RETURNING deleted_at",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let deleted_at = deleted_at.ok_or(NOT_FOUND)?;
    let mut changes = Map::new();
    changes.insert(
        "deleted_at".to_owned(),
        json!({ "old": null, "new": deleted_at }),
    );
    audit::log_change(conn, actor, ENTITY, id, AuditAction::Delete, changes).await?;
    Ok(())
}
