//! Passwords: the length rules, and argon2id hashing and verification on the blocking pool
//! under a fixed number of slots (by default one per core). Each hash takes ~19 MiB for its
//! duration: without the slots, concurrent logins grow memory without bound (32 of them grew
//! it by 600 MiB). A request that finds no free slot within a bounded wait is refused with
//! `Error::Busy` (503 with `Retry-After`) instead of queueing more.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};
use crate::fields::FieldError;

/// Shortest password accepted at registration, in characters.
pub const PASSWORD_MIN: usize = 8;
/// Longest password accepted anywhere, in characters. A longer one is refused before any
/// hashing: at registration as invalid, at login as a failure that does not count against the
/// account (it cannot be anyone's password).
pub const PASSWORD_MAX: usize = 1024;
/// How long a request waits for a hashing slot before it is refused as busy.
pub const HASH_WAIT: Duration = Duration::from_secs(2);
/// Seconds a refused client is asked to wait (`Retry-After`).
pub const BUSY_RETRY_AFTER_SECS: u64 = 1;

/// Whether `password` is within [`PASSWORD_MAX`] (cheap: bytes first).
pub fn within_max(password: &str) -> bool {
    password.len() <= PASSWORD_MAX || password.chars().count() <= PASSWORD_MAX
}

/// The registration rule for a new password.
pub fn check_new(password: &str) -> std::result::Result<(), FieldError> {
    if !within_max(password) {
        Err(FieldError::new(format!(
            "must be at most {PASSWORD_MAX} characters"
        )))
    } else if password.chars().count() < PASSWORD_MIN {
        Err(FieldError::new(format!(
            "must be at least {PASSWORD_MIN} characters"
        )))
    } else {
        Ok(())
    }
}

/// The hashing slots of one API process.
#[derive(Debug, Clone)]
pub struct PasswordHashing {
    slots: Arc<Semaphore>,
    capacity: usize,
    wait: Duration,
}

impl PasswordHashing {
    /// `concurrency` hashes at once (at least 1); waits up to [`HASH_WAIT`] for a slot.
    pub fn new(concurrency: usize) -> Self {
        let capacity = concurrency.max(1);
        Self {
            slots: Arc::new(Semaphore::new(capacity)),
            capacity,
            wait: HASH_WAIT,
        }
    }

    /// One slot per core.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// How many hashes may run at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Takes every slot until the returned permit drops (tests use it to saturate).
    pub async fn hold_all(&self) -> Option<OwnedSemaphorePermit> {
        let n = u32::try_from(self.capacity).ok()?;
        self.slots.clone().acquire_many_owned(n).await.ok()
    }

    async fn slot(&self) -> Result<OwnedSemaphorePermit> {
        match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Error::Busy("password hashing is saturated")),
        }
    }

    /// Runs `work` on the blocking pool holding a slot. The permit moves into the blocking task:
    /// a client that hangs up mid-hash does not free the slot before the hash ends.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let permit = self.slot().await?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|e| Error::Internal(format!("password task failed: {e}")))
    }

    /// Argon2id with the crate's recommended parameters.
    pub async fn hash(&self, password: String) -> Result<String> {
        self.run(move || {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
        })
        .await?
    }

    pub async fn verify(&self, password: String, hash: String) -> Result<bool> {
        self.run(move || {
            Argon2::default()
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok()
        })
        .await
    }

    /// A hash of a random password, checked against when the email is unknown so that an
    /// unknown email and a wrong password take the same time.
    pub async fn dummy_hash(&self) -> Result<String> {
        static DUMMY: OnceLock<String> = OnceLock::new();
        if let Some(h) = DUMMY.get() {
            return Ok(h.clone());
        }
        let h = self.hash(URL_SAFE_NO_PAD.encode(random_bytes()?)).await?;
        Ok(DUMMY.get_or_init(|| h).clone())
    }
}

pub(crate) fn random_bytes() -> Result<[u8; 32]> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules_count_characters_and_refuse_huge_input_cheaply() {
        assert!(check_new("short").is_err());
        assert!(check_new("long enough").is_ok());
        assert!(check_new(&"é".repeat(PASSWORD_MAX)).is_ok());
        assert!(check_new(&"a".repeat(PASSWORD_MAX + 1)).is_err());
        assert!(!within_max(&"a".repeat(1 << 20)));
    }

    #[tokio::test]
    async fn a_saturated_hasher_answers_busy_instead_of_queueing() {
        let mut hashing = PasswordHashing::new(1);
        hashing.wait = Duration::from_millis(20);
        let held = hashing.hold_all().await;
        assert!(matches!(
            hashing.hash("password".into()).await,
            Err(Error::Busy(_))
        ));
        drop(held);
        assert!(hashing.hash("password".into()).await.is_ok());
    }
}
