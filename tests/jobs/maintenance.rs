//! Leases, rescue, pruning, cron ticks, operator commands and metrics.

use std::time::Duration;

use fieldwork_core::queue::lease::{heartbeat, rescue_expired};
use fieldwork_core::queue::schedule::fire_tick;
use fieldwork_core::queue::{JobOptions, claim, complete_many, prune};
use serde_json::{Value, json};

use crate::support::{InProcessWorker, JobsDb, raw_job, test_settings, wait_for, worker_bin};

#[tokio::test]
async fn an_expired_lease_is_rescued_and_the_old_holder_can_no_longer_ack() {
    let db = JobsDb::new().await;
    let job = db
        .enqueue_system(&[raw_job(
            "test.record",
            json!({}),
            JobOptions::default().max_attempts(5),
        )])
        .await[0];
    let claimed = claim(
        &db.system,
        "default",
        10,
        "dead-worker",
        Duration::from_millis(300),
    )
    .await
    .unwrap();
    assert_eq!(claimed.len(), 1);
    // A live holder keeps its lease by heartbeat.
    let renewed = heartbeat(
        &db.system,
        "dead-worker",
        &[(job.id, 1)],
        Duration::from_millis(300),
    )
    .await
    .unwrap();
    assert_eq!(renewed.len(), 1);
    assert_eq!(
        rescue_expired(&db.system, 100).await.unwrap(),
        0,
        "lease still valid"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(rescue_expired(&db.system, 100).await.unwrap(), 1);
    assert_eq!(db.state(job.id.0).await, "retryable");
    let errors: Value = sqlx::query_scalar("SELECT errors FROM jobs WHERE id = $1")
        .bind(job.id.0)
        .fetch_one(&db.su)
        .await
        .unwrap();
    assert_eq!(errors[0]["kind"], "lease_expired");
    assert!(errors[0]["error"].as_str().unwrap().contains("dead-worker"));
    // The presumed-dead holder's late ack and heartbeat change nothing.
    let done = complete_many(&db.system, "dead-worker", &[(job.id, 1)])
        .await
        .unwrap();
    assert!(done.is_empty());
    let renewed = heartbeat(
        &db.system,
        "dead-worker",
        &[(job.id, 1)],
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    assert!(renewed.is_empty());
    assert_eq!(db.state(job.id.0).await, "retryable");
}

#[tokio::test]
async fn pruning_deletes_finalized_jobs_past_their_retention_in_bounded_batches() {
    let db = JobsDb::new().await;
    let jobs: Vec<_> = (0..6)
        .map(|_| raw_job("test.record", json!({}), JobOptions::default()))
        .collect();
    let ids: Vec<i64> = db
        .enqueue_system(&jobs)
        .await
        .iter()
        .map(|e| e.id.0)
        .collect();
    let set = |state: &'static str, age_hours: i32, id: i64| {
        let su = db.su.clone();
        async move {
            sqlx::query(
                "UPDATE jobs SET state = $1::job_state,
                        finalized_at = now() - make_interval(hours => $2) WHERE id = $3",
            )
            .bind(state)
            .bind(age_hours)
            .bind(id)
            .execute(&su)
            .await
            .unwrap();
        }
    };
    set("completed", 25, ids[0]).await; // past 24 h: pruned
    set("cancelled", 30, ids[1]).await; // pruned
    set("completed", 1, ids[2]).await; // kept
    set("discarded", 25, ids[3]).await; // discarded are kept 7 days
    set("discarded", 24 * 8, ids[4]).await; // pruned
    // ids[5] stays available.
    let deleted = prune(
        &db.system,
        Duration::from_secs(24 * 3600),
        Duration::from_secs(7 * 24 * 3600),
        2,
        10,
    )
    .await
    .unwrap();
    assert_eq!(deleted, 3);
    let left: Vec<i64> = sqlx::query_scalar("SELECT id FROM jobs ORDER BY id")
        .fetch_all(&db.su)
        .await
        .unwrap();
    assert_eq!(left, vec![ids[2], ids[3], ids[5]]);
}

#[tokio::test]
async fn a_cron_tick_fires_once_however_many_workers_reach_it() {
    let db = JobsDb::new().await;
    let tick = chrono::Utc::now();
    let job = || {
        raw_job(
            "test.record",
            json!({"label": "cron"}),
            JobOptions::default(),
        )
    };
    let mut fired = 0;
    for worker in ["w1", "w2", "w3"] {
        if fire_tick(&db.system, "nightly", tick, worker, job())
            .await
            .unwrap()
            .is_some()
        {
            fired += 1;
        }
    }
    assert_eq!(fired, 1);
    let next = tick + chrono::Duration::seconds(1);
    assert!(
        fire_tick(&db.system, "nightly", next, "w2", job())
            .await
            .unwrap()
            .is_some()
    );
    // An old tick arriving late never fires again.
    assert!(
        fire_tick(&db.system, "nightly", tick, "w3", job())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(db.scalar_i64("SELECT count(*) FROM jobs").await, 2);
}

fn run_cli(db: &JobsDb, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(worker_bin())
        .args(args)
        .env("DATABASE_URL", db.url())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[tokio::test]
async fn operators_can_see_stats_list_retry_and_cancel_jobs() {
    let db = JobsDb::new().await;
    let o = JobOptions::default;
    let later = chrono::Utc::now() + chrono::Duration::hours(2);
    let got = db
        .enqueue_system(&[
            raw_job("test.record", json!({}), o()),
            raw_job("test.record", json!({}), o().run_at(later)),
        ])
        .await;
    sqlx::query(
        "UPDATE jobs SET state = 'discarded', finalized_at = now(), attempt = 25 WHERE id = $1",
    )
    .bind(got[0].id.0)
    .execute(&db.su)
    .await
    .unwrap();
    let (ok, stats) = run_cli(&db, &["jobs", "stats"]);
    assert!(ok, "{stats}");
    assert!(
        stats.contains("default") && stats.contains("discarded"),
        "{stats}"
    );
    let (ok, list) = run_cli(&db, &["jobs", "list", "--state", "discarded"]);
    assert!(ok && list.contains(&got[0].id.0.to_string()), "{list}");
    let (ok, out) = run_cli(&db, &["jobs", "retry", &got[0].id.0.to_string()]);
    assert!(ok, "{out}");
    assert_eq!(db.state(got[0].id.0).await, "available");
    let max: i32 = sqlx::query_scalar("SELECT max_attempts FROM jobs WHERE id = $1")
        .bind(got[0].id.0)
        .fetch_one(&db.su)
        .await
        .unwrap();
    assert_eq!(max, 26, "a retried discarded job gets one more attempt");
    let (ok, out) = run_cli(&db, &["jobs", "cancel", &got[1].id.0.to_string()]);
    assert!(ok && out.contains("cancelled"), "{out}");
    assert_eq!(db.state(got[1].id.0).await, "cancelled");
    let (ok, out) = run_cli(&db, &["jobs", "retry", "999999"]);
    assert!(!ok, "{out}");
}

#[tokio::test]
async fn the_worker_serves_prometheus_metrics_with_queue_depth_and_run_times() {
    let db = JobsDb::new().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut settings = test_settings("default,idle", 2);
    settings.metrics_addr = Some(addr);
    // The queue gauges come from the fleet's shared sample: refresh it often.
    settings.stats_interval = Duration::from_millis(200);
    // A worker process installs its metrics exporter at start-up, before its first job; the
    // test's enqueues below happen in this process too, so install it first as well.
    fieldwork_core::metrics_export::install();
    let worker = InProcessWorker::start(&db, settings);
    let job = db
        .enqueue_system(&[raw_job("test.record", json!({}), JobOptions::default())])
        .await[0];
    db.enqueue_system(&[raw_job(
        "test.record",
        json!({}),
        JobOptions::default().queue("other"),
    )])
    .await;
    wait_for(Duration::from_secs(10), "the job to complete", || async {
        (db.state(job.id.0).await == "completed").then_some(())
    })
    .await;
    let body = wait_for(Duration::from_secs(10), "metrics", || async {
        let r = reqwest::get(format!("http://{addr}/metrics")).await.ok()?;
        let text = r.text().await.ok()?;
        (text.contains("fieldwork_jobs_completed_total{kind=\"test.record\",queue=\"default\"}")
            && text.contains("fieldwork_queue_jobs{queue=\"other\",state=\"available\"} 1"))
        .then_some(text)
    })
    .await;
    worker.stop().await;
    for needle in [
        "fieldwork_job_run_seconds_bucket{kind=\"test.record\",queue=\"default\",le=\"0.005\"}",
        "fieldwork_queue_jobs{queue=\"other\",state=\"available\"} 1",
        "fieldwork_queue_oldest_available_age_seconds{queue=\"other\"}",
        "fieldwork_queue_jobs{queue=\"idle\",state=\"available\"} 0",
        "fieldwork_queue_paused{queue=\"idle\"} 0",
        "fieldwork_jobs_inserted_total{kind=\"test.record\",queue=\"other\"}",
        "fieldwork_jobs_table_dead_tuples ",
    ] {
        assert!(body.contains(needle), "missing {needle} in:\n{body}");
    }
}
