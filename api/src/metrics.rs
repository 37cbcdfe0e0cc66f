//! The API's Prometheus metrics: request counts and latencies per route and status, the
//! database pool, served at `GET /metrics` together with every other metric of the process
//! (e.g. `fieldwork_jobs_inserted_total` for jobs this API enqueued).

use std::sync::Once;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

use crate::state::AppState;

const REQUESTS: &str = "fieldwork_http_requests_total";
const LATENCY: &str = "fieldwork_http_request_duration_seconds";
const POOL: &str = "fieldwork_db_pool_connections";

/// Installs the process's exporter (once) and describes the API's metrics.
pub fn install() {
    static DESCRIBED: Once = Once::new();
    fieldwork_core::metrics_export::install();
    DESCRIBED.call_once(|| {
        describe_counter!(REQUESTS, Unit::Count, "HTTP requests answered");
        describe_histogram!(LATENCY, Unit::Seconds, "HTTP request latency");
        describe_gauge!(POOL, Unit::Count, "Database pool connections by state");
    });
}

/// Counts one answered request. `route` is the matched route template (bounded label values),
/// or `unmatched`.
pub fn observe_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    counter!(REQUESTS, "method" => method.to_owned(), "route" => route.to_owned(),
        "status" => status.to_string())
    .increment(1);
    histogram!(LATENCY, "method" => method.to_owned(), "route" => route.to_owned())
        .record(elapsed.as_secs_f64());
}

/// Prometheus metrics of this API process (text exposition format, not the JSON envelope).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String)))]
pub async fn scrape(State(state): State<AppState>) -> impl IntoResponse {
    let size = f64::from(state.pool.size());
    let idle = state.pool.num_idle() as f64;
    gauge!(POOL, "state" => "idle").set(idle);
    gauge!(POOL, "state" => "in_use").set(size - idle);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        fieldwork_core::metrics_export::render(),
    )
}
