//! Pool exhaustion: 200 concurrent clients on a pool of 10 connections. A request waits for a
//! connection at most the acquire timeout (`DB_ACQUIRE_TIMEOUT_SECS`), then gets 503
//! `SERVICE_UNAVAILABLE` with `Retry-After` — never an unbounded hang.

use std::time::Duration;

use fieldwork_core::db::{DbRole, PoolConfig};
use fieldwork_tests::app::test_config;
use fieldwork_tests::{TestApp, TestDb};
use reqwest::Method;

use crate::support::{Answer, Timeline, call};

const ACQUIRE: Duration = Duration::from_secs(2);

async fn flood(app: &TestApp, token: &str, timeline: &Timeline, clients: usize) -> Vec<Answer> {
    let mut tasks = Vec::new();
    for i in 0..clients {
        let (client, timeline, token) = (app.client.clone(), timeline.clone(), token.to_owned());
        let url = if i % 2 == 0 {
            app.url("/api/data/customers?limit=10")
        } else {
            app.url("/api/auth/me")
        };
        tasks.push(tokio::spawn(async move {
            call(
                &client,
                &timeline,
                "read",
                Method::GET,
                &url,
                Some(&token),
                None,
            )
            .await
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_clients_on_a_pool_of_ten_wait_at_most_the_acquire_timeout_then_get_503_with_retry_after()
 {
    let db = TestDb::new().await;
    let mut cfg = PoolConfig::new(&db.url, "pool-exhaustion-test");
    cfg.max_connections = 10;
    cfg.acquire_timeout = ACQUIRE;
    let pool = fieldwork_core::db::pool(&cfg, DbRole::App).unwrap();
    let mut config = test_config(&db.url);
    config.db_max_connections = 10;
    config.db_acquire_timeout = ACQUIRE;
    let app = TestApp::serve(db, pool.clone(), config).await;
    let token = app.signup("flood@example.com").await;
    app.create_customer(&token, serde_json::json!({"first_name": "Ada"}))
        .await;
    let timeline = Timeline::new();

    // Every connection of the pool busy (held here, as 10 slow requests would): all 200
    // requests must give up after the acquire timeout.
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(pool.acquire().await.unwrap());
    }
    timeline.mark("all 10 connections held; 200 concurrent requests");
    let answers = flood(&app, &token, &timeline, 200).await;
    let slowest = answers.iter().map(|a| a.latency).max().unwrap();
    timeline.mark(format!(
        "200 answers while exhausted, slowest {:.2} s",
        slowest.as_secs_f64()
    ));
    for a in &answers {
        assert_eq!(
            (a.status, a.code.as_str()),
            (503, "SERVICE_UNAVAILABLE"),
            "{a:?}"
        );
        assert_eq!(a.retry_after.as_deref(), Some("1"), "{a:?}");
        assert!(a.latency >= ACQUIRE - Duration::from_millis(100), "{a:?}");
    }
    // The acquire timeout plus a loaded 2-core machine's slack, never an unbounded wait.
    assert!(slowest < ACQUIRE + Duration::from_secs(10), "{slowest:?}");
    drop(held);

    // Connections free again: the same flood is served (a request may still time out
    // waiting behind 199 others on a slow machine: then 503 with Retry-After, nothing else).
    let answers = flood(&app, &token, &timeline, 200).await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    let slowest = answers.iter().map(|a| a.latency).max().unwrap();
    timeline.mark(format!(
        "200 answers with the pool free: {ok} ok, slowest {:.2} s",
        slowest.as_secs_f64()
    ));
    for a in &answers {
        assert!(
            a.status == 200 || (a.status == 503 && a.retry_after.is_some()),
            "{a:?}"
        );
    }
    assert!(ok >= 100, "only {ok} of 200 served with a free pool");
    assert!(slowest < ACQUIRE + Duration::from_secs(10), "{slowest:?}");
    timeline.print();
}
