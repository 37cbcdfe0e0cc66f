//! Retry delays: exponential backoff with jitter, so that jobs failing together (an SMTP
//! server down) do not all come back in the same instant; and [`after`], which turns any
//! delay (a handler's snooze or retry-after, `run_in`) into a time without overflowing.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Longest delay a job can be given: a year. Longer delays (a handler's snooze or retry-after,
/// `JobOptions::run_in`) are clamped to it.
pub const MAX_DELAY: Duration = Duration::from_secs(366 * 24 * 3600);

/// `now + delay`, the delay clamped to [`MAX_DELAY`]: whatever a handler asks for, this never
/// overflows (`DateTime + Duration` panics beyond year 262143).
pub fn after(delay: Duration) -> DateTime<Utc> {
    let delay = chrono::Duration::from_std(delay.min(MAX_DELAY)).unwrap_or(chrono::Duration::MAX);
    let now = Utc::now();
    now.checked_add_signed(delay).unwrap_or(now)
}

/// Jitter spread: a delay is drawn uniformly from ±20 % of its nominal value.
pub const JITTER: f64 = 0.2;

/// The nominal (jitter-free) delay after attempt `attempt` (1-based) failed:
/// `base × 2^(attempt−1)`, capped at `max`.
pub fn nominal(attempt: i32, base: Duration, max: Duration) -> Duration {
    let exponent = attempt.saturating_sub(1).clamp(0, 30) as u32;
    base.saturating_mul(1u32 << exponent).min(max)
}

/// The delay after attempt `attempt` failed: [`nominal`] with ±[`JITTER`] applied.
pub fn exponential(attempt: i32, base: Duration, max: Duration) -> Duration {
    jitter(nominal(attempt, base, max))
}

/// `delay` scaled by a random factor in `[1 − JITTER, 1 + JITTER]`.
pub fn jitter(delay: Duration) -> Duration {
    let unit = random_unit();
    let factor = 1.0 - JITTER + 2.0 * JITTER * unit;
    delay.mul_f64(factor)
}

/// A random number in `[0, 1)`; falls back to the clock's nanoseconds if the OS source fails.
fn random_unit() -> f64 {
    let bits = getrandom::u64().unwrap_or_else(|_| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::from(d.subsec_nanos()).wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .unwrap_or(0)
    });
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nominal_delays_double_until_the_cap() {
        let base = Duration::from_secs(1);
        let max = Duration::from_secs(10);
        let got: Vec<u64> = (1..=6).map(|a| nominal(a, base, max).as_secs()).collect();
        assert_eq!(got, vec![1, 2, 4, 8, 10, 10]);
        assert_eq!(nominal(0, base, max), base);
        assert_eq!(nominal(i32::MAX, base, max), max);
    }

    #[test]
    fn huge_delays_clamp_to_a_year_instead_of_panicking() {
        let now = Utc::now();
        for delay in [
            Duration::MAX,
            Duration::from_secs(u64::MAX / 2),
            Duration::from_secs(1 << 40),
        ] {
            let at = after(delay);
            assert!(
                at >= now + chrono::Duration::days(365)
                    && at <= Utc::now() + chrono::Duration::days(367)
            );
        }
        assert!(after(Duration::from_secs(60)) <= Utc::now() + chrono::Duration::seconds(61));
    }

    #[test]
    fn jittered_delays_stay_within_twenty_percent_and_vary() {
        let base = Duration::from_millis(1000);
        let samples: Vec<Duration> = (0..500).map(|_| jitter(base)).collect();
        assert!(
            samples
                .iter()
                .all(|d| *d >= base.mul_f64(0.8) && *d <= base.mul_f64(1.2))
        );
        let distinct: std::collections::HashSet<_> = samples.iter().collect();
        assert!(distinct.len() > 400, "jitter must spread retries");
        let below = samples.iter().filter(|d| **d < base).count();
        assert!((150..=350).contains(&below), "roughly symmetric: {below}");
    }
}
