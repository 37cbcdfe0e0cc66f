//! The message policy both binaries share: public links and the secret that signs them,
//! quiet hours, the reminder lead time, the default service interval and each type's catch-up
//! limit. Read from the command line and environment by `config::args::MessageArgs` (one
//! line naming the variable on a bad value); tests build it directly.

use std::fmt;

use chrono::{Duration, NaiveTime};

use super::MessageType;

/// `APP_SECRET`: the HMAC key of unsubscribe links. Never printed.
#[derive(Clone)]
pub struct AppSecret {
    key: Vec<u8>,
    ephemeral: bool,
}

/// Shortest accepted `APP_SECRET`, in bytes.
pub const APP_SECRET_MIN: usize = 32;

impl AppSecret {
    /// A configured secret: at least [`APP_SECRET_MIN`] bytes.
    pub fn new(secret: &str) -> Result<AppSecret, String> {
        let secret = secret.trim();
        if secret.len() < APP_SECRET_MIN {
            return Err(format!(
                "APP_SECRET must be at least {APP_SECRET_MIN} characters (e.g. `openssl rand -hex 32`)"
            ));
        }
        Ok(AppSecret {
            key: secret.as_bytes().to_vec(),
            ephemeral: false,
        })
    }

    /// A random secret for this process only: links it signs stop working when the process
    /// ends and are not accepted by any other process. The servers refuse to start with one.
    pub fn ephemeral() -> AppSecret {
        let mut key = vec![0u8; 32];
        if getrandom::fill(&mut key).is_err() {
            // No randomness: a key nobody knows is still unguessable enough for a process that
            // refuses to serve with it; keep the pid and time in it so it is never constant.
            let seed = format!("{}-{:?}", std::process::id(), std::time::SystemTime::now());
            key = seed.into_bytes();
        }
        AppSecret {
            key,
            ephemeral: true,
        }
    }

    /// Whether this is [`AppSecret::ephemeral`] (no `APP_SECRET` was configured).
    pub fn is_ephemeral(&self) -> bool {
        self.ephemeral
    }

    pub(crate) fn key(&self) -> &[u8] {
        &self.key
    }
}

impl fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.ephemeral {
            "AppSecret(ephemeral)"
        } else {
            "AppSecret(configured)"
        })
    }
}

/// `QUIET_HOURS`: a daily window of local time (`21:00-08:00`, may wrap midnight) in which no
/// message is sent; a message due inside it waits for its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    /// Whether `t` (local wall-clock time) falls in the window; the end is not quiet.
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }
}

/// Parses `QUIET_HOURS`: `HH:MM-HH:MM`, or `off` for none.
pub fn parse_quiet_hours(text: &str) -> Result<Option<QuietHours>, String> {
    let text = text.trim();
    if matches!(text, "off" | "none") {
        return Ok(None);
    }
    let bad = || format!("QUIET_HOURS must look like 21:00-08:00 (or off), not {text:?}");
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    let time = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| bad());
    let hours = QuietHours {
        start: time(a)?,
        end: time(b)?,
    };
    if hours.start == hours.end {
        return Err("QUIET_HOURS must not start and end at the same time".into());
    }
    Ok(Some(hours))
}

/// How late after its due time a message of each type may still go out (after an outage, or a
/// long retry); later it is skipped as `too_late`. `None`: no limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatchUpLimits {
    limits: Vec<(MessageType, Option<Duration>)>,
}

impl Default for CatchUpLimits {
    /// What an office wants after an outage: a custom note or a confirmation is stale after a
    /// day or two, a reminder after half a day (appointments also expire when they start), a
    /// service reminder after two weeks; invoices and payment reminders are owed until paid.
    fn default() -> Self {
        use MessageType as T;
        CatchUpLimits {
            limits: vec![
                (T::Custom, Some(Duration::hours(24))),
                (T::AppointmentConfirmation, Some(Duration::hours(48))),
                (T::AppointmentReminder, Some(Duration::hours(12))),
                (T::AppointmentCancellation, Some(Duration::hours(48))),
                (T::ServiceReminder, Some(Duration::days(14))),
                (T::PaymentReminder, None),
                (T::Invoice, None),
            ],
        }
    }
}

impl CatchUpLimits {
    /// The limit of `message_type` (`None`: no limit).
    pub fn limit(&self, message_type: MessageType) -> Option<Duration> {
        self.limits
            .iter()
            .find(|(t, _)| *t == message_type)
            .and_then(|(_, d)| *d)
    }

    /// The defaults overridden by `MESSAGE_CATCH_UP`: `type=duration,...` where a duration is
    /// `30m`, `12h`, `7d` or `none`, e.g. `custom=6h,service_reminder=none`.
    pub fn parse(spec: &str) -> Result<CatchUpLimits, String> {
        let mut limits = CatchUpLimits::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("MESSAGE_CATCH_UP: {part:?} is not type=duration"))?;
            let message_type = MessageType::parse(name.trim())
                .ok_or_else(|| format!("MESSAGE_CATCH_UP: unknown message type {name:?}"))?;
            let limit = parse_limit(value.trim()).ok_or_else(|| {
                format!("MESSAGE_CATCH_UP: {value:?} is not like 30m, 12h, 7d or none")
            })?;
            for entry in limits.limits.iter_mut().filter(|(t, _)| *t == message_type) {
                entry.1 = limit;
            }
        }
        Ok(limits)
    }
}

fn parse_limit(text: &str) -> Option<Option<Duration>> {
    if text == "none" {
        return Some(None);
    }
    let unit = text.chars().last()?;
    let n: i64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    if n < 0 {
        return None;
    }
    let d = match unit {
        'm' => Duration::try_minutes(n)?,
        'h' => Duration::try_hours(n)?,
        'd' => Duration::try_days(n)?,
        _ => return None,
    };
    Some(Some(d))
}

/// Everything about messages that both the API and the worker must agree on.
#[derive(Debug, Clone)]
pub struct MessageSettings {
    /// `PUBLIC_BASE_URL` without a trailing slash: the start of every link in an email.
    pub public_base_url: String,
    /// `APP_SECRET`.
    pub app_secret: AppSecret,
    /// `QUIET_HOURS` (default `21:00-08:00`), in the customer's time zone.
    pub quiet_hours: Option<QuietHours>,
    /// `REMINDER_LEAD_HOURS` (default 24): how long before an appointment its reminder is due.
    pub reminder_lead: Duration,
    /// `SERVICE_REMINDER_DAYS` (default 180): the service interval of customers without
    /// `attributes.service_interval_days`.
    pub service_reminder_days: u32,
    /// `MESSAGE_CATCH_UP`.
    pub catch_up: CatchUpLimits,
}

/// The default quiet hours, 21:00 to 08:00.
pub fn default_quiet_hours() -> QuietHours {
    QuietHours {
        start: NaiveTime::from_hms_opt(21, 0, 0).unwrap_or(NaiveTime::MIN),
        end: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or(NaiveTime::MIN),
    }
}

impl Default for MessageSettings {
    /// Defaults with an ephemeral secret (tests, benches); servers read the environment.
    fn default() -> Self {
        MessageSettings {
            public_base_url: "http://127.0.0.1:8000".into(),
            app_secret: AppSecret::ephemeral(),
            quiet_hours: Some(default_quiet_hours()),
            reminder_lead: Duration::hours(24),
            service_reminder_days: 180,
            catch_up: CatchUpLimits::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn quiet_hours_wrap_midnight_and_exclude_their_end() {
        let q = parse_quiet_hours("21:00-08:00").unwrap().unwrap();
        assert!(q.contains(t(21, 0)) && q.contains(t(23, 59)) && q.contains(t(7, 59)));
        assert!(!q.contains(t(8, 0)) && !q.contains(t(20, 59)) && !q.contains(t(12, 0)));
        let lunch = parse_quiet_hours("12:00-13:30").unwrap().unwrap();
        assert!(lunch.contains(t(12, 30)) && !lunch.contains(t(13, 30)));
        assert_eq!(parse_quiet_hours("off").unwrap(), None);
        for bad in ["21-08", "25:00-08:00", "08:00-08:00", ""] {
            assert!(parse_quiet_hours(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn catch_up_limits_override_the_defaults_per_type() {
        let l = CatchUpLimits::parse("custom=6h, service_reminder=none,invoice=3d").unwrap();
        assert_eq!(l.limit(MessageType::Custom), Some(Duration::hours(6)));
        assert_eq!(l.limit(MessageType::ServiceReminder), None);
        assert_eq!(l.limit(MessageType::Invoice), Some(Duration::days(3)));
        assert_eq!(
            l.limit(MessageType::AppointmentReminder),
            Some(Duration::hours(12))
        );
        assert!(CatchUpLimits::parse("custom").is_err());
        assert!(CatchUpLimits::parse("postcard=1h").is_err());
        assert!(CatchUpLimits::parse("custom=1w").is_err());
    }
}
