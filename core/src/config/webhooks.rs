//! The webhook settings both binaries read (the API checks targets on create, the worker
//! delivers), as a clap argument group flattened into each command line; each also reads
//! the environment variable named in `--help`.

use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, value_parser};

use crate::webhooks::WebhookSettings;
use crate::webhooks::settings::parse_duration;

/// `WEBHOOK_RETRY_SCHEDULE` as parsed.
#[derive(Debug, Clone)]
pub struct RetrySchedule(pub Vec<Duration>);

fn retry_schedule(text: &str) -> Result<RetrySchedule, String> {
    let schedule: Option<Vec<Duration>> = text.split(',').map(parse_duration).collect();
    schedule
        .filter(|s| !s.is_empty() && s.len() <= 20)
        .map(RetrySchedule)
        .ok_or_else(|| {
            "WEBHOOK_RETRY_SCHEDULE must be 1 to 20 comma-separated durations (0,5s,5m,...)"
                .to_owned()
        })
}

fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text)
        .ok_or_else(|| format!("{text:?} is not a duration such as 45s, 30m, 12h or 5d"))
}

/// Webhook targets and deliveries.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Webhooks (the same for the API and every worker)")]
pub struct WebhookArgs {
    /// Allow webhook targets on loopback, private, link-local (169.254.169.254), CGNAT, ...
    /// addresses: local development and tests only (it is the SSRF guard).
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE", action = ArgAction::Set, default_value_t = false,
        value_parser = BoolishValueParser::new())]
    pub webhook_allow_private: bool,
    /// Allow plain http:// webhook targets (default: https only).
    #[arg(long, env = "WEBHOOK_ALLOW_HTTP", action = ArgAction::Set, default_value_t = false,
        value_parser = BoolishValueParser::new())]
    pub webhook_allow_http: bool,
    /// A delivery not answered with 2xx within this many seconds fails (1 to 300).
    #[arg(long, env = "WEBHOOK_TIMEOUT_SECS", default_value_t = 10,
        value_parser = value_parser!(u64).range(1..=300))]
    pub webhook_timeout_secs: u64,
    /// An endpoint failing every attempt for this long is disabled (45s, 30m, 12h, 5d).
    #[arg(long, env = "WEBHOOK_DISABLE_AFTER", default_value = "5d", value_parser = duration)]
    pub webhook_disable_after: Duration,
    /// Delay before each attempt of one event; after the last the event is given up.
    #[arg(long, env = "WEBHOOK_RETRY_SCHEDULE", default_value = "0,5s,5m,30m,2h,5h,10h,10h",
        value_parser = retry_schedule)]
    pub webhook_retry_schedule: RetrySchedule,
    /// After webhook.rotate_secret, how long the previous secret still signs.
    #[arg(long, env = "WEBHOOK_ROTATION_WINDOW", default_value = "24h", value_parser = duration)]
    pub webhook_rotation_window: Duration,
}

impl WebhookArgs {
    /// The resolved settings.
    pub fn settings(&self) -> Result<WebhookSettings, String> {
        Ok(WebhookSettings {
            allow_private: self.webhook_allow_private,
            allow_http: self.webhook_allow_http,
            timeout: Duration::from_secs(self.webhook_timeout_secs),
            disable_after: self.webhook_disable_after,
            retry_schedule: self.webhook_retry_schedule.0.clone(),
            rotation_window: self.webhook_rotation_window,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: WebhookArgs,
    }

    #[test]
    fn defaults_are_svix_like_and_every_value_is_checked() {
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(cli.args.settings().unwrap(), WebhookSettings::default());
        let cli = Cli::try_parse_from([
            "x",
            "--webhook-retry-schedule",
            "0,1s,500ms",
            "--webhook-allow-private",
            "true",
        ])
        .unwrap();
        let s = cli.args.settings().unwrap();
        assert_eq!(s.max_attempts(), 3);
        assert!(s.allow_private);
        assert!(Cli::try_parse_from(["x", "--webhook-disable-after", "5 weeks"]).is_err());
        assert!(Cli::try_parse_from(["x", "--webhook-timeout-secs", "0"]).is_err());
    }
}
