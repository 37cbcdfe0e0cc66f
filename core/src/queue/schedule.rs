//! Scheduling: jobs waiting for a time (`scheduled`, and `retryable` ones waiting out their
//! backoff) become `available` once due. Promotion wakes the workers of the queues that got
//! work; `next_due` tells a scheduler how long it may sleep.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::error::Result;

/// Makes up to `limit` due jobs available; returns `(queue, count)` for each queue that got
/// work (and was notified). Safe to run from every worker at once (`SKIP LOCKED`).
pub async fn promote_due(pool: &PgPool, limit: i64) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "WITH due AS (
            SELECT id FROM jobs
             WHERE state IN ('scheduled', 'retryable') AND scheduled_at <= now()
             ORDER BY scheduled_at
             LIMIT $1
               FOR UPDATE SKIP LOCKED
         ), promoted AS (
            UPDATE jobs j SET state = 'available'
              FROM due WHERE j.id = due.id
            RETURNING j.queue
         ), per_queue AS (
            SELECT queue, count(*) AS n FROM promoted GROUP BY queue
         )
         SELECT queue, n FROM per_queue, LATERAL pg_notify('fieldwork_jobs', queue)",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// When the earliest waiting job is due, if any.
pub async fn next_due(pool: &PgPool) -> Result<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar(
        "SELECT min(scheduled_at) FROM jobs WHERE state IN ('scheduled', 'retryable')",
    )
    .fetch_one(pool)
    .await?)
}
