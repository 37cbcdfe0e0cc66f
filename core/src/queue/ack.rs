//! Acknowledgements: recording how runs ended, many jobs per statement. Every ack is fenced
//! by `(id, attempt, worker)` and `state = 'running'`, so a worker can only finish a run it
//! still holds: a job whose lease was rescued, or that was cancelled, is never overwritten.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use super::{JobId, JobState};
use crate::db::begin_system;
use crate::error::Result;

/// An entry of a job's error history.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorEntry {
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub error: String,
    /// `error`, `panic`, `retry_after`, `decode`, `unknown_kind`, `cancel`, `lease_expired`, ...
    pub kind: &'static str,
}

/// Longest error message kept in the history.
pub const MAX_ERROR_CHARS: usize = 4000;

impl ErrorEntry {
    pub fn new(attempt: i32, kind: &'static str, error: impl Into<String>) -> Self {
        let mut error: String = error.into();
        if error.chars().count() > MAX_ERROR_CHARS {
            error = error.chars().take(MAX_ERROR_CHARS).collect();
        }
        Self {
            attempt,
            at: Utc::now(),
            error,
            kind,
        }
    }
}

/// How a run that did not complete ends.
#[derive(Debug, Clone)]
pub enum Resolution {
    /// Failed: `retryable` at `at`, or `discarded` if that was the last attempt (or
    /// `cancelled` if a cancellation was requested meanwhile).
    Retry {
        at: DateTime<Utc>,
        error: ErrorEntry,
    },
    /// Not a failure: run again at `at` without spending the attempt.
    Snooze { at: DateTime<Utc> },
    /// Failed for good (undecodable payload, unknown kind, handler gave up).
    Discard { error: ErrorEntry },
    /// The handler honoured a cancellation.
    Cancel { error: ErrorEntry },
}

/// One run that ended without completing.
#[derive(Debug, Clone)]
pub struct Failure {
    pub id: JobId,
    pub attempt: i32,
    pub resolution: Resolution,
}

/// A job whose run ended, as recorded.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Finished {
    #[sqlx(try_from = "i64")]
    pub id: JobId,
    pub state: JobState,
}

/// Marks runs completed (one statement, in a `fieldwork_system` transaction). Returns the
/// ids actually completed: a missing id was no longer held by `worker` (its lease was rescued,
/// or it was cancelled or completed in the handler's own transaction).
pub async fn complete_many(
    pool: &PgPool,
    worker: &str,
    runs: &[(JobId, i32)],
) -> Result<Vec<JobId>> {
    let (done, _) = acknowledge(pool, worker, runs, &[]).await?;
    Ok(done)
}

/// Records completions and failures together in one `fieldwork_system` transaction (at most
/// one statement each): what [`complete_many`] and [`fail_many`] return.
pub async fn acknowledge(
    pool: &PgPool,
    worker: &str,
    completes: &[(JobId, i32)],
    failures: &[Failure],
) -> Result<(Vec<JobId>, Vec<Finished>)> {
    if completes.is_empty() && failures.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut tx = begin_system(pool).await?;
    let done = complete_on(&mut tx, worker, completes).await?;
    let finished = fail_on(&mut tx, worker, failures).await?;
    tx.commit().await?;
    Ok((done, finished))
}

async fn complete_on(
    conn: &mut PgConnection,
    worker: &str,
    runs: &[(JobId, i32)],
) -> Result<Vec<JobId>> {
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = runs.iter().map(|(id, _)| id.0).collect();
    let attempts: Vec<i32> = runs.iter().map(|(_, a)| *a).collect();
    let done: Vec<i64> = sqlx::query_scalar(
        "UPDATE jobs j
            SET state = 'completed', finalized_at = now(), lease_expires_at = NULL
          WHERE j.id = ANY(ARRAY(SELECT unnest($1::bigint[])))
            AND j.attempt = ($2::int4[])[array_position($1::bigint[], j.id)]
            AND j.state::text = 'running' AND j.attempted_by = $3
         RETURNING j.id",
    )
    .bind(ids)
    .bind(attempts)
    .bind(worker)
    .fetch_all(conn)
    .await?;
    Ok(done.into_iter().map(JobId).collect())
}

/// Completes one run inside the caller's transaction (a handler's tenant or system
/// transaction), so the handler's effects and the completion commit together.
/// Returns `false` if the run is no longer held (the caller should roll back).
pub async fn complete_in_tx(
    conn: &mut PgConnection,
    worker: &str,
    id: JobId,
    attempt: i32,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET state = 'completed', finalized_at = now()
          WHERE id = $1 AND attempt = $2 AND state::text = 'running' AND attempted_by = $3",
    )
    .bind(id.0)
    .bind(attempt)
    .bind(worker)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// `$n[pos]` of the row being updated: the failure arrays are aligned with `$1` (ids).
macro_rules! at_pos {
    ($array:literal) => {
        concat!("(", $array, ")[array_position($1::bigint[], j.id)]")
    };
}

const FINISH_SQL: &str = concat!(
    "UPDATE jobs j
       SET state = (CASE
               WHEN ",
    at_pos!("$3::text[]"),
    " = 'snooze' THEN 'scheduled'
               WHEN ",
    at_pos!("$3::text[]"),
    " = 'discard' THEN 'discarded'
               WHEN ",
    at_pos!("$3::text[]"),
    " = 'cancel' OR j.cancel_requested_at IS NOT NULL THEN 'cancelled'
               WHEN j.attempt >= j.max_attempts THEN 'discarded'
               ELSE 'retryable' END)::job_state,
           finalized_at = CASE
               WHEN ",
    at_pos!("$3::text[]"),
    " = 'snooze' THEN NULL
               WHEN ",
    at_pos!("$3::text[]"),
    " IN ('discard', 'cancel')
                    OR j.cancel_requested_at IS NOT NULL OR j.attempt >= j.max_attempts THEN now()
               ELSE NULL END,
           scheduled_at = coalesce(",
    at_pos!("$4::timestamptz[]"),
    ", j.scheduled_at),
           attempt = CASE WHEN ",
    at_pos!("$3::text[]"),
    " = 'snooze' THEN j.attempt - 1 ELSE j.attempt END,
           errors = CASE WHEN ",
    at_pos!("$5::jsonb[]"),
    " IS NULL THEN j.errors
                         ELSE j.errors || jsonb_build_array(",
    at_pos!("$5::jsonb[]"),
    ") END,
           lease_expires_at = NULL
     WHERE j.id = ANY(ARRAY(SELECT unnest($1::bigint[])))
       AND j.attempt = ",
    at_pos!("$2::int4[]"),
    "
       AND j.state::text = 'running' AND j.attempted_by = $6
    RETURNING j.id, j.state"
);

/// Records runs that did not complete (one statement, in a `fieldwork_system` transaction):
/// retries with their backoff time, snoozes, discards and cancellations, each failure appended
/// to the job's error history. Returns the jobs actually updated with their new state.
pub async fn fail_many(pool: &PgPool, worker: &str, failures: &[Failure]) -> Result<Vec<Finished>> {
    let (_, finished) = acknowledge(pool, worker, &[], failures).await?;
    Ok(finished)
}

async fn fail_on(
    conn: &mut PgConnection,
    worker: &str,
    failures: &[Failure],
) -> Result<Vec<Finished>> {
    if failures.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids = Vec::with_capacity(failures.len());
    let mut attempts = Vec::with_capacity(failures.len());
    let mut actions = Vec::with_capacity(failures.len());
    let mut ats: Vec<Option<DateTime<Utc>>> = Vec::with_capacity(failures.len());
    let mut errors: Vec<Option<serde_json::Value>> = Vec::with_capacity(failures.len());
    for f in failures {
        ids.push(f.id.0);
        attempts.push(f.attempt);
        let (action, at, error) = match &f.resolution {
            Resolution::Retry { at, error } => ("retry", Some(*at), Some(error)),
            Resolution::Snooze { at } => ("snooze", Some(*at), None),
            Resolution::Discard { error } => ("discard", None, Some(error)),
            Resolution::Cancel { error } => ("cancel", None, Some(error)),
        };
        actions.push(action);
        ats.push(at);
        errors.push(
            error.map(serde_json::to_value).transpose().map_err(|e| {
                crate::Error::Internal(format!("cannot serialize error entry: {e}"))
            })?,
        );
    }
    Ok(sqlx::query_as(FINISH_SQL)
        .bind(ids)
        .bind(attempts)
        .bind(actions)
        .bind(ats)
        .bind(errors)
        .bind(worker)
        .fetch_all(conn)
        .await?)
}
