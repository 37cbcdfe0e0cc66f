//! Login throttling: after too many failed logins for one email within a window, further
//! attempts are refused with `RATE_LIMITED` until the window passes. In-process (per API
//! instance), which bounds password guessing without a shared store.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const MAX_FAILURES: u32 = 10;
const WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginThrottle {
    fn key(email: &str) -> String {
        email.trim().to_lowercase()
    }

    /// Seconds until `email` may try again, or `None` when it may try now.
    pub fn retry_after(&self, email: &str) -> Option<u64> {
        let map = self.failures.lock().ok()?;
        let (count, since) = map.get(&Self::key(email))?;
        let elapsed = since.elapsed();
        (*count >= MAX_FAILURES && elapsed < WINDOW).then(|| (WINDOW - elapsed).as_secs().max(1))
    }

    pub fn record_failure(&self, email: &str) {
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        if map.len() >= MAX_TRACKED {
            map.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        let entry = map.entry(Self::key(email)).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    pub fn record_success(&self, email: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&Self::key(email));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_lock_the_email_and_success_clears_it() {
        let t = LoginThrottle::default();
        for _ in 0..9 {
            t.record_failure("A@x.io");
        }
        assert_eq!(t.retry_after("a@x.io"), None);
        t.record_failure("a@x.io");
        assert!(t.retry_after("a@x.io").is_some());
        t.record_success("a@x.io");
        assert_eq!(t.retry_after("a@x.io"), None);
    }
}
