//! Real `fieldwork-worker` processes: a crash test with kill -9, lease expiry on a dead
//! worker versus a long job on a live one, cron across a fleet, and graceful shutdown.

use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};
use fieldwork_core::queue::{JobOptions, NewJob};
use serde_json::json;

use crate::support::{JobsDb, WorkerProcess, raw_job, wait_for};

async fn count(db: &JobsDb, sql: &'static str) -> i64 {
    db.scalar_i64(sql).await
}

/// Jobs in state running held by `w`, right now.
async fn held_by(db: &JobsDb, w: &WorkerProcess) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'running' AND attempted_by ~ $1")
        .bind(w.id_regex())
        .fetch_one(&db.su)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_worker_processes_drain_10000_jobs_through_two_kill_9s_and_every_job_completes() {
    let db = JobsDb::new().await;
    let total = 10_000;
    for chunk in 0..10 {
        let jobs: Vec<NewJob> = (0..total / 10)
            .map(|i| {
                raw_job(
                    "test.record",
                    json!({"sleep_ms": 10, "label": format!("{}", chunk * 1000 + i)}),
                    JobOptions::default(),
                )
            })
            .collect();
        db.enqueue_system(&jobs).await;
    }
    let env = [
        ("WORKER_QUEUES", "default=6"),
        ("WORKER_BUFFER", "12"),
        ("JOB_FETCH_BATCH", "20"),
        // Short leases so the killed worker's jobs come back quickly (default is 30 s).
        // (Long enough that a live worker's heartbeat, delayed on a loaded 2-core machine, never
        // lets a lease lapse: that would count as an extra execution.)
        ("JOB_LEASE_SECS", "8"),
    ];
    let mut workers: Vec<WorkerProcess> = (0..3).map(|_| WorkerProcess::spawn(&db, &env)).collect();
    let started = Instant::now();
    let mut held_at_kill = Vec::new();
    for threshold in [2_500, 6_000] {
        wait_for(
            Duration::from_secs(120),
            "progress before the kill",
            || async {
                (count(&db, "SELECT count(*) FROM jobs WHERE state = 'completed'").await
                    >= threshold)
                    .then_some(())
            },
        )
        .await;
        workers[0].kill9().await;
        // Frozen now: what the dead process held is exactly its rows still `running`.
        let held = held_by(&db, &workers[0]).await;
        println!(
            "kill -9 of worker pid {} at {threshold}+ completed ({:.1} s): it held {held} jobs (running or buffered)",
            workers[0].pid,
            started.elapsed().as_secs_f64()
        );
        held_at_kill.push(held);
        workers[0] = WorkerProcess::spawn(&db, &env);
    }
    wait_for(
        Duration::from_secs(240),
        "every job to complete",
        || async {
            (count(&db, "SELECT count(*) FROM jobs WHERE state = 'completed'").await == total)
                .then_some(())
        },
    )
    .await;
    let drained = started.elapsed();
    let executions = count(&db, "SELECT count(*) FROM test_job_runs").await;
    let distinct = count(&db, "SELECT count(DISTINCT job_id) FROM test_job_runs").await;
    let extra = executions - total;
    let bound: i64 = held_at_kill.iter().sum();
    println!(
        "crash test: {total} jobs, {executions} executions ({distinct} distinct jobs), {extra} extra executions; \
         bound = jobs running or claimed by the killed process = {held_at_kill:?} (sum {bound}); drained in {:.1} s",
        drained.as_secs_f64()
    );
    for w in &workers {
        w.sigterm();
    }
    for w in &mut workers {
        w.wait(Duration::from_secs(30)).await;
    }
    assert_eq!(distinct, total, "every job ran");
    assert_eq!(
        count(&db, "SELECT count(*) FROM jobs WHERE state <> 'completed'").await,
        0
    );
    assert!(extra >= 0);
    assert!(
        extra <= bound,
        "extra executions ({extra}) exceed what the killed process held ({bound})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_worker_dies_runs_again_within_60s_and_a_45s_job_on_a_live_worker_runs_once() {
    let db = JobsDb::new().await;
    // Default lease (30 s), heartbeat and rescue intervals.
    let mut dying = WorkerProcess::spawn(
        &db,
        &[("WORKER_QUEUES", "default=1"), ("WORKER_BUFFER", "0")],
    );
    let victim = db
        .enqueue_system(&[raw_job(
            "test.record",
            json!({"sleep_ms": 600000, "label": "victim"}),
            JobOptions::default(),
        )])
        .await[0];
    wait_for(Duration::from_secs(20), "the victim to start", || async {
        (db.runs_of(victim.id.0).await == 1).then_some(())
    })
    .await;
    let mut live = WorkerProcess::spawn(
        &db,
        &[("WORKER_QUEUES", "default=2"), ("WORKER_BUFFER", "0")],
    );
    let slow = db
        .enqueue_system(&[raw_job(
            "test.record",
            json!({"sleep_ms": 45000, "label": "slow"}),
            JobOptions::default(),
        )])
        .await[0];
    wait_for(Duration::from_secs(20), "the 45 s job to start", || async {
        (db.runs_of(slow.id.0).await == 1).then_some(())
    })
    .await;
    let slow_started = Instant::now();
    let on_live: bool = sqlx::query_scalar("SELECT attempted_by ~ $2 FROM jobs WHERE id = $1")
        .bind(slow.id.0)
        .bind(live.id_regex())
        .fetch_one(&db.su)
        .await
        .unwrap();
    assert!(on_live, "the 45 s job runs on the live worker");

    dying.kill9().await;
    let killed_at = Instant::now();
    wait_for(
        Duration::from_secs(70),
        "the dead worker's job to run again",
        || async { (db.runs_of(victim.id.0).await == 2).then_some(()) },
    )
    .await;
    let rerun_after = killed_at.elapsed();
    println!(
        "the killed worker's job ran again {:.1} s after kill -9",
        rerun_after.as_secs_f64()
    );
    assert!(
        rerun_after < Duration::from_secs(60),
        "re-run took {rerun_after:?}"
    );

    wait_for(
        Duration::from_secs(70),
        "the 45 s job to complete",
        || async { (db.state(slow.id.0).await == "completed").then_some(()) },
    )
    .await;
    println!(
        "the 45 s job completed after {:.1} s",
        slow_started.elapsed().as_secs_f64()
    );
    assert_eq!(
        db.runs_of(slow.id.0).await,
        1,
        "the healthy slow job never ran twice"
    );
    let (attempt, errors): (i32, serde_json::Value) =
        sqlx::query_as("SELECT attempt, errors FROM jobs WHERE id = $1")
            .bind(slow.id.0)
            .fetch_one(&db.su)
            .await
            .unwrap();
    assert_eq!(attempt, 1);
    assert_eq!(errors, json!([]), "never rescued");
    live.kill9().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_with_three_worker_processes_fires_exactly_once_per_tick_for_five_ticks() {
    let db = JobsDb::new().await;
    // Five consecutive seconds a few seconds from now, inside one minute.
    let mut first = Utc::now() + chrono::Duration::seconds(4);
    if first.second() > 54 {
        first += chrono::Duration::seconds(i64::from(62 - first.second()));
    }
    let first = first.with_nanosecond(0).unwrap();
    let expr = format!(
        "{}-{} {} {} * * *",
        first.second(),
        first.second() + 4,
        first.minute(),
        first.hour()
    );
    let env = [
        ("FIELDWORK_TEST_CRON", expr.as_str()),
        ("WORKER_QUEUES", "default=2"),
    ];
    let mut workers: Vec<WorkerProcess> = (0..3).map(|_| WorkerProcess::spawn(&db, &env)).collect();
    let last = first + chrono::Duration::seconds(4);
    let until = (last - Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(2);
    tokio::time::sleep(until).await;
    wait_for(
        Duration::from_secs(20),
        "the cron jobs to complete",
        || async {
            let pending = count(&db, "SELECT count(*) FROM jobs WHERE state <> 'completed'").await;
            (pending == 0).then_some(())
        },
    )
    .await;
    for w in &workers {
        w.sigterm();
    }
    for w in &mut workers {
        w.wait(Duration::from_secs(30)).await;
    }
    let labels: Vec<String> = sqlx::query_scalar(
        "SELECT args->>'label' FROM jobs WHERE kind = 'test.record' ORDER BY args->>'label'",
    )
    .fetch_all(&db.su)
    .await
    .unwrap();
    let expected: Vec<String> = (0..5)
        .map(|i| {
            format!(
                "cron:{}",
                (first + chrono::Duration::seconds(i)).to_rfc3339()
            )
        })
        .collect();
    let fired_by: Vec<String> = sqlx::query_scalar("SELECT fired_by FROM job_cron")
        .fetch_all(&db.su)
        .await
        .unwrap();
    println!(
        "cron `{expr}` with 3 workers: {} jobs for 5 ticks; last tick fired by {fired_by:?}",
        labels.len()
    );
    assert_eq!(labels, expected, "exactly one job per tick");
    assert_eq!(count(&db, "SELECT count(*) FROM test_job_runs").await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_running_jobs_finish_and_returns_buffered_ones_with_unchanged_attempts() {
    let db = JobsDb::new().await;
    let o = JobOptions::default;
    let mut jobs = vec![
        raw_job(
            "test.record",
            json!({"sleep_ms": 3000, "label": "long"}),
            o().priority(0),
        ),
        raw_job(
            "test.record",
            json!({"sleep_ms": 3000, "label": "long"}),
            o().priority(0),
        ),
    ];
    for _ in 0..10 {
        jobs.push(raw_job(
            "test.record",
            json!({"label": "short"}),
            o().priority(5),
        ));
    }
    let ids: Vec<i64> = db
        .enqueue_system(&jobs)
        .await
        .iter()
        .map(|e| e.id.0)
        .collect();
    let env = [
        ("WORKER_QUEUES", "default=2"),
        ("WORKER_BUFFER", "20"),
        ("JOB_FETCH_BATCH", "50"),
    ];
    let mut worker = WorkerProcess::spawn(&db, &env);
    wait_for(
        Duration::from_secs(20),
        "2 running and 10 buffered jobs",
        || async {
            let started = db.runs_of(ids[0]).await + db.runs_of(ids[1]).await;
            (started == 2 && held_by(&db, &worker).await == 12).then_some(())
        },
    )
    .await;
    worker.sigterm();
    let status = worker.wait(Duration::from_secs(20)).await;
    assert!(status.success(), "clean exit; log:\n{}", worker.log_text());
    for id in &ids[..2] {
        assert_eq!(db.state(*id).await, "completed", "running jobs finished");
        assert_eq!(db.runs_of(*id).await, 1);
    }
    for id in &ids[2..] {
        let (state, attempt, by): (String, i32, Option<String>) =
            sqlx::query_as("SELECT state::text, attempt, attempted_by FROM jobs WHERE id = $1")
                .bind(id)
                .fetch_one(&db.su)
                .await
                .unwrap();
        assert_eq!(
            (state.as_str(), attempt, by),
            ("available", 0, None),
            "buffered job {id} returned unspent"
        );
        assert_eq!(db.runs_of(*id).await, 0);
    }
    // Another worker picks them up as first attempts.
    let mut next = WorkerProcess::spawn(&db, &env);
    wait_for(
        Duration::from_secs(20),
        "the returned jobs to run",
        || async {
            (count(
                &db,
                "SELECT count(*) FROM jobs WHERE state = 'completed' AND attempt = 1",
            )
            .await
                == 12)
                .then_some(())
        },
    )
    .await;
    next.sigterm();
    next.wait(Duration::from_secs(20)).await;
}
