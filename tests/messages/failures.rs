//! What the mail server says back: a permanent refusal of the mailbox (550) fails the message
//! and marks the address bounced until it changes; a transient one (451) is retried and then
//! delivered once; a policy refusal (554 5.7.1) fails the message without blaming the address.

use serde_json::json;

use crate::harness::{Harness, now_plus};

#[tokio::test]
async fn a_550_fails_the_message_and_skips_the_address_until_the_email_changes() {
    let h = Harness::start().await;
    h.sink.reject(
        "gone@example.com",
        "550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown",
    );
    let c = h
        .customer(json!({"first_name": "Gone", "email": "gone@example.com"}))
        .await;
    let cid = c["id"].as_str().unwrap();
    let first = h.custom(cid, &now_plus(-1)).await;
    let failed = h.wait_status(first["id"].as_str().unwrap(), "failed").await;
    let error = failed["last_error"].as_str().unwrap();
    assert!(
        error.contains("550") && error.contains("User unknown"),
        "{error}"
    );
    let customer = h.get(&format!("/api/data/customers/{cid}")).await;
    assert!(customer["email_bounced_at"].is_string(), "{customer}");
    let audit = h.get(&format!("/api/data/audit_log?entity_id={cid}")).await;
    let last = audit["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["action"].as_str(), last["actor_type"].as_str()),
        (Some("email_bounced"), Some("system"))
    );

    let second = h.custom(cid, &now_plus(-1)).await;
    let skipped = h
        .wait_status(second["id"].as_str().unwrap(), "skipped")
        .await;
    assert_eq!(skipped["skip_reason"], "bounced");

    // A new address is a fresh start.
    let fixed = h
        .app
        .patch(
            &format!("/api/data/customers/{cid}"),
            &h.token,
            json!({"email": "back@example.com"}),
        )
        .await;
    assert!(fixed.data()["email_bounced_at"].is_null());
    let third = h.custom(cid, &now_plus(-1)).await;
    h.wait_status(third["id"].as_str().unwrap(), "sent").await;
    let mail = h.mail_of(third["id"].as_str().unwrap()).await;
    assert_eq!(mail.rcpt_to, ["back@example.com"]);
    assert_eq!(h.sink.count(), 1);
}

#[tokio::test]
async fn a_451_is_retried_and_the_message_is_delivered_once() {
    let h = Harness::start().await;
    h.sink.defer(
        "busy@example.com",
        1,
        "451 4.3.0 Temporary lookup failure, try again",
    );
    let c = h
        .customer(json!({"first_name": "Busy", "email": "busy@example.com"}))
        .await;
    let m = h.custom(c["id"].as_str().unwrap(), &now_plus(-1)).await;
    let id = m["id"].as_str().unwrap();
    let sent = h.wait_status(id, "sent").await;
    assert_eq!(sent["attempts"], 2);
    assert!(
        sent["last_error"].as_str().unwrap().contains("451"),
        "{sent}"
    );
    let mail = h.mail(1).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].message_id().unwrap(), format!("<{id}@localhost>"));
    let customer = h
        .get(&format!(
            "/api/data/customers/{}",
            c["id"].as_str().unwrap()
        ))
        .await;
    assert!(customer["email_bounced_at"].is_null());
    // The worker's metrics (one exporter per process, shared by the tests in it).
    let metrics = fieldwork_core::metrics_export::render();
    assert!(
        metrics.contains("fieldwork_messages_total{type=\"custom\",outcome=\"sent\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("fieldwork_message_send_lag_seconds_bucket{type=\"custom\""));
    let audit = h.get(&format!("/api/data/audit_log?entity_id={id}")).await;
    let steps: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["schedule_custom", "claim", "retry", "claim", "send"]
    );
}

#[tokio::test]
async fn a_policy_refusal_fails_the_message_but_not_the_address() {
    let h = Harness::start().await;
    h.sink
        .reject("strict@example.com", "554 5.7.1 Message rejected by policy");
    let c = h
        .customer(json!({"first_name": "Strict", "email": "strict@example.com"}))
        .await;
    let m = h.custom(c["id"].as_str().unwrap(), &now_plus(-1)).await;
    let failed = h.wait_status(m["id"].as_str().unwrap(), "failed").await;
    assert!(failed["last_error"].as_str().unwrap().contains("554"));
    let customer = h
        .get(&format!(
            "/api/data/customers/{}",
            c["id"].as_str().unwrap()
        ))
        .await;
    assert!(customer["email_bounced_at"].is_null());
}
