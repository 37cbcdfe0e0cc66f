//! Shared application state handed to every handler (`auth` adds the tenant transaction of a
//! signed-in user).

use std::sync::Arc;
use std::time::Duration;

use fieldwork_core::config::Config;
use sqlx::PgPool;

use fieldwork_core::auth::PasswordHashing;

use crate::events::EventHub;
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
