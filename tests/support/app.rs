//! `TestApp`: the real API (`fieldwork_api::app`) served on 127.0.0.1:0 over a fresh database,
//! its internal metrics listener on another port, with a reqwest client and helpers that read the JSON envelope.

use fieldwork_api::AppState;
use fieldwork_core::config::{AuthSettings, Config, HttpSettings};
use fieldwork_core::messages::MessageSettings;
use fieldwork_core::messages::settings::AppSecret;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::oneshot;

use crate::db::TestDb;

/// A running API server for one test.
pub struct TestApp {
    pub addr: std::net::SocketAddr,
    /// The internal metrics listener (`METRICS_ADDR` in production): `/metrics` is only here.
    pub metrics_addr: std::net::SocketAddr,
    pub db: TestDb,
    pub pool: PgPool,
    /// The served state: its throttles and hashing slots, for tests of their limits.
    pub state: AppState,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    metrics: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Status and decoded body of a response.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// `data` of a success envelope (asserting it is one).
    pub fn data(&self) -> &Value {
        assert_eq!(
            self.body["success"],
            json!(true),
            "not a success: {} {}",
            self.status,
            self.body
        );
        &self.body["data"]
    }

    /// `error.code` of an error envelope (asserting it is one).
    pub fn code(&self) -> &str {
        assert_eq!(
            self.body["success"],
            json!(false),
            "not an error: {} {}",
            self.status,
            self.body
        );
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    /// Asserts status and error code together.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "body: {}",
            self.body
        );
    }
}

/// `APP_SECRET` of test APIs and workers (the same, so links one signs the other accepts).
pub const TEST_APP_SECRET: &str = "fieldwork-test-secret-0123456789abcdef";

/// The message settings of test APIs and workers: the test secret, default policy.
pub fn test_message_settings() -> MessageSettings {
    MessageSettings {
        public_base_url: "http://localhost".to_owned(),
        app_secret: AppSecret::new(TEST_APP_SECRET).unwrap(),
        ..MessageSettings::default()
    }
}

pub fn test_config(db_url: &str) -> Config {
    Config {
        database_url: db_url.into(),
        migrate_database_url: db_url.into(),
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        metrics_addr: None,
        public_base_url: "http://localhost".to_owned(),
        session_ttl: std::time::Duration::from_secs(3600),
        db_max_connections: 8,
        db_acquire_timeout: std::time::Duration::from_secs(5),
        log_json: false,
        http: HttpSettings::default(),
        // Every test client is 127.0.0.1: per-address limits that production needs would
        // make tests that log in often fail; the abuse tests lower them again.
        auth: AuthSettings {
            login_per_ip_per_minute: 100_000,
            register_per_ip_per_hour: 100_000,
            ..AuthSettings::default()
        },
        messages: test_message_settings(),
        webhooks: fieldwork_core::webhooks::WebhookSettings {
            allow_private: true,
            allow_http: true,
            ..Default::default()
        },
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Like `spawn`, with the configuration adjusted first.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let db = TestDb::new().await;
        let pool = db.app_pool();
        let mut config = test_config(&db.url);
        adjust(&mut config);
        Self::serve(db, pool, config).await
    }

    /// Serves the API for `db` on `pool` (e.g. a pool through PgBouncer).
    pub async fn serve(db: TestDb, pool: PgPool, config: Config) -> TestApp {
        let state = AppState::new(pool.clone(), config);
        let served = state.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics_addr = metrics_listener.local_addr().unwrap();
        let metrics = tokio::spawn(fieldwork_api::metrics::serve(
            metrics_listener,
            pool.clone(),
            std::future::pending(),
        ));
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            fieldwork_api::serve(listener, served, async move {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestApp {
            addr,
            metrics_addr,
            metrics,
            db,
            pool,
            state,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// `/metrics` on the internal listener.
    pub fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.metrics_addr)
    }

    /// Sends a request; `token` becomes a bearer header, `body` JSON.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> TestResponse {
        let mut req = self.client.request(method.parse().unwrap(), self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::read(req.send().await.unwrap()).await
    }

    pub async fn read(resp: reqwest::Response) -> TestResponse {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        TestResponse {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> TestResponse {
        self.send("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> TestResponse {
        self.send("POST", path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> TestResponse {
        self.send("PATCH", path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> TestResponse {
        self.send("DELETE", path, Some(token), None).await
    }

    /// Registers `email` and logs in; returns the session token.
    pub async fn signup(&self, email: &str) -> String {
        let r = self
            .send(
                "POST",
                "/api/auth/register",
                None,
                Some(json!({"email": email, "password": "correct horse battery", "business_name": "Biz"})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let r = self
            .send(
                "POST",
                "/api/auth/login",
                None,
                Some(json!({"email": email, "password": "correct horse battery"})),
            )
            .await;
        r.data()["token"].as_str().unwrap().to_owned()
    }

    /// The user id behind a token.
    pub async fn user_id(&self, token: &str) -> uuid::Uuid {
        let r = self.get("/api/auth/me", token).await;
        r.data()["id"].as_str().unwrap().parse().unwrap()
    }

    /// Creates a customer and returns its JSON.
    pub async fn create_customer(&self, token: &str, body: Value) -> Value {
        let r = self.post("/api/data/customers", token, body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.data().clone()
    }

    /// `POST /api/data/{entity}`, asserting 201; returns the created JSON.
    pub async fn create(&self, token: &str, entity: &str, body: Value) -> Value {
        let r = self.post(&format!("/api/data/{entity}"), token, body).await;
        assert_eq!(r.status, 201, "{entity}: {}", r.body);
        r.data().clone()
    }

    /// `POST /api/actions` with `{domain, action, data}`.
    pub async fn action(
        &self,
        token: &str,
        domain: &str,
        action: &str,
        data: Value,
    ) -> TestResponse {
        self.post(
            "/api/actions",
            token,
            json!({"domain": domain, "action": action, "data": data}),
        )
        .await
    }

    /// `POST /api/actions`, asserting success; returns `data`.
    pub async fn act(&self, token: &str, domain: &str, action: &str, data: Value) -> Value {
        let r = self.action(token, domain, action, data).await;
        assert_eq!(r.status, 200, "{domain}.{action}: {}", r.body);
        r.data().clone()
    }

    /// Every audit row of one entity (as the superuser), oldest first.
    pub async fn audit_rows(&self, entity_id: &str) -> Vec<Value> {
        let pool = self.db.superuser_pool().await;
        let rows: Vec<(String, Value)> = sqlx::query_as(
            "SELECT action, changes FROM audit_log WHERE entity_id = $1::uuid ORDER BY id",
        )
        .bind(entity_id)
        .fetch_all(&pool)
        .await
        .unwrap();
        pool.close().await;
        rows.into_iter()
            .map(|(action, changes)| json!({"action": action, "changes": changes}))
            .collect()
    }

    /// Counts rows of a table as the superuser (RLS does not apply).
    pub async fn count(&self, table: &str) -> i64 {
        let pool = self.db.superuser_pool().await;
        let n = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.metrics.abort();
    }
}
