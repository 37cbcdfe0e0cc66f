//! Shared application state handed to every handler.

use std::sync::Arc;
use std::time::Duration;

use fieldwork_core::config::Config;
use sqlx::PgPool;

use fieldwork_core::auth::PasswordHashing;
use fieldwork_core::db::{TenantTx, begin_tenant};

use crate::error::ApiResult;
use crate::events::EventHub;
use crate::extract::AuthUser;
use crate::rate_limit::{IpLimiter, LoginThrottle};

/// What handlers share: the pool (its transactions run as `fieldwork_app`), configuration,
/// the abuse limits of login and registration, and the event streams' shared listener.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub login_throttle: Arc<LoginThrottle>,
    pub login_per_ip: Arc<IpLimiter>,
    pub register_per_ip: Arc<IpLimiter>,
    pub hashing: PasswordHashing,
    /// The live event streams' shared listener.
    pub events: Arc<EventHub>,
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
            events: EventHub::new(pool.clone()),
            pool,
            config: Arc::new(config),
        }
    }
}
