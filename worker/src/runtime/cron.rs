//! Cron: schedules declared in code (cron 0.17 expressions, seconds first) whose ticks every
//! worker process races to fire; `queue::schedule::fire_tick` lets exactly one win each tick.
//! A tick that fails or is missed (no worker up) is logged and skipped: the loop goes on.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use fieldwork_core::queue::NewJob;
use fieldwork_core::queue::schedule::fire_tick;

use super::Shared;

type MakeJob = dyn Fn(DateTime<Utc>) -> fieldwork_core::Result<NewJob> + Send + Sync;

/// A named schedule and the job each tick enqueues.
#[derive(Clone)]
pub struct CronSchedule {
    pub name: String,
    pub schedule: cron::Schedule,
    make: Arc<MakeJob>,
}

impl CronSchedule {
    /// `expression`: `sec min hour day-of-month month day-of-week [year]`, in UTC.
    pub fn new(
        name: &str,
        expression: &str,
        make: impl Fn(DateTime<Utc>) -> fieldwork_core::Result<NewJob> + Send + Sync + 'static,
    ) -> Result<Self, String> {
        let schedule = cron::Schedule::from_str(expression)
            .map_err(|e| format!("cron schedule {name}: invalid expression {expression:?}: {e}"))?;
        Ok(Self {
            name: name.to_owned(),
            schedule,
            make: Arc::new(make),
        })
    }

    fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule.after(&t).next()
    }
}

/// Fires the schedules' ticks until shutdown.
pub async fn cron_loop(shared: Arc<Shared>, schedules: Vec<CronSchedule>) {
    if schedules.is_empty() {
        return;
    }
    let mut stop = shared.stop.subscribe();
    let start = Utc::now();
    let mut next: Vec<Option<DateTime<Utc>>> =
        schedules.iter().map(|s| s.next_after(start)).collect();
    loop {
        let Some(due) = next.iter().flatten().min().copied() else {
            return;
        };
        let wait = (due - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        let now = Utc::now();
        for (i, schedule) in schedules.iter().enumerate() {
            let Some(tick) = next[i] else { continue };
            if tick > now {
                continue;
            }
            fire(&shared, schedule, tick).await;
            // Ticks missed while this one fired (a long outage) are skipped, not replayed.
            next[i] = schedule.next_after(tick.max(now));
        }
    }
}

async fn fire(shared: &Shared, schedule: &CronSchedule, tick: DateTime<Utc>) {
    let job = match (schedule.make)(tick) {
        Ok(job) => job,
        Err(e) => {
            tracing::error!(schedule = %schedule.name, error = %e, "cron job could not be built");
            return;
        }
    };
    match fire_tick(
        &shared.system_pool,
        &schedule.name,
        tick,
        &shared.worker_id,
        job,
    )
    .await
    {
        Ok(Some(job)) => {
            tracing::info!(schedule = %schedule.name, %tick, job = %job.id, "cron tick fired")
        }
        Ok(None) => tracing::debug!(schedule = %schedule.name, %tick, "cron tick fired elsewhere"),
        Err(e) => {
            tracing::warn!(schedule = %schedule.name, %tick, error = %e, "cron tick failed; skipped")
        }
    }
}
