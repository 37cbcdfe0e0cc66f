//! Webhook settings, shared by the API (what a subscription may target) and the worker (how
//! deliveries are made); read from `WEBHOOK_*` by `config::webhooks`. Durations read as
//! `90`, `90s`, `500ms`, `5m`, `2h`, `5d`.

use std::time::Duration;

/// How webhooks behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// `WEBHOOK_ALLOW_PRIVATE`: targets on loopback, private, link-local, CGNAT, ... networks
    /// are allowed (local development and tests only).
    pub allow_private: bool,
    /// `WEBHOOK_ALLOW_HTTP`: plain `http://` targets are allowed.
    pub allow_http: bool,
    /// `WEBHOOK_TIMEOUT_SECS`: a delivery not answered with 2xx within this fails.
    pub timeout: Duration,
    /// `WEBHOOK_DISABLE_AFTER`: an endpoint failing every attempt for this long is disabled.
    pub disable_after: Duration,
    /// `WEBHOOK_RETRY_SCHEDULE`: the delay before each attempt of one event (the first is
    /// normally 0); after the last, the event is given up (`exhausted`).
    pub retry_schedule: Vec<Duration>,
    /// `WEBHOOK_ROTATION_WINDOW`: how long the previous secret still signs after a rotation.
    pub rotation_window: Duration,
}

/// Svix's schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
pub const DEFAULT_RETRY_SCHEDULE: [u64; 8] = [0, 5, 300, 1800, 7200, 18000, 36000, 36000];

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            allow_private: false,
            allow_http: false,
            timeout: Duration::from_secs(10),
            disable_after: Duration::from_secs(5 * 24 * 3600),
            retry_schedule: DEFAULT_RETRY_SCHEDULE
                .iter()
                .map(|s| Duration::from_secs(*s))
                .collect(),
            rotation_window: Duration::from_secs(24 * 3600),
        }
    }
}

impl WebhookSettings {
    /// The delay before attempt `attempt` (1-based) of an event, or `None` when no attempt
    /// that high is scheduled.
    pub fn delay_before(&self, attempt: i32) -> Option<Duration> {
        usize::try_from(attempt - 1)
            .ok()
            .and_then(|i| self.retry_schedule.get(i).copied())
    }

    /// Attempts per event.
    pub fn max_attempts(&self) -> i32 {
        i32::try_from(self.retry_schedule.len()).unwrap_or(i32::MAX)
    }
}

/// `90`, `90s`, `500ms`, `5m`, `2h`, `5d`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number.parse().ok()?;
    let secs = match unit {
        "ms" => return Some(Duration::from_millis(n)),
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    Some(Duration::from_secs(n.checked_mul(secs)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_their_units() {
        assert_eq!(parse_duration("5d"), Some(Duration::from_secs(432_000)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("5 weeks"), None);
    }

    #[test]
    fn the_default_schedule_is_svix_like_and_configurable() {
        let d = WebhookSettings::default();
        assert_eq!(d.max_attempts(), 8);
        assert_eq!(d.delay_before(2), Some(Duration::from_secs(5)));
        assert_eq!(d.delay_before(9), None);
    }
}
