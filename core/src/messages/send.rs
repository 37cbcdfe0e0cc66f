//! Sending, as the worker's `message.send` jobs do it, in two short transactions around the
//! SMTP exchange, each covering a batch of one tenant's messages (the worker groups concurrent
//! jobs, as its acker groups acknowledgements): [`prepare`] locks the messages, re-checks
//! everything that may have lapsed since each was scheduled (ending it `skipped` with a
//! [`SkipReason`]), says which are not due yet (moved, or in quiet hours), and claims and
//! renders the rest (`pending → sending`); after the exchanges, [`record`] writes each outcome
//! (`sent`, back to `pending` for a retry, or `failed`). docs/ARCHITECTURE.md ("Never twice")
//! explains the one crash window that can duplicate.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::data::{self, MessageData};
use super::render::{self, RenderedEmail};
use super::settings::MessageSettings;
use super::{MessageEvent, MessageStatus, MessageType, ScheduledMessage, SkipReason, columns};
use crate::audit::{self, AuditAction, AuditRecord, compute_changes, snapshot};
use crate::error::Result;
use crate::ids::{Actor, UserId};
use crate::lifecycle::transition;

pub use super::revalidate::skip_reason;

/// A job that runs up to this much before its message's due time sends it anyway (clocks of
/// workers and database differ a little).
const EARLY_TOLERANCE: Duration = Duration::seconds(1);

/// One message to prepare: its id, the audit `request_id` naming its job (`job-42`), and
/// whether this is the job's last attempt (a message that cannot be rendered then fails).
#[derive(Debug, Clone)]
pub struct Request {
    pub id: Uuid,
    pub request_id: Option<String>,
    pub last_attempt: bool,
}

/// What a message's send job does next.
#[derive(Debug)]
pub enum Step {
    /// Nothing: the message was cancelled, deleted or already finished.
    Done,
    /// Not due yet (it was moved, or its due time is in quiet hours): run again then.
    Defer(DateTime<Utc>),
    /// Ended `skipped` (written and audited).
    Skipped(MessageType, SkipReason),
    /// Claimed (`sending`, written and audited): send it once the transaction committed,
    /// then [`record`] the outcome.
    Send(Box<Claimed>),
    /// It cannot be rendered (a template defect): left as it was, to be retried — or, on
    /// the job's last attempt, ended `failed` with the error (then `failed` is true).
    Unrenderable { error: String, failed: bool },
}

/// A claimed message, rendered.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    /// The row as claimed (`sending`): nothing else may change a message in that state, so
    /// the outcome is audited against it without reading it again.
    pub row: ScheduledMessage,
    pub customer_id: Uuid,
    pub message_type: MessageType,
    /// When it was due (after quiet hours): the send lag is measured from here.
    pub due: DateTime<Utc>,
    /// The address it goes to (present: a message without one is skipped).
    pub to: String,
    pub email: RenderedEmail,
}

/// How an SMTP exchange ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server accepted the message: `sent`.
    Sent,
    /// A transient failure (connect, timeout, 4xx): back to `pending` with the error; the job
    /// retries with backoff and the next attempt re-checks everything again.
    Retry(String),
    /// A permanent failure (5xx, or transient ones until the attempts ran out): `failed` with
    /// the reply. `bounced`: the server refused the mailbox itself; the customer's address is
    /// marked bounced (if it is still the one we sent to) and later messages skip it.
    Failed { error: String, bounced: bool },
}

enum Decision {
    Done,
    Defer(DateTime<Utc>),
    Skip(SkipReason),
    Claim(Box<RenderedEmail>, DateTime<Utc>),
    Unrenderable(String),
    /// Unrenderable on the last attempt.
    Fail(String),
}

/// Locks `requests`' messages of tenant `user` (the caller's tenant transaction), re-checks
/// each and decides; the answer is aligned with `requests`.
pub async fn prepare(
    conn: &mut PgConnection,
    user: UserId,
    settings: &MessageSettings,
    requests: &[Request],
    now: DateTime<Utc>,
) -> Result<Vec<Step>> {
    let ids: Vec<Uuid> = requests.iter().map(|r| r.id).collect();
    let rows = data::lock_many(conn, &ids).await?;
    let last_attempt: HashMap<Uuid, bool> =
        requests.iter().map(|r| (r.id, r.last_attempt)).collect();
    let mut decided: HashMap<Uuid, (MessageData, Decision)> = HashMap::new();
    for data in rows {
        let decision = match decide(conn, &data, settings, now).await? {
            Decision::Unrenderable(e) if last_attempt.get(&data.message.id) == Some(&true) => {
                transition(data.message.status, MessageEvent::Fail)?;
                Decision::Fail(e)
            }
            decision => decision,
        };
        decided.insert(data.message.id, (data, decision));
    }
    // One statement writes every skip, claim and failure of the batch.
    let mut changed_ids = Vec::new();
    let mut statuses = Vec::new();
    let mut reasons: Vec<Option<&str>> = Vec::new();
    let mut errors: Vec<Option<String>> = Vec::new();
    for (id, (_, decision)) in &decided {
        let (status, reason, error) = match decision {
            Decision::Skip(r) => (MessageStatus::Skipped, Some(r.as_str()), None),
            Decision::Claim(..) => (MessageStatus::Sending, None, None),
            Decision::Fail(e) => (MessageStatus::Failed, None, Some(truncate(e))),
            _ => continue,
        };
        changed_ids.push(*id);
        statuses.push(status.as_str());
        reasons.push(reason);
        errors.push(error);
    }
    let changed: Vec<ScheduledMessage> = if changed_ids.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(concat!(
            "UPDATE scheduled_messages
                SET status = ($2::text[])[array_position($1::uuid[], id)],
                    skip_reason = ($3::text[])[array_position($1::uuid[], id)],
                    last_error = coalesce(($4::text[])[array_position($1::uuid[], id)], last_error),
                    attempts = attempts + CASE WHEN ($2::text[])[array_position($1::uuid[], id)]
                                                    = 'sending' THEN 1 ELSE 0 END
              WHERE id = ANY(ARRAY(SELECT unnest($1::uuid[])))
                AND status IN ('pending', 'sending')
             RETURNING ",
            columns!()
        ))
        .bind(&changed_ids)
        .bind(&statuses)
        .bind(&reasons)
        .bind(&errors)
        .fetch_all(&mut *conn)
        .await?
    };
    let changed: HashMap<Uuid, ScheduledMessage> = changed.into_iter().map(|m| (m.id, m)).collect();
    let mut records = Vec::new();
    let mut steps = Vec::with_capacity(requests.len());
    for request in requests {
        let actor = Actor::system(user, request.request_id.clone());
        let step = match decided.remove(&request.id) {
            None => Step::Done,
            Some((data, decision)) => {
                let before = data.message;
                match (decision, changed.get(&request.id)) {
                    (Decision::Done, _) => Step::Done,
                    (Decision::Defer(at), _) => Step::Defer(at),
                    (Decision::Unrenderable(error), _) => Step::Unrenderable {
                        error,
                        failed: false,
                    },
                    (Decision::Fail(error), Some(after)) => {
                        records.push(record_of(&actor, &before, after, "fail")?);
                        Step::Unrenderable {
                            error,
                            failed: true,
                        }
                    }
                    (Decision::Skip(reason), Some(after)) => {
                        records.push(record_of(&actor, &before, after, "skip")?);
                        Step::Skipped(before.message_type, reason)
                    }
                    (Decision::Claim(email, due), Some(after)) => {
                        records.push(record_of(&actor, &before, after, "claim")?);
                        Step::Send(Box::new(Claimed {
                            id: before.id,
                            row: after.clone(),
                            customer_id: before.customer_id,
                            message_type: before.message_type,
                            due,
                            to: email.to.clone().unwrap_or_default(),
                            email: *email,
                        }))
                    }
                    // Locked and still pending or sending: always written.
                    (Decision::Skip(_) | Decision::Claim(..) | Decision::Fail(_), None) => {
                        Step::Done
                    }
                }
            }
        };
        steps.push(step);
    }
    audit::log_changes(conn, &records).await?;
    Ok(steps)
}

async fn decide(
    conn: &mut PgConnection,
    data: &MessageData,
    settings: &MessageSettings,
    now: DateTime<Utc>,
) -> Result<Decision> {
    let status = data.message.status;
    if !matches!(status, MessageStatus::Pending | MessageStatus::Sending) {
        return Ok(Decision::Done);
    }
    let due = render::due_at(data, settings);
    // A `sending` message was claimed by a sender that died: it was due then.
    if status == MessageStatus::Pending && due > now + EARLY_TOLERANCE {
        return Ok(Decision::Defer(due));
    }
    if let Some(reason) = skip_reason(data, settings, now, due) {
        transition(status, MessageEvent::Skip)?;
        return Ok(Decision::Skip(reason));
    }
    transition(status, MessageEvent::Claim)?;
    let lines = render::lines_for(conn, data).await?;
    Ok(match render::render(data, &lines, settings) {
        Ok(email) => Decision::Claim(Box::new(email), due),
        Err(e) => Decision::Unrenderable(e.to_string()),
    })
}

fn record_of(
    actor: &Actor,
    before: &ScheduledMessage,
    after: &ScheduledMessage,
    action: &'static str,
) -> Result<AuditRecord> {
    Ok(AuditRecord {
        actor: actor.clone(),
        entity_type: "scheduled_message",
        entity_id: after.id,
        action: AuditAction::Action(action),
        changes: compute_changes(&snapshot(before)?, &snapshot(after)?),
    })
}

/// Writes the outcome of each exchange (tenant `user`'s transaction), each audited as its
/// job. Only messages still `sending` change: if another run took one over meanwhile (this
/// worker lost its lease) and finished it, its outcome here is dropped.
pub async fn record(
    conn: &mut PgConnection,
    user: UserId,
    outcomes: &[(&Claimed, &Outcome, Option<String>)],
) -> Result<()> {
    let ids: Vec<Uuid> = outcomes.iter().map(|(c, _, _)| c.id).collect();
    let statuses: Vec<&str> = outcomes
        .iter()
        .map(|(_, o, _)| {
            let event = match o {
                Outcome::Sent => MessageEvent::Deliver,
                Outcome::Retry(_) => MessageEvent::Retry,
                Outcome::Failed { .. } => MessageEvent::Fail,
            };
            transition(MessageStatus::Sending, event).map(MessageStatus::as_str)
        })
        .collect::<Result<_>>()?;
    let errors: Vec<Option<String>> = outcomes
        .iter()
        .map(|(_, o, _)| match o {
            Outcome::Sent => None,
            Outcome::Retry(e) | Outcome::Failed { error: e, .. } => Some(truncate(e)),
        })
        .collect();
    let updated: Vec<ScheduledMessage> = sqlx::query_as(concat!(
        "UPDATE scheduled_messages
            SET status = ($2::text[])[array_position($1::uuid[], id)],
                last_error = coalesce(($3::text[])[array_position($1::uuid[], id)], last_error),
                sent_at = CASE WHEN ($2::text[])[array_position($1::uuid[], id)] = 'sent'
                               THEN now() ELSE sent_at END
          WHERE id = ANY(ARRAY(SELECT unnest($1::uuid[]))) AND status = 'sending'
         RETURNING ",
        columns!()
    ))
    .bind(&ids)
    .bind(&statuses)
    .bind(&errors)
    .fetch_all(&mut *conn)
    .await?;
    let updated: HashMap<Uuid, ScheduledMessage> = updated.into_iter().map(|m| (m.id, m)).collect();
    let mut records = Vec::new();
    for (claimed, outcome, request_id) in outcomes {
        let Some(after) = updated.get(&claimed.id) else {
            tracing::warn!(message = %claimed.id, "message no longer sending; outcome not recorded");
            continue;
        };
        let actor = Actor::system(user, request_id.clone());
        let action = match outcome {
            Outcome::Sent => "send",
            Outcome::Retry(_) => "retry",
            Outcome::Failed { .. } => "fail",
        };
        records.push(record_of(&actor, &claimed.row, after, action)?);
        if let Outcome::Failed { bounced: true, .. } = outcome
            && let Some(record) = mark_bounced(conn, &actor, claimed).await?
        {
            records.push(record);
        }
    }
    audit::log_changes(conn, &records).await
}

/// Sets the customer's `email_bounced_at` if the address is still the one that bounced.
async fn mark_bounced(
    conn: &mut PgConnection,
    actor: &Actor,
    claimed: &Claimed,
) -> Result<Option<AuditRecord>> {
    let bounced: Option<DateTime<Utc>> = sqlx::query_scalar(
        "UPDATE customers SET email_bounced_at = now()
          WHERE id = $1 AND email = $2 AND email_bounced_at IS NULL
         RETURNING email_bounced_at",
    )
    .bind(claimed.customer_id)
    .bind(&claimed.to)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(bounced.map(|at| {
        let mut changes = Map::new();
        changes.insert("email_bounced_at".into(), json!({"old": null, "new": at}));
        AuditRecord {
            actor: actor.clone(),
            entity_type: "customer",
            entity_id: claimed.customer_id,
            action: AuditAction::Action("email_bounced"),
            changes,
        }
    }))
}

/// `last_error` keeps the first 2,000 characters of a reply.
fn truncate(error: &str) -> String {
    error.chars().take(2000).collect()
}
