//! Helpers of the fault tests: an HTTP client that records every answer (status, code,
//! latency, `Retry-After`), a timeline printed at the end, real worker processes, and
//! polling with a deadline.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fieldwork_tests::process::workspace_bin;
use serde_json::Value;

/// One answered (or failed) request.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Since the start of the test.
    pub at: Duration,
    pub op: &'static str,
    /// 0: no HTTP answer at all (connection error, client timeout).
    pub status: u16,
    pub code: String,
    pub latency: Duration,
    pub retry_after: Option<String>,
    pub body: Value,
}

/// Events with their time since the start, printed as the test's timeline.
#[derive(Clone)]
pub struct Timeline {
    start: Instant,
    events: Arc<Mutex<Vec<(Duration, String)>>>,
}

impl Timeline {
    pub fn new() -> Timeline {
        Timeline {
            start: Instant::now(),
            events: Arc::default(),
        }
    }

    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }

    pub fn mark(&self, what: impl Into<String>) {
        let what = what.into();
        let at = self.now();
        println!("[{:>7.2} s] {what}", at.as_secs_f64());
        self.events.lock().unwrap().push((at, what));
    }

    pub fn print(&self) {
        println!("timeline:");
        for (at, what) in self.events.lock().unwrap().iter() {
            println!("  {:>7.2} s  {what}", at.as_secs_f64());
        }
    }
}

/// Sends one request and records its answer; a client-side timeout of 60 s catches hangs.
pub async fn call(
    client: &reqwest::Client,
    timeline: &Timeline,
    op: &'static str,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let started = Instant::now();
    let at = timeline.now();
    let mut req = client.request(method, url).timeout(Duration::from_secs(60));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            Answer {
                at,
                op,
                status,
                code: body["error"]["code"].as_str().unwrap_or("").to_owned(),
                latency: started.elapsed(),
                retry_after,
                body,
            }
        }
        Err(e) => Answer {
            at,
            op,
            status: 0,
            code: format!("client error: {e}"),
            latency: started.elapsed(),
            retry_after: None,
            body: Value::Null,
        },
    }
}

/// Registers `email` and logs in through the API at `base`; returns the token.
pub async fn signup(client: &reqwest::Client, base: &str, email: &str) -> String {
    let creds = serde_json::json!({"email": email, "password": "correct horse battery", "business_name": "Biz"});
    let r = client
        .post(format!("{base}/api/auth/register"))
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
    let r: Value = client
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({"email": email, "password": "correct horse battery"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["data"]["token"].as_str().unwrap().to_owned()
}

pub use fieldwork_tests::wait_for;

/// A real `fieldwork-worker` process (with the engine's test kinds) on `url`.
pub struct Worker {
    /// Killed when dropped.
    _child: tokio::process::Child,
    pub log: PathBuf,
}

impl Worker {
    pub fn spawn(url: &str, env: &[(&str, &str)]) -> Worker {
        let log = std::env::temp_dir().join(format!(
            "fw-fault-worker-{}.log",
            uuid::Uuid::now_v7().simple()
        ));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = tokio::process::Command::new(workspace_bin("fieldwork-worker"));
        cmd.env("DATABASE_URL", url)
            .env("APP_SECRET", fieldwork_tests::app::TEST_APP_SECRET)
            .env("FIELDWORK_TEST_KINDS", "1")
            .env("JOB_POLL_INTERVAL_MS", "200")
            .env("DB_MAX_CONNECTIONS", "10")
            .env("RUST_LOG", "info,sqlx=warn")
            .env_remove("METRICS_ADDR")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Worker {
            _child: cmd.spawn().unwrap(),
            log,
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
