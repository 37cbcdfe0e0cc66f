//! One-click unsubscribe (RFC 8058) from a real email's `List-Unsubscribe` link: `POST` opts the
//! customer out (audited as the customer) and stops the next message; `GET` only shows a page;
//! forged, altered, other-customer and other-secret tokens are a 404 page and change nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fieldwork_core::ids::UserId;
use fieldwork_core::messages::settings::AppSecret;
use fieldwork_core::messages::unsubscribe;
use serde_json::json;

use crate::harness::{Harness, now_plus};

async fn post(h: &Harness, path: &str, body: &str) -> (u16, String) {
    let r = h
        .app
        .client
        .post(h.app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn get(h: &Harness, path: &str) -> (u16, String, String) {
    let r = h.app.client.get(h.app.url(path)).send().await.unwrap();
    let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
    (r.status().as_u16(), content_type, r.text().await.unwrap())
}

#[tokio::test]
async fn one_click_unsubscribe_from_the_email_link_stops_the_next_message() {
    let h = Harness::start().await;
    let c = h
        .customer(json!({"first_name": "Uma", "email": "uma@example.com"}))
        .await;
    let cid = c["id"].as_str().unwrap();
    let first = h.custom(cid, &now_plus(-1)).await;
    let pending = h.custom(cid, "2030-01-01T09:00:00Z").await;
    let mail = h.mail_of(first["id"].as_str().unwrap()).await;
    let link = mail.header("List-Unsubscribe").unwrap();
    let path = link
        .trim_start_matches("<http://localhost")
        .trim_end_matches('>')
        .to_owned();
    assert!(path.starts_with("/u/"), "{link}");

    // A GET (what mail scanners do) shows a confirm button and changes nothing.
    let (status, content_type, page) = get(&h, &path).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"));
    assert!(
        page.contains("<form method=\"post\"") && page.contains("Biz"),
        "{page}"
    );
    assert!(page.contains("u•••@example.com"));
    assert_eq!(
        h.get(&format!("/api/data/customers/{cid}")).await["email_opt_out"],
        false
    );

    let (status, page) = post(&h, &path, "List-Unsubscribe=One-Click").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("You are unsubscribed"));
    let customer = h.get(&format!("/api/data/customers/{cid}")).await;
    assert_eq!(customer["email_opt_out"], true);
    let audit = h.get(&format!("/api/data/audit_log?entity_id={cid}")).await;
    let entry = audit["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(entry["action"], "unsubscribe");
    assert_eq!(entry["actor_type"], "customer");
    assert_eq!(entry["actor_id"], cid);
    assert_eq!(
        entry["changes"],
        json!({"email_opt_out": {"old": false, "new": true}})
    );
    // Pending messages are cancelled, and a later one is skipped, not sent.
    assert_eq!(
        h.message(pending["id"].as_str().unwrap()).await["status"],
        "cancelled"
    );
    let next = h.custom(cid, &now_plus(-1)).await;
    let skipped = h.wait_status(next["id"].as_str().unwrap(), "skipped").await;
    assert_eq!(skipped["skip_reason"], "opted_out");
    assert_eq!(h.sink.count(), 1);

    // Twice is harmless; without the one-click body nothing happens.
    assert_eq!(post(&h, &path, "List-Unsubscribe=One-Click").await.0, 200);
    assert_eq!(post(&h, &path, "hello").await.0, 400);
}

#[tokio::test]
async fn forged_altered_and_other_customer_tokens_do_nothing() {
    let h = Harness::start().await;
    let victim = h
        .customer(json!({"first_name": "Vic", "email": "vic@example.com"}))
        .await;
    let vid: uuid::Uuid = victim["id"].as_str().unwrap().parse().unwrap();
    let mine = h
        .customer(json!({"first_name": "Me", "email": "me@example.com"}))
        .await;
    let mid: uuid::Uuid = mine["id"].as_str().unwrap().parse().unwrap();
    let user = UserId(h.app.user_id(&h.token).await);
    let secret = &h.settings.app_secret;
    let valid = unsubscribe::sign(secret, user, mid).unwrap();

    // My token with the victim's id put in: the signature no longer matches.
    let mut raw = URL_SAFE_NO_PAD.decode(&valid).unwrap();
    raw[17..33].copy_from_slice(vid.as_bytes());
    let moved = URL_SAFE_NO_PAD.encode(&raw);
    // One character changed.
    let mut altered = valid.clone().into_bytes();
    altered[40] = if altered[40] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    // Signed with another secret (someone guessing ours).
    let other = AppSecret::new("not-the-secret-of-this-deployment-000").unwrap();
    let forged = unsubscribe::sign(&other, user, vid).unwrap();
    // Genuinely signed, but naming another business with our customer's id: that business
    // cannot see the customer (row-level security), so the link is simply not valid.
    let tenant_b = h.app.signup("b@example.com").await;
    let b_user = UserId(h.app.user_id(&tenant_b).await);
    let cross = unsubscribe::sign(secret, b_user, vid).unwrap();

    for token in [
        moved,
        altered,
        forged,
        cross,
        "garbage".to_owned(),
        String::new(),
    ] {
        let path = format!("/u/{token}");
        let (status, _, page) = get(&h, &path).await;
        if !token.is_empty() {
            assert_eq!(status, 404, "GET {token}");
            assert!(page.contains("This link is not valid"));
        }
        let (status, _) = post(&h, &path, "List-Unsubscribe=One-Click").await;
        assert!(status == 404 || status == 405, "POST {token}: {status}");
    }
    for id in [vid, mid] {
        let c = h.get(&format!("/api/data/customers/{id}")).await;
        assert_eq!(c["email_opt_out"], false, "{c}");
    }
    // The genuine token works (and only for its own customer).
    let (status, _) = post(&h, &format!("/u/{valid}"), "List-Unsubscribe=One-Click").await;
    assert_eq!(status, 200);
    assert_eq!(
        h.get(&format!("/api/data/customers/{mid}")).await["email_opt_out"],
        true
    );
    assert_eq!(
        h.get(&format!("/api/data/customers/{vid}")).await["email_opt_out"],
        false
    );
}
