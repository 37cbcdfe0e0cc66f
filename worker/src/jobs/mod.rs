//! Every job kind this worker runs — one file per kind, each with its payload type (`Job`)
//! and handler — and the two explicit lists: [`registry`] maps kinds to handlers (a kind
//! missing here is discarded with a clear error when a worker meets it), [`schedules`]
//! declares the cron schedules (each tick fires exactly once across the fleet, see
//! `runtime::cron`). Handlers get their outside clients from [`Clients`], built once.

pub mod bench_noop;
pub mod extract_ticket_attributes;
pub mod prune_sessions;
pub mod send_batch;
pub mod send_message;
#[cfg(feature = "test-kinds")]
pub mod test_kinds;
pub mod webhook_deliver;
pub mod webhook_fan_out;
pub mod webhook_send;

use crate::clients::Clients;
use crate::registry::Registry;
use crate::runtime::cron::CronSchedule;
use crate::settings::WorkerSettings;

/// Every job kind this worker runs. Add new kinds here.
pub fn registry(settings: &WorkerSettings, clients: &Clients) -> Registry {
    let mut registry = Registry::default();
    // Domain kinds (messages, extraction, audit fan-out) register here as they arrive.
    extract_ticket_attributes::register(&mut registry, clients.extractor.clone());
    prune_sessions::register(&mut registry);
    send_message::register(&mut registry, &settings.messages, clients);
    webhook_fan_out::register(&mut registry);
    webhook_deliver::register(&mut registry, clients.webhooks.clone());
    webhook_send::register(&mut registry, clients.webhooks.clone());
    if settings.test_kinds {
        bench_noop::register(&mut registry);
        #[cfg(feature = "test-kinds")]
        test_kinds::register(&mut registry);
    }
    registry
}

/// Queues that get less than `WORKER_CONCURRENCY` when `WORKER_QUEUES` does not size them:
/// model calls are slow and rate-limited; the fan-out of one tenant runs one at a time anyway.
const QUEUE_CONCURRENCY_CAPS: &[(&str, usize)] = &[("llm", 2), ("events", 4)];

/// The default concurrency cap of `queue`, if it has one.
pub fn queue_concurrency_cap(queue: &str) -> Option<usize> {
    QUEUE_CONCURRENCY_CAPS
        .iter()
        .find(|(q, _)| *q == queue)
        .map(|(_, cap)| *cap)
}

/// Every cron schedule this worker fires. Add new schedules here.
pub fn schedules(
    settings: &WorkerSettings,
    clients: &Clients,
) -> Result<Vec<CronSchedule>, String> {
    let _ = clients;
    let mut list = Vec::new();
    // Workers with the test kinds fire none of the domain schedules: a wall-clock tick would
    // add jobs tests do not expect (tests enqueue those kinds themselves).
    if !settings.test_kinds {
        list.push(prune_sessions::schedule()?);
    }
    #[cfg(feature = "test-kinds")]
    if let (true, Some(expr)) = (settings.test_kinds, settings.test_cron.as_deref()) {
        list.push(test_kinds::cron_schedule(expr)?);
    }
    Ok(list)
}

/// HELP texts of the metrics the job kinds record; called once at start-up, after the
/// exporter is installed.
pub fn describe_metrics() {
    // Each kind with metrics of its own adds its `describe_metrics()` call here.
    crate::clients::extractor::describe_metrics();
    send_message::describe_metrics();
    crate::clients::webhook::describe_metrics();
    webhook_deliver::describe_metrics();
    metrics::describe_gauge!(
        "fieldwork_webhook_endpoints_disabled",
        "Webhook subscriptions disabled after failing WEBHOOK_DISABLE_AFTER (fleet-wide count)"
    );
}
