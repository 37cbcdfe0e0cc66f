//! Operator and application actions on single jobs — cancel (by id or unique key), retry —
//! and pruning of finalized jobs in bounded batches. Cancel works on the caller's connection
//! (a tenant transaction cancels only its own jobs); retry and prune are system-path work.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};

use super::{JobId, JobState};
use crate::db::begin_system;
use crate::error::{Error, Result};

/// What a cancellation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The job was waiting (scheduled, available, retryable) and is now `cancelled`.
    Cancelled,
    /// The job is running: its handler is signalled and the job ends `cancelled` unless the
    /// run completes first.
    Requested,
    /// The job had already finished in this state.
    AlreadyFinalized(JobState),
}

/// The cancel statement for a target selected by `$target` (a WHERE clause on `jobs`).
/// Waiting jobs become `cancelled`; a running one gets `cancel_requested_at` and a
/// `fieldwork_job_cancel` notification its worker relays to the handler.
macro_rules! cancel_sql {
    ($target:literal) => {
        concat!(
            "WITH target AS (
                SELECT id, state AS old_state FROM jobs WHERE ",
            $target,
            " FOR UPDATE
             ), changed AS (
                UPDATE jobs j
                   SET state = CASE WHEN t.old_state = 'running' THEN j.state ELSE 'cancelled' END,
                       finalized_at = CASE WHEN t.old_state = 'running' THEN NULL ELSE now() END,
                       cancel_requested_at = now()
                  FROM target t
                 WHERE j.id = t.id
                   AND t.old_state IN ('scheduled', 'available', 'retryable', 'running')
                RETURNING j.id, t.old_state
             ), signal AS (
                SELECT pg_notify('fieldwork_job_cancel', id::text)
                  FROM changed WHERE old_state = 'running'
             )
             SELECT t.id, t.old_state, c.id IS NOT NULL AS changed,
                    (SELECT count(*) FROM signal) AS signalled
               FROM target t LEFT JOIN changed c ON c.id = t.id"
        )
    };
}

fn outcome(old: JobState, changed: bool) -> CancelOutcome {
    match (old, changed) {
        (JobState::Running, true) => CancelOutcome::Requested,
        (_, true) => CancelOutcome::Cancelled,
        (state, false) => CancelOutcome::AlreadyFinalized(state),
    }
}

/// Cancels job `id` (visible to the caller: a tenant cancels only its own jobs).
pub async fn cancel(conn: &mut PgConnection, id: JobId) -> Result<CancelOutcome> {
    let row: Option<(i64, JobState, bool, i64)> = sqlx::query_as(cancel_sql!("id = $1"))
        .bind(id.0)
        .fetch_optional(conn)
        .await?;
    let (_, old, changed, _) = row.ok_or(Error::NotFound("job not found"))?;
    Ok(outcome(old, changed))
}

/// Cancels the not-yet-finalized job with `unique_key` of the caller's tenant (or the system
/// jobs' key space on the system path). Returns its id and what happened.
pub async fn cancel_by_unique_key(
    conn: &mut PgConnection,
    unique_key: &str,
) -> Result<(JobId, CancelOutcome)> {
    let row: Option<(i64, JobState, bool, i64)> = sqlx::query_as(cancel_sql!(
        "user_id IS NOT DISTINCT FROM app_current_user_id() AND unique_key = $1
         AND state IN ('scheduled', 'available', 'retryable', 'running')"
    ))
    .bind(unique_key)
    .fetch_optional(conn)
    .await?;
    let (id, old, changed, _) = row.ok_or(Error::NotFound("job not found"))?;
    Ok((JobId(id), outcome(old, changed)))
}

/// Makes a finished or waiting job available again now (operators). A discarded job gets
/// one more attempt. Running jobs are refused.
pub async fn retry(pool: &PgPool, id: JobId) -> Result<()> {
    let mut tx = begin_system(pool).await?;
    let row: Option<(JobState,)> =
        sqlx::query_as("SELECT state FROM jobs WHERE id = $1 FOR UPDATE")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?;
    match row {
        None => return Err(Error::NotFound("job not found")),
        Some((JobState::Running,)) => {
            return Err(Error::InvalidState("job is running".into()));
        }
        Some(_) => {}
    }
    let updated: Option<String> = sqlx::query_scalar(
        "WITH r AS (
            UPDATE jobs SET state = 'available', scheduled_at = now(), finalized_at = NULL,
                   cancel_requested_at = NULL, lease_expires_at = NULL,
                   max_attempts = greatest(max_attempts, attempt + 1)
             WHERE id = $1 AND state <> 'running'
            RETURNING queue
         )
         SELECT queue FROM r, LATERAL pg_notify('fieldwork_jobs', queue)",
    )
    .bind(id.0)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| {
        crate::error::on_constraint("jobs_unique_key_idx", e, || {
            Error::Conflict("another live job has the same unique key".into())
        })
    })?;
    tx.commit().await?;
    updated
        .map(|_| ())
        .ok_or_else(|| Error::InvalidState("job changed state meanwhile".into()))
}

/// Deletes finalized jobs older than the retentions, at most `batch` rows per statement and
/// `max_batches` statements per call. Returns how many rows were deleted.
pub async fn prune(
    pool: &PgPool,
    keep_completed: Duration,
    keep_discarded: Duration,
    batch: i64,
    max_batches: usize,
) -> Result<u64> {
    let mut total = 0;
    for _ in 0..max_batches {
        let mut tx = begin_system(pool).await?;
        let deleted = sqlx::query(
            "DELETE FROM jobs WHERE id = ANY(ARRAY(
                SELECT id FROM jobs
                 WHERE (state IN ('completed', 'cancelled')
                        AND finalized_at < now() - make_interval(secs => $1))
                    OR (state = 'discarded' AND finalized_at < now() - make_interval(secs => $2))
                 LIMIT $3
                   FOR UPDATE SKIP LOCKED))",
        )
        .bind(keep_completed.as_secs_f64())
        .bind(keep_discarded.as_secs_f64())
        .bind(batch)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        total += deleted;
        if deleted < u64::try_from(batch).unwrap_or(0) {
            break;
        }
    }
    Ok(total)
}
