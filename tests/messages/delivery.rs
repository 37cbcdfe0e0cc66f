//! Real mail through a real SMTP server: recipients, headers (stable Message-ID, RFC 8058
//! unsubscribe), both parts, the customer's local time; exactly one send job per pending
//! message whatever happens to it; the preview is what is sent; the quick start's outbox.

use std::time::Duration;

use fieldwork_worker::settings::MailSettings;
use serde_json::json;

use crate::harness::{Harness, now_plus};

#[tokio::test]
async fn a_scheduled_visit_is_confirmed_by_email_with_both_parts_and_the_local_time() {
    let h = Harness::start().await;
    let c = h
        .customer(json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "timezone": "America/New_York"}))
        .await;
    let ticket = h
        .create(
            "tickets",
            json!({"customer_id": c["id"], "title": "Boiler service"}),
        )
        .await;
    h.act(
        "ticket",
        "schedule",
        json!({"ticket_id": ticket["id"], "scheduled_at": "2030-07-01T14:00:00Z"}),
    )
    .await;
    let messages = h.messages_of(c["id"].as_str().unwrap()).await;
    let types: Vec<&str> = messages
        .iter()
        .map(|m| m["message_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["appointment_confirmation", "appointment_reminder"]);
    assert_eq!(
        messages[1]["scheduled_for"], "2030-06-30T14:00:00Z",
        "24 h before"
    );
    assert_eq!(messages[1]["status"], "pending");
    let id = messages[0]["id"].as_str().unwrap();
    let sent = h.wait_status(id, "sent").await;
    assert_eq!(sent["attempts"], 1);
    assert!(sent["sent_at"].is_string());

    let mail = h.mail_of(id).await;
    assert_eq!(mail.rcpt_to, ["ada@example.com"]);
    assert_eq!(mail.mail_from, "noreply@localhost");
    assert_eq!(mail.header("From").unwrap(), "Biz <noreply@localhost>");
    assert_eq!(
        mail.header("To").unwrap(),
        "\"Ada Lovelace\" <ada@example.com>"
    );
    assert_eq!(
        mail.header("Subject").unwrap(),
        "Your visit with Biz is booked"
    );
    assert_eq!(mail.message_id().unwrap(), format!("<{id}@localhost>"));
    let unsubscribe = mail.header("List-Unsubscribe").unwrap();
    assert!(unsubscribe.starts_with("<http://localhost/u/") && unsubscribe.ends_with('>'));
    assert_eq!(
        mail.header("List-Unsubscribe-Post").unwrap(),
        "List-Unsubscribe=One-Click"
    );
    assert!(
        mail.header("Content-Type")
            .unwrap()
            .starts_with("multipart/alternative")
    );
    let shown = "Monday, 1 July 2030 at 10:00 EDT (America/New_York)";
    let text = mail.part("text/plain").unwrap();
    let html = mail.part("text/html").unwrap();
    assert!(text.contains(shown), "{text}");
    assert!(html.contains(shown), "{html}");
    assert!(text.contains("Boiler service") && html.contains("Boiler service"));

    // The sender's steps are audited as the system, in the job's name.
    let audit = h.get(&format!("/api/data/audit_log?entity_id={id}")).await;
    let steps: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["actor_type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("schedule", "user"),
            ("claim", "system"),
            ("send", "system")
        ]
    );
}

#[tokio::test]
async fn every_pending_message_has_exactly_one_send_job_through_every_change() {
    let mut h = Harness::start().await;
    h.stop_worker().await;
    let c = h
        .customer(json!({"first_name": "Jo", "email": "jo@example.com"}))
        .await;
    let cid = c["id"].as_str().unwrap();
    let m = h.custom(cid, "2030-01-01T10:00:00Z").await;
    let id = m["id"].as_str().unwrap();
    let jobs = h.live_jobs(id).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].0, "scheduled");
    assert_eq!(jobs[0].1.to_rfc3339(), "2030-01-01T10:00:00+00:00");

    let path = format!("/api/data/scheduled_messages/{id}");
    h.app
        .patch(
            &path,
            &h.token,
            json!({"scheduled_for": "2030-02-01T10:00:00Z"}),
        )
        .await
        .data();
    let jobs = h.live_jobs(id).await;
    assert_eq!(jobs.len(), 1, "moved, not doubled");
    assert_eq!(jobs[0].1.to_rfc3339(), "2030-02-01T10:00:00+00:00");

    h.act("message", "send_now", json!({"message_id": id}))
        .await;
    let jobs = h.live_jobs(id).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].0, "available", "due now");

    h.act("message", "cancel", json!({"message_id": id})).await;
    assert!(
        h.live_jobs(id).await.is_empty(),
        "cancelled with its message"
    );

    let other = h.custom(cid, "2030-01-01T10:00:00Z").await;
    let other_id = other["id"].as_str().unwrap();
    h.app
        .delete(
            &format!("/api/data/scheduled_messages/{other_id}"),
            &h.token,
        )
        .await
        .data();
    assert!(
        h.live_jobs(other_id).await.is_empty(),
        "deleted with its message"
    );
}

#[tokio::test]
async fn the_preview_is_exactly_what_the_customer_receives() {
    let h = Harness::start().await;
    let c = h
        .customer(
            json!({"first_name": "Kim", "email": "kim@example.com", "timezone": "Europe/Berlin"}),
        )
        .await;
    let m = h
        .act(
            "message",
            "schedule_custom",
            json!({"customer_id": c["id"], "subject": "Winter <check>", "body": "Dear Kim,\nwe'll come by.\n\n& bring tools", "scheduled_for": now_plus(3)}),
        )
        .await;
    let id = m["id"].as_str().unwrap();
    let preview = h
        .get(&format!("/api/data/scheduled_messages/{id}/preview"))
        .await;
    assert_eq!(preview["to"], "kim@example.com");
    assert_eq!(preview["subject"], "Winter <check>");
    assert_eq!(preview["timezone"], "Europe/Berlin");
    assert!(
        preview["send_at_local"]
            .as_str()
            .unwrap()
            .ends_with("+01:00")
            || preview["send_at_local"]
                .as_str()
                .unwrap()
                .ends_with("+02:00")
    );
    assert!(
        preview["html"]
            .as_str()
            .unwrap()
            .contains("&amp; bring tools")
    );

    h.wait_status(id, "sent").await;
    let mail = h.mail_of(id).await;
    let normalize = |s: &str| s.replace("\r\n", "\n").trim_end().to_owned();
    assert_eq!(
        normalize(&mail.part("text/plain").unwrap()),
        normalize(preview["text"].as_str().unwrap())
    );
    assert_eq!(
        normalize(&mail.part("text/html").unwrap()),
        normalize(preview["html"].as_str().unwrap())
    );

    // Another business cannot preview it.
    let other = h.app.signup("other@example.com").await;
    h.app
        .get(
            &format!("/api/data/scheduled_messages/{id}/preview"),
            &other,
        )
        .await
        .assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn without_smtp_url_each_email_is_written_to_the_outbox_as_an_eml_file() {
    let mut h = Harness::start().await;
    h.stop_worker().await;
    let outbox = std::env::temp_dir().join(format!("fw-outbox-{}", uuid::Uuid::now_v7()));
    h.start_worker(MailSettings {
        smtp_url: None,
        outbox_dir: outbox.clone(),
        ..MailSettings::default()
    });
    let c = h
        .customer(json!({"first_name": "Quinn", "email": "quinn@example.com"}))
        .await;
    let ticket = h
        .create(
            "tickets",
            json!({"customer_id": c["id"], "title": "Leak", "scheduled_at": "2030-03-03T09:00:00Z"}),
        )
        .await;
    let confirmation = &h.messages_of(c["id"].as_str().unwrap()).await[0];
    assert_eq!(confirmation["ticket_id"], ticket["id"]);
    let id = confirmation["id"].as_str().unwrap();
    h.wait_status(id, "sent").await;
    let file = outbox.join(format!("{id}.eml"));
    let eml = std::fs::read_to_string(&file).unwrap();
    assert!(
        eml.contains(&format!("Message-ID: <{id}@localhost>")),
        "{eml}"
    );
    assert!(eml.contains("To: quinn@example.com") || eml.contains("<quinn@example.com>"));
    assert!(eml.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    assert_eq!(h.sink.count(), 0, "nothing went over SMTP");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = std::fs::remove_dir_all(outbox);
}
