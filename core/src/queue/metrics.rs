//! Metrics of the job engine, recorded through the `metrics` facade: whichever process
//! inserts, runs, rescues or discards a job counts it; the process's exporter
//! (`crate::metrics_export`) serves them. Labels are bounded: queue, kind, state, measure.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

pub const INSERTED: &str = "fieldwork_jobs_inserted_total";
pub const COMPLETED: &str = "fieldwork_jobs_completed_total";
pub const FAILED: &str = "fieldwork_jobs_failed_total";
pub const DISCARDED: &str = "fieldwork_jobs_discarded_total";
pub const CANCELLED: &str = "fieldwork_jobs_cancelled_total";
pub const SNOOZED: &str = "fieldwork_jobs_snoozed_total";
pub const RESCUED: &str = "fieldwork_jobs_rescued_total";
pub const RUN_TIME: &str = "fieldwork_job_run_seconds";
pub const LEASES_LOST: &str = "fieldwork_job_leases_lost_total";
pub const QUEUE_DEPTH: &str = "fieldwork_queue_available_jobs";
pub const QUEUE_OLDEST_AGE: &str = "fieldwork_queue_oldest_available_age_seconds";
pub const HELD: &str = "fieldwork_worker_held_jobs";
pub const TABLE: &str = "fieldwork_jobs_table";

/// Completions this process acknowledged, whatever the queue: the bench polls it instead of
/// the table it is measuring.
static COMPLETED_RUNS: AtomicU64 = AtomicU64::new(0);

/// HELP texts; called once when the exporter is installed.
pub fn describe() {
    describe_counter!(INSERTED, Unit::Count, "Jobs inserted");
    describe_counter!(COMPLETED, Unit::Count, "Job runs that completed");
    describe_counter!(
        FAILED,
        Unit::Count,
        "Job runs that failed (errors, panics, timeouts; each is retried or discarded)"
    );
    describe_counter!(
        DISCARDED,
        Unit::Count,
        "Jobs discarded (attempts exhausted, undecodable payload, unknown kind)"
    );
    describe_counter!(CANCELLED, Unit::Count, "Running jobs that ended cancelled");
    describe_counter!(SNOOZED, Unit::Count, "Job runs that snoozed");
    describe_counter!(
        RESCUED,
        Unit::Count,
        "Running jobs whose lease expired and that the rescuer returned (lease rescues)"
    );
    describe_histogram!(RUN_TIME, Unit::Seconds, "Handler run time");
    describe_counter!(
        LEASES_LOST,
        Unit::Count,
        "Jobs this worker held whose lease was taken away (rescued or cancelled) before it acked"
    );
    describe_gauge!(
        QUEUE_DEPTH,
        Unit::Count,
        "Available (runnable, not yet claimed) jobs per queue"
    );
    describe_gauge!(
        QUEUE_OLDEST_AGE,
        Unit::Seconds,
        "How long the oldest available job of each queue has waited"
    );
    describe_gauge!(HELD, Unit::Count, "Jobs this worker holds under lease");
    describe_gauge!(
        TABLE,
        "Jobs table health: live_tuples, dead_tuples, table_bytes, index_bytes"
    );
}

fn inc(name: &'static str, queue: &str, kind: &str) {
    counter!(name, "kind" => kind.to_owned(), "queue" => queue.to_owned()).increment(1);
}

pub fn inserted(queue: &str, kind: &str) {
    inc(INSERTED, queue, kind);
}
pub fn completed(queue: &str, kind: &str) {
    COMPLETED_RUNS.fetch_add(1, Ordering::Relaxed);
    inc(COMPLETED, queue, kind);
}
pub fn failed(queue: &str, kind: &str) {
    inc(FAILED, queue, kind);
}
pub fn discarded(queue: &str, kind: &str) {
    inc(DISCARDED, queue, kind);
}
pub fn cancelled(queue: &str, kind: &str) {
    inc(CANCELLED, queue, kind);
}
pub fn snoozed(queue: &str, kind: &str) {
    inc(SNOOZED, queue, kind);
}
pub fn rescued(queue: &str, kind: &str) {
    inc(RESCUED, queue, kind);
}
pub fn run_time(queue: &str, kind: &str, took: Duration) {
    histogram!(RUN_TIME, "kind" => kind.to_owned(), "queue" => queue.to_owned())
        .record(took.as_secs_f64());
}
pub fn leases_lost(n: u64) {
    counter!(LEASES_LOST).increment(n);
}
/// Jobs this process holds changed by `delta`.
pub fn held(delta: i64) {
    if delta >= 0 {
        gauge!(HELD).increment(delta as f64);
    } else {
        gauge!(HELD).decrement(delta.unsigned_abs() as f64);
    }
}
/// Queue depth and oldest available age of one queue (sampled on scrape).
pub fn queue_depth(queue: &str, available: i64, oldest_age_seconds: f64) {
    gauge!(QUEUE_DEPTH, "queue" => queue.to_owned()).set(available as f64);
    gauge!(QUEUE_OLDEST_AGE, "queue" => queue.to_owned()).set(oldest_age_seconds);
}
/// One jobs-table health measure (sampled on scrape).
pub fn table(measure: &'static str, value: i64) {
    gauge!(TABLE, "measure" => measure).set(value as f64);
}

/// Completions this process acknowledged so far, all queues (for the bench).
pub fn completed_count() -> u64 {
    COMPLETED_RUNS.load(Ordering::Relaxed)
}
