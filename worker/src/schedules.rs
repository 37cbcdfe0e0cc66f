//! Cron schedules, declared in code: one explicit list of `(name, expression, job)`. Each
//! tick fires exactly once across the fleet (see `runtime::cron`).

use fieldwork_core::queue::{JobOptions, NewJob};

use crate::runtime::cron::CronSchedule;
use crate::settings::WorkerSettings;

/// Every schedule this worker fires. Add new schedules here.
pub fn schedules(settings: &WorkerSettings) -> Result<Vec<CronSchedule>, String> {
    let mut list = Vec::new();
    // Domain schedules (reminder scans, digest mails) are added here as they arrive.
    if let (true, Some(expr)) = (settings.test_kinds, settings.test_cron.as_deref()) {
        list.push(CronSchedule::new("test.cron", expr, |tick| {
            let job = crate::test_kinds::RecordJob {
                label: Some(format!("cron:{}", tick.to_rfc3339())),
                sleep_ms: 0,
                complete_in_tx: false,
            };
            NewJob::new(&job, JobOptions::default())
        })?);
    }
    Ok(list)
}
