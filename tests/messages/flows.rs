//! The flows: rescheduling, cancelling and closing out tickets; sending, paying and voiding
//! invoices; archiving, opting out and deleting customers; send now; custom messages.

use chrono::{Datelike, Days, Utc};
use serde_json::{Value, json};

use crate::harness::{Harness, now_plus};

fn by_type<'a>(messages: &'a [Value], t: &str) -> Vec<&'a Value> {
    messages.iter().filter(|m| m["message_type"] == t).collect()
}

#[tokio::test]
async fn a_rescheduled_visit_cancels_its_messages_and_says_where_it_moved() {
    let h = Harness::start().await;
    let c = h
        .customer(
            json!({"first_name": "Ada", "email": "ada@example.com", "timezone": "Europe/Berlin"}),
        )
        .await;
    let cid = c["id"].as_str().unwrap();
    let ticket = h
        .create("tickets", json!({"customer_id": cid, "title": "Gutters"}))
        .await;
    let tid = ticket["id"].as_str().unwrap();
    h.act(
        "ticket",
        "schedule",
        json!({"ticket_id": tid, "scheduled_at": "2030-05-10T08:00:00Z"}),
    )
    .await;
    h.act(
        "ticket",
        "reschedule",
        json!({"ticket_id": tid, "scheduled_at": "2030-05-12T12:30:00Z"}),
    )
    .await;
    let all = h.messages_of(cid).await;
    let reminders = by_type(&all, "appointment_reminder");
    assert_eq!(reminders.len(), 2);
    assert_eq!(
        reminders[0]["status"], "cancelled",
        "the old visit's reminder"
    );
    assert_eq!(reminders[1]["status"], "pending");
    assert_eq!(reminders[1]["scheduled_for"], "2030-05-11T12:30:00Z");
    assert_eq!(reminders[1]["appointment_at"], "2030-05-12T12:30:00Z");
    let confirmations = by_type(&all, "appointment_confirmation");
    assert_eq!(confirmations.len(), 2);
    let moved = confirmations[1];
    assert_eq!(moved["previous_appointment_at"], "2030-05-10T08:00:00Z");
    // The first confirmation was either sent already or cancelled with the old time (one the
    // sender had claimed when the visit moved finishes its send first: wait for it to settle).
    let first = confirmations[0]["id"].as_str().unwrap();
    let settled = fieldwork_tests::wait_for(
        std::time::Duration::from_secs(60),
        "the first confirmation to settle",
        || async {
            let status = h.message(first).await["status"].as_str()?.to_owned();
            (status != "pending" && status != "sending").then_some(status)
        },
    )
    .await;
    assert!(["sent", "cancelled", "skipped"].contains(&settled.as_str()));
    h.wait_status(moved["id"].as_str().unwrap(), "sent").await;
    let mail = h.mail_of(moved["id"].as_str().unwrap()).await;
    assert_eq!(
        mail.header("Subject").unwrap(),
        "Your visit with Biz has moved"
    );
    let text = mail.part("text/plain").unwrap();
    assert!(
        text.contains("has moved from Friday, 10 May 2030 at 10:00 CEST (Europe/Berlin) to:"),
        "{text}"
    );
    assert!(text.contains("Sunday, 12 May 2030 at 14:30 CEST (Europe/Berlin)"));
}

#[tokio::test]
async fn a_cancelled_visit_cancels_its_messages_and_tells_the_customer() {
    let h = Harness::start().await;
    let c = h
        .customer(json!({"first_name": "Bo", "email": "bo@example.com"}))
        .await;
    let cid = c["id"].as_str().unwrap();
    let ticket = h
        .create(
            "tickets",
            json!({"customer_id": cid, "title": "Drain", "scheduled_at": "2030-06-01T09:00:00Z"}),
        )
        .await;
    h.act(
        "ticket",
        "cancel",
        json!({"ticket_id": ticket["id"], "reason": "customer away"}),
    )
    .await;
    let all = h.messages_of(cid).await;
    assert_eq!(
        by_type(&all, "appointment_reminder")[0]["status"],
        "cancelled"
    );
    let notice = by_type(&all, "appointment_cancellation")[0];
    h.wait_status(notice["id"].as_str().unwrap(), "sent").await;
    let mail = h.mail_of(notice["id"].as_str().unwrap()).await;
    assert_eq!(
        mail.header("Subject").unwrap(),
        "Your visit with Biz is cancelled"
    );
    assert!(
        mail.part("text/plain")
            .unwrap()
            .contains("Saturday, 1 June 2030 at 09:00 UTC")
    );

    // A draft never booked gets no notice.
    let draft = h
        .create("tickets", json!({"customer_id": cid, "title": "Maybe"}))
        .await;
    h.act("ticket", "cancel", json!({"ticket_id": draft["id"]}))
        .await;
    assert_eq!(
        by_type(&h.messages_of(cid).await, "appointment_cancellation").len(),
        1
    );
}

#[tokio::test]
async fn closing_out_schedules_the_service_reminder_at_nine_local_after_the_interval() {
    let h = Harness::start().await;
    // Own interval and zone.
    let c = h
        .customer(json!({"first_name": "Aki", "email": "aki@example.com", "timezone": "Asia/Tokyo", "attributes": {"service_interval_days": 30}}))
        .await;
    let cid = c["id"].as_str().unwrap();
    let t1 = h
        .create(
            "tickets",
            json!({"customer_id": cid, "title": "Filter", "scheduled_at": now_plus(-3600)}),
        )
        .await;
    h.act(
        "ticket",
        "close_out",
        json!({"ticket_id": t1["id"], "technician_notes": "Changed filter."}),
    )
    .await;
    let tokyo: chrono_tz::Tz = "Asia/Tokyo".parse().unwrap();
    let due = Utc::now().with_timezone(&tokyo).date_naive() + Days::new(30);
    let expected = format!("{}T00:00:00Z", due.format("%Y-%m-%d")); // 09:00 JST
    let reminders = |all: Vec<Value>| -> Vec<Value> {
        all.into_iter()
            .filter(|m| m["message_type"] == "service_reminder")
            .collect()
    };
    let first = reminders(h.messages_of(cid).await);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["scheduled_for"], expected.as_str());
    assert_eq!(first[0]["ticket_id"], t1["id"]);

    // The next visit replaces it: a customer has one pending service reminder.
    let t2 = h
        .create(
            "tickets",
            json!({"customer_id": cid, "title": "Filter again", "scheduled_at": now_plus(-60)}),
        )
        .await;
    h.act(
        "ticket",
        "close_out",
        json!({"ticket_id": t2["id"], "technician_notes": "Done."}),
    )
    .await;
    let both = reminders(h.messages_of(cid).await);
    assert_eq!(both[0]["status"], "cancelled");
    assert_eq!(both[1]["status"], "pending");
    assert_eq!(both[1]["ticket_id"], t2["id"]);

    // Without a zone or interval of its own: the business's zone, SERVICE_REMINDER_DAYS.
    h.app
        .patch(
            "/api/auth/me",
            &h.token,
            json!({"timezone": "America/Los_Angeles"}),
        )
        .await
        .data();
    let d = h
        .customer(json!({"first_name": "Dee", "email": "dee@example.com"}))
        .await;
    let did = d["id"].as_str().unwrap();
    let t3 = h
        .create(
            "tickets",
            json!({"customer_id": did, "title": "Check", "scheduled_at": now_plus(-60)}),
        )
        .await;
    h.act(
        "ticket",
        "close_out",
        json!({"ticket_id": t3["id"], "technician_notes": "Ok."}),
    )
    .await;
    let la: chrono_tz::Tz = "America/Los_Angeles".parse().unwrap();
    let due = Utc::now().with_timezone(&la).date_naive() + Days::new(180);
    let at: chrono::DateTime<Utc> = reminders(h.messages_of(did).await)[0]["scheduled_for"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let local = at.with_timezone(&la);
    assert_eq!(
        (local.date_naive(), local.format("%H:%M").to_string()),
        (due, "09:00".into())
    );
    assert_eq!(local.year(), due.year());
}

#[tokio::test]
async fn a_sent_invoice_is_emailed_and_reminded_until_paid_or_void() {
    let h = Harness::start().await;
    let c = h
        .customer(json!({"first_name": "Ivy", "email": "ivy@example.com"}))
        .await;
    let cid = c["id"].as_str().unwrap();
    let due = (Utc::now() + chrono::Duration::days(14))
        .format("%Y-%m-%dT12:00:00Z")
        .to_string();
    let invoice = h
        .create(
            "invoices",
            json!({"customer_id": cid, "due_at": due, "items": [
                {"description": "Call-out", "quantity": "1", "unit_price": "80.00"},
                {"description": "Pipe <15mm>", "quantity": "2.5", "unit_price": "4.10"}]}),
        )
        .await;
    h.act("invoice", "send", json!({"invoice_id": invoice["id"]}))
        .await;
    let all = h.messages_of(cid).await;
    let email = by_type(&all, "invoice")[0];
    let reminder = by_type(&all, "payment_reminder")[0];
    let expected = (Utc::now() + chrono::Duration::days(11))
        .format("%Y-%m-%dT12:00:00Z")
        .to_string();
    assert_eq!(
        reminder["scheduled_for"],
        expected.as_str(),
        "3 days before due"
    );
    h.wait_status(email["id"].as_str().unwrap(), "sent").await;
    let mail = h.mail_of(email["id"].as_str().unwrap()).await;
    assert_eq!(
        mail.header("Subject").unwrap(),
        format!("Invoice {} from Biz", invoice["number"].as_str().unwrap())
    );
    let text = mail.part("text/plain").unwrap();
    assert!(text.contains("2.5 x 4.10 = 10.25 USD"), "{text}");
    assert!(text.contains("Total: 90.25 USD"));
    assert!(
        mail.part("text/html")
            .unwrap()
            .contains("Pipe &lt;15mm&gt;")
    );

    h.act("invoice", "mark_paid", json!({"invoice_id": invoice["id"]}))
        .await;
    assert_eq!(
        h.message(reminder["id"].as_str().unwrap()).await["status"],
        "cancelled"
    );

    let second = h
        .create("invoices", json!({"customer_id": cid, "due_at": due, "items": [{"description": "X", "quantity": "1", "unit_price": "1.00"}]}))
        .await;
    h.act("invoice", "send", json!({"invoice_id": second["id"]}))
        .await;
    h.act("invoice", "void", json!({"invoice_id": second["id"]}))
        .await;
    let all = h.messages_of(cid).await;
    let left: Vec<&Value> = all
        .iter()
        .filter(|m| m["invoice_id"] == second["id"] && m["message_type"] == "payment_reminder")
        .collect();
    assert_eq!(left[0]["status"], "cancelled");
}

#[tokio::test]
async fn archiving_opting_out_or_deleting_a_customer_cancels_their_pending_messages() {
    let mut h = Harness::start().await;
    h.stop_worker().await;
    for how in ["archive", "opt_out", "delete"] {
        let c = h
            .customer(json!({"first_name": how, "email": "x@example.com"}))
            .await;
        let cid = c["id"].as_str().unwrap();
        let m = h.custom(cid, "2030-01-01T10:00:00Z").await;
        match how {
            "archive" => {
                h.act("customer", "archive", json!({"customer_id": cid}))
                    .await;
            }
            "opt_out" => {
                h.app
                    .patch(
                        &format!("/api/data/customers/{cid}"),
                        &h.token,
                        json!({"email_opt_out": true}),
                    )
                    .await
                    .data();
            }
            _ => {
                h.app
                    .delete(&format!("/api/data/customers/{cid}"), &h.token)
                    .await
                    .data();
            }
        }
        let id = m["id"].as_str().unwrap();
        assert_eq!(h.message(id).await["status"], "cancelled", "{how}");
        assert!(h.live_jobs(id).await.is_empty(), "{how}: job cancelled too");
    }
}

#[tokio::test]
async fn send_now_sends_at_once_even_in_quiet_hours() {
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
        .customer(json!({"first_name": "Sam", "email": "sam@example.com"}))
        .await;
    let m = h.custom(c["id"].as_str().unwrap(), &now_plus(-1)).await;
    let id = m["id"].as_str().unwrap();
    // Deferred to the end of quiet hours, two hours from now.
    let start = std::time::Instant::now();
    loop {
        let jobs = h.live_jobs(id).await;
        if jobs.len() == 1 && jobs[0].0 == "scheduled" && jobs[0].1 > Utc::now() {
            let wait = jobs[0].1 - now;
            assert!(
                wait > chrono::Duration::minutes(118) && wait <= chrono::Duration::minutes(120),
                "deferred by {wait}"
            );
            break;
        }
        assert!(
            start.elapsed() < crate::harness::PATIENCE,
            "never deferred: {jobs:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(h.message(id).await["status"], "pending");
    h.act("message", "send_now", json!({"message_id": id}))
        .await;
    h.wait_status(id, "sent").await;
    let mail = h.mail_of(id).await;
    assert_eq!(mail.header("Subject").unwrap(), "A note");
    assert!(mail.part("text/plain").unwrap().starts_with("Hello there."));
}
