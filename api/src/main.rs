//! `fieldwork-api`: serve the API (default) or apply migrations (`migrate`).

use anyhow::Context;
use clap::{Parser, Subcommand};
use fieldwork_api::AppState;
use fieldwork_core::config::Config;
use fieldwork_core::db::{self, DbRole, PoolConfig};
use fieldwork_core::telemetry::{init_tracing, shutdown_signal};

/// Fieldwork HTTP API.
///
/// Environment: DATABASE_URL (required: the runtime login), MIGRATE_DATABASE_URL (the schema
/// owner `migrate` logs in as; default DATABASE_URL), APP_SECRET (required to serve: signs
/// unsubscribe links, at least 32 characters), LISTEN_ADDR (default 127.0.0.1:8000),
/// PUBLIC_BASE_URL (default http://LISTEN_ADDR; links in emails), SESSION_TTL_DAYS (default
/// 30), DB_MAX_CONNECTIONS (default 10), HTTP_HEADER_TIMEOUT_SECS (10),
/// HTTP_BODY_TIMEOUT_SECS (30), HTTP_MAX_CONNECTIONS (1024), TRUSTED_PROXY_HOPS (0),
/// LOGIN_LIMIT_PER_IP (30 per minute), REGISTER_LIMIT_PER_IP (20 per hour),
/// PASSWORD_HASH_CONCURRENCY (cores), LOG_FORMAT (text|json), RUST_LOG; for the messages the
/// API schedules and previews: QUIET_HOURS (default 21:00-08:00, or off), REMINDER_LEAD_HOURS
/// (default 24), SERVICE_REMINDER_DAYS (default 180), MESSAGE_CATCH_UP (e.g. custom=24h).
/// docs/SECURITY.md explains the two logins.
#[derive(Debug, Parser)]
#[command(name = "fieldwork-api", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API on LISTEN_ADDR (the default).
    Serve,
    /// Apply pending database migrations as MIGRATE_DATABASE_URL's user and make
    /// DATABASE_URL's user a member of fieldwork_app and fieldwork_system; exit (idempotent).
    Migrate,
    /// Print the OpenAPI 3.1 document (as served at /api/openapi.json) and exit.
    Openapi,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        // Needs no configuration or database.
        println!(
            "{}",
            serde_json::to_string_pretty(fieldwork_api::openapi::document())?
        );
        return Ok(());
    }
    let config = Config::from_env()?;
    init_tracing(config.log_json);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => {}
        Command::Migrate => {
            db::migrate(&config.migrate_database_url).await?;
            db::grant_runtime_login(&config.migrate_database_url, &config.database_url).await?;
            tracing::info!("migrations applied");
        }
        Command::Serve => {
            config.require_app_secret()?;
            let mut pool_config = PoolConfig::new(&config.database_url, "fieldwork-api");
            pool_config.max_connections = config.db_max_connections;
            pool_config.acquire_timeout = config.db_acquire_timeout;
            let pool = db::pool(&pool_config, DbRole::App)?;
            warn_about_runtime_login(&pool).await;
            let listener = tokio::net::TcpListener::bind(config.listen_addr)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen_addr))?;
            // The bound address: LISTEN_ADDR may ask for port 0.
            let addr = listener.local_addr().unwrap_or(config.listen_addr);
            tracing::info!(%addr, "fieldwork-api listening");
            fieldwork_api::serve(
                listener,
                AppState::new(pool.clone(), config),
                shutdown_signal(),
            )
            .await?;
            pool.close().await;
            tracing::info!("fieldwork-api stopped");
        }
    }
    Ok(())
}

/// Logs what makes the runtime login more than least-privileged (or that it could not be
/// checked); the server starts either way.
async fn warn_about_runtime_login(pool: &sqlx::PgPool) {
    match db::runtime_login_warnings(pool).await {
        Ok(warnings) => {
            for w in warnings {
                tracing::warn!("{w} (docs/SECURITY.md)");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not check the runtime login's rights"),
    }
}
