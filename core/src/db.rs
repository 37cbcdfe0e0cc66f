//! Database access: pools that always run as a non-owner role, migrations, and the one helper
//! that opens a transaction scoped to a tenant (`begin_tenant`) or to the system path.

use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Executor, PgConnection, PgPool, Postgres, Transaction};

use crate::error::{Error, Result};
use crate::ids::UserId;

/// The migrations in `migrations/`, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// The role a pooled connection switches to right after connecting. Whatever user
/// `DATABASE_URL` names (even a superuser), queries then run as a role without BYPASSRLS
/// that owns nothing, so row-level security always applies.
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

    fn set_role_sql(self) -> &'static str {
        match self {
            DbRole::App => "SET ROLE fieldwork_app",
            DbRole::System => "SET ROLE fieldwork_system",
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

fn connect_options(config: &PoolConfig) -> Result<PgConnectOptions> {
    let options = PgConnectOptions::from_str(&config.url)
        .map_err(|e| Error::Internal(format!("invalid DATABASE_URL: {e}")))?;
    Ok(options.application_name(&config.application_name))
}

/// A pool whose every connection runs `SET ROLE <role>` before it is handed out.
/// Connections are opened lazily, so building the pool never needs a live database.
pub fn pool(config: &PoolConfig, role: DbRole) -> Result<PgPool> {
    let options = connect_options(config)?;
    let set_role = role.set_role_sql();
    Ok(PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(config.acquire_timeout)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                conn.execute(set_role).await?;
                Ok(())
            })
        })
        .connect_lazy_with(options))
}

/// Applies pending migrations as the user `DATABASE_URL` names (the owner of the schema).
/// Idempotent; concurrent callers serialise on sqlx's advisory lock.
pub async fn migrate(url: &str) -> Result<()> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| Error::Internal(format!("invalid DATABASE_URL: {e}")))?
        .application_name("fieldwork-migrate");
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let result = MIGRATOR
        .run(&pool)
        .await
        .map_err(|e| Error::Internal(format!("migration failed: {e}")));
    pool.close().await;
    result
}

/// Whether every migration this binary embeds has been applied successfully.
pub async fn migrations_current(pool: &PgPool) -> Result<bool> {
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await?;
    Ok(MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .all(|m| applied.binary_search(&m.version).is_ok()))
}

/// A transaction in which row-level security sees exactly one tenant.
///
/// The tenant is set with `set_config('app.current_user_id', .., true)`: transaction-local,
/// so a pooled connection (or a PgBouncer server connection in transaction mode) never
/// carries one request's tenant into another. `BEGIN` and the setting travel in one round trip.
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

/// Opens a transaction on an [`DbRole::App`] pool scoped to `user_id`. The only way tenant
/// code (API handlers and job handlers alike) gets a database handle.
pub async fn begin_tenant(pool: &PgPool, user_id: UserId) -> Result<TenantTx> {
    // A Uuid renders as 36 hex digits and dashes: nothing in it can escape the literal.
    let sql = format!(
        "BEGIN; SELECT set_config('app.current_user_id', '{}', true)",
        user_id.0.hyphenated()
    );
    let tx = pool.begin_with(AssertSqlSafe(sql)).await?;
    Ok(TenantTx { tx, user_id })
}
