//! Every job kind this worker runs — one file per kind, each with its payload type (`Job`)
//! and handler — and the two explicit lists: [`registry`] maps kinds to handlers (a kind
//! missing here is discarded with a clear error when a worker meets it), [`schedules`]
//! declares the cron schedules (each tick fires exactly once across the fleet, see
//! `runtime::cron`). Handlers get their outside clients from [`Clients`], built once.

pub mod bench_noop;
pub mod send_batch;
pub mod send_message;
#[cfg(feature = "test-kinds")]
pub mod test_kinds;

use crate::clients::Clients;
use crate::registry::Registry;
use crate::runtime::cron::CronSchedule;
use crate::settings::WorkerSettings;

/// Every job kind this worker runs. Add new kinds here.
pub fn registry(settings: &WorkerSettings, clients: &Clients) -> Registry {
    let mut registry = Registry::default();
    // Domain kinds (messages, extraction, audit fan-out) register here as they arrive.
    send_message::register(&mut registry, &settings.messages, clients);
    if settings.test_kinds {
        bench_noop::register(&mut registry);
        #[cfg(feature = "test-kinds")]
        test_kinds::register(&mut registry);
    }
    registry
}

/// Every cron schedule this worker fires. Add new schedules here.
pub fn schedules(
    settings: &WorkerSettings,
    clients: &Clients,
) -> Result<Vec<CronSchedule>, String> {
    let _ = clients;
    #[allow(unused_mut)]
    let mut list = Vec::new();
    // Domain schedules (reminder scans, pruning) are added here as they arrive.
    #[cfg(feature = "test-kinds")]
    if let (true, Some(expr)) = (settings.test_kinds, settings.test_cron.as_deref()) {
        list.push(test_kinds::cron_schedule(expr)?);
    }
    #[cfg(not(feature = "test-kinds"))]
    let _ = settings;
    Ok(list)
}

/// HELP texts of the metrics the job kinds record; called once at start-up, after the
/// exporter is installed.
pub fn describe_metrics() {
    // Each kind with metrics of its own adds its `describe_metrics()` call here.
    send_message::describe_metrics();
}
