//! `POST /api/actions` as a whole: unknown names, envelope and payload validation, and that a
//! failed action leaves nothing behind.

use fieldwork_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn unknown_domains_and_actions_are_400_unknown_action() {
    let app = TestApp::spawn().await;
    let t = app.signup("unknown@example.com").await;
    for (domain, action) in [
        ("customer", "explode"),
        ("spaceship", "launch"),
        ("ticket", ""),
        ("", "archive"),
    ] {
        let r = app.action(&t, domain, action, json!({})).await;
        r.assert_error(400, "UNKNOWN_ACTION");
    }
    let r = app.action(&t, "customer", "explode", json!({})).await;
    assert_eq!(
        r.body["error"]["message"],
        "Unknown action customer.explode."
    );
    let r = app.action(&t, "<b>", "x", json!({})).await;
    assert!(
        !r.body.to_string().contains("<b>"),
        "names are not echoed blindly"
    );
    assert_eq!(app.count("audit_log").await, 0);
}

#[tokio::test]
async fn action_requests_and_payloads_are_validated_like_entity_bodies() {
    let app = TestApp::spawn().await;
    let t = app.signup("payloads@example.com").await;
    let c = app.create_customer(&t, json!({"first_name": "V"})).await;
    let ticket = app
        .create(&t, "tickets", json!({"customer_id": c["id"], "title": "T"}))
        .await;
    let cases = [
        (json!({"domain": "customer", "action": "archive"}), "data"),
        (
            json!({"domain": "customer", "action": "archive", "data": {}, "extra": 1}),
            "extra",
        ),
        (
            json!({"domain": "customer", "action": "archive", "data": {"customer_id": "nope"}}),
            "customer_id",
        ),
        (
            json!({"domain": "customer", "action": "archive", "data": {"customer_id": c["id"], "colour": "red"}}),
            "colour",
        ),
        (
            json!({"domain": "ticket", "action": "schedule", "data": {"ticket_id": ticket["id"]}}),
            "scheduled_at",
        ),
        (
            json!({"domain": "ticket", "action": "schedule", "data": {"ticket_id": ticket["id"], "scheduled_at": "2026-05-04T09:00:00Z", "duration_minutes": -5}}),
            "duration_minutes",
        ),
        (
            json!({"domain": "ticket", "action": "close_out", "data": {"ticket_id": ticket["id"], "technician_notes": "  "}}),
            "technician_notes",
        ),
        (
            json!({"domain": "message", "action": "schedule_custom", "data": {"customer_id": c["id"], "subject": "", "body": "b", "scheduled_for": "2026-05-04T09:00:00Z"}}),
            "subject",
        ),
        (
            json!({"domain": "invoice", "action": "mark_paid", "data": {"invoice_id": ticket["id"], "paid_at": "1900-01-01T00:00:00Z"}}),
            "paid_at",
        ),
    ];
    let audits = app.count("audit_log").await;
    for (body, field) in cases {
        let r = app.post("/api/actions", &t, body.clone()).await;
        r.assert_error(422, "VALIDATION_ERROR");
        assert!(
            r.body["error"]["details"]["fields"].get(field).is_some(),
            "{body} should name {field}: {}",
            r.body
        );
    }
    assert_eq!(app.count("audit_log").await, audits, "nothing was written");
    let missing = app
        .action(
            &t,
            "ticket",
            "start",
            json!({"ticket_id": uuid::Uuid::now_v7()}),
        )
        .await;
    missing.assert_error(404, "NOT_FOUND");
}
