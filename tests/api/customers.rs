//! Customers end to end: create, read, update, search, page, soft delete, and their audit.

use fieldwork_tests::TestApp;
use serde_json::{Value, json};

#[tokio::test]
async fn a_user_manages_customers_end_to_end() {
    let app = TestApp::spawn().await;
    let token = app.signup("crud@example.com").await;

    let created = app
        .create_customer(&token, json!({
            "first_name": "Margaret", "last_name": "Hamilton", "email": "Margaret@Example.com",
            "phone": "+1 (555) 010-2000", "address": "1 Apollo Way", "timezone": "America/New_York",
            "notes": "Side gate", "attributes": {"pet": {"type": "dog"}}, "email_opt_out": false
        }))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["email"], "margaret@example.com");
    assert_eq!(created["timezone"], "America/New_York");
    assert_eq!(created["attributes"]["pet"]["type"], "dog");
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7);

    let got = app.get(&format!("/api/data/customers/{id}"), &token).await;
    assert_eq!(got.data(), &created);

    let patched = app
        .patch(
            &format!("/api/data/customers/{id}"),
            &token,
            json!({"phone": null, "notes": "Front door"}),
        )
        .await;
    assert_eq!(patched.data()["phone"], Value::Null);
    assert_eq!(patched.data()["notes"], "Front door");
    assert_eq!(
        patched.data()["first_name"],
        "Margaret",
        "unsent fields keep their value"
    );

    app.create_customer(
        &token,
        json!({"first_name": "Grace", "last_name": "Hopper"}),
    )
    .await;
    let found = app.get("/api/data/customers?q=hamiltn", &token).await;
    let names: Vec<&str> = found.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["last_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Hamilton"], "fuzzy search tolerates a typo");
    let found = app
        .get("/api/data/customers?q=margaret%40example", &token)
        .await;
    assert_eq!(
        found.data()["items"].as_array().unwrap().len(),
        1,
        "search covers email"
    );

    let page = app.get("/api/data/customers?limit=1", &token).await;
    assert_eq!(page.data()["items"].as_array().unwrap().len(), 1);
    assert_eq!(page.data()["has_more"], true);
    let cursor = page.data()["next_cursor"].as_str().unwrap().to_owned();
    let page2 = app
        .get(
            &format!("/api/data/customers?limit=1&cursor={cursor}"),
            &token,
        )
        .await;
    assert_eq!(page2.data()["items"][0]["first_name"], "Grace");
    assert_eq!(page2.data()["has_more"], false);

    let del = app
        .delete(&format!("/api/data/customers/{id}"), &token)
        .await;
    assert_eq!(del.status, 200);
    app.get(&format!("/api/data/customers/{id}"), &token)
        .await
        .assert_error(404, "NOT_FOUND");
    app.delete(&format!("/api/data/customers/{id}"), &token)
        .await
        .assert_error(404, "NOT_FOUND");
    let list = app.get("/api/data/customers", &token).await;
    assert_eq!(list.data()["items"].as_array().unwrap().len(), 1);
    let search = app.get("/api/data/customers?q=hamilton", &token).await;
    assert!(
        search.data()["items"].as_array().unwrap().is_empty(),
        "deleted rows are not found"
    );

    // The soft delete went through the app role (RLS applies) and kept the row.
    let pool = app.db.superuser_pool().await;
    let deleted: bool =
        sqlx::query_scalar("SELECT deleted_at IS NOT NULL FROM customers WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(deleted);
}

#[tokio::test]
async fn every_successful_write_leaves_exactly_one_audit_row_with_its_changes() {
    let app = TestApp::spawn().await;
    let token = app.signup("audit@example.com").await;
    let c = app
        .create_customer(
            &token,
            json!({"first_name": "Ada", "email": "ada@example.com"}),
        )
        .await;
    let id = c["id"].as_str().unwrap();

    let rows = audit_of(&app, &token, id).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["action"], "create");
    assert_eq!(
        rows[0]["changes"]["first_name"],
        json!({"old": null, "new": "Ada"})
    );
    assert!(rows[0]["request_id"].is_string());

    app.patch(
        &format!("/api/data/customers/{id}"),
        &token,
        json!({"last_name": "Lovelace", "first_name": "Ada"}),
    )
    .await
    .data();
    let rows = audit_of(&app, &token, id).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["action"], "update");
    assert_eq!(
        rows[1]["changes"],
        json!({"last_name": {"old": null, "new": "Lovelace"}}),
        "only what changed"
    );

    // A patch that changes nothing writes no audit row.
    app.patch(
        &format!("/api/data/customers/{id}"),
        &token,
        json!({"first_name": "Ada"}),
    )
    .await
    .data();
    assert_eq!(audit_of(&app, &token, id).await.len(), 2);

    // Failed writes leave neither a change nor an audit row.
    app.patch(
        &format!("/api/data/customers/{id}"),
        &token,
        json!({"email": "broken"}),
    )
    .await
    .assert_error(422, "VALIDATION_ERROR");
    app.post("/api/data/customers", &token, json!({"first_name": ""}))
        .await
        .assert_error(422, "VALIDATION_ERROR");
    assert_eq!(audit_of(&app, &token, id).await.len(), 2);
    assert_eq!(app.count("audit_log").await, 2);
    assert_eq!(
        app.get(&format!("/api/data/customers/{id}"), &token)
            .await
            .data()["email"],
        "ada@example.com"
    );

    app.delete(&format!("/api/data/customers/{id}"), &token)
        .await
        .data();
    let rows = audit_of(&app, &token, id).await;
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2]["action"], "delete");
    assert!(rows[2]["changes"]["deleted_at"]["new"].is_string());

    let one = app
        .get(
            &format!("/api/data/audit_log/{}", rows[0]["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(one.data()["action"], "create");
}

#[tokio::test]
async fn the_audit_log_is_read_only() {
    let app = TestApp::spawn().await;
    let token = app.signup("ro@example.com").await;
    app.post(
        "/api/data/audit_log",
        &token,
        json!({"entity_type": "customer"}),
    )
    .await
    .assert_error(405, "METHOD_NOT_ALLOWED");
    // Even through the app's own database role: no UPDATE or DELETE privilege.
    let user = app.user_id(&token).await;
    let mut tx = fieldwork_core::db::begin_tenant(&app.pool, fieldwork_core::ids::UserId(user))
        .await
        .unwrap();
    let err = sqlx::query("DELETE FROM audit_log")
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
}

#[tokio::test]
async fn sql_injection_strings_are_stored_verbatim_in_every_text_field() {
    let app = TestApp::spawn().await;
    let token = app.signup("inject@example.com").await;
    let evil = "Robert'); DROP TABLE customers;--";
    let body = json!({
        "first_name": evil, "last_name": "' OR '1'='1", "address": "1; DELETE FROM users; --",
        "notes": "$$; SELECT pg_sleep(10); $$", "attributes": {"k'; --": "v\"); --"},
        "phone": "+1 555 0100", "timezone": "UTC"
    });
    let c = app.create_customer(&token, body.clone()).await;
    for field in ["first_name", "last_name", "address", "notes", "attributes"] {
        assert_eq!(c[field], body[field], "{field}");
    }
    let found = app
        .get(
            &format!("/api/data/customers?q={}", urlencode("DROP TABLE")),
            &token,
        )
        .await;
    assert_eq!(found.data()["items"][0]["first_name"], evil);
    app.create_customer(
        &token,
        json!({"first_name": "Alice", "last_name": "Benign"}),
    )
    .await;
    // A wildcard / tautology in the search term matches text, it does not widen the query.
    let found = app
        .get(
            &format!("/api/data/customers?q={}", urlencode("%' OR 1=1 --")),
            &token,
        )
        .await;
    assert!(
        found.data()["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["first_name"] != "Alice")
    );
    let found = app
        .get(&format!("/api/data/customers?q={}", urlencode("%")), &token)
        .await;
    assert!(
        found.data()["items"].as_array().unwrap().is_empty(),
        "% is a literal, not a wildcard"
    );
    let page = app
        .get(
            &format!("/api/data/customers?cursor={}", urlencode("' OR 1=1 --")),
            &token,
        )
        .await;
    page.assert_error(422, "VALIDATION_ERROR");
    assert_eq!(app.count("customers").await, 2);
    assert_eq!(app.count("users").await, 1);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn audit_of(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let path = format!("/api/data/audit_log?entity_type=customer&entity_id={id}");
    app.get(&path, token).await.data()["items"]
        .as_array()
        .unwrap()
        .clone()
}
