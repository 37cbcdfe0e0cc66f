//! Every state machine, exhaustively: from each state, each action either succeeds (the legal
//! transitions listed here, independently of the code's table) or answers 409 and leaves the
//! row and the audit log exactly as they were.

use fieldwork_tests::{TestApp, TestResponse};
use serde_json::{Value, json};

/// The row as stored (every column) and the number of audit rows of the whole database.
async fn stored(app: &TestApp, table: &str, id: &str) -> (Value, i64) {
    let pool = app.db.superuser_pool().await;
    let sql = match table {
        "tickets" => "SELECT to_jsonb(t) FROM tickets t WHERE id = $1::uuid",
        "invoices" => {
            "SELECT to_jsonb(t) || jsonb_build_object('items', (SELECT jsonb_agg(to_jsonb(i) ORDER BY position) FROM invoice_items i WHERE i.invoice_id = t.id)) FROM invoices t WHERE id = $1::uuid"
        }
        "scheduled_messages" => "SELECT to_jsonb(t) FROM scheduled_messages t WHERE id = $1::uuid",
        "customers" => "SELECT to_jsonb(t) FROM customers t WHERE id = $1::uuid",
        _ => unreachable!(),
    };
    let row: Value = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    (row, app.count("audit_log").await)
}

async fn assert_refused(
    app: &TestApp,
    r: &TestResponse,
    code: &str,
    table: &str,
    id: &str,
    before: &(Value, i64),
    what: &str,
) {
    assert_eq!((r.status, r.code()), (409, code), "{what}: {}", r.body);
    assert_eq!(
        &stored(app, table, id).await,
        before,
        "{what} changed nothing"
    );
}

#[tokio::test]
async fn ticket_transitions_are_exactly_the_legal_ones() {
    let app = TestApp::spawn().await;
    let t = app.signup("sm-tickets@example.com").await;
    let c = app.create_customer(&t, json!({"first_name": "S"})).await;
    let cid = c["id"].as_str().unwrap().to_owned();
    let at = "2026-05-04T09:00:00Z";

    let make = |state: &'static str| {
        let (app, t, cid) = (&app, t.clone(), cid.clone());
        async move {
            let scheduled = state != "draft" && state != "cancelled";
            let mut body = json!({"customer_id": cid, "title": state});
            if scheduled {
                body["scheduled_at"] = json!(at);
            }
            let id = app.create(&t, "tickets", body).await["id"]
                .as_str()
                .unwrap()
                .to_owned();
            match state {
                "in_progress" => {
                    app.act(&t, "ticket", "start", json!({"ticket_id": id}))
                        .await;
                }
                "completed" => {
                    app.act(
                        &t,
                        "ticket",
                        "close_out",
                        json!({"ticket_id": id, "technician_notes": "done"}),
                    )
                    .await;
                }
                "cancelled" => {
                    app.act(&t, "ticket", "cancel", json!({"ticket_id": id}))
                        .await;
                }
                _ => {}
            }
            id
        }
    };
    // (action, legal from, resulting status)
    let table: [(&str, &[&str], &str); 7] = [
        ("schedule", &["draft"], "scheduled"),
        ("reschedule", &["scheduled"], "scheduled"),
        ("start", &["scheduled"], "in_progress"),
        (
            "cancel",
            &["draft", "scheduled", "in_progress"],
            "cancelled",
        ),
        ("close_out", &["scheduled", "in_progress"], "completed"),
        ("confirm_attributes", &["completed"], "completed"),
        ("edit", &["draft", "scheduled", "in_progress"], ""),
    ];
    for state in [
        "draft",
        "scheduled",
        "in_progress",
        "completed",
        "cancelled",
    ] {
        for (action, legal_from, to) in table {
            let id = make(state).await;
            let before = stored(&app, "tickets", &id).await;
            let r = match action {
                "edit" => {
                    app.patch(
                        &format!("/api/data/tickets/{id}"),
                        &t,
                        json!({"title": "edited"}),
                    )
                    .await
                }
                "schedule" | "reschedule" => {
                    app.action(
                        &t,
                        "ticket",
                        action,
                        json!({"ticket_id": id, "scheduled_at": "2026-05-05T10:00:00Z"}),
                    )
                    .await
                }
                "close_out" => {
                    app.action(
                        &t,
                        "ticket",
                        action,
                        json!({"ticket_id": id, "technician_notes": "ok"}),
                    )
                    .await
                }
                "confirm_attributes" => {
                    app.action(
                        &t,
                        "ticket",
                        action,
                        json!({"ticket_id": id, "attributes": {"pet": {"value": {"type": "dog"}, "evidence": ["dog"]}}}),
                    )
                    .await
                }
                _ => {
                    app.action(&t, "ticket", action, json!({"ticket_id": id}))
                        .await
                }
            };
            let what = format!("ticket {action} from {state}");
            if legal_from.contains(&state) {
                assert_eq!(r.status, 200, "{what}: {}", r.body);
                let after = app.get(&format!("/api/data/tickets/{id}"), &t).await;
                let expected = if to.is_empty() { state } else { to };
                assert_eq!(after.data()["status"], expected, "{what}");
                assert!(
                    stored(&app, "tickets", &id).await.1 > before.1,
                    "{what} is audited"
                );
            } else {
                assert_refused(&app, &r, "INVALID_STATE", "tickets", &id, &before, &what).await;
            }
        }
    }
}

#[tokio::test]
async fn invoice_transitions_are_exactly_the_legal_ones() {
    let app = TestApp::spawn().await;
    let t = app.signup("sm-invoices@example.com").await;
    let c = app.create_customer(&t, json!({"first_name": "S"})).await;
    let cid = c["id"].as_str().unwrap().to_owned();
    let make = |state: &'static str| {
        let (app, t, cid) = (&app, t.clone(), cid.clone());
        async move {
            let inv = app
                .create(&t, "invoices", json!({"customer_id": cid, "items": [{"description": "Work", "quantity": "1", "unit_price": "100"}]}))
                .await;
            let id = inv["id"].as_str().unwrap().to_owned();
            if state == "sent" || state == "paid" {
                app.act(&t, "invoice", "send", json!({"invoice_id": id}))
                    .await;
            }
            if state == "paid" {
                app.act(&t, "invoice", "mark_paid", json!({"invoice_id": id}))
                    .await;
            }
            if state == "void" {
                app.act(
                    &t,
                    "invoice",
                    "void",
                    json!({"invoice_id": id, "reason": "mistake"}),
                )
                .await;
            }
            id
        }
    };
    let table: [(&str, &[&str], &str); 6] = [
        ("send", &["draft"], "sent"),
        ("mark_paid", &["sent"], "paid"),
        ("void", &["draft", "sent"], "void"),
        ("edit_items", &["draft"], ""),
        ("edit", &["draft", "sent"], ""),
        ("delete", &["draft"], ""),
    ];
    for state in ["draft", "sent", "paid", "void"] {
        for (action, legal_from, to) in table {
            let id = make(state).await;
            let path = format!("/api/data/invoices/{id}");
            let before = stored(&app, "invoices", &id).await;
            let r = match action {
                "edit_items" => {
                    app.patch(&path, &t, json!({"items": [{"description": "More", "quantity": "2", "unit_price": "1"}]})).await
                }
                "edit" => app.patch(&path, &t, json!({"notes": "note"})).await,
                "delete" => app.delete(&path, &t).await,
                _ => app.action(&t, "invoice", action, json!({"invoice_id": id})).await,
            };
            let what = format!("invoice {action} from {state}");
            if legal_from.contains(&state) {
                assert_eq!(r.status, 200, "{what}: {}", r.body);
                assert!(
                    stored(&app, "invoices", &id).await.1 > before.1,
                    "{what} is audited"
                );
                if action == "delete" {
                    app.get(&path, &t).await.assert_error(404, "NOT_FOUND");
                } else {
                    let expected = if to.is_empty() { state } else { to };
                    assert_eq!(
                        app.get(&path, &t).await.data()["status"],
                        expected,
                        "{what}"
                    );
                }
            } else {
                assert_refused(&app, &r, "INVALID_STATE", "invoices", &id, &before, &what).await;
            }
        }
    }
    // An empty draft cannot be sent.
    let empty = app
        .create(&t, "invoices", json!({"customer_id": cid}))
        .await;
    app.action(&t, "invoice", "send", json!({"invoice_id": empty["id"]}))
        .await
        .assert_error(409, "INVALID_STATE");
}

#[tokio::test]
async fn message_transitions_are_exactly_the_legal_ones() {
    let app = TestApp::spawn().await;
    let t = app.signup("sm-messages@example.com").await;
    let c = app.create_customer(&t, json!({"first_name": "S"})).await;
    let cid = c["id"].as_str().unwrap().to_owned();
    let su = app.db.superuser_pool().await;
    let table: [(&str, &[&str]); 4] = [
        ("cancel", &["pending"]),
        ("edit", &["pending"]),
        ("delete", &["pending"]),
        // Makes a pending message due now (the worker, not running here, would send it).
        ("send_now", &["pending"]),
    ];
    for state in [
        "pending",
        "sending",
        "sent",
        "failed",
        "cancelled",
        "skipped",
    ] {
        for (action, legal_from) in table {
            let m = app
                .act(&t, "message", "schedule_custom", json!({"customer_id": cid, "subject": "S", "body": "B", "scheduled_for": "2026-05-04T09:00:00Z"}))
                .await;
            let id = m["id"].as_str().unwrap().to_owned();
            if state == "cancelled" {
                app.act(&t, "message", "cancel", json!({"message_id": id}))
                    .await;
            } else if state != "pending" {
                // Only the sender will make these transitions; put the row there directly.
                sqlx::query(
                    "UPDATE scheduled_messages SET status = $2,
                            skip_reason = CASE WHEN $2 = 'skipped' THEN 'too_late' END
                      WHERE id = $1::uuid",
                )
                .bind(&id)
                .bind(state)
                .execute(&su)
                .await
                .unwrap();
            }
            let path = format!("/api/data/scheduled_messages/{id}");
            let before = stored(&app, "scheduled_messages", &id).await;
            let r = match action {
                "edit" => app.patch(&path, &t, json!({"subject": "Edited"})).await,
                "delete" => app.delete(&path, &t).await,
                _ => {
                    app.action(&t, "message", action, json!({"message_id": id}))
                        .await
                }
            };
            let what = format!("message {action} from {state}");
            if legal_from.contains(&state) {
                assert_eq!(r.status, 200, "{what}: {}", r.body);
                assert!(
                    stored(&app, "scheduled_messages", &id).await.1 > before.1,
                    "{what} is audited"
                );
            } else {
                assert_refused(
                    &app,
                    &r,
                    "INVALID_STATE",
                    "scheduled_messages",
                    &id,
                    &before,
                    &what,
                )
                .await;
            }
        }
    }
}

#[tokio::test]
async fn customer_archive_and_restore_are_the_only_transitions() {
    let app = TestApp::spawn().await;
    let t = app.signup("sm-customers@example.com").await;
    let c = app.create_customer(&t, json!({"first_name": "S"})).await;
    let id = c["id"].as_str().unwrap();
    let before = stored(&app, "customers", id).await;
    let r = app
        .action(&t, "customer", "restore", json!({"customer_id": id}))
        .await;
    assert_refused(
        &app,
        &r,
        "INVALID_STATE",
        "customers",
        id,
        &before,
        "restore an active customer",
    )
    .await;
    app.act(&t, "customer", "archive", json!({"customer_id": id}))
        .await;
    let before = stored(&app, "customers", id).await;
    let r = app
        .action(&t, "customer", "archive", json!({"customer_id": id}))
        .await;
    assert_refused(
        &app,
        &r,
        "CUSTOMER_ARCHIVED",
        "customers",
        id,
        &before,
        "archive twice",
    )
    .await;
    let restored = app
        .act(&t, "customer", "restore", json!({"customer_id": id}))
        .await;
    assert!(restored["archived_at"].is_null() && restored["archived_reason"].is_null());
}
