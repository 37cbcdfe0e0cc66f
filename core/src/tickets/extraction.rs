//! Extraction of a ticket's technician notes, on the ticket's side: the
//! `extract_ticket_attributes` job (enqueued in the transaction that closes the ticket out or
//! edits its notes, unique per ticket and notes), what the job reads, and how its answer is
//! stored — fenced on the ticket id and the hash of the notes it read, so a late answer for
//! older notes never overwrites a newer request, and only while the request is pending, so it
//! never overwrites the office's decision.

use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::{Ticket, columns};
use crate::audit::{self, AuditAction, compute_changes, snapshot};
use crate::entity::{self, Lock};
use crate::error::Result;
use crate::extraction::{
    Extraction, ExtractionEvent, ExtractionInput, ExtractionStatus, ExtractorInfo,
};
use crate::ids::Actor;
use crate::lifecycle::next;
use crate::queue::{self, Job, JobOptions, backoff};

/// Extracts attributes from a ticket's notes. Carries no notes (they are read from the ticket
/// and never logged), only the hash of the notes it was enqueued for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtractTicketAttributes {
    pub ticket_id: Uuid,
    /// SHA-256 (hex) of the notes this run is for.
    pub notes_sha256: String,
}

impl Job for ExtractTicketAttributes {
    const KIND: &'static str = "extract_ticket_attributes";
    /// Its own queue, sized small (`WORKER_QUEUES=...,llm=2`): model calls are slow and
    /// rate-limited, and must not hold up other work.
    const QUEUE: &'static str = "llm";
    /// Transient provider failures (5xx, timeouts) are retried this many times in all (about
    /// 40 minutes with the backoff below); unusable answers fewer (see the worker's handler).
    const MAX_ATTEMPTS: i32 = 10;
    /// Longer than the longest `LLM_TIMEOUT_SECS` allowed (300 s) plus the database work.
    const TIMEOUT: Duration = Duration::from_secs(6 * 60);

    /// 5 s doubling, capped at 15 min, with jitter.
    fn backoff(attempt: i32) -> Duration {
        backoff::exponential(
            attempt,
            Duration::from_secs(5),
            Duration::from_secs(15 * 60),
        )
    }
}

/// The hex SHA-256 of notes, as the job and the fence compare them.
pub fn notes_sha256(notes: &str) -> String {
    let digest = Sha256::digest(notes.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Requests extraction of the ticket's current notes in the caller's transaction: the
/// extraction becomes `pending`, the previous proposal is cleared and the job is enqueued
/// (once per ticket and notes). A ticket without notes has its extraction cleared.
pub(super) async fn request(conn: &mut PgConnection, ticket: Ticket) -> Result<Ticket> {
    let Some(notes) = ticket.technician_notes.as_deref() else {
        return set(conn, ticket.id, None).await;
    };
    let job = ExtractTicketAttributes {
        ticket_id: ticket.id,
        notes_sha256: notes_sha256(notes),
    };
    let key = format!(
        "{}:{}:{}",
        ExtractTicketAttributes::KIND,
        job.ticket_id,
        job.notes_sha256
    );
    queue::enqueue_with(conn, &job, JobOptions::default().unique_key(key)).await?;
    set(conn, ticket.id, Some(Extraction::requested(Utc::now()))).await
}

/// Clears the proposal and sets the extraction record.
async fn set(conn: &mut PgConnection, id: Uuid, extraction: Option<Extraction>) -> Result<Ticket> {
    Ok(sqlx::query_as(concat!(
        "UPDATE tickets SET extracted_attributes = NULL, extraction = $2 WHERE id = $1 RETURNING ",
        columns!()
    ))
    .bind(id)
    .bind(extraction.map(Json))
    .fetch_one(conn)
    .await?)
}

/// What the job reads: the notes and the visit date, when the ticket still exists, still has
/// exactly the notes the job was enqueued for and its extraction is still pending; `None`
/// means the job is stale (nothing to do).
pub async fn extraction_input(
    conn: &mut PgConnection,
    job: &ExtractTicketAttributes,
) -> Result<Option<ExtractionInput>> {
    let Some(ticket) = entity::find::<Ticket>(conn, job.ticket_id, Lock::Read).await? else {
        return Ok(None);
    };
    Ok(current(&ticket, job).map(|notes| ExtractionInput {
        notes: notes.to_owned(),
        visit_date: ticket.closed_at.unwrap_or_else(Utc::now).date_naive(),
    }))
}

/// The notes, when the ticket is still waiting for this job's answer.
fn current<'a>(ticket: &'a Ticket, job: &ExtractTicketAttributes) -> Option<&'a str> {
    let notes = ticket.technician_notes.as_deref()?;
    let pending = ticket
        .extraction
        .as_ref()
        .is_some_and(|e| e.status == ExtractionStatus::Pending);
    (pending && notes_sha256(notes) == job.notes_sha256).then_some(notes)
}

/// What an extractor made of the notes.
#[derive(Debug, Clone)]
pub enum ExtractionOutcome {
    /// A finalised proposal (valid against the schema, grounded in the notes).
    Proposed(Map<String, Value>),
    /// The extractor gave up; the reason names no note content.
    Failed(String),
}

/// Stores the job's answer on its ticket, audited as `extract_attributes`, when the ticket
/// still waits for exactly this answer (same notes, still pending); returns whether it did.
/// The ticket's row lock and the `WHERE` clause both fence the write.
pub async fn store_outcome(
    conn: &mut PgConnection,
    actor: &Actor,
    job: &ExtractTicketAttributes,
    info: &ExtractorInfo,
    outcome: ExtractionOutcome,
) -> Result<bool> {
    let Some(before) = entity::find::<Ticket>(conn, job.ticket_id, Lock::ForUpdate).await? else {
        return Ok(false);
    };
    let Some(requested) = before.extraction.clone() else {
        return Ok(false);
    };
    if current(&before, job).is_none() {
        return Ok(false);
    }
    let (event, attributes, error) = match outcome {
        ExtractionOutcome::Proposed(a) => (ExtractionEvent::Propose, Some(a), None),
        ExtractionOutcome::Failed(reason) => (ExtractionEvent::Fail, None, Some(reason)),
    };
    let Some(status) = next(requested.status, event) else {
        return Ok(false);
    };
    let extraction = Extraction {
        status,
        provider: Some(info.provider.clone()),
        model: Some(info.model.clone()),
        prompt_version: info.prompt_version.clone(),
        extracted_at: Some(Utc::now()),
        error,
        ..requested
    };
    let after: Option<Ticket> = sqlx::query_as(concat!(
        "UPDATE tickets SET extracted_attributes = $2, extraction = $3
          WHERE id = $1 AND deleted_at IS NULL AND extraction ->> 'status' = 'pending'
            AND encode(sha256(convert_to(technician_notes, 'UTF8')), 'hex') = $4
          RETURNING ",
        columns!()
    ))
    .bind(job.ticket_id)
    .bind(attributes.map(Json))
    .bind(Json(extraction))
    .bind(&job.notes_sha256)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(after) = after else {
        return Ok(false);
    };
    let changes = compute_changes(&snapshot(&before)?, &snapshot(&after)?);
    audit::log_change(
        conn,
        actor,
        "ticket",
        after.id,
        AuditAction::Action("extract_attributes"),
        changes,
    )
    .await?;
    Ok(true)
}
