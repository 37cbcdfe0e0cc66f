//! The API's Prometheus metrics: request counts and latencies per route and status, the
//! database pool, served at `GET /metrics` together with every other metric of the process
//! (e.g. `fieldwork_jobs_inserted_total` for jobs this API enqueued).

use std::sync::LazyLock;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts};

use crate::state::AppState;

/// Request latency buckets (seconds).
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static REQUESTS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    prometheus::register_int_counter_vec!(
        Opts::new("fieldwork_http_requests_total", "HTTP requests answered"),
        &["method", "route", "status"]
    )
    .ok()
});

static LATENCY: LazyLock<Option<HistogramVec>> = LazyLock::new(|| {
    prometheus::register_histogram_vec!(
        HistogramOpts::new(
            "fieldwork_http_request_duration_seconds",
            "HTTP request latency"
        )
        .buckets(LATENCY_BUCKETS.to_vec()),
        &["method", "route"]
    )
    .ok()
});

static POOL: LazyLock<Option<IntGaugeVec>> = LazyLock::new(|| {
    prometheus::register_int_gauge_vec!(
        Opts::new(
            "fieldwork_db_pool_connections",
            "Database pool connections by state"
        ),
        &["state"]
    )
    .ok()
});

/// The `method` label of a request: the standard methods by name, anything else (clients
/// may send any token as a method) as `other`, so the label stays bounded.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Counts one answered request. `route` is the matched route template (bounded label values),
/// or `unmatched`.
pub fn observe_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    if let Some(c) = REQUESTS.as_ref() {
        c.with_label_values(&[method, route, &status.to_string()])
            .inc();
    }
    if let Some(h) = LATENCY.as_ref() {
        h.with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
    }
}

/// Prometheus metrics of this API process (text exposition format, not the JSON envelope).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String)))]
pub async fn scrape(State(state): State<AppState>) -> impl IntoResponse {
    if let Some(g) = POOL.as_ref() {
        let size = i64::from(state.pool.size());
        let idle = i64::try_from(state.pool.num_idle()).unwrap_or(i64::MAX);
        g.with_label_values(&["idle"]).set(idle);
        g.with_label_values(&["in_use"]).set(size - idle);
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        fieldwork_core::queue::metrics::render(),
    )
}
