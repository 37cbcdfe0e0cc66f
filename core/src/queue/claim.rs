//! Claiming: a worker takes a batch of available jobs of one queue (`FOR UPDATE SKIP LOCKED`
//! on the partial fetch index, by priority then time), marks them `running` under a lease
//! in its name, and can hand back jobs it never started without spending their attempt.
//! A paused queue (`job_queues`, see `control`) yields nothing: the claim checks it by
//! primary key, once per statement.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use super::JobId;
use crate::db::begin_system;
use crate::error::Result;

/// A job a worker holds: everything the handler and the acknowledgement need.
#[derive(Debug, Clone, FromRow)]
pub struct ClaimedJob {
    #[sqlx(try_from = "i64")]
    pub id: JobId,
    pub kind: String,
    pub queue: String,
    /// The payload as JSON text: decoded once, straight into the handler's type.
    pub args: String,
    pub user_id: Option<Uuid>,
    /// This run's attempt number (1 for the first run).
    pub attempt: i32,
    pub max_attempts: i32,
    pub priority: i16,
    pub created_at: DateTime<Utc>,
    pub scheduled_at: DateTime<Utc>,
}

impl From<i64> for JobId {
    fn from(v: i64) -> Self {
        JobId(v)
    }
}

const CLAIM_SQL: &str = "
    WITH next AS (
        SELECT id FROM jobs
         WHERE state = 'available' AND queue = $1
           AND NOT EXISTS (SELECT 1 FROM job_queues p WHERE p.name = $1 AND p.paused_at IS NOT NULL)
         ORDER BY priority, scheduled_at, id
         LIMIT $2
           FOR UPDATE SKIP LOCKED
    )
    UPDATE jobs j
       SET state = 'running', attempt = j.attempt + 1, attempted_at = now(), attempted_by = $3,
           lease_expires_at = now() + make_interval(secs => $4)
     WHERE j.id = ANY(ARRAY(SELECT id FROM next))
    RETURNING j.id, j.kind, j.queue, j.args::text AS args, j.user_id, j.attempt, j.max_attempts,
              j.priority, j.created_at, j.scheduled_at";

/// Claims up to `limit` available jobs of `queue` for `worker`, each leased for `lease`.
/// Returned in claim order (priority, then time). A job is claimed by one worker at a time:
/// rows locked by a concurrent claim are skipped, not waited for.
pub async fn claim(
    pool: &PgPool,
    queue: &str,
    limit: usize,
    worker: &str,
    lease: Duration,
) -> Result<Vec<ClaimedJob>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut tx = begin_system(pool).await?;
    let mut jobs: Vec<ClaimedJob> = sqlx::query_as(CLAIM_SQL)
        .bind(queue)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(worker)
        .bind(lease.as_secs_f64())
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    jobs.sort_unstable_by_key(|j| (j.priority, j.scheduled_at, j.id));
    Ok(jobs)
}

/// Hands jobs that `worker` claimed but never started back to `available`, restoring their
/// attempt count (graceful shutdown). Jobs the worker no longer holds are left alone.
/// Wakes workers of the affected queues. Returns how many were released.
pub async fn release(pool: &PgPool, worker: &str, jobs: &[(JobId, i32)]) -> Result<u64> {
    if jobs.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = jobs.iter().map(|(id, _)| id.0).collect();
    let attempts: Vec<i32> = jobs.iter().map(|(_, a)| *a).collect();
    let mut tx = begin_system(pool).await?;
    let released: i64 = sqlx::query_scalar(
        "WITH r AS (
            UPDATE jobs j
               SET state = 'available', attempt = j.attempt - 1, attempted_by = NULL,
                   attempted_at = NULL, lease_expires_at = NULL
             WHERE j.id = ANY(ARRAY(SELECT unnest($1::bigint[])))
               AND j.attempt = ($2::int4[])[array_position($1::bigint[], j.id)]
               AND j.state::text = 'running' AND j.attempted_by = $3
            RETURNING j.queue
         ), per_queue AS (
            SELECT queue, count(*) AS n FROM r GROUP BY queue
         )
         SELECT coalesce(sum(n), 0)::bigint
           FROM per_queue, LATERAL pg_notify('fieldwork_jobs', queue)",
    )
    .bind(ids)
    .bind(attempts)
    .bind(worker)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(u64::try_from(released).unwrap_or(0))
}
