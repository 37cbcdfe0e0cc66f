//! Shared application state handed to every handler.

use std::sync::Arc;

use fieldwork_core::config::Config;
use sqlx::PgPool;

use crate::rate_limit::LoginThrottle;

/// What handlers share: the tenant pool (role `fieldwork_app`), configuration, login throttle.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub login_throttle: Arc<LoginThrottle>,
}

impl AppState {
    pub fn new(pool: PgPool, config: Config) -> Self {
        Self {
            pool,
            config: Arc::new(config),
            login_throttle: Arc::new(LoginThrottle::default()),
        }
    }
}
