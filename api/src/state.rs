//! Shared application state handed to every handler (`auth` adds the tenant transaction of a
//! signed-in user).

use std::sync::Arc;
use std::time::Duration;

use fieldwork_core::config::Config;
use sqlx::PgPool;

use fieldwork_core::auth::PasswordHashing;

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
