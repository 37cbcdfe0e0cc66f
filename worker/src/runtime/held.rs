//! The jobs this process holds under lease — buffered, running, or finished but not yet
//! acknowledged — per queue: the heartbeat renews exactly these, fetchers size their claims
//! by them, and cancellation signals reach running handlers through them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use fieldwork_core::queue::{ClaimedJob, JobId, metrics};
use tokio::sync::Notify;

/// A cancellation signal a running handler can check or await.
#[derive(Debug, Default)]
pub struct CancelToken {
    flag: AtomicBool,
    notify: Notify,
}

impl CancelToken {
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    pub async fn cancelled(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

struct Entry {
    attempt: i32,
    queue: usize,
    running: bool,
    /// The lease was lost before the job started: it must not start.
    lost: bool,
    cancel: Arc<CancelToken>,
}

/// Per-queue accounting.
pub struct QueueSlot {
    pub name: Arc<str>,
    pub concurrency: usize,
    /// Most jobs held at once: concurrency plus the local buffer.
    pub capacity: usize,
    held: AtomicUsize,
    /// New work may be available (notification, promotion, poll).
    pub wake: Notify,
    /// Held jobs were acknowledged: capacity freed.
    pub freed: Notify,
}

impl QueueSlot {
    pub fn new(name: &str, concurrency: usize, buffer: usize) -> Self {
        Self {
            name: Arc::from(name),
            concurrency,
            capacity: concurrency + buffer,
            held: AtomicUsize::new(0),
            wake: Notify::new(),
            freed: Notify::new(),
        }
    }

    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    pub fn free(&self) -> usize {
        self.capacity.saturating_sub(self.held())
    }
}

/// Everything this process holds.
pub struct Held {
    jobs: Mutex<HashMap<i64, Entry>>,
    pub queues: Vec<QueueSlot>,
}

impl Held {
    pub fn new(queues: Vec<QueueSlot>) -> Self {
        Self {
            jobs: Mutex::new(HashMap::new()),
            queues,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<i64, Entry>> {
        // A panic while holding this lock cannot leave the map inconsistent (single
        // inserts/removes), so a poisoned lock is still usable.
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn queue_index(&self, name: &str) -> Option<usize> {
        self.queues.iter().position(|q| &*q.name == name)
    }

    /// Records freshly claimed jobs of queue `queue`.
    pub fn claimed(&self, queue: usize, jobs: &[ClaimedJob]) {
        let mut map = self.lock();
        for j in jobs {
            map.insert(
                j.id.0,
                Entry {
                    attempt: j.attempt,
                    queue,
                    running: false,
                    lost: false,
                    cancel: Arc::new(CancelToken::default()),
                },
            );
        }
        drop(map);
        self.queues[queue]
            .held
            .fetch_add(jobs.len(), Ordering::AcqRel);
        metrics::held(i64::try_from(jobs.len()).unwrap_or(i64::MAX));
    }

    /// Marks a buffered job as started and returns its cancellation token; `None` if it must
    /// not start (its lease was lost while it waited).
    pub fn start(&self, id: JobId) -> Option<Arc<CancelToken>> {
        let mut map = self.lock();
        let entry = map.get_mut(&id.0)?;
        if entry.lost {
            return None;
        }
        entry.running = true;
        Some(entry.cancel.clone())
    }

    /// Forgets acknowledged (or released) jobs and frees their queues' capacity.
    pub fn remove(&self, ids: impl IntoIterator<Item = JobId>) {
        let mut freed = vec![0usize; self.queues.len()];
        {
            let mut map = self.lock();
            for id in ids {
                if let Some(e) = map.remove(&id.0) {
                    freed[e.queue] += 1;
                }
            }
        }
        let mut total = 0;
        for (slot, n) in self.queues.iter().zip(freed) {
            if n > 0 {
                slot.held.fetch_sub(n, Ordering::AcqRel);
                slot.freed.notify_one();
                total += n;
            }
        }
        metrics::held(-i64::try_from(total).unwrap_or(i64::MAX));
    }

    /// `(id, attempt)` of every held job, for the heartbeat.
    pub fn snapshot(&self) -> Vec<(JobId, i32)> {
        self.lock()
            .iter()
            .map(|(id, e)| (JobId(*id), e.attempt))
            .collect()
    }

    /// `(id, attempt)` of held jobs that never started (shutdown hands them back).
    pub fn take_buffered(&self) -> Vec<(JobId, i32)> {
        let map = self.lock();
        map.iter()
            .filter(|(_, e)| !e.running)
            .map(|(id, e)| (JobId(*id), e.attempt))
            .collect()
    }

    /// `(id, attempt)` of held jobs that started and have not been acknowledged.
    pub fn running(&self) -> Vec<(JobId, i32)> {
        self.lock()
            .iter()
            .filter(|(_, e)| e.running)
            .map(|(id, e)| (JobId(*id), e.attempt))
            .collect()
    }

    /// Whether this process holds `id`.
    pub fn holds(&self, id: JobId) -> bool {
        self.lock().contains_key(&id.0)
    }

    /// Signals the running handler of `id` (if held here) to stop. Callers have confirmed the
    /// request in the database (heartbeat, `cancel::check_loop`).
    pub fn cancel(&self, id: JobId) {
        if let Some(e) = self.lock().get(&id.0) {
            e.cancel.cancel();
        }
    }

    /// The worker no longer holds these jobs: running handlers are told to stop, buffered
    /// jobs will not start.
    pub fn lost(&self, ids: &[JobId]) {
        let mut map = self.lock();
        for id in ids {
            if let Some(e) = map.get_mut(&id.0) {
                e.lost = true;
                e.cancel.cancel();
            }
        }
    }

    pub fn total(&self) -> usize {
        self.lock().len()
    }
}
