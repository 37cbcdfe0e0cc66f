//! The business's time zone: set at registration or with `PATCH /api/auth/me` (IANA names only,
//! audited), the zone the week view counts its days in — DST included — and the fallback zone of
//! customers without one of their own.

use fieldwork_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn a_business_registers_with_a_zone_and_can_change_it_and_its_name() {
    let app = TestApp::spawn().await;
    let r = app
        .send(
            "POST",
            "/api/auth/register",
            None,
            Some(json!({"email": "tz@example.com", "password": "correct horse battery", "business_name": "Tz", "timezone": "Europe/Paris"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.data()["timezone"], "Europe/Paris");
    let t = app.signup("plain@example.com").await;
    assert_eq!(
        app.get("/api/auth/me", &t).await.data()["timezone"],
        "UTC",
        "default"
    );

    let changed = app
        .patch(
            "/api/auth/me",
            &t,
            json!({"timezone": "Australia/Sydney", "business_name": "Plain & Co"}),
        )
        .await;
    assert_eq!(changed.data()["timezone"], "Australia/Sydney");
    assert_eq!(changed.data()["business_name"], "Plain & Co");
    let me = app.get("/api/auth/me", &t).await;
    assert_eq!(me.data()["timezone"], "Australia/Sydney");
    let id = me.data()["id"].as_str().unwrap().to_owned();
    let rows = app.audit_rows(&id).await;
    assert_eq!(
        rows.last().unwrap()["changes"]["timezone"],
        json!({"old": "UTC", "new": "Australia/Sydney"})
    );
    for bad in [
        json!({"timezone": "Mars/Olympus"}),
        json!({"timezone": null}),
        json!({"email": "new@example.com"}),
        json!({"colour": "red"}),
    ] {
        app.patch("/api/auth/me", &t, bad.clone())
            .await
            .assert_error(422, "VALIDATION_ERROR");
    }
    app.send(
        "PATCH",
        "/api/auth/me",
        None,
        Some(json!({"timezone": "UTC"})),
    )
    .await
    .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn the_week_view_counts_its_days_in_the_business_zone_across_dst() {
    let app = TestApp::spawn().await;
    let t = app.signup("berlin@example.com").await;
    app.patch("/api/auth/me", &t, json!({"timezone": "Europe/Berlin"}))
        .await
        .data();
    let c = app.create_customer(&t, json!({"first_name": "W"})).await;
    // The week of Monday 23 March 2026 in Berlin: clocks go forward on Sunday the 29th.
    for (title, at) in [
        ("sunday night before", "2026-03-22T22:59:59Z"), // 23:59:59 CET on the 22nd
        ("monday midnight", "2026-03-22T23:00:00Z"),     // 00:00 CET on the 23rd
        ("last minute", "2026-03-29T21:59:00Z"),         // 23:59 CEST on the 29th
        ("next monday", "2026-03-29T22:00:00Z"),         // 00:00 CEST on the 30th
    ] {
        app.create(
            &t,
            "tickets",
            json!({"customer_id": c["id"], "title": title, "scheduled_at": at}),
        )
        .await;
    }
    let week = app
        .get("/api/data/tickets/week?start_date=2026-03-23", &t)
        .await;
    let week = week.data();
    assert_eq!(week["timezone"], "Europe/Berlin");
    assert_eq!(week["week_start"], "2026-03-22T23:00:00Z");
    assert_eq!(
        week["week_end"], "2026-03-29T22:00:00Z",
        "167 hours: one hour skipped"
    );
    let titles: Vec<&str> = week["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["monday midnight", "last minute"]);
}

#[tokio::test]
async fn customers_without_a_zone_have_none_and_can_clear_theirs() {
    let app = TestApp::spawn().await;
    let t = app.signup("zones@example.com").await;
    let c = app.create_customer(&t, json!({"first_name": "Z"})).await;
    assert!(c["timezone"].is_null(), "the business's zone applies");
    let id = c["id"].as_str().unwrap();
    let set = app
        .patch(
            &format!("/api/data/customers/{id}"),
            &t,
            json!({"timezone": "Asia/Tokyo"}),
        )
        .await;
    assert_eq!(set.data()["timezone"], "Asia/Tokyo");
    let cleared = app
        .patch(
            &format!("/api/data/customers/{id}"),
            &t,
            json!({"timezone": null}),
        )
        .await;
    assert!(cleared.data()["timezone"].is_null());
}
