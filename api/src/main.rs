//! `fieldwork-api`: serve the API (default) or apply migrations (`migrate`).

use anyhow::Context;
use clap::{Parser, Subcommand};
use fieldwork_api::AppState;
use fieldwork_core::config::Config;
use fieldwork_core::db::{self, DbRole, PoolConfig};
use fieldwork_core::telemetry::{init_tracing, shutdown_signal};

/// Fieldwork HTTP API.
///
/// Environment: DATABASE_URL (required), APP_SECRET (required to serve: signs unsubscribe
/// links, at least 32 characters), LISTEN_ADDR (default 127.0.0.1:8000), PUBLIC_BASE_URL
/// (default http://LISTEN_ADDR; links in emails), SESSION_TTL_DAYS (default 30),
/// DB_MAX_CONNECTIONS (default 10), LOG_FORMAT (text|json), RUST_LOG; for the messages the
/// API schedules and previews: QUIET_HOURS (default 21:00-08:00, or off), REMINDER_LEAD_HOURS
/// (default 24), SERVICE_REMINDER_DAYS (default 180), MESSAGE_CATCH_UP (e.g. custom=24h).
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
    /// Apply pending database migrations and exit (idempotent).
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
            db::migrate(&config.database_url).await?;
            tracing::info!("migrations applied");
        }
        Command::Serve => {
            config.require_app_secret()?;
            let mut pool_config = PoolConfig::new(&config.database_url, "fieldwork-api");
            pool_config.max_connections = config.db_max_connections;
            let pool = db::pool(&pool_config, DbRole::App)?;
            let listener = tokio::net::TcpListener::bind(config.listen_addr)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen_addr))?;
            tracing::info!(addr = %config.listen_addr, "fieldwork-api listening");
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
