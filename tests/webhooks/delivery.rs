//! Signed, ordered, complete and isolated: a scripted session of one business reaches its
//! subscriber once per event, in sequence order, every signature verifying; another
//! business's subscriber sees only its own events. Ping, redeliver and secret rotation.

use std::collections::{HashMap, HashSet};

use fieldwork_core::events::EVENT_TYPES;
use serde_json::json;

use crate::harness::{PATIENCE, World};
use crate::receiver::verifies;

/// The office's day: customers, a product, a visit booked, started and closed out, an
/// invoice sent and paid, a customer archived and restored.
async fn scripted_session(w: &World, token: &str) {
    let app = &w.app;
    let c = app
        .create_customer(
            token,
            json!({"first_name": "Ada", "email": "ada@example.com"}),
        )
        .await;
    let cid = c["id"].as_str().unwrap();
    let r = app
        .patch(
            &format!("/api/data/customers/{cid}"),
            token,
            json!({"phone": "+4930123456"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let p = app
        .create(
            token,
            "products",
            json!({"name": "Filter", "price": "19.99"}),
        )
        .await;
    let r = app
        .patch(
            &format!("/api/data/products/{}", p["id"].as_str().unwrap()),
            token,
            json!({"price": "21.00"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let t = app
        .create(
            token,
            "tickets",
            json!({"customer_id": cid, "title": "Gutters"}),
        )
        .await;
    let tid = t["id"].as_str().unwrap();
    app.act(
        token,
        "ticket",
        "schedule",
        json!({"ticket_id": tid, "scheduled_at": "2030-05-10T08:00:00Z"}),
    )
    .await;
    app.act(
        token,
        "ticket",
        "reschedule",
        json!({"ticket_id": tid, "scheduled_at": "2030-05-11T08:00:00Z"}),
    )
    .await;
    app.act(token, "ticket", "start", json!({"ticket_id": tid}))
        .await;
    app.act(
        token,
        "ticket",
        "close_out",
        json!({"ticket_id": tid, "technician_notes": "Cleared the gutters."}),
    )
    .await;
    let inv = app
        .create(token, "invoices", json!({"customer_id": cid, "items": [{"description": "Gutters", "quantity": "1", "unit_price": "120.00"}]}))
        .await;
    let iid = inv["id"].as_str().unwrap();
    app.act(token, "invoice", "send", json!({"invoice_id": iid}))
        .await;
    app.act(token, "invoice", "mark_paid", json!({"invoice_id": iid}))
        .await;
    let c2 = app
        .create_customer(token, json!({"first_name": "Bob"}))
        .await;
    app.act(
        token,
        "customer",
        "archive",
        json!({"customer_id": c2["id"]}),
    )
    .await;
    app.act(
        token,
        "customer",
        "restore",
        json!({"customer_id": c2["id"]}),
    )
    .await;
    let r = app
        .delete(
            &format!("/api/data/customers/{}", c2["id"].as_str().unwrap()),
            token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn a_scripted_session_reaches_its_subscriber_signed_once_per_event_in_sequence_order_and_never_another_tenants()
 {
    let w = World::start().await;
    let a = w.tenant("a@example.com").await;
    let b = w.tenant("b@example.com").await;
    let sub_a = w.subscribe(&a, &w.receiver.url("/a"), &["*"]).await;
    let sub_b = w
        .subscribe(&b, &w.receiver.url("/b"), &["customer.*"])
        .await;
    let secret_a = sub_a["secret"].as_str().unwrap().to_owned();
    let secret_b = sub_b["secret"].as_str().unwrap().to_owned();
    assert!(secret_a.starts_with("whsec_"));
    let user_a = w.app.user_id(&a).await;
    let after = sub_a["cursor"].as_i64().unwrap();

    scripted_session(&w, &a).await;
    w.app
        .create_customer(&b, json!({"first_name": "Only B"}))
        .await;

    // Everything A's audit log holds after the subscription arrives (the worker's message
    // sends add rows of their own while we wait: poll until the two agree).
    let start = std::time::Instant::now();
    let (rows, got) = loop {
        let got = w.receiver.at("/a");
        let (rows, pending) = w.numbered_after(user_a, after).await;
        let ids: HashSet<&str> = got.iter().map(|r| r.id.as_str()).collect();
        let want: HashSet<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        if pending == 0 && !rows.is_empty() && ids == want {
            break (rows, got);
        }
        assert!(
            start.elapsed() < PATIENCE,
            "{} of {} events arrived",
            ids.len(),
            rows.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    // Exactly once each, in sequence order, signed.
    let mut seen = HashSet::new();
    for r in &got {
        assert!(seen.insert(r.id.clone()), "{} delivered twice", r.id);
        assert!(
            verifies(&secret_a, r),
            "signature of {} does not verify",
            r.id
        );
        assert!(!verifies(&secret_b, r));
    }
    let sequences: Vec<i64> = got.iter().map(|r| r.sequence()).collect();
    assert!(
        sequences.windows(2).all(|p| p[0] < p[1]),
        "out of order: {sequences:?}"
    );
    // Shape and types: every event is {id, type, timestamp, data} of its audit row.
    let by_id: HashMap<&str, &(String, i64, String, String)> =
        rows.iter().map(|r| (r.0.as_str(), r)).collect();
    let mut types = HashSet::new();
    for r in &got {
        let row = by_id[r.id.as_str()];
        assert_eq!(r.json["id"], r.id);
        assert_eq!(r.json["data"]["sequence"], row.1);
        assert_eq!(r.json["data"]["entity_type"], row.2.as_str());
        assert!(r.json["timestamp"].is_string() && r.json["data"]["entity_id"].is_string());
        assert!(r.json["data"]["actor"]["type"].is_string());
        assert!(
            EVENT_TYPES.contains(&r.event_type()),
            "{} is not documented",
            r.event_type()
        );
        types.insert(r.event_type().to_owned());
    }
    for t in [
        "customer.created",
        "customer.updated",
        "customer.archived",
        "customer.restored",
        "customer.deleted",
        "product.created",
        "product.updated",
        "ticket.created",
        "ticket.scheduled",
        "ticket.rescheduled",
        "ticket.started",
        "ticket.closed_out",
        "invoice.created",
        "invoice.sent",
        "invoice.paid",
        "scheduled_message.scheduled",
    ] {
        if !types.contains(t) {
            let all: Vec<(String, String, Option<i64>, chrono::DateTime<chrono::Utc>)> = sqlx::query_as("SELECT entity_type, action, sequence, created_at FROM audit_log WHERE user_id = $1 ORDER BY created_at").bind(user_a).fetch_all(&w.su).await.unwrap();
            panic!("no {t} in {types:?}; after {after}; all {all:?}");
        }
    }
    let a_ids: HashSet<String> = got.iter().map(|r| r.id.clone()).collect();

    // B received its own customer.created (its filter) and nothing of A's.
    let got_b = w
        .receiver
        .wait_until("/b", PATIENCE, "B's event", |r| !r.is_empty())
        .await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let got_b = w
        .receiver
        .at("/b")
        .into_iter()
        .chain(got_b)
        .collect::<Vec<_>>();
    for r in &got_b {
        assert!(!a_ids.contains(&r.id), "B received A's event {}", r.id);
        assert!(
            r.event_type().starts_with("customer."),
            "{}",
            r.event_type()
        );
        assert!(verifies(&secret_b, r));
    }
    // Records: one succeeded attempt per delivered event.
    let records = w.deliveries(&a, sub_a["id"].as_str().unwrap()).await;
    assert!(
        records
            .iter()
            .all(|d| d["status"] == "succeeded" && d["attempt"] == 1)
    );
    assert_eq!(records.len(), got.len());
}

#[tokio::test]
async fn ping_and_redeliver_each_send_one_more_signed_delivery() {
    let w = World::start().await;
    let a = w.tenant("a@example.com").await;
    let sub = w
        .subscribe(&a, &w.receiver.url("/p"), &["customer.created"])
        .await;
    let sid = sub["id"].as_str().unwrap();
    let secret = sub["secret"].as_str().unwrap();
    let queued = w
        .app
        .act(&a, "webhook", "ping", json!({"subscription_id": sid}))
        .await;
    let ping_id = queued["event_id"].as_str().unwrap().to_owned();
    let got = w
        .receiver
        .wait_until("/p", PATIENCE, "the ping", |r| {
            r.iter().any(|x| x.id == ping_id)
        })
        .await;
    let ping = got.iter().find(|x| x.id == ping_id).unwrap();
    assert_eq!(ping.event_type(), "webhook.ping");
    assert!(verifies(secret, ping));

    w.app
        .create_customer(&a, json!({"first_name": "Ada"}))
        .await;
    let got = w
        .receiver
        .wait_until("/p", PATIENCE, "the event", |r| {
            r.iter().any(|x| x.event_type() == "customer.created")
        })
        .await;
    let event_id = got
        .iter()
        .find(|x| x.event_type() == "customer.created")
        .unwrap()
        .id
        .clone();
    let records = w
        .wait_deliveries(&a, sid, "the event's record", |d| {
            d.iter().any(|x| x["event_id"] == event_id.as_str())
        })
        .await;
    let record = records
        .iter()
        .find(|x| x["event_id"] == event_id.as_str())
        .unwrap();
    let again = w
        .app
        .act(
            &a,
            "webhook",
            "redeliver",
            json!({"delivery_id": record["id"]}),
        )
        .await;
    assert_eq!(again["event_id"], event_id.as_str());
    let got = w
        .receiver
        .wait_until("/p", PATIENCE, "the redelivery", |r| {
            r.iter().filter(|x| x.id == event_id).count() == 2
        })
        .await;
    let copies: Vec<_> = got.iter().filter(|x| x.id == event_id).collect();
    assert_eq!(
        copies[0].body, copies[1].body,
        "a redelivery is the same event"
    );
    assert!(copies.iter().all(|c| verifies(secret, c)));
    let records = w
        .wait_deliveries(&a, sid, "redelivery recorded", |d| {
            d.iter().any(|x| x["trigger"] == "redelivery")
        })
        .await;
    assert!(
        records
            .iter()
            .any(|x| x["trigger"] == "ping" && x["status"] == "succeeded")
    );

    // Another tenant can neither ping nor redeliver what is not theirs.
    let b = w.tenant("b@example.com").await;
    let r = w
        .app
        .action(&b, "webhook", "ping", json!({"subscription_id": sid}))
        .await;
    r.assert_error(404, "NOT_FOUND");
    let r = w
        .app
        .action(
            &b,
            "webhook",
            "redeliver",
            json!({"delivery_id": record["id"]}),
        )
        .await;
    r.assert_error(404, "NOT_FOUND");
    let r = w
        .app
        .get(&format!("/api/data/webhook_subscriptions/{sid}"), &b)
        .await;
    r.assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn a_rotated_secret_signs_alongside_the_previous_one_during_the_window() {
    let w = World::start().await;
    let a = w.tenant("a@example.com").await;
    let sub = w
        .subscribe(&a, &w.receiver.url("/r"), &["customer.*"])
        .await;
    let sid = sub["id"].as_str().unwrap();
    let old = sub["secret"].as_str().unwrap().to_owned();
    let listed = w.app.get("/api/data/webhook_subscriptions", &a).await;
    assert!(
        listed.data()["items"][0].get("secret").is_none(),
        "secrets are never listed"
    );

    let rotated = w
        .app
        .act(
            &a,
            "webhook",
            "rotate_secret",
            json!({"subscription_id": sid}),
        )
        .await;
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(rotated["previous_secret_expires_at"].is_string());
    w.app
        .create_customer(&a, json!({"first_name": "Ada"}))
        .await;
    let got = w
        .receiver
        .wait_until("/r", PATIENCE, "a delivery after rotation", |r| {
            !r.is_empty()
        })
        .await;
    let r = &got[0];
    assert_eq!(r.signature.split(' ').count(), 2, "{}", r.signature);
    assert!(verifies(&new, r) && verifies(&old, r));
    // Each signature on its own verifies with exactly one of the secrets.
    for part in r.signature.split(' ') {
        let single = crate::receiver::Received {
            signature: part.to_owned(),
            ..r.clone()
        };
        assert!(verifies(&new, &single) != verifies(&old, &single));
    }
}
