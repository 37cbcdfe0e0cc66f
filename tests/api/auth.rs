//! Registration, login, sessions (bearer and cookie), logout, expiry.

use fieldwork_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn a_user_registers_logs_in_and_sees_itself() {
    let app = TestApp::spawn().await;
    let r = app
        .send("POST", "/api/auth/register", None, Some(json!({
            "email": "Owner@Plumbing.example", "password": "s3cret-pass", "business_name": "Pipes Ltd"
        })))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.data()["email"], "owner@plumbing.example");
    assert!(r.data().get("password_hash").is_none());

    let r = app
        .send(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": "owner@plumbing.example", "password": "s3cret-pass"})),
        )
        .await;
    assert_eq!(r.status, 200);
    let token = r.data()["token"].as_str().unwrap();
    assert!(token.len() >= 43, "token carries at least 256 bits");
    let cookie = r.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with(&format!("session_token={token}")));
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    assert!(
        !cookie.contains("Secure"),
        "plain http base url: no Secure flag"
    );

    let me = app.get("/api/auth/me", token).await;
    assert_eq!(me.data()["business_name"], "Pipes Ltd");

    // The token is stored only as a hash.
    let pool = app.db.superuser_pool().await;
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
    )
    .bind(token)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stored, 1);
    let plain: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sessions WHERE encode(token_hash, 'escape') = $1")
            .bind(token)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(plain, 0);
}

#[tokio::test]
async fn the_session_cookie_authenticates_like_the_bearer_header() {
    let app = TestApp::spawn().await;
    let token = app.signup("cookie@example.com").await;
    let resp = app
        .client
        .get(app.url("/api/auth/me"))
        .header("cookie", format!("theme=dark; session_token={token}"))
        .send()
        .await
        .unwrap();
    let r = TestApp::read(resp).await;
    assert_eq!(r.data()["email"], "cookie@example.com");
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.signup("known@example.com").await;
    let wrong = app
        .send(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": "known@example.com", "password": "wrong-password"})),
        )
        .await;
    let unknown = app
        .send(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": "nobody@example.com", "password": "wrong-password"})),
        )
        .await;
    wrong.assert_error(401, "UNAUTHORIZED");
    unknown.assert_error(401, "UNAUTHORIZED");
    assert_eq!(wrong.body, unknown.body);
}

#[tokio::test]
async fn registering_an_email_twice_is_a_conflict() {
    let app = TestApp::spawn().await;
    app.signup("twice@example.com").await;
    let r = app
        .send(
            "POST",
            "/api/auth/register",
            None,
            Some(json!({
                "email": "TWICE@example.com", "password": "another-pass", "business_name": "Copy"
            })),
        )
        .await;
    r.assert_error(409, "CONFLICT");
    assert_eq!(app.count("users").await, 1);
}

#[tokio::test]
async fn registration_input_is_validated() {
    let app = TestApp::spawn().await;
    let r = app
        .send(
            "POST",
            "/api/auth/register",
            None,
            Some(json!({"email": "not-an-email", "password": "short", "business_name": ""})),
        )
        .await;
    r.assert_error(422, "VALIDATION_ERROR");
    let fields = &r.body["error"]["details"]["fields"];
    assert!(
        fields["email"].is_string()
            && fields["password"].is_string()
            && fields["business_name"].is_string()
    );
    assert_eq!(app.count("users").await, 0);
}

#[tokio::test]
async fn logout_ends_the_session_and_clears_the_cookie() {
    let app = TestApp::spawn().await;
    let token = app.signup("bye@example.com").await;
    let r = app
        .send("POST", "/api/auth/logout", Some(&token), None)
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    app.get("/api/auth/me", &token)
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn missing_forged_and_expired_tokens_are_unauthorized() {
    let app = TestApp::spawn().await;
    let token = app.signup("expiry@example.com").await;
    app.send("GET", "/api/data/customers", None, None)
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.get("/api/data/customers", "forged-token-value")
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.get("/api/data/customers", &"x".repeat(5000))
        .await
        .assert_error(401, "UNAUTHORIZED");

    let pool = app.db.superuser_pool().await;
    sqlx::query("UPDATE sessions SET expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    app.get("/api/data/customers", &token)
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn repeated_failed_logins_are_rate_limited() {
    let app = TestApp::spawn().await;
    app.signup("target@example.com").await;
    for _ in 0..10 {
        app.send(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": "target@example.com", "password": "guess-guess"})),
        )
        .await
        .assert_error(401, "UNAUTHORIZED");
    }
    let r = app
        .send(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": "target@example.com", "password": "correct horse battery"})),
        )
        .await;
    r.assert_error(429, "RATE_LIMITED");
    assert!(
        r.body["error"]["details"]["retry_after_seconds"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    let r = app.send("GET", "/healthz", None, None).await;
    assert_eq!(r.data()["status"], "ok");
    let r = app.send("GET", "/readyz", None, None).await;
    assert_eq!(r.data()["status"], "ready");
    assert!(r.headers.get("x-request-id").is_some());
}

#[tokio::test]
async fn readiness_fails_when_a_migration_is_missing() {
    let app = TestApp::spawn().await;
    let pool = app.db.superuser_pool().await;
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .execute(&pool)
    .await
    .unwrap();
    app.send("GET", "/readyz", None, None)
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");
}

#[tokio::test]
async fn cookies_are_secure_when_the_public_url_is_https() {
    let app = TestApp::spawn_with(|c| c.public_base_url = "https://crm.example.com".into()).await;
    app.send(
        "POST",
        "/api/auth/register",
        None,
        Some(json!({
            "email": "tls@example.com", "password": "correct horse battery", "business_name": "TLS"
        })),
    )
    .await;
    let r = app
        .send(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": "tls@example.com", "password": "correct horse battery"})),
        )
        .await;
    assert!(
        r.headers
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
}

#[tokio::test]
async fn metrics_are_served_on_the_internal_listener_only_never_on_the_public_one() {
    let app = TestApp::spawn().await;
    let public = app.send("GET", "/metrics", None, None).await;
    public.assert_error(404, "NOT_FOUND");
    let internal = app.client.get(app.metrics_url()).send().await.unwrap();
    assert_eq!(internal.status(), 200);
    let text = internal.text().await.unwrap();
    assert!(text.contains("fieldwork_http_requests_total"), "{text}");
    assert!(
        text.contains(r#"route="unmatched",status="4xx""#),
        "the public probe counted as an unmatched route: {text}"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status_class() {
    let app = TestApp::spawn().await;
    let token = app.signup("metrics@example.com").await;
    app.get("/api/data/customers", &token).await;
    app.get(
        &format!("/api/data/customers/{}", uuid::Uuid::now_v7()),
        &token,
    )
    .await;
    let resp = app.client.get(app.metrics_url()).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = resp.text().await.unwrap();
    assert!(text.contains(r#"fieldwork_http_requests_total{method="GET",route="/api/data/customers",status="2xx"}"#), "{text}");
    assert!(
        text.contains(r#"route="/api/data/customers/{id}",status="4xx""#),
        "ids never become labels"
    );
    assert!(text.contains("fieldwork_http_request_duration_seconds_bucket"));
    assert!(text.contains(r#"fieldwork_db_pool_connections{pool="app",state="idle"}"#));
    assert!(text.contains(r#"fieldwork_db_pool_max_connections{pool="app"}"#));
}
