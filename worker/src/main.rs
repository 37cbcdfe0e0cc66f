//! `fieldwork-worker`: run a worker (default), operator commands, bench.

use anyhow::Context;
use fieldwork_core::config;
use fieldwork_core::telemetry::shutdown_signal;
use fieldwork_worker::cli::{Cli, Command};
use fieldwork_worker::clients::Clients;
use fieldwork_worker::runtime::resolve_queues;
use fieldwork_worker::{WorkerContext, bench, jobs, ops, run_worker};

/// Links in emails when `PUBLIC_BASE_URL` is unset: the API's default `LISTEN_ADDR`.
const DEFAULT_PUBLIC_BASE_URL: &str = "http://127.0.0.1:8000";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli: Cli = config::parse_args();
    cli.shared.log.init();
    let database = &cli.shared.database;
    let database_url = database.database_url().map_err(anyhow::Error::msg)?;
    let mut settings = cli.run.settings().map_err(anyhow::Error::msg)?;
    settings.messages = cli
        .shared
        .messages
        .settings(DEFAULT_PUBLIC_BASE_URL)
        .map_err(anyhow::Error::msg)?;
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => {
            if settings.messages.app_secret.is_ephemeral() {
                anyhow::bail!(config::APP_SECRET_MISSING);
            }
            // The system pool serves one fetcher per queue plus the acker, heartbeat,
            // scheduler, rescuer, pruner, cron and metrics: never starve those.
            let clients = Clients::from_settings(&settings)?;
            tracing::info!(mail = clients.mailer.description(), "emails go to");
            let queues = resolve_queues(&settings, &jobs::registry(&settings, &clients)).len();
            let max_connections = database
                .db_max_connections
                .max(u32::try_from(queues).unwrap_or(u32::MAX).saturating_add(6));
            let mut ctx =
                WorkerContext::connect_with(database_url.expose(), max_connections, settings)?;
            ctx.clients = clients;
            match fieldwork_core::db::runtime_login_warnings(&ctx.system_pool).await {
                Ok(warnings) => {
                    for w in warnings {
                        tracing::warn!("{w} (docs/SECURITY.md)");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not check the runtime login's rights"),
            }
            run_worker(ctx, shutdown_signal()).await?;
        }
        Command::Jobs { command } => {
            let ctx = WorkerContext::connect(database_url.expose(), 2)?;
            ops::run(&ctx.system_pool, command)
                .await
                .context("jobs command failed")?;
        }
        Command::Bench { command } => {
            let owner = database
                .migrate_database_url()
                .map_err(anyhow::Error::msg)?;
            bench::run(database_url.expose(), owner.expose(), command).await?;
        }
    }
    Ok(())
}
