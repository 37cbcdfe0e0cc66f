//! Database access: pools whose connections carry no role and no tenant, and the helpers that
//! open every transaction with its role (and tenant) set in the same round trip —
//! `begin_tenant`, `begin_system`, `begin_anonymous` — so that any pooler in transaction mode
//! (PgBouncer) is safe. Migrations and the runtime login's checks live in [`logins`].

pub mod logins;

use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Postgres, Transaction};

use crate::error::{Error, Result};
use crate::ids::UserId;

pub use logins::{grant_runtime_login, migrate, runtime_login_warnings};

/// The migrations in `migrations/`, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// The roles transactions run as. The runtime login (`DATABASE_URL`) is `NOINHERIT` and holds
/// no rights of its own: every transaction starts with `SET LOCAL ROLE` to one of these, which
/// own nothing and lack BYPASSRLS, so row-level security always applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbRole {
    /// Tenant requests and tenant jobs: every tenant table is filtered by RLS.
    App,
    /// Narrow cross-tenant system work (queue bookkeeping, cron scans, pruning).
    System,
}

impl DbRole {
    pub fn name(self) -> &'static str {
        match self {
            DbRole::App => "fieldwork_app",
            DbRole::System => "fieldwork_system",
        }
    }

    fn label(self) -> &'static str {
        match self {
            DbRole::App => "app",
            DbRole::System => "system",
        }
    }
}

/// Pool settings; `max_connections` is per process.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub url: String,
    pub max_connections: u32,
    pub application_name: String,
    pub acquire_timeout: Duration,
}

impl PoolConfig {
    pub fn new(url: impl Into<String>, application_name: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            application_name: application_name.into(),
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

pub(crate) fn connect_options(url: &str, variable: &str) -> Result<PgConnectOptions> {
    PgConnectOptions::from_str(url).map_err(|e| Error::Internal(format!("invalid {variable}: {e}")))
}

/// A pool for the work of `role`. Its connections carry no state: the role and the tenant are
/// set by each transaction ([`begin_tenant`], [`begin_system`], [`begin_anonymous`]), never
/// per connection, so nothing leaks between transactions that share a server connection.
/// `role` only labels the connections (`application_name` `<name>/app`, `<name>/system`).
/// Connections are opened lazily, so building the pool never needs a live database.
pub fn pool(config: &PoolConfig, role: DbRole) -> Result<PgPool> {
    let options = connect_options(&config.url, "DATABASE_URL")?.application_name(&format!(
        "{}/{}",
        config.application_name,
        role.label()
    ));
    Ok(PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(config.acquire_timeout)
        .connect_lazy_with(options))
}

/// Whether every migration this binary embeds has been applied successfully. One round trip
/// as `fieldwork_app` (see [`fetch_anonymous`]).
pub async fn migrations_current(pool: &PgPool) -> Result<bool> {
    use sqlx::Row;
    let rows = fetch_anonymous(
        pool,
        "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
    )
    .await?;
    let applied: Vec<i64> = rows
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<std::result::Result<_, _>>()?;
    Ok(MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .all(|m| applied.binary_search(&m.version).is_ok()))
}

/// A transaction in which row-level security sees exactly one tenant.
///
/// Role and tenant are both transaction-local (`SET LOCAL ROLE fieldwork_app`,
/// `set_config('app.current_user_id', .., true)`), so a pooled connection (or a PgBouncer
/// server connection in transaction mode) never carries one request's role or tenant into
/// another. `BEGIN`, the role and the tenant travel in one round trip.
pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    user_id: UserId,
}

impl TenantTx {
    pub fn user_id(&self) -> UserId {
        self.user_id
    }

    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await?;
        Ok(())
    }
}

impl Deref for TenantTx {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.tx
    }
}

impl DerefMut for TenantTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}

/// `BEGIN`, the role and the tenant setting (empty: no tenant) as one simple-protocol message.
/// Only constants and a rendered UUID go into it: nothing in it can escape its literal.
fn begin_sql(role: DbRole, tenant: Option<UserId>) -> String {
    let tenant = tenant
        .map(|u| u.0.hyphenated().to_string())
        .unwrap_or_default();
    format!(
        "BEGIN; SET LOCAL ROLE {}; SELECT set_config('app.current_user_id', '{tenant}', true)",
        role.name()
    )
}

/// Opens a transaction as `fieldwork_app` scoped to `user_id`. The only way tenant code (API
/// handlers and job handlers alike) gets a database handle.
pub async fn begin_tenant(pool: &PgPool, user_id: UserId) -> Result<TenantTx> {
    let tx = pool
        .begin_with(AssertSqlSafe(begin_sql(DbRole::App, Some(user_id))))
        .await?;
    Ok(TenantTx { tx, user_id })
}

/// Opens a tenant transaction (as [`begin_tenant`]) for reading pages of a list: the planner
/// may not sort (`SET LOCAL enable_sort = off`, in the same round trip). Every list pages by
/// keyset on an index that starts with the tenant (`(user_id, id)`, ...), so the ordered
/// index range scan is always there; without this, lagging or missing statistics ("this
/// tenant has a handful of rows") make PostgreSQL read all of a big tenant's rows in a
/// bitmap scan and sort them — 8-14 ms a page instead of 0.1 ms (docs/BENCHMARKS.md). A
/// relevance-ordered search still sorts (no index gives its order), as it must.
pub async fn begin_tenant_pages(pool: &PgPool, user_id: UserId) -> Result<TenantTx> {
    let sql = format!(
        "{}; SET LOCAL enable_sort = off",
        begin_sql(DbRole::App, Some(user_id))
    );
    let tx = pool.begin_with(AssertSqlSafe(sql)).await?;
    Ok(TenantTx { tx, user_id })
}

/// Opens a transaction as `fieldwork_system` (no tenant): the queue's bookkeeping, cron and
/// the other narrow cross-tenant paths the migrations grant that role.
pub async fn begin_system(pool: &PgPool) -> Result<Transaction<'static, Postgres>> {
    Ok(pool
        .begin_with(AssertSqlSafe(begin_sql(DbRole::System, None)))
        .await?)
}

/// Opens a transaction as `fieldwork_app` without a tenant: RLS shows no tenant's rows. For
/// work before a tenant is known that needs more than one statement.
pub async fn begin_anonymous(pool: &PgPool) -> Result<Transaction<'static, Postgres>> {
    Ok(pool
        .begin_with(AssertSqlSafe(begin_sql(DbRole::App, None)))
        .await?)
}

/// Runs one read-only `select` as `fieldwork_app` without a tenant in a single round trip:
/// `SET LOCAL ROLE`, the empty tenant and the query go as one simple-protocol message, which
/// PostgreSQL runs as one implicit transaction (the `SET LOCAL`s end with it, also on error).
/// The simple protocol has no parameters: `select` must be built only from constants and
/// values the caller rendered safe (hex digits, see [`hex_text`]). Rows come back in text form.
pub(crate) async fn fetch_anonymous(pool: &PgPool, select: &str) -> Result<Vec<PgRow>> {
    let sql = format!(
        "SET LOCAL ROLE {}; SET LOCAL app.current_user_id = ''; {select}",
        DbRole::App.name()
    );
    Ok(sqlx::raw_sql(AssertSqlSafe(sql)).fetch_all(pool).await?)
}

/// `bytes` as an SQL expression of type `bytea` made of hex digits only: safe to put into a
/// simple-protocol statement whatever the bytes are.
pub(crate) fn hex_bytea(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2 + 24);
    out.push_str("decode('");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out.push_str("', 'hex')");
    out
}

/// `text` as an SQL expression of type `text` made of hex digits only (see [`hex_bytea`]).
pub(crate) fn hex_text(text: &str) -> String {
    format!("convert_from({}, 'UTF8')", hex_bytea(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_literals_contain_nothing_but_hex_digits() {
        assert_eq!(hex_bytea(b"\0'\\"), "decode('00275c', 'hex')");
        assert_eq!(
            hex_text("a'b"),
            "convert_from(decode('612762', 'hex'), 'UTF8')"
        );
    }

    #[test]
    fn every_transaction_names_its_role_and_its_tenant() {
        let user = UserId(uuid::Uuid::nil());
        assert_eq!(
            begin_sql(DbRole::App, Some(user)),
            "BEGIN; SET LOCAL ROLE fieldwork_app; SELECT set_config('app.current_user_id', \
             '00000000-0000-0000-0000-000000000000', true)"
        );
        assert!(begin_sql(DbRole::System, None).ends_with("'app.current_user_id', '', true)"));
    }
}
