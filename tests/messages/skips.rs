//! Send-time revalidation: whatever lapsed since a message was scheduled — even behind the
//! flows' back (another writer, a race: simulated here as the superuser) — ends it `skipped`
//! with its machine-readable reason, and nothing is sent.

use serde_json::{Value, json};

use crate::harness::{Harness, now_plus};

/// A message set up to be skipped for `reason`.
struct Case {
    reason: &'static str,
    message: String,
}

#[tokio::test]
async fn every_skip_reason_ends_the_message_skipped_and_sends_nothing() {
    let mut h = Harness::start().await;
    h.stop_worker().await;
    let due = now_plus(-1);
    let mut cases: Vec<Case> = Vec::new();
    let email = |n: &str| json!({"first_name": n, "email": format!("{n}@example.com")});

    // The customer changed behind the flows' back.
    for (reason, sql) in [
        (
            "customer_deleted",
            "UPDATE customers SET deleted_at = now() WHERE id = $1::uuid",
        ),
        (
            "customer_archived",
            "UPDATE customers SET archived_at = now() WHERE id = $1::uuid",
        ),
        (
            "opted_out",
            "UPDATE customers SET email_opt_out = true WHERE id = $1::uuid",
        ),
        (
            "bounced",
            "UPDATE customers SET email_bounced_at = now() WHERE id = $1::uuid",
        ),
    ] {
        let c = h.customer(email(reason)).await;
        let m = h.custom(c["id"].as_str().unwrap(), &due).await;
        h.sql(sql, c["id"].as_str().unwrap()).await;
        cases.push(Case {
            reason,
            message: m["id"].as_str().unwrap().into(),
        });
    }
    let nobody = h.customer(json!({"first_name": "Nemo"})).await;
    let m = h.custom(nobody["id"].as_str().unwrap(), &due).await;
    cases.push(Case {
        reason: "no_email",
        message: m["id"].as_str().unwrap().into(),
    });

    // Appointment messages: a ticket never booked, a visit moved, a visit already begun.
    let c = h.customer(email("appointments")).await;
    let cid = c["id"].as_str().unwrap();
    let draft = h
        .create("tickets", json!({"customer_id": cid, "title": "Someday"}))
        .await;
    let m = h
        .create("scheduled_messages", json!({"customer_id": cid, "message_type": "appointment_reminder", "ticket_id": draft["id"], "scheduled_for": due}))
        .await;
    cases.push(Case {
        reason: "ticket_not_scheduled",
        message: m["id"].as_str().unwrap().into(),
    });
    let booked = h
        .create(
            "tickets",
            json!({"customer_id": cid, "title": "Booked", "scheduled_at": "2030-01-01T09:00:00Z"}),
        )
        .await;
    let confirmation = first_of(&h, cid, "appointment_confirmation", &booked).await;
    h.sql(
        "UPDATE tickets SET scheduled_at = '2030-01-02T09:00:00Z' WHERE id = $1::uuid",
        booked["id"].as_str().unwrap(),
    )
    .await;
    cases.push(Case {
        reason: "appointment_moved",
        message: confirmation,
    });
    let begun = h
        .create(
            "tickets",
            json!({"customer_id": cid, "title": "Begun", "scheduled_at": now_plus(-600)}),
        )
        .await;
    let late = first_of(&h, cid, "appointment_confirmation", &begun).await;
    cases.push(Case {
        reason: "too_late",
        message: late,
    });

    // A custom note 25 hours late is stale (catch-up limit 24 h).
    let c = h.customer(email("catchup")).await;
    let m = h
        .custom(c["id"].as_str().unwrap(), &now_plus(-25 * 3600))
        .await;
    cases.push(Case {
        reason: "too_late",
        message: m["id"].as_str().unwrap().into(),
    });

    // A payment reminder for an invoice that is not (or no longer) sent.
    let c = h.customer(email("invoices")).await;
    let cid = c["id"].as_str().unwrap();
    let draft = h
        .create("invoices", json!({"customer_id": cid, "items": [{"description": "X", "quantity": "1", "unit_price": "5.00"}]}))
        .await;
    let m = h
        .create("scheduled_messages", json!({"customer_id": cid, "message_type": "payment_reminder", "invoice_id": draft["id"], "scheduled_for": due}))
        .await;
    cases.push(Case {
        reason: "invoice_not_sent",
        message: m["id"].as_str().unwrap().into(),
    });

    // A service reminder for a customer who has booked their next visit since.
    let c = h.customer(email("service")).await;
    let cid = c["id"].as_str().unwrap();
    let done = h
        .create(
            "tickets",
            json!({"customer_id": cid, "title": "Service", "scheduled_at": now_plus(-7200)}),
        )
        .await;
    h.act(
        "ticket",
        "close_out",
        json!({"ticket_id": done["id"], "technician_notes": "Serviced."}),
    )
    .await;
    // Booking it sends its own confirmation (one more email below).
    h.create(
        "tickets",
        json!({"customer_id": cid, "title": "Next", "scheduled_at": now_plus(2 * 86_400)}),
    )
    .await;
    let reminder = first_of(&h, cid, "service_reminder", &done).await;
    h.act("message", "send_now", json!({"message_id": reminder}))
        .await;
    cases.push(Case {
        reason: "already_booked",
        message: reminder,
    });

    // Controls: a plain message and a payment reminder five days late both still go out.
    let c = h.customer(email("control")).await;
    let cid = c["id"].as_str().unwrap();
    let control = h.custom(cid, &due).await;
    let invoice = h
        .create("invoices", json!({"customer_id": cid, "items": [{"description": "Y", "quantity": "1", "unit_price": "7.00"}]}))
        .await;
    h.act("invoice", "send", json!({"invoice_id": invoice["id"]}))
        .await;
    let overdue = h
        .create("scheduled_messages", json!({"customer_id": cid, "message_type": "payment_reminder", "invoice_id": invoice["id"], "scheduled_for": now_plus(-5 * 86_400)}))
        .await;

    h.start_worker(fieldwork_worker::settings::MailSettings::default());
    for case in &cases {
        let m = h.wait_status(&case.message, "skipped").await;
        assert_eq!(m["skip_reason"], case.reason, "{m}");
        assert_eq!(m["attempts"], 0, "never claimed: {m}");
    }
    for id in [&control["id"], &overdue["id"]] {
        h.wait_status(id.as_str().unwrap(), "sent").await;
    }
    // The controls, the invoice itself and the next visit's confirmation: nothing else.
    h.mail(4).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(h.sink.count(), 4, "skipped messages are never sent");
    let audit = h
        .get(&format!(
            "/api/data/audit_log?entity_id={}",
            cases[0].message
        ))
        .await;
    let skip = audit["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(skip["action"], "skip");
    assert_eq!(skip["changes"]["skip_reason"]["new"], "customer_deleted");
}

/// The id of the customer's first message of `message_type` about `ticket`.
async fn first_of(h: &Harness, customer: &str, message_type: &str, ticket: &Value) -> String {
    h.messages_of(customer)
        .await
        .into_iter()
        .find(|m| m["message_type"] == message_type && m["ticket_id"] == ticket["id"])
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no {message_type} for {}", ticket["id"]))
}
