//! The Postgres job queue: typed jobs, transactional enqueue, batch claim under leases,
//! batched acknowledgements, backoff, scheduling, rescue, cancellation, cron ticks, pruning
//! and metrics. The worker crate runs it; the API only enqueues and cancels.
//!
//! Tenant code enqueues on its tenant transaction (`fieldwork_app`, RLS): the job's
//! `user_id` is that transaction's tenant. Claim, ack, heartbeat, rescue, prune and cron each
//! run in a `fieldwork_system` transaction (`db::begin_system`) on the pool they are given.

pub mod ack;
pub mod backoff;
pub mod claim;
pub mod control;
pub mod enqueue;
pub mod inspect;
pub mod job;
pub mod lease;
pub mod manage;
pub mod metrics;
pub mod sample;
pub mod schedule;
pub mod stats;

use serde::{Deserialize, Serialize};

pub use ack::{
    ErrorEntry, Failure, Resolution, acknowledge, complete_in_tx, complete_many, fail_many,
};
pub use claim::{ClaimedJob, claim, release};
pub use enqueue::{Enqueued, enqueue, enqueue_with, insert, insert_many};
pub use job::{Job, JobOptions, NewJob};
pub use manage::{CancelOutcome, cancel, cancel_by_unique_key, prune, retry};

// Planner note. Statements on a list of held jobs (ack, heartbeat, release) must probe the
// primary key once per id, whatever the statistics say — and a queue table's statistics
// always lag ("no running rows", "attempted_by is always NULL"). So they:
// - select rows by `id = ANY(ARRAY(SELECT unnest($ids)))`: an array the planner cannot see
//   into, so it always expects a handful of ids and uses the primary key;
// - take per-row values by position (`$attempts[array_position($ids, id)]`) instead of
//   joining an `unnest`: any join lets the planner put `jobs` outside a nested loop;
// - test `state::text = 'running'`: `state = 'running'` would make the partial index
//   jobs_running_idx a candidate path.
// Measured before: 1.0-1.4 s per 2,000 acks (nested loops over the arrays); after: ~50 ms.

/// The NOTIFY channel announcing available work (payload: queue) and scheduled work
/// (payload: [`SCHEDULED_PAYLOAD`]).
pub const JOBS_CHANNEL: &str = "fieldwork_jobs";
/// The NOTIFY channel asking a running job to stop (payload: job id).
pub const CANCEL_CHANNEL: &str = "fieldwork_job_cancel";
/// Payload on [`JOBS_CHANNEL`] when jobs for a later time were inserted.
pub const SCHEDULED_PAYLOAD: &str = ":scheduled";

/// A job's id (time-ordered bigint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub i64);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a job is in its life (`docs/ARCHITECTURE.md` has the diagram).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "job_state", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waits for its `run_at`.
    Scheduled,
    /// Runnable; waits for a worker.
    Available,
    /// Claimed by a worker under a lease.
    Running,
    /// Failed; waits out its backoff before becoming available again.
    Retryable,
    Completed,
    Cancelled,
    /// Failed for good: attempts exhausted, undecodable payload or unknown kind.
    Discarded,
}

impl JobState {
    pub const ALL: [JobState; 7] = [
        JobState::Scheduled,
        JobState::Available,
        JobState::Running,
        JobState::Retryable,
        JobState::Completed,
        JobState::Cancelled,
        JobState::Discarded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Scheduled => "scheduled",
            JobState::Available => "available",
            JobState::Running => "running",
            JobState::Retryable => "retryable",
            JobState::Completed => "completed",
            JobState::Cancelled => "cancelled",
            JobState::Discarded => "discarded",
        }
    }

    pub fn is_finalized(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Cancelled | JobState::Discarded
        )
    }
}

impl std::str::FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown job state {s:?}"))
    }
}
