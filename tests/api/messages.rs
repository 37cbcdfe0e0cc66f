//! Scheduled messages end to end: type rules (appointment messages need a ticket, custom ones
//! a subject and body), editing and deleting only while pending, custom scheduling action.

use fieldwork_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn messages_follow_their_type_rules_and_change_only_while_pending() {
    let app = TestApp::spawn().await;
    let t = app.signup("messages@example.com").await;
    let c = app.create_customer(&t, json!({"first_name": "Mo"})).await;
    let cid = c["id"].as_str().unwrap();
    let ticket = app
        .create(&t, "tickets", json!({"customer_id": cid, "title": "Visit"}))
        .await;

    let reminder = app
        .create(
            &t,
            "scheduled_messages",
            json!({"customer_id": cid, "message_type": "appointment_reminder", "ticket_id": ticket["id"], "scheduled_for": "2026-03-01T08:00:00Z"}),
        )
        .await;
    assert_eq!(reminder["status"], "pending");
    assert_eq!(reminder["channel"], "email");
    assert_eq!(reminder["attempts"], 0);
    for body in [
        json!({"customer_id": cid, "message_type": "appointment_reminder", "scheduled_for": "2026-03-01T08:00:00Z"}),
        json!({"customer_id": cid, "message_type": "payment_reminder", "scheduled_for": "2026-03-01T08:00:00Z"}),
        json!({"customer_id": cid, "message_type": "custom", "scheduled_for": "2026-03-01T08:00:00Z"}),
        json!({"customer_id": cid, "message_type": "service_reminder", "subject": "Hi", "scheduled_for": "2026-03-01T08:00:00Z"}),
        json!({"customer_id": cid, "message_type": "carrier_pigeon", "scheduled_for": "2026-03-01T08:00:00Z"}),
        json!({"customer_id": cid, "message_type": "service_reminder", "channel": "sms", "scheduled_for": "2026-03-01T08:00:00Z"}),
        json!({"customer_id": cid, "message_type": "service_reminder", "scheduled_for": "2026-03-01T08:00:00Z", "status": "sent"}),
    ] {
        app.post("/api/data/scheduled_messages", &t, body.clone())
            .await
            .assert_error(422, "VALIDATION_ERROR");
    }

    let custom = app
        .act(
            &t,
            "message",
            "schedule_custom",
            json!({"customer_id": cid, "subject": "Spring check", "body": "Time for a check-up.", "scheduled_for": "2026-04-01T08:00:00Z"}),
        )
        .await;
    assert_eq!(custom["message_type"], "custom");
    let id = custom["id"].as_str().unwrap();
    let path = format!("/api/data/scheduled_messages/{id}");
    let moved = app
        .patch(&path, &t, json!({"scheduled_for": "2026-04-02T08:00:00Z"}))
        .await;
    assert_eq!(moved.data()["subject"], "Spring check");
    assert_eq!(
        app.audit_rows(id).await.last().unwrap()["changes"],
        json!({"scheduled_for": {"old": "2026-04-01T08:00:00Z", "new": "2026-04-02T08:00:00Z"}})
    );
    app.patch(
        &format!(
            "/api/data/scheduled_messages/{}",
            reminder["id"].as_str().unwrap()
        ),
        &t,
        json!({"body": "Not for templates"}),
    )
    .await
    .assert_error(422, "VALIDATION_ERROR");

    // send_now makes a pending message due now, quiet hours or not (no worker runs here).
    let now = app
        .act(&t, "message", "send_now", json!({"message_id": id}))
        .await;
    assert_eq!(now["status"], "pending");
    assert_eq!(now["ignore_quiet_hours"], true);
    assert_ne!(now["scheduled_for"], "2026-04-02T08:00:00Z");

    app.act(&t, "message", "cancel", json!({"message_id": id}))
        .await;
    app.patch(&path, &t, json!({"subject": "Too late"}))
        .await
        .assert_error(409, "INVALID_STATE");
    app.delete(&path, &t)
        .await
        .assert_error(409, "INVALID_STATE");
    let pending = reminder["id"].as_str().unwrap();
    app.delete(&format!("/api/data/scheduled_messages/{pending}"), &t)
        .await
        .data();
    let left = app
        .get("/api/data/scheduled_messages?status=cancelled", &t)
        .await;
    assert_eq!(left.data()["items"].as_array().unwrap().len(), 1);
}
