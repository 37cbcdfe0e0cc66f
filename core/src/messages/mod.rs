//! Scheduled messages: what will be sent to a customer and when (appointment confirmations
//! and reminders, payment and service reminders, custom messages). The entity, its status state
//! machine (including the transitions the sender will make), and its create/patch inputs.
//! Queries live in `service`, the actions (`message.schedule_custom`, ...) in `actions`.

mod actions;
mod service;
mod service_reminder;

pub use actions::{MessageRef, ScheduleCustomMessage, cancel, schedule_custom, send_now};
pub use service::{MessageFilter, create, delete, get, list, update};
pub use service_reminder::schedule_service_reminder;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::fields::{JsonInput, Patch};
use crate::state::{Event, StateMachine};
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
    pub attempts: i32,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

macro_rules! columns {
    () => {
        "id, user_id, customer_id, ticket_id, invoice_id, message_type, channel, scheduled_for, status, subject, body, attempts, last_error, sent_at, created_at, updated_at"
    };
}
pub(crate) use columns;

/// The five kinds of message (a CHECK constraint guards the column too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    ServiceReminder,
    AppointmentConfirmation,
    AppointmentReminder,
    PaymentReminder,
    Custom,
}
text_enum!(MessageType {
    ServiceReminder = "service_reminder",
    AppointmentConfirmation = "appointment_confirmation",
    AppointmentReminder = "appointment_reminder",
    PaymentReminder = "payment_reminder",
    Custom = "custom",
});

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

/// What can happen to a message: client requests, and the sender's steps (used once sending
/// exists).
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
            (S::Pending, E::Skip, S::Skipped),
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
];

/// Body of `POST /api/data/scheduled_messages`. Appointment messages need a `ticket_id`, payment
/// reminders an `invoice_id` (of the same customer); only `custom` messages have (and need) a
/// `subject` and `body`.
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
    use crate::state::transition;

    #[test]
    fn enum_text_matches_serde() {
        for s in MessageStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for t in MessageType::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert_eq!(serde_json::to_value(Channel::Email).unwrap(), "email");
    }

    #[test]
    fn a_sent_message_cannot_be_cancelled() {
        let err = transition(MessageStatus::Sent, MessageEvent::Cancel).unwrap_err();
        assert_eq!(err.to_string(), "Message is sent and cannot be cancelled");
    }
}
