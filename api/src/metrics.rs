//! The API's Prometheus metrics: requests and latency per method, route template and status
//! class, the database pool, served at `GET /metrics` on the internal listener (`METRICS_ADDR`,
//! not the public `LISTEN_ADDR`) together with every other metric of the process (e.g. `fieldwork_jobs_inserted_total` for jobs this API enqueued). Every label is
//! bounded whatever clients send: methods outside the standard set count as `other`, paths
//! that match no route as `unmatched`, and statuses by class (`2xx` ... `5xx`).

use std::future::Future;
use std::sync::Once;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};
use sqlx::PgPool;
use tokio::net::TcpListener;

const REQUESTS: &str = "fieldwork_http_requests_total";
const LATENCY: &str = "fieldwork_http_request_duration_seconds";

/// Installs the process's exporter (once) and describes the API's metrics.
pub fn install() {
    static DESCRIBED: Once = Once::new();
    fieldwork_core::metrics_export::install();
    DESCRIBED.call_once(|| {
        describe_counter!(
            REQUESTS,
            Unit::Count,
            "HTTP requests answered, by method, route template and status class"
        );
        describe_histogram!(
            LATENCY,
            Unit::Seconds,
            "HTTP request latency (until the response head), by method, route template and status class"
        );
    });
}

/// The method as a label value: the standard methods, else `other` (clients may send any
/// token as a method).
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// The status class as a label value: `1xx` ... `5xx`.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Counts one answered request. `route` is the matched route template (bounded label values),
/// or `unmatched`.
pub fn observe_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let (method, class) = (method_label(method), status_class(status));
    counter!(REQUESTS, "method" => method, "route" => route.to_owned(), "status" => class)
        .increment(1);
    histogram!(LATENCY, "method" => method, "route" => route.to_owned(), "status" => class)
        .record(elapsed.as_secs_f64());
}

/// The internal listener's router: `GET /metrics`, the Prometheus text exposition of this
/// API process (not the JSON envelope). Served on `METRICS_ADDR`, never on the public router:
/// request counts per route are not for clients.
pub fn router(pool: PgPool) -> Router {
    install();
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(pool)
}

/// Serves [`router`] on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    pool: PgPool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(pool))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn scrape(State(pool): State<PgPool>) -> impl IntoResponse {
    fieldwork_core::db_metrics::record("app", &pool);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        fieldwork_core::metrics_export::render(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_within_fixed_sets_whatever_the_request() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("BREW"), "other");
        assert_eq!(status_class(201), "2xx");
        assert_eq!(status_class(429), "4xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(status_class(999), "5xx");
    }
}
