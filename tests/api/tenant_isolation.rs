//! Tenant isolation for every domain entity and for the actions (mandatory per entity): user B
//! can neither read, change, delete nor act on user A's rows, nor reference them from its own
//! rows; each case answers 404 exactly like a missing row, and A's rows stay untouched.

use fieldwork_tests::TestApp;
use serde_json::{Value, json};

struct World {
    customer: String,
    product: String,
    ticket: String,
    invoice: String,
    message: String,
}

async fn world_of(app: &TestApp, t: &str) -> World {
    let customer = app.create_customer(t, json!({"first_name": "Alice"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let product = app
        .create(
            t,
            "products",
            json!({"name": "Secret part", "price": "9.99", "sku": "S-1"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ticket = app
        .create(t, "tickets", json!({"customer_id": customer, "title": "Secret job", "scheduled_at": "2026-06-01T09:00:00Z"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let invoice = app
        .create(t, "invoices", json!({"customer_id": customer, "ticket_id": ticket, "items": [{"product_id": product, "quantity": "1"}]}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let message = app
        .create(t, "scheduled_messages", json!({"customer_id": customer, "message_type": "custom", "subject": "S", "body": "B", "scheduled_for": "2026-06-01T08:00:00Z"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    World {
        customer,
        product,
        ticket,
        invoice,
        message,
    }
}

async fn snapshot(app: &TestApp) -> Value {
    let pool = app.db.superuser_pool().await;
    let v: Value = sqlx::query_scalar(
        "SELECT jsonb_build_array(
            (SELECT jsonb_agg(to_jsonb(t) ORDER BY id) FROM customers t),
            (SELECT jsonb_agg(to_jsonb(t) ORDER BY id) FROM products t),
            (SELECT jsonb_agg(to_jsonb(t) ORDER BY id) FROM tickets t),
            (SELECT jsonb_agg(to_jsonb(t) ORDER BY id) FROM invoices t),
            (SELECT jsonb_agg(to_jsonb(t) ORDER BY id) FROM invoice_items t),
            (SELECT jsonb_agg(to_jsonb(t) ORDER BY id) FROM scheduled_messages t))",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    v
}

async fn is_empty_list(app: &TestApp, path: &str, t: &str) {
    let r = app.get(path, t).await;
    assert!(
        r.data()["items"].as_array().unwrap().is_empty(),
        "{path}: {}",
        r.body
    );
}

#[tokio::test]
async fn user_b_cannot_read_change_or_delete_user_a_products_tickets_invoices_or_messages() {
    let app = TestApp::spawn().await;
    let a = app.signup("iso-a@example.com").await;
    let b = app.signup("iso-b@example.com").await;
    let w = world_of(&app, &a).await;
    let before = snapshot(&app).await;
    let audits = app.count("audit_log").await;

    for (entity, id, patch) in [
        ("products", &w.product, json!({"name": "Hacked"})),
        ("tickets", &w.ticket, json!({"title": "Hacked"})),
        ("invoices", &w.invoice, json!({"notes": "Hacked"})),
        (
            "scheduled_messages",
            &w.message,
            json!({"subject": "Hacked"}),
        ),
    ] {
        is_empty_list(&app, &format!("/api/data/{entity}"), &b).await;
        let path = format!("/api/data/{entity}/{id}");
        let missing = app
            .get(&format!("/api/data/{entity}/{}", uuid::Uuid::now_v7()), &b)
            .await;
        let foreign = app.get(&path, &b).await;
        foreign.assert_error(404, "NOT_FOUND");
        assert_eq!(
            foreign.body, missing.body,
            "{entity}: A's row looks missing to B"
        );
        app.patch(&path, &b, patch)
            .await
            .assert_error(404, "NOT_FOUND");
        app.delete(&path, &b).await.assert_error(404, "NOT_FOUND");
    }
    let week = app
        .get("/api/data/tickets/week?start_date=2026-06-01", &b)
        .await;
    assert!(week.data()["tickets"].as_array().unwrap().is_empty());
    is_empty_list(
        &app,
        &format!("/api/data/tickets?customer_id={}", w.customer),
        &b,
    )
    .await;
    assert_eq!(snapshot(&app).await, before, "A's rows are untouched");
    assert_eq!(app.count("audit_log").await, audits);
    // A still sees everything.
    assert_eq!(
        app.get("/api/data/tickets/week?start_date=2026-06-01", &a)
            .await
            .data()["tickets"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn user_b_cannot_act_on_user_a_rows() {
    let app = TestApp::spawn().await;
    let a = app.signup("act-a@example.com").await;
    let b = app.signup("act-b@example.com").await;
    let w = world_of(&app, &a).await;
    let before = snapshot(&app).await;
    let audits = app.count("audit_log").await;
    let at = "2026-06-02T09:00:00Z";
    let attempts = [
        ("customer", "archive", json!({"customer_id": w.customer})),
        ("customer", "restore", json!({"customer_id": w.customer})),
        (
            "ticket",
            "schedule",
            json!({"ticket_id": w.ticket, "scheduled_at": at}),
        ),
        (
            "ticket",
            "reschedule",
            json!({"ticket_id": w.ticket, "scheduled_at": at}),
        ),
        ("ticket", "start", json!({"ticket_id": w.ticket})),
        ("ticket", "cancel", json!({"ticket_id": w.ticket})),
        (
            "ticket",
            "close_out",
            json!({"ticket_id": w.ticket, "technician_notes": "x"}),
        ),
        (
            "ticket",
            "confirm_attributes",
            json!({"ticket_id": w.ticket, "attributes": {"pet": {"value": {"type": "dog"}, "evidence": ["dog"]}}}),
        ),
        (
            "ticket",
            "confirm_attributes",
            json!({"ticket_id": w.ticket}),
        ),
        (
            "ticket",
            "reject_attributes",
            json!({"ticket_id": w.ticket}),
        ),
        ("invoice", "send", json!({"invoice_id": w.invoice})),
        ("invoice", "mark_paid", json!({"invoice_id": w.invoice})),
        ("invoice", "void", json!({"invoice_id": w.invoice})),
        ("message", "cancel", json!({"message_id": w.message})),
        ("message", "send_now", json!({"message_id": w.message})),
        (
            "message",
            "schedule_custom",
            json!({"customer_id": w.customer, "subject": "S", "body": "B", "scheduled_for": at}),
        ),
    ];
    for (domain, action, data) in attempts {
        let r = app.action(&b, domain, action, data).await;
        assert_eq!(
            (r.status, r.code()),
            (404, "NOT_FOUND"),
            "{domain}.{action}: {}",
            r.body
        );
    }
    assert_eq!(snapshot(&app).await, before, "A's rows are untouched");
    assert_eq!(app.count("audit_log").await, audits);
}

#[tokio::test]
async fn user_b_cannot_reference_user_a_rows_from_its_own() {
    let app = TestApp::spawn().await;
    let a = app.signup("ref-a@example.com").await;
    let b = app.signup("ref-b@example.com").await;
    let w = world_of(&app, &a).await;
    let own = app.create_customer(&b, json!({"first_name": "Bob"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = snapshot(&app).await;
    let at = "2026-06-02T09:00:00Z";
    let attempts = [
        (
            "tickets",
            json!({"customer_id": w.customer, "title": "Mine now"}),
        ),
        ("invoices", json!({"customer_id": w.customer})),
        (
            "invoices",
            json!({"customer_id": own, "ticket_id": w.ticket}),
        ),
        (
            "invoices",
            json!({"customer_id": own, "items": [{"product_id": w.product, "quantity": "1"}]}),
        ),
        (
            "scheduled_messages",
            json!({"customer_id": w.customer, "message_type": "service_reminder", "scheduled_for": at}),
        ),
        (
            "scheduled_messages",
            json!({"customer_id": own, "message_type": "appointment_reminder", "ticket_id": w.ticket, "scheduled_for": at}),
        ),
        (
            "scheduled_messages",
            json!({"customer_id": own, "message_type": "payment_reminder", "invoice_id": w.invoice, "scheduled_for": at}),
        ),
    ];
    for (entity, body) in attempts {
        let r = app
            .post(&format!("/api/data/{entity}"), &b, body.clone())
            .await;
        assert_eq!(
            (r.status, r.code()),
            (404, "NOT_FOUND"),
            "{entity} {body}: {}",
            r.body
        );
    }
    assert_eq!(snapshot(&app).await, before, "nothing was written");
}
