//! The `openai` provider against the in-process stub: what the request carries, and how each
//! kind of answer ends (proposal, snooze on Retry-After, retries with backoff, failure with the
//! reason). The ticket and its close-out are never affected.

use std::time::Duration;

use fieldwork_tests::TestApp;
use serde_json::{Value, json};

use super::stub::{LlmStub, Reply};
use super::{Visit, Worker, hurry_retries, job_row, limit_attempts, openai_settings};

const NOTES: &str = "Elderly customer. Dog named Biscuit barks a lot. Gate code 4521.";

/// A valid strict-mode answer: every category, null where the notes say nothing.
fn valid_answer() -> Value {
    json!({
        "customer_demographic": {"value": "elderly", "evidence": ["Elderly customer"]},
        "pet": {"value": {"type": "dog", "name": "Biscuit"}, "evidence": ["Dog named Biscuit"]},
        "property_notes": {"value": "Gate code 4521", "evidence": ["Gate code 4521"]},
        "equipment_needed": null,
        "service_preferences": null,
        "property_details": null,
        "vehicle": null,
        "next_service_due": null
    })
}

/// Starts a stub with `replies`, closes a visit out, optionally limits attempts, then starts
/// the worker (so the limit is in place before the first run).
async fn run(replies: Vec<Reply>, max_attempts: Option<i32>) -> (TestApp, LlmStub, Visit, Worker) {
    let app = TestApp::spawn().await;
    let stub = LlmStub::start(replies).await;
    let visit = Visit::new(&app, "llm@example.com").await;
    visit.close_out(&app, NOTES).await;
    if let Some(n) = max_attempts {
        limit_attempts(&app.db.superuser_pool().await, n).await;
    }
    let worker = Worker::start(&app, openai_settings(&stub.base_url));
    (app, stub, visit, worker)
}

/// The ticket failed with a reason containing `expected`, and nothing else changed.
fn assert_failed(ticket: &Value, expected: &str) {
    assert_eq!(ticket["status"], "completed", "the close-out stands");
    assert_eq!(ticket["technician_notes"], NOTES);
    assert_eq!(ticket["extraction"]["status"], "failed", "{ticket}");
    assert_eq!(ticket["extraction"]["provider"], "openai");
    let error = ticket["extraction"]["error"].as_str().unwrap();
    assert!(error.contains(expected), "{error:?} mentions {expected:?}");
    assert!(!error.contains("Biscuit"), "no note content in the reason");
    assert!(ticket["extracted_attributes"].is_null());
}

#[tokio::test]
async fn a_valid_answer_becomes_a_proposal_and_the_request_carries_the_schema_temperature_and_model()
 {
    // A non-standard finish_reason (llama.cpp and others) must not fail the call.
    let reply = Reply::content(&valid_answer().to_string(), "eos");
    let (app, stub, visit, worker) = run(vec![reply], None).await;
    let ticket = visit.answered(&app).await;
    worker.stop().await;

    let e = &ticket["extraction"];
    assert_eq!(e["status"], "proposed", "{ticket}");
    assert_eq!(
        (&e["provider"], &e["model"]),
        (&json!("openai"), &json!("test-model"))
    );
    assert!(
        e["prompt_version"]
            .as_str()
            .unwrap()
            .starts_with("ticket_attributes-")
    );
    assert!(e["extracted_at"].is_string() && e.get("error").is_none());
    let attributes = ticket["extracted_attributes"].as_object().unwrap();
    let mut categories: Vec<&str> = attributes.keys().map(String::as_str).collect();
    categories.sort_unstable();
    assert_eq!(
        categories,
        ["customer_demographic", "pet", "property_notes"],
        "null is absent"
    );
    assert_eq!(
        attributes["pet"]["value"],
        json!({"type": "dog", "name": "Biscuit"})
    );
    assert_eq!(attributes["pet"]["evidence"], json!(["Dog named Biscuit"]));

    let received = stub.received();
    assert_eq!(received.len(), 1);
    let body = &received[0].body;
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["temperature"], 0.0);
    assert_eq!(body["max_tokens"], 800);
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["strict"], true);
    let schema = fieldwork_core::extraction::schema().unwrap();
    assert_eq!(
        body["response_format"]["json_schema"]["schema"],
        schema.strict_response_schema()
    );
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(
        (&messages[0]["role"], &messages[1]["role"]),
        (&json!("system"), &json!("user"))
    );
    assert!(
        messages[0]["content"]
            .as_str()
            .unwrap()
            .contains("next_service_due")
    );
    assert!(messages[1]["content"].as_str().unwrap().contains(NOTES));
    assert_eq!(
        received[0].authorization.as_deref(),
        Some("Bearer test-key")
    );

    let audit = app.audit_rows(&visit.ticket).await;
    assert!(
        audit.iter().any(|r| r["action"] == "extract_attributes"),
        "{audit:?}"
    );
    let metrics = fieldwork_core::metrics_export::render();
    assert!(
        metrics.contains("fieldwork_llm_requests_total{"),
        "{metrics}"
    );
    assert!(metrics.contains("fieldwork_llm_tokens_total{kind=\"prompt\"}"));
    assert!(metrics.contains("fieldwork_llm_request_seconds_bucket{"));
}

#[tokio::test]
async fn retry_after_on_a_429_or_503_snoozes_without_spending_an_attempt() {
    let replies = vec![
        Reply::status(429, &[("retry-after", "2")]),
        // An HTTP date two seconds after the reply (whole seconds: at least one).
        Reply::status(503, &[("retry-after", "{in:2}")]),
        Reply::answer(&valid_answer()),
    ];
    let (app, stub, visit, worker) = run(replies, None).await;
    let ticket = visit.answered(&app).await;
    worker.stop().await;
    assert_eq!(ticket["extraction"]["status"], "proposed", "{ticket}");
    let received = stub.received();
    assert_eq!(received.len(), 3);
    let waited = received[1].at - received[0].at;
    assert!(
        waited >= Duration::from_millis(1900),
        "Retry-After: 2 honoured ({waited:?})"
    );
    assert!(
        received[2].at - received[1].at >= Duration::from_millis(900),
        "HTTP date honoured"
    );
    let su = app.db.superuser_pool().await;
    assert_eq!(
        job_row(&su).await,
        (1, "completed".to_owned()),
        "snoozes spend no attempt"
    );
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_until_the_last_attempt_then_fail() {
    let (app, stub, visit, worker) = run(vec![Reply::status(500, &[])], Some(3)).await;
    let hurry = hurry_retries(app.db.superuser_pool().await);
    let ticket = visit.answered(&app).await;
    hurry.abort();
    worker.stop().await;
    assert_failed(&ticket, "HTTP 500");
    assert!(
        ticket["extraction"]["error"]
            .as_str()
            .unwrap()
            .contains("after 3 attempts")
    );
    assert_eq!(stub.received().len(), 3);
    let su = app.db.superuser_pool().await;
    assert_eq!(job_row(&su).await, (3, "completed".to_owned()));
}

#[tokio::test]
async fn a_provider_that_does_not_answer_in_time_fails_with_the_timeout() {
    let slow = Reply::answer(&valid_answer()).after(Duration::from_secs(4));
    let (app, _stub, visit, worker) = run(vec![slow], Some(1)).await;
    let ticket = visit.answered(&app).await;
    worker.stop().await;
    assert_failed(&ticket, "did not answer within 2 s");
}

#[tokio::test]
async fn truncated_json_is_retried_a_bounded_number_of_times_then_fails() {
    let truncated = Reply::content(r#"{"pet": {"value": {"type": "do"#, "length");
    let (app, stub, visit, worker) = run(vec![truncated], None).await;
    let hurry = hurry_retries(app.db.superuser_pool().await);
    let ticket = visit.answered(&app).await;
    hurry.abort();
    worker.stop().await;
    assert_failed(&ticket, "cut off at the token limit");
    assert!(
        ticket["extraction"]["error"]
            .as_str()
            .unwrap()
            .contains("after 3 attempts")
    );
    assert_eq!(stub.received().len(), 3, "three tries of ten allowed");
}

#[tokio::test]
async fn invalid_json_is_tried_again_and_a_good_second_answer_is_proposed() {
    let replies = vec![
        Reply::content("Sure! Here are the attributes: pet=dog", "stop"),
        Reply::answer(&valid_answer()),
    ];
    let (app, stub, visit, worker) = run(replies, None).await;
    let hurry = hurry_retries(app.db.superuser_pool().await);
    let ticket = visit.answered(&app).await;
    hurry.abort();
    worker.stop().await;
    assert_eq!(ticket["extraction"]["status"], "proposed", "{ticket}");
    assert_eq!(stub.received().len(), 2);
}

#[tokio::test]
async fn a_refusal_fails_with_the_reason() {
    let (app, _stub, visit, worker) =
        run(vec![Reply::refusal("I can't help with that.")], Some(1)).await;
    let ticket = visit.answered(&app).await;
    worker.stop().await;
    assert_failed(&ticket, "refused");
}

#[tokio::test]
async fn schema_invalid_output_fails_with_the_reason() {
    let invalid =
        json!({"pet": {"value": "dog", "evidence": ["Dog named Biscuit"]}, "colour": "red"});
    let (app, _stub, visit, worker) = run(vec![Reply::answer(&invalid)], Some(1)).await;
    let ticket = visit.answered(&app).await;
    worker.stop().await;
    assert_failed(&ticket, "schema-invalid");
}

#[tokio::test]
async fn a_rejected_request_fails_at_once() {
    let (app, stub, visit, worker) = run(vec![Reply::status(401, &[])], None).await;
    let ticket = visit.answered(&app).await;
    worker.stop().await;
    assert_failed(&ticket, "HTTP 401");
    assert_eq!(
        stub.received().len(),
        1,
        "no retry can fix a rejected request"
    );
}
