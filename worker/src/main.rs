//! `fieldwork-worker`: run a worker (default), operator commands, bench.

use anyhow::Context;
use clap::Parser;
use fieldwork_core::config::Config;
use fieldwork_core::telemetry::{init_tracing, shutdown_signal};
use fieldwork_worker::cli::{Cli, Command};
use fieldwork_worker::clients::Clients;
use fieldwork_worker::runtime::resolve_queues;
use fieldwork_worker::{WorkerContext, bench, jobs, ops, run_worker};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::from_env()?;
    init_tracing(config.log_json);
    let mut settings = cli.run.settings().map_err(anyhow::Error::msg)?;
    settings.messages = config.messages.clone();
    settings.webhooks = config.webhooks.clone();
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => {
            config.require_app_secret()?;
            // The system pool serves one fetcher per queue plus the acker, heartbeat,
            // scheduler, rescuer, pruner, cron and metrics: never starve those.
            let clients = Clients::from_settings(&settings)?;
            tracing::info!(mail = clients.mailer.description(), "emails go to");
            let queues = resolve_queues(&settings, &jobs::registry(&settings, &clients)).len();
            let max_connections = config
                .db_max_connections
                .max(u32::try_from(queues).unwrap_or(u32::MAX).saturating_add(6));
            let mut ctx =
                WorkerContext::connect_with(&config.database_url, max_connections, settings)?;
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
            let ctx = WorkerContext::connect(&config.database_url, 2)?;
            ops::run(&ctx.system_pool, command)
                .await
                .context("jobs command failed")?;
        }
        Command::Bench { command } => {
            bench::run(&config.database_url, &config.migrate_database_url, command).await?;
        }
    }
    Ok(())
}
