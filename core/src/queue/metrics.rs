//! Prometheus metrics of the job engine, registered in the process-wide default registry:
//! whichever process inserts, runs, rescues or discards a job counts it (the worker serves
//! them on `METRICS_ADDR`).

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    register_histogram_vec, register_int_counter, register_int_counter_vec, register_int_gauge,
    register_int_gauge_vec,
};

/// Run-time buckets (seconds): from a 1 ms no-op to a 10 min report.
pub const RUN_TIME_BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
    600.0,
];

fn counter(name: &str, help: &str) -> Option<IntCounterVec> {
    register_int_counter_vec!(Opts::new(name, help), &["queue", "kind"]).ok()
}

static INSERTED: LazyLock<Option<IntCounterVec>> =
    LazyLock::new(|| counter("fieldwork_jobs_inserted_total", "Jobs inserted"));
static COMPLETED: LazyLock<Option<IntCounterVec>> =
    LazyLock::new(|| counter("fieldwork_jobs_completed_total", "Job runs that completed"));
static FAILED: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    counter(
        "fieldwork_jobs_failed_total",
        "Job runs that failed (errors and panics; each is retried or discarded)",
    )
});
static DISCARDED: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    counter(
        "fieldwork_jobs_discarded_total",
        "Jobs discarded (attempts exhausted, undecodable payload, unknown kind)",
    )
});
static CANCELLED: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    counter(
        "fieldwork_jobs_cancelled_total",
        "Running jobs that ended cancelled",
    )
});
static SNOOZED: LazyLock<Option<IntCounterVec>> =
    LazyLock::new(|| counter("fieldwork_jobs_snoozed_total", "Job runs that snoozed"));
static RESCUED: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    counter(
        "fieldwork_jobs_rescued_total",
        "Running jobs whose lease expired and that the rescuer returned (lease rescues)",
    )
});
static RUN_TIME: LazyLock<Option<HistogramVec>> = LazyLock::new(|| {
    register_histogram_vec!(
        HistogramOpts::new("fieldwork_job_run_seconds", "Handler run time")
            .buckets(RUN_TIME_BUCKETS.to_vec()),
        &["queue", "kind"]
    )
    .ok()
});
static LEASES_LOST: LazyLock<Option<IntCounter>> = LazyLock::new(|| {
    register_int_counter!(
        "fieldwork_job_leases_lost_total",
        "Jobs this worker held whose lease was taken away (rescued or cancelled) before it acked"
    )
    .ok()
});
/// Available jobs per queue (sampled on scrape).
pub static QUEUE_DEPTH: LazyLock<Option<IntGaugeVec>> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "fieldwork_queue_available_jobs",
        "Available (runnable, not yet claimed) jobs per queue",
        &["queue"]
    )
    .ok()
});
/// Age of the oldest available job per queue (sampled on scrape).
pub static QUEUE_OLDEST_AGE: LazyLock<Option<prometheus::GaugeVec>> = LazyLock::new(|| {
    prometheus::register_gauge_vec!(
        "fieldwork_queue_oldest_available_age_seconds",
        "How long the oldest available job of each queue has waited",
        &["queue"]
    )
    .ok()
});
/// Jobs this process holds (claimed, not yet acknowledged).
pub static HELD: LazyLock<Option<IntGauge>> = LazyLock::new(|| {
    register_int_gauge!(
        "fieldwork_worker_held_jobs",
        "Jobs this worker holds under lease"
    )
    .ok()
});
/// Jobs table health (sampled on scrape), for bloat alerts.
pub static TABLE: LazyLock<Option<IntGaugeVec>> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "fieldwork_jobs_table",
        "Jobs table health: live_tuples, dead_tuples, table_bytes, index_bytes",
        &["measure"]
    )
    .ok()
});

fn inc(metric: &LazyLock<Option<IntCounterVec>>, queue: &str, kind: &str, by: u64) {
    if let Some(m) = metric.as_ref() {
        m.with_label_values(&[queue, kind]).inc_by(by);
    }
}

pub fn inserted(queue: &str, kind: &str) {
    inc(&INSERTED, queue, kind, 1);
}
pub fn completed(queue: &str, kind: &str) {
    inc(&COMPLETED, queue, kind, 1);
}
pub fn failed(queue: &str, kind: &str) {
    inc(&FAILED, queue, kind, 1);
}
pub fn discarded(queue: &str, kind: &str) {
    inc(&DISCARDED, queue, kind, 1);
}
pub fn cancelled(queue: &str, kind: &str) {
    inc(&CANCELLED, queue, kind, 1);
}
pub fn snoozed(queue: &str, kind: &str) {
    inc(&SNOOZED, queue, kind, 1);
}
pub fn rescued(queue: &str, kind: &str) {
    inc(&RESCUED, queue, kind, 1);
}
pub fn run_time(queue: &str, kind: &str, took: Duration) {
    if let Some(m) = RUN_TIME.as_ref() {
        m.with_label_values(&[queue, kind])
            .observe(took.as_secs_f64());
    }
}
pub fn leases_lost(n: u64) {
    if let Some(m) = LEASES_LOST.as_ref() {
        m.inc_by(n);
    }
}

/// Runs of `kind` in `queue` this process acknowledged as completed (for the bench).
pub fn completed_count(queue: &str, kind: &str) -> u64 {
    COMPLETED
        .as_ref()
        .map_or(0, |m| m.with_label_values(&[queue, kind]).get())
}

/// Registers every metric now, so a scrape lists them before the first job.
pub fn init() {
    for m in [
        &INSERTED, &COMPLETED, &FAILED, &DISCARDED, &CANCELLED, &SNOOZED, &RESCUED,
    ] {
        LazyLock::force(m);
    }
    LazyLock::force(&RUN_TIME);
    LazyLock::force(&LEASES_LOST);
    LazyLock::force(&QUEUE_DEPTH);
    LazyLock::force(&QUEUE_OLDEST_AGE);
    LazyLock::force(&HELD);
    LazyLock::force(&TABLE);
}

/// The default registry in Prometheus text format.
pub fn render() -> String {
    let families = prometheus::gather();
    prometheus::TextEncoder::new()
        .encode_to_string(&families)
        .unwrap_or_default()
}
