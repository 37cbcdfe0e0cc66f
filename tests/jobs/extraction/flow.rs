//! Extraction with the offline rules extractor (the quick start's and CI's default), through
//! the API: close-out → proposal on the ticket; confirm merges into the customer (audited
//! there) and moves the service reminder; reject leaves the customer alone; edited notes run
//! again and a stale answer is dropped; a job can only write its own tenant's ticket.

use chrono::{DateTime, Months, Utc};
use fieldwork_core::db::begin_tenant;
use fieldwork_core::ids::UserId;
use fieldwork_core::queue::{JobOptions, enqueue_with};
use fieldwork_core::tickets::extraction::{ExtractTicketAttributes, notes_sha256};
use fieldwork_tests::TestApp;
use fieldwork_worker::clients::llm::LlmSettings;
use serde_json::json;

use super::{Visit, Worker, job_row};

const SEED: &str = "Large truck always parked in driveway. Had to set up ladder on lawn instead.";

#[tokio::test]
async fn closing_out_a_ticket_with_notes_shows_a_proposal_within_seconds() {
    let app = TestApp::spawn().await;
    let worker = Worker::start(&app, LlmSettings::default());
    let visit = Visit::new(&app, "quick@example.com").await;
    let closed = visit.close_out(&app, SEED).await;
    assert_eq!(closed["extraction"]["status"], "pending");
    assert!(closed["extracted_attributes"].is_null());
    let ticket = visit.answered(&app).await;
    worker.stop().await;
    let e = &ticket["extraction"];
    assert_eq!(
        (&e["status"], &e["provider"]),
        (&json!("proposed"), &json!("rules"))
    );
    assert!(e["prompt_version"].is_null());
    let vehicle = &ticket["extracted_attributes"]["vehicle"];
    assert_eq!(vehicle["value"]["type"], "truck");
    assert_eq!(
        vehicle["evidence"],
        json!(["Large truck always parked in driveway"])
    );
}

#[tokio::test]
async fn confirming_merges_the_proposal_into_the_customer_and_audits_it_there() {
    let app = TestApp::spawn().await;
    let worker = Worker::start(&app, LlmSettings::default());
    let visit = Visit::new(&app, "confirm@example.com").await;
    visit
        .close_out(&app, "Dog named Biscuit in the yard. Gate code 4521.")
        .await;
    let ticket = visit.answered(&app).await;
    worker.stop().await;
    assert_eq!(ticket["extraction"]["status"], "proposed", "{ticket}");

    let customer = app
        .act(
            &visit.token,
            "ticket",
            "confirm_attributes",
            json!({"ticket_id": visit.ticket}),
        )
        .await;
    let attributes = &customer["attributes"];
    assert_eq!(attributes["pet"], json!({"type": "dog", "name": "Biscuit"}));
    assert_eq!(attributes["property_notes"], "Gate code 4521");
    assert_eq!(attributes["gate"], "old code", "other attributes stay");
    let audit = app.audit_rows(&visit.customer).await;
    let last = audit.last().unwrap();
    assert_eq!(last["action"], "confirm_attributes");
    assert_eq!(
        last["changes"]["attributes"]["new"]["pet"]["name"],
        "Biscuit"
    );
    let ticket = visit.ticket(&app).await;
    assert_eq!(ticket["extraction"]["status"], "confirmed");
    assert!(ticket["extraction"]["decided_at"].is_string());
    app.action(
        &visit.token,
        "ticket",
        "confirm_attributes",
        json!({"ticket_id": visit.ticket}),
    )
    .await
    .assert_error(409, "INVALID_STATE");
}

#[tokio::test]
async fn rejecting_leaves_the_customer_unchanged() {
    let app = TestApp::spawn().await;
    let worker = Worker::start(&app, LlmSettings::default());
    let visit = Visit::new(&app, "reject@example.com").await;
    visit
        .close_out(&app, "Two cats inside, keep doors closed.")
        .await;
    visit.answered(&app).await;
    worker.stop().await;
    let before = visit.customer(&app).await;
    let customer_audit = app.audit_rows(&visit.customer).await.len();

    let ticket = app
        .act(
            &visit.token,
            "ticket",
            "reject_attributes",
            json!({"ticket_id": visit.ticket, "reason": "They moved the cats out"}),
        )
        .await;
    assert_eq!(ticket["extraction"]["status"], "rejected");
    assert_eq!(ticket["extraction"]["error"], "They moved the cats out");
    assert_eq!(visit.customer(&app).await, before);
    assert_eq!(app.audit_rows(&visit.customer).await.len(), customer_audit);
    let audit = app.audit_rows(&visit.ticket).await;
    assert_eq!(audit.last().unwrap()["action"], "reject_attributes");
    for action in ["reject_attributes", "confirm_attributes"] {
        app.action(
            &visit.token,
            "ticket",
            action,
            json!({"ticket_id": visit.ticket}),
        )
        .await
        .assert_error(409, "INVALID_STATE");
    }
}

#[tokio::test]
async fn confirming_a_next_service_due_moves_the_service_reminder() {
    let app = TestApp::spawn().await;
    let worker = Worker::start(&app, LlmSettings::default());
    let visit = Visit::new(&app, "reminder@example.com").await;
    let old = app
        .create(
            &visit.token,
            "scheduled_messages",
            json!({"customer_id": visit.customer, "message_type": "service_reminder",
                   "scheduled_for": "2030-01-15T09:00:00Z"}),
        )
        .await;
    let closed = visit
        .close_out(
            &app,
            "Replaced furnace filter. Filter due again in 6 months.",
        )
        .await;
    let ticket = visit.answered(&app).await;
    worker.stop().await;
    let closed_at: DateTime<Utc> = closed["closed_at"].as_str().unwrap().parse().unwrap();
    let due = closed_at
        .date_naive()
        .checked_add_months(Months::new(6))
        .unwrap();
    let proposed = &ticket["extracted_attributes"]["next_service_due"]["value"];
    assert_eq!(
        proposed,
        &json!({"interval": "P6M", "date": due.to_string()})
    );

    app.act(
        &visit.token,
        "ticket",
        "confirm_attributes",
        json!({"ticket_id": visit.ticket}),
    )
    .await;
    let list = app
        .get(
            &format!(
                "/api/data/scheduled_messages?customer_id={}&status=pending",
                visit.customer
            ),
            &visit.token,
        )
        .await;
    let pending: Vec<&serde_json::Value> = list.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["message_type"] == "service_reminder")
        .collect();
    assert_eq!(
        pending.len(),
        1,
        "one pending service reminder: {pending:?}"
    );
    let at: DateTime<Utc> = pending[0]["scheduled_for"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(at.date_naive(), due, "moved to the confirmed date");
    let old = app
        .get(
            &format!(
                "/api/data/scheduled_messages/{}",
                old["id"].as_str().unwrap()
            ),
            &visit.token,
        )
        .await;
    assert_eq!(old.data()["status"], "cancelled");
}

#[tokio::test]
async fn edited_notes_run_extraction_again_and_the_stale_answer_is_dropped() {
    let app = TestApp::spawn().await;
    let visit = Visit::new(&app, "edit@example.com").await;
    visit.close_out(&app, "Dog named Rex.").await;
    let patched = app
        .patch(
            &format!("/api/data/tickets/{}", visit.ticket),
            &visit.token,
            json!({"technician_notes": "Cat named Tom."}),
        )
        .await;
    assert_eq!(patched.data()["extraction"]["status"], "pending");
    app.patch(
        &format!("/api/data/tickets/{}", visit.ticket),
        &visit.token,
        json!({"title": "x"}),
    )
    .await
    .assert_error(409, "INVALID_STATE");
    let su = app.db.superuser_pool().await;
    let jobs: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'extract_ticket_attributes'")
            .fetch_one(&su)
            .await
            .unwrap();
    assert_eq!(jobs, 2, "one job per version of the notes");

    let worker = Worker::start(&app, LlmSettings::default());
    let ticket = visit.answered(&app).await;
    crate::support::wait_for(std::time::Duration::from_secs(60), "both jobs", || async {
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE kind = 'extract_ticket_attributes' AND state = 'completed'",
        )
        .fetch_one(&su)
        .await
        .unwrap();
        (done == 2).then_some(())
    })
    .await;
    worker.stop().await;
    assert_eq!(
        ticket["extracted_attributes"]["pet"]["value"],
        json!({"type": "cat", "name": "Tom"})
    );
    let writes = app
        .audit_rows(&visit.ticket)
        .await
        .into_iter()
        .filter(|r| r["action"] == "extract_attributes")
        .count();
    assert_eq!(writes, 1, "the answer for the old notes was dropped");
}

#[tokio::test]
async fn an_extraction_job_can_only_write_its_own_tenants_ticket() {
    let app = TestApp::spawn().await;
    let a = Visit::new(&app, "tenant-a@example.com").await;
    a.close_out(&app, "Dog named Rex.").await;
    let su = app.db.superuser_pool().await;
    // A's own job is set aside; B enqueues one naming A's ticket and A's notes.
    sqlx::query("UPDATE jobs SET state = 'cancelled', finalized_at = now()")
        .execute(&su)
        .await
        .unwrap();
    let b_token = app.signup("tenant-b@example.com").await;
    let b = UserId(app.user_id(&b_token).await);
    let job = ExtractTicketAttributes {
        ticket_id: a.ticket.parse().unwrap(),
        notes_sha256: notes_sha256("Dog named Rex."),
    };
    let mut tx = begin_tenant(&app.pool, b).await.unwrap();
    enqueue_with(&mut tx, &job, JobOptions::default())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let worker = Worker::start(&app, LlmSettings::default());
    crate::support::wait_for(std::time::Duration::from_secs(60), "B's job", || async {
        let (_, state) = job_row(&su).await;
        (state == "completed").then_some(())
    })
    .await;
    worker.stop().await;
    let ticket = a.ticket(&app).await;
    assert_eq!(
        ticket["extraction"]["status"], "pending",
        "A's ticket untouched"
    );
    assert!(ticket["extracted_attributes"].is_null());
}
