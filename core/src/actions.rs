//! `POST /api/actions`: the registry of every `domain.action` (`ACTIONS`, the one list), the
//! parsing of a request into a typed [`Action`], and its execution in one tenant transaction.
//! Unknown names are `UNKNOWN_ACTION`; payloads are checked like entity bodies (422).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, Schema};

use crate::customers::{self, ArchiveCustomer, Customer, RestoreCustomer};
use crate::error::{Error, Result};
use crate::fields::{JsonInput, from_json_value};
use crate::ids::Actor;
use crate::invoices::{self, Invoice, InvoiceRef, MarkInvoicePaid, VoidInvoice};
use crate::messages::{self, MessageRef, MessageSettings, ScheduleCustomMessage, ScheduledMessage};
use crate::tickets::{
    self, CancelTicket, CloseOutTicket, ConfirmAttributes, RejectAttributes, ScheduleTicket,
    StartTicket, Ticket,
};
use crate::webhooks::{
    self, RedeliverRequest, SubscriptionRef, WebhookQueued, WebhookSettings,
    WebhookSubscriptionWithSecret,
};

/// Body of `POST /api/actions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// `customer`, `ticket`, `invoice`, `message` or `webhook`.
    pub domain: String,
    /// The action within the domain, e.g. `archive`.
    pub action: String,
    /// The action's payload (see each action's schema).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Value,
}
impl JsonInput for ActionRequest {}

/// A parsed, checked action request.
#[derive(Debug)]
pub enum Action {
    CustomerArchive(ArchiveCustomer),
    CustomerRestore(RestoreCustomer),
    TicketSchedule(ScheduleTicket),
    TicketReschedule(ScheduleTicket),
    TicketStart(StartTicket),
    TicketCancel(CancelTicket),
    TicketCloseOut(CloseOutTicket),
    TicketConfirmAttributes(ConfirmAttributes),
    TicketRejectAttributes(RejectAttributes),
    InvoiceSend(InvoiceRef),
    InvoiceMarkPaid(MarkInvoicePaid),
    InvoiceVoid(VoidInvoice),
    MessageScheduleCustom(ScheduleCustomMessage),
    MessageCancel(MessageRef),
    MessageSendNow(MessageRef),
    WebhookRotateSecret(SubscriptionRef),
    WebhookRedeliver(RedeliverRequest),
    WebhookPing(SubscriptionRef),
}

/// What an action answers with: the entity it changed or created.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ActionOutcome {
    Customer(Customer),
    Ticket(Ticket),
    Invoice(Invoice),
    Message(ScheduledMessage),
    WebhookSecret(WebhookSubscriptionWithSecret),
    WebhookQueued(WebhookQueued),
}

/// One registered action: its name, documentation, and how its payload is parsed.
#[derive(Debug, Clone, Copy)]
pub struct ActionSpec {
    pub domain: &'static str,
    pub action: &'static str,
    pub summary: &'static str,
    /// Name of the schema of what it returns (`Customer`, `Ticket`, ...).
    pub returns: &'static str,
    /// Name and schema of the payload, for the OpenAPI document.
    pub payload: fn() -> (Cow<'static, str>, RefOr<Schema>),
    parse: fn(Value) -> Result<Action>,
}

impl ActionSpec {
    /// `domain.action`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.domain, self.action)
    }
}

fn schema_of<T: ToSchema>() -> (Cow<'static, str>, RefOr<Schema>) {
    (T::name(), T::schema())
}

fn payload<T: JsonInput>(data: Value) -> Result<T> {
    from_json_value(data).map_err(|e| match e {
        Error::Validation(mut fields) => {
            // The payload as a whole is `data` in the request.
            if let Some(problem) = fields.remove("body") {
                fields.insert("data".to_owned(), problem);
            }
            Error::Validation(fields)
        }
        other => other,
    })
}

/// Every action the API knows, in documentation order. Adding an action means adding a line
/// here, a variant to [`Action`] and an arm to [`execute`].
pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        domain: "customer",
        action: "archive",
        summary: "Archive an active customer (already archived: CUSTOMER_ARCHIVED).",
        returns: "Customer",
        payload: schema_of::<ArchiveCustomer>,
        parse: |v| Ok(Action::CustomerArchive(payload(v)?)),
    },
    ActionSpec {
        domain: "customer",
        action: "restore",
        summary: "Restore an archived customer.",
        returns: "Customer",
        payload: schema_of::<RestoreCustomer>,
        parse: |v| Ok(Action::CustomerRestore(payload(v)?)),
    },
    ActionSpec {
        domain: "ticket",
        action: "schedule",
        summary: "Book a draft ticket (→ scheduled); the customer must be active. Schedules the \
                  appointment confirmation (now) and reminder (REMINDER_LEAD_HOURS before).",
        returns: "Ticket",
        payload: schema_of::<ScheduleTicket>,
        parse: |v| Ok(Action::TicketSchedule(payload(v)?)),
    },
    ActionSpec {
        domain: "ticket",
        action: "reschedule",
        summary: "Move a scheduled ticket to another time; the customer must be active. The \
                  visit's pending messages are replaced by a new confirmation and reminder.",
        returns: "Ticket",
        payload: schema_of::<ScheduleTicket>,
        parse: |v| Ok(Action::TicketReschedule(payload(v)?)),
    },
    ActionSpec {
        domain: "ticket",
        action: "start",
        summary: "Work has begun on site (scheduled → in_progress).",
        returns: "Ticket",
        payload: schema_of::<StartTicket>,
        parse: |v| Ok(Action::TicketStart(payload(v)?)),
    },
    ActionSpec {
        domain: "ticket",
        action: "cancel",
        summary: "Cancel an open ticket (draft, scheduled, in_progress); its pending messages \
                  are cancelled and a booked visit still ahead gets a cancellation notice.",
        returns: "Ticket",
        payload: schema_of::<CancelTicket>,
        parse: |v| Ok(Action::TicketCancel(payload(v)?)),
    },
    ActionSpec {
        domain: "ticket",
        action: "close_out",
        summary: "Complete a scheduled or in-progress ticket with the technician's notes; \
                  schedules the customer's service reminder.",
        returns: "Ticket",
        payload: schema_of::<CloseOutTicket>,
        parse: |v| Ok(Action::TicketCloseOut(payload(v)?)),
    },
    ActionSpec {
        domain: "ticket",
        action: "confirm_attributes",
        summary: "Merge the extracted attributes of a completed ticket (its proposal, or the \
                  edited `attributes` sent) into its customer's attributes; a next_service_due \
                  moves the customer's service reminder.",
        returns: "Customer",
        payload: schema_of::<ConfirmAttributes>,
        parse: |v| Ok(Action::TicketConfirmAttributes(payload(v)?)),
    },
    ActionSpec {
        domain: "ticket",
        action: "reject_attributes",
        summary: "Discard the proposal of a completed ticket; the customer stays as it was.",
        returns: "Ticket",
        payload: schema_of::<RejectAttributes>,
        parse: |v| Ok(Action::TicketRejectAttributes(payload(v)?)),
    },
    ActionSpec {
        domain: "invoice",
        action: "send",
        summary: "Mark a draft invoice with items as sent; it is emailed to the customer now and \
                  a payment reminder is scheduled 3 days before it is due.",
        returns: "Invoice",
        payload: schema_of::<InvoiceRef>,
        parse: |v| Ok(Action::InvoiceSend(payload(v)?)),
    },
    ActionSpec {
        domain: "invoice",
        action: "mark_paid",
        summary: "Record the payment of a sent invoice.",
        returns: "Invoice",
        payload: schema_of::<MarkInvoicePaid>,
        parse: |v| Ok(Action::InvoiceMarkPaid(payload(v)?)),
    },
    ActionSpec {
        domain: "invoice",
        action: "void",
        summary: "Void a draft or sent invoice (its number stays taken).",
        returns: "Invoice",
        payload: schema_of::<VoidInvoice>,
        parse: |v| Ok(Action::InvoiceVoid(payload(v)?)),
    },
    ActionSpec {
        domain: "message",
        action: "schedule_custom",
        summary: "Schedule a custom email to an active customer.",
        returns: "ScheduledMessage",
        payload: schema_of::<ScheduleCustomMessage>,
        parse: |v| Ok(Action::MessageScheduleCustom(payload(v)?)),
    },
    ActionSpec {
        domain: "message",
        action: "cancel",
        summary: "Cancel a pending message.",
        returns: "ScheduledMessage",
        payload: schema_of::<MessageRef>,
        parse: |v| Ok(Action::MessageCancel(payload(v)?)),
    },
    ActionSpec {
        domain: "message",
        action: "send_now",
        summary: "Make a pending message due now, ignoring quiet hours (it is still re-checked \
                  before it goes out).",
        returns: "ScheduledMessage",
        payload: schema_of::<MessageRef>,
        parse: |v| Ok(Action::MessageSendNow(payload(v)?)),
    },
    ActionSpec {
        domain: "webhook",
        action: "rotate_secret",
        summary: "Give a subscription a new secret (returned this once); deliveries carry a \
                  signature with the previous one too for WEBHOOK_ROTATION_WINDOW (24 h).",
        returns: "WebhookSubscriptionWithSecret",
        payload: schema_of::<SubscriptionRef>,
        parse: |v| Ok(Action::WebhookRotateSecret(payload(v)?)),
    },
    ActionSpec {
        domain: "webhook",
        action: "redeliver",
        summary: "Send the event of a recorded delivery attempt once more (same webhook-id).",
        returns: "WebhookQueued",
        payload: schema_of::<RedeliverRequest>,
        parse: |v| Ok(Action::WebhookRedeliver(payload(v)?)),
    },
    ActionSpec {
        domain: "webhook",
        action: "ping",
        summary: "Send a webhook.ping test event to a subscription.",
        returns: "WebhookQueued",
        payload: schema_of::<SubscriptionRef>,
        parse: |v| Ok(Action::WebhookPing(payload(v)?)),
    },
];

/// Looks the action up in [`ACTIONS`] and checks its payload. Nothing touches the database.
pub fn parse(request: ActionRequest) -> Result<Action> {
    let spec = ACTIONS
        .iter()
        .find(|s| s.domain == request.domain && s.action == request.action)
        .ok_or_else(|| Error::UnknownAction(printable_name(&request.domain, &request.action)))?;
    (spec.parse)(request.data)
}

/// The requested name as it may be echoed back: only short snake_case names are repeated.
fn printable_name(domain: &str, action: &str) -> String {
    let ok = |s: &str| {
        !s.is_empty() && s.len() <= 40 && s.chars().all(|c| c.is_ascii_lowercase() || c == '_')
    };
    if ok(domain) && ok(action) {
        format!("{domain}.{action}")
    } else {
        "(unrecognised name)".to_owned()
    }
}

/// Runs a parsed action in the caller's tenant transaction. `settings` drive the messages the
/// action schedules, `webhook_settings` the secret rotation window.
pub async fn execute(
    conn: &mut PgConnection,
    actor: &Actor,
    settings: &MessageSettings,
    webhook_settings: &WebhookSettings,
    action: Action,
) -> Result<ActionOutcome> {
    use ActionOutcome as O;
    Ok(match action {
        Action::CustomerArchive(p) => O::Customer(customers::archive(conn, actor, p).await?),
        Action::CustomerRestore(p) => O::Customer(customers::restore(conn, actor, p).await?),
        Action::TicketSchedule(p) => O::Ticket(tickets::schedule(conn, actor, p, settings).await?),
        Action::TicketReschedule(p) => {
            O::Ticket(tickets::reschedule(conn, actor, p, settings).await?)
        }
        Action::TicketStart(p) => O::Ticket(tickets::start(conn, actor, p).await?),
        Action::TicketCancel(p) => O::Ticket(tickets::cancel(conn, actor, p).await?),
        Action::TicketCloseOut(p) => O::Ticket(tickets::close_out(conn, actor, p, settings).await?),
        Action::TicketConfirmAttributes(p) => {
            O::Customer(tickets::confirm_attributes(conn, actor, p).await?)
        }
        Action::TicketRejectAttributes(p) => {
            O::Ticket(tickets::reject_attributes(conn, actor, p).await?)
        }
        Action::InvoiceSend(p) => O::Invoice(invoices::send(conn, actor, p).await?),
        Action::InvoiceMarkPaid(p) => O::Invoice(invoices::mark_paid(conn, actor, p).await?),
        Action::InvoiceVoid(p) => O::Invoice(invoices::void(conn, actor, p).await?),
        Action::MessageScheduleCustom(p) => {
            O::Message(messages::schedule_custom(conn, actor, p).await?)
        }
        Action::MessageCancel(p) => O::Message(messages::cancel(conn, actor, p).await?),
        Action::MessageSendNow(p) => O::Message(messages::send_now(conn, actor, p).await?),
        Action::WebhookRotateSecret(p) => {
            O::WebhookSecret(webhooks::rotate_secret(conn, actor, webhook_settings, p).await?)
        }
        Action::WebhookRedeliver(p) => O::WebhookQueued(webhooks::redeliver(conn, p).await?),
        Action::WebhookPing(p) => O::WebhookQueued(webhooks::ping(conn, p).await?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(domain: &str, action: &str, data: Value) -> ActionRequest {
        ActionRequest {
            domain: domain.into(),
            action: action.into(),
            data,
        }
    }

    #[test]
    fn every_registered_action_parses_its_payload_and_rejects_garbage() {
        for spec in ACTIONS {
            let e = parse(request(spec.domain, spec.action, json!({"nope": 1}))).unwrap_err();
            assert!(matches!(e, Error::Validation(_)), "{}: {e:?}", spec.name());
        }
        let names: std::collections::HashSet<String> =
            ACTIONS.iter().map(ActionSpec::name).collect();
        assert_eq!(names.len(), ACTIONS.len(), "no action is registered twice");
    }

    #[test]
    fn unknown_names_are_unknown_actions_and_echoed_only_when_harmless() {
        let e = parse(request("customer", "explode", json!({}))).unwrap_err();
        assert_eq!(e.to_string(), "unknown action customer.explode");
        let e = parse(request("<script>", "x", json!({}))).unwrap_err();
        assert_eq!(e.to_string(), "unknown action (unrecognised name)");
    }
}
