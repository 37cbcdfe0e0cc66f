//! Leases: a worker renews the leases of every job it holds (running or waiting in its local
//! buffer) in one statement per heartbeat; the rescuer returns jobs whose lease expired —
//! their worker died or hung — to `retryable`, or `discarded` if that was the last attempt.

use std::time::Duration;

use sqlx::PgPool;

use super::{JobId, metrics};
use crate::db::begin_system;
use crate::error::Result;

/// What a heartbeat learned about one held job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renewed {
    pub id: JobId,
    /// A cancellation was requested: the running handler should stop.
    pub cancel_requested: bool,
}

/// Extends the lease of every job in `held` that `worker` still holds. Jobs missing from the
/// result are no longer held (rescued after a missed lease, or finished elsewhere).
pub async fn heartbeat(
    pool: &PgPool,
    worker: &str,
    held: &[(JobId, i32)],
    lease: Duration,
) -> Result<Vec<Renewed>> {
    if held.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = held.iter().map(|(id, _)| id.0).collect();
    let attempts: Vec<i32> = held.iter().map(|(_, a)| *a).collect();
    let mut tx = begin_system(pool).await?;
    let rows: Vec<(i64, bool)> = sqlx::query_as(
        "UPDATE jobs j SET lease_expires_at = now() + make_interval(secs => $4)
          WHERE j.id = ANY(ARRAY(SELECT unnest($1::bigint[])))
            AND j.attempt = ($2::int4[])[array_position($1::bigint[], j.id)]
            AND j.state::text = 'running' AND j.attempted_by = $3
         RETURNING j.id, j.cancel_requested_at IS NOT NULL",
    )
    .bind(ids)
    .bind(attempts)
    .bind(worker)
    .bind(lease.as_secs_f64())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|(id, cancel_requested)| Renewed {
            id: JobId(id),
            cancel_requested,
        })
        .collect())
}

/// Of `ids`, the jobs `worker` runs whose cancellation was requested (`cancel_requested_at`
/// set). A `fieldwork_job_cancel` notification is only a hint — any session may send one — so
/// a worker stops a handler only for the ids this returns. One statement for any number.
pub async fn cancel_requested(pool: &PgPool, worker: &str, ids: &[JobId]) -> Result<Vec<JobId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    let mut tx = begin_system(pool).await?;
    let requested: Vec<i64> = sqlx::query_scalar(
        "SELECT j.id FROM jobs j
          WHERE j.id = ANY(ARRAY(SELECT unnest($1::bigint[])))
            AND j.cancel_requested_at IS NOT NULL
            AND j.state::text = 'running' AND j.attempted_by = $2",
    )
    .bind(ids)
    .bind(worker)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(requested.into_iter().map(JobId).collect())
}

/// Returns up to `limit` running jobs whose lease expired to `retryable` (due now) or
/// `discarded`, recording "lease expired" in their error history. Returns how many.
pub async fn rescue_expired(pool: &PgPool, limit: i64) -> Result<u64> {
    let mut tx = begin_system(pool).await?;
    let rows: Vec<(String, String, super::JobState)> = sqlx::query_as(
        "WITH stuck AS (
            SELECT id FROM jobs
             WHERE state = 'running' AND lease_expires_at < now()
             ORDER BY lease_expires_at
             LIMIT $1
               FOR UPDATE SKIP LOCKED
         )
         UPDATE jobs j
            SET state = (CASE WHEN j.attempt >= j.max_attempts THEN 'discarded'
                              ELSE 'retryable' END)::job_state,
                finalized_at = CASE WHEN j.attempt >= j.max_attempts THEN now() END,
                scheduled_at = now(),
                lease_expires_at = NULL,
                errors = j.errors || jsonb_build_array(jsonb_build_object(
                    'attempt', j.attempt, 'at', now(), 'kind', 'lease_expired',
                    'error', 'lease expired: worker ' || coalesce(j.attempted_by, '?')
                             || ' stopped renewing it (crashed or hung)'))
          WHERE j.id = ANY(ARRAY(SELECT id FROM stuck))
         RETURNING j.queue, j.kind, j.state",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    for (queue, kind, state) in &rows {
        metrics::rescued(queue, kind);
        if *state == super::JobState::Discarded {
            metrics::discarded(queue, kind);
        }
    }
    Ok(rows.len() as u64)
}
