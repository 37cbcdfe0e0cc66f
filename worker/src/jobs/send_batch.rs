//! Group commit for `message.send`: the jobs of one tenant that reach the same step at the
//! same moment in this process share one transaction — one statement locks and reads their
//! messages, one writes their claims and skips, one their audit rows; likewise for recording
//! outcomes. Like the runtime's acker, it never waits to fill a batch: a batch is whatever
//! queued up while the previous ones ran (at most [`MAX_BATCH`], [`PARALLEL`] at a time).
//! Each job still gets its own answer, and a failed batch fails each of its jobs (retried as
//! usual).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use chrono::Utc;
use fieldwork_core::ids::UserId;
use fieldwork_core::messages::MessageSettings;
use fieldwork_core::messages::send::{self, Claimed, Outcome, Request, Step};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::handler::{JobContext, JobError};

/// Most jobs in one transaction.
pub const MAX_BATCH: usize = 64;
/// Batches in flight at once (each holds one database connection).
pub const PARALLEL: usize = 4;

enum Work {
    Prepare(Request, oneshot::Sender<Result<Step, String>>),
    Record(
        Box<Claimed>,
        Outcome,
        Option<String>,
        oneshot::Sender<Result<(), String>>,
    ),
}

struct Item {
    ctx: JobContext,
    user: UserId,
    work: Work,
}

/// Submits the steps of `message.send` jobs; cheap to clone. The batching task starts with
/// the first job and ends when the last clone is dropped.
#[derive(Clone)]
pub struct Batcher {
    settings: Arc<MessageSettings>,
    queue: Arc<OnceLock<mpsc::UnboundedSender<Item>>>,
}

impl Batcher {
    pub fn new(settings: MessageSettings) -> Batcher {
        Batcher {
            settings: Arc::new(settings),
            queue: Arc::new(OnceLock::new()),
        }
    }

    fn submit(&self, item: Item) -> Result<(), JobError> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(run(rx, self.settings.clone()));
            tx
        });
        queue
            .send(item)
            .map_err(|_| JobError::failed("message batcher stopped"))
    }

    /// [`send::prepare`] for one job's message, batched with others.
    pub async fn prepare(&self, ctx: &JobContext, request: Request) -> Result<Step, JobError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Item {
            ctx: ctx.clone(),
            user: tenant(ctx)?,
            work: Work::Prepare(request, reply),
        })?;
        answer
            .await
            .map_err(|_| JobError::failed("message batch dropped"))?
            .map_err(JobError::failed)
    }

    /// [`send::record`] for one job's outcome, batched with others.
    pub async fn record(
        &self,
        ctx: &JobContext,
        claimed: &Claimed,
        outcome: &Outcome,
        request_id: Option<String>,
    ) -> Result<(), JobError> {
        let (reply, answer) = oneshot::channel();
        let work = Work::Record(
            Box::new(claimed.clone()),
            outcome.clone(),
            request_id,
            reply,
        );
        self.submit(Item {
            ctx: ctx.clone(),
            user: tenant(ctx)?,
            work,
        })?;
        answer
            .await
            .map_err(|_| JobError::failed("message batch dropped"))?
            .map_err(JobError::failed)
    }
}

fn tenant(ctx: &JobContext) -> Result<UserId, JobError> {
    ctx.user_id()
        .ok_or_else(|| JobError::discard("message.send runs for a tenant, not as a system job"))
}

async fn run(mut queue: mpsc::UnboundedReceiver<Item>, settings: Arc<MessageSettings>) {
    let slots = Arc::new(Semaphore::new(PARALLEL));
    while let Some(first) = queue.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        // Whatever queued up while we waited for a free slot goes into this round.
        let mut items = vec![first];
        while items.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(item) => items.push(item),
                Err(_) => break,
            }
        }
        let mut groups: HashMap<(UserId, bool), Vec<Item>> = HashMap::new();
        for item in items {
            let prepare = matches!(item.work, Work::Prepare(..));
            groups.entry((item.user, prepare)).or_default().push(item);
        }
        let mut groups = groups.into_values();
        // The first group runs in the slot just taken; the others wait for their own.
        if let Some(group) = groups.next() {
            let settings = settings.clone();
            tokio::spawn(async move {
                execute(group, &settings).await;
                drop(slot);
            });
        }
        for group in groups {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let settings = settings.clone();
            tokio::spawn(async move {
                execute(group, &settings).await;
                drop(slot);
            });
        }
    }
}

/// One transaction for a group of one tenant's jobs at the same step.
async fn execute(group: Vec<Item>, settings: &MessageSettings) {
    let Some(first) = group.first() else {
        return;
    };
    let (ctx, user) = (first.ctx.clone(), first.user);
    let mut requests = Vec::new();
    let mut prepare_replies = Vec::new();
    let mut outcomes = Vec::new();
    let mut record_replies = Vec::new();
    for item in group {
        match item.work {
            Work::Prepare(request, reply) => {
                requests.push(request);
                prepare_replies.push(reply);
            }
            Work::Record(claimed, outcome, request_id, reply) => {
                outcomes.push((claimed, outcome, request_id));
                record_replies.push(reply);
            }
        }
    }
    if !requests.is_empty() {
        let result = async {
            let mut tx = ctx.begin().await?;
            let steps = send::prepare(&mut tx, user, settings, &requests, Utc::now()).await?;
            tx.commit().await?;
            Ok::<_, JobError>(steps)
        }
        .await;
        match result {
            Ok(steps) => {
                for (reply, step) in prepare_replies.into_iter().zip(steps) {
                    let _ = reply.send(Ok(step));
                }
            }
            Err(e) => {
                for reply in prepare_replies {
                    let _ = reply.send(Err(e.message().to_owned()));
                }
            }
        }
        return;
    }
    let result = async {
        let mut tx = ctx.begin().await?;
        let rows: Vec<(&Claimed, &Outcome, Option<String>)> = outcomes
            .iter()
            .map(|(c, o, r)| (c.as_ref(), o, r.clone()))
            .collect();
        send::record(&mut tx, user, &rows).await?;
        tx.commit().await
    }
    .await;
    for reply in record_replies {
        let _ = reply.send(
            result
                .as_ref()
                .map(|_| ())
                .map_err(|e| e.message().to_owned()),
        );
    }
}
