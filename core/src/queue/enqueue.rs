//! Transactional enqueue: jobs are inserted on the caller's connection (normally inside its
//! tenant transaction), so a job exists iff the business change that caused it committed.
//! The tenant comes from the transaction's RLS context, never from the job. Batches go in
//! one statement (`unnest` arrays); unique keys dedupe through a partial unique index.

use std::collections::HashMap;

use sqlx::PgConnection;

use super::job::{Job, JobOptions, NewJob};
use super::{JobId, metrics};
use crate::error::{Error, Result};

/// The outcome of one insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    pub id: JobId,
    /// `true` when a not-yet-finalized job with the same unique key already existed and
    /// no new job was inserted.
    pub existing: bool,
}

/// Inserts `job` with its kind's defaults.
pub async fn enqueue<J: Job>(conn: &mut PgConnection, job: &J) -> Result<Enqueued> {
    enqueue_with(conn, job, JobOptions::default()).await
}

/// Inserts `job` with `options` (delay, priority, attempts, queue, unique key).
pub async fn enqueue_with<J: Job>(
    conn: &mut PgConnection,
    job: &J,
    options: JobOptions,
) -> Result<Enqueued> {
    insert(conn, NewJob::new(job, options)?).await
}

/// Inserts one prepared row.
pub async fn insert(conn: &mut PgConnection, job: NewJob) -> Result<Enqueued> {
    insert_many(conn, std::slice::from_ref(&job))
        .await?
        .pop()
        .ok_or_else(|| Error::Internal("insert returned no job".into()))
}

/// Inserts many jobs in one statement; the result is aligned with `jobs`.
pub async fn insert_many(conn: &mut PgConnection, jobs: &[NewJob]) -> Result<Vec<Enqueued>> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let inserted = insert_rows(conn, jobs).await?;
    for job in jobs.iter().filter(|j| j.unique_key.is_none()) {
        metrics::inserted(&job.queue, &job.kind);
    }
    if jobs.iter().all(|j| j.unique_key.is_none()) {
        if inserted.len() != jobs.len() {
            return Err(Error::Internal(
                "insert skipped rows without a unique key".into(),
            ));
        }
        return Ok(inserted
            .into_iter()
            .map(|(id, _)| Enqueued {
                id,
                existing: false,
            })
            .collect());
    }
    resolve_unique(conn, jobs, inserted).await
}

const INSERT_SQL: &str = "
    INSERT INTO jobs (state, queue, kind, args, user_id, priority, max_attempts, scheduled_at, unique_key)
    SELECT CASE WHEN a.run_at > now() THEN 'scheduled'::job_state ELSE 'available'::job_state END,
           a.queue, a.kind, a.args::jsonb, app_current_user_id(), a.priority, a.max_attempts,
           COALESCE(a.run_at, now()), a.unique_key
      FROM unnest($1::text[], $2::text[], $3::text[], $4::int2[], $5::int4[], $6::timestamptz[], $7::text[])
           WITH ORDINALITY AS a(queue, kind, args, priority, max_attempts, run_at, unique_key, ord)
     ORDER BY a.ord
    ON CONFLICT (user_id, unique_key)
       WHERE unique_key IS NOT NULL AND state IN ('scheduled', 'available', 'running', 'retryable')
       DO NOTHING
    RETURNING id, unique_key";

/// Inserts the rows; returns `(id, unique_key)` of those inserted, in input order (ids come
/// from the sequence in the order the rows are inserted).
async fn insert_rows(
    conn: &mut PgConnection,
    jobs: &[NewJob],
) -> Result<Vec<(JobId, Option<String>)>> {
    let mut queues = Vec::with_capacity(jobs.len());
    let mut kinds = Vec::with_capacity(jobs.len());
    let mut args = Vec::with_capacity(jobs.len());
    let mut priorities = Vec::with_capacity(jobs.len());
    let mut max_attempts = Vec::with_capacity(jobs.len());
    let mut run_ats = Vec::with_capacity(jobs.len());
    let mut keys = Vec::with_capacity(jobs.len());
    for j in jobs {
        queues.push(j.queue.as_str());
        kinds.push(j.kind.as_str());
        args.push(j.args.get());
        priorities.push(j.priority);
        max_attempts.push(j.max_attempts);
        run_ats.push(j.run_at);
        keys.push(j.unique_key.as_deref());
    }
    let mut rows: Vec<(i64, Option<String>)> = sqlx::query_as(INSERT_SQL)
        .bind(queues)
        .bind(kinds)
        .bind(args)
        .bind(priorities)
        .bind(max_attempts)
        .bind(run_ats)
        .bind(keys)
        .fetch_all(&mut *conn)
        .await?;
    rows.sort_unstable_by_key(|(id, _)| *id);
    Ok(rows.into_iter().map(|(id, k)| (JobId(id), k)).collect())
}

/// Aligns inserted rows with the input and finds the existing job for every key that was
/// deduplicated. A key whose existing job finalized meanwhile is inserted again.
async fn resolve_unique(
    conn: &mut PgConnection,
    jobs: &[NewJob],
    inserted: Vec<(JobId, Option<String>)>,
) -> Result<Vec<Enqueued>> {
    let mut out: Vec<Option<Enqueued>> = vec![None; jobs.len()];
    let mut next = inserted.into_iter().peekable();
    let mut seen_keys: HashMap<&str, usize> = HashMap::new();
    let mut missing: Vec<usize> = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let key = job.unique_key.as_deref();
        let first_of_key = key.is_none_or(|k| !seen_keys.contains_key(k));
        let matches = next.peek().is_some_and(|(_, k)| k.as_deref() == key);
        if first_of_key && matches {
            if let Some((id, _)) = next.next() {
                out[i] = Some(Enqueued {
                    id,
                    existing: false,
                });
                if key.is_some() {
                    metrics::inserted(&job.queue, &job.kind);
                }
            }
        } else if key.is_some() {
            missing.push(i);
        } else {
            return Err(Error::Internal("inserted rows out of order".into()));
        }
        if let Some(k) = key {
            seen_keys.entry(k).or_insert(i);
        }
    }
    for _ in 0..5 {
        if missing.is_empty() {
            break;
        }
        let keys: Vec<&str> = missing
            .iter()
            .filter_map(|&i| jobs[i].unique_key.as_deref())
            .collect();
        let existing: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, unique_key FROM jobs
              WHERE user_id IS NOT DISTINCT FROM app_current_user_id()
                AND unique_key = ANY($1)
                AND state IN ('scheduled', 'available', 'running', 'retryable')",
        )
        .bind(&keys)
        .fetch_all(&mut *conn)
        .await?;
        let by_key: HashMap<&str, i64> = existing.iter().map(|(id, k)| (k.as_str(), *id)).collect();
        let mut remaining = Vec::new();
        for &i in &missing {
            match jobs[i].unique_key.as_deref().and_then(|k| by_key.get(k)) {
                Some(id) => {
                    out[i] = Some(Enqueued {
                        id: JobId(*id),
                        existing: true,
                    })
                }
                None => remaining.push(i),
            }
        }
        // The conflicting jobs finalized between our insert and our look-up: insert once per
        // key again; the next round finds the row for any later duplicate of the key.
        let mut again: Vec<NewJob> = Vec::new();
        let mut first_at: HashMap<&str, usize> = HashMap::new();
        for &i in &remaining {
            if let Some(k) = jobs[i].unique_key.as_deref()
                && !first_at.contains_key(k)
            {
                first_at.insert(k, i);
                again.push(jobs[i].clone());
            }
        }
        for (id, key) in insert_rows(conn, &again).await? {
            if let Some(&i) = key.as_deref().and_then(|k| first_at.get(k)) {
                out[i] = Some(Enqueued {
                    id,
                    existing: false,
                });
                metrics::inserted(&jobs[i].queue, &jobs[i].kind);
            }
        }
        missing = remaining
            .into_iter()
            .filter(|&i| out[i].is_none())
            .collect();
    }
    out.into_iter()
        .map(|e| e.ok_or_else(|| Error::Conflict("unique key kept changing; try again".into())))
        .collect()
}
