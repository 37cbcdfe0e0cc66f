//! Configuration from the environment (`.env.example` lists every variable).

use std::net::SocketAddr;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::messages::MessageSettings;

/// Settings shared by the API and the worker.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`: the runtime login, server and database (required). A NOSUPERUSER
    /// NOINHERIT login that is a member of `fieldwork_app` and `fieldwork_system` only.
    pub database_url: String,
    /// `MIGRATE_DATABASE_URL`: the schema owner `fieldwork-api migrate` logs in as (default:
    /// `DATABASE_URL`). Point it at PostgreSQL itself, not at PgBouncer.
    pub migrate_database_url: String,
    /// `LISTEN_ADDR`: where the API serves (default `127.0.0.1:8000`).
    pub listen_addr: SocketAddr,
    /// `PUBLIC_BASE_URL`: how users reach the API; links in emails, `Secure` cookies when https.
    pub public_base_url: String,
    /// `SESSION_TTL_DAYS`: how long a login lasts (default 30).
    pub session_ttl: Duration,
    /// `DB_MAX_CONNECTIONS`: pool size per process (default 10).
    pub db_max_connections: u32,
    /// `DB_ACQUIRE_TIMEOUT_SECS` (default 5): longest a request (or a worker's statement)
    /// waits for a pooled connection — when every connection is busy, or while the database
    /// is unreachable — before it gives up: the API then answers 503 `SERVICE_UNAVAILABLE`
    /// with `Retry-After`.
    pub db_acquire_timeout: Duration,
    /// `LOG_FORMAT`: `text` (default) or `json`.
    pub log_json: bool,
    /// Limits of the API's HTTP server.
    pub http: HttpSettings,
    /// Limits of the API's login and registration.
    pub auth: AuthSettings,
    /// `APP_SECRET`, `QUIET_HOURS`, `REMINDER_LEAD_HOURS`, `SERVICE_REMINDER_DAYS`,
    /// `MESSAGE_CATCH_UP` (and `PUBLIC_BASE_URL` for links): shared by the API and the worker.
    pub messages: MessageSettings,
}

/// How login and registration hold up under abuse (docs/SECURITY.md).
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// `LOGIN_LIMIT_PER_IP` (default 30): login attempts per client address per minute
    /// (bursts of that many, refilled evenly).
    pub login_per_ip_per_minute: u32,
    /// `REGISTER_LIMIT_PER_IP` (default 20): registrations per client address per hour.
    pub register_per_ip_per_hour: u32,
    /// `PASSWORD_HASH_CONCURRENCY` (default: the number of cores): argon2 hashes at once;
    /// requests that find no free slot within 2 s get 503 `SERVICE_UNAVAILABLE`.
    pub password_hash_concurrency: usize,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            login_per_ip_per_minute: 30,
            register_per_ip_per_hour: 20,
            password_hash_concurrency: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

impl AuthSettings {
    fn from_env() -> Result<Self> {
        let d = AuthSettings::default();
        let s = AuthSettings {
            login_per_ip_per_minute: parse("LOGIN_LIMIT_PER_IP", d.login_per_ip_per_minute)?,
            register_per_ip_per_hour: parse("REGISTER_LIMIT_PER_IP", d.register_per_ip_per_hour)?,
            password_hash_concurrency: parse(
                "PASSWORD_HASH_CONCURRENCY",
                d.password_hash_concurrency,
            )?,
        };
        if s.login_per_ip_per_minute == 0
            || s.register_per_ip_per_hour == 0
            || s.password_hash_concurrency == 0
        {
            return Err(Error::Internal(
                "LOGIN_LIMIT_PER_IP, REGISTER_LIMIT_PER_IP and PASSWORD_HASH_CONCURRENCY must be \
                 at least 1"
                    .into(),
            ));
        }
        Ok(s)
    }
}

/// How the API's HTTP server protects itself from slow and greedy clients.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// `HTTP_HEADER_TIMEOUT_SECS` (default 10): a request whose headers have not fully
    /// arrived by then is dropped with its connection (slowloris).
    pub header_timeout: Duration,
    /// `HTTP_BODY_TIMEOUT_SECS` (default 30): longest a request body may take to arrive.
    pub body_timeout: Duration,
    /// `HTTP_MAX_CONNECTIONS` (default 1024): open connections beyond it wait in the listen
    /// backlog until one closes.
    pub max_connections: usize,
    /// `TRUSTED_PROXY_HOPS` (default 0): how many reverse proxies in front of the API append
    /// to `X-Forwarded-For`. 0 ignores the header and limits by the peer address; n takes the
    /// n-th address from the right (the one the outermost trusted proxy saw).
    pub trusted_proxy_hops: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            trusted_proxy_hops: 0,
        }
    }
}

impl HttpSettings {
    fn from_env() -> Result<Self> {
        let d = HttpSettings::default();
        let secs = |name: &str, default: Duration| -> Result<Duration> {
            let v: u64 = parse(name, default.as_secs())?;
            if v == 0 || v > 3600 {
                return Err(Error::Internal(format!(
                    "{name} must be between 1 and 3600 seconds"
                )));
            }
            Ok(Duration::from_secs(v))
        };
        let max_connections = parse("HTTP_MAX_CONNECTIONS", d.max_connections)?;
        if max_connections == 0 {
            return Err(Error::Internal(
                "HTTP_MAX_CONNECTIONS must be at least 1".into(),
            ));
        }
        Ok(Self {
            header_timeout: secs("HTTP_HEADER_TIMEOUT_SECS", d.header_timeout)?,
            body_timeout: secs("HTTP_BODY_TIMEOUT_SECS", d.body_timeout)?,
            max_connections,
            trusted_proxy_hops: parse("TRUSTED_PROXY_HOPS", d.trusted_proxy_hops)?,
        })
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| Error::Internal(format!("{name} has an invalid value: {v:?}"))),
    }
}

impl Config {
    pub fn from_env() -> Result<Config> {
        let database_url = var("DATABASE_URL").ok_or_else(|| {
            Error::Internal(
                "DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/fieldwork); \
                 ops/dev.sh starts a throwaway database and sets it for you"
                    .into(),
            )
        })?;
        let migrate_database_url =
            var("MIGRATE_DATABASE_URL").unwrap_or_else(|| database_url.clone());
        let listen_addr = parse("LISTEN_ADDR", SocketAddr::from(([127, 0, 0, 1], 8000)))?;
        let public_base_url =
            var("PUBLIC_BASE_URL").unwrap_or_else(|| format!("http://{listen_addr}"));
        let days: u64 = parse("SESSION_TTL_DAYS", 30)?;
        if days == 0 || days > 365 {
            return Err(Error::Internal(
                "SESSION_TTL_DAYS must be between 1 and 365".into(),
            ));
        }
        let db_max_connections = parse("DB_MAX_CONNECTIONS", 10)?;
        let acquire_secs: u64 = parse("DB_ACQUIRE_TIMEOUT_SECS", 5)?;
        if acquire_secs == 0 || acquire_secs > 300 {
            return Err(Error::Internal(
                "DB_ACQUIRE_TIMEOUT_SECS must be between 1 and 300".into(),
            ));
        }
        let log_json = match var("LOG_FORMAT").as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                return Err(Error::Internal(format!(
                    "LOG_FORMAT must be text or json, not {other:?}"
                )));
            }
        };
        let messages =
            MessageSettings::from_vars(&public_base_url, var).map_err(Error::Internal)?;
        Ok(Config {
            database_url,
            messages,
            migrate_database_url,
            listen_addr,
            public_base_url,
            session_ttl: Duration::from_secs(days * 24 * 3600),
            db_max_connections,
            db_acquire_timeout: Duration::from_secs(acquire_secs),
            log_json,
            http: HttpSettings::from_env()?,
            auth: AuthSettings::from_env()?,
        })
    }

    /// Refuses to serve without `APP_SECRET`: unsubscribe links signed with a per-process key
    /// would not work in any other process, nor after a restart.
    pub fn require_app_secret(&self) -> Result<()> {
        if self.messages.app_secret.is_ephemeral() {
            return Err(Error::Internal(
                "APP_SECRET is not set: it signs unsubscribe links and must be the same for \
                 every API and worker process (e.g. `openssl rand -hex 32`; ops/dev.sh keeps one \
                 in .fieldwork/app_secret)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Whether session cookies must carry `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.public_base_url.starts_with("https://")
    }
}
