//! The API's own settings as clap argument groups (listen addresses, sessions, HTTP limits,
//! abuse limits), flattened with the shared ones into `fieldwork-api`'s command line, and
//! their resolution into [`Config`].

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, value_parser};

use super::args::SharedArgs;
use super::{AuthSettings, Config, HttpSettings};

/// Every setting of `fieldwork-api`.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    #[command(flatten)]
    pub shared: SharedArgs,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
}

/// Where the API listens, and sessions.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Server")]
pub struct ServerArgs {
    /// Where the API serves (port 0: any free port, logged at start).
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8000")]
    pub listen_addr: SocketAddr,
    /// Internal listener of the API's Prometheus metrics at /metrics (request counts per
    /// route are not public: keep it off the public network) [default: unset, no metrics].
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// How long a login session lasts, in days (1 to 365).
    #[arg(long, env = "SESSION_TTL_DAYS", default_value_t = 30,
        value_parser = value_parser!(u64).range(1..=365))]
    pub session_ttl_days: u64,
}

/// How the HTTP server protects itself from slow and greedy clients (docs/SECURITY.md).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "HTTP limits")]
pub struct HttpArgs {
    /// Seconds for a request's headers to arrive, else the connection closes (1 to 3600).
    #[arg(long, env = "HTTP_HEADER_TIMEOUT_SECS", default_value_t = 10,
        value_parser = value_parser!(u64).range(1..=3600))]
    pub http_header_timeout_secs: u64,
    /// Seconds for a request's body to arrive, else 408 REQUEST_TIMEOUT (1 to 3600).
    #[arg(long, env = "HTTP_BODY_TIMEOUT_SECS", default_value_t = 30,
        value_parser = value_parser!(u64).range(1..=3600))]
    pub http_body_timeout_secs: u64,
    /// Open connections at most; more wait in the listen backlog.
    #[arg(long, env = "HTTP_MAX_CONNECTIONS", default_value_t = 1024,
        value_parser = value_parser!(u64).range(1..=1_000_000))]
    pub http_max_connections: u64,
    /// Reverse proxies in front of the API that append to X-Forwarded-For; 0 ignores the
    /// header, n takes the n-th address from the right.
    #[arg(long, env = "TRUSTED_PROXY_HOPS", default_value_t = 0,
        value_parser = value_parser!(u64).range(0..=64))]
    pub trusted_proxy_hops: u64,
}

/// How login and registration hold up under abuse (docs/SECURITY.md).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Abuse limits")]
pub struct AuthArgs {
    /// Login attempts per client address per minute (bursts of that many, refilled evenly).
    #[arg(long, env = "LOGIN_LIMIT_PER_IP", default_value_t = 30,
        value_parser = value_parser!(u32).range(1..))]
    pub login_limit_per_ip: u32,
    /// Registrations per client address per hour.
    #[arg(long, env = "REGISTER_LIMIT_PER_IP", default_value_t = 20,
        value_parser = value_parser!(u32).range(1..))]
    pub register_limit_per_ip: u32,
    /// argon2 hashes at once; requests finding no free slot within 2 s get 503
    /// SERVICE_UNAVAILABLE [default: the number of cores].
    #[arg(long, env = "PASSWORD_HASH_CONCURRENCY",
        value_parser = value_parser!(u64).range(1..=4096))]
    pub password_hash_concurrency: Option<u64>,
}

fn usize_of(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

impl ApiArgs {
    /// The resolved configuration; one line naming the variable when something is missing.
    pub fn config(&self) -> Result<Config, String> {
        let database = &self.shared.database;
        let listen_addr = self.server.listen_addr;
        let messages = self
            .shared
            .messages
            .settings(&format!("http://{listen_addr}"))?;
        let defaults = AuthSettings::default();
        Ok(Config {
            database_url: database.database_url()?,
            migrate_database_url: database.migrate_database_url()?,
            listen_addr,
            metrics_addr: self.server.metrics_addr,
            public_base_url: messages.public_base_url.clone(),
            session_ttl: Duration::from_secs(self.server.session_ttl_days * 24 * 3600),
            db_max_connections: database.db_max_connections,
            db_acquire_timeout: Duration::from_secs(database.db_acquire_timeout_secs),
            log_json: self.shared.log.json(),
            http: HttpSettings {
                header_timeout: Duration::from_secs(self.http.http_header_timeout_secs),
                body_timeout: Duration::from_secs(self.http.http_body_timeout_secs),
                max_connections: usize_of(self.http.http_max_connections),
                trusted_proxy_hops: usize_of(self.http.trusted_proxy_hops),
            },
            auth: AuthSettings {
                login_per_ip_per_minute: self.auth.login_limit_per_ip,
                register_per_ip_per_hour: self.auth.register_limit_per_ip,
                password_hash_concurrency: self
                    .auth
                    .password_hash_concurrency
                    .map_or(defaults.password_hash_concurrency, usize_of),
            },
            messages,
            webhooks: self.shared.webhooks.settings()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: ApiArgs,
    }

    fn parse(extra: &[&str]) -> Result<Cli, clap::Error> {
        let mut argv = vec![
            "fieldwork-api",
            "--database-url",
            "postgres://runtime:hunter2-runtime@db/fw",
            "--migrate-database-url",
            "postgres://owner:hunter2-owner@db/fw",
            "--app-secret",
            "app-secret-0123456789abcdef0123456789",
        ];
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv)
    }

    #[test]
    fn the_debug_form_of_the_configuration_shows_no_secret() {
        let cli = parse(&[]).unwrap();
        let config = cli.args.config().unwrap();
        for text in [format!("{config:?}"), format!("{cli:?}")] {
            for secret in ["hunter2-runtime", "hunter2-owner", "app-secret-0123"] {
                assert!(!text.contains(secret), "{secret} printed in {text}");
            }
        }
        assert_eq!(
            config.database_url.expose(),
            "postgres://runtime:hunter2-runtime@db/fw"
        );
        assert!(!config.messages.app_secret.is_ephemeral());
    }

    #[test]
    fn a_bad_value_is_refused_with_the_name_of_its_variable() {
        for (flag, value, name) in [
            ("--session-ttl-days", "0", "SESSION_TTL_DAYS"),
            ("--listen-addr", "nowhere", "LISTEN_ADDR"),
            ("--quiet-hours", "late", "QUIET_HOURS"),
            ("--message-catch-up", "custom=soon", "MESSAGE_CATCH_UP"),
            ("--reminder-lead-hours", "0", "REMINDER_LEAD_HOURS"),
            ("--log-format", "xml", "LOG_FORMAT"),
        ] {
            let err = parse(&[flag, value]).unwrap_err().to_string();
            assert!(err.contains(name), "{flag}: {err}");
        }
        let short = Cli::try_parse_from([
            "fieldwork-api",
            "--database-url",
            "postgres://db/fw",
            "--app-secret",
            "short",
        ])
        .unwrap()
        .args
        .config()
        .unwrap_err();
        assert!(
            short.starts_with("APP_SECRET") && !short.contains("short"),
            "{short}"
        );
    }

    #[test]
    fn the_public_base_url_defaults_to_the_listen_address() {
        let config = parse(&["--listen-addr", "127.0.0.1:9000"])
            .unwrap()
            .args
            .config()
            .unwrap();
        assert_eq!(config.public_base_url, "http://127.0.0.1:9000");
        assert_eq!(config.messages.public_base_url, "http://127.0.0.1:9000");
    }
}
