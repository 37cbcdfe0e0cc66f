//! Login and registration under abuse: input that cannot be credentials is refused before the
//! throttle and the database, only real failures count against an account, one normal form of
//! an email for the lock and the lookup, per-address limits, a saturated password hasher
//! answering 503 instead of queueing, and auth responses that are never cached.

use fieldwork_tests::{TestApp, TestResponse};
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

async fn login(app: &TestApp, email: &str, password: &str) -> TestResponse {
    app.send(
        "POST",
        "/api/auth/login",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
}

#[tokio::test]
async fn impossible_credentials_are_401_and_never_reach_the_throttle() {
    let app = TestApp::spawn().await;
    app.signup("owner@abuse.example").await;
    let huge = format!("{}@abuse.example", "a".repeat(100_000));
    for email in [
        "owner\0@abuse.example",
        "owner@abuse.example\u{7}",
        "ownér@abuse.example",
        huge.as_str(),
        "",
    ] {
        login(&app, email, PASSWORD)
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
    login(&app, "owner@abuse.example", "")
        .await
        .assert_error(401, "UNAUTHORIZED");
    assert_eq!(app.state.login_throttle.tracked(), 0);
}

#[tokio::test]
async fn over_long_passwords_do_not_lock_the_owner_out() {
    let app = TestApp::spawn().await;
    app.signup("victim@abuse.example").await;
    for len in [1025, 4096, 512 * 1024] {
        for _ in 0..5 {
            login(&app, "victim@abuse.example", &"p".repeat(len))
                .await
                .assert_error(401, "UNAUTHORIZED");
        }
    }
    assert_eq!(
        app.state.login_throttle.tracked(),
        0,
        "none of them counted"
    );
    let r = login(&app, "victim@abuse.example", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn a_recased_padded_or_unicode_lookalike_email_cannot_bypass_a_lock() {
    let app = TestApp::spawn().await;
    app.signup("alice@abuse.example").await;
    for _ in 0..10 {
        login(&app, "alice@abuse.example", "wrong-password")
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
    for variant in ["ALICE@abuse.example", "  Alice@Abuse.Example "] {
        login(&app, variant, PASSWORD)
            .await
            .assert_error(429, "RATE_LIMITED");
    }
    // PostgreSQL's lower() maps 'İ' to 'i': the old lookup found alice's account under this
    // name while the throttle keyed it apart. Now it is not an email at all.
    for lookalike in [
        "alİce@abuse.example",
        "alıce@abuse.example",
        "\u{212A}@abuse.example",
    ] {
        login(&app, lookalike, PASSWORD)
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
}

#[tokio::test]
async fn logins_and_registrations_are_limited_per_client_address() {
    let app = TestApp::spawn_with(|c| {
        c.auth.login_per_ip_per_minute = 3;
        c.auth.register_per_ip_per_hour = 2;
    })
    .await;
    for _ in 0..3 {
        login(&app, "nobody@abuse.example", "whatever-password")
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
    let r = login(&app, "nobody@abuse.example", "whatever-password").await;
    r.assert_error(429, "RATE_LIMITED");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Without trusted proxies X-Forwarded-For is the client's own claim: ignored.
    let spoofed = app
        .client
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", "203.0.113.7")
        .json(&json!({"email": "nobody@abuse.example", "password": "whatever-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(spoofed.status(), 429);

    for i in 0..2 {
        let r = app
            .send(
                "POST",
                "/api/auth/register",
                None,
                Some(json!({"email": format!("r{i}@abuse.example"), "password": PASSWORD, "business_name": "B"})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    app.send(
        "POST",
        "/api/auth/register",
        None,
        Some(json!({"email": "r9@abuse.example", "password": PASSWORD, "business_name": "B"})),
    )
    .await
    .assert_error(429, "RATE_LIMITED");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let app = TestApp::spawn_with(|c| {
        c.auth.login_per_ip_per_minute = 2;
        c.http.trusted_proxy_hops = 1;
    })
    .await;
    let attempt = |client_ip: &'static str| {
        app.client
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", format!("198.51.100.1, {client_ip}"))
            .json(&json!({"email": "nobody@abuse.example", "password": "whatever-password"}))
            .send()
    };
    for _ in 0..2 {
        assert_eq!(attempt("203.0.113.1").await.unwrap().status(), 401);
    }
    assert_eq!(attempt("203.0.113.1").await.unwrap().status(), 429);
    assert_eq!(
        attempt("203.0.113.2").await.unwrap().status(),
        401,
        "the address the proxy saw counts, not the one the client wrote before it"
    );
}

#[tokio::test]
async fn a_saturated_password_hasher_answers_503_with_retry_after() {
    let app = TestApp::spawn().await;
    app.signup("busy@abuse.example").await;
    let held = app.state.hashing.hold_all().await;
    let r = login(&app, "busy@abuse.example", PASSWORD).await;
    r.assert_error(503, "SERVICE_UNAVAILABLE");
    assert_eq!(r.headers["retry-after"], "1");
    app.send(
        "POST",
        "/api/auth/register",
        None,
        Some(json!({"email": "new@abuse.example", "password": PASSWORD, "business_name": "B"})),
    )
    .await
    .assert_error(503, "SERVICE_UNAVAILABLE");
    assert_eq!(
        app.state.login_throttle.tracked(),
        0,
        "busy is not a failed login"
    );
    drop(held);
    assert_eq!(
        login(&app, "busy@abuse.example", PASSWORD).await.status,
        200
    );
}

#[tokio::test]
async fn auth_responses_are_never_cached() {
    let app = TestApp::spawn().await;
    let register = app
        .send(
            "POST",
            "/api/auth/register",
            None,
            Some(
                json!({"email": "cache@abuse.example", "password": PASSWORD, "business_name": "B"}),
            ),
        )
        .await;
    let ok = login(&app, "cache@abuse.example", PASSWORD).await;
    let token = ok.data()["token"].as_str().unwrap().to_owned();
    let failed = login(&app, "cache@abuse.example", "wrong-password").await;
    let me = app.get("/api/auth/me", &token).await;
    let anonymous = app.send("GET", "/api/auth/me", None, None).await;
    let logout = app
        .send("POST", "/api/auth/logout", Some(&token), None)
        .await;
    for r in [&register, &ok, &failed, &me, &anonymous, &logout] {
        assert_eq!(r.headers["cache-control"], "no-store", "{}", r.body);
    }
}
