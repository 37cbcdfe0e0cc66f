//! Products end to end: exact prices as decimal strings, SKU uniqueness among live rows,
//! partial updates that change and audit only what was sent, soft delete.

use fieldwork_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn a_user_manages_products_with_exact_prices() {
    let app = TestApp::spawn().await;
    let t = app.signup("products@example.com").await;
    let p = app
        .create(
            &t,
            "products",
            json!({"name": "Air filter", "price": "19.99", "sku": "AF-1"}),
        )
        .await;
    assert_eq!(p["price"], "19.99", "money is a decimal string");
    assert_eq!(p["is_active"], true);
    let id = p["id"].as_str().unwrap();
    let whole = app
        .create(&t, "products", json!({"name": "Visit", "price": 75}))
        .await;
    assert_eq!(whole["price"], "75.00");

    let got = app.get(&format!("/api/data/products/{id}"), &t).await;
    assert_eq!(got.data(), &p);
    let list = app.get("/api/data/products?limit=1", &t).await;
    assert_eq!(list.data()["items"][0]["id"], p["id"]);
    assert_eq!(list.data()["has_more"], true);

    for bad in [json!("-0.01"), json!("1.999"), json!("lots"), json!(true)] {
        app.post("/api/data/products", &t, json!({"name": "X", "price": bad}))
            .await
            .assert_error(422, "VALIDATION_ERROR");
    }
    app.delete(&format!("/api/data/products/{id}"), &t)
        .await
        .data();
    app.get(&format!("/api/data/products/{id}"), &t)
        .await
        .assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn a_sku_names_one_live_product_and_is_freed_by_deleting_it() {
    let app = TestApp::spawn().await;
    let t = app.signup("sku@example.com").await;
    let first = app
        .create(
            &t,
            "products",
            json!({"name": "Pump", "price": "10", "sku": "P-1"}),
        )
        .await;
    let clash = app
        .post(
            "/api/data/products",
            &t,
            json!({"name": "Other", "price": "1", "sku": "p-1"}),
        )
        .await;
    clash.assert_error(409, "CONFLICT");
    let other = app
        .create(
            &t,
            "products",
            json!({"name": "Other", "price": "1", "sku": "P-2"}),
        )
        .await;
    app.patch(
        &format!("/api/data/products/{}", other["id"].as_str().unwrap()),
        &t,
        json!({"sku": "P-1"}),
    )
    .await
    .assert_error(409, "CONFLICT");
    app.delete(
        &format!("/api/data/products/{}", first["id"].as_str().unwrap()),
        &t,
    )
    .await
    .data();
    app.create(
        &t,
        "products",
        json!({"name": "New pump", "price": "12", "sku": "P-1"}),
    )
    .await;
    // Another tenant has its own SKU space.
    let u = app.signup("sku2@example.com").await;
    app.create(
        &u,
        "products",
        json!({"name": "Pump", "price": "10", "sku": "P-2"}),
    )
    .await;
}

#[tokio::test]
async fn patching_a_product_changes_and_audits_only_the_sent_fields() {
    let app = TestApp::spawn().await;
    let t = app.signup("ppatch@example.com").await;
    let p = app
        .create(
            &t,
            "products",
            json!({"name": "Valve", "description": "Brass", "price": "5.50", "sku": "V-1"}),
        )
        .await;
    let id = p["id"].as_str().unwrap();
    let patched = app
        .patch(
            &format!("/api/data/products/{id}"),
            &t,
            json!({"price": "6.25"}),
        )
        .await;
    let after = patched.data();
    assert_eq!(after["price"], "6.25");
    for field in ["name", "description", "sku", "is_active", "created_at"] {
        assert_eq!(after[field], p[field], "{field} unchanged");
    }
    let rows = app.audit_rows(id).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["action"], "update");
    assert_eq!(
        rows[1]["changes"],
        json!({"price": {"old": "5.50", "new": "6.25"}})
    );
    app.patch(&format!("/api/data/products/{id}"), &t, json!({"id": id}))
        .await
        .assert_error(422, "VALIDATION_ERROR");
    app.patch(
        &format!("/api/data/products/{id}"),
        &t,
        json!({"price": null}),
    )
    .await
    .assert_error(422, "VALIDATION_ERROR");
    assert_eq!(app.audit_rows(id).await.len(), 2);
}
