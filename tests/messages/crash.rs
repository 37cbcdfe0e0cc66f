//! Never lost, at most the crash window twice: three real `fieldwork-worker` processes send
//! 1,200 due messages to the SMTP sink while one of them is `kill -9`'d twice. Every message
//! ends `sent`, every one reached the server, and the duplicates are at most what the killed
//! process held (claimed jobs) at each kill.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fieldwork_tests::TestDb;
use fieldwork_tests::app::TEST_APP_SECRET;
use fieldwork_worker::bench::messages::{Shape, seed};
use fieldwork_worker::bench::smtp_sink::SmtpSink;
use sqlx::PgPool;

/// The `fieldwork-worker` binary: `FIELDWORK_WORKER_BIN`, else next to the test binary
/// (`ops/test.sh` builds it).
fn worker_bin() -> PathBuf {
    if let Ok(p) = std::env::var("FIELDWORK_WORKER_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("fieldwork-worker");
    assert!(
        bin.exists(),
        "{} is missing: run ops/test.sh (it builds it)",
        bin.display()
    );
    bin
}

fn spawn(db: &TestDb, smtp: &str) -> tokio::process::Child {
    let log = std::env::temp_dir().join(format!("fw-crash-{}.log", uuid::Uuid::now_v7().simple()));
    let file = std::fs::File::create(&log).unwrap();
    tokio::process::Command::new(worker_bin())
        .env("DATABASE_URL", &db.url)
        .env("APP_SECRET", TEST_APP_SECRET)
        .env("SMTP_URL", smtp)
        .env("QUIET_HOURS", "off")
        .env("WORKER_QUEUES", "email=8")
        .env("WORKER_BUFFER", "16")
        .env("JOB_FETCH_BATCH", "16")
        // Short leases so the killed worker's messages come back quickly (default 30 s).
        .env("JOB_LEASE_SECS", "4")
        .env("JOB_POLL_INTERVAL_MS", "200")
        .env("DB_MAX_CONNECTIONS", "8")
        .env("RUST_LOG", "info,sqlx=warn")
        .env_remove("METRICS_ADDR")
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_send_1200_messages_through_two_kill_9s_none_lost_duplicates_bounded() {
    let db = TestDb::new().await;
    let su = db.superuser_pool().await;
    let total = 1_200;
    let sink = SmtpSink::start().await.unwrap();
    // A server that takes a moment per message keeps messages in flight when the kill comes.
    sink.set_delay(Duration::from_millis(15));
    let shape = Shape {
        messages: total,
        concurrency: 8,
        buffer: 16,
        tenants: 3,
        rate: 0,
    };
    seed(&db.app_pool(), &shape, chrono::Utc::now())
        .await
        .unwrap();
    let mut workers: Vec<tokio::process::Child> = (0..3).map(|_| spawn(&db, &sink.url())).collect();
    let started = Instant::now();
    let mut held_at_kill = Vec::new();
    for threshold in [300, 700] {
        let deadline = Instant::now() + Duration::from_secs(180);
        while count(
            &su,
            "SELECT count(*) FROM scheduled_messages WHERE status = 'sent'",
        )
        .await
            < threshold
        {
            assert!(Instant::now() < deadline, "no progress to {threshold}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let pid = workers[0].id().unwrap();
        workers[0].start_kill().unwrap();
        workers[0].wait().await.unwrap();
        // Frozen now: what the dead process held is exactly its jobs still `running`.
        let held: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE state = 'running' AND attempted_by ~ $1",
        )
        .bind(format!("-{pid}-[0-9a-f]{{8}}$"))
        .fetch_one(&su)
        .await
        .unwrap();
        println!(
            "kill -9 of worker pid {pid} at {threshold}+ sent ({:.1} s): it held {held} messages (sending or claimed)",
            started.elapsed().as_secs_f64()
        );
        held_at_kill.push(held);
        workers[0] = spawn(&db, &sink.url());
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    while count(
        &su,
        "SELECT count(*) FROM scheduled_messages WHERE status = 'sent'",
    )
    .await
        < total as i64
    {
        assert!(Instant::now() < deadline, "not every message was sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    // Let any straggling (duplicate) delivery land before counting.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let received = sink.received();
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for m in &received {
        *per_id
            .entry(m.message_id().unwrap_or_default())
            .or_default() += 1;
    }
    let duplicates = received.len() - per_id.len();
    let bound: i64 = held_at_kill.iter().sum();
    println!(
        "crash test: {total} messages, {} emails received ({} distinct Message-IDs), {duplicates} duplicates; \
         bound = messages held by the killed process = {held_at_kill:?} (sum {bound}); all sent in {:.1} s",
        received.len(),
        per_id.len(),
        elapsed.as_secs_f64()
    );
    for w in &mut workers {
        w.start_kill().unwrap();
        w.wait().await.unwrap();
    }
    assert_eq!(per_id.len(), total, "every message reached the server");
    assert_eq!(
        count(
            &su,
            "SELECT count(*) FROM scheduled_messages WHERE status <> 'sent'"
        )
        .await,
        0,
        "every row is sent"
    );
    assert_eq!(
        // Only the email queue: the sends' audit rows also queue `webhook.fan_out` jobs on
        // `events`, which these workers do not serve.
        count(
            &su,
            "SELECT count(*) FROM jobs WHERE state <> 'completed' AND queue = 'email'"
        )
        .await,
        0,
        "every send job completed"
    );
    assert!(
        duplicates as i64 <= bound,
        "duplicates ({duplicates}) exceed what the killed process held ({bound})"
    );
    su.close().await;
}
