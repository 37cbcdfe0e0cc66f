//! `fieldwork-worker`: run a worker (default).

use clap::{Parser, Subcommand};
use fieldwork_core::config::Config;
use fieldwork_core::telemetry::{init_tracing, shutdown_signal};
use fieldwork_worker::{WorkerContext, run_worker};

/// Fieldwork worker: runs jobs from the Postgres queue.
///
/// Environment: DATABASE_URL (required), DB_MAX_CONNECTIONS (default 10), LOG_FORMAT
/// (text|json), RUST_LOG.
#[derive(Debug, Parser)]
#[command(name = "fieldwork-worker", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a worker until SIGTERM/SIGINT (the default).
    Run,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::from_env()?;
    init_tracing(config.log_json);
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => {
            let ctx = WorkerContext::connect(&config.database_url, config.db_max_connections)?;
            run_worker(ctx, shutdown_signal()).await?;
        }
    }
    Ok(())
}
