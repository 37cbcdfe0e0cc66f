//! The Prometheus endpoint on `METRICS_ADDR`: counters and histograms kept in-process, plus
//! queue depth, oldest available age and jobs-table health sampled from Postgres at scrape
//! time (bounded by a timeout, so a slow database cannot hang the scrape).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use fieldwork_core::queue::{metrics, stats};

use super::Shared;

pub async fn serve(shared: Arc<Shared>, addr: SocketAddr) {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(%addr, error = %e, "cannot serve metrics");
            return;
        }
    };
    tracing::info!(%addr, "serving metrics on /metrics");
    let mut stop = shared.stop.subscribe();
    let app = Router::new()
        .route("/metrics", get(scrape))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(shared.clone());
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
    if tokio::time::timeout(Duration::from_secs(2), sample(&shared))
        .await
        .is_err()
    {
        tracing::warn!("sampling queue metrics timed out");
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        fieldwork_core::metrics_export::render(),
    )
}

async fn sample(shared: &Shared) {
    match stats::depths(&shared.system_pool).await {
        Ok(depths) => {
            // Queues that drained report zero rather than their last value.
            for q in &shared.held.queues {
                if !depths.iter().any(|d| *d.queue == *q.name) {
                    metrics::queue_depth(&q.name, 0, 0.0);
                }
            }
            for d in depths {
                metrics::queue_depth(&d.queue, d.available, d.oldest_age_seconds);
            }
        }
        Err(e) => tracing::warn!(error = %e, "sampling queue depth failed"),
    }
    match stats::table_health(&shared.system_pool).await {
        Ok(h) => {
            metrics::table("live_tuples", h.live_tuples);
            metrics::table("dead_tuples", h.dead_tuples);
            metrics::table("table_bytes", h.table_bytes);
            metrics::table("index_bytes", h.index_bytes);
        }
        Err(e) => tracing::warn!(error = %e, "sampling jobs table health failed"),
    }
}
