//! The queue under least privilege: a cancel notification anyone can send is only a hint; the
//! app role may insert jobs only as new and change them only as cancelling and completing in
//! the handler's transaction do; the system job that prunes expired sessions; and delays a
//! handler chooses are clamped rather than overflowing.

use std::time::Duration;

use fieldwork_core::db::begin_tenant;
use fieldwork_core::queue::{CancelOutcome, JobOptions, NewJob, cancel};
use fieldwork_worker::jobs::prune_sessions::PruneSessionsJob;
use fieldwork_worker::test_kinds::{RecordJob, SnoozeJob};

use crate::support::{InProcessWorker, JobsDb, test_settings, wait_for};

fn sleeper(ms: u64) -> RecordJob {
    RecordJob {
        label: None,
        sleep_ms: ms,
        complete_in_tx: false,
    }
}

async fn wait_state(db: &JobsDb, id: i64, state: &str, timeout: Duration) {
    wait_for(timeout, &format!("job {id} to be {state}"), || async {
        (db.state(id).await == state).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_forged_cancel_notification_does_not_cancel_a_running_job() {
    let db = JobsDb::new().await;
    let user = db.user("forged@example.com").await;
    let worker = InProcessWorker::start(&db, test_settings("default", 4));
    let forged = db
        .enqueue_as(user, &sleeper(3000), JobOptions::default())
        .await;
    let real = db
        .enqueue_as(user, &sleeper(30_000), JobOptions::default())
        .await;
    wait_for(Duration::from_secs(20), "both jobs to start", || async {
        (db.runs_of(forged.id.0).await == 1 && db.runs_of(real.id.0).await == 1).then_some(())
    })
    .await;
    // Any session may NOTIFY: here the runtime login itself, with no role at all.
    let mut anyone = db.db.runtime_connection().await;
    sqlx::query("SELECT pg_notify('fieldwork_job_cancel', $1)")
        .bind(forged.id.0.to_string())
        .execute(&mut anyone)
        .await
        .unwrap();
    // A real request (the row says cancel_requested_at) still stops a handler through the
    // same notification path, long before its 30 s sleep ends.
    let mut tx = begin_tenant(&db.app, user).await.unwrap();
    assert_eq!(
        cancel(&mut tx, real.id).await.unwrap(),
        CancelOutcome::Requested
    );
    tx.commit().await.unwrap();
    wait_state(&db, real.id.0, "cancelled", Duration::from_secs(20)).await;
    wait_state(&db, forged.id.0, "completed", Duration::from_secs(20)).await;
    worker.stop().await;
}

#[tokio::test]
async fn the_app_role_can_neither_insert_a_running_job_nor_revive_a_finished_one() {
    let db = JobsDb::new().await;
    let user = db.user("fence@example.com").await;
    let attempt = |sql: String| {
        let app = db.app.clone();
        async move {
            let mut tx = begin_tenant(&app, user).await.unwrap();
            let r = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await;
            tx.rollback().await.unwrap();
            r.map(|done| done.rows_affected())
                .map_err(|e| e.to_string())
        }
    };
    // Inserting anything but a new job is refused.
    for forged in [
        "state, attempt, attempted_by, attempted_at) VALUES ('test.record', 'running', 1, 'me', now())",
        "state, finalized_at) VALUES ('test.record', 'completed', now())",
        "state) VALUES ('test.record', 'retryable')",
        "attempt) VALUES ('test.record', 3)",
        "errors) VALUES ('test.record', '[{\"kind\": \"error\"}]')",
        "cancel_requested_at) VALUES ('test.record', now())",
    ] {
        let e = attempt(format!("INSERT INTO jobs (kind, {forged}"))
            .await
            .unwrap_err();
        assert!(e.contains("row-level security"), "{forged}: {e}");
    }
    assert_eq!(
        attempt("INSERT INTO jobs (kind) VALUES ('test.record')".into()).await,
        Ok(1),
        "a new job is fine"
    );

    let done = db
        .enqueue_as(user, &sleeper(0), JobOptions::default())
        .await;
    let waiting = db
        .enqueue_as(
            user,
            &sleeper(0),
            JobOptions::default().run_in(Duration::from_secs(3600)),
        )
        .await;
    sqlx::query(
        "UPDATE jobs SET state = 'completed', finalized_at = now(), attempt = 1 WHERE id = $1",
    )
    .bind(done.id.0)
    .execute(&db.su)
    .await
    .unwrap();
    for revive in [
        format!(
            "UPDATE jobs SET state = 'available', finalized_at = NULL WHERE id = {}",
            done.id.0
        ),
        format!(
            "UPDATE jobs SET state = 'scheduled', finalized_at = NULL WHERE id = {}",
            done.id.0
        ),
        format!(
            "UPDATE jobs SET cancel_requested_at = now() WHERE id = {}",
            done.id.0
        ),
        format!(
            "UPDATE jobs SET state = 'running' WHERE id = {}",
            waiting.id.0
        ),
        format!(
            "UPDATE jobs SET state = 'available' WHERE id = {}",
            waiting.id.0
        ),
        format!(
            "UPDATE jobs SET state = 'completed', finalized_at = now() WHERE id = {}",
            waiting.id.0
        ),
    ] {
        let e = attempt(revive.clone()).await.unwrap_err();
        assert!(e.contains("may not change job"), "{revive}: {e}");
    }
    // What the app does need still works: cancel (and a finished job reports itself finished).
    let mut tx = begin_tenant(&db.app, user).await.unwrap();
    assert_eq!(
        cancel(&mut tx, done.id).await.unwrap(),
        CancelOutcome::AlreadyFinalized(fieldwork_core::queue::JobState::Completed)
    );
    assert_eq!(
        cancel(&mut tx, waiting.id).await.unwrap(),
        CancelOutcome::Cancelled
    );
    tx.commit().await.unwrap();
    assert_eq!(db.state(done.id.0).await, "completed");
    assert_eq!(db.state(waiting.id.0).await, "cancelled");
}

#[tokio::test]
async fn the_session_pruning_job_deletes_expired_sessions_of_every_tenant_only_as_a_system_job() {
    let db = JobsDb::new().await;
    let (a, b) = (
        db.user("pa@example.com").await,
        db.user("pb@example.com").await,
    );
    for (user, expired) in [(a, true), (a, false), (b, true), (b, true), (b, false)] {
        sqlx::query(
            "INSERT INTO sessions (user_id, token_hash, expires_at)
             VALUES ($1, gen_random_uuid()::text::bytea,
                     now() + CASE WHEN $2 THEN interval '-1 hour' ELSE interval '1 hour' END)",
        )
        .bind(user.0)
        .bind(expired)
        .execute(&db.su)
        .await
        .unwrap();
    }
    let job = NewJob::new(&PruneSessionsJob::default(), JobOptions::default()).unwrap();
    let system = db.enqueue_system(&[job]).await[0];
    let tenant_copy = db
        .enqueue_as(a, &PruneSessionsJob::default(), JobOptions::default())
        .await;
    let worker = InProcessWorker::start(&db, test_settings("default", 2));
    wait_state(&db, system.id.0, "completed", Duration::from_secs(20)).await;
    wait_state(&db, tenant_copy.id.0, "discarded", Duration::from_secs(20)).await;
    worker.stop().await;
    let left: Vec<(uuid::Uuid, bool)> =
        sqlx::query_as("SELECT user_id, expires_at > now() FROM sessions ORDER BY user_id")
            .fetch_all(&db.su)
            .await
            .unwrap();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.iter().all(|(_, live)| *live));
}

#[tokio::test]
async fn a_handler_snoozing_for_ever_is_clamped_to_a_year_instead_of_crashing_the_worker() {
    let db = JobsDb::new().await;
    let user = db.user("forever@example.com").await;
    let worker = InProcessWorker::start(&db, test_settings("default", 2));
    let e = db
        .enqueue_as(
            user,
            &SnoozeJob {
                snooze_ms: u64::MAX,
            },
            JobOptions::default(),
        )
        .await;
    wait_state(&db, e.id.0, "scheduled", Duration::from_secs(20)).await;
    let days: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM scheduled_at - now())::float8 / 86400 FROM jobs WHERE id = $1",
    )
    .bind(e.id.0)
    .fetch_one(&db.su)
    .await
    .unwrap();
    assert!((365.0..=367.0).contains(&days), "{days} days");
    // The worker is still alive and running jobs.
    let next = db
        .enqueue_as(user, &sleeper(0), JobOptions::default())
        .await;
    wait_state(&db, next.id.0, "completed", Duration::from_secs(20)).await;
    worker.stop().await;
}
