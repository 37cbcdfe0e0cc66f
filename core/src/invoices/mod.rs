//! Invoices with their items: the entity, its status state machine (the one place that lists
//! every legal status change and which states allow edits), and its create/patch inputs.
//! Items live in `items`, queries and numbering in `service`, actions in `actions`.

mod actions;
mod items;
mod service;

pub use actions::{InvoiceRef, MarkInvoicePaid, VoidInvoice, mark_paid, send, void};
pub use items::{ITEMS_OF_SQL, InvoiceItem, InvoiceItemInput};
pub use service::{InvoiceFilter, create, delete, get, list, update};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::fields::{JsonInput, Patch};
use crate::lifecycle::{Event, StateMachine};
use crate::values::text_enum;

/// An invoice as clients see it, with its items. Money is a decimal string; `total` is the
/// exact sum of the items' amounts.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Invoice {
    pub id: Uuid,
    pub user_id: Uuid,
    pub customer_id: Uuid,
    pub ticket_id: Option<Uuid>,
    /// `INV-000042`: assigned at creation, consecutive per tenant without gaps.
    pub number: String,
    #[sqlx(try_from = "String")]
    pub status: InvoiceStatus,
    /// ISO 4217 code.
    pub currency: String,
    #[schema(value_type = String, example = "59.98")]
    pub total: Decimal,
    pub notes: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
    pub void_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// In `position` order.
    #[sqlx(skip)]
    pub items: Vec<InvoiceItem>,
}

macro_rules! columns {
    () => {
        "id, user_id, customer_id, ticket_id, number, status, currency, total, notes, due_at, sent_at, paid_at, voided_at, void_reason, created_at, updated_at"
    };
}

crate::entity::entity!(Invoice, table: "invoices", audit: "invoice", not_found: "invoice not found",
    columns: columns!());
crate::entity::customer_record!(Invoice, table: "invoices", status: InvoiceStatus,
    expected: "must be an invoice status such as sent", columns: columns!());

impl Invoice {
    /// What the message flows need of this invoice.
    pub fn bill(&self) -> crate::messages::flows::Bill {
        crate::messages::flows::Bill {
            id: self.id,
            customer_id: self.customer_id,
            due_at: self.due_at,
        }
    }
}

/// Where an invoice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Draft,
    Sent,
    Paid,
    Void,
}
text_enum!(InvoiceStatus {
    Draft = "draft",
    Sent = "sent",
    Paid = "paid",
    Void = "void",
});

/// What can happen to an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceEvent {
    /// A patch of `items` or `currency`.
    EditItems,
    /// A patch of anything (`notes`, `due_at`, or the above).
    Edit,
    Delete,
    Send,
    MarkPaid,
    Void,
}

impl Event for InvoiceEvent {
    fn past_participle(self) -> &'static str {
        match self {
            InvoiceEvent::EditItems => "given other items or another currency",
            InvoiceEvent::Edit => "edited",
            InvoiceEvent::Delete => "deleted (void it instead)",
            InvoiceEvent::Send => "sent",
            InvoiceEvent::MarkPaid => "marked paid",
            InvoiceEvent::Void => "voided",
        }
    }
}

impl StateMachine for InvoiceStatus {
    type Event = InvoiceEvent;
    const ENTITY: &'static str = "Invoice";
    /// draft → sent → paid, draft or sent → void. Items and currency change only in draft;
    /// notes and due date in draft or sent; paid and void invoices are final.
    const TRANSITIONS: &'static [(Self, InvoiceEvent, Self)] = {
        use InvoiceEvent as E;
        use InvoiceStatus as S;
        &[
            (S::Draft, E::EditItems, S::Draft),
            (S::Draft, E::Edit, S::Draft),
            (S::Sent, E::Edit, S::Sent),
            (S::Draft, E::Delete, S::Draft),
            (S::Draft, E::Send, S::Sent),
            (S::Sent, E::MarkPaid, S::Paid),
            (S::Draft, E::Void, S::Void),
            (S::Sent, E::Void, S::Void),
        ]
    };
    fn describe(self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "a draft",
            InvoiceStatus::Sent => "sent",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Void => "void",
        }
    }
}

/// Fields of every invoice response that no client sets: the number is assigned, the total
/// computed, the status and its timestamps changed by actions.
const READ_ONLY: &[&str] = &[
    "id",
    "user_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "number",
    "status",
    "total",
    "sent_at",
    "paid_at",
    "voided_at",
    "void_reason",
];

/// Body of `POST /api/data/invoices`: the invoice and its items, written in one transaction.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceCreate {
    pub customer_id: Uuid,
    /// A ticket of the same customer.
    #[serde(default)]
    pub ticket_id: Option<Uuid>,
    /// ISO 4217; default `USD`.
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub due_at: Option<DateTime<Utc>>,
    /// Up to 200 items.
    #[serde(default)]
    pub items: Vec<InvoiceItemInput>,
}
impl JsonInput for InvoiceCreate {
    const READ_ONLY_FIELDS: &'static [&'static str] = READ_ONLY;
}

/// Body of `PATCH /api/data/invoices/{id}`: only the fields sent change. `items` replaces all
/// items (draft only); `currency` is draft only; `notes` and `due_at` also while sent.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoicePatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub currency: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub due_at: Patch<DateTime<Utc>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<InvoiceItemInput>>)]
    pub items: Patch<Vec<InvoiceItemInput>>,
}

const PATCH_READ_ONLY: &[&str] = &[
    "id",
    "user_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "number",
    "status",
    "total",
    "sent_at",
    "paid_at",
    "voided_at",
    "void_reason",
    "customer_id",
    "ticket_id",
];
impl JsonInput for InvoicePatch {
    const READ_ONLY_FIELDS: &'static [&'static str] = PATCH_READ_ONLY;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::transition;

    #[test]
    fn status_text_matches_serde() {
        for s in InvoiceStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

    #[test]
    fn paid_and_void_invoices_are_final() {
        let err = transition(InvoiceStatus::Void, InvoiceEvent::MarkPaid).unwrap_err();
        assert_eq!(err.to_string(), "Invoice is void and cannot be marked paid");
        assert!(transition(InvoiceStatus::Paid, InvoiceEvent::Void).is_err());
        assert!(transition(InvoiceStatus::Sent, InvoiceEvent::EditItems).is_err());
        assert!(transition(InvoiceStatus::Sent, InvoiceEvent::Edit).is_ok());
    }
}
