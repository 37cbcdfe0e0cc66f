//! Shared application state handed to every handler.

use std::sync::Arc;
use std::time::Duration;

use fieldwork_core::config::Config;
use sqlx::PgPool;

use fieldwork_core::auth::PasswordHashing;
use fieldwork_core::db::{TenantTx, begin_tenant, begin_tenant_pages};

use crate::error::ApiResult;
use crate::extract::AuthUser;
use crate::rate_limit::{IpLimiter, LoginThrottle};

/// What handlers share: the pool (its transactions run as `fieldwork_app`), configuration,
/// and the abuse limits of login and registration.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub login_throttle: Arc<LoginThrottle>,
    pub login_per_ip: Arc<IpLimiter>,
    pub register_per_ip: Arc<IpLimiter>,
    pub hashing: PasswordHashing,
}

impl AppState {
    /// Runs `f` in a transaction scoped to `user`'s tenant and commits it when `f` succeeds;
    /// an error drops (rolls back) the transaction, so nothing of a failed request is written.
    pub async fn in_tenant<T>(
        &self,
        user: &AuthUser,
        f: impl AsyncFnOnce(&mut TenantTx) -> fieldwork_core::Result<T>,
    ) -> ApiResult<T> {
        let mut tx = begin_tenant(&self.pool, user.user_id).await?;
        let out = f(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Like [`in_tenant`](Self::in_tenant) for a read of a list page: the transaction keeps
    /// the planner on the tenant's index (`db::begin_tenant_pages`).
    pub async fn in_tenant_pages<T>(
        &self,
        user: &AuthUser,
        f: impl AsyncFnOnce(&mut TenantTx) -> fieldwork_core::Result<T>,
    ) -> ApiResult<T> {
        let mut tx = begin_tenant_pages(&self.pool, user.user_id).await?;
        let out = f(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub fn new(pool: PgPool, config: Config) -> Self {
        let auth = &config.auth;
        Self {
            login_throttle: Arc::new(LoginThrottle::default()),
            login_per_ip: Arc::new(IpLimiter::new(
                auth.login_per_ip_per_minute,
                Duration::from_secs(60),
            )),
            register_per_ip: Arc::new(IpLimiter::new(
                auth.register_per_ip_per_hour,
                Duration::from_secs(3600),
            )),
            hashing: PasswordHashing::new(auth.password_hash_concurrency),
            pool,
            config: Arc::new(config),
        }
    }
}
