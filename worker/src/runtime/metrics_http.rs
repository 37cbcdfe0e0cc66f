//! The internal listener on `METRICS_ADDR`: Prometheus metrics at `/metrics` — counters and
//! histograms kept in-process, the database pools, and the queue gauges read from the
//! fleet's shared sample (one primary-key read per scrape, bounded by a timeout, so neither
//! a big jobs table nor a slow database can make a scrape slow) — `/healthz`, and the jobs
//! page at `/ops/` when `OPS_TOKEN` is set (404 otherwise).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::Utc;
use fieldwork_core::queue::{metrics, sample};

use super::Shared;

pub async fn serve(shared: Arc<Shared>, addr: SocketAddr) {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(%addr, error = %e, "cannot serve metrics");
            return;
        }
    };
    let mut app = Router::new()
        .route("/metrics", get(scrape))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(shared.clone());
    match &shared.settings.ops_token {
        Some(token) => match crate::web::router(shared.system_pool.clone(), token) {
            Ok(ops) => {
                app = app.merge(ops);
                tracing::info!(%addr, "serving metrics on /metrics and the jobs page on /ops/");
            }
            Err(e) => tracing::error!(error = %e, "cannot serve the jobs page"),
        },
        None => {
            tracing::info!(%addr, "serving metrics on /metrics (jobs page off: OPS_TOKEN unset)")
        }
    }
    let mut stop = shared.stop.subscribe();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "metrics server stopped");
    }
}

async fn scrape(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    fieldwork_core::db_metrics::record("app", &shared.app_pool);
    fieldwork_core::db_metrics::record("system", &shared.system_pool);
    match tokio::time::timeout(Duration::from_secs(2), sample::read(&shared.system_pool)).await {
        Ok(Ok(Some(stored))) => {
            let served: Vec<&str> = shared.held.queues.iter().map(|q| &*q.name).collect();
            metrics::export_sample(&stored, &served, Utc::now());
        }
        // Before the fleet's first sample: no queue gauges yet.
        Ok(Ok(None)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "reading the queue sample failed"),
        Err(_) => tracing::warn!("reading the queue sample timed out"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        fieldwork_core::metrics_export::render(),
    )
}
