//! Pausing a queue for a whole fleet of real `fieldwork-worker` processes, from the shell
//! (`fieldwork-worker jobs pause|resume QUEUE`): its jobs stay available while other queues
//! drain, also jobs enqueued while it is paused; resuming drains them.

use std::time::Duration;

use fieldwork_core::queue::JobOptions;
use serde_json::json;

use crate::support::{JobsDb, WorkerProcess, raw_job, wait_for, worker_bin};

/// Runs `fieldwork-worker <args>` against the test database; returns its output, asserting
/// success.
async fn cli(db: &JobsDb, args: &[&str]) -> String {
    let out = tokio::process::Command::new(worker_bin())
        .args(args)
        .env("DATABASE_URL", db.url())
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "fieldwork-worker {args:?} failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

async fn count(db: &JobsDb, queue: &str, state: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM jobs WHERE queue = $1 AND state::text = $2")
        .bind(queue)
        .bind(state)
        .fetch_one(&db.su)
        .await
        .unwrap()
}

async fn enqueue(db: &JobsDb, queue: &str, n: usize, label: &str) {
    let jobs: Vec<_> = (0..n)
        .map(|i| {
            raw_job(
                "test.record",
                json!({"sleep_ms": 5, "label": format!("{label}-{i}")}),
                JobOptions {
                    queue: Some(queue.to_owned()),
                    ..JobOptions::default()
                },
            )
        })
        .collect();
    db.enqueue_system(&jobs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_queue_keeps_its_jobs_available_across_two_workers_while_others_drain_and_resume_drains_it()
 {
    let db = JobsDb::new().await;
    let said = cli(&db, &["jobs", "pause", "slow", "--by", "the pause test"]).await;
    assert!(said.contains("queue slow paused"), "{said}");
    let said = cli(&db, &["jobs", "pause", "slow"]).await;
    assert!(said.contains("already paused"), "{said}");

    enqueue(&db, "default", 300, "default").await;
    enqueue(&db, "slow", 100, "slow").await;
    let env = [
        ("WORKER_QUEUES", "default=4,slow=4"),
        ("WORKER_BUFFER", "8"),
        ("JOB_FETCH_BATCH", "20"),
    ];
    let mut workers = [
        WorkerProcess::spawn(&db, &env),
        WorkerProcess::spawn(&db, &env),
    ];
    wait_for(
        Duration::from_secs(120),
        "the default queue to drain",
        || async { (count(&db, "default", "completed").await == 300).then_some(()) },
    )
    .await;
    // Jobs enqueued while the workers run and the queue is paused stay too.
    enqueue(&db, "slow", 20, "slow-late").await;
    // Several poll intervals (200 ms) and notifications later: still nothing claimed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(count(&db, "slow", "available").await, 120);
    let (runs, attempted): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM test_job_runs WHERE label LIKE 'slow-%'),
                (SELECT count(*) FROM jobs WHERE queue = 'slow' AND (attempt > 0 OR attempted_by IS NOT NULL))",
    )
    .fetch_one(&db.su)
    .await
    .unwrap();
    assert_eq!(
        (runs, attempted),
        (0, 0),
        "no worker claimed from the paused queue"
    );
    let stats = cli(&db, &["jobs", "stats"]).await;
    let slow_line = stats.lines().find(|l| l.starts_with("slow")).unwrap_or("");
    assert!(
        slow_line.contains("since"),
        "stats show the pause:\n{stats}"
    );

    let said = cli(&db, &["jobs", "resume", "slow"]).await;
    assert!(said.contains("queue slow resumed"), "{said}");
    wait_for(
        Duration::from_secs(60),
        "the resumed queue to drain",
        || async { (count(&db, "slow", "completed").await == 120).then_some(()) },
    )
    .await;
    let distinct: i64 = db
        .scalar_i64("SELECT count(DISTINCT job_id) FROM test_job_runs WHERE label LIKE 'slow%'")
        .await;
    assert_eq!(distinct, 120, "every paused job ran after the resume");
    let per_worker: Vec<i64> =
        sqlx::query_scalar("SELECT count(*) FROM test_job_runs GROUP BY worker ORDER BY worker")
            .fetch_all(&db.su)
            .await
            .unwrap();
    println!("runs per worker process: {per_worker:?}");
    for w in &workers {
        w.sigterm();
    }
    for w in &mut workers {
        w.wait(Duration::from_secs(30)).await;
    }
}
