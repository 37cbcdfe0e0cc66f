//! Passwords: the length rules, and argon2id hashing and verification on a fixed set of
//! hashing threads, one per slot (by default one per core), each reusing one memory area for
//! every hash it computes. A hash needs ~19 MiB: without the slots, concurrent logins grew
//! memory without bound (32 of them by 600 MiB); and with the crate's own allocation per hash,
//! the allocator fragmented and kept ~19 MiB more after every login (measured: +117 MiB after
//! six sequential logins on two threads). So memory is `slots × 19 MiB`, allocated once. A
//! request that finds no free slot within a bounded wait is refused with `Error::Busy` (503 with
//! `Retry-After`) instead of queueing more.

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

type Work = Box<dyn FnOnce() + Send>;

/// The hashing slots of one API process: a semaphore admits at most `capacity` hashes, which
/// run on as many dedicated threads. The threads end when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct PasswordHashing {
    slots: Arc<Semaphore>,
    capacity: usize,
    wait: Duration,
    work: std::sync::mpsc::SyncSender<Work>,
}

impl PasswordHashing {
    /// `concurrency` hashes at once (at least 1); waits up to [`HASH_WAIT`] for a slot.
    pub fn new(concurrency: usize) -> Self {
        let capacity = concurrency.max(1);
        // Admission is by the semaphore, so the queue never holds more than `capacity`.
        let (work, queue) = std::sync::mpsc::sync_channel::<Work>(capacity);
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for i in 0..capacity {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || {
                    loop {
                        let next = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match next {
                            // A panicking hash must not take its thread (and slot) with it.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        Self {
            slots: Arc::new(Semaphore::new(capacity)),
            capacity,
            wait: HASH_WAIT,
            work,
        }
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

    /// Runs `work` on a hashing thread holding a slot. The permit moves with the work: a client
    /// that hangs up mid-hash does not free the slot before the hash ends.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let permit = self.slot().await?;
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Work = Box::new(move || {
            let _ = done.send(work());
            drop(permit);
        });
        self.work
            .send(job)
            .map_err(|_| Error::Internal("password hashing threads are gone".into()))?;
        result
            .await
            .map_err(|_| Error::Internal("password hashing failed".into()))
    }

    /// Argon2id with the crate's recommended parameters, as a PHC string.
    pub async fn hash(&self, password: String) -> Result<String> {
        let salt = random_bytes()?;
        self.run(move || hash_with_memory(password.as_bytes(), &salt[..16]))
            .await?
    }

    /// Whether `password` matches the PHC string `hash` (any argon2 variant and parameters).
    pub async fn verify(&self, password: String, hash: String) -> Result<bool> {
        self.run(move || verify_with_memory(password.as_bytes(), &hash))
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

/// Most memory a stored hash may ask for: 256 MiB (in 1 KiB blocks). Ours ask for 19 MiB.
const MAX_BLOCKS: usize = 256 * 1024;

thread_local! {
    /// The memory area of this hashing thread, grown to the largest hash it computed.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Argon2 `argon` of `password` with `salt` into `out`, in this thread's memory area.
fn compute(argon: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> bool {
    let blocks = argon.params().block_count();
    if blocks > MAX_BLOCKS {
        return false;
    }
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::new());
        }
        argon
            .hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
            .is_ok()
    })
}

fn hash_with_memory(password: &[u8], salt: &[u8]) -> Result<String> {
    let failed = |what: &str| Error::Internal(format!("password hashing failed: {what}"));
    let argon = Argon2::default();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    if !compute(&argon, password, salt, &mut out) {
        return Err(failed("argon2"));
    }
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params()).map_err(|e| failed(&e.to_string()))?,
        salt: Some(Salt::new(salt).map_err(|e| failed(&e.to_string()))?),
        hash: Some(Output::new(&out).map_err(|e| failed(&e.to_string()))?),
    };
    Ok(hash.to_string())
}

/// As `argon2`'s own `PasswordVerifier`: the stored hash's variant, version and parameters,
/// compared in constant time (`Output`'s equality).
fn verify_with_memory(password: &[u8], stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    compute(&argon, password, salt, &mut out) && Output::new(&out).is_ok_and(|o| o == *expected)
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
    async fn hashes_verify_here_and_with_the_argon2_crate_itself() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let hashing = PasswordHashing::new(1);
        let ours = hashing.hash("correct horse".into()).await.unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", ours.as_str())
                .is_ok()
        );
        assert!(
            hashing
                .verify("correct horse".into(), ours.clone())
                .await
                .unwrap()
        );
        assert!(!hashing.verify("wrong horse".into(), ours).await.unwrap());
        let theirs = Argon2::default()
            .hash_password(b"battery staple")
            .unwrap()
            .to_string();
        assert!(
            hashing
                .verify("battery staple".into(), theirs.clone())
                .await
                .unwrap()
        );
        assert!(!hashing.verify("battery".into(), theirs).await.unwrap());
        assert!(
            !hashing
                .verify("x".into(), "not a hash".into())
                .await
                .unwrap()
        );
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
