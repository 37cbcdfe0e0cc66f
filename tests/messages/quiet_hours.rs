//! Quiet hours in the customer's zone, across a DST change: a message due at 22:00 CET the
//! night clocks go forward waits until 08:00 CEST — 06:00 UTC, not 07:00 — as the preview
//! shows and the sender uses (the same function decides both).

use serde_json::json;

use crate::harness::Harness;

#[tokio::test]
async fn a_message_due_in_quiet_hours_waits_until_8_local_across_the_spring_dst_change() {
    let h = Harness::start_with(|s| {
        s.quiet_hours = Some(fieldwork_core::messages::settings::default_quiet_hours());
    })
    .await;
    let berlin = h
        .customer(json!({"first_name": "Berta", "email": "berta@example.com", "timezone": "Europe/Berlin"}))
        .await;
    let m = h
        .create("scheduled_messages", json!({"customer_id": berlin["id"], "message_type": "custom", "subject": "S", "body": "B", "scheduled_for": "2026-03-28T21:00:00Z"}))
        .await;
    let preview = h
        .get(&format!(
            "/api/data/scheduled_messages/{}/preview",
            m["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(preview["send_at"], "2026-03-29T06:00:00Z");
    assert_eq!(preview["send_at_local"], "2026-03-29T08:00:00+02:00");
    assert_eq!(preview["timezone"], "Europe/Berlin");

    // The autumn change, for a customer reading in the business's zone.
    h.app
        .patch(
            "/api/auth/me",
            &h.token,
            json!({"timezone": "America/New_York"}),
        )
        .await
        .data();
    let local = h
        .customer(json!({"first_name": "Ned", "email": "ned@example.com"}))
        .await;
    let m = h
        .create("scheduled_messages", json!({"customer_id": local["id"], "message_type": "custom", "subject": "S", "body": "B", "scheduled_for": "2026-11-01T03:00:00Z"}))
        .await;
    let preview = h
        .get(&format!(
            "/api/data/scheduled_messages/{}/preview",
            m["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(preview["send_at"], "2026-11-01T13:00:00Z");
    assert_eq!(preview["send_at_local"], "2026-11-01T08:00:00-05:00");

    // Outside quiet hours nothing moves; send_now ignores them.
    let noon = h
        .create("scheduled_messages", json!({"customer_id": berlin["id"], "message_type": "custom", "subject": "S", "body": "B", "scheduled_for": "2030-06-01T10:00:00Z"}))
        .await;
    let preview = h
        .get(&format!(
            "/api/data/scheduled_messages/{}/preview",
            noon["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(preview["send_at"], "2030-06-01T10:00:00Z");
}
