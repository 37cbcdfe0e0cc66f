//! Enqueue on the SQL level: transactional inserts, batch alignment, unique keys under
//! concurrency, and tenancy (the job's tenant is the transaction's, never the payload's).

use std::sync::Arc;
use std::time::Duration;

use fieldwork_core::db::{DbRole, PoolConfig, begin_tenant};
use fieldwork_core::queue::{CancelOutcome, JobId, JobOptions, cancel, enqueue_with};
use fieldwork_worker::test_kinds::{RecordJob, RlsProbeJob};
use serde_json::json;
use tokio::sync::Barrier;

use crate::support::{JobsDb, raw_job};

fn record() -> RecordJob {
    RecordJob {
        label: None,
        sleep_ms: 0,
        complete_in_tx: false,
    }
}

#[tokio::test]
async fn a_unique_key_inserted_from_20_concurrent_transactions_yields_one_job() {
    let db = JobsDb::new().await;
    let user = db.user("unique@example.com").await;
    let barrier = Arc::new(Barrier::new(20));
    // Twenty transactions open at once need twenty connections.
    let mut cfg = PoolConfig::new(db.url(), "unique-test");
    cfg.max_connections = 20;
    let pool = fieldwork_core::db::pool(&cfg, DbRole::App).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let app = pool.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = begin_tenant(&app, user).await.unwrap();
            barrier.wait().await;
            let e = enqueue_with(
                &mut tx,
                &record(),
                JobOptions::default().unique_key("reminder:invoice-42"),
            )
            .await
            .unwrap();
            // Keep the transaction open a moment so the inserts overlap.
            tokio::time::sleep(Duration::from_millis(20)).await;
            tx.commit().await.unwrap();
            e
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let rows = db
        .scalar_i64("SELECT count(*) FROM jobs WHERE unique_key = 'reminder:invoice-42'")
        .await;
    assert_eq!(rows, 1, "exactly one job exists");
    let ids: std::collections::HashSet<JobId> = results.iter().map(|e| e.id).collect();
    assert_eq!(
        ids.len(),
        1,
        "every transaction got the same job: {results:?}"
    );
    assert_eq!(results.iter().filter(|e| !e.existing).count(), 1);
}

#[tokio::test]
async fn a_batch_insert_returns_ids_in_input_order_and_dedupes_keys() {
    let db = JobsDb::new().await;
    let o = JobOptions::default;
    let jobs = vec![
        raw_job("test.record", json!({"label": "a"}), o()),
        raw_job("test.record", json!({"label": "b"}), o().unique_key("x")),
        raw_job("test.record", json!({"label": "c"}), o().unique_key("x")),
        raw_job("test.record", json!({"label": "d"}), o()),
        raw_job("test.record", json!({"label": "e"}), o().unique_key("y")),
    ];
    let got = db.enqueue_system(&jobs).await;
    assert_eq!(got.len(), 5);
    assert!(!got[0].existing && !got[1].existing && !got[3].existing && !got[4].existing);
    assert!(got[2].existing && got[2].id == got[1].id);
    for (i, label) in [(0, "a"), (1, "b"), (3, "d"), (4, "e")] {
        let stored: String = sqlx::query_scalar("SELECT args->>'label' FROM jobs WHERE id = $1")
            .bind(got[i].id.0)
            .fetch_one(&db.su)
            .await
            .unwrap();
        assert_eq!(stored, label, "row {i} got its own id");
    }
    let again = db
        .enqueue_system(&[raw_job("test.record", json!({}), o().unique_key("x"))])
        .await;
    assert!(again[0].existing && again[0].id == got[1].id);

    // Once that job finalized, the key is free for a new job.
    sqlx::query("UPDATE jobs SET state = 'completed', finalized_at = now() WHERE id = $1")
        .bind(got[1].id.0)
        .execute(&db.su)
        .await
        .unwrap();
    let fresh = db
        .enqueue_system(&[raw_job("test.record", json!({}), o().unique_key("x"))])
        .await;
    assert!(!fresh[0].existing && fresh[0].id != got[1].id);
}

#[tokio::test]
async fn jobs_for_later_are_scheduled_and_others_available_in_one_batch() {
    let db = JobsDb::new().await;
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let got = db
        .enqueue_system(&[
            raw_job("test.record", json!({}), JobOptions::default()),
            raw_job(
                "test.record",
                json!({}),
                JobOptions::default().run_at(later),
            ),
        ])
        .await;
    assert_eq!(db.state(got[0].id.0).await, "available");
    assert_eq!(db.state(got[1].id.0).await, "scheduled");
}

#[tokio::test]
async fn the_job_tenant_comes_from_the_transaction_never_from_the_payload() {
    let db = JobsDb::new().await;
    let a = db.user("a@example.com").await;
    let b = db.user("b@example.com").await;
    let e = db
        .enqueue_as(a, &RlsProbeJob { user_id: b.0 }, JobOptions::default())
        .await;
    let owner: uuid::Uuid = sqlx::query_scalar("SELECT user_id FROM jobs WHERE id = $1")
        .bind(e.id.0)
        .fetch_one(&db.su)
        .await
        .unwrap();
    assert_eq!(owner, a.0, "the row belongs to the enqueuing tenant");

    // A cannot plant a job in B's tenant, even with raw SQL on its own transaction.
    let mut tx = begin_tenant(&db.app, a).await.unwrap();
    let err = sqlx::query("INSERT INTO jobs (kind, user_id) VALUES ('test.record', $1)")
        .bind(b.0)
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    tx.rollback().await.unwrap();

    // Without a tenant context the app role cannot enqueue at all (no system jobs from it),
    // and the runtime login on its own (no role set) cannot touch the queue.
    let mut tx = fieldwork_core::db::begin_anonymous(&db.app).await.unwrap();
    let err = enqueue_with(&mut tx, &record(), JobOptions::default()).await;
    assert!(
        err.is_err(),
        "an app transaction without tenant cannot enqueue"
    );
    tx.rollback().await.unwrap();
    let mut conn = db.app.acquire().await.unwrap();
    let err = enqueue_with(&mut conn, &record(), JobOptions::default()).await;
    assert!(
        err.is_err_and(|e| e.to_string().contains("permission denied")),
        "the bare runtime login has no rights"
    );
    drop(conn);

    // B neither sees nor cancels A's job; A cancels its own.
    let mut tx = begin_tenant(&db.app, b).await.unwrap();
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(seen, 0);
    assert!(
        cancel(&mut tx, e.id).await.is_err(),
        "another tenant's job looks missing"
    );
    tx.rollback().await.unwrap();
    let mut tx = begin_tenant(&db.app, a).await.unwrap();
    assert_eq!(
        cancel(&mut tx, e.id).await.unwrap(),
        CancelOutcome::Cancelled
    );
    tx.commit().await.unwrap();
    assert_eq!(db.state(e.id.0).await, "cancelled");
}

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_transaction_does_not_exist() {
    let db = JobsDb::new().await;
    let a = db.user("rollback@example.com").await;
    let mut tx = begin_tenant(&db.app, a).await.unwrap();
    enqueue_with(&mut tx, &record(), JobOptions::default())
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(db.scalar_i64("SELECT count(*) FROM jobs").await, 0);
}
