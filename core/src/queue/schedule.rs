//! Time-driven work. Promotion: jobs waiting for a time (`scheduled`, and `retryable` ones
//! waiting out their backoff) become `available` once due, waking the workers of the queues
//! that got work; `next_due` tells a scheduler how long it may sleep. Cron ticks, fired once
//! across the fleet: a worker that reaches a tick moves the schedule's `last_tick` forward and
//! enqueues the tick's job in the same transaction; a second worker reaching the same tick
//! finds `last_tick` already there and does nothing.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::Enqueued;
use super::enqueue::insert;
use super::job::NewJob;
use crate::db::begin_system;
use crate::error::Result;

/// Makes up to `limit` due jobs available; returns `(queue, count)` for each queue that got
/// work (and was notified). Safe to run from every worker at once (`SKIP LOCKED`).
pub async fn promote_due(pool: &PgPool, limit: i64) -> Result<Vec<(String, i64)>> {
    let mut tx = begin_system(pool).await?;
    let promoted = sqlx::query_as(
        "WITH due AS (
            SELECT id FROM jobs
             WHERE state IN ('scheduled', 'retryable') AND scheduled_at <= now()
             ORDER BY scheduled_at
             LIMIT $1
               FOR UPDATE SKIP LOCKED
         ), promoted AS (
            UPDATE jobs j SET state = 'available'
             WHERE j.id = ANY(ARRAY(SELECT id FROM due))
            RETURNING j.queue
         ), per_queue AS (
            SELECT queue, count(*) AS n FROM promoted GROUP BY queue
         )
         SELECT queue, n FROM per_queue, LATERAL pg_notify('fieldwork_jobs', queue)",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(promoted)
}

/// When the earliest waiting job is due, if any.
pub async fn next_due(pool: &PgPool) -> Result<Option<DateTime<Utc>>> {
    let mut tx = begin_system(pool).await?;
    let due = sqlx::query_scalar(
        "SELECT min(scheduled_at) FROM jobs WHERE state IN ('scheduled', 'retryable')",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(due)
}

/// Fires tick `tick` of schedule `name` unless some worker already did: returns the
/// enqueued job if this call fired it. The job also carries the unique key
/// `cron:<name>:<tick>` as a second guard.
pub async fn fire_tick(
    pool: &PgPool,
    name: &str,
    tick: DateTime<Utc>,
    worker: &str,
    mut job: NewJob,
) -> Result<Option<Enqueued>> {
    let mut tx = begin_system(pool).await?;
    let won: Option<String> = sqlx::query_scalar(
        "INSERT INTO job_cron (name, last_tick, fired_by) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE
            SET last_tick = EXCLUDED.last_tick, fired_by = EXCLUDED.fired_by, updated_at = now()
          WHERE job_cron.last_tick < EXCLUDED.last_tick
         RETURNING name",
    )
    .bind(name)
    .bind(tick)
    .bind(worker)
    .fetch_optional(&mut *tx)
    .await?;
    if won.is_none() {
        tx.rollback().await?;
        return Ok(None);
    }
    if job.unique_key.is_none() {
        job.unique_key = Some(format!("cron:{name}:{}", tick.to_rfc3339()));
    }
    let enqueued = insert(&mut tx, job).await?;
    tx.commit().await?;
    Ok(Some(enqueued))
}
