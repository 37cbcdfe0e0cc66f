//! "Why is this job not running?" in plain words, from the job's row, its queue's pause
//! state and its place in the queue. Pure: the page gathers the facts, this decides.

use chrono::{DateTime, Utc};
use fieldwork_core::queue::JobState;
use fieldwork_core::queue::control::PausedQueue;
use fieldwork_core::queue::inspect::{Ahead, JobDetail};
use serde::Serialize;

use super::{at, human, secs_between};

/// The answer: one sentence, and what to do about it (may be empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Why {
    pub answer: String,
    pub advice: String,
}

fn why(answer: String, advice: &str) -> Why {
    Why {
        answer,
        advice: advice.to_owned(),
    }
}

/// The last entry of the job's error history, as `error (kind)`.
pub fn last_error(job: &JobDetail) -> Option<String> {
    let last = job.errors.as_array()?.last()?;
    let kind = last.get("kind").and_then(|k| k.as_str()).unwrap_or("error");
    let error = last.get("error").and_then(|e| e.as_str()).unwrap_or("");
    Some(format!("{error} ({kind})"))
}

fn paused_sentence(queue: &str, p: &PausedQueue) -> String {
    format!(
        "Its queue {queue} is paused (since {}{}): no worker claims from it until it is resumed.",
        at(p.paused_at),
        p.paused_by
            .as_deref()
            .map(|b| format!(", by {b}"))
            .unwrap_or_default()
    )
}

/// Explains why `job` is not running (or what it is doing) at `now`. `paused`: its queue's
/// pause, if paused; `ahead`: for an available job, the jobs claimed before it.
pub fn explain(
    job: &JobDetail,
    paused: Option<&PausedQueue>,
    ahead: Option<Ahead>,
    now: DateTime<Utc>,
) -> Why {
    let q = &job.queue;
    let until = |t: DateTime<Utc>| {
        let s = secs_between(now, t);
        if s >= 0.0 {
            format!("{} (in {})", at(t), human(s))
        } else {
            format!("{} ({} ago)", at(t), human(-s))
        }
    };
    let paused_too = paused
        .map(|p| format!(" Then: {}", paused_sentence(q, p)))
        .unwrap_or_default();
    match job.state {
        JobState::Completed => why(
            format!(
                "It is not waiting: it completed at {} (attempt {} of {}).",
                at(job.finalized_at.unwrap_or(job.scheduled_at)),
                job.attempt,
                job.max_attempts
            ),
            "",
        ),
        JobState::Cancelled => why(
            format!(
                "It was cancelled at {}.",
                at(job.finalized_at.unwrap_or(job.scheduled_at))
            ),
            "Retry it to run it anyway.",
        ),
        JobState::Discarded => why(
            format!(
                "It was discarded at {} after attempt {} of {}{}.",
                at(job.finalized_at.unwrap_or(job.scheduled_at)),
                job.attempt,
                job.max_attempts,
                last_error(job)
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default()
            ),
            "Fix the cause, then retry it: a retry gives it one more attempt.",
        ),
        JobState::Running => {
            let worker = job.attempted_by.as_deref().unwrap_or("?");
            match (job.lease_expires_at, job.cancel_requested_at) {
                (_, Some(c)) => why(
                    format!(
                        "It is running on worker {worker}; cancellation was requested at {} and \
                         its handler was told to stop.",
                        at(c)
                    ),
                    "",
                ),
                (Some(lease), None) if lease > now => why(
                    format!(
                        "It is running: worker {worker} holds its lease until {} (renewed while \
                         the worker lives), attempt {} of {} started at {}.",
                        until(lease),
                        job.attempt,
                        job.max_attempts,
                        job.attempted_at.map(at).unwrap_or_else(|| "?".into())
                    ),
                    "Cancel it to ask its handler to stop.",
                ),
                (lease, None) => why(
                    format!(
                        "Worker {worker} stopped renewing its lease{}: the rescuer returns it to \
                         the queue within a third of the lease.",
                        lease.map(|l| format!(" at {}", at(l))).unwrap_or_default()
                    ),
                    "If that does not happen, check that any worker is running.",
                ),
            }
        }
        JobState::Scheduled => why(
            format!(
                "It is scheduled for {}.{paused_too}",
                until(job.scheduled_at)
            ),
            "Retry it to run it now.",
        ),
        JobState::Retryable => why(
            format!(
                "Attempt {} of {} failed{}; it waits out its backoff until {}.{paused_too}",
                job.attempt,
                job.max_attempts,
                last_error(job)
                    .map(|e| format!(" with {e}"))
                    .unwrap_or_default(),
                until(job.scheduled_at)
            ),
            "Retry it to run it now.",
        ),
        JobState::Available => match (paused, ahead.unwrap_or_default()) {
            (Some(p), _) => why(paused_sentence(q, p), "Resume the queue to run it."),
            (None, a) if a.higher_priority + a.same_priority > 0 => why(
                format!(
                    "It waits behind {} jobs of queue {q}: {} of higher priority and {} of the \
                     same priority due earlier. Workers claim by priority, then due time.",
                    a.higher_priority + a.same_priority,
                    a.higher_priority,
                    a.same_priority
                ),
                "Add workers (or concurrency) for this queue to drain it faster.",
            ),
            (None, _) => why(
                format!(
                    "It is next in queue {q} and has been available since {}.",
                    until(job.scheduled_at)
                ),
                "A worker serving the queue claims it within a poll interval. If it stays \
                 here, no worker serves this queue: check that one runs with it in \
                 WORKER_QUEUES (or with a kind of this queue registered), and its log.",
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldwork_core::queue::JobId;

    fn job(state: JobState) -> JobDetail {
        let t = "2026-11-27T10:00:00Z".parse().unwrap();
        JobDetail {
            id: JobId(7),
            state,
            queue: "email".into(),
            kind: "message.send".into(),
            user_id: None,
            priority: 1,
            attempt: 2,
            max_attempts: 5,
            created_at: t,
            scheduled_at: t,
            attempted_at: Some(t),
            attempted_by: Some("host-1-abc".into()),
            lease_expires_at: None,
            finalized_at: None,
            cancel_requested_at: None,
            unique_key: None,
            args: serde_json::json!({}),
            errors: serde_json::json!([{"attempt": 2, "kind": "error", "error": "smtp 451"}]),
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-11-27T10:00:30Z".parse().unwrap()
    }

    #[test]
    fn a_paused_queue_is_named_as_the_reason() {
        let p = PausedQueue {
            name: "email".into(),
            paused_at: now(),
            paused_by: Some("ops".into()),
        };
        let w = explain(&job(JobState::Available), Some(&p), None, now());
        assert!(w.answer.contains("queue email is paused"), "{w:?}");
        assert!(w.answer.contains("by ops"));
    }

    #[test]
    fn an_available_job_counts_the_jobs_ahead_of_it() {
        let ahead = Ahead {
            higher_priority: 3,
            same_priority: 4,
        };
        let w = explain(&job(JobState::Available), None, Some(ahead), now());
        assert!(w.answer.contains("waits behind 7 jobs"), "{w:?}");
        assert!(w.answer.contains("3 of higher priority"));
        let w = explain(
            &job(JobState::Available),
            None,
            Some(Ahead::default()),
            now(),
        );
        assert!(w.answer.contains("next in queue email"), "{w:?}");
    }

    #[test]
    fn running_scheduled_and_retryable_jobs_say_until_when() {
        let mut running = job(JobState::Running);
        running.lease_expires_at = Some("2026-11-27T10:01:00Z".parse().unwrap());
        let w = explain(&running, None, None, now());
        assert!(
            w.answer.contains("host-1-abc holds its lease until"),
            "{w:?}"
        );
        assert!(w.answer.contains("(in 30s)"), "{w:?}");
        running.lease_expires_at = Some("2026-11-27T10:00:00Z".parse().unwrap());
        let w = explain(&running, None, None, now());
        assert!(w.answer.contains("stopped renewing its lease"), "{w:?}");

        let mut later = job(JobState::Scheduled);
        later.scheduled_at = "2026-11-27T12:05:30Z".parse().unwrap();
        let w = explain(&later, None, None, now());
        assert!(
            w.answer
                .contains("scheduled for 2026-11-27 12:05:30 UTC (in 2h 5m)"),
            "{w:?}"
        );

        let mut retry = job(JobState::Retryable);
        retry.scheduled_at = "2026-11-27T10:01:10Z".parse().unwrap();
        let w = explain(&retry, None, None, now());
        assert!(
            w.answer
                .contains("Attempt 2 of 5 failed with smtp 451 (error);"),
            "{w:?}"
        );
        assert!(w.answer.contains("in 40s"), "{w:?}");
    }
}
