//! Nothing lost when a worker dies: 2,000 audited changes are written (through the real
//! audit path, which wakes the fan-out) while two real `fieldwork-worker` processes fan them
//! out to a receiver, and one of them is `kill -9`'d twice mid-way. Every event arrives;
//! duplicates are at most what the killed process had in flight: the subscription's batch of
//! sent-but-not-yet-recorded attempts (`FLUSH_EVERY`) per kill.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fieldwork_core::audit::{AuditAction, AuditRecord, log_changes};
use fieldwork_core::db::begin_tenant;
use fieldwork_core::ids::{Actor, UserId};
use fieldwork_tests::TestApp;
use fieldwork_tests::app::TEST_APP_SECRET;
use fieldwork_tests::process::workspace_bin;
use fieldwork_worker::jobs::webhook_deliver::FLUSH_EVERY;
use serde_json::{Map, json};

use crate::receiver::{Receiver, verifies};

const EVENTS: usize = 2000;

fn spawn(db_url: &str) -> tokio::process::Child {
    let log =
        std::env::temp_dir().join(format!("fw-wh-crash-{}.log", uuid::Uuid::now_v7().simple()));
    let file = std::fs::File::create(&log).unwrap();
    tokio::process::Command::new(workspace_bin("fieldwork-worker"))
        .env("DATABASE_URL", db_url)
        .env("APP_SECRET", TEST_APP_SECRET)
        .env("WORKER_QUEUES", "events=2,webhooks=4")
        .env("JOB_LEASE_SECS", "8")
        .env("JOB_POLL_INTERVAL_MS", "200")
        .env("DB_MAX_CONNECTIONS", "8")
        .env("WEBHOOK_ALLOW_PRIVATE", "true")
        .env("WEBHOOK_ALLOW_HTTP", "true")
        .env("WEBHOOK_RETRY_SCHEDULE", "0,200ms,500ms,1s,1s,1s,1s,1s")
        .env("RUST_LOG", "info,sqlx=warn")
        .env_remove("METRICS_ADDR")
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn a_worker_killed_twice_during_a_fan_out_of_2000_events_loses_none_and_duplicates_only_its_unrecorded_batch()
 {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let token = app.signup("crash@example.com").await;
    let user = UserId(app.user_id(&token).await);
    let sub = app
        .create(
            &token,
            "webhook_subscriptions",
            json!({"url": receiver.url("/crash"), "event_types": ["customer.updated"]}),
        )
        .await;
    let secret = sub["secret"].as_str().unwrap().to_owned();

    let mut victim = spawn(&app.db.url);
    let mut survivor = spawn(&app.db.url);
    let pool = app.db.app_pool();
    let writer = {
        let pool = pool.clone();
        tokio::spawn(async move {
            for batch in 0..(EVENTS / 50) {
                let records: Vec<AuditRecord> = (0..50)
                    .map(|i| {
                        let mut changes = Map::new();
                        changes.insert("n".into(), json!({"old": null, "new": batch * 50 + i}));
                        AuditRecord {
                            actor: Actor::new(user, Some(format!("crash-{batch}"))),
                            entity_type: "customer",
                            entity_id: uuid::Uuid::now_v7(),
                            action: AuditAction::Update,
                            changes,
                        }
                    })
                    .collect();
                let mut tx = begin_tenant(&pool, user).await.unwrap();
                log_changes(&mut tx, &records).await.unwrap();
                tx.commit().await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    let mut kills = 0;
    let patience = Duration::from_secs(240);
    let start = Instant::now();
    for threshold in [300usize, 1200] {
        while receiver.at("/crash").len() < threshold {
            assert!(start.elapsed() < patience, "stalled before kill {kills}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        victim.start_kill().unwrap(); // SIGKILL
        victim.wait().await.unwrap();
        kills += 1;
        victim = spawn(&app.db.url);
    }
    writer.await.unwrap();
    let got = receiver
        .wait_until("/crash", patience, "all 2,000 events", |r| {
            r.iter()
                .map(|x| x.id.as_str())
                .collect::<std::collections::HashSet<_>>()
                .len()
                >= EVENTS
        })
        .await;
    let mut per_id: HashMap<&str, usize> = HashMap::new();
    for r in &got {
        *per_id.entry(r.id.as_str()).or_default() += 1;
        assert!(verifies(&secret, r));
    }
    let duplicates = got.len() - per_id.len();
    eprintln!(
        "{} deliveries of {} events, {duplicates} duplicates after {kills} kills",
        got.len(),
        per_id.len()
    );
    assert_eq!(per_id.len(), EVENTS);
    // In flight at a kill: one subscription's batch of sent-but-unrecorded attempts.
    let bound = kills * FLUSH_EVERY;
    assert!(
        duplicates <= bound,
        "{duplicates} duplicates after {kills} kills (bound {bound})"
    );
    // First deliveries came in sequence order.
    let mut seen = std::collections::HashSet::new();
    let firsts: Vec<i64> = got
        .iter()
        .filter(|r| seen.insert(r.id.clone()))
        .map(|r| r.sequence())
        .collect();
    assert!(
        firsts.windows(2).all(|p| p[0] < p[1]),
        "first deliveries out of order"
    );
    let _ = survivor.start_kill();
    let _ = survivor.wait().await;
    let _ = victim.start_kill();
}
