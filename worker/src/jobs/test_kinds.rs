//! Job kinds for the engine's own tests: compiled only with the `test-kinds` cargo feature
//! (never in a production build) and registered only with `--test-kinds`
//! (`FIELDWORK_TEST_KINDS=1`). They record each execution in tables the tests create
//! ([`TEST_TABLES_SQL`]), sleep, fail, panic, snooze, wait for cancellation or probe the RLS
//! context.

use std::time::Duration;

use fieldwork_core::queue::{Job, JobOptions, NewJob};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::handler::{JobContext, JobError, JobResult};
use crate::registry::Registry;
use crate::runtime::cron::CronSchedule;

/// Tables the test kinds write to; tests create them (as the owner) before starting workers.
pub const TEST_TABLES_SQL: &str = "
    CREATE TABLE IF NOT EXISTS test_job_runs (
        id       bigserial PRIMARY KEY,
        job_id   bigint NOT NULL,
        kind     text NOT NULL,
        attempt  integer NOT NULL,
        worker   text NOT NULL,
        label    text,
        user_id  uuid,
        at       timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE TABLE IF NOT EXISTS test_rls_probe (
        job_id            bigint NOT NULL,
        context_user      uuid,
        claimed_user      uuid,
        visible_customers uuid[] NOT NULL
    );
    GRANT SELECT, INSERT ON test_job_runs, test_rls_probe TO fieldwork_app, fieldwork_system;
    GRANT USAGE ON SEQUENCE test_job_runs_id_seq TO fieldwork_app, fieldwork_system;";

/// Records one execution in `test_job_runs` (its own committed transaction, like any side
/// effect a handler has before it acknowledges).
async fn record(ctx: &JobContext, label: Option<&str>) -> JobResult {
    let mut tx = ctx.begin().await?;
    sqlx::query(
        "INSERT INTO test_job_runs (job_id, kind, attempt, worker, label, user_id)
         VALUES ($1, $2, $3, $4, $5, app_current_user_id())",
    )
    .bind(ctx.id().0)
    .bind(ctx.kind())
    .bind(ctx.attempt())
    .bind(ctx.worker_id())
    .bind(label)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Records its execution, sleeps (stopping early if cancelled), optionally completes inside
/// its own transaction.
#[derive(Debug, Serialize, Deserialize)]
pub struct RecordJob {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub sleep_ms: u64,
    #[serde(default)]
    pub complete_in_tx: bool,
}

impl Job for RecordJob {
    const KIND: &'static str = "test.record";
}

async fn run_record(job: RecordJob, ctx: JobContext) -> JobResult {
    record(&ctx, job.label.as_deref()).await?;
    if job.sleep_ms > 0 {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(job.sleep_ms)) => {}
            () = ctx.cancelled() => return Err(JobError::cancelled("stopped on request")),
        }
    }
    if job.complete_in_tx {
        let mut tx = ctx.begin().await?;
        sqlx::query(
            "INSERT INTO test_job_runs (job_id, kind, attempt, worker, label)
             VALUES ($1, $2, $3, $4, 'completed-in-tx')",
        )
        .bind(ctx.id().0)
        .bind(ctx.kind())
        .bind(ctx.attempt())
        .bind(ctx.worker_id())
        .execute(&mut *tx)
        .await?;
        tx.complete_and_commit(&ctx).await?;
    }
    Ok(())
}

/// Records its execution, then hangs far beyond its 300 ms timeout (a stuck handler).
#[derive(Debug, Serialize, Deserialize)]
pub struct HangJob {}

impl Job for HangJob {
    const KIND: &'static str = "test.hang";
    const MAX_ATTEMPTS: i32 = 2;
    const TIMEOUT: Duration = Duration::from_millis(300);
    fn backoff(_attempt: i32) -> Duration {
        Duration::from_millis(100)
    }
}

async fn run_hang(_: HangJob, ctx: JobContext) -> JobResult {
    record(&ctx, None).await?;
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok(())
}

/// Fails (or panics) on its first `fail_times` attempts, then succeeds; short backoff.
#[derive(Debug, Serialize, Deserialize)]
pub struct FlakyJob {
    pub fail_times: i32,
    #[serde(default)]
    pub panic: bool,
}

impl Job for FlakyJob {
    const KIND: &'static str = "test.flaky";
    fn backoff(attempt: i32) -> Duration {
        fieldwork_core::queue::backoff::exponential(
            attempt,
            Duration::from_millis(400),
            Duration::from_secs(10),
        )
    }
}

async fn run_flaky(job: FlakyJob, ctx: JobContext) -> JobResult {
    record(&ctx, None).await?;
    if ctx.attempt() <= job.fail_times {
        if job.panic {
            panic!("flaky job panics on attempt {}", ctx.attempt());
        }
        return Err(JobError::failed(format!(
            "flaky failure on attempt {}",
            ctx.attempt()
        )));
    }
    Ok(())
}

/// Reports what its tenant transaction sees. `user_id` is a lie the payload tells: it must
/// not change the context.
#[derive(Debug, Serialize, Deserialize)]
pub struct RlsProbeJob {
    pub user_id: Uuid,
}

impl Job for RlsProbeJob {
    const KIND: &'static str = "test.rls_probe";
}

async fn run_rls_probe(job: RlsProbeJob, ctx: JobContext) -> JobResult {
    let mut tx = ctx.begin().await?;
    let (context_user, visible): (Option<Uuid>, Vec<Uuid>) = sqlx::query_as(
        "SELECT app_current_user_id(), coalesce(array(SELECT id FROM customers ORDER BY id), '{}')",
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO test_rls_probe (job_id, context_user, claimed_user, visible_customers)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(ctx.id().0)
    .bind(context_user)
    .bind(job.user_id)
    .bind(visible)
    .execute(&mut *tx)
    .await?;
    tx.complete_and_commit(&ctx).await
}

/// Snoozes on its first run, completes on the next.
#[derive(Debug, Serialize, Deserialize)]
pub struct SnoozeJob {
    pub snooze_ms: u64,
}

impl Job for SnoozeJob {
    const KIND: &'static str = "test.snooze";
}

async fn run_snooze(job: SnoozeJob, ctx: JobContext) -> JobResult {
    record(&ctx, None).await?;
    let mut tx = ctx.begin().await?;
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM test_job_runs WHERE job_id = $1")
        .bind(ctx.id().0)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    if runs == 1 {
        return Err(JobError::snooze(Duration::from_millis(job.snooze_ms)));
    }
    Ok(())
}

/// Registers every test kind.
pub fn register(registry: &mut Registry) {
    registry
        .register(run_record)
        .register(run_flaky)
        .register(run_rls_probe)
        .register(run_snooze)
        .register(run_hang);
}

/// The `test.cron` schedule: a `test.record` job labelled with its tick.
pub fn cron_schedule(expr: &str) -> Result<CronSchedule, String> {
    CronSchedule::new("test.cron", expr, |tick| {
        let job = RecordJob {
            label: Some(format!("cron:{}", tick.to_rfc3339())),
            sleep_ms: 0,
            complete_in_tx: false,
        };
        NewJob::new(&job, JobOptions::default())
    })
}
