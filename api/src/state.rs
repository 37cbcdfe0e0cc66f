//! Shared application state handed to every handler.

use std::sync::Arc;

use fieldwork_core::config::Config;
use sqlx::PgPool;

use fieldwork_core::db::{TenantTx, begin_tenant};

use crate::error::ApiResult;
use crate::extract::AuthUser;
use crate::rate_limit::LoginThrottle;

/// What handlers share: the tenant pool (role `fieldwork_app`), configuration, login throttle.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub login_throttle: Arc<LoginThrottle>,
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
        Self {
            pool,
            config: Arc::new(config),
            login_throttle: Arc::new(LoginThrottle::default()),
        }
    }
}
