//! Tickets: jobs on site for a customer. The entity, its status state machine (the one place
//! that lists every legal status change), and its create/patch inputs. Queries live in
//! `service`, the actions (`ticket.schedule`, ...) in `actions`.

mod actions;
mod attributes;
pub mod extraction;
mod service;

pub use actions::{
    CancelTicket, CloseOutTicket, ScheduleTicket, StartTicket, cancel, close_out, reschedule,
    schedule, start,
};
pub use attributes::{ConfirmAttributes, RejectAttributes, confirm_attributes, reject_attributes};
pub use service::{TicketFilter, WEEK_SQL, Week, create, delete, get, list, update, week};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Result;
use crate::extraction::{Extraction, nullable_attributes_schema_ref};
use crate::fields::{self, Checker, FieldError, JsonInput, Patch};
use crate::lifecycle::{Event, StateMachine, transition};
use crate::values::{self, text_enum};

/// A ticket as clients see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Ticket {
    pub id: Uuid,
    pub user_id: Uuid,
    pub customer_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: TicketStatus,
    /// When the work is booked (set by `ticket.schedule` / `ticket.reschedule`).
    pub scheduled_at: Option<DateTime<Utc>>,
    pub duration_minutes: i32,
    pub technician_notes: Option<String>,
    /// What extraction found in the technician notes, `{category: {value, evidence}}` (the
    /// `TicketAttributes` schema); null until it answered.
    #[schema(schema_with = nullable_attributes_schema_ref)]
    pub extracted_attributes: Option<Value>,
    /// Extraction of the technician notes: where it stands and who answered; null until the
    /// ticket is closed out with notes.
    #[sqlx(json(nullable))]
    pub extraction: Option<Extraction>,
    /// When the ticket was completed or cancelled.
    pub closed_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

macro_rules! columns {
    () => {
        "id, user_id, customer_id, title, description, status, scheduled_at, duration_minutes, technician_notes, extracted_attributes, extraction, closed_at, cancel_reason, created_at, updated_at"
    };
}
pub(crate) use columns;

crate::entity::entity!(Ticket, table: "tickets", audit: "ticket", not_found: "ticket not found",
    columns: columns!());
crate::entity::customer_record!(Ticket, table: "tickets", status: TicketStatus,
    expected: "must be a ticket status such as scheduled", columns: columns!());

impl Ticket {
    /// What the message flows need of this ticket.
    pub fn visit(&self) -> crate::messages::flows::Visit {
        crate::messages::flows::Visit {
            id: self.id,
            customer_id: self.customer_id,
            scheduled_at: self.scheduled_at,
            booked: self.status == TicketStatus::Scheduled,
        }
    }
}

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Draft,
    Scheduled,
    InProgress,
    Completed,
    Cancelled,
}
text_enum!(TicketStatus {
    Draft = "draft",
    Scheduled = "scheduled",
    InProgress = "in_progress",
    Completed = "completed",
    Cancelled = "cancelled",
});

/// What can happen to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketEvent {
    /// `PATCH /api/data/tickets/{id}`.
    Edit,
    Schedule,
    Reschedule,
    Start,
    Cancel,
    CloseOut,
    ConfirmAttributes,
    RejectAttributes,
    /// A patch of only the technician notes of a completed ticket (extraction runs again).
    EditNotes,
}

impl Event for TicketEvent {
    fn past_participle(self) -> &'static str {
        match self {
            TicketEvent::Edit => "edited",
            TicketEvent::Schedule => "scheduled",
            TicketEvent::Reschedule => "rescheduled",
            TicketEvent::Start => "started",
            TicketEvent::Cancel => "cancelled",
            TicketEvent::CloseOut => "closed out",
            TicketEvent::ConfirmAttributes => "given confirmed attributes",
            TicketEvent::RejectAttributes => "given rejected attributes",
            TicketEvent::EditNotes => "given new notes",
        }
    }
}

impl StateMachine for TicketStatus {
    type Event = TicketEvent;
    const ENTITY: &'static str = "Ticket";
    /// draft → scheduled → in_progress → completed; anything open can be cancelled; closed
    /// tickets (completed, cancelled) are read-only except for confirming extracted attributes.
    const TRANSITIONS: &'static [(Self, TicketEvent, Self)] = {
        use TicketEvent as E;
        use TicketStatus as S;
        &[
            (S::Draft, E::Edit, S::Draft),
            (S::Scheduled, E::Edit, S::Scheduled),
            (S::InProgress, E::Edit, S::InProgress),
            (S::Draft, E::Schedule, S::Scheduled),
            (S::Scheduled, E::Reschedule, S::Scheduled),
            (S::Scheduled, E::Start, S::InProgress),
            (S::Draft, E::Cancel, S::Cancelled),
            (S::Scheduled, E::Cancel, S::Cancelled),
            (S::InProgress, E::Cancel, S::Cancelled),
            (S::Scheduled, E::CloseOut, S::Completed),
            (S::InProgress, E::CloseOut, S::Completed),
            (S::Completed, E::ConfirmAttributes, S::Completed),
            (S::Completed, E::RejectAttributes, S::Completed),
            (S::Completed, E::EditNotes, S::Completed),
        ]
    };
    fn describe(self) -> &'static str {
        match self {
            TicketStatus::Draft => "a draft",
            TicketStatus::Scheduled => "scheduled",
            TicketStatus::InProgress => "in progress",
            TicketStatus::Completed => "completed",
            TicketStatus::Cancelled => "cancelled",
        }
    }
}

const TITLE_MAX: usize = 200;
const TEXT_MAX: usize = 10_000;

/// Fields of every ticket response that no client sets directly: status changes only through
/// actions, extraction writes `extracted_attributes`.
const READ_ONLY: &[&str] = &[
    "id",
    "user_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "status",
    "closed_at",
    "extracted_attributes",
    "extraction",
    "cancel_reason",
];

/// Body of `POST /api/data/tickets`. With `scheduled_at` the ticket starts `scheduled`,
/// otherwise `draft`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketCreate {
    pub customer_id: Uuid,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub scheduled_at: Option<DateTime<Utc>>,
    /// 1 to 10080; default 60.
    #[serde(default)]
    #[schema(value_type = Option<i32>)]
    pub duration_minutes: Option<values::Minutes>,
    #[serde(default)]
    pub technician_notes: Option<String>,
}
impl JsonInput for TicketCreate {
    const READ_ONLY_FIELDS: &'static [&'static str] = READ_ONLY;
}

/// Body of `PATCH /api/data/tickets/{id}`: only the fields sent change. The customer and the
/// schedule are changed by actions, never by a patch. Closed tickets cannot be patched.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub title: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<i32>)]
    pub duration_minutes: Patch<values::Minutes>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub technician_notes: Patch<String>,
}

const PATCH_READ_ONLY: &[&str] = &[
    "id",
    "user_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "status",
    "closed_at",
    "extracted_attributes",
    "extraction",
    "cancel_reason",
    "customer_id",
    "scheduled_at",
];
impl JsonInput for TicketPatch {
    const READ_ONLY_FIELDS: &'static [&'static str] = PATCH_READ_ONLY;
}

impl TicketPatch {
    /// Whether the patch changes nothing but the technician notes (the one edit a completed
    /// ticket allows).
    pub fn only_notes(&self) -> bool {
        matches!(self.title, Patch::Absent)
            && matches!(self.description, Patch::Absent)
            && matches!(self.duration_minutes, Patch::Absent)
    }
}

/// A checked new ticket.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub customer_id: Uuid,
    pub status: TicketStatus,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub fields: TicketValues,
}

/// The columns a patch may write, checked.
#[derive(Debug, Clone)]
pub struct TicketValues {
    pub title: String,
    pub description: Option<String>,
    pub duration_minutes: i32,
    pub technician_notes: Option<String>,
}

fn title(v: String) -> Result<String, FieldError> {
    fields::text(v, 1, TITLE_MAX, false)
}
fn long_text(v: String) -> Result<Option<String>, FieldError> {
    fields::optional_text(v, TEXT_MAX, true)
}

impl TicketCreate {
    /// Checks every field, reporting all problems at once.
    pub fn parse(self) -> Result<NewTicket> {
        let mut c = Checker::new();
        let title = c.check("title", title(self.title));
        let scheduled_at = c.check_opt("scheduled_at", self.scheduled_at, |v| {
            values::timestamp(v).map(Some)
        });
        let fields = TicketValues {
            title: title.unwrap_or_default(),
            description: c.check_opt("description", self.description, long_text),
            duration_minutes: c
                .check_opt("duration_minutes", self.duration_minutes, |v| {
                    values::duration_minutes(v.0).map(Some)
                })
                .unwrap_or(60),
            technician_notes: c.check_opt("technician_notes", self.technician_notes, long_text),
        };
        c.finish()?;
        let status = match scheduled_at {
            Some(_) => transition(TicketStatus::Draft, TicketEvent::Schedule)?,
            None => TicketStatus::Draft,
        };
        Ok(NewTicket {
            customer_id: self.customer_id,
            status,
            scheduled_at,
            fields,
        })
    }
}

impl TicketPatch {
    /// Applies the patch to `current`, checking every sent field.
    pub fn apply(self, current: &Ticket) -> Result<TicketValues> {
        let mut c = Checker::new();
        let current = current.clone();
        let values = TicketValues {
            title: c.patch_required("title", self.title, current.title, title),
            description: c.patch_nullable(
                "description",
                self.description,
                current.description,
                long_text,
            ),
            duration_minutes: c.patch_required(
                "duration_minutes",
                self.duration_minutes,
                current.duration_minutes,
                |v| values::duration_minutes(v.0),
            ),
            technician_notes: c.patch_nullable(
                "technician_notes",
                self.technician_notes,
                current.technician_notes,
                long_text,
            ),
        };
        c.finish()?;
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::next;

    #[test]
    fn status_text_matches_serde() {
        for s in TicketStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(TicketStatus::parse(s.as_str()), Some(*s));
        }
    }

    #[test]
    fn closed_tickets_stay_closed() {
        for event in [
            TicketEvent::Schedule,
            TicketEvent::Cancel,
            TicketEvent::Edit,
        ] {
            assert_eq!(next(TicketStatus::Cancelled, event), None);
            assert_eq!(next(TicketStatus::Completed, event), None);
        }
        let err = transition(TicketStatus::Cancelled, TicketEvent::CloseOut).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Ticket is cancelled and cannot be closed out"
        );
    }
}
