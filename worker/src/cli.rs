//! The `fieldwork-worker` command line: running a worker (the default), operator commands
//! (`jobs ...`) and the bench (`bench ...`). Every setting also reads from the environment
//! variable named in `--help`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand};
use fieldwork_core::config::Secret;
use fieldwork_core::config::args::SharedArgs;
use fieldwork_core::queue::JobState;

use crate::clients::llm::{DEFAULT_BASE_URL, DEFAULT_MODEL, LlmSettings};
use crate::settings::{MailSettings, WorkerSettings, parse_queues};

/// Fieldwork worker: runs jobs from the Postgres queue. Every setting also reads the
/// environment variable named below (`.env.example` lists them all). Behind PgBouncer in
/// transaction mode: JOB_POLL_ONLY=true.
#[derive(Debug, Parser)]
#[command(name = "fieldwork-worker", version)]
pub struct Cli {
    #[command(flatten)]
    pub shared: SharedArgs,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a worker until SIGTERM/SIGINT (the default).
    Run,
    /// Operator commands: inspect, retry and cancel jobs; pause and resume queues.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Benchmarks (release build): burn-down drain and enqueue→start latency.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Jobs per queue and state, queue depth and the oldest available job's age.
    Stats,
    /// List jobs, newest first.
    List {
        /// scheduled, available, running, retryable, completed, cancelled or discarded.
        #[arg(long)]
        state: Option<JobState>,
        #[arg(long)]
        queue: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Print JSON lines (with args and error history) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Make a job available again now (a discarded job gets one more attempt).
    Retry { id: i64 },
    /// Cancel a waiting job, or ask a running one to stop.
    Cancel { id: i64 },
    /// Pause a queue for the whole fleet: no worker claims its jobs until it is resumed
    /// (jobs already claimed finish).
    Pause {
        queue: String,
        /// Who paused it and why, shown on the jobs page.
        #[arg(long, default_value = "fieldwork-worker jobs pause")]
        by: String,
    },
    /// Resume a paused queue: its workers claim again at once.
    Resume { queue: String },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Insert N no-op jobs in batches, then drain them; prints insert and drain jobs/s and the
    /// worker's peak RSS during the drain.
    Burn {
        #[arg(long, default_value_t = 100_000)]
        jobs: usize,
        /// Jobs per insert statement and per claim.
        #[arg(long, default_value_t = 2000)]
        batch: usize,
        #[arg(long, default_value_t = 400)]
        concurrency: usize,
        /// Claimed jobs buffered beyond the running ones.
        #[arg(long, default_value_t = 8000)]
        buffer: usize,
        /// Connections inserting batches concurrently.
        #[arg(long, default_value_t = 1)]
        inserters: usize,
    },
    /// Fill the jobs table, then time the worker's /metrics (and the fleet's queue sample
    /// statement behind it).
    Scrape {
        /// Jobs in the table while scraping.
        #[arg(long, default_value_t = 1_000_000)]
        jobs: usize,
        /// `backlog`: every job available in one queue; `mixed`: 70 % completed, 20 %
        /// scheduled, 10 % available over three queues.
        #[arg(long, default_value = "mixed")]
        mix: String,
        /// Scrapes to time.
        #[arg(long, default_value_t = 200)]
        scrapes: usize,
    },
    /// A mixed HTTP workload (login, lists, gets, creates, actions) against a running API:
    /// p50/p99 per operation; fails on any error answer (ops/load.sh).
    Load {
        /// The API's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8000")]
        url: String,
        #[arg(long, default_value_t = 100)]
        clients: usize,
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Tenants the clients are spread over.
        #[arg(long, default_value_t = 10)]
        tenants: usize,
        /// Print a progress line every N seconds (0: never).
        #[arg(long, default_value_t = 0)]
        report_every: u64,
        /// Run only this operation (e.g. create_customer, list_customers) instead of the mix.
        #[arg(long)]
        only: Option<String>,
    },
    /// Load tenants into fresh, never analyzed tables (one big, the rest small) and time the
    /// first and the thousandth page of every list (p50/p99).
    Lists {
        #[arg(long, default_value_t = 50)]
        tenants: usize,
        /// Rows per list of the big tenant.
        #[arg(long, default_value_t = 100_000)]
        big: i64,
        /// Rows per list of every other tenant.
        #[arg(long, default_value_t = 100)]
        small: i64,
        /// Timed reads of each page.
        #[arg(long, default_value_t = 200)]
        repeat: usize,
    },
    /// Send N due messages through the real SMTP path (lettre, pooled) to an in-process SMTP
    /// sink; prints messages/s and the send lag percentiles.
    Messages {
        #[arg(long, default_value_t = 10_000)]
        messages: usize,
        /// Concurrency of the `email` queue (and SMTP connections).
        #[arg(long, default_value_t = 128)]
        concurrency: usize,
        /// Claimed jobs buffered beyond the running ones.
        #[arg(long, default_value_t = 512)]
        buffer: usize,
        /// Tenants the messages are spread over.
        #[arg(long, default_value_t = 10)]
        tenants: usize,
        /// Messages falling due per second (0: all due at once, a burst).
        #[arg(long, default_value_t = 0)]
        rate: u64,
    },
    /// API create-customer throughput and p99 with 0 and with 5 webhook subscribers (2 of
    /// them timing out), then the fan-out lag at a steady write rate. Starts the
    /// `fieldwork-api` binary next to this one (or FIELDWORK_API_BIN).
    Webhooks {
        /// Length of each load phase.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        /// Closed-loop clients of the throughput phases.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Writes per second of the lag phase.
        #[arg(long, default_value_t = 200)]
        rate: u64,
    },
    /// Insert single jobs at a steady rate into an idle worker; prints enqueue→start
    /// percentiles.
    Latency {
        /// Jobs per second.
        #[arg(long, default_value_t = 100)]
        rate: u64,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 10)]
        concurrency: usize,
    },
}

/// Worker settings (each also from its environment variable).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Worker")]
pub struct RunArgs {
    /// Concurrency of each queue not listed in WORKER_QUEUES.
    #[arg(long, env = "WORKER_CONCURRENCY", default_value_t = 10)]
    pub concurrency: usize,
    /// Queues to serve with their concurrency, e.g. `default=10,email=4,llm=2` (default:
    /// the queues of every registered job kind).
    #[arg(long, env = "WORKER_QUEUES")]
    pub queues: Option<String>,
    /// Claimed jobs a queue may buffer beyond the running ones (default: its concurrency).
    #[arg(long, env = "WORKER_BUFFER")]
    pub buffer: Option<usize>,
    /// Most jobs one claim takes.
    #[arg(long, env = "JOB_FETCH_BATCH", default_value_t = 500)]
    pub fetch_batch: usize,
    /// Poll interval when no notification arrives (and in poll-only mode).
    #[arg(long, env = "JOB_POLL_INTERVAL_MS", default_value_t = 1000)]
    pub poll_interval_ms: u64,
    /// Poll only, no LISTEN/NOTIFY (PgBouncer in transaction pooling mode).
    #[arg(long, env = "JOB_POLL_ONLY", action = ArgAction::Set, num_args = 0..=1,
        default_value_t = false, default_missing_value = "true",
        value_parser = BoolishValueParser::new())]
    pub poll_only: bool,
    /// Lease of a claimed job in seconds, renewed every third of it; a job whose worker
    /// dies runs again once its lease expired.
    #[arg(long, env = "JOB_LEASE_SECS", default_value_t = 30.0)]
    pub lease_secs: f64,
    /// How often expired leases are rescued (default: a third of the lease).
    #[arg(long, env = "JOB_RESCUE_INTERVAL_SECS")]
    pub rescue_interval_secs: Option<f64>,
    /// After SIGTERM, how long running jobs may take to finish.
    #[arg(long, env = "WORKER_SHUTDOWN_TIMEOUT_SECS", default_value_t = 30.0)]
    pub shutdown_timeout_secs: f64,
    /// Completed and cancelled jobs are deleted after this many hours.
    #[arg(long, env = "JOB_KEEP_COMPLETED_HOURS", default_value_t = 24.0)]
    pub keep_completed_hours: f64,
    /// Discarded jobs are deleted after this many days.
    #[arg(long, env = "JOB_KEEP_DISCARDED_DAYS", default_value_t = 7.0)]
    pub keep_discarded_days: f64,
    /// Serve Prometheus metrics on this address (e.g. 127.0.0.1:9464).
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// How often the queue gauges' shared sample is refreshed, by one worker of the fleet.
    #[arg(long, env = "JOB_STATS_INTERVAL_SECS", default_value_t = 10.0)]
    pub stats_interval_secs: f64,
    /// Serve the jobs page at /ops/ on METRICS_ADDR, behind this token (bearer, basic auth
    /// password, or the page's login form); at least 16 characters. Unset: no jobs page.
    #[arg(long, env = "OPS_TOKEN", hide_env_values = true)]
    pub ops_token: Option<Secret>,
    /// Register the test/bench job kinds (test.*, bench.*). For tests and the bench only:
    /// hidden from --help and .env.example.
    #[arg(long, env = "FIELDWORK_TEST_KINDS", hide = true, action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub test_kinds: bool,
    /// With --test-kinds: cron expression (seconds first) of the `test.cron` schedule.
    #[arg(long, env = "FIELDWORK_TEST_CRON", hide = true)]
    pub test_cron: Option<String>,
    /// Attribute extractor: `rules` (offline, deterministic) or `openai` (any
    /// OpenAI-compatible chat-completions server: OpenAI, vLLM, Ollama, llama.cpp).
    #[arg(long, env = "LLM_PROVIDER", default_value = "rules")]
    pub llm_provider: String,
    /// With LLM_PROVIDER=openai: the API root up to /v1 (e.g. http://127.0.0.1:11434/v1).
    #[arg(long, env = "OPENAI_BASE_URL", default_value = DEFAULT_BASE_URL)]
    pub openai_base_url: String,
    /// With LLM_PROVIDER=openai: bearer token (unset for local servers that need none).
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub openai_api_key: Option<Secret>,
    /// With LLM_PROVIDER=openai: the model to ask.
    #[arg(long, env = "LLM_MODEL", default_value = DEFAULT_MODEL)]
    pub llm_model: String,
    /// With LLM_PROVIDER=openai: longest one request may take, 1 to 300 s.
    #[arg(long, env = "LLM_TIMEOUT_SECS", default_value_t = 30)]
    pub llm_timeout_secs: u64,
    /// With LLM_PROVIDER=openai: most tokens an answer may use (64 to 32768).
    #[arg(long, env = "LLM_MAX_TOKENS", default_value_t = 1024)]
    pub llm_max_tokens: u32,
    /// Where emails go: smtp://host:port, smtp://host:port?tls=required (STARTTLS),
    /// smtps://host:port (implicit TLS), with optional user:password@. Unset: each email is
    /// written as an .eml file to MAIL_OUTBOX_DIR.
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<Secret>,
    /// Envelope sender; its address appears in From with the business's name.
    #[arg(long, env = "MAIL_FROM", default_value = crate::settings::DEFAULT_MAIL_FROM)]
    pub mail_from: String,
    /// Without SMTP_URL: the folder emails are written to as <message id>.eml.
    #[arg(long, env = "MAIL_OUTBOX_DIR", default_value = crate::settings::DEFAULT_OUTBOX_DIR)]
    pub mail_outbox_dir: PathBuf,
    /// Bound of one SMTP connect and of one whole send (a send that takes longer is retried).
    #[arg(long, env = "SMTP_TIMEOUT_SECS", default_value_t = 30.0)]
    pub smtp_timeout_secs: f64,
}

fn secs(name: &str, v: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(v).map_err(|_| format!("{name} must be a non-negative number"))
}

fn ops_token(token: Option<&Secret>) -> Result<Option<Secret>, String> {
    match token.map(|t| t.expose().trim()).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) if t.len() < 16 => {
            Err("OPS_TOKEN must be at least 16 characters (e.g. `openssl rand -hex 24`)".into())
        }
        Some(t) => Ok(Some(Secret::new(t))),
    }
}

impl RunArgs {
    pub fn settings(&self) -> Result<WorkerSettings, String> {
        let lease = secs("JOB_LEASE_SECS", self.lease_secs)?;
        if lease < Duration::from_millis(300) {
            return Err("JOB_LEASE_SECS must be at least 0.3".into());
        }
        let llm = LlmSettings {
            provider: self.llm_provider.parse()?,
            base_url: self.openai_base_url.clone(),
            api_key: self
                .openai_api_key
                .clone()
                .filter(|k| !k.expose().trim().is_empty()),
            model: self.llm_model.clone(),
            timeout: Duration::from_secs(self.llm_timeout_secs),
            max_tokens: self.llm_max_tokens,
        };
        llm.validate()?;
        Ok(WorkerSettings {
            queues: parse_queues(
                self.queues.as_deref().unwrap_or(""),
                self.concurrency.max(1),
            )?,
            default_concurrency: self.concurrency.max(1),
            buffer: self.buffer,
            fetch_batch: self.fetch_batch.max(1),
            poll_interval: Duration::from_millis(self.poll_interval_ms.max(10)),
            poll_only: self.poll_only,
            lease,
            rescue_interval: self
                .rescue_interval_secs
                .map(|s| secs("JOB_RESCUE_INTERVAL_SECS", s))
                .transpose()?,
            shutdown_timeout: secs("WORKER_SHUTDOWN_TIMEOUT_SECS", self.shutdown_timeout_secs)?,
            keep_completed: secs(
                "JOB_KEEP_COMPLETED_HOURS",
                self.keep_completed_hours * 3600.0,
            )?,
            keep_discarded: secs(
                "JOB_KEEP_DISCARDED_DAYS",
                self.keep_discarded_days * 86400.0,
            )?,
            metrics_addr: self.metrics_addr,
            stats_interval: secs("JOB_STATS_INTERVAL_SECS", self.stats_interval_secs)?
                .max(Duration::from_millis(100)),
            ops_token: ops_token(self.ops_token.as_ref())?,
            test_kinds: self.test_kinds,
            test_cron: self.test_cron.clone(),
            llm,
            mail: MailSettings {
                smtp_url: self
                    .smtp_url
                    .clone()
                    .filter(|u| !u.expose().trim().is_empty()),
                from: self.mail_from.clone(),
                outbox_dir: self.mail_outbox_dir.clone(),
                timeout: secs("SMTP_TIMEOUT_SECS", self.smtp_timeout_secs)?,
            },
            ..WorkerSettings::default()
        })
    }
}
