//! What a job handler sees: [`JobContext`] (the run's identity, its database path — a tenant
//! transaction for tenant jobs, the system path for system jobs — cancellation, shared data)
//! and [`JobError`], the ways a run can end other than success.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use apalis_core::task::ExecutionContext;
use chrono::{DateTime, Utc};
use fieldwork_core::db::{TenantTx, begin_system, begin_tenant};
use fieldwork_core::ids::UserId;
use fieldwork_core::queue::{ClaimedJob, JobId, complete_in_tx};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::runtime::held::CancelToken;

/// Why a run did not succeed. Any error converts into a plain failure (`?` works), which is
/// retried with the kind's backoff until `max_attempts`; the constructors ask for more.
#[derive(Debug)]
pub struct JobError {
    pub(crate) kind: JobErrorKind,
    pub(crate) message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobErrorKind {
    Failed,
    RetryAfter(Duration),
    Snooze(Duration),
    Discard,
    Cancel,
    Decode,
}

impl JobError {
    /// A failure: retried after the kind's backoff.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(JobErrorKind::Failed, message)
    }
    /// A failure that should be retried after `delay` (e.g. a provider's Retry-After).
    pub fn retry_after(delay: Duration, message: impl Into<String>) -> Self {
        Self::new(JobErrorKind::RetryAfter(delay), message)
    }
    /// Not a failure: run again after `delay` without spending an attempt.
    pub fn snooze(delay: Duration) -> Self {
        Self::new(JobErrorKind::Snooze(delay), "snoozed")
    }
    /// Give up now: the job is `discarded` with this error.
    pub fn discard(message: impl Into<String>) -> Self {
        Self::new(JobErrorKind::Discard, message)
    }
    /// The handler honoured a cancellation: the job ends `cancelled`.
    pub fn cancelled(message: impl Into<String>) -> Self {
        Self::new(JobErrorKind::Cancel, message)
    }
    pub(crate) fn decode(message: impl Into<String>) -> Self {
        Self::new(JobErrorKind::Decode, message)
    }
    fn new(kind: JobErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for JobError {
    fn from(e: E) -> Self {
        JobError::failed(e.to_string())
    }
}

/// Result of a handler.
pub type JobResult = Result<(), JobError>;

/// A run's context: cheap to clone.
#[derive(Clone)]
pub struct JobContext {
    inner: Arc<Inner>,
}

struct Inner {
    job: ClaimedJob,
    worker_id: Arc<str>,
    app_pool: PgPool,
    system_pool: PgPool,
    cancel: Arc<CancelToken>,
    completed_in_tx: AtomicBool,
    exec: Arc<ExecutionContext>,
}

impl JobContext {
    pub(crate) fn new(
        job: ClaimedJob,
        worker_id: Arc<str>,
        app_pool: PgPool,
        system_pool: PgPool,
        cancel: Arc<CancelToken>,
        exec: Arc<ExecutionContext>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                job,
                worker_id,
                app_pool,
                system_pool,
                cancel,
                completed_in_tx: AtomicBool::new(false),
                exec,
            }),
        }
    }

    pub fn id(&self) -> JobId {
        self.inner.job.id
    }
    pub fn kind(&self) -> &str {
        &self.inner.job.kind
    }
    pub fn queue(&self) -> &str {
        &self.inner.job.queue
    }
    /// This run's attempt (1 for the first run).
    pub fn attempt(&self) -> i32 {
        self.inner.job.attempt
    }
    pub fn max_attempts(&self) -> i32 {
        self.inner.job.max_attempts
    }
    /// The tenant the job was enqueued under; `None` for a system job.
    pub fn user_id(&self) -> Option<UserId> {
        self.inner.job.user_id.map(UserId)
    }
    pub fn created_at(&self) -> DateTime<Utc> {
        self.inner.job.created_at
    }
    /// The worker process running this job.
    pub fn worker_id(&self) -> &str {
        &self.inner.worker_id
    }

    /// Opens the job's database transaction: `begin_tenant(app_pool, user_id)` for a tenant
    /// job (the API's own helper, so RLS sees exactly that tenant), `begin_system` (role
    /// `fieldwork_system`) for a system job.
    pub async fn begin(&self) -> Result<JobTx, JobError> {
        match self.user_id() {
            Some(user) => Ok(JobTx::Tenant(
                begin_tenant(&self.inner.app_pool, user).await?,
            )),
            None => Ok(JobTx::System(begin_system(&self.inner.system_pool).await?)),
        }
    }

    /// Whether a cancellation was requested (or the worker lost this job's lease).
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel.is_cancelled()
    }

    /// Resolves once a cancellation is requested.
    pub async fn cancelled(&self) {
        self.inner.cancel.cancelled().await
    }

    /// Shared data given to the worker with apalis' `WorkerBuilder::data`.
    pub fn data<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.inner.exec.data().get::<T>().cloned()
    }

    pub(crate) fn completed_in_tx(&self) -> bool {
        self.inner.completed_in_tx.load(Ordering::Acquire)
    }
}

/// The job's transaction (see [`JobContext::begin`]); derefs to the connection.
pub enum JobTx {
    Tenant(TenantTx),
    System(Transaction<'static, Postgres>),
}

impl JobTx {
    pub async fn commit(self) -> Result<(), JobError> {
        match self {
            JobTx::Tenant(tx) => tx.commit().await?,
            JobTx::System(tx) => tx.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), JobError> {
        match self {
            JobTx::Tenant(tx) => tx.rollback().await?,
            JobTx::System(tx) => tx.rollback().await?,
        }
        Ok(())
    }

    /// Marks the job completed inside this transaction and commits: the handler's effects and
    /// the completion land together or not at all. Fails (rolling back) if the worker no
    /// longer holds the job.
    pub async fn complete_and_commit(mut self, ctx: &JobContext) -> Result<(), JobError> {
        if !self.complete(ctx).await? {
            self.rollback().await?;
            return Err(JobError::failed(
                "job is no longer held by this worker (lease lost or cancelled); rolled back",
            ));
        }
        self.commit_completed(ctx, true).await
    }

    /// Marks the job completed inside this transaction without committing yet, so that what
    /// the handler writes afterwards commits with it — e.g. a follow-up job with the same
    /// unique key, which the completion frees. Returns whether this worker still held the job;
    /// finish with [`JobTx::commit_completed`].
    pub async fn complete(&mut self, ctx: &JobContext) -> Result<bool, JobError> {
        Ok(complete_in_tx(self, ctx.worker_id(), ctx.id(), ctx.attempt()).await?)
    }

    /// Commits; `completed` is what [`JobTx::complete`] returned, so that the runtime does not
    /// acknowledge a job this transaction already completed.
    pub async fn commit_completed(self, ctx: &JobContext, completed: bool) -> Result<(), JobError> {
        self.commit().await?;
        if completed {
            ctx.inner.completed_in_tx.store(true, Ordering::Release);
        }
        Ok(())
    }
}

impl Deref for JobTx {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        match self {
            JobTx::Tenant(tx) => tx,
            JobTx::System(tx) => tx,
        }
    }
}

impl DerefMut for JobTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match self {
            JobTx::Tenant(tx) => &mut *tx,
            JobTx::System(tx) => &mut *tx,
        }
    }
}
