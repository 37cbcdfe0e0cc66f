//! The process's Prometheus exporter behind the `metrics` facade: installed once per process
//! (whichever binary, or test, serves `/metrics` first), with histogram buckets chosen per
//! metric so every `_seconds` metric is a real histogram, never a summary.
//!
//! Code everywhere records with `metrics::counter!` / `histogram!` / `gauge!` and does not
//! know about the exporter; a recorder that is not installed makes those calls no-ops.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency of work done in-process or against the database (seconds): 1 ms to 10 min.
pub const DEFAULT_SECONDS_BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
    600.0,
];

/// Lateness of scheduled work (seconds): 0.1 s to 1 day. Send lag, fan-out lag and the like.
pub const LAG_BUCKETS: [f64; 14] = [
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0,
];

/// Histograms with buckets other than [`DEFAULT_SECONDS_BUCKETS`]: add a line when a new
/// histogram's values do not fit those (e.g. lags, sizes).
const BUCKETS: &[(&str, &[f64])] = &[
    ("fieldwork_message_send_lag_seconds", &LAG_BUCKETS),
    ("fieldwork_webhook_fanout_lag_seconds", &LAG_BUCKETS),
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder for this process (once; later calls return the same
/// handle). In a test binary several workers and APIs share it, as they share the process.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = builder().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
        }
        crate::queue::metrics::describe();
        crate::db_metrics::describe();
        spawn_upkeep(handle.clone());
        handle
    })
}

fn builder() -> PrometheusBuilder {
    let configured = BUCKETS.iter().fold(
        PrometheusBuilder::new().set_buckets(&DEFAULT_SECONDS_BUCKETS),
        |builder, (name, buckets)| {
            builder
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full((*name).to_owned()), buckets))
        },
    );
    // Only empty bucket lists are refused; the test below keeps them non-empty.
    configured.unwrap_or_else(|e| {
        tracing::error!(error = %e, "invalid histogram buckets; using the exporter's defaults");
        PrometheusBuilder::new()
    })
}

/// Everything recorded in this process, in the Prometheus text exposition format.
pub fn render() -> String {
    install().render()
}

/// Histograms keep raw samples until upkeep (or a scrape) folds them into buckets; without a
/// periodic upkeep a process that is never scraped would grow without bound. A plain thread,
/// so it outlives any one async runtime (tests start many).
fn spawn_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                handle.run_upkeep();
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the metrics upkeep thread");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_lists_are_sorted_and_positive() {
        for (name, buckets) in BUCKETS
            .iter()
            .copied()
            .chain([("default", &DEFAULT_SECONDS_BUCKETS[..])])
        {
            assert!(buckets.windows(2).all(|w| w[0] < w[1]), "{name}");
            assert!(buckets.iter().all(|b| *b > 0.0), "{name}");
        }
    }
}
