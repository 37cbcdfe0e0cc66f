//! The runtime in-process: backoff with jitter, discarding after max attempts, panics,
//! poisoned payloads and unknown kinds, snooze, completion inside the handler's transaction,
//! cancellation of a running job, and the tenant context of handlers (RLS).

use std::time::Duration;

use fieldwork_core::queue::{CancelOutcome, JobOptions, cancel};
use fieldwork_worker::test_kinds::{FlakyJob, HangJob, RecordJob, RlsProbeJob, SnoozeJob};
use serde_json::{Value, json};

use crate::support::{InProcessWorker, JobsDb, raw_job, test_settings, wait_for};

async fn wait_state(db: &JobsDb, id: i64, state: &str, timeout: Duration) {
    wait_for(timeout, &format!("job {id} to be {state}"), || async {
        (db.state(id).await == state).then_some(())
    })
    .await;
}

async fn errors_of(db: &JobsDb, id: i64) -> Vec<Value> {
    let v: Value = sqlx::query_scalar("SELECT errors FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_one(&db.su)
        .await
        .unwrap();
    v.as_array().cloned().unwrap_or_default()
}

/// Seconds between consecutive recorded runs of a job.
async fn gaps(db: &JobsDb, id: i64) -> Vec<f64> {
    let at: Vec<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT at FROM test_job_runs WHERE job_id = $1 ORDER BY at")
            .bind(id)
            .fetch_all(&db.su)
            .await
            .unwrap();
    at.windows(2)
        .map(|w| (w[1] - w[0]).num_microseconds().unwrap() as f64 / 1e6)
        .collect()
}

#[tokio::test]
async fn a_job_failing_three_times_runs_at_increasing_intervals_with_jitter_then_succeeds() {
    let db = JobsDb::new().await;
    let worker = InProcessWorker::start(&db, test_settings("default", 10));
    let user = db.user("backoff@example.com").await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        let e = db
            .enqueue_as(
                user,
                &FlakyJob {
                    fail_times: 3,
                    panic: false,
                },
                JobOptions::default(),
            )
            .await;
        ids.push(e.id.0);
    }
    for id in &ids {
        wait_state(&db, *id, "completed", Duration::from_secs(30)).await;
    }
    worker.stop().await;
    // FlakyJob's backoff: 0.4 s doubling, ±20 % jitter.
    let nominal = [0.4, 0.8, 1.6];
    let mut first_gaps = Vec::new();
    // A loaded machine only ever adds delay to a retry: each gap is at least its nominal
    // backoff less the jitter, and the shortest gap of each step (the least delayed of the six
    // jobs) shows the growth.
    let mut shortest = [f64::MAX; 3];
    for id in &ids {
        assert_eq!(db.runs_of(*id).await, 4, "three failures, then success");
        let g = gaps(&db, *id).await;
        assert_eq!(g.len(), 3);
        for (i, (gap, n)) in g.iter().zip(nominal).enumerate() {
            assert!(
                *gap >= n * 0.8 - 0.01 && *gap <= n * 1.2 + 2.0,
                "gap {gap} vs nominal {n}"
            );
            shortest[i] = shortest[i].min(*gap);
        }
        first_gaps.push(g[0]);
        let errors = errors_of(&db, *id).await;
        let attempts: Vec<i64> = errors
            .iter()
            .map(|e| e["attempt"].as_i64().unwrap())
            .collect();
        assert_eq!(attempts, vec![1, 2, 3]);
        assert!(
            errors[0]["error"]
                .as_str()
                .unwrap()
                .contains("flaky failure on attempt 1")
        );
    }
    assert!(
        shortest[0] < shortest[1] && shortest[1] < shortest[2],
        "intervals grow: shortest gaps {shortest:?}"
    );
    let spread = first_gaps.iter().cloned().fold(f64::MIN, f64::max)
        - first_gaps.iter().cloned().fold(f64::MAX, f64::min);
    println!("first retry gaps of 6 jobs failing together: {first_gaps:?}");
    assert!(
        spread > 0.02,
        "jitter spreads retries of jobs that failed together: {first_gaps:?}"
    );
}

#[tokio::test]
async fn a_job_failing_forever_ends_discarded_after_max_attempts_with_its_error_history() {
    let db = JobsDb::new().await;
    let worker = InProcessWorker::start(&db, test_settings("default", 4));
    let user = db.user("forever@example.com").await;
    let forever = db
        .enqueue_as(
            user,
            &FlakyJob {
                fail_times: i32::MAX,
                panic: false,
            },
            JobOptions::default().max_attempts(3),
        )
        .await;
    let panics_once = db
        .enqueue_as(
            user,
            &FlakyJob {
                fail_times: 1,
                panic: true,
            },
            JobOptions::default(),
        )
        .await;
    wait_state(&db, forever.id.0, "discarded", Duration::from_secs(30)).await;
    wait_state(&db, panics_once.id.0, "completed", Duration::from_secs(30)).await;
    worker.stop().await;

    assert_eq!(db.runs_of(forever.id.0).await, 3);
    let errors = errors_of(&db, forever.id.0).await;
    assert_eq!(errors.len(), 3, "{errors:?}");
    for (i, e) in errors.iter().enumerate() {
        assert_eq!(e["attempt"], json!(i + 1));
        assert_eq!(e["kind"], "error");
        assert!(e["at"].as_str().is_some());
        assert!(e["error"].as_str().unwrap().starts_with("flaky failure"));
    }
    let finalized: bool =
        sqlx::query_scalar("SELECT finalized_at IS NOT NULL FROM jobs WHERE id = $1")
            .bind(forever.id.0)
            .fetch_one(&db.su)
            .await
            .unwrap();
    assert!(finalized);
    let errors = errors_of(&db, panics_once.id.0).await;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["kind"], "panic");
    assert!(
        errors[0]["error"]
            .as_str()
            .unwrap()
            .contains("panics on attempt 1")
    );
}

#[tokio::test]
async fn a_poisoned_payload_in_the_middle_of_a_batch_is_discarded_alone() {
    let db = JobsDb::new().await;
    let o = JobOptions::default;
    let mut batch = Vec::new();
    for i in 0..10 {
        batch.push(raw_job(
            "test.record",
            json!({"label": format!("good-{i}")}),
            o(),
        ));
    }
    batch.push(raw_job(
        "test.record",
        json!({"sleep_ms": "not a number"}),
        o(),
    ));
    batch.push(raw_job("test.no_such_kind", json!({}), o()));
    for i in 10..20 {
        batch.push(raw_job(
            "test.record",
            json!({"label": format!("good-{i}")}),
            o(),
        ));
    }
    let ids: Vec<i64> = db
        .enqueue_system(&batch)
        .await
        .iter()
        .map(|e| e.id.0)
        .collect();
    let mut settings = test_settings("default", 4);
    settings.fetch_batch = 100;
    settings.buffer = Some(100);
    let worker = InProcessWorker::start(&db, settings);
    for (i, id) in ids.iter().enumerate() {
        let expected = if i == 10 || i == 11 {
            "discarded"
        } else {
            "completed"
        };
        wait_state(&db, *id, expected, Duration::from_secs(20)).await;
    }
    worker.stop().await;
    let claims: i64 = db
        .scalar_i64("SELECT count(DISTINCT attempted_at) FROM jobs")
        .await;
    println!("the 22 jobs were claimed in {claims} statement(s)");
    for (i, id) in ids.iter().enumerate() {
        let runs = db.runs_of(*id).await;
        assert_eq!(runs, if i == 10 || i == 11 { 0 } else { 1 }, "job {i}");
    }
    let poisoned = errors_of(&db, ids[10]).await;
    assert_eq!(poisoned.len(), 1);
    assert_eq!(poisoned[0]["kind"], "decode");
    assert!(
        poisoned[0]["error"]
            .as_str()
            .unwrap()
            .contains("cannot decode test.record payload"),
        "{poisoned:?}"
    );
    let unknown = errors_of(&db, ids[11]).await;
    assert_eq!(unknown[0]["kind"], "unknown_kind");
    assert!(
        unknown[0]["error"]
            .as_str()
            .unwrap()
            .contains("test.no_such_kind")
    );
}

#[tokio::test]
async fn a_handler_can_snooze_without_spending_an_attempt_and_complete_in_its_own_transaction() {
    let db = JobsDb::new().await;
    let worker = InProcessWorker::start(&db, test_settings("default", 4));
    let user = db.user("snooze@example.com").await;
    let snooze = db
        .enqueue_as(user, &SnoozeJob { snooze_ms: 300 }, JobOptions::default())
        .await;
    let in_tx = db
        .enqueue_as(
            user,
            &RecordJob {
                label: None,
                sleep_ms: 0,
                complete_in_tx: true,
            },
            JobOptions::default(),
        )
        .await;
    wait_state(&db, snooze.id.0, "completed", Duration::from_secs(20)).await;
    wait_state(&db, in_tx.id.0, "completed", Duration::from_secs(20)).await;
    worker.stop().await;
    assert_eq!(db.runs_of(snooze.id.0).await, 2);
    let attempt: i32 = sqlx::query_scalar("SELECT attempt FROM jobs WHERE id = $1")
        .bind(snooze.id.0)
        .fetch_one(&db.su)
        .await
        .unwrap();
    assert_eq!(attempt, 1, "the snooze did not spend an attempt");
    assert!(errors_of(&db, snooze.id.0).await.is_empty());
    let marker: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM test_job_runs WHERE job_id = $1 AND label = 'completed-in-tx'",
    )
    .bind(in_tx.id.0)
    .fetch_one(&db.su)
    .await
    .unwrap();
    assert_eq!(
        marker, 1,
        "the handler's write committed with its completion"
    );
}

#[tokio::test]
async fn a_running_job_sees_a_cancellation_signal_and_ends_cancelled() {
    let db = JobsDb::new().await;
    let worker = InProcessWorker::start(&db, test_settings("default", 2));
    let job = db
        .enqueue_system(&[raw_job(
            "test.record",
            json!({"sleep_ms": 60000}),
            JobOptions::default(),
        )])
        .await[0];
    wait_for(Duration::from_secs(10), "the job to start", || async {
        (db.runs_of(job.id.0).await == 1).then_some(())
    })
    .await;
    let mut tx = fieldwork_core::db::begin_system(&db.system).await.unwrap();
    assert_eq!(
        cancel(&mut tx, job.id).await.unwrap(),
        CancelOutcome::Requested
    );
    tx.commit().await.unwrap();
    wait_state(&db, job.id.0, "cancelled", Duration::from_secs(10)).await;
    worker.stop().await;
    let errors = errors_of(&db, job.id.0).await;
    assert_eq!(errors[0]["kind"], "cancel");
}

#[tokio::test]
async fn a_tenant_job_sees_its_tenant_rows_only_whatever_its_args_claim() {
    let db = JobsDb::new().await;
    let a = db.user("rls-a@example.com").await;
    let b = db.user("rls-b@example.com").await;
    let mut a_customers = vec![db.customer(a, "A1").await, db.customer(a, "A2").await];
    a_customers.sort();
    db.customer(b, "B1").await;
    let job = db
        .enqueue_as(a, &RlsProbeJob { user_id: b.0 }, JobOptions::default())
        .await;
    let worker = InProcessWorker::start(&db, test_settings("default", 2));
    wait_state(&db, job.id.0, "completed", Duration::from_secs(20)).await;
    worker.stop().await;
    let (context_user, claimed_user, visible): (uuid::Uuid, uuid::Uuid, Vec<uuid::Uuid>) =
        sqlx::query_as(
            "SELECT context_user, claimed_user, visible_customers FROM test_rls_probe WHERE job_id = $1",
        )
        .bind(job.id.0)
        .fetch_one(&db.su)
        .await
        .unwrap();
    assert_eq!(context_user, a.0, "the handler runs in A's context");
    assert_eq!(claimed_user, b.0, "even though its args claimed B");
    assert_eq!(visible, a_customers, "it sees A's rows and none of B's");
}

#[tokio::test]
async fn a_worker_in_poll_only_mode_runs_available_and_scheduled_jobs() {
    let db = JobsDb::new().await;
    let mut settings = test_settings("default", 2);
    settings.poll_only = true;
    let worker = InProcessWorker::start(&db, settings);
    let soon = chrono::Utc::now() + chrono::Duration::milliseconds(500);
    let jobs = db
        .enqueue_system(&[
            raw_job("test.record", json!({}), JobOptions::default()),
            raw_job("test.record", json!({}), JobOptions::default().run_at(soon)),
        ])
        .await;
    for j in &jobs {
        wait_state(&db, j.id.0, "completed", Duration::from_secs(10)).await;
    }
    worker.stop().await;
    let started_after: bool =
        sqlx::query_scalar("SELECT attempted_at >= $2 FROM jobs WHERE id = $1")
            .bind(jobs[1].id.0)
            .bind(soon)
            .fetch_one(&db.su)
            .await
            .unwrap();
    assert!(
        started_after,
        "a scheduled job does not run before its time"
    );
}

#[tokio::test]
async fn a_hung_handler_times_out_and_its_attempts_end_discarded() {
    let db = JobsDb::new().await;
    let worker = InProcessWorker::start(&db, test_settings("default", 4));
    let user = db.user("hang@example.com").await;
    let id = db
        .enqueue_as(user, &HangJob {}, JobOptions::default())
        .await
        .id
        .0;
    wait_state(&db, id, "discarded", Duration::from_secs(20)).await;
    worker.stop().await;
    assert_eq!(db.runs_of(id).await, 2, "each attempt ran, then timed out");
    let errors = errors_of(&db, id).await;
    assert_eq!(errors.len(), 2);
    for e in &errors {
        assert_eq!(e["kind"], "timeout", "{e}");
    }
}
