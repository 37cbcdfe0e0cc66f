//! Accounts and sessions: registration, login with argon2-verified passwords, random session
//! tokens stored only as SHA-256 hashes, token authentication, logout.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::audit::{self, AuditAction, compute_changes, snapshot};
use crate::db::begin_tenant;
use crate::error::{Error, Result, on_constraint};
use crate::fields::{self, Checker, Email, JsonInput, Patch, TimeZone};
use crate::ids::{Actor, UserId, new_id};

const PASSWORD_MIN: usize = 8;
const PASSWORD_MAX: usize = 1024;

/// A registered business as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub business_name: String,
    /// IANA zone of the business (default `UTC`): the week view counts its days in it, and
    /// customers without a zone of their own read their emails in it.
    pub timezone: String,
    pub created_at: DateTime<Utc>,
}

/// Body of `POST /api/auth/register`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterInput {
    pub email: String,
    pub password: String,
    pub business_name: String,
    /// IANA time zone such as `Europe/Berlin`; default `UTC`.
    #[serde(default)]
    pub timezone: Option<String>,
}
impl JsonInput for RegisterInput {}

/// Body of `PATCH /api/auth/me`: only the fields sent change.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub business_name: Patch<String>,
    /// IANA time zone such as `Europe/Berlin`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub timezone: Patch<String>,
}
impl JsonInput for UserPatch {
    const READ_ONLY_FIELDS: &'static [&'static str] = &["id", "email", "created_at", "password"];
}

/// Body of `POST /api/auth/login`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}
impl JsonInput for LoginInput {}

/// A freshly issued session. `token` is shown to the client once and never stored.
#[derive(Debug, Clone)]
pub struct IssuedSession {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

fn password_field(password: &str) -> Result<(), fields::FieldError> {
    let len = password.chars().count();
    if len < PASSWORD_MIN {
        Err(fields::FieldError::new(format!(
            "must be at least {PASSWORD_MIN} characters"
        )))
    } else if len > PASSWORD_MAX {
        Err(fields::FieldError::new(format!(
            "must be at most {PASSWORD_MAX} characters"
        )))
    } else {
        Ok(())
    }
}

/// Argon2id with the crate's recommended parameters; runs on the blocking pool.
async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(format!("password hashing task failed: {e}")))?
}

async fn verify_password(password: String, hash: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .map_err(|e| Error::Internal(format!("password check task failed: {e}")))
}

/// A hash of a random password, checked against when the email is unknown so that an
/// unknown email and a wrong password take the same time.
async fn dummy_hash() -> Result<String> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h.clone());
    }
    let h = hash_password(URL_SAFE_NO_PAD.encode(random_bytes()?)).await?;
    Ok(DUMMY.get_or_init(|| h).clone())
}

fn random_bytes() -> Result<[u8; 32]> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(buf)
}

/// SHA-256 of a session token: what the database stores and looks up.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Creates an account. The row is written under the new user's own tenant context.
pub async fn register(pool: &PgPool, input: RegisterInput) -> Result<User> {
    let mut c = Checker::new();
    let email = c.check("email", Email::parse(&input.email));
    let business_name = c.check(
        "business_name",
        fields::text(input.business_name, 1, 200, false),
    );
    c.check("password", password_field(&input.password));
    let timezone = c
        .check_opt("timezone", input.timezone, |v| {
            TimeZone::parse(&v).map(Some)
        })
        .unwrap_or_default();
    c.finish()?;
    let (Some(email), Some(business_name)) = (email, business_name) else {
        return Err(Error::Internal("validated fields missing".into()));
    };
    let password_hash = hash_password(input.password).await?;
    let id = UserId(new_id());
    let mut tx = begin_tenant(pool, id).await?;
    let user: User = sqlx::query_as(
        "INSERT INTO users (id, email, password_hash, business_name, timezone)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, email, business_name, timezone, created_at",
    )
    .bind(id.0)
    .bind(email.as_str())
    .bind(&password_hash)
    .bind(&business_name)
    .bind(timezone.name())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| {
        on_constraint("users_email_key", e, || {
            Error::Conflict("an account with this email already exists".into())
        })
    })?;
    tx.commit().await?;
    Ok(user)
}

/// Checks credentials and issues a session valid for `ttl`. Unknown email and wrong password
/// are the same `Unauthorized`.
pub async fn login(pool: &PgPool, input: LoginInput, ttl: Duration) -> Result<IssuedSession> {
    let creds: Option<(Uuid, String)> =
        sqlx::query_as("SELECT user_id, password_hash FROM auth_user_credentials($1)")
            .bind(input.email.trim())
            .fetch_optional(pool)
            .await?;
    let (user_id, hash, known) = match creds {
        Some((id, hash)) => (id, hash, true),
        None => (Uuid::nil(), dummy_hash().await?, false),
    };
    let password = input.password;
    if password.chars().count() > PASSWORD_MAX || !verify_password(password, hash).await? || !known
    {
        return Err(Error::Unauthorized);
    }
    let token = URL_SAFE_NO_PAD.encode(random_bytes()?);
    let expires_at = Utc::now() + ttl;
    let user_id = UserId(user_id);
    let mut tx = begin_tenant(pool, user_id).await?;
    sqlx::query(
        "INSERT INTO sessions (id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(new_id())
    .bind(user_id.0)
    .bind(token_hash(&token))
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    let user = fetch_user(&mut tx).await?;
    tx.commit().await?;
    Ok(IssuedSession {
        token,
        expires_at,
        user,
    })
}

/// The user a live session token belongs to.
pub async fn authenticate(pool: &PgPool, token: &str) -> Result<UserId> {
    // Tokens we issue are 43 base64url characters; anything else cannot match.
    if token.is_empty() || token.len() > 128 {
        return Err(Error::Unauthorized);
    }
    let user: Option<Uuid> = sqlx::query_scalar("SELECT auth_session_user($1)")
        .bind(token_hash(token))
        .fetch_one(pool)
        .await?;
    user.map(UserId).ok_or(Error::Unauthorized)
}

/// Ends the session of `token` (and sweeps the user's expired sessions).
pub async fn logout(pool: &PgPool, user: UserId, token: &str) -> Result<()> {
    let mut tx = begin_tenant(pool, user).await?;
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1 OR expires_at <= now()")
        .bind(token_hash(token))
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// The signed-in user.
pub async fn me(pool: &PgPool, user: UserId) -> Result<User> {
    let mut tx = begin_tenant(pool, user).await?;
    let user = fetch_user(&mut tx).await?;
    tx.commit().await?;
    Ok(user)
}

async fn fetch_user(conn: &mut sqlx::PgConnection) -> Result<User> {
    sqlx::query_as(
        "SELECT id, email, business_name, timezone, created_at FROM users
          WHERE id = app_current_user_id()",
    )
    .fetch_optional(conn)
    .await?
    .ok_or(Error::Unauthorized)
}

/// Changes the signed-in business's name or time zone, audited on the `user`.
pub async fn update_me(pool: &PgPool, actor: &Actor, patch: UserPatch) -> Result<User> {
    let mut tx = begin_tenant(pool, actor.user_id).await?;
    let current: User = sqlx::query_as(
        "SELECT id, email, business_name, timezone, created_at FROM users
          WHERE id = app_current_user_id() FOR UPDATE",
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::Unauthorized)?;
    let mut c = Checker::new();
    let business_name = c.patch_required(
        "business_name",
        patch.business_name,
        current.business_name.clone(),
        |v| fields::text(v, 1, 200, false),
    );
    let timezone = c.patch_required(
        "timezone",
        patch.timezone,
        TimeZone::parse(&current.timezone).unwrap_or_default(),
        |v| TimeZone::parse(&v),
    );
    c.finish()?;
    let updated: User = sqlx::query_as(
        "UPDATE users SET business_name = $1, timezone = $2 WHERE id = app_current_user_id()
         RETURNING id, email, business_name, timezone, created_at",
    )
    .bind(&business_name)
    .bind(timezone.name())
    .fetch_one(&mut *tx)
    .await?;
    let changes = compute_changes(&snapshot(&current)?, &snapshot(&updated)?);
    if !changes.is_empty() {
        audit::log_change(
            &mut tx,
            actor,
            "user",
            updated.id,
            AuditAction::Update,
            changes,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(updated)
}
