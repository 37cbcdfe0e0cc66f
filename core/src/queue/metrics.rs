//! Metrics of the job engine, recorded through the `metrics` facade: whichever process
//! inserts, runs, rescues or discards a job counts it; the process's exporter
//! (`crate::metrics_export`) serves them. The queue gauges come from the fleet's shared
//! sample (`super::sample`), so every worker exports the same values: aggregate them with
//! `max`, never `sum`. Labels are bounded: queue, kind, state.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::JobState;
use super::sample::StoredSample;

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
pub const RETRIED: &str = "fieldwork_jobs_retried_total";
pub const RUN_TIME: &str = "fieldwork_job_run_seconds";
pub const LEASES_LOST: &str = "fieldwork_job_leases_lost_total";
pub const QUEUE_JOBS: &str = "fieldwork_queue_jobs";
pub const QUEUE_OLDEST_AGE: &str = "fieldwork_queue_oldest_available_age_seconds";
pub const QUEUE_PAUSED: &str = "fieldwork_queue_paused";
pub const STATS_SAMPLED: &str = "fieldwork_queue_stats_sampled_timestamp_seconds";
pub const HELD: &str = "fieldwork_worker_held_jobs";
pub const TABLE_LIVE: &str = "fieldwork_jobs_table_live_tuples";
pub const TABLE_DEAD: &str = "fieldwork_jobs_table_dead_tuples";
pub const TABLE_BYTES: &str = "fieldwork_jobs_table_size_bytes";
pub const TABLE_INDEX_BYTES: &str = "fieldwork_jobs_table_index_size_bytes";

/// The live states the queue gauges report.
pub const LIVE_STATES: [JobState; 4] = [
    JobState::Scheduled,
    JobState::Available,
    JobState::Running,
    JobState::Retryable,
];

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
    describe_counter!(
        RETRIED,
        Unit::Count,
        "Job runs that failed and were scheduled for another attempt (after their backoff)"
    );
    describe_histogram!(RUN_TIME, Unit::Seconds, "Handler run time");
    describe_counter!(
        LEASES_LOST,
        Unit::Count,
        "Jobs this worker held whose lease was taken away (rescued or cancelled) before it acked"
    );
    describe_gauge!(
        QUEUE_JOBS,
        Unit::Count,
        "Jobs per queue and live state (scheduled, available, running, retryable), from the \
         fleet's shared sample: every worker reports the same value, aggregate with max"
    );
    describe_gauge!(
        QUEUE_OLDEST_AGE,
        Unit::Seconds,
        "How long the oldest available (runnable, unclaimed) job of each queue has waited; \
         0 when none waits"
    );
    describe_gauge!(
        QUEUE_PAUSED,
        Unit::Count,
        "1 while the queue is paused (no worker claims from it), else 0"
    );
    describe_gauge!(
        STATS_SAMPLED,
        Unit::Seconds,
        "Unix time of the shared queue sample the queue gauges come from"
    );
    describe_gauge!(HELD, Unit::Count, "Jobs this worker holds under lease");
    describe_gauge!(TABLE_LIVE, Unit::Count, "Live tuples of the jobs table");
    describe_gauge!(
        TABLE_DEAD,
        Unit::Count,
        "Dead tuples of the jobs table (bloat that vacuum has not reclaimed yet)"
    );
    describe_gauge!(
        TABLE_BYTES,
        Unit::Bytes,
        "Size of the jobs table (heap and TOAST)"
    );
    describe_gauge!(
        TABLE_INDEX_BYTES,
        Unit::Bytes,
        "Size of the jobs table's indexes"
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
pub fn retried(queue: &str, kind: &str) {
    inc(RETRIED, queue, kind);
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

/// Queues this process has exported gauges for: a queue that drained (and so vanished from
/// the sample) reports zeros instead of its last values.
static EXPORTED_QUEUES: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Sets the queue gauges from the fleet's shared sample, as of `now`. `also` names queues to
/// report even without jobs (the queues this worker serves).
pub fn export_sample(stored: &StoredSample, also: &[&str], now: DateTime<Utc>) {
    let sample = &stored.sample;
    let mut queues = match EXPORTED_QUEUES.lock() {
        Ok(q) => q,
        Err(poisoned) => poisoned.into_inner(),
    };
    queues.extend(sample.queue_names());
    queues.extend(also.iter().map(|q| (*q).to_owned()));
    for queue in queues.iter() {
        for state in LIVE_STATES {
            gauge!(QUEUE_JOBS, "queue" => queue.clone(), "state" => state.as_str())
                .set(sample.jobs(queue, state) as f64);
        }
        let age = sample
            .oldest_available_at(queue)
            .map_or(0.0, |at| (now - at).as_seconds_f64().max(0.0));
        gauge!(QUEUE_OLDEST_AGE, "queue" => queue.clone()).set(age);
        let paused = sample.paused.iter().any(|p| p == queue);
        gauge!(QUEUE_PAUSED, "queue" => queue.clone()).set(if paused { 1.0 } else { 0.0 });
    }
    gauge!(STATS_SAMPLED).set(stored.sampled_at.timestamp_millis() as f64 / 1000.0);
    gauge!(TABLE_LIVE).set(sample.table.live_tuples as f64);
    gauge!(TABLE_DEAD).set(sample.table.dead_tuples as f64);
    gauge!(TABLE_BYTES).set(sample.table.table_bytes as f64);
    gauge!(TABLE_INDEX_BYTES).set(sample.table.index_bytes as f64);
}

/// Completions this process acknowledged so far, all queues (for the bench).
pub fn completed_count() -> u64 {
    COMPLETED_RUNS.load(Ordering::Relaxed)
}
