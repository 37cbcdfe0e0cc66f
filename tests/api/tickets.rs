//! Tickets end to end: creation for active customers only, partial updates, the week view,
//! and confirming extracted attributes into the customer.

use fieldwork_tests::TestApp;
use serde_json::{Value, json};

async fn customer(app: &TestApp, t: &str) -> String {
    app.create_customer(t, json!({"first_name": "Cust"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_ticket_starts_as_draft_or_scheduled_and_patches_change_only_sent_fields() {
    let app = TestApp::spawn().await;
    let t = app.signup("tickets@example.com").await;
    let c = customer(&app, &t).await;
    let draft = app
        .create(
            &t,
            "tickets",
            json!({"customer_id": c, "title": "Leaky tap", "description": "Kitchen"}),
        )
        .await;
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["duration_minutes"], 60);
    let booked = app
        .create(
            &t,
            "tickets",
            json!({"customer_id": c, "title": "Boiler", "scheduled_at": "2026-03-02T09:00:00+01:00", "duration_minutes": 90}),
        )
        .await;
    assert_eq!(booked["status"], "scheduled");
    assert_eq!(booked["scheduled_at"], "2026-03-02T08:00:00Z");

    let id = draft["id"].as_str().unwrap();
    let path = format!("/api/data/tickets/{id}");
    let after = app
        .patch(&path, &t, json!({"title": "Leaky kitchen tap"}))
        .await;
    let after = after.data();
    assert_eq!(after["title"], "Leaky kitchen tap");
    for field in ["description", "status", "duration_minutes", "customer_id"] {
        assert_eq!(after[field], draft[field], "{field} unchanged");
    }
    let rows = app.audit_rows(id).await;
    assert_eq!(
        rows.last().unwrap()["changes"],
        json!({"title": {"old": "Leaky tap", "new": "Leaky kitchen tap"}})
    );
    for body in [
        json!({"status": "completed"}),
        json!({"scheduled_at": "2026-03-02T09:00:00Z"}),
        json!({"customer_id": c}),
        json!({"duration_minutes": 0}),
    ] {
        app.patch(&path, &t, body)
            .await
            .assert_error(422, "VALIDATION_ERROR");
    }
    app.post(
        "/api/data/tickets",
        &t,
        json!({"customer_id": c, "title": "X", "scheduled_at": "tomorrow"}),
    )
    .await
    .assert_error(422, "VALIDATION_ERROR");
    app.post(
        "/api/data/tickets",
        &t,
        json!({"customer_id": uuid::Uuid::now_v7(), "title": "Nobody"}),
    )
    .await
    .assert_error(404, "NOT_FOUND");
    app.delete(&path, &t).await.data();
    app.get(&path, &t).await.assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn no_new_work_for_an_archived_customer_until_it_is_restored() {
    let app = TestApp::spawn().await;
    let t = app.signup("archived@example.com").await;
    let c = customer(&app, &t).await;
    let draft = app
        .create(&t, "tickets", json!({"customer_id": c, "title": "Before"}))
        .await;
    let archived = app
        .act(
            &t,
            "customer",
            "archive",
            json!({"customer_id": c, "reason": "Moved away"}),
        )
        .await;
    assert!(archived["archived_at"].is_string());
    assert_eq!(archived["archived_reason"], "Moved away");
    // Archived is not deleted: still readable.
    let read = app.get(&format!("/api/data/customers/{c}"), &t).await;
    assert!(read.data()["archived_at"].is_string());

    app.post(
        "/api/data/tickets",
        &t,
        json!({"customer_id": c, "title": "After"}),
    )
    .await
    .assert_error(409, "CUSTOMER_ARCHIVED");
    let tid = draft["id"].as_str().unwrap();
    app.action(
        &t,
        "ticket",
        "schedule",
        json!({"ticket_id": tid, "scheduled_at": "2026-03-02T09:00:00Z"}),
    )
    .await
    .assert_error(409, "CUSTOMER_ARCHIVED");
    app.post("/api/data/invoices", &t, json!({"customer_id": c}))
        .await
        .assert_error(409, "CUSTOMER_ARCHIVED");
    app.action(
        &t,
        "message",
        "schedule_custom",
        json!({"customer_id": c, "subject": "Hi", "body": "Hello", "scheduled_for": "2026-03-02T09:00:00Z"}),
    )
    .await
    .assert_error(409, "CUSTOMER_ARCHIVED");
    app.patch(
        &format!("/api/data/customers/{c}"),
        &t,
        json!({"notes": "x"}),
    )
    .await
    .assert_error(409, "CUSTOMER_ARCHIVED");
    app.action(&t, "customer", "archive", json!({"customer_id": c}))
        .await
        .assert_error(409, "CUSTOMER_ARCHIVED");

    let restored = app
        .act(&t, "customer", "restore", json!({"customer_id": c}))
        .await;
    assert!(restored["archived_at"].is_null());
    app.act(
        &t,
        "ticket",
        "schedule",
        json!({"ticket_id": tid, "scheduled_at": "2026-03-02T09:00:00Z"}),
    )
    .await;
    let rows = app.audit_rows(&c).await;
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["create", "archive", "restore"]);
    assert_eq!(rows[1]["changes"]["archived_reason"]["new"], "Moved away");
}

#[tokio::test]
async fn the_week_view_lists_that_utc_week_ordered_by_scheduled_at() {
    let app = TestApp::spawn().await;
    let t = app.signup("week@example.com").await;
    let c = customer(&app, &t).await;
    for (title, at) in [
        ("late", "2026-03-08T23:59:59Z"),
        ("early", "2026-03-02T00:00:00Z"),
        ("before", "2026-03-01T23:59:59Z"),
        ("middle", "2026-03-05T12:00:00Z"),
        ("after", "2026-03-09T00:00:00Z"),
    ] {
        app.create(
            &t,
            "tickets",
            json!({"customer_id": c, "title": title, "scheduled_at": at}),
        )
        .await;
    }
    app.create(
        &t,
        "tickets",
        json!({"customer_id": c, "title": "unscheduled"}),
    )
    .await;
    let r = app
        .get("/api/data/tickets/week?start_date=2026-03-02", &t)
        .await;
    let week = r.data();
    assert_eq!(week["week_start"], "2026-03-02T00:00:00Z");
    assert_eq!(week["week_end"], "2026-03-09T00:00:00Z");
    assert_eq!(week["timezone"], "UTC");
    let titles: Vec<&str> = week["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["early", "middle", "late"]);
    for bad in [
        "",
        "?start_date=2026-13-01",
        "?start_date=02.03.2026",
        "?start_date=1800-01-01",
    ] {
        app.get(&format!("/api/data/tickets/week{bad}"), &t)
            .await
            .assert_error(422, "VALIDATION_ERROR");
    }
}

#[tokio::test]
async fn confirmed_attributes_are_merged_into_the_customer_and_audited_there() {
    let app = TestApp::spawn().await;
    let t = app.signup("attrs@example.com").await;
    let c = app
        .create_customer(
            &t,
            json!({"first_name": "Pat", "attributes": {"pet": "cat", "gate": "1234"}}),
        )
        .await;
    let cid = c["id"].as_str().unwrap();
    let ticket = app
        .create(
            &t,
            "tickets",
            json!({"customer_id": cid, "title": "Service", "scheduled_at": "2026-03-02T09:00:00Z"}),
        )
        .await;
    let tid = ticket["id"].as_str().unwrap();
    // Only a completed ticket has attributes to confirm.
    let dog = json!({"pet": {"value": {"type": "dog", "name": "Rex"}, "evidence": ["Big dog named Rex"]}});
    app.action(
        &t,
        "ticket",
        "confirm_attributes",
        json!({"ticket_id": tid, "attributes": dog}),
    )
    .await
    .assert_error(409, "INVALID_STATE");
    app.act(
        &t,
        "ticket",
        "close_out",
        json!({"ticket_id": tid, "technician_notes": "Big dog named Rex"}),
    )
    .await;
    for bad in [
        json!("dog"),
        json!({"pet": {"type": "dog"}}),
        json!({"pet": {"value": {"type": "dog"}, "evidence": []}}),
        json!({"colour": {"value": "red", "evidence": ["red"]}}),
    ] {
        let r = app
            .action(
                &t,
                "ticket",
                "confirm_attributes",
                json!({"ticket_id": tid, "attributes": bad}),
            )
            .await;
        r.assert_error(422, "VALIDATION_ERROR");
        let fields = r.body["error"]["details"]["fields"].as_object().unwrap();
        assert!(
            fields.keys().all(|k| k.starts_with("attributes")),
            "{fields:?}"
        );
    }
    // The office's own version, confirmed while extraction is still pending (no worker here).
    let merged = app
        .act(
            &t,
            "ticket",
            "confirm_attributes",
            json!({"ticket_id": tid, "attributes": dog}),
        )
        .await;
    assert_eq!(
        merged["attributes"],
        json!({"pet": {"type": "dog", "name": "Rex"}, "gate": "1234"})
    );
    let rows = app.audit_rows(cid).await;
    let last: &Value = rows.last().unwrap();
    assert_eq!(last["action"], "confirm_attributes");
    assert_eq!(last["changes"]["attributes"]["old"]["pet"], "cat");
    assert_eq!(last["changes"]["attributes"]["new"]["pet"]["name"], "Rex");
}
