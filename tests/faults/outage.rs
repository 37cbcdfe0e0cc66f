//! The database goes away and comes back: PostgreSQL (a cluster this test owns) is stopped
//! in the middle of API traffic and a job drain by two worker processes, and started again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fieldwork_core::db::{DbRole, PoolConfig, begin_system};
use fieldwork_core::queue::{JobOptions, NewJob, insert_many};
use fieldwork_tests::cluster::OwnCluster;
use fieldwork_tests::process::ApiProcess;
use reqwest::Method;
use serde_json::json;

use crate::support::{Answer, Timeline, Worker, call, signup, wait_for};

const JOBS: i64 = 2_000;
const ACQUIRE_TIMEOUT_SECS: u64 = 2;

async fn enqueue_jobs(url: &str) {
    let pool =
        fieldwork_core::db::pool(&PoolConfig::new(url, "outage-test"), DbRole::System).unwrap();
    let jobs: Vec<NewJob> = (0..JOBS)
        .map(|i| {
            let args = serde_json::value::to_raw_value(
                &json!({"sleep_ms": 40, "label": format!("job-{i}")}),
            )
            .unwrap();
            NewJob::raw("test.record", args, "default", 1, 25, JobOptions::default()).unwrap()
        })
        .collect();
    let mut tx = begin_system(&pool).await.unwrap();
    insert_many(&mut tx, &jobs).await.unwrap();
    tx.commit().await.unwrap();
    pool.close().await;
}

async fn completed(su: &sqlx::PgPool) -> Option<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE state = 'completed' AND kind = 'test.record'",
    )
    .fetch_one(su)
    .await
    .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_mid_traffic_answers_503_fast_loses_nothing_and_everything_resumes() {
    let mut cluster = OwnCluster::start().await;
    let timeline = Timeline::new();
    timeline.mark(format!("own cluster up on port {}", cluster.port()));
    let acquire = ACQUIRE_TIMEOUT_SECS.to_string();
    let api = ApiProcess::spawn_on(
        &cluster.url,
        "outage",
        &[
            ("DB_ACQUIRE_TIMEOUT_SECS", &acquire),
            ("DB_MAX_CONNECTIONS", "8"),
        ],
    )
    .await;
    let base = api.url("");
    let client = reqwest::Client::new();
    let token = signup(&client, &base, "outage@example.com").await;
    enqueue_jobs(&cluster.url).await;
    timeline.mark(format!(
        "{JOBS} jobs enqueued; starting 2 workers and 8 API clients"
    ));
    let worker_env = [
        ("WORKER_QUEUES", "default=6"),
        ("JOB_FETCH_BATCH", "20"),
        ("JOB_LEASE_SECS", "8"),
    ];
    let workers = [
        Worker::spawn(&cluster.url, &worker_env),
        Worker::spawn(&cluster.url, &worker_env),
    ];

    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..8 {
        let (client, timeline, stop, base, token) = (
            client.clone(),
            timeline.clone(),
            stop.clone(),
            base.clone(),
            token.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut answers: Vec<Answer> = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = json!({"first_name": format!("c{c}-{n}")});
                let url = format!("{base}/api/data/customers");
                answers.push(
                    call(
                        &client,
                        &timeline,
                        "create",
                        Method::POST,
                        &url,
                        Some(&token),
                        Some(body),
                    )
                    .await,
                );
                let url = format!("{base}/api/data/customers?limit=5");
                answers.push(
                    call(
                        &client,
                        &timeline,
                        "list",
                        Method::GET,
                        &url,
                        Some(&token),
                        None,
                    )
                    .await,
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            answers
        }));
    }
    let ready_probe = {
        let (client, timeline, stop, base) =
            (client.clone(), timeline.clone(), stop.clone(), base.clone());
        tokio::spawn(async move {
            let mut answers = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let url = format!("{base}/readyz");
                answers
                    .push(call(&client, &timeline, "readyz", Method::GET, &url, None, None).await);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            answers
        })
    };

    let su = cluster.superuser_pool().await;
    wait_for(Duration::from_secs(120), "300 jobs completed", || async {
        completed(&su).await.filter(|&n| n >= 300).map(|_| ())
    })
    .await;
    let done_before = completed(&su).await.unwrap();
    su.close().await;
    timeline.mark(format!(
        "{done_before} jobs completed; stopping PostgreSQL (pg_ctl stop -m fast)"
    ));
    cluster.stop_server();
    let down_at = timeline.now();
    timeline.mark("PostgreSQL stopped");
    tokio::time::sleep(Duration::from_secs(6)).await;
    timeline.mark("starting PostgreSQL again");
    cluster.start_server();
    let up_at = timeline.now();
    timeline.mark("PostgreSQL accepts connections");
    wait_for(
        Duration::from_secs(60),
        "/readyz 200 after the restart",
        || {
            let (client, base) = (client.clone(), base.clone());
            async move {
                let r = client.get(format!("{base}/readyz")).send().await.ok()?;
                (r.status() == 200).then_some(())
            }
        },
    )
    .await;
    timeline.mark("/readyz answers 200 again");
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let mut answers: Vec<Answer> = Vec::new();
    for c in clients {
        answers.extend(c.await.unwrap());
    }
    let readiness = ready_probe.await.unwrap();
    timeline.mark(format!("API traffic stopped: {} requests", answers.len()));

    let su = cluster.superuser_pool().await;
    wait_for(Duration::from_secs(300), "every job completed", || async {
        completed(&su).await.filter(|&n| n == JOBS).map(|_| ())
    })
    .await;
    timeline.mark("every job completed");

    // What the clients saw.
    let during = |a: &Answer| a.at >= down_at && a.at < up_at;
    let count = |f: &dyn Fn(&Answer) -> bool| answers.iter().filter(|a| f(a)).count();
    let ok = count(&|a| (200..300).contains(&a.status));
    let unavailable = count(&|a| a.status == 503);
    let others: Vec<&Answer> = answers
        .iter()
        .filter(|a| !(200..300).contains(&a.status) && a.status != 503)
        .collect();
    let slowest = answers.iter().map(|a| a.latency).max().unwrap_or_default();
    let first_ok_after = answers
        .iter()
        .filter(|a| a.at >= up_at && (200..300).contains(&a.status))
        .map(|a| a.at)
        .min();
    if let Some(t) = first_ok_after {
        timeline.mark(format!(
            "first 2xx after the restart was sent at {:.2} s",
            t.as_secs_f64()
        ));
    }
    let ready_503 = readiness
        .iter()
        .filter(|a| during(a) && a.status == 503)
        .count();
    let ready_during = readiness.iter().filter(|a| during(a)).count();
    println!(
        "API: {} answers: {ok} 2xx, {unavailable} 503, {} other; slowest {:.2} s; \
         /readyz during the outage: {ready_503} of {ready_during} probes 503",
        answers.len(),
        others.len(),
        slowest.as_secs_f64()
    );
    timeline.print();
    assert!(
        others.is_empty(),
        "only 2xx and 503 may be answered: {:?}",
        &others[..others.len().min(5)]
    );
    for a in answers.iter().chain(&readiness).filter(|a| a.status == 503) {
        assert_eq!(a.code, "SERVICE_UNAVAILABLE", "{:?}", a.body);
        assert!(a.retry_after.is_some(), "503 without Retry-After: {a:?}");
    }
    assert!(unavailable > 0, "the outage was not seen by any request");
    assert!(
        ready_503 > 0,
        "/readyz never answered 503 during the outage"
    );
    assert!(
        first_ok_after.is_some(),
        "no request succeeded after the restart"
    );
    // Fail fast: a request waits at most the acquire timeout (plus a loaded machine's slack).
    assert!(
        slowest < Duration::from_secs(ACQUIRE_TIMEOUT_SECS + 8),
        "a request took {slowest:?}"
    );

    // Nothing half-written: every created customer answered 201 is stored with its audit
    // row, and no customer exists without one.
    let created: Vec<uuid::Uuid> = answers
        .iter()
        .filter(|a| a.op == "create" && a.status == 201)
        .map(|a| a.body["data"]["id"].as_str().unwrap().parse().unwrap())
        .collect();
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM customers c JOIN audit_log a
           ON a.entity_id = c.id AND a.entity_type = 'customer' AND a.action = 'create'
         WHERE c.id = ANY($1)",
    )
    .bind(&created)
    .fetch_one(&su)
    .await
    .unwrap();
    assert_eq!(
        stored,
        created.len() as i64,
        "a 201 customer or its audit row is missing"
    );
    let unaudited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM audit_log a
           WHERE a.entity_id = c.id AND a.action = 'create')",
    )
    .fetch_one(&su)
    .await
    .unwrap();
    assert_eq!(unaudited, 0, "customers without their audit row");

    // No job lost, none run twice beyond what the outage explains, none left running.
    let distinct: i64 = sqlx::query_scalar("SELECT count(DISTINCT job_id) FROM test_job_runs")
        .fetch_one(&su)
        .await
        .unwrap();
    // The test's own jobs: the API's writes also queue fan-out jobs (`events`), which these
    // workers do not serve.
    let running: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE state <> 'completed' AND kind = 'test.record'",
    )
    .fetch_one(&su)
    .await
    .unwrap();
    assert_eq!(distinct, JOBS, "every job ran");
    assert_eq!(running, 0, "every job completed");
    let logs: String = workers.iter().map(Worker::log_text).collect();
    assert!(
        logs.contains("claiming jobs failed") || logs.contains("failed"),
        "the workers never noticed the outage"
    );
    su.close().await;
    drop(api);
}
