//! The SSRF guard: without WEBHOOK_ALLOW_PRIVATE, loopback, private, link-local (the cloud
//! metadata address), IPv6 loopback and names resolving to loopback are refused on create
//! (422 on `url`, nothing written); plain http needs WEBHOOK_ALLOW_HTTP; a target that turns
//! private after create is a recorded, refused delivery — never a request.

use serde_json::json;

use crate::harness::{PATIENCE, World};

#[tokio::test]
async fn private_loopback_and_link_local_targets_are_refused_on_create_without_allow_private() {
    let w = World::start_with(|api, _| api.allow_private = false).await;
    let a = w.tenant("a@example.com").await;
    for url in [
        "http://127.0.0.1/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://localhost:8080/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://100.64.1.1/hook",
        "http://0.0.0.0/hook",
    ] {
        let r = w
            .app
            .post("/api/data/webhook_subscriptions", &a, json!({"url": url}))
            .await;
        r.assert_error(422, "VALIDATION_ERROR");
        assert!(
            r.body["error"]["details"]["fields"]["url"].is_string(),
            "{url}: {}",
            r.body
        );
    }
    assert_eq!(
        w.app.count("webhook_subscriptions").await,
        0,
        "nothing half-written"
    );
}

#[tokio::test]
async fn plain_http_needs_allow_http_and_event_types_must_exist() {
    let w = World::start_with(|api, _| api.allow_http = false).await;
    let a = w.tenant("a@example.com").await;
    let r = w
        .app
        .post(
            "/api/data/webhook_subscriptions",
            &a,
            json!({"url": w.receiver.url("/x")}),
        )
        .await;
    r.assert_error(422, "VALIDATION_ERROR");
    assert!(
        r.body["error"]["details"]["fields"]["url"]
            .as_str()
            .unwrap()
            .contains("https")
    );
    let r = w
        .app
        .post(
            "/api/data/webhook_subscriptions",
            &a,
            json!({"url": "https://example.com/x", "event_types": ["invoice.payed"]}),
        )
        .await;
    r.assert_error(422, "VALIDATION_ERROR");
    let r = w
        .app
        .post(
            "/api/data/webhook_subscriptions",
            &a,
            json!({"url": "https://example.com/x", "secret": "mine"}),
        )
        .await;
    r.assert_error(422, "VALIDATION_ERROR");
}

#[tokio::test]
async fn a_target_that_resolves_privately_at_delivery_time_is_a_recorded_refused_delivery() {
    // The API accepted the target (as when DNS still pointed elsewhere); the worker's guard
    // does not allow private addresses.
    let w = World::start_with(|_, worker| {
        worker.allow_private = false;
        worker.retry_schedule = vec![
            std::time::Duration::ZERO,
            std::time::Duration::from_millis(200),
        ];
    })
    .await;
    let a = w.tenant("a@example.com").await;
    let sub = w
        .subscribe(
            &a,
            &format!("http://localhost:{}/private", w.receiver.addr.port()),
            &["customer.created"],
        )
        .await;
    let sid = sub["id"].as_str().unwrap();
    w.app
        .create_customer(&a, json!({"first_name": "Ada"}))
        .await;
    let records = w
        .wait_deliveries(&a, sid, "two refused attempts", |d| d.len() >= 2)
        .await;
    assert_eq!(records[0]["status"], "refused", "{records:?}");
    assert_eq!(records[1]["status"], "exhausted", "{records:?}");
    assert!(
        records[0]["error"].as_str().unwrap().contains("non-public"),
        "{records:?}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        w.receiver.at("/private").is_empty(),
        "no request reached the private target"
    );
    let _ = PATIENCE;
}
