//! Helpers for the job tests: a test database with the test-kind tables, users and
//! customers, enqueueing as a tenant or the system, in-process workers, real worker
//! processes (located next to the test binary: `target/<profile>/fieldwork-worker`, built
//! by `ops/test.sh`), and polling with a deadline.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fieldwork_core::db::{begin_system, begin_tenant};
use fieldwork_core::ids::UserId;
use fieldwork_core::queue::{Enqueued, Job, JobOptions, NewJob, enqueue_with, insert_many};
use fieldwork_tests::TestDb;
use fieldwork_worker::test_kinds::TEST_TABLES_SQL;
use fieldwork_worker::{WorkerContext, WorkerSettings, run_worker};
use sqlx::PgPool;
use tokio::sync::oneshot;

/// A migrated test database with the test-kind tables and pools for every role.
pub struct JobsDb {
    pub db: TestDb,
    pub su: PgPool,
    pub system: PgPool,
    pub app: PgPool,
}

impl JobsDb {
    pub async fn new() -> JobsDb {
        let db = TestDb::new().await;
        let su = db.superuser_pool().await;
        sqlx::raw_sql(TEST_TABLES_SQL).execute(&su).await.unwrap();
        JobsDb {
            system: db.system_pool(),
            app: db.app_pool(),
            su,
            db,
        }
    }

    pub fn url(&self) -> &str {
        &self.db.url
    }

    /// A user (tenant), created as the owner.
    pub async fn user(&self, email: &str) -> UserId {
        let id: uuid::Uuid = sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, business_name) VALUES ($1, 'x', 'Biz') RETURNING id",
        )
        .bind(email)
        .fetch_one(&self.su)
        .await
        .unwrap();
        UserId(id)
    }

    pub async fn customer(&self, user: UserId, name: &str) -> uuid::Uuid {
        sqlx::query_scalar(
            "INSERT INTO customers (user_id, first_name) VALUES ($1, $2) RETURNING id",
        )
        .bind(user.0)
        .bind(name)
        .fetch_one(&self.su)
        .await
        .unwrap()
    }

    /// Enqueues in a committed tenant transaction of `user`.
    pub async fn enqueue_as<J: Job>(&self, user: UserId, job: &J, options: JobOptions) -> Enqueued {
        let mut tx = begin_tenant(&self.app, user).await.unwrap();
        let e = enqueue_with(&mut tx, job, options).await.unwrap();
        tx.commit().await.unwrap();
        e
    }

    /// Enqueues system jobs (no tenant) in one statement, in a `fieldwork_system` transaction.
    pub async fn enqueue_system(&self, jobs: &[NewJob]) -> Vec<Enqueued> {
        let mut tx = begin_system(&self.system).await.unwrap();
        let enqueued = insert_many(&mut tx, jobs).await.unwrap();
        tx.commit().await.unwrap();
        enqueued
    }

    pub async fn scalar_i64(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.su).await.unwrap()
    }

    /// `state` of a job.
    pub async fn state(&self, id: i64) -> String {
        sqlx::query_scalar("SELECT state::text FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&self.su)
            .await
            .unwrap()
    }

    /// Executions recorded by test kinds for one job.
    pub async fn runs_of(&self, id: i64) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM test_job_runs WHERE job_id = $1")
            .bind(id)
            .fetch_one(&self.su)
            .await
            .unwrap()
    }
}

/// A `test.*` job built untyped (any queue, any args).
pub fn raw_job(kind: &str, args: serde_json::Value, options: JobOptions) -> NewJob {
    let args = serde_json::value::to_raw_value(&args).unwrap();
    NewJob::raw(kind, args, "default", 1, 25, options).unwrap()
}

pub use fieldwork_tests::wait_for;

/// Settings for in-process test workers: test kinds, fast polling.
pub fn test_settings(queues: &str, concurrency: usize) -> WorkerSettings {
    WorkerSettings {
        queues: fieldwork_worker::settings::parse_queues(queues, concurrency).unwrap(),
        poll_interval: Duration::from_millis(200),
        test_kinds: true,
        shutdown_timeout: Duration::from_secs(10),
        ..WorkerSettings::default()
    }
}

/// A worker running inside the test process.
pub struct InProcessWorker {
    stop: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<fieldwork_core::Result<()>>,
}

impl InProcessWorker {
    pub fn start(db: &JobsDb, settings: WorkerSettings) -> InProcessWorker {
        let ctx = WorkerContext::connect_with(db.url(), 8, settings).unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(run_worker(ctx, async move {
            let _ = rx.await;
        }));
        InProcessWorker {
            stop: Some(tx),
            handle,
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        (&mut self.handle).await.unwrap().unwrap();
    }
}

/// The `fieldwork-worker` binary: `FIELDWORK_WORKER_BIN`, else next to the test binary.
pub fn worker_bin() -> PathBuf {
    if let Ok(p) = std::env::var("FIELDWORK_WORKER_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let bin = dir.join("fieldwork-worker");
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build --bin fieldwork-worker`; ops/test.sh does)",
        bin.display()
    );
    bin
}

/// A real worker process.
pub struct WorkerProcess {
    pub child: tokio::process::Child,
    pub pid: u32,
    pub log: PathBuf,
}

impl WorkerProcess {
    /// Starts `fieldwork-worker` with the test kinds on `db`, plus `env`.
    pub fn spawn(db: &JobsDb, env: &[(&str, &str)]) -> WorkerProcess {
        let log = std::env::temp_dir().join(format!(
            "fw-worker-{}-{}.log",
            db.db.name,
            uuid::Uuid::now_v7().simple()
        ));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = tokio::process::Command::new(worker_bin());
        cmd.env("DATABASE_URL", db.url())
            .env("APP_SECRET", fieldwork_tests::app::TEST_APP_SECRET)
            .env("FIELDWORK_TEST_KINDS", "1")
            .env("JOB_POLL_INTERVAL_MS", "200")
            .env("DB_MAX_CONNECTIONS", "10")
            .env("RUST_LOG", "info,sqlx=warn")
            .env_remove("METRICS_ADDR")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let pid = child.id().unwrap();
        WorkerProcess { child, pid, log }
    }

    /// SQL pattern matching this process's worker ids (`<host>-<pid>-<random>`).
    pub fn id_regex(&self) -> String {
        format!("-{}-[0-9a-f]{{8}}$", self.pid)
    }

    pub async fn kill9(&mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }

    pub fn sigterm(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub async fn wait(&mut self, timeout: Duration) -> std::process::ExitStatus {
        tokio::time::timeout(timeout, self.child.wait())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "worker {} did not exit; log: {}",
                    self.pid,
                    self.log.display()
                )
            })
            .unwrap()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
