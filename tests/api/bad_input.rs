//! Bad input gets the documented code and leaves the database unchanged.

use fieldwork_tests::TestApp;
use serde_json::json;

async fn unchanged(app: &TestApp, customers: i64, audits: i64) {
    assert_eq!(app.count("customers").await, customers);
    assert_eq!(app.count("audit_log").await, audits);
}

#[tokio::test]
async fn malformed_json_is_a_400_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let token = app.signup("bad@example.com").await;
    for body in ["{", "{\"first_name\": }", "not json", "", "[1,2"] {
        let resp = app
            .client
            .post(app.url("/api/data/customers"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        TestApp::read(resp)
            .await
            .assert_error(400, "MALFORMED_REQUEST");
    }
    unchanged(&app, 0, 0).await;
}

#[tokio::test]
async fn a_body_that_is_not_json_by_content_type_is_a_415() {
    let app = TestApp::spawn().await;
    let token = app.signup("ct@example.com").await;
    let resp = app
        .client
        .post(app.url("/api/data/customers"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body(r#"{"first_name":"Ann"}"#)
        .send()
        .await
        .unwrap();
    TestApp::read(resp)
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    unchanged(&app, 0, 0).await;
}

#[tokio::test]
async fn wrong_types_unknown_and_read_only_fields_are_422() {
    let app = TestApp::spawn().await;
    let token = app.signup("types@example.com").await;
    let cases = [
        (json!({"first_name": 42}), "first_name"),
        (
            json!({"first_name": "Ann", "email_opt_out": "yes"}),
            "email_opt_out",
        ),
        (
            json!({"first_name": "Ann", "attributes": [1, 2]}),
            "attributes",
        ),
        (
            json!({"first_name": "Ann", "favourite_colour": "red"}),
            "favourite_colour",
        ),
        (
            json!({"first_name": "Ann", "id": "01900000-0000-7000-8000-000000000000"}),
            "id",
        ),
        (
            json!({"first_name": "Ann", "user_id": "01900000-0000-7000-8000-000000000000"}),
            "user_id",
        ),
        (
            json!({"first_name": "Ann", "timezone": "Mars/Base"}),
            "timezone",
        ),
        (json!({"first_name": "Ann", "email": "ann@"}), "email"),
        (json!({"first_name": "A".repeat(101)}), "first_name"),
        (json!({"first_name": "Nul\u{0}byte"}), "first_name"),
        (
            json!({"first_name": "Ann", "attributes": {"k": "nul\u{0}"}}),
            "attributes",
        ),
        (json!({}), "first_name"),
        (json!([]), "body"),
    ];
    for (body, field) in cases {
        let r = app.post("/api/data/customers", &token, body.clone()).await;
        r.assert_error(422, "VALIDATION_ERROR");
        assert!(
            r.body["error"]["details"]["fields"].get(field).is_some(),
            "{body} should name {field}: {}",
            r.body
        );
    }
    unchanged(&app, 0, 0).await;

    let c = app
        .create_customer(&token, json!({"first_name": "Ann"}))
        .await;
    let path = format!("/api/data/customers/{}", c["id"].as_str().unwrap());
    for body in [
        json!({"created_at": "2020-01-01T00:00:00Z"}),
        json!({"deleted_at": null}),
        json!({"first_name": null}),
        json!({"shoe_size": 9}),
        json!({"timezone": 5}),
    ] {
        app.patch(&path, &token, body)
            .await
            .assert_error(422, "VALIDATION_ERROR");
    }
    unchanged(&app, 1, 1).await;
}

#[tokio::test]
async fn a_two_mebibyte_body_is_a_413() {
    let app = TestApp::spawn().await;
    let token = app.signup("big@example.com").await;
    let notes = "x".repeat(2 * 1024 * 1024);
    let r = app
        .post(
            "/api/data/customers",
            &token,
            json!({"first_name": "Big", "notes": notes}),
        )
        .await;
    r.assert_error(413, "PAYLOAD_TOO_LARGE");
    unchanged(&app, 0, 0).await;
}

#[tokio::test]
async fn an_invalid_uuid_in_the_path_is_a_validation_error() {
    let app = TestApp::spawn().await;
    let token = app.signup("uuid@example.com").await;
    for path in [
        "/api/data/customers/not-a-uuid",
        "/api/data/customers/1%27%20OR%201=1",
        "/api/data/audit_log/123",
    ] {
        let r = app.get(path, &token).await;
        r.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(r.body["error"]["details"]["fields"]["id"], "must be a UUID");
    }
    app.patch(
        "/api/data/customers/xyz",
        &token,
        json!({"first_name": "X"}),
    )
    .await
    .assert_error(422, "VALIDATION_ERROR");
    app.delete("/api/data/customers/xyz", &token)
        .await
        .assert_error(422, "VALIDATION_ERROR");
}

#[tokio::test]
async fn unknown_routes_and_bad_paging_parameters_answer_in_the_envelope() {
    let app = TestApp::spawn().await;
    let token = app.signup("routes@example.com").await;
    app.get("/api/data/spaceships", &token)
        .await
        .assert_error(404, "NOT_FOUND");
    app.send("GET", "/nothing-here", None, None)
        .await
        .assert_error(404, "NOT_FOUND");
    app.send("PUT", "/api/data/customers", Some(&token), Some(json!({})))
        .await
        .assert_error(405, "METHOD_NOT_ALLOWED");
    for q in ["limit=0", "limit=101", "limit=ten", "cursor=%%%"] {
        let r = app.get(&format!("/api/data/customers?{q}"), &token).await;
        assert!(matches!(r.status, 400 | 422), "{q}: {}", r.status);
        assert_eq!(r.body["success"], false);
    }
}

#[tokio::test]
async fn internal_errors_do_not_leak_details() {
    let app = TestApp::spawn().await;
    let token = app.signup("leak@example.com").await;
    // Break the table the handler needs: the client sees a generic 500, nothing of the cause.
    let pool = app.db.superuser_pool().await;
    sqlx::query("REVOKE SELECT ON customers FROM fieldwork_app")
        .execute(&pool)
        .await
        .unwrap();
    let r = app.get("/api/data/customers", &token).await;
    r.assert_error(500, "INTERNAL_ERROR");
    let text = r.body.to_string().to_lowercase();
    assert!(
        !text.contains("permission") && !text.contains("customers") && !text.contains("sql"),
        "{text}"
    );
}
