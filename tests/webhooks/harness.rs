//! One world for a webhook test: the API (`TestApp`) and an in-process worker on the same
//! fresh database, a real receiver, and the helpers the tests share (tenants, subscriptions,
//! delivery records, the tenant's audit rows as the superuser sees them).

use std::time::{Duration, Instant};

use fieldwork_core::webhooks::WebhookSettings;
use fieldwork_tests::TestApp;
use fieldwork_worker::settings::{MailSettings, parse_queues};
use fieldwork_worker::{WorkerContext, WorkerSettings, run_worker};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::oneshot;

use crate::receiver::Receiver;

/// Generous: the machine is shared and slow at times; speed is the bench's business.
pub const PATIENCE: Duration = Duration::from_secs(90);

/// Test settings: private/http targets allowed, a short retry schedule, a 3 s timeout.
pub fn test_webhook_settings() -> WebhookSettings {
    WebhookSettings {
        allow_private: true,
        allow_http: true,
        timeout: Duration::from_secs(3),
        retry_schedule: [0, 300, 500, 700, 1000, 1000, 1000, 1000]
            .into_iter()
            .map(Duration::from_millis)
            .collect(),
        ..WebhookSettings::default()
    }
}

pub struct World {
    pub app: TestApp,
    pub receiver: Receiver,
    pub su: PgPool,
    pub settings: WebhookSettings,
    worker: Option<(
        oneshot::Sender<()>,
        tokio::task::JoinHandle<fieldwork_core::Result<()>>,
    )>,
    outbox: std::path::PathBuf,
}

impl World {
    pub async fn start() -> World {
        Self::start_with(|_, _| {}).await
    }

    /// `adjust(api settings, worker settings)` before anything starts.
    pub async fn start_with(
        adjust: impl FnOnce(&mut WebhookSettings, &mut WebhookSettings),
    ) -> World {
        let mut api = test_webhook_settings();
        let mut worker = test_webhook_settings();
        adjust(&mut api, &mut worker);
        let app = TestApp::spawn_with(move |c| c.webhooks = api).await;
        let su = app.db.superuser_pool().await;
        let outbox = std::env::temp_dir().join(format!("fw-wh-{}", app.db.name));
        let mut w = World {
            app,
            receiver: Receiver::start().await,
            su,
            settings: worker,
            worker: None,
            outbox,
        };
        w.start_worker();
        w
    }

    pub fn start_worker(&mut self) {
        let settings = WorkerSettings {
            queues: parse_queues("events=2,webhooks=6,email=2", 2).unwrap(),
            poll_interval: Duration::from_millis(200),
            shutdown_timeout: Duration::from_secs(10),
            mail: MailSettings {
                outbox_dir: self.outbox.clone(),
                ..MailSettings::default()
            },
            messages: fieldwork_tests::app::test_message_settings(),
            webhooks: self.settings.clone(),
            ..WorkerSettings::default()
        };
        let ctx = WorkerContext::connect_with(&self.app.db.url, 8, settings).unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(run_worker(ctx, async move {
            let _ = rx.await;
        }));
        self.worker = Some((tx, handle));
    }

    /// Signs up a business; returns its token.
    pub async fn tenant(&self, email: &str) -> String {
        self.app.signup(email).await
    }

    /// Subscribes `url` to `types`; returns the answer (with `secret`).
    pub async fn subscribe(&self, token: &str, url: &str, types: &[&str]) -> Value {
        self.app
            .create(
                token,
                "webhook_subscriptions",
                json!({"url": url, "event_types": types, "description": "test"}),
            )
            .await
    }

    /// The subscription's delivery records, oldest first.
    pub async fn deliveries(&self, token: &str, subscription: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path =
                format!("/api/data/webhook_deliveries?subscription_id={subscription}&limit=100");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let r = self.app.get(&path, token).await;
            assert_eq!(r.status, 200, "{}", r.body);
            out.extend(r.data()["items"].as_array().unwrap().iter().cloned());
            match r.data()["next_cursor"].as_str() {
                Some(c) if r.data()["has_more"] == true => cursor = Some(c.to_owned()),
                _ => return out,
            }
        }
    }

    /// Polls the subscription's records until `done` holds.
    pub async fn wait_deliveries(
        &self,
        token: &str,
        subscription: &str,
        what: &str,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let d = self.deliveries(token, subscription).await;
            if done(&d) {
                return d;
            }
            assert!(start.elapsed() < PATIENCE, "{what}: {d:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The subscription as the API shows it.
    pub async fn subscription(&self, token: &str, id: &str) -> Value {
        let r = self
            .app
            .get(&format!("/api/data/webhook_subscriptions/{id}"), token)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.data().clone()
    }

    /// `(id, sequence, entity_type, action)` of the tenant's numbered audit rows after
    /// `after`, in sequence order, and how many rows still wait for a number.
    pub async fn numbered_after(
        &self,
        user: uuid::Uuid,
        after: i64,
    ) -> (Vec<(String, i64, String, String)>, i64) {
        // One statement (one snapshot): numbered rows and the count still waiting.
        let all: Vec<(uuid::Uuid, Option<i64>, String, String)> = sqlx::query_as(
            "SELECT id, sequence, entity_type, action FROM audit_log
              WHERE user_id = $1 AND (sequence > $2 OR sequence IS NULL)
              ORDER BY sequence NULLS LAST",
        )
        .bind(user)
        .bind(after)
        .fetch_all(&self.su)
        .await
        .unwrap();
        let pending = all.iter().filter(|r| r.1.is_none()).count() as i64;
        let rows: Vec<(uuid::Uuid, i64, String, String)> = all
            .into_iter()
            .filter_map(|(id, s, e, a)| s.map(|s| (id, s, e, a)))
            .collect();
        (
            rows.into_iter()
                .map(|(id, s, e, a)| (id.to_string(), s, e, a))
                .collect(),
            pending,
        )
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.outbox);
    }
}
