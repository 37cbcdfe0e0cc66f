//! What the jobs page reads and does beyond `stats` and `manage`: pages of jobs under
//! filters (keyset by id, newest first), one job with every column, where an available job
//! stands in its queue, what finished recently, and discarding a waiting job. System path:
//! operators see every tenant's jobs.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::{JobId, JobState};
use crate::db::begin_system;
use crate::error::{Error, Result};

/// One job with every column an operator may need.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct JobDetail {
    #[sqlx(try_from = "i64")]
    pub id: JobId,
    pub state: JobState,
    pub queue: String,
    pub kind: String,
    /// The tenant the job runs for; `None` for system jobs.
    pub user_id: Option<Uuid>,
    pub priority: i16,
    pub attempt: i32,
    pub max_attempts: i32,
    pub created_at: DateTime<Utc>,
    pub scheduled_at: DateTime<Utc>,
    pub attempted_at: Option<DateTime<Utc>>,
    pub attempted_by: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub finalized_at: Option<DateTime<Utc>>,
    pub cancel_requested_at: Option<DateTime<Utc>>,
    pub unique_key: Option<String>,
    pub args: serde_json::Value,
    pub errors: serde_json::Value,
}

const COLUMNS: &str = "id, state, queue, kind, user_id, priority, attempt, max_attempts, \
    created_at, scheduled_at, attempted_at, attempted_by, lease_expires_at, finalized_at, \
    cancel_requested_at, unique_key, args, errors";

/// Filters and position of a page of jobs.
#[derive(Debug, Clone, Default)]
pub struct PageFilter {
    pub state: Option<JobState>,
    pub queue: Option<String>,
    pub kind: Option<String>,
    /// Only jobs with a smaller id (the previous page's last id).
    pub before: Option<JobId>,
    pub limit: i64,
}

/// A page of jobs, newest first, and whether more follow.
#[derive(Debug, Clone)]
pub struct Page {
    pub jobs: Vec<JobDetail>,
    pub has_more: bool,
}

/// Jobs matching `filter`, newest first. Only the filters that are set reach the statement,
/// so the planner sees e.g. `state = 'discarded'` and can use the partial indexes.
pub async fn page(pool: &PgPool, filter: &PageFilter) -> Result<Page> {
    let mut tx = begin_system(pool).await?;
    let limit = filter.limit.clamp(1, 500);
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT {COLUMNS} FROM jobs WHERE true"));
    if let Some(state) = filter.state {
        // A closed set of lowercase words: safe as a literal, and visible to the planner.
        q.push(format!(" AND state = '{}'", state.as_str()));
    }
    if let Some(queue) = &filter.queue {
        q.push(" AND queue = ").push_bind(queue.clone());
    }
    if let Some(kind) = &filter.kind {
        q.push(" AND kind = ").push_bind(kind.clone());
    }
    if let Some(before) = filter.before {
        q.push(" AND id < ").push_bind(before.0);
    }
    q.push(" ORDER BY id DESC LIMIT ").push_bind(limit + 1);
    let mut jobs: Vec<JobDetail> = q.build_query_as().fetch_all(&mut *tx).await?;
    let has_more = jobs.len() as i64 > limit;
    jobs.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(Page { jobs, has_more })
}

/// One job by id.
pub async fn detail(pool: &PgPool, id: JobId) -> Result<Option<JobDetail>> {
    let mut tx = begin_system(pool).await?;
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM jobs WHERE id = $1"
    )))
    .bind(id.0)
    .fetch_optional(&mut *tx)
    .await?)
}

/// Available jobs of the same queue that a worker claims before this one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ahead {
    /// With a higher priority (a smaller number).
    pub higher_priority: i64,
    /// With the same priority, due earlier.
    pub same_priority: i64,
}

/// Where `job` (an available job) stands in its queue: the jobs claimed before it, counted
/// on the fetch index in claim order `(priority, scheduled_at, id)`.
pub async fn ahead(pool: &PgPool, job: &JobDetail) -> Result<Ahead> {
    let mut tx = begin_system(pool).await?;
    let (higher_priority, same_priority): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE priority < $2), count(*) FILTER (WHERE priority = $2)
           FROM jobs
          WHERE state = 'available' AND queue = $1
            AND (priority, scheduled_at, id) < ($2, $3, $4)",
    )
    .bind(&job.queue)
    .bind(job.priority)
    .bind(job.scheduled_at)
    .bind(job.id.0)
    .fetch_one(&mut *tx)
    .await?;
    Ok(Ahead {
        higher_priority,
        same_priority,
    })
}

/// Jobs of one queue that finished in one state.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Finished {
    pub queue: String,
    pub state: JobState,
    pub jobs: i64,
}

/// Jobs finalized (completed, cancelled, discarded) in the last `secs` seconds, per queue
/// and state (on `jobs_finalized_idx`).
pub async fn finished_since(pool: &PgPool, secs: f64) -> Result<Vec<Finished>> {
    let mut tx = begin_system(pool).await?;
    Ok(sqlx::query_as(
        "SELECT queue, state, count(*) AS jobs FROM jobs
          WHERE state IN ('completed', 'cancelled', 'discarded')
            AND finalized_at > now() - make_interval(secs => $1)
          GROUP BY queue, state ORDER BY queue, state",
    )
    .bind(secs)
    .fetch_all(&mut *tx)
    .await?)
}

/// Discards a waiting job (scheduled, available, retryable) for good, recording who did it
/// in its error history. Running jobs are refused (cancel them), finished ones too.
pub async fn discard(pool: &PgPool, id: JobId, by: &str) -> Result<()> {
    let mut tx = begin_system(pool).await?;
    let row: Option<(JobState, bool)> = sqlx::query_as(
        "WITH target AS (
            SELECT id, state AS old_state FROM jobs WHERE id = $1 FOR UPDATE
         ), changed AS (
            UPDATE jobs j
               SET state = 'discarded', finalized_at = now(), lease_expires_at = NULL,
                   errors = j.errors || jsonb_build_array(jsonb_build_object(
                       'attempt', j.attempt, 'at', now(), 'kind', 'discarded',
                       'error', 'discarded by ' || $2))
              FROM target t
             WHERE j.id = t.id AND t.old_state IN ('scheduled', 'available', 'retryable')
            RETURNING j.id
         )
         SELECT t.old_state, EXISTS (SELECT 1 FROM changed) FROM target t",
    )
    .bind(id.0)
    .bind(by.chars().take(200).collect::<String>())
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    match row {
        None => Err(Error::NotFound("job not found")),
        Some((_, true)) => Ok(()),
        Some((JobState::Running, false)) => Err(Error::InvalidState(
            "the job is running: cancel it instead".into(),
        )),
        Some((state, false)) => Err(Error::InvalidState(format!(
            "the job already finished ({})",
            state.as_str()
        ))),
    }
}
