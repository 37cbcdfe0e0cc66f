//! Worker settings: queues and their concurrency, local buffering, leases, polling, shutdown,
//! pruning, metrics, and mail delivery. `main.rs` fills them from the environment (see
//! `--help`); tests and the bench build them directly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::clients::llm::LlmSettings;
use fieldwork_core::messages::MessageSettings;

/// How emails leave the worker.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `SMTP_URL`: `smtp://host:port` (plain), `smtp://host:port?tls=required` (STARTTLS),
    /// `smtps://host:port` (implicit TLS), optionally `user:password@`. Unset: the outbox.
    pub smtp_url: Option<Secret>,
    /// `MAIL_FROM`: the envelope sender; its address goes in `From` with the business's name.
    pub from: String,
    /// `MAIL_OUTBOX_DIR`: with no `SMTP_URL`, each email is written here as `<message id>.eml`.
    pub outbox_dir: PathBuf,
    /// `SMTP_TIMEOUT_SECS`: bound of one connect and of one whole send.
    pub timeout: Duration,
}

/// `MAIL_FROM` when unset.
pub const DEFAULT_MAIL_FROM: &str = "Fieldwork <noreply@localhost>";
/// `MAIL_OUTBOX_DIR` when unset.
pub const DEFAULT_OUTBOX_DIR: &str = ".fieldwork/outbox";

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            smtp_url: None,
            from: DEFAULT_MAIL_FROM.into(),
            outbox_dir: PathBuf::from(DEFAULT_OUTBOX_DIR),
            timeout: Duration::from_secs(30),
        }
    }
}

/// One queue this worker serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSettings {
    pub name: String,
    /// Handlers of this queue running at once in this process.
    pub concurrency: usize,
}

/// Everything that tunes a worker process.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Queues with their concurrency; empty: every queue of the registered kinds (and
    /// `default`), each with `default_concurrency`.
    pub queues: Vec<QueueSettings>,
    /// `WORKER_CONCURRENCY`.
    pub default_concurrency: usize,
    /// Claimed-but-not-started jobs a queue may hold locally (prefetch); `None`: as many as
    /// its concurrency. Their leases are renewed like running ones.
    pub buffer: Option<usize>,
    /// Most jobs one claim statement takes.
    pub fetch_batch: usize,
    /// Fallback poll when no notification arrives (and the only wake-up in poll-only mode).
    pub poll_interval: Duration,
    /// No LISTEN/NOTIFY (PgBouncer transaction pooling): poll only.
    pub poll_only: bool,
    /// Lease of a claimed job; renewed every third of it.
    pub lease: Duration,
    /// How often expired leases are rescued; `None`: a third of the lease.
    pub rescue_interval: Option<Duration>,
    /// How long running jobs may take to finish after SIGTERM.
    pub shutdown_timeout: Duration,
    /// Completed and cancelled jobs are deleted after this long.
    pub keep_completed: Duration,
    /// Discarded jobs are deleted after this long.
    pub keep_discarded: Duration,
    pub prune_interval: Duration,
    /// Most acknowledgements written per statement.
    pub ack_batch: usize,
    /// Serve Prometheus metrics here.
    pub metrics_addr: Option<SocketAddr>,
    /// How often the fleet's shared queue sample is refreshed (by one worker per interval).
    pub stats_interval: Duration,
    /// `OPS_TOKEN`: serve the jobs page at `/ops/` on `metrics_addr` behind this token.
    pub ops_token: Option<Secret>,
    /// Register the test/bench job kinds (`--test-kinds`); never in production.
    pub test_kinds: bool,
    /// With test kinds: a cron expression (with seconds) for the `test.cron` schedule.
    pub test_cron: Option<String>,
    /// The attribute extractor (`LLM_PROVIDER`, `OPENAI_*`, `LLM_*`).
    pub llm: LlmSettings,
    /// Mail delivery (SMTP or the outbox).
    pub mail: MailSettings,
    /// The message policy shared with the API (links, secret, quiet hours, catch-up limits).
    pub messages: MessageSettings,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            queues: Vec::new(),
            default_concurrency: 10,
            buffer: None,
            fetch_batch: 500,
            poll_interval: Duration::from_secs(1),
            poll_only: false,
            lease: Duration::from_secs(30),
            rescue_interval: None,
            shutdown_timeout: Duration::from_secs(30),
            keep_completed: Duration::from_secs(24 * 3600),
            keep_discarded: Duration::from_secs(7 * 24 * 3600),
            prune_interval: Duration::from_secs(60),
            ack_batch: 2000,
            metrics_addr: None,
            stats_interval: Duration::from_secs(10),
            ops_token: None,
            test_kinds: false,
            test_cron: None,
            llm: LlmSettings::default(),
            mail: MailSettings::default(),
            messages: MessageSettings::default(),
        }
    }
}

impl WorkerSettings {
    pub fn heartbeat_interval(&self) -> Duration {
        self.lease / 3
    }

    pub fn rescue_interval(&self) -> Duration {
        self.rescue_interval.unwrap_or(self.lease / 3)
    }

    pub fn buffer_for(&self, queue: &QueueSettings) -> usize {
        self.buffer.unwrap_or(queue.concurrency)
    }

    /// Concurrency of `queue` in this process (listed in `queues`, else the default).
    pub fn concurrency_of(&self, queue: &str) -> usize {
        self.queues
            .iter()
            .find(|q| q.name == queue)
            .map_or(self.default_concurrency, |q| q.concurrency)
    }
}

/// A secret setting: never printed (`Debug` and `Display` show `<redacted>`).
pub use fieldwork_core::config::Secret;

/// Parses `WORKER_QUEUES`: `name[=concurrency]` separated by commas, e.g.
/// `default=10,email=4,llm`. A name without a number gets `default_concurrency`.
pub fn parse_queues(spec: &str, default_concurrency: usize) -> Result<Vec<QueueSettings>, String> {
    let mut out: Vec<QueueSettings> = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, concurrency) = match part.split_once('=') {
            Some((n, c)) => {
                let c: usize = c
                    .trim()
                    .parse()
                    .map_err(|_| format!("WORKER_QUEUES: {c:?} is not a number"))?;
                (n.trim(), c)
            }
            None => (part, default_concurrency),
        };
        if !fieldwork_core::queue::job::valid_queue_name(name) {
            return Err(format!("WORKER_QUEUES: invalid queue name {name:?}"));
        }
        if concurrency == 0 {
            return Err(format!(
                "WORKER_QUEUES: {name} needs a concurrency of at least 1"
            ));
        }
        if out.iter().any(|q| q.name == name) {
            return Err(format!("WORKER_QUEUES: {name} listed twice"));
        }
        out.push(QueueSettings {
            name: name.to_owned(),
            concurrency,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_specs_parse_with_and_without_concurrency() {
        let q = parse_queues("default=10, email=4,llm", 3).unwrap();
        let got: Vec<(&str, usize)> = q.iter().map(|q| (q.name.as_str(), q.concurrency)).collect();
        assert_eq!(got, vec![("default", 10), ("email", 4), ("llm", 3)]);
        assert!(parse_queues("a=x", 1).is_err());
        assert!(parse_queues("BAD", 1).is_err());
        assert!(parse_queues("a=0", 1).is_err());
        assert!(parse_queues("a,a", 1).is_err());
    }
}
