//! Queue controls: pausing and resuming a queue for the whole fleet. The state lives in
//! `job_queues`, which the claim statement reads by primary key: once `pause` returns, no
//! worker starts a claim on that queue. Jobs already claimed (running, or waiting in a
//! worker's local buffer) still run; resuming wakes the queue's workers.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgPool};

use super::job::valid_queue_name;
use crate::db::begin_system;
use crate::error::{Error, Result};

/// A paused queue.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct PausedQueue {
    pub name: String,
    pub paused_at: DateTime<Utc>,
    pub paused_by: Option<String>,
}

fn checked(queue: &str) -> Result<&str> {
    if valid_queue_name(queue) {
        Ok(queue)
    } else {
        Err(Error::field(
            "queue",
            "a queue name is 1-64 characters of a-z, 0-9, '_', '.' and '-'",
        ))
    }
}

/// Pauses `queue` (any valid name, also one without jobs yet). `by` says who, for the jobs
/// page. Returns `false` if it was already paused (the first pause's time is kept).
pub async fn pause(pool: &PgPool, queue: &str, by: &str) -> Result<bool> {
    let mut tx = begin_system(pool).await?;
    let by: String = by.chars().take(200).collect();
    let changed: Option<String> = sqlx::query_scalar(
        "INSERT INTO job_queues (name, paused_at, paused_by) VALUES ($1, now(), $2)
         ON CONFLICT (name) DO UPDATE
            SET paused_at = now(), paused_by = EXCLUDED.paused_by, updated_at = now()
          WHERE job_queues.paused_at IS NULL
         RETURNING name",
    )
    .bind(checked(queue)?)
    .bind(by)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(changed.is_some())
}

/// Resumes `queue` and wakes its workers. Returns `false` if it was not paused.
pub async fn resume(pool: &PgPool, queue: &str) -> Result<bool> {
    let mut tx = begin_system(pool).await?;
    let changed: Option<String> = sqlx::query_scalar(
        "WITH r AS (
            UPDATE job_queues SET paused_at = NULL, paused_by = NULL, updated_at = now()
             WHERE name = $1 AND paused_at IS NOT NULL
            RETURNING name
         )
         SELECT name FROM r, LATERAL pg_notify('fieldwork_jobs', name)",
    )
    .bind(checked(queue)?)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(changed.is_some())
}

/// Every paused queue, by name.
pub async fn paused(pool: &PgPool) -> Result<Vec<PausedQueue>> {
    let mut tx = begin_system(pool).await?;
    Ok(sqlx::query_as(
        "SELECT name, paused_at, paused_by FROM job_queues
          WHERE paused_at IS NOT NULL ORDER BY name",
    )
    .fetch_all(&mut *tx)
    .await?)
}
