//! Accounts and sessions: registration, login with argon2-verified passwords (hashing under
//! bounded slots, [`password`]), random session tokens stored only as SHA-256 hashes, token
//! authentication, logout. The runtime roles never read password hashes or sessions: lookups
//! go through `SECURITY DEFINER` functions (migration `..._auth_least_privilege`).

pub mod password;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::audit::{self, AuditAction, compute_changes, snapshot};
use crate::db::{begin_tenant, fetch_anonymous, hex_bytea, hex_text};
use crate::error::{Error, Result, on_constraint};
use crate::fields::{self, Checker, Email, JsonInput, Patch, TimeZone};
use crate::ids::{Actor, UserId, new_id};

pub use password::PasswordHashing;
use password::random_bytes;

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

/// A login request that can possibly succeed: a normalised email ([`fields::normalize_email`],
/// the form the database compares) and a password within [`password::PASSWORD_MAX`]. Built
/// before any throttle, lock or database sees the request.
#[derive(Debug)]
pub struct LoginAttempt {
    email: String,
    password: String,
}

impl LoginAttempt {
    /// `Unauthorized` when the input cannot be anyone's credentials (no valid email, empty or
    /// over-long password, NUL or control characters): the caller answers it like a wrong
    /// password, without counting it against any account.
    pub fn parse(input: LoginInput) -> Result<LoginAttempt> {
        let email = fields::normalize_email(&input.email).ok_or(Error::Unauthorized)?;
        if input.password.is_empty() || !password::within_max(&input.password) {
            return Err(Error::Unauthorized);
        }
        Ok(LoginAttempt {
            email,
            password: input.password,
        })
    }

    /// The normalised email: the key for throttling failures.
    pub fn email(&self) -> &str {
        &self.email
    }
}

/// SHA-256 of a session token: what the database stores and looks up.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Creates an account. The row is written under the new user's own tenant context.
pub async fn register(
    pool: &PgPool,
    hashing: &PasswordHashing,
    input: RegisterInput,
) -> Result<User> {
    let mut c = Checker::new();
    let email = c.check("email", Email::parse(&input.email));
    let business_name = c.check(
        "business_name",
        fields::text(input.business_name, 1, 200, false),
    );
    c.check("password", password::check_new(&input.password));
    let timezone = c
        .check_opt("timezone", input.timezone, |v| {
            TimeZone::parse(&v).map(Some)
        })
        .unwrap_or_default();
    c.finish()?;
    let (Some(email), Some(business_name)) = (email, business_name) else {
        return Err(Error::Internal("validated fields missing".into()));
    };
    let password_hash = hashing.hash(input.password).await?;
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
/// are the same `Unauthorized`, and cost the same (an unknown email is checked against a
/// dummy hash).
pub async fn login(
    pool: &PgPool,
    hashing: &PasswordHashing,
    attempt: LoginAttempt,
    ttl: Duration,
) -> Result<IssuedSession> {
    let rows = fetch_anonymous(
        pool,
        &format!(
            "SELECT user_id, password_hash FROM auth_login_credentials({})",
            hex_text(&attempt.email)
        ),
    )
    .await?;
    let creds: Option<(Uuid, String)> = match rows.first() {
        Some(row) => Some((row.try_get(0)?, row.try_get(1)?)),
        None => None,
    };
    let (user_id, hash, known) = match creds {
        Some((id, hash)) => (id, hash, true),
        None => (Uuid::nil(), hashing.dummy_hash().await?, false),
    };
    if !hashing.verify(attempt.password, hash).await? || !known {
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

/// The user a live session token belongs to. One round trip (`auth_session_user` as
/// `fieldwork_app`, the hash rendered as hex digits).
pub async fn authenticate(pool: &PgPool, token: &str) -> Result<UserId> {
    // Tokens we issue are 43 base64url characters; anything else cannot match.
    if token.is_empty() || token.len() > 128 {
        return Err(Error::Unauthorized);
    }
    let rows = fetch_anonymous(
        pool,
        &format!(
            "SELECT auth_session_user({})",
            hex_bytea(&token_hash(token))
        ),
    )
    .await?;
    let user: Option<Uuid> = match rows.first() {
        Some(row) => row.try_get(0)?,
        None => None,
    };
    user.map(UserId).ok_or(Error::Unauthorized)
}

/// Ends the session of `token` (and sweeps the user's expired sessions).
pub async fn logout(pool: &PgPool, user: UserId, token: &str) -> Result<()> {
    let mut tx = begin_tenant(pool, user).await?;
    sqlx::query("SELECT auth_end_session($1)")
        .bind(token_hash(token))
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Deletes up to `limit` expired sessions of every tenant (the system path: the
/// `sessions.prune` cron job). Returns how many.
pub async fn prune_expired_sessions(conn: &mut sqlx::PgConnection, limit: i32) -> Result<u64> {
    let n: i64 = sqlx::query_scalar("SELECT auth_prune_expired_sessions($1)")
        .bind(limit)
        .fetch_one(conn)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
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
