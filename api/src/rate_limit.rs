//! Abuse limits of login and registration, all in bounded memory:
//! - [`LoginThrottle`]: after too many failed logins for one (normalised) email within a window,
//!   further attempts for it are refused with `RATE_LIMITED` until the window passes;
//! - [`IpLimiter`]: a token bucket per client address (IPv6 per /64) for login and register.
//!
//! Both keep their state per API process in a [`Recent`] map: a capped, approximately LRU map,
//! so a flood of distinct emails or addresses evicts old entries instead of growing memory.
//! docs/SECURITY.md explains why per-process state is enough.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins for one email that lock it for the rest of the window.
pub const MAX_FAILURES: u32 = 10;
/// The failure window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Emails whose failures are remembered at most (about 300 bytes each).
pub const MAX_TRACKED_EMAILS: usize = 50_000;
/// Client addresses remembered at most per limiter (about 64 bytes each).
pub const MAX_TRACKED_ADDRESSES: usize = 100_000;

/// A map of at most `capacity` entries that forgets the least recently used first, in O(1):
/// two generations of half the capacity each; when the current one is full it becomes the
/// previous one and the old previous one is dropped. A hit in the previous generation moves
/// the entry to the current one.
#[derive(Debug)]
pub struct Recent<K, V> {
    current: HashMap<K, V>,
    previous: HashMap<K, V>,
    half: usize,
}

impl<K: Hash + Eq, V> Recent<K, V> {
    pub fn new(capacity: usize) -> Self {
        Self {
            current: HashMap::new(),
            previous: HashMap::new(),
            half: (capacity / 2).max(1),
        }
    }

    /// Entries held (never more than the capacity).
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn make_room(&mut self) {
        if self.current.len() >= self.half {
            self.previous = std::mem::take(&mut self.current);
        }
    }

    /// The entry of `key`, created with `make` if absent.
    pub fn entry(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        if !self.current.contains_key(&key) {
            let value = self.previous.remove(&key).unwrap_or_else(make);
            self.make_room();
            return self.current.entry(key).or_insert(value);
        }
        self.current.entry(key).or_insert_with(make)
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.current.get(key).or_else(|| self.previous.get(key))
    }

    pub fn remove(&mut self, key: &K) {
        self.current.remove(key);
        self.previous.remove(key);
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: Instant,
}

/// Failed logins per normalised email (`fieldwork_core::fields::normalize_email`: the
/// same key however the client cased or padded it, and the form the database looks up).
#[derive(Debug)]
pub struct LoginThrottle {
    failures: Mutex<Recent<String, Failures>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            failures: Mutex::new(Recent::new(MAX_TRACKED_EMAILS)),
        }
    }
}

impl LoginThrottle {
    fn lock(&self) -> std::sync::MutexGuard<'_, Recent<String, Failures>> {
        // Every update is a single insert or assignment: a poisoned map is still consistent.
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Seconds until `email` may try again, or `None` when it may try now.
    pub fn retry_after(&self, email: &str) -> Option<u64> {
        let map = self.lock();
        let f = map.get(&email.to_owned())?;
        let elapsed = f.since.elapsed();
        (f.count >= MAX_FAILURES && elapsed < WINDOW).then(|| (WINDOW - elapsed).as_secs().max(1))
    }

    pub fn record_failure(&self, email: &str) {
        let mut map = self.lock();
        let f = map.entry(email.to_owned(), || Failures {
            count: 0,
            since: Instant::now(),
        });
        if f.since.elapsed() >= WINDOW {
            *f = Failures {
                count: 0,
                since: Instant::now(),
            };
        }
        f.count = f.count.saturating_add(1);
    }

    pub fn record_success(&self, email: &str) {
        self.lock().remove(&email.to_owned());
    }

    /// Emails currently remembered.
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A token bucket per client address: `burst` requests at once, refilled at `burst` per
/// `period`. IPv6 addresses count per /64, the smallest block a single client usually has.
#[derive(Debug)]
pub struct IpLimiter {
    burst: f64,
    per_second: f64,
    buckets: Mutex<Recent<IpAddr, Bucket>>,
}

impl IpLimiter {
    pub fn new(burst: u32, period: Duration) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            burst,
            per_second: burst / period.as_secs_f64().max(1e-3),
            buckets: Mutex::new(Recent::new(MAX_TRACKED_ADDRESSES)),
        }
    }

    fn key(ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let mut segments = v6.segments();
                    segments[4..].fill(0);
                    IpAddr::V6(segments.into())
                }
            },
            v4 => v4,
        }
    }

    /// Takes one token for `ip`: `Ok(())`, or `Err(seconds)` until the next token.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let burst = self.burst;
        let b = map.entry(Self::key(ip), || Bucket {
            tokens: burst,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * self.per_second).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - b.tokens) / self.per_second).ceil() as u64).max(1))
        }
    }

    /// Addresses currently remembered.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_lock_the_email_and_success_clears_it() {
        let t = LoginThrottle::default();
        for _ in 0..9 {
            t.record_failure("a@x.io");
        }
        assert_eq!(t.retry_after("a@x.io"), None);
        t.record_failure("a@x.io");
        assert!(t.retry_after("a@x.io").is_some());
        t.record_success("a@x.io");
        assert_eq!(t.retry_after("a@x.io"), None);
    }

    #[test]
    fn the_map_never_holds_more_than_its_capacity_and_keeps_recent_entries() {
        let mut m: Recent<u32, u32> = Recent::new(100);
        m.entry(0, || 7);
        for i in 1..10_000 {
            m.entry(i, || i);
            // Entry 0 is used all the time: it stays.
            m.entry(0, || 0);
            assert!(m.len() <= 100);
        }
        assert_eq!(m.get(&0), Some(&7));
        assert_eq!(m.get(&1), None);
    }

    #[test]
    fn an_address_gets_its_burst_then_waits_and_ipv6_counts_per_64() {
        let l = IpLimiter::new(3, Duration::from_secs(60));
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::2".parse().unwrap();
        let other: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        assert!(l.check(a).is_ok() && l.check(b).is_ok() && l.check(a).is_ok());
        assert_eq!(l.check(b), Err(20));
        assert!(l.check(other).is_ok());
    }
}
