//! Operator commands (`fieldwork-worker jobs ...`): stats, list, retry, cancel, pause and
//! resume, on the system path, printed for a terminal.

use fieldwork_core::queue::control;
use fieldwork_core::queue::stats::{self, ListFilter};
use fieldwork_core::queue::{CancelOutcome, JobId, JobState, cancel, retry};
use sqlx::PgPool;

use crate::cli::JobsCommand;

pub async fn run(pool: &PgPool, command: JobsCommand) -> anyhow::Result<()> {
    match command {
        JobsCommand::Stats => print_stats(pool).await,
        JobsCommand::List {
            state,
            queue,
            kind,
            limit,
            json,
        } => {
            let filter = ListFilter {
                state,
                queue,
                kind,
                limit,
            };
            let rows = stats::list(pool, &filter).await?;
            if json {
                for r in rows {
                    println!("{}", serde_json::to_string(&r)?);
                }
                return Ok(());
            }
            println!(
                "{:>10}  {:<10} {:<12} {:<24} {:>7}  {:<25} last error",
                "id", "state", "queue", "kind", "attempt", "scheduled_at"
            );
            for r in rows {
                let last_error = r
                    .errors
                    .as_array()
                    .and_then(|a| a.last())
                    .and_then(|e| e.get("error"))
                    .and_then(|e| e.as_str())
                    .unwrap_or("")
                    .chars()
                    .take(60)
                    .collect::<String>();
                println!(
                    "{:>10}  {:<10} {:<12} {:<24} {:>3}/{:<3}  {:<25} {}",
                    r.id,
                    r.state.as_str(),
                    r.queue,
                    r.kind,
                    r.attempt,
                    r.max_attempts,
                    r.scheduled_at.format("%Y-%m-%d %H:%M:%S%.3f"),
                    last_error
                );
            }
            Ok(())
        }
        JobsCommand::Retry { id } => {
            retry(pool, JobId(id)).await?;
            println!("job {id} is available again");
            Ok(())
        }
        JobsCommand::Cancel { id } => {
            let mut tx = fieldwork_core::db::begin_system(pool).await?;
            let outcome = cancel(&mut tx, JobId(id)).await?;
            tx.commit().await?;
            match outcome {
                CancelOutcome::Cancelled => println!("job {id} cancelled"),
                CancelOutcome::Requested => {
                    println!("job {id} is running: cancellation requested from its handler")
                }
                CancelOutcome::AlreadyFinalized(s) => {
                    println!("job {id} had already finished: {}", s.as_str())
                }
            }
            Ok(())
        }
        JobsCommand::Pause { queue, by } => {
            check_queue(&queue)?;
            if control::pause(pool, &queue, &by).await? {
                println!("queue {queue} paused: no worker claims its jobs until it is resumed");
            } else {
                println!("queue {queue} was already paused");
            }
            Ok(())
        }
        JobsCommand::Resume { queue } => {
            check_queue(&queue)?;
            if control::resume(pool, &queue).await? {
                println!("queue {queue} resumed");
            } else {
                println!("queue {queue} was not paused");
            }
            Ok(())
        }
    }
}

fn check_queue(queue: &str) -> anyhow::Result<()> {
    if fieldwork_core::queue::job::valid_queue_name(queue) {
        Ok(())
    } else {
        anyhow::bail!("invalid queue name {queue:?}: 1-64 characters of a-z, 0-9, '_', '.', '-'")
    }
}

async fn print_stats(pool: &PgPool) -> anyhow::Result<()> {
    let counts = stats::counts(pool).await?;
    let depths = stats::depths(pool).await?;
    let paused = control::paused(pool).await?;
    let mut queues: Vec<&str> = counts.iter().map(|c| c.queue.as_str()).collect();
    queues.extend(paused.iter().map(|p| p.name.as_str()));
    queues.sort_unstable();
    queues.dedup();
    print!("{:<16}", "queue");
    for s in JobState::ALL {
        print!("{:>11}", s.as_str());
    }
    println!("{:>16}  paused", "oldest avail s");
    for q in queues {
        print!("{q:<16}");
        for s in JobState::ALL {
            let n = counts
                .iter()
                .find(|c| c.queue == q && c.state == s)
                .map_or(0, |c| c.count);
            print!("{n:>11}");
        }
        let age = depths
            .iter()
            .find(|d| d.queue == q)
            .map_or(0.0, |d| d.oldest_age_seconds);
        let since = paused
            .iter()
            .find(|p| p.name == q)
            .map(|p| p.paused_at.format("since %Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        println!("{age:>16.1}  {since}");
    }
    let h = stats::table_health(pool).await?;
    println!(
        "jobs table: {} live / {} dead tuples, {} KiB table, {} KiB indexes",
        h.live_tuples,
        h.dead_tuples,
        h.table_bytes / 1024,
        h.index_bytes / 1024
    );
    Ok(())
}
