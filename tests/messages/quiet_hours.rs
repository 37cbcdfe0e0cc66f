//! Quiet hours in the customer's zone, across a DST change: a message due at 22:00 CET the
//! night clocks go forward waits until 08:00 CEST — 06:00 UTC, not 07:00 — as the preview
//! shows and the sender uses (the same function decides both); a booking confirmation is not
//! held by them, its reminder is.

use chrono::Utc;
use serde_json::{Value, json};

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

fn by_type<'a>(messages: &'a [Value], t: &str) -> Vec<&'a Value> {
    messages.iter().filter(|m| m["message_type"] == t).collect()
}

#[tokio::test]
async fn a_booking_confirmation_goes_out_at_once_even_in_quiet_hours_while_its_reminder_waits() {
    // Quiet from an hour ago until two hours from now (the customer reads in UTC).
    let now = Utc::now();
    let window = format!(
        "{}-{}",
        (now - chrono::Duration::hours(1)).format("%H:%M"),
        (now + chrono::Duration::hours(2)).format("%H:%M")
    );
    let h = Harness::start_with(|s| {
        s.quiet_hours = fieldwork_core::messages::settings::parse_quiet_hours(&window).unwrap();
    })
    .await;
    let c = h
        .customer(json!({"first_name": "Nia", "email": "nia@example.com"}))
        .await;
    let cid = c["id"].as_str().unwrap();
    // A visit 25 hours ahead: its reminder falls due an hour from now, inside quiet hours.
    let visit = (now + chrono::Duration::hours(25)).to_rfc3339();
    h.create(
        "tickets",
        json!({"customer_id": cid, "title": "Boiler", "scheduled_at": visit}),
    )
    .await;
    let all = h.messages_of(cid).await;
    let confirmation = by_type(&all, "appointment_confirmation")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    h.wait_status(&confirmation, "sent").await;
    let reminder = by_type(&all, "appointment_reminder")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let preview = h
        .get(&format!("/api/data/scheduled_messages/{reminder}/preview"))
        .await;
    let send_at: chrono::DateTime<Utc> = preview["send_at"].as_str().unwrap().parse().unwrap();
    assert!(
        send_at > now + chrono::Duration::minutes(118),
        "the reminder waits for the end of quiet hours: {send_at}"
    );
    assert_eq!(h.message(&reminder).await["status"], "pending");
}
