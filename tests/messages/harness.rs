//! One business's world for a message test: the API (`TestApp`) and an in-process worker on
//! the same fresh database, both with the same message settings (quiet hours off unless the
//! test sets them), the worker sending to a real SMTP server in the test (`SmtpSink`).

use std::time::{Duration, Instant};

use fieldwork_core::messages::MessageSettings;
use fieldwork_tests::TestApp;
use fieldwork_tests::app::test_message_settings;
use fieldwork_worker::bench::smtp_sink::{Received, SmtpSink};
use fieldwork_worker::settings::{MailSettings, parse_queues};
use fieldwork_worker::{WorkerContext, WorkerSettings, run_worker};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::oneshot;

/// Generous: the machine is shared and slow at times; speed is the bench's business.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct Harness {
    pub app: TestApp,
    pub sink: SmtpSink,
    pub token: String,
    pub su: PgPool,
    pub settings: MessageSettings,
    worker: Option<(
        oneshot::Sender<()>,
        tokio::task::JoinHandle<fieldwork_core::Result<()>>,
    )>,
}

impl Harness {
    /// API, sink and a running worker; quiet hours off.
    pub async fn start() -> Harness {
        Self::start_with(|_| {}).await
    }

    /// Like `start`, with the shared message settings adjusted first.
    pub async fn start_with(adjust: impl FnOnce(&mut MessageSettings)) -> Harness {
        let mut settings = MessageSettings {
            quiet_hours: None,
            ..test_message_settings()
        };
        adjust(&mut settings);
        let shared = settings.clone();
        let app = TestApp::spawn_with(move |c| c.messages = shared).await;
        let sink = SmtpSink::start().await.unwrap();
        let token = app.signup("office@example.com").await;
        let su = app.db.superuser_pool().await;
        let mut h = Harness {
            app,
            sink,
            token,
            su,
            settings,
            worker: None,
        };
        h.start_worker(WorkerSettings::default().mail);
        h
    }

    /// Starts the in-process worker with `mail` (the sink unless it says otherwise).
    pub fn start_worker(&mut self, mut mail: MailSettings) {
        if mail.smtp_url.is_none() && mail.outbox_dir == MailSettings::default().outbox_dir {
            mail.smtp_url = Some(self.sink.url().into());
        }
        mail.timeout = Duration::from_secs(10);
        let settings = WorkerSettings {
            queues: parse_queues("email=4", 4).unwrap(),
            poll_interval: Duration::from_millis(200),
            shutdown_timeout: Duration::from_secs(10),
            mail,
            messages: self.settings.clone(),
            ..WorkerSettings::default()
        };
        let ctx = WorkerContext::connect_with(&self.app.db.url, 6, settings).unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(run_worker(ctx, async move {
            let _ = rx.await;
        }));
        self.worker = Some((tx, handle));
    }

    pub async fn stop_worker(&mut self) {
        if let Some((tx, handle)) = self.worker.take() {
            let _ = tx.send(());
            handle.await.unwrap().unwrap();
        }
    }

    /// A customer of the business (201 asserted).
    pub async fn customer(&self, body: Value) -> Value {
        self.app.create_customer(&self.token, body).await
    }

    /// `POST /api/actions`, asserting success.
    pub async fn act(&self, domain: &str, action: &str, data: Value) -> Value {
        self.app.act(&self.token, domain, action, data).await
    }

    pub async fn create(&self, entity: &str, body: Value) -> Value {
        self.app.create(&self.token, entity, body).await
    }

    pub async fn get(&self, path: &str) -> Value {
        self.app.get(path, &self.token).await.data().clone()
    }

    pub async fn message(&self, id: &str) -> Value {
        self.get(&format!("/api/data/scheduled_messages/{id}"))
            .await
    }

    /// The customer's messages, oldest first.
    pub async fn messages_of(&self, customer_id: &str) -> Vec<Value> {
        let page = self
            .get(&format!(
                "/api/data/scheduled_messages?customer_id={customer_id}&limit=100"
            ))
            .await;
        page["items"].as_array().unwrap().clone()
    }

    /// Waits until message `id` has `status`; returns it.
    pub async fn wait_status(&self, id: &str, status: &str) -> Value {
        let start = Instant::now();
        loop {
            let m = self.message(id).await;
            if m["status"] == status {
                return m;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "message {id} never became {status}: {m}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the sink accepted `n` messages; returns them all.
    pub async fn mail(&self, n: usize) -> Vec<Received> {
        self.sink
            .wait_for(n, PATIENCE)
            .await
            .unwrap_or_else(|| panic!("{n} emails expected, {} arrived", self.sink.count()))
    }

    /// The one email with this message's Message-ID.
    pub async fn mail_of(&self, message_id: &str) -> Received {
        let wanted = format!("<{message_id}@localhost>");
        let start = Instant::now();
        loop {
            if let Some(m) = self
                .sink
                .received()
                .into_iter()
                .find(|m| m.message_id().as_deref() == Some(wanted.as_str()))
            {
                return m;
            }
            assert!(start.elapsed() < PATIENCE, "no email for {message_id}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs SQL as the superuser (to set up what only a race or another writer could).
    pub async fn sql(&self, sql: &str, id: &str) {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .bind(id)
            .execute(&self.su)
            .await
            .unwrap();
    }

    /// Send jobs not yet finished for message `id`: `(state, scheduled_at)`.
    pub async fn live_jobs(&self, id: &str) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
        sqlx::query_as(
            "SELECT state::text, scheduled_at FROM jobs
              WHERE unique_key = 'message:' || $1 AND finalized_at IS NULL ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.su)
        .await
        .unwrap()
    }

    /// Schedules a custom message for `customer` at `at`; returns it.
    pub async fn custom(&self, customer: &str, at: &str) -> Value {
        self.act(
            "message",
            "schedule_custom",
            json!({"customer_id": customer, "subject": "A note", "body": "Hello there.", "scheduled_for": at}),
        )
        .await
    }
}

/// Now, as RFC 3339, shifted by `seconds`.
pub fn now_plus(seconds: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(seconds)).to_rfc3339()
}
