//! The settings both binaries read, as clap argument groups flattened into each binary's
//! command line: the database logins, logging, the message policy and webhooks (`webhooks`). Each also reads the
//! environment variable named in `--help`.

use clap::{Args, ValueEnum, value_parser};

use super::Secret;
use crate::messages::MessageSettings;
use crate::messages::settings::{AppSecret, CatchUpLimits, QuietHours, parse_quiet_hours};

pub use crate::telemetry::DEFAULT_LOG_FILTER;

/// Everything both binaries share.
#[derive(Debug, Clone, Args)]
pub struct SharedArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub log: LogArgs,
    #[command(flatten)]
    pub messages: MessageArgs,
    #[command(flatten)]
    pub webhooks: super::webhooks::WebhookArgs,
}

/// The two database logins and the pool size.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Database")]
pub struct DatabaseArgs {
    /// The runtime login, server and database (required): NOSUPERUSER NOINHERIT, a member of
    /// fieldwork_app and fieldwork_system only (docs/SECURITY.md). Behind PgBouncer in
    /// transaction mode add ?statement-cache-capacity=0.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<Secret>,
    /// The schema owner `fieldwork-api migrate` (and the bench) logs in as, straight to
    /// PostgreSQL, not through PgBouncer [default: DATABASE_URL].
    #[arg(long, env = "MIGRATE_DATABASE_URL", hide_env_values = true)]
    pub migrate_database_url: Option<Secret>,
    /// Database connections per pool.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 10,
        value_parser = value_parser!(u32).range(1..))]
    pub db_max_connections: u32,
    /// API: longest a request waits for a pooled connection (all busy, or the database
    /// unreachable) before it is answered 503 SERVICE_UNAVAILABLE with Retry-After.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT_SECS", default_value_t = 5,
        value_parser = value_parser!(u64).range(1..=300))]
    pub db_acquire_timeout_secs: u64,
}

impl DatabaseArgs {
    /// `DATABASE_URL`, or one line saying it is missing.
    pub fn database_url(&self) -> Result<Secret, String> {
        self.database_url
            .clone()
            .filter(|u| !u.expose().trim().is_empty())
            .ok_or_else(|| {
                "DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/fieldwork); \
                 ops/dev.sh starts a throwaway database and sets it for you"
                    .to_owned()
            })
    }

    /// `MIGRATE_DATABASE_URL`, else `DATABASE_URL`.
    pub fn migrate_database_url(&self) -> Result<Secret, String> {
        match &self.migrate_database_url {
            Some(url) if !url.expose().trim().is_empty() => Ok(url.clone()),
            _ => self.database_url(),
        }
    }
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Logging.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Logging")]
pub struct LogArgs {
    /// Log lines as text or as JSON objects.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log filter, e.g. `info,fieldwork_core=debug` (tracing's EnvFilter syntax).
    #[arg(long, env = "RUST_LOG", default_value = DEFAULT_LOG_FILTER,
        value_parser = log_filter)]
    pub rust_log: String,
}

impl LogArgs {
    pub fn json(&self) -> bool {
        self.log_format == LogFormat::Json
    }

    /// Installs the process's log subscriber.
    pub fn init(&self) {
        crate::telemetry::init_tracing(self.json(), &self.rust_log);
    }
}

fn log_filter(text: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(text)
        .map(|_| text.to_owned())
        .map_err(|e| format!("RUST_LOG is not a log filter: {e}"))
}

/// `QUIET_HOURS` as parsed (`None`: `off`).
#[derive(Debug, Clone, Copy)]
pub struct QuietHoursArg(pub Option<QuietHours>);

fn quiet_hours(text: &str) -> Result<QuietHoursArg, String> {
    parse_quiet_hours(text).map(QuietHoursArg)
}

/// The message policy the API and the worker must agree on.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Messages (the same for the API and every worker)")]
pub struct MessageArgs {
    /// How users reach the API: the start of every link in an email; https:// makes session
    /// cookies Secure [default: http://LISTEN_ADDR, 127.0.0.1:8000 for the worker].
    #[arg(long, env = "PUBLIC_BASE_URL")]
    pub public_base_url: Option<String>,
    /// Signs unsubscribe and other public links: required to serve and to run jobs, the same
    /// in every API and worker process, at least 32 characters (`openssl rand -hex 32`).
    #[arg(long, env = "APP_SECRET", hide_env_values = true)]
    pub app_secret: Option<Secret>,
    /// No email goes out in this window of the customer's local time (HH:MM-HH:MM, may wrap
    /// midnight; `off`: none); a message due inside it waits for its end.
    #[arg(long, env = "QUIET_HOURS", default_value = "21:00-08:00", value_parser = quiet_hours)]
    pub quiet_hours: QuietHoursArg,
    /// Appointment reminders go out this many hours before the visit (1 to 720).
    #[arg(long, env = "REMINDER_LEAD_HOURS", default_value_t = 24,
        value_parser = value_parser!(i64).range(1..=720))]
    pub reminder_lead_hours: i64,
    /// Service interval in days after a closed-out visit, for customers without
    /// attributes.service_interval_days (1 to 3650).
    #[arg(long, env = "SERVICE_REMINDER_DAYS", default_value_t = 180,
        value_parser = value_parser!(u32).range(1..=3650))]
    pub service_reminder_days: u32,
    /// How late after its due time a message may still go out, per type: `type=duration,...`
    /// with 30m, 12h, 7d or none [default: custom=24h, appointment_confirmation=48h,
    /// appointment_reminder=12h, appointment_cancellation=48h, service_reminder=14d,
    /// invoice=none, payment_reminder=none].
    #[arg(long, env = "MESSAGE_CATCH_UP", value_parser = CatchUpLimits::parse)]
    pub message_catch_up: Option<CatchUpLimits>,
}

impl MessageArgs {
    /// The resolved policy; `default_base_url` when `PUBLIC_BASE_URL` is unset. Without
    /// `APP_SECRET` the secret is ephemeral (the servers refuse to start with one).
    pub fn settings(&self, default_base_url: &str) -> Result<MessageSettings, String> {
        let base = self
            .public_base_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .unwrap_or(default_base_url);
        let app_secret = match &self.app_secret {
            Some(s) if !s.expose().trim().is_empty() => AppSecret::new(s.expose())?,
            _ => AppSecret::ephemeral(),
        };
        Ok(MessageSettings {
            public_base_url: base.trim_end_matches('/').to_owned(),
            app_secret,
            quiet_hours: self.quiet_hours.0,
            reminder_lead: chrono::Duration::hours(self.reminder_lead_hours),
            service_reminder_days: self.service_reminder_days,
            catch_up: self.message_catch_up.clone().unwrap_or_default(),
        })
    }
}
