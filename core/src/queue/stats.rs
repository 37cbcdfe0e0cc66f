//! Read-only views for operators and metrics: counts per queue and state, queue depth and the
//! age of the oldest available job, table health, and listing jobs.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use super::{JobId, JobState};
use crate::db::begin_system;
use crate::error::Result;

/// Jobs of one queue in one state.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct StateCount {
    pub queue: String,
    pub state: JobState,
    pub count: i64,
}

/// Counts per queue and state (a full scan: for operators, not for every scrape).
pub async fn counts(pool: &PgPool) -> Result<Vec<StateCount>> {
    let mut tx = begin_system(pool).await?;
    let out = sqlx::query_as(
        "SELECT queue, state, count(*) AS count FROM jobs GROUP BY queue, state ORDER BY queue, state",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(out)
}

/// Available jobs of one queue: how many and how long the oldest has waited.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct QueueDepth {
    pub queue: String,
    pub available: i64,
    pub oldest_age_seconds: f64,
}

/// Depth per queue, read from the small partial fetch index.
pub async fn depths(pool: &PgPool) -> Result<Vec<QueueDepth>> {
    let mut tx = begin_system(pool).await?;
    let out = sqlx::query_as(
        "SELECT queue, count(*) AS available,
                coalesce(extract(epoch FROM now() - min(scheduled_at)), 0)::float8 AS oldest_age_seconds
           FROM jobs WHERE state = 'available' GROUP BY queue",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(out)
}

/// Table health for bloat alerts: live and dead tuples, sizes of table and indexes.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct TableHealth {
    pub live_tuples: i64,
    pub dead_tuples: i64,
    pub table_bytes: i64,
    pub index_bytes: i64,
}

pub async fn table_health(pool: &PgPool) -> Result<TableHealth> {
    let mut tx = begin_system(pool).await?;
    let out = sqlx::query_as(
        "SELECT coalesce(s.n_live_tup, 0) AS live_tuples, coalesce(s.n_dead_tup, 0) AS dead_tuples,
                pg_table_size('jobs') AS table_bytes, pg_indexes_size('jobs') AS index_bytes
           FROM (SELECT 1) one
           LEFT JOIN pg_stat_user_tables s ON s.relid = 'jobs'::regclass",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(out)
}

/// One job as operators see it.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct JobRow {
    #[sqlx(try_from = "i64")]
    pub id: JobId,
    pub state: JobState,
    pub queue: String,
    pub kind: String,
    pub user_id: Option<Uuid>,
    pub priority: i16,
    pub attempt: i32,
    pub max_attempts: i32,
    pub scheduled_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub attempted_by: Option<String>,
    pub finalized_at: Option<DateTime<Utc>>,
    pub unique_key: Option<String>,
    pub args: serde_json::Value,
    pub errors: serde_json::Value,
}

/// Filters for [`list`].
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub state: Option<JobState>,
    pub queue: Option<String>,
    pub kind: Option<String>,
    pub limit: i64,
}

/// Jobs matching the filter, newest first.
pub async fn list(pool: &PgPool, filter: &ListFilter) -> Result<Vec<JobRow>> {
    let mut tx = begin_system(pool).await?;
    let out = sqlx::query_as(
        "SELECT id, state, queue, kind, user_id, priority, attempt, max_attempts, scheduled_at,
                created_at, attempted_by, finalized_at, unique_key, args, errors
           FROM jobs
          WHERE ($1::job_state IS NULL OR state = $1)
            AND ($2::text IS NULL OR queue = $2)
            AND ($3::text IS NULL OR kind = $3)
          ORDER BY id DESC
          LIMIT $4",
    )
    .bind(filter.state)
    .bind(filter.queue.as_deref())
    .bind(filter.kind.as_deref())
    .bind(filter.limit.clamp(1, 10_000))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(out)
}

/// One job by id.
pub async fn get(pool: &PgPool, id: JobId) -> Result<Option<JobRow>> {
    let mut tx = begin_system(pool).await?;
    let out = sqlx::query_as(
        "SELECT id, state, queue, kind, user_id, priority, attempt, max_attempts, scheduled_at,
                created_at, attempted_by, finalized_at, unique_key, args, errors
           FROM jobs WHERE id = $1",
    )
    .bind(id.0)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(out)
}
