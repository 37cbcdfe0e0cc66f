//! Configuration from the environment (`.env.example` lists every variable).

use std::net::SocketAddr;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::messages::MessageSettings;

/// Settings shared by the API and the worker.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`: the Postgres server and database (required).
    pub database_url: String,
    /// `LISTEN_ADDR`: where the API serves (default `127.0.0.1:8000`).
    pub listen_addr: SocketAddr,
    /// `PUBLIC_BASE_URL`: how users reach the API; links in emails, `Secure` cookies when https.
    pub public_base_url: String,
    /// `SESSION_TTL_DAYS`: how long a login lasts (default 30).
    pub session_ttl: Duration,
    /// `DB_MAX_CONNECTIONS`: pool size per process (default 10).
    pub db_max_connections: u32,
    /// `LOG_FORMAT`: `text` (default) or `json`.
    pub log_json: bool,
    /// `APP_SECRET`, `QUIET_HOURS`, `REMINDER_LEAD_HOURS`, `SERVICE_REMINDER_DAYS`,
    /// `MESSAGE_CATCH_UP` (and `PUBLIC_BASE_URL` for links): shared by the API and the worker.
    pub messages: MessageSettings,
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
            listen_addr,
            messages,
            public_base_url,
            session_ttl: Duration::from_secs(days * 24 * 3600),
            db_max_connections,
            log_json,
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
