//! Attribute extraction end to end: the real API (`TestApp`) and an in-process worker on one
//! database, with the offline rules extractor or an in-process OpenAI-compatible stub.

mod flow;
mod openai;
mod stub;

use std::time::Duration;

use fieldwork_tests::TestApp;
use fieldwork_worker::clients::llm::{LlmProvider, LlmSettings};
use fieldwork_worker::{WorkerContext, WorkerSettings, run_worker};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::oneshot;

use crate::support::wait_for;

/// A worker inside the test process, on the app's database.
pub struct Worker {
    stop: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<fieldwork_core::Result<()>>,
}

impl Worker {
    pub fn start(app: &TestApp, llm: LlmSettings) -> Worker {
        let settings = WorkerSettings {
            poll_interval: Duration::from_millis(200),
            shutdown_timeout: Duration::from_secs(10),
            llm,
            ..WorkerSettings::default()
        };
        let ctx = WorkerContext::connect_with(&app.db.url, 8, settings).unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(run_worker(ctx, async move {
            let _ = rx.await;
        }));
        Worker {
            stop: Some(tx),
            handle,
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        (&mut self.handle).await.unwrap().unwrap();
    }
}

/// Settings pointing the `openai` provider at a stub.
pub fn openai_settings(base_url: &str) -> LlmSettings {
    LlmSettings {
        provider: LlmProvider::OpenAi,
        base_url: base_url.to_owned(),
        api_key: Some("test-key".into()),
        model: "test-model".into(),
        timeout: Duration::from_secs(2),
        max_tokens: 800,
    }
}

/// A signed-up user with a customer and a scheduled ticket.
pub struct Visit {
    pub token: String,
    pub customer: String,
    pub ticket: String,
}

impl Visit {
    pub async fn new(app: &TestApp, email: &str) -> Visit {
        let token = app.signup(email).await;
        let customer = app
            .create_customer(&token, json!({"first_name": "Ada", "email": "ada@example.com", "timezone": "UTC", "attributes": {"gate": "old code"}}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let ticket = app
            .create(
                &token,
                "tickets",
                json!({"customer_id": customer, "title": "Service", "scheduled_at": "2026-03-02T09:00:00Z"}),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        Visit {
            token,
            customer,
            ticket,
        }
    }

    /// `ticket.close_out` with `notes`; returns the ticket.
    pub async fn close_out(&self, app: &TestApp, notes: &str) -> Value {
        app.act(
            &self.token,
            "ticket",
            "close_out",
            json!({"ticket_id": self.ticket, "technician_notes": notes}),
        )
        .await
    }

    pub async fn ticket(&self, app: &TestApp) -> Value {
        app.get(&format!("/api/data/tickets/{}", self.ticket), &self.token)
            .await
            .data()
            .clone()
    }

    pub async fn customer(&self, app: &TestApp) -> Value {
        app.get(
            &format!("/api/data/customers/{}", self.customer),
            &self.token,
        )
        .await
        .data()
        .clone()
    }

    /// Waits (generously: the machine may be loaded) until the extraction leaves `pending`.
    pub async fn answered(&self, app: &TestApp) -> Value {
        wait_for(
            Duration::from_secs(60),
            "the extraction to answer",
            || async {
                let t = self.ticket(app).await;
                (t["extraction"]["status"] != "pending").then_some(t)
            },
        )
        .await
    }
}

/// Sets `max_attempts` of the ticket's extraction jobs (as an operator could), before a worker
/// runs them.
pub async fn limit_attempts(su: &PgPool, max_attempts: i32) {
    sqlx::query("UPDATE jobs SET max_attempts = $1 WHERE kind = 'extract_ticket_attributes'")
        .bind(max_attempts)
        .execute(su)
        .await
        .unwrap();
}

/// Makes failed jobs due at once while a test waits, so retries do not wait out the backoff.
pub fn hurry_retries(su: PgPool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let _ = sqlx::query("UPDATE jobs SET scheduled_at = now() WHERE state = 'retryable'")
                .execute(&su)
                .await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// `(attempt, state)` of the one extraction job.
pub async fn job_row(su: &PgPool) -> (i32, String) {
    sqlx::query_as(
        "SELECT attempt, state::text FROM jobs WHERE kind = 'extract_ticket_attributes' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(su)
    .await
    .unwrap()
}
