//! Sampled queue statistics: jobs per queue and live state (scheduled, available, running,
//! retryable), the oldest available job of each queue, the paused queues and the jobs table's
//! health — computed by one statement per sampling interval in one process of the fleet, and
//! read by every worker's `/metrics` with one primary-key lookup.
//!
//! Election without a leader: every worker calls [`sample_if_due`] once per interval; the
//! statement locks the single `job_stats` row only if its sample is stale (`FOR UPDATE SKIP
//! LOCKED`), so the first worker to get there recomputes it and everyone else changes
//! nothing — a stale check of one row. No lease to hand over: when that worker stops, the
//! next stale check of any other worker takes over.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::types::Json;

use super::JobState;
use crate::db::begin_system;
use crate::error::Result;

/// Jobs of one queue in one live state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueStateCount {
    pub queue: String,
    pub state: JobState,
    pub jobs: i64,
    /// For `available`: when the oldest available job became due.
    #[serde(default)]
    pub oldest_available_at: Option<DateTime<Utc>>,
}

/// The jobs table's size and dead tuples (bloat alerts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TableSample {
    pub live_tuples: i64,
    pub dead_tuples: i64,
    pub table_bytes: i64,
    pub index_bytes: i64,
}

/// One sample of the queue statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Only queue/state pairs with jobs: a missing pair is zero.
    #[serde(default)]
    pub queues: Vec<QueueStateCount>,
    /// Paused queues, by name.
    #[serde(default)]
    pub paused: Vec<String>,
    #[serde(default)]
    pub table: TableSample,
}

impl Sample {
    /// Jobs of `queue` in `state` (0 when none).
    pub fn jobs(&self, queue: &str, state: JobState) -> i64 {
        self.queues
            .iter()
            .find(|c| c.queue == queue && c.state == state)
            .map_or(0, |c| c.jobs)
    }

    /// When the oldest available job of `queue` became due.
    pub fn oldest_available_at(&self, queue: &str) -> Option<DateTime<Utc>> {
        self.queues
            .iter()
            .find(|c| c.queue == queue && c.state == JobState::Available)
            .and_then(|c| c.oldest_available_at)
    }

    /// Every queue the sample mentions, sorted.
    pub fn queue_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .queues
            .iter()
            .map(|c| c.queue.clone())
            .chain(self.paused.iter().cloned())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// A stored sample with when and by whom it was taken.
#[derive(Debug, Clone)]
pub struct StoredSample {
    pub sampled_at: DateTime<Utc>,
    pub sampled_by: String,
    pub sample: Sample,
}

/// The sample as one jsonb expression. Each count reads one partial index of `jobs`
/// (`jobs_fetch_idx`, `jobs_scheduled_idx`, `jobs_running_idx`): live jobs only, never the
/// finalized ones that make up most of the table.
macro_rules! sample_expr {
    () => {
        "jsonb_build_object(
            'queues', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                            'queue', c.queue, 'state', c.state, 'jobs', c.n,
                            'oldest_available_at', c.oldest)), '[]'::jsonb)
                         FROM (SELECT queue, 'available' AS state, count(*) AS n,
                                      min(scheduled_at) AS oldest
                                 FROM jobs WHERE state = 'available' GROUP BY queue
                               UNION ALL
                               SELECT queue, state::text, count(*), NULL
                                 FROM jobs WHERE state IN ('scheduled', 'retryable')
                                GROUP BY queue, state
                               UNION ALL
                               SELECT queue, 'running', count(*), NULL
                                 FROM jobs WHERE state = 'running' GROUP BY queue) c),
            'paused', (SELECT coalesce(jsonb_agg(name ORDER BY name), '[]'::jsonb)
                         FROM job_queues WHERE paused_at IS NOT NULL),
            'table', (SELECT jsonb_build_object(
                             'live_tuples', coalesce(t.n_live_tup, 0),
                             'dead_tuples', coalesce(t.n_dead_tup, 0),
                             'table_bytes', pg_table_size('jobs'),
                             'index_bytes', pg_indexes_size('jobs'))
                        FROM (SELECT 1) one
                        LEFT JOIN pg_stat_user_tables t ON t.relid = 'jobs'::regclass))"
    };
}

/// Refreshes the stored sample if it is older than `interval_secs` and no other worker is
/// refreshing it right now. Returns whether this call took the sample. Cheap when it does
/// not: one row, skipped if locked.
pub async fn sample_if_due(pool: &PgPool, worker: &str, interval_secs: f64) -> Result<bool> {
    let mut tx = begin_system(pool).await?;
    let taken: Option<bool> = sqlx::query_scalar(concat!(
        "WITH due AS (
            SELECT singleton FROM job_stats
             WHERE sampled_at IS NULL OR sampled_at <= now() - make_interval(secs => $2)
               FOR UPDATE SKIP LOCKED
         )
         UPDATE job_stats s SET sampled_at = now(), sampled_by = $1, sample = ",
        sample_expr!(),
        "
          WHERE s.singleton AND EXISTS (SELECT 1 FROM due)
         RETURNING true"
    ))
    .bind(worker)
    .bind(interval_secs)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(taken.unwrap_or(false))
}

/// The stored sample (`None` before the first one). One primary-key read.
pub async fn read(pool: &PgPool) -> Result<Option<StoredSample>> {
    let mut tx = begin_system(pool).await?;
    type Row = (Option<DateTime<Utc>>, Option<String>, Json<Sample>);
    let row: Option<Row> =
        sqlx::query_as("SELECT sampled_at, sampled_by, sample FROM job_stats WHERE singleton")
            .fetch_optional(&mut *tx)
            .await?;
    Ok(row.and_then(|(at, by, Json(sample))| {
        at.map(|sampled_at| StoredSample {
            sampled_at,
            sampled_by: by.unwrap_or_default(),
            sample,
        })
    }))
}

/// A fresh sample, computed now and not stored (the jobs page).
pub async fn live(pool: &PgPool) -> Result<Sample> {
    let mut tx = begin_system(pool).await?;
    let Json(sample): Json<Sample> = sqlx::query_scalar(concat!("SELECT ", sample_expr!()))
        .fetch_one(&mut *tx)
        .await?;
    Ok(sample)
}
