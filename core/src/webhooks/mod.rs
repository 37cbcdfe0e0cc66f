//! Webhook subscriptions: a tenant's HTTP endpoints that receive its events, signed with the
//! subscription's secret (Standard Webhooks). The entity as clients see it (never with its
//! secret, except right after create and `webhook.rotate_secret`), its inputs and their
//! checks; queries in `service`, actions in `actions`, the worker's side in `delivery`, delivery records in `deliveries`, the jobs in
//! `jobs`, the SSRF guard in `ssrf`, signing in `signing`, settings in `settings`.

mod actions;
pub mod deliveries;
pub mod delivery;
pub mod jobs;
mod service;
pub mod settings;
pub mod signing;
pub mod ssrf;

pub use actions::{
    RedeliverRequest, SubscriptionRef, WebhookQueued, ping, redeliver, rotate_secret,
};
pub use service::{check_url, create, delete, get, list, update};
pub use settings::WebhookSettings;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Result;
use crate::events::EVENT_TYPES;
use crate::fields::{self, Checker, FieldError, JsonInput, Patch};

/// A subscription as clients see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct WebhookSubscription {
    pub id: Uuid,
    pub user_id: Uuid,
    pub url: String,
    /// Exact event types, `entity.*` or `*`.
    pub event_types: Vec<String>,
    pub description: Option<String>,
    /// Receives events. False when switched off or disabled after failing.
    pub active: bool,
    /// The last event sequence this endpoint is done with; re-enabling replays from here.
    pub cursor: i64,
    /// Since when every attempt has failed (null after a success).
    pub failing_since: Option<DateTime<Utc>>,
    /// Set when the endpoint was disabled for failing `WEBHOOK_DISABLE_AFTER` long.
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    /// Until when the previous secret still signs (after a rotation).
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

macro_rules! columns {
    () => {
        "id, user_id, url, event_types, description, active, cursor, failing_since, disabled_at, \
         disabled_reason, previous_secret_expires_at, created_at, updated_at"
    };
}
pub(crate) use columns;

/// A subscription with its signing secret: the answer of create and `webhook.rotate_secret`,
/// the only times the secret is shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookSubscriptionWithSecret {
    #[serde(flatten)]
    pub subscription: WebhookSubscription,
    /// `whsec_` + base64: verify the `webhook-signature` header with it.
    pub secret: String,
}

/// Longest description.
pub const DESCRIPTION_MAX: usize = 500;
/// Most entries in `event_types`.
pub const TYPES_MAX: usize = 100;

const READ_ONLY: &[&str] = &[
    "id",
    "user_id",
    "secret",
    "cursor",
    "failing_since",
    "disabled_at",
    "disabled_reason",
    "previous_secret_expires_at",
    "created_at",
    "updated_at",
    "deleted_at",
];

/// Body of `POST /api/data/webhook_subscriptions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSubscriptionCreate {
    /// https (http only with `WEBHOOK_ALLOW_HTTP`); private and loopback targets are refused.
    pub url: String,
    /// Default `["*"]`.
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    #[serde(default)]
    pub description: Option<String>,
    /// Default `true`.
    #[serde(default)]
    pub active: Option<bool>,
}
impl JsonInput for WebhookSubscriptionCreate {
    const READ_ONLY_FIELDS: &'static [&'static str] = READ_ONLY;
}

/// Body of `PATCH /api/data/webhook_subscriptions/{id}`. Setting `active` to true re-enables
/// a disabled endpoint, which then receives what it missed from its cursor.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSubscriptionPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub url: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub event_types: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub active: Patch<bool>,
}
impl JsonInput for WebhookSubscriptionPatch {
    const READ_ONLY_FIELDS: &'static [&'static str] = READ_ONLY;
}

/// Every writable column, checked (the URL's SSRF check is the service's: it resolves).
#[derive(Debug, Clone)]
pub struct SubscriptionValues {
    pub url: String,
    pub event_types: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
}

/// Checks one filter list: `*`, `entity.*` of a known entity, or a known type.
pub fn event_types(v: Vec<String>) -> Result<Vec<String>, FieldError> {
    if v.is_empty() || v.len() > TYPES_MAX {
        return Err(FieldError::new(format!(
            "must list 1 to {TYPES_MAX} event types"
        )));
    }
    for t in &v {
        let known = t == "*"
            || EVENT_TYPES.contains(&t.as_str())
            || t.strip_suffix(".*").is_some_and(|entity| {
                EVENT_TYPES
                    .iter()
                    .any(|e| e.split('.').next() == Some(entity))
            });
        if !known {
            return Err(FieldError::new(format!(
                "{:?} is not an event type (see docs/API.md), an entity.* or *",
                t.chars().take(60).collect::<String>()
            )));
        }
    }
    let mut v = v;
    v.sort();
    v.dedup();
    Ok(v)
}

fn url_text(v: String) -> Result<String, FieldError> {
    fields::text(v, 1, ssrf::URL_MAX, false)
}

fn description(v: String) -> Result<Option<String>, FieldError> {
    fields::optional_text(v, DESCRIPTION_MAX, true)
}

impl WebhookSubscriptionCreate {
    /// Checks every field, reporting all problems at once.
    pub fn parse(self) -> Result<SubscriptionValues> {
        let mut c = Checker::new();
        let url = c.check("url", url_text(self.url));
        let types = c.check(
            "event_types",
            event_types(self.event_types.unwrap_or_else(|| vec!["*".to_owned()])),
        );
        let values = SubscriptionValues {
            url: url.unwrap_or_default(),
            event_types: types.unwrap_or_default(),
            description: c.check_opt("description", self.description, description),
            active: self.active.unwrap_or(true),
        };
        c.finish()?;
        Ok(values)
    }
}

impl WebhookSubscriptionPatch {
    /// Applies the patch to `current`, checking every sent field.
    pub fn apply(self, current: &WebhookSubscription) -> Result<SubscriptionValues> {
        let mut c = Checker::new();
        let current = current.clone();
        let values = SubscriptionValues {
            url: c.patch_required("url", self.url, current.url, url_text),
            event_types: c.patch_required(
                "event_types",
                self.event_types,
                current.event_types,
                event_types,
            ),
            description: c.patch_nullable(
                "description",
                self.description,
                current.description,
                description,
            ),
            active: c.patch_required("active", self.active, current.active, Ok),
        };
        c.finish()?;
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_must_name_real_types_or_entities() {
        assert!(event_types(vec!["*".into()]).is_ok());
        assert!(event_types(vec!["ticket.*".into(), "invoice.paid".into()]).is_ok());
        assert!(event_types(vec!["tickets.*".into()]).is_err());
        assert!(event_types(vec!["invoice.payed".into()]).is_err());
        assert!(event_types(vec![]).is_err());
    }
}
