//! Invoices end to end: exact totals as decimal strings, items written with the invoice and
//! editable only in draft, gap-free consecutive numbers under concurrent creation.

use std::collections::HashSet;

use fieldwork_tests::TestApp;
use serde_json::json;

async fn customer(app: &TestApp, t: &str) -> String {
    app.create_customer(t, json!({"first_name": "Payer"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn three_times_19_99_plus_one_cent_totals_exactly_59_98() {
    let app = TestApp::spawn().await;
    let t = app.signup("totals@example.com").await;
    let c = customer(&app, &t).await;
    let inv = app
        .create(
            &t,
            "invoices",
            json!({"customer_id": c, "items": [
                {"description": "Filter", "quantity": "3", "unit_price": "19.99"},
                {"description": "Rounding test", "quantity": 1, "unit_price": "0.01"}
            ]}),
        )
        .await;
    assert_eq!(inv["total"], "59.98");
    assert_eq!(inv["number"], "INV-000001");
    assert_eq!(inv["status"], "draft");
    assert_eq!(inv["currency"], "USD");
    assert_eq!(inv["items"][0]["amount"], "59.97");
    assert_eq!(inv["items"][0]["quantity"], "3");
    assert_eq!(inv["items"][0]["unit_price"], "19.99");
    assert_eq!(inv["items"][1]["position"], 1);
    let got = app
        .get(
            &format!("/api/data/invoices/{}", inv["id"].as_str().unwrap()),
            &t,
        )
        .await;
    assert_eq!(got.data(), &inv);
    // The database agrees to the cent.
    let pool = app.db.superuser_pool().await;
    let (total, sum): (String, String) = sqlx::query_as(
        "SELECT i.total::text, (SELECT sum(amount)::text FROM invoice_items WHERE invoice_id = i.id)
           FROM invoices i WHERE id = $1::uuid",
    )
    .bind(inv["id"].as_str().unwrap())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((total.as_str(), sum.as_str()), ("59.98", "59.98"));
}

#[tokio::test]
async fn items_copy_their_product_and_are_replaced_only_while_draft() {
    let app = TestApp::spawn().await;
    let t = app.signup("items@example.com").await;
    let c = customer(&app, &t).await;
    let p = app
        .create(&t, "products", json!({"name": "Gasket", "price": "2.50"}))
        .await;
    let inv = app
        .create(
            &t,
            "invoices",
            json!({"customer_id": c, "currency": "eur", "items": [{"product_id": p["id"], "quantity": "4"}]}),
        )
        .await;
    assert_eq!(inv["currency"], "EUR");
    assert_eq!(inv["items"][0]["description"], "Gasket");
    assert_eq!(inv["items"][0]["unit_price"], "2.50");
    assert_eq!(inv["total"], "10.00");
    let id = inv["id"].as_str().unwrap();
    let path = format!("/api/data/invoices/{id}");

    let replaced = app
        .patch(
            &path,
            &t,
            json!({"items": [{"description": "Labour", "quantity": "1.5", "unit_price": "80"}]}),
        )
        .await;
    assert_eq!(replaced.data()["total"], "120.00");
    assert_eq!(replaced.data()["items"].as_array().unwrap().len(), 1);
    assert_eq!(replaced.data()["items"][0]["quantity"], "1.5");

    // Notes only: the rest, items included, stays as it was, and only notes are audited.
    let noted = app.patch(&path, &t, json!({"notes": "Thanks!"})).await;
    assert_eq!(noted.data()["items"], replaced.data()["items"]);
    assert_eq!(
        app.audit_rows(id).await.last().unwrap()["changes"],
        json!({"notes": {"old": null, "new": "Thanks!"}})
    );

    app.act(&t, "invoice", "send", json!({"invoice_id": id}))
        .await;
    app.patch(&path, &t, json!({"items": []}))
        .await
        .assert_error(409, "INVALID_STATE");
    app.patch(&path, &t, json!({"currency": "GBP"}))
        .await
        .assert_error(409, "INVALID_STATE");
    let later = app
        .patch(&path, &t, json!({"due_at": "2026-04-01T00:00:00Z"}))
        .await;
    assert_eq!(later.data()["due_at"], "2026-04-01T00:00:00Z");
    assert_eq!(later.data()["total"], "120.00");
    app.delete(&path, &t)
        .await
        .assert_error(409, "INVALID_STATE");

    for body in [
        json!({"customer_id": c, "items": [{"quantity": "1"}]}),
        json!({"customer_id": c, "items": [{"description": "x", "quantity": "0", "unit_price": "1"}]}),
        json!({"customer_id": c, "items": [{"description": "x", "quantity": "1", "unit_price": "0.001"}]}),
        json!({"customer_id": c, "currency": "DOLLARS"}),
        json!({"customer_id": c, "total": "1.00"}),
        json!({"customer_id": c, "number": "INV-999999"}),
    ] {
        app.post("/api/data/invoices", &t, body.clone())
            .await
            .assert_error(422, "VALIDATION_ERROR");
    }
    app.post(
        "/api/data/invoices",
        &t,
        json!({"customer_id": c, "items": [{"product_id": uuid::Uuid::now_v7(), "quantity": "1"}]}),
    )
    .await
    .assert_error(404, "NOT_FOUND");
    // A ticket of another customer is refused.
    let other = customer(&app, &t).await;
    let ticket = app
        .create(
            &t,
            "tickets",
            json!({"customer_id": other, "title": "Elsewhere"}),
        )
        .await;
    app.post(
        "/api/data/invoices",
        &t,
        json!({"customer_id": c, "ticket_id": ticket["id"]}),
    )
    .await
    .assert_error(422, "VALIDATION_ERROR");
    // Failed creations took no number.
    let next = app.create(&t, "invoices", json!({"customer_id": c})).await;
    assert_eq!(next["number"], "INV-000002");
    let draft = next["id"].as_str().unwrap();
    app.delete(&format!("/api/data/invoices/{draft}"), &t)
        .await
        .data();
}

#[tokio::test]
async fn fifty_concurrent_invoice_creations_get_fifty_consecutive_numbers() {
    let app = TestApp::spawn().await;
    let t = app.signup("numbers@example.com").await;
    let c = customer(&app, &t).await;
    let mut handles = Vec::new();
    for i in 0..50 {
        let client = app.client.clone();
        let url = app.url("/api/data/invoices");
        let (t, c) = (t.clone(), c.clone());
        handles.push(tokio::spawn(async move {
            let r = client
                .post(&url)
                .bearer_auth(&t)
                .json(&json!({"customer_id": c, "items": [
                    {"description": format!("Job {i}"), "quantity": "1", "unit_price": "10"}
                ]}))
                .send()
                .await
                .unwrap();
            let r = TestApp::read(r).await;
            assert_eq!(r.status, 201, "{}", r.body);
            r.data()["number"].as_str().unwrap().to_owned()
        }));
    }
    let mut numbers = Vec::new();
    for h in handles {
        numbers.push(h.await.unwrap());
    }
    let distinct: HashSet<&String> = numbers.iter().collect();
    assert_eq!(distinct.len(), 50, "all distinct");
    let mut n: Vec<u32> = numbers
        .iter()
        .map(|s| s.strip_prefix("INV-").unwrap().parse().unwrap())
        .collect();
    n.sort_unstable();
    assert_eq!(n, (1..=50).collect::<Vec<u32>>(), "consecutive, no gaps");
    assert_eq!(app.count("invoices").await, 50);
    // Numbering is per tenant: another business starts at 1.
    let other = app.signup("numbers2@example.com").await;
    let oc = customer(&app, &other).await;
    let first = app
        .create(&other, "invoices", json!({"customer_id": oc}))
        .await;
    assert_eq!(first["number"], "INV-000001");
}
