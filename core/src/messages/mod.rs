//! Scheduled messages: what will be sent to a customer and when (appointment confirmations,
//! reminders and cancellations, invoices, payment and service reminders, custom messages). The
//! entity, its status state machine (including the sender's transitions), its skip reasons and
//! its create/patch inputs. Queries live in `service`, the actions (`message.schedule_custom`,
//! ...) in `actions`, the flows that create messages from tickets, invoices and customers in
//! `flows`, the send job in `job`, sending itself in `send`, rendering in `render`, the public
//! unsubscribe links in `unsubscribe`.

mod actions;
pub mod data;
pub mod flows;
mod job;
mod references;
pub mod render;
#[cfg(test)]
mod render_tests;
mod revalidate;
pub mod send;
mod service;
pub mod settings;
mod templates;
pub mod time;
pub mod unsubscribe;

pub use actions::{MessageRef, ScheduleCustomMessage, cancel, schedule_custom, send_now};
pub use flows::schedule_service_reminder;
pub use job::{SendMessage, send_job_key};
pub use render::{Preview, RenderedEmail, preview};
pub use service::{MessageFilter, create, delete, get, list, update};
pub use settings::MessageSettings;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::fields::{JsonInput, Patch};
use crate::lifecycle::{Event, StateMachine};
use crate::values::text_enum;

/// A scheduled message as clients see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct ScheduledMessage {
    pub id: Uuid,
    pub user_id: Uuid,
    pub customer_id: Uuid,
    pub ticket_id: Option<Uuid>,
    pub invoice_id: Option<Uuid>,
    #[sqlx(try_from = "String")]
    pub message_type: MessageType,
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    pub scheduled_for: DateTime<Utc>,
    #[sqlx(try_from = "String")]
    pub status: MessageStatus,
    /// Custom messages only (the other types are rendered from templates).
    pub subject: Option<String>,
    pub body: Option<String>,
    /// Sending attempts so far (each claim by the sender counts one).
    pub attempts: i32,
    /// The last failed attempt's error (an SMTP reply such as `550 5.1.1 ...`).
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    /// Why the sender did not send it (status `skipped` only).
    #[sqlx(try_from = "Option<String>")]
    #[schema(value_type = Option<SkipReason>)]
    pub skip_reason: OptionalSkipReason,
    /// Appointment messages: the ticket's `scheduled_at` the message was made for; if the
    /// ticket moves, the message is skipped (`appointment_moved`) instead of sent.
    pub appointment_at: Option<DateTime<Utc>>,
    /// A confirmation of a rescheduled visit: the time it moved from.
    pub previous_appointment_at: Option<DateTime<Utc>>,
    /// Set by `message.send_now`: goes out at once, even in quiet hours.
    pub ignore_quiet_hours: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

macro_rules! columns {
    () => {
        "id, user_id, customer_id, ticket_id, invoice_id, message_type, channel, scheduled_for, status, subject, body, attempts, last_error, sent_at, skip_reason, appointment_at, previous_appointment_at, ignore_quiet_hours, created_at, updated_at"
    };
}
pub(crate) use columns;

crate::entity::entity!(ScheduledMessage, table: "scheduled_messages", audit: "scheduled_message", not_found: "message not found",
    columns: columns!());
crate::entity::customer_record!(ScheduledMessage, table: "scheduled_messages", status: MessageStatus,
    expected: "must be a message status such as pending", columns: columns!());

/// The kinds of message (a CHECK constraint guards the column too). Each has its templates in
/// `templates/email/<type>/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    ServiceReminder,
    AppointmentConfirmation,
    AppointmentReminder,
    PaymentReminder,
    Custom,
    /// The invoice itself, emailed by `invoice.send`.
    Invoice,
    /// "Your visit is cancelled", sent by `ticket.cancel` of a scheduled visit.
    AppointmentCancellation,
}
text_enum!(MessageType {
    ServiceReminder = "service_reminder",
    AppointmentConfirmation = "appointment_confirmation",
    AppointmentReminder = "appointment_reminder",
    PaymentReminder = "payment_reminder",
    Custom = "custom",
    Invoice = "invoice",
    AppointmentCancellation = "appointment_cancellation",
});

impl MessageType {
    /// Messages that answer something the office just did — booking a visit, cancelling it,
    /// sending an invoice — and go out at once whatever the hour, like `message.send_now`: the
    /// customer is often on the phone waiting for them, and an email wakes no one. Quiet hours
    /// hold everything else (reminders, custom messages).
    pub fn answers_an_office_action(self) -> bool {
        matches!(
            self,
            MessageType::AppointmentConfirmation
                | MessageType::AppointmentCancellation
                | MessageType::Invoice
        )
    }

    /// Messages about a visit: they need a `ticket_id` and record its `scheduled_at`.
    pub fn is_appointment(self) -> bool {
        matches!(
            self,
            MessageType::AppointmentConfirmation
                | MessageType::AppointmentReminder
                | MessageType::AppointmentCancellation
        )
    }

    /// Messages about an invoice: they need an `invoice_id`.
    pub fn is_about_invoice(self) -> bool {
        matches!(self, MessageType::PaymentReminder | MessageType::Invoice)
    }
}

/// Why the sender skipped a message instead of sending it (machine-readable; a CHECK
/// constraint lists the same values). docs/API.md explains each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    CustomerDeleted,
    CustomerArchived,
    OptedOut,
    NoEmail,
    Bounced,
    TicketNotScheduled,
    AppointmentMoved,
    TooLate,
    InvoiceNotSent,
    AlreadyBooked,
}
text_enum!(SkipReason {
    CustomerDeleted = "customer_deleted",
    CustomerArchived = "customer_archived",
    OptedOut = "opted_out",
    NoEmail = "no_email",
    Bounced = "bounced",
    TicketNotScheduled = "ticket_not_scheduled",
    AppointmentMoved = "appointment_moved",
    TooLate = "too_late",
    InvoiceNotSent = "invoice_not_sent",
    AlreadyBooked = "already_booked",
});

/// A nullable `skip_reason` column, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct OptionalSkipReason(pub Option<SkipReason>);

impl TryFrom<Option<String>> for OptionalSkipReason {
    type Error = crate::values::UnknownVariant;
    fn try_from(text: Option<String>) -> Result<Self, Self::Error> {
        text.map(SkipReason::try_from)
            .transpose()
            .map(OptionalSkipReason)
    }
}

/// How a message reaches the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
}
text_enum!(Channel { Email = "email" });

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Pending,
    Sending,
    Sent,
    Failed,
    Cancelled,
    Skipped,
}
text_enum!(MessageStatus {
    Pending = "pending",
    Sending = "sending",
    Sent = "sent",
    Failed = "failed",
    Cancelled = "cancelled",
    Skipped = "skipped",
});

/// What can happen to a message: client requests, and the sender's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageEvent {
    /// `PATCH /api/data/scheduled_messages/{id}`.
    Edit,
    Delete,
    Cancel,
    SendNow,
    /// The sender picks the message up.
    Claim,
    Deliver,
    Fail,
    /// A failed attempt that will be tried again.
    Retry,
    /// Nothing to send (customer opted out, no address, ...).
    Skip,
}

impl Event for MessageEvent {
    fn past_participle(self) -> &'static str {
        match self {
            MessageEvent::Edit => "edited",
            MessageEvent::Delete => "deleted",
            MessageEvent::Cancel => "cancelled",
            MessageEvent::SendNow => "sent now",
            MessageEvent::Claim => "claimed for sending",
            MessageEvent::Deliver => "marked sent",
            MessageEvent::Fail => "marked failed",
            MessageEvent::Retry => "retried",
            MessageEvent::Skip => "skipped",
        }
    }
}

impl StateMachine for MessageStatus {
    type Event = MessageEvent;
    const ENTITY: &'static str = "Message";
    /// Only a pending message can be edited, deleted, cancelled or sent now; once the sender
    /// holds it (sending) or it is done (sent, failed, cancelled, skipped) it is history.
    const TRANSITIONS: &'static [(Self, MessageEvent, Self)] = {
        use MessageEvent as E;
        use MessageStatus as S;
        &[
            (S::Pending, E::Edit, S::Pending),
            (S::Pending, E::Delete, S::Pending),
            (S::Pending, E::Cancel, S::Cancelled),
            (S::Pending, E::SendNow, S::Pending),
            (S::Pending, E::Claim, S::Sending),
            // A sender died mid-send: the next one takes the message over (see "Never twice"
            // in docs/ARCHITECTURE.md for the duplicate this can cause).
            (S::Sending, E::Claim, S::Sending),
            (S::Pending, E::Skip, S::Skipped),
            // It cannot be rendered and the job ran out of attempts.
            (S::Pending, E::Fail, S::Failed),
            (S::Sending, E::Deliver, S::Sent),
            (S::Sending, E::Fail, S::Failed),
            (S::Sending, E::Retry, S::Pending),
            (S::Sending, E::Skip, S::Skipped),
        ]
    };
    fn describe(self) -> &'static str {
        self.as_str()
    }
}

const READ_ONLY: &[&str] = &[
    "id",
    "user_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "status",
    "attempts",
    "last_error",
    "sent_at",
    "skip_reason",
    "appointment_at",
    "previous_appointment_at",
    "ignore_quiet_hours",
];

/// Body of `POST /api/data/scheduled_messages`. Appointment messages need a `ticket_id`, invoices
/// and payment reminders an `invoice_id` (of the same customer); only `custom` messages have (and
/// need) a `subject` and `body`. A pending message gets its send job at `scheduled_for`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageCreate {
    pub customer_id: Uuid,
    pub message_type: MessageType,
    /// Default `email`.
    #[serde(default)]
    pub channel: Option<Channel>,
    pub scheduled_for: DateTime<Utc>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub ticket_id: Option<Uuid>,
    #[serde(default)]
    pub invoice_id: Option<Uuid>,
}
impl JsonInput for MessageCreate {
    const READ_ONLY_FIELDS: &'static [&'static str] = READ_ONLY;
}

/// Body of `PATCH /api/data/scheduled_messages/{id}`: pending messages only; `subject` and
/// `body` of custom messages only.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessagePatch {
    #[serde(default)]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub scheduled_for: Patch<DateTime<Utc>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub subject: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub body: Patch<String>,
}

const PATCH_READ_ONLY: &[&str] = &[
    "id",
    "user_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "status",
    "attempts",
    "last_error",
    "sent_at",
    "skip_reason",
    "appointment_at",
    "previous_appointment_at",
    "ignore_quiet_hours",
    "customer_id",
    "ticket_id",
    "invoice_id",
    "message_type",
    "channel",
];
impl JsonInput for MessagePatch {
    const READ_ONLY_FIELDS: &'static [&'static str] = PATCH_READ_ONLY;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::transition;

    #[test]
    fn enum_text_matches_serde() {
        for s in MessageStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for t in MessageType::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        for r in SkipReason::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        assert_eq!(serde_json::to_value(Channel::Email).unwrap(), "email");
    }

    #[test]
    fn a_sent_message_cannot_be_cancelled() {
        let err = transition(MessageStatus::Sent, MessageEvent::Cancel).unwrap_err();
        assert_eq!(err.to_string(), "Message is sent and cannot be cancelled");
    }
}
