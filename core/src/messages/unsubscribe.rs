//! Unsubscribe links: `PUBLIC_BASE_URL/u/{token}`, where the token names a tenant's customer
//! and carries an HMAC-SHA256 (key `APP_SECRET`) over both, so it cannot be forged, altered or
//! moved to another customer. Following one (RFC 8058 one-click `POST`, or the confirm button of
//! the `GET` page) sets the customer's `email_opt_out`, audited with actor `customer`, and
//! cancels their pending messages.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;
use sqlx::PgConnection;
use uuid::Uuid;

use super::settings::{AppSecret, MessageSettings};
use super::{flows, templates};
use crate::audit::{self, AuditAction};
use crate::error::{Error, Result};
use crate::ids::{Actor, UserId};

const VERSION: u8 = 1;
/// Bytes of the MAC kept in a token: 128 bits, far beyond guessing.
const MAC_LEN: usize = 16;
const TOKEN_LEN: usize = 1 + 16 + 16 + MAC_LEN;
/// Domain separation: this key signs unsubscribe links and nothing else.
const CONTEXT: &[u8] = b"fieldwork unsubscribe v1";

/// Whom a verified token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsubscriber {
    pub user_id: UserId,
    pub customer_id: Uuid,
}

fn mac(secret: &AppSecret, user_id: UserId, customer_id: Uuid) -> Result<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.key())
        .map_err(|e| Error::Internal(format!("unsubscribe key: {e}")))?;
    mac.update(CONTEXT);
    mac.update(user_id.0.as_bytes());
    mac.update(customer_id.as_bytes());
    Ok(mac)
}

/// The token of a customer's unsubscribe link.
pub fn sign(secret: &AppSecret, user_id: UserId, customer_id: Uuid) -> Result<String> {
    let tag = mac(secret, user_id, customer_id)?.finalize().into_bytes();
    let mut raw = Vec::with_capacity(TOKEN_LEN);
    raw.push(VERSION);
    raw.extend_from_slice(user_id.0.as_bytes());
    raw.extend_from_slice(customer_id.as_bytes());
    raw.extend_from_slice(&tag[..MAC_LEN]);
    Ok(URL_SAFE_NO_PAD.encode(raw))
}

/// The customer a token names, if its signature holds (checked in constant time).
pub fn verify(secret: &AppSecret, token: &str) -> Option<Unsubscriber> {
    if token.len() > 128 {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
    if raw.len() != TOKEN_LEN || raw[0] != VERSION {
        return None;
    }
    let user_id = UserId(Uuid::from_slice(&raw[1..17]).ok()?);
    let customer_id = Uuid::from_slice(&raw[17..33]).ok()?;
    mac(secret, user_id, customer_id)
        .ok()?
        .verify_truncated_left(&raw[33..])
        .ok()?;
    Some(Unsubscriber {
        user_id,
        customer_id,
    })
}

/// `PUBLIC_BASE_URL/u/{token}`.
pub fn link(settings: &MessageSettings, user_id: UserId, customer_id: Uuid) -> Result<String> {
    let token = sign(&settings.app_secret, user_id, customer_id)?;
    Ok(format!("{}/u/{token}", settings.public_base_url))
}

/// What the unsubscribe page shows.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct UnsubscribePage {
    pub business_name: String,
    /// The address, partly hidden: `a•••@example.com`.
    pub email: Option<String>,
    pub opted_out: bool,
}

/// The page's facts for the token's customer (in the token's tenant transaction); `None` when
/// the customer no longer exists.
pub async fn page(conn: &mut PgConnection, customer_id: Uuid) -> Result<Option<UnsubscribePage>> {
    let row: Option<UnsubscribePage> = sqlx::query_as(
        "SELECT u.business_name, c.email, c.email_opt_out AS opted_out
           FROM customers c JOIN users u ON u.id = c.user_id
          WHERE c.id = $1 AND c.deleted_at IS NULL",
    )
    .bind(customer_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|mut p| {
        p.email = p.email.as_deref().map(mask_email);
        p
    }))
}

fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".to_owned(),
    }
}

/// Opts the customer out of email (idempotent: a second click changes nothing), audited as
/// `unsubscribe` by the customer, and cancels their pending messages. `None`: no such customer.
pub async fn unsubscribe(
    conn: &mut PgConnection,
    who: Unsubscriber,
    request_id: Option<String>,
) -> Result<Option<UnsubscribePage>> {
    let actor = Actor::customer(who.user_id, who.customer_id, request_id);
    let changed: Option<(bool,)> = sqlx::query_as(
        "UPDATE customers c SET email_opt_out = true
           FROM customers old
          WHERE c.id = $1 AND old.id = c.id AND c.deleted_at IS NULL
         RETURNING old.email_opt_out",
    )
    .bind(who.customer_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((was_opted_out,)) = changed else {
        return Ok(None);
    };
    if !was_opted_out {
        let mut changes = serde_json::Map::new();
        changes.insert(
            "email_opt_out".into(),
            serde_json::json!({"old": false, "new": true}),
        );
        audit::log_change(
            conn,
            &actor,
            "customer",
            who.customer_id,
            AuditAction::Action("unsubscribe"),
            changes,
        )
        .await?;
    }
    flows::cancel_customer_messages(conn, &actor, who.customer_id).await?;
    page(conn, who.customer_id).await
}

/// The unsubscribe page: `confirm` (the GET: a button, never an unsubscribe), `done`, or
/// `not_found`.
pub fn render_page(state: &str, page: Option<&UnsubscribePage>, action: &str) -> Result<String> {
    templates::render_web(
        "web/unsubscribe.html",
        serde_json::json!({ "state": state, "page": page, "action": action }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_unaltered_and_under_their_own_secret() {
        let secret = AppSecret::new("0123456789abcdef0123456789abcdef").unwrap();
        let other = AppSecret::new("fedcba9876543210fedcba9876543210").unwrap();
        let (user, customer) = (UserId(Uuid::now_v7()), Uuid::now_v7());
        let token = sign(&secret, user, customer).unwrap();
        assert_eq!(
            verify(&secret, &token),
            Some(Unsubscriber {
                user_id: user,
                customer_id: customer
            })
        );
        assert_eq!(verify(&other, &token), None, "another secret");
        // Another customer's id with this token's MAC: refused.
        let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        raw[17..33].copy_from_slice(Uuid::now_v7().as_bytes());
        assert_eq!(verify(&secret, &URL_SAFE_NO_PAD.encode(&raw)), None);
        // Any flipped bit: refused.
        for i in 0..TOKEN_LEN {
            let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
            raw[i] ^= 1;
            assert_eq!(
                verify(&secret, &URL_SAFE_NO_PAD.encode(&raw)),
                None,
                "byte {i}"
            );
        }
        for junk in ["", "x", "%%%", &"A".repeat(200)] {
            assert_eq!(verify(&secret, junk), None);
        }
        assert_eq!(mask_email("ada@example.com"), "a•••@example.com");
    }
}
