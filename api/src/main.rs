//! `fieldwork-api`: serve the API (default) or apply migrations (`migrate`).

use anyhow::Context;
use clap::{Parser, Subcommand};
use fieldwork_api::AppState;
use fieldwork_core::config::{self, api::ApiArgs};
use fieldwork_core::db::{self, DbRole, PoolConfig};
use fieldwork_core::telemetry::shutdown_signal;

/// Fieldwork HTTP API. Every setting also reads the environment variable named below
/// (`.env.example` lists them all); docs/SECURITY.md explains the two database logins.
#[derive(Debug, Parser)]
#[command(name = "fieldwork-api", version)]
struct Cli {
    #[command(flatten)]
    args: ApiArgs,
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
    let cli: Cli = config::parse_args();
    if let Some(Command::Openapi) = cli.command {
        // Needs no configuration or database.
        println!(
            "{}",
            serde_json::to_string_pretty(fieldwork_api::routes::document())?
        );
        return Ok(());
    }
    cli.args.shared.log.init();
    let config = cli.args.config().map_err(anyhow::Error::msg)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => {}
        Command::Migrate => {
            let owner = config.migrate_database_url.expose();
            db::migrate(owner).await?;
            db::grant_runtime_login(owner, config.database_url.expose()).await?;
            tracing::info!("migrations applied");
        }
        Command::Serve => {
            config.require_app_secret()?;
            let mut pool_config = PoolConfig::new(config.database_url.expose(), "fieldwork-api");
            pool_config.max_connections = config.db_max_connections;
            pool_config.acquire_timeout = config.db_acquire_timeout;
            let pool = db::pool(&pool_config, DbRole::App)?;
            warn_about_runtime_login(&pool).await;
            // The internal listener first: the public one's log line means "ready".
            let metrics = match config.metrics_addr {
                Some(addr) => {
                    let listener = tokio::net::TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("cannot listen on METRICS_ADDR {addr}"))?;
                    let addr = listener.local_addr().unwrap_or(addr);
                    tracing::info!(%addr, "fieldwork-api metrics listening");
                    let served = fieldwork_api::metrics::serve(
                        listener,
                        pool.clone(),
                        std::future::pending(),
                    );
                    Some(tokio::spawn(served))
                }
                None => None,
            };
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
            if let Some(metrics) = metrics {
                metrics.abort();
            }
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
