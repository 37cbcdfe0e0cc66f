//! Configuration: one mechanism for both binaries. The settings are clap argument groups with
//! `env` attributes (`args`: shared by the API and the worker, `api`: the API's own), so
//! `--help` lists every variable with its default and a bad value stops start-up with one line
//! naming the variable; `.env.example` and README's table list the same variables (a test
//! checks). Secrets are [`Secret`]s and never print. `Config` is the API's resolved
//! configuration (tests build it directly).

pub mod api;
pub mod args;
mod secret;
pub mod webhooks;

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Command, Parser};

use crate::error::{Error, Result};
use crate::messages::MessageSettings;

pub use secret::Secret;

/// The API's settings, resolved from [`api::ApiArgs`].
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`: the runtime login, server and database (required). A NOSUPERUSER
    /// NOINHERIT login that is a member of `fieldwork_app` and `fieldwork_system` only.
    pub database_url: Secret,
    /// `MIGRATE_DATABASE_URL`: the schema owner `fieldwork-api migrate` logs in as (default:
    /// `DATABASE_URL`). Point it at PostgreSQL itself, not at PgBouncer.
    pub migrate_database_url: Secret,
    /// `LISTEN_ADDR`: where the API serves (default `127.0.0.1:8000`).
    pub listen_addr: SocketAddr,
    /// `METRICS_ADDR`: the internal listener of `/metrics` (unset: none).
    pub metrics_addr: Option<SocketAddr>,
    /// `PUBLIC_BASE_URL`: how users reach the API; links in emails, `Secure` cookies when https.
    pub public_base_url: String,
    /// `SESSION_TTL_DAYS`: how long a login lasts (default 30).
    pub session_ttl: Duration,
    /// `DB_MAX_CONNECTIONS`: pool size per process (default 10).
    pub db_max_connections: u32,
    /// `DB_ACQUIRE_TIMEOUT_SECS` (default 5): longest a request waits for a pooled connection
    /// — when every connection is busy, or while the database is unreachable — before it is
    /// answered 503 `SERVICE_UNAVAILABLE` with `Retry-After`.
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
    /// `WEBHOOK_*`: what a webhook subscription may target (and the rotation window).
    pub webhooks: crate::webhooks::WebhookSettings,
}

/// Why a server does not start without `APP_SECRET`.
pub const APP_SECRET_MISSING: &str = "APP_SECRET is not set: it signs unsubscribe links and must \
     be the same for every API and worker process (e.g. `openssl rand -hex 32`; ops/dev.sh keeps \
     one in .fieldwork/app_secret)";

/// Parses the command line and the environment into `T`, exiting with clap's one-line error
/// (naming the variable) on a bad value, and printing help or the version when asked.
pub fn parse_args<T: Parser>() -> T {
    let matches = env_named(T::command()).get_matches();
    T::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// `cmd` as the binaries parse it: every option read from a variable shows the variable's
/// name as its value name (so clap's errors name the variable), and a variable set to an empty
/// value counts as unset, as the empty entries of `.env.example` mean.
pub fn env_named(cmd: Command) -> Command {
    cmd.mut_args(|arg| {
        let Some(name) = arg.get_env().map(|n| n.to_string_lossy().into_owned()) else {
            return arg;
        };
        let blank = std::env::var_os(&name).is_some_and(|v| v.to_string_lossy().trim().is_empty());
        let arg = if arg.get_action().takes_values() {
            arg.value_name(name)
        } else {
            arg
        };
        if blank {
            arg.env(clap::builder::Resettable::Reset)
        } else {
            arg
        }
    })
}

impl Config {
    /// Refuses to serve without `APP_SECRET`: unsubscribe links signed with a per-process key
    /// would not work in any other process, nor after a restart.
    pub fn require_app_secret(&self) -> Result<()> {
        if self.messages.app_secret.is_ephemeral() {
            return Err(Error::Internal(APP_SECRET_MISSING.into()));
        }
        Ok(())
    }

    /// Whether session cookies must carry `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.public_base_url.starts_with("https://")
    }
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
