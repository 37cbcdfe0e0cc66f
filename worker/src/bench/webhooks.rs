//! `bench webhooks`: what subscribers cost the API, and how late events reach them. Starts
//! the real `fieldwork-api` binary (next to this one, or `FIELDWORK_API_BIN`) and an
//! in-process worker on the bench database, plus in-process receivers, then:
//! 1. `POST /api/data/customers` from `clients` closed-loop clients for `seconds`, for a
//!    business with no subscriber, then one with 5 (3 answering at once, 2 never within the
//!    delivery timeout): requests/s and p50/p99 each, and the difference;
//! 2. writes paced at `rate`/s for `seconds` by a business with one subscriber: the fan-out
//!    lag (the change's transaction start → the receiver's first arrival) p50/p99/max;
//! 3. the same lag with the writes made through the audit path directly (no API), so the rate
//!    is not bounded by what the API process can serve.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use tokio::sync::Mutex;

use super::webhook_sink::{WebhookSink, quantile};
use crate::settings::{QueueSettings, WorkerSettings};
use crate::{WorkerContext, run_worker};

/// The bench's shape.
#[derive(Debug, Clone)]
pub struct Shape {
    pub seconds: u64,
    pub clients: usize,
    pub rate: u64,
}

/// How to reach the API process.
#[derive(Clone)]
struct Api {
    base: String,
    http: reqwest::Client,
}

pub async fn run(database_url: &str, shape: Shape) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(2);
    let (mut child, api) = start_api(database_url, timeout).await?;
    let settings = WorkerSettings {
        queues: vec![
            QueueSettings {
                name: "events".into(),
                concurrency: 4,
            },
            QueueSettings {
                name: "webhooks".into(),
                concurrency: 16,
            },
        ],
        poll_interval: Duration::from_millis(200),
        webhooks: fieldwork_core::webhooks::WebhookSettings {
            allow_private: true,
            allow_http: true,
            timeout,
            ..Default::default()
        },
        ..WorkerSettings::default()
    };
    let ctx = WorkerContext::connect_with(database_url, 12, settings)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(run_worker(ctx, async move {
        let _ = stopped.await;
    }));
    println!(
        "api process + in-process worker (events=4, webhooks=16), WEBHOOK_TIMEOUT_SECS={}",
        timeout.as_secs()
    );

    let lone = signup(&api, "none").await?;
    let (rps0, p50_0, p99_0) = load(&api, &lone, &shape).await?;
    println!("0 subscribers:  {rps0:.0} creates/s, p50 {p50_0:.1} ms, p99 {p99_0:.1} ms");

    let busy = signup(&api, "five").await?;
    let mut sinks = Vec::new();
    for i in 0..5 {
        let hang = (i >= 3).then_some(timeout * 3);
        let sink = WebhookSink::start(hang).await?;
        subscribe(&api, &busy, &sink.url()).await?;
        sinks.push(sink);
    }
    let (rps5, p50_5, p99_5) = load(&api, &busy, &shape).await?;
    println!(
        "5 subscribers (2 time out): {rps5:.0} creates/s, p50 {p50_5:.1} ms, p99 {p99_5:.1} ms"
    );
    println!(
        "difference: throughput {:+.1} %, p99 {:+.1} %",
        (rps5 / rps0 - 1.0) * 100.0,
        (p99_5 / p99_0 - 1.0) * 100.0
    );
    let fast: usize = sinks[..3].iter().map(WebhookSink::count).sum();
    println!("  (fast receivers had {fast} deliveries by the end of the run)");

    let paced = signup(&api, "paced").await?;
    let sink = WebhookSink::start(None).await?;
    subscribe(&api, &paced, &sink.url()).await?;
    let (sent, refused) = paced_writes(&api, &paced, &shape).await?;
    if refused > 0 {
        println!("  ({refused} paced writes failed: the API could not keep the rate)");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while sink.count() < sent && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut lags = sink.lags();
    println!(
        "fan-out lag at {}/s for {} s: {} of {sent} events arrived; p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        shape.rate,
        shape.seconds,
        lags.len(),
        quantile(&mut lags, 0.5) * 1000.0,
        quantile(&mut lags, 0.99) * 1000.0,
        quantile(&mut lags, 1.0) * 1000.0,
    );

    direct_lag(&api, database_url, &shape).await?;

    let _ = stop.send(());
    let _ = worker.await;
    let _ = child.start_kill();
    let _ = child.wait().await;
    Ok(())
}

async fn start_api(
    database_url: &str,
    timeout: Duration,
) -> anyhow::Result<(tokio::process::Child, Api)> {
    let bin = match std::env::var("FIELDWORK_API_BIN") {
        Ok(p) => std::path::PathBuf::from(p),
        Err(_) => std::env::current_exe()?
            .parent()
            .context("no folder of this binary")?
            .join("fieldwork-api"),
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut secret = [0u8; 16];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("{e}"))?;
    let secret: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let child = tokio::process::Command::new(&bin)
        .env("DATABASE_URL", database_url)
        .env("APP_SECRET", secret)
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("WEBHOOK_ALLOW_PRIVATE", "true")
        .env("WEBHOOK_ALLOW_HTTP", "true")
        .env("WEBHOOK_TIMEOUT_SECS", timeout.as_secs().to_string())
        .env("RUST_LOG", "warn")
        .env_remove("METRICS_ADDR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let api = Api {
        base: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::new(),
    };
    let started = Instant::now();
    while api
        .http
        .get(format!("{}/healthz", api.base))
        .send()
        .await
        .is_err()
    {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "the API did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((child, api))
}

/// A new business; returns its session token.
async fn signup(api: &Api, name: &str) -> anyhow::Result<String> {
    let email = format!("bench-{name}-{}@example.com", uuid::Uuid::now_v7().simple());
    let body = json!({"email": email, "password": "correct horse battery", "business_name": name});
    api.http
        .post(format!("{}/api/auth/register", api.base))
        .json(&body)
        .send()
        .await?
        .error_for_status()?;
    let r: serde_json::Value = api
        .http
        .post(format!("{}/api/auth/login", api.base))
        .json(&json!({"email": email, "password": "correct horse battery"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(r["data"]["token"].as_str().context("no token")?.to_owned())
}

async fn subscribe(api: &Api, token: &str, url: &str) -> anyhow::Result<()> {
    api.http
        .post(format!("{}/api/data/webhook_subscriptions", api.base))
        .bearer_auth(token)
        .json(&json!({"url": url, "event_types": ["*"]}))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

async fn create_customer(api: &Api, token: &str, n: usize) -> anyhow::Result<()> {
    api.http
        .post(format!("{}/api/data/customers", api.base))
        .bearer_auth(token)
        .json(&json!({"first_name": format!("Bench {n}"), "email": format!("c{n}@example.com")}))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// Closed loop: `clients` tasks creating customers for `seconds`. (requests/s, p50, p99 ms)
async fn load(api: &Api, token: &str, shape: &Shape) -> anyhow::Result<(f64, f64, f64)> {
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let until = Instant::now() + Duration::from_secs(shape.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..shape.clients {
        let (api, token, latencies) = (api.clone(), token.to_owned(), latencies.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = c * 1_000_000;
            while Instant::now() < until {
                let t = Instant::now();
                create_customer(&api, &token, n).await?;
                latencies
                    .lock()
                    .await
                    .push(t.elapsed().as_secs_f64() * 1000.0);
                n += 1;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let elapsed = started.elapsed();
    let mut l = latencies.lock().await;
    let rps = l.len() as f64 / elapsed.as_secs_f64();
    Ok((rps, quantile(&mut l, 0.5), quantile(&mut l, 0.99)))
}

/// Open loop: one create every 1/rate s for `seconds` (each in its own task). Returns how
/// many were made and how many the API refused (e.g. 503 when its pool is exhausted).
async fn paced_writes(api: &Api, token: &str, shape: &Shape) -> anyhow::Result<(usize, usize)> {
    let total = usize::try_from(shape.rate * shape.seconds)?;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / shape.rate.max(1) as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(total);
    for n in 0..total {
        ticker.tick().await;
        let (api, token) = (api.clone(), token.to_owned());
        tasks.push(tokio::spawn(async move {
            create_customer(&api, &token, n).await
        }));
    }
    let mut refused = 0;
    for t in tasks {
        if t.await?.is_err() {
            refused += 1;
        }
    }
    Ok((total - refused, refused))
}

/// The fan-out lag at `rate` writes/s without the API in the way: each write is one tenant
/// transaction through the real audit path (`audit::log_changes`, which wakes the fan-out).
async fn direct_lag(api: &Api, database_url: &str, shape: &Shape) -> anyhow::Result<()> {
    use fieldwork_core::audit::{AuditAction, AuditRecord, log_changes};
    use fieldwork_core::db::{self, DbRole, PoolConfig, begin_tenant};
    use fieldwork_core::ids::{Actor, UserId};

    let token = signup(api, "direct").await?;
    let sink = WebhookSink::start(None).await?;
    subscribe(api, &token, &sink.url()).await?;
    let me: serde_json::Value = api
        .http
        .get(format!("{}/api/auth/me", api.base))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let user = UserId(me["data"]["id"].as_str().context("no user id")?.parse()?);
    let mut cfg = PoolConfig::new(database_url, "fieldwork-bench-writer");
    cfg.max_connections = 16;
    let pool = db::pool(&cfg, DbRole::App)?;
    let total = usize::try_from(shape.rate * shape.seconds)?;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / shape.rate.max(1) as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(total);
    for n in 0..total {
        ticker.tick().await;
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut changes = serde_json::Map::new();
            changes.insert("n".into(), json!({"old": null, "new": n}));
            let record = AuditRecord {
                actor: Actor::new(user, None),
                entity_type: "customer",
                entity_id: uuid::Uuid::now_v7(),
                action: AuditAction::Update,
                changes,
            };
            let mut tx = begin_tenant(&pool, user).await?;
            log_changes(&mut tx, &[record]).await?;
            tx.commit().await?;
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while sink.count() < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut lags = sink.lags();
    println!(
        "fan-out lag at {}/s written through the audit path directly (no API) for {} s: {} of {total} events arrived; p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        shape.rate,
        shape.seconds,
        lags.len(),
        quantile(&mut lags, 0.5) * 1000.0,
        quantile(&mut lags, 0.99) * 1000.0,
        quantile(&mut lags, 1.0) * 1000.0,
    );
    pool.close().await;
    Ok(())
}
