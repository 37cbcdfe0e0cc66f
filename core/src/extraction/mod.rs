//! Attribute extraction from technician notes: the attribute schema and its validator
//! (`schema`, `forms`), turning an extractor's answer into a grounded proposal (`finalize`),
//! the offline rules extractor (`rules`), and the `extraction` record a ticket carries with its
//! status state machine (pending → proposed | failed → confirmed | rejected). The job that runs
//! extraction and the confirm/reject actions live with tickets (`tickets::extraction`); the
//! LLM client lives in the worker.

mod finalize;
mod formats;
mod forms;
pub mod rules;
pub mod schema;

pub use finalize::{add_span, finalize, values_of};
pub use forms::{ATTRIBUTES_COMPONENT, attributes_schema_ref, nullable_attributes_schema_ref};
pub use schema::{AttributeSchema, Violation, schema};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::lifecycle::{Event, StateMachine};

/// The categories (a unit test keeps this list and the schema in step).
pub const CATEGORIES: [&str; 8] = [
    "customer_demographic",
    "pet",
    "property_notes",
    "equipment_needed",
    "service_preferences",
    "property_details",
    "vehicle",
    "next_service_due",
];

/// `provider` of the offline extractor.
pub const RULES_PROVIDER: &str = "rules";
/// `model` of the offline extractor: bump when its patterns change what they find.
pub const RULES_MODEL: &str = "fieldwork-rules-1";

/// What a ticket records about the extraction of its notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Extraction {
    pub status: ExtractionStatus,
    /// `rules` or `openai`; null until an extractor answered.
    pub provider: Option<String>,
    /// The model that answered (`LLM_MODEL`, or the rules version).
    pub model: Option<String>,
    /// Version of the prompt and schema the model was given (null for the rules extractor).
    pub prompt_version: Option<String>,
    /// When the extractor answered (proposed or failed).
    pub extracted_at: Option<DateTime<Utc>>,
    /// Why extraction failed (`failed` only), or why the office rejected the proposal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When extraction was requested: the close-out, or the last edit of the notes.
    pub requested_at: DateTime<Utc>,
    /// When the office confirmed or rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
}

impl Extraction {
    /// A new request: pending, nothing known yet.
    pub fn requested(at: DateTime<Utc>) -> Extraction {
        Extraction {
            status: ExtractionStatus::Pending,
            provider: None,
            model: None,
            prompt_version: None,
            extracted_at: None,
            error: None,
            requested_at: at,
            decided_at: None,
        }
    }
}

/// Who answered an extraction request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractorInfo {
    pub provider: String,
    pub model: String,
    pub prompt_version: Option<String>,
}

/// What the extraction job needs: the notes and the visit they describe.
#[derive(Clone)]
pub struct ExtractionInput {
    pub notes: String,
    /// The day of the visit (close-out, UTC): intervals such as "in 6 months" count from it.
    pub visit_date: NaiveDate,
}

// Notes are customer data: never in logs, so never in a Debug rendering either.
impl std::fmt::Debug for ExtractionInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtractionInput")
            .field(
                "notes",
                &format_args!("<{} chars>", self.notes.chars().count()),
            )
            .field("visit_date", &self.visit_date)
            .finish()
    }
}

/// Where an extraction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExtractionStatus {
    /// Requested; the job has not answered yet.
    Pending,
    /// `extracted_attributes` holds a proposal waiting for the office.
    Proposed,
    /// The office merged the proposal (or its edited version) into the customer.
    Confirmed,
    /// The office discarded the proposal.
    Rejected,
    /// The extractor gave up (`error` says why); the ticket itself is unaffected.
    Failed,
}

/// What happens to an extraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtractionEvent {
    /// The job answered with a proposal.
    Propose,
    /// The job gave up.
    Fail,
    /// `ticket.confirm_attributes` without `attributes`: the proposal as it is.
    Confirm,
    /// `ticket.confirm_attributes` with the office's own `attributes`.
    ConfirmEdited,
    Reject,
}

impl Event for ExtractionEvent {
    fn past_participle(self) -> &'static str {
        match self {
            ExtractionEvent::Propose => "given a proposal",
            ExtractionEvent::Fail => "marked failed",
            ExtractionEvent::Confirm => "confirmed",
            ExtractionEvent::ConfirmEdited => "confirmed with edited attributes",
            ExtractionEvent::Reject => "rejected",
        }
    }
}

impl StateMachine for ExtractionStatus {
    type Event = ExtractionEvent;
    const ENTITY: &'static str = "Extraction";
    /// Only a proposal can be confirmed as it is or rejected; the office's own attributes
    /// can be confirmed whatever the extractor did. Only a pending request gets an answer, so
    /// a late answer never overwrites the office's decision. Editing the notes starts a new
    /// request (pending) from any state.
    const TRANSITIONS: &'static [(Self, ExtractionEvent, Self)] = {
        use ExtractionEvent as E;
        use ExtractionStatus as S;
        &[
            (S::Pending, E::Propose, S::Proposed),
            (S::Pending, E::Fail, S::Failed),
            (S::Proposed, E::Confirm, S::Confirmed),
            (S::Proposed, E::Reject, S::Rejected),
            (S::Pending, E::ConfirmEdited, S::Confirmed),
            (S::Proposed, E::ConfirmEdited, S::Confirmed),
            (S::Failed, E::ConfirmEdited, S::Confirmed),
            (S::Rejected, E::ConfirmEdited, S::Confirmed),
            (S::Confirmed, E::ConfirmEdited, S::Confirmed),
        ]
    };
    fn describe(self) -> &'static str {
        match self {
            ExtractionStatus::Pending => "still pending",
            ExtractionStatus::Proposed => "proposed",
            ExtractionStatus::Confirmed => "already confirmed",
            ExtractionStatus::Rejected => "rejected",
            ExtractionStatus::Failed => "failed",
        }
    }
}

#[cfg(test)]
mod tests;
