//! When receivers fail: a receiver that is down gets everything once it is back (retries on
//! the shortened schedule, recorded); an endpoint that always fails is disabled (audited,
//! visible) and, re-enabled, replays what happened while it was off.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{PATIENCE, World};
use crate::receiver::verifies;

#[tokio::test]
async fn a_receiver_that_is_down_gets_every_event_in_order_once_it_is_back() {
    let w = World::start().await;
    let a = w.tenant("a@example.com").await;
    let sub = w
        .subscribe(&a, &w.receiver.url("/down"), &["customer.created"])
        .await;
    let sid = sub["id"].as_str().unwrap();
    w.receiver.set_status(503);
    let mut names = Vec::new();
    for i in 0..5 {
        names.push(format!("C{i}"));
        w.app
            .create_customer(&a, json!({"first_name": format!("C{i}")}))
            .await;
    }
    // The first event is retried on the schedule while the receiver answers 503.
    let records = w
        .wait_deliveries(&a, sid, "three failed attempts", |d| {
            d.iter().filter(|x| x["status"] == "failed").count() >= 3
        })
        .await;
    let failed: Vec<_> = records.iter().filter(|x| x["status"] == "failed").collect();
    assert!(
        failed
            .iter()
            .all(|x| x["response_status"] == 503 && x["event_id"] == failed[0]["event_id"]),
        "head of line: the first event is retried, later ones wait: {failed:?}"
    );
    let attempts: Vec<i64> = failed
        .iter()
        .map(|x| x["attempt"].as_i64().unwrap())
        .collect();
    assert_eq!(attempts[..3], [1, 2, 3]);
    assert!(failed[0]["latency_ms"].is_i64());

    w.receiver.set_status(204);
    let got = w
        .receiver
        .wait_until("/down", PATIENCE, "all five delivered", |r| {
            r.iter()
                .filter(|x| x.event_type() == "customer.created")
                .map(|x| &x.id)
                .collect::<HashSet<_>>()
                .len()
                == 5
        })
        .await;
    let secret = sub["secret"].as_str().unwrap();
    assert!(got.iter().all(|r| verifies(secret, r)));
    let first_names: Vec<String> = {
        let mut seen = HashSet::new();
        got.iter()
            .filter(|r| seen.insert(r.id.clone()))
            .map(|r| {
                r.json["data"]["changes"]["first_name"]["new"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(first_names, names, "delivered in order");
    let s = w.subscription(&a, sid).await;
    assert!(s["failing_since"].is_null() && s["active"] == true, "{s}");
    // The worker's metrics (one exporter per test process, shared by its tests): outcomes of
    // both kinds, the attempts' latency and the commit-to-first-attempt lag.
    let metrics = fieldwork_core::metrics_export::render();
    for series in [
        "fieldwork_webhook_deliveries_total{outcome=\"delivered\"}",
        "fieldwork_webhook_deliveries_total{outcome=\"failed\"}",
        "fieldwork_webhook_delivery_seconds_bucket{",
        "fieldwork_webhook_fanout_lag_seconds_bucket{",
    ] {
        assert!(
            metrics.contains(series),
            "{series} missing from:\n{metrics}"
        );
    }
}

#[tokio::test]
async fn an_endpoint_that_always_fails_is_disabled_and_re_enabled_it_replays_what_it_missed() {
    let w = World::start_with(|_, worker| {
        worker.disable_after = Duration::from_secs(2);
        worker.retry_schedule = vec![Duration::ZERO; 1]
            .into_iter()
            .chain(std::iter::repeat_n(Duration::from_millis(700), 30))
            .collect();
    })
    .await;
    let a = w.tenant("a@example.com").await;
    // Nothing listens on this port: every connection is refused.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let sub = w
        .subscribe(&a, &format!("http://{closed}/gone"), &["customer.created"])
        .await;
    let sid = sub["id"].as_str().unwrap();
    w.app
        .create_customer(&a, json!({"first_name": "Before"}))
        .await;

    let start = Instant::now();
    let s = loop {
        let s = w.subscription(&a, sid).await;
        if s["disabled_at"].is_string() {
            break s;
        }
        assert!(start.elapsed() < PATIENCE, "never disabled: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(s["active"], false);
    assert!(
        s["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("WEBHOOK_DISABLE_AFTER"),
        "{s}"
    );
    let audit = w
        .app
        .get(&format!("/api/data/audit_log?entity_id={sid}"), &a)
        .await;
    let audit = audit.data()["items"].as_array().unwrap().clone();
    assert!(
        audit
            .iter()
            .any(|r| r["action"] == "disable" && r["actor_type"] == "system"),
        "{audit:?}"
    );
    let records = w.deliveries(&a, sid).await;
    assert!(
        records.len() >= 2
            && records
                .iter()
                .all(|r| r["status"] == "failed" && r["error"].is_string())
    );

    // Events while disabled are kept; re-enabling (with a working URL) replays them in order.
    for name in ["During1", "During2"] {
        w.app.create_customer(&a, json!({"first_name": name})).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = w
        .app
        .patch(
            &format!("/api/data/webhook_subscriptions/{sid}"),
            &a,
            json!({"url": w.receiver.url("/back"), "active": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.data()["disabled_at"].is_null() && r.data()["failing_since"].is_null());
    let got = w
        .receiver
        .wait_until("/back", PATIENCE, "the replay", |r| r.len() >= 3)
        .await;
    let names: Vec<&str> = got
        .iter()
        .map(|r| {
            r.json["data"]["changes"]["first_name"]["new"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(names[..3], ["Before", "During1", "During2"]);
}
