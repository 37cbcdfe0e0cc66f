//! The office's decision on what extraction proposed: `ticket.confirm_attributes` merges the
//! proposal (or the office's edited version, checked against the attribute schema) into the
//! customer's attributes, audited on the customer, and a confirmed `next_service_due` moves the
//! customer's service reminder to that date; `ticket.reject_attributes` discards the proposal
//! and leaves the customer as it was. Both record the decision on the ticket's `extraction`.

use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use sqlx::PgConnection;
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Ticket, TicketEvent, columns};
use crate::audit::{self, AuditAction, compute_changes, snapshot};
use crate::customers::{self, Customer};
use crate::entity::{self, Lock};
use crate::error::{Error, Result};
use crate::extraction::schema::{parse_date, parse_duration};
use crate::extraction::{
    Extraction, ExtractionEvent, add_span, attributes_schema_ref, schema, values_of,
};
use crate::fields::{self, Checker, JsonInput};
use crate::ids::Actor;
use crate::lifecycle::transition;
use crate::messages;

/// Payload of `ticket.confirm_attributes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmAttributes {
    pub ticket_id: Uuid,
    /// The office's edited version of the proposal, in the same shape (`{category: {value,
    /// evidence}}`), checked against the attribute schema. Absent: the proposal as it is
    /// (the extraction must be `proposed`).
    #[serde(default)]
    #[schema(schema_with = attributes_schema_ref, required = false)]
    pub attributes: Option<Value>,
}
impl JsonInput for ConfirmAttributes {}

/// Payload of `ticket.reject_attributes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectAttributes {
    pub ticket_id: Uuid,
    /// Why the proposal is wrong (up to 500 characters), kept in `extraction.error`.
    #[serde(default)]
    pub reason: Option<String>,
}
impl JsonInput for RejectAttributes {}

/// Merges the confirmed attributes of a completed ticket into its customer (audited on the
/// customer), moves the customer's service reminder when they include `next_service_due`, and
/// marks the ticket's extraction `confirmed`. Returns the customer.
pub async fn confirm_attributes(
    conn: &mut PgConnection,
    actor: &Actor,
    input: ConfirmAttributes,
) -> Result<Customer> {
    let edited = match input.attributes {
        Some(v) => {
            schema()?.validate_field("attributes", &v)?;
            match v {
                Value::Object(m) => Some(m),
                _ => return Err(Error::field("attributes", "must be a JSON object")),
            }
        }
        None => None,
    };
    let current = entity::get::<Ticket>(conn, input.ticket_id, Lock::ForUpdate).await?;
    transition(current.status, TicketEvent::ConfirmAttributes)?;
    let event = if edited.is_some() {
        ExtractionEvent::ConfirmEdited
    } else {
        ExtractionEvent::Confirm
    };
    let decided = match &current.extraction {
        Some(e) => Some(transition(e.status, event)?),
        None if edited.is_some() => None,
        None => {
            return Err(Error::InvalidState(
                "Ticket has no extracted attributes to confirm".into(),
            ));
        }
    };
    let confirmed = match edited {
        Some(m) => m,
        None => match &current.extracted_attributes {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        },
    };
    let due_on = due_date(&confirmed, &current)?;
    let customer = customers::merge_attributes(
        conn,
        actor,
        current.customer_id,
        values_of(&confirmed),
        "confirm_attributes",
    )
    .await?;
    if let Some(due_on) = due_on {
        messages::schedule_service_reminder(conn, actor, customer.id, Some(current.id), due_on)
            .await?;
    }
    if let (Some(status), Some(extraction)) = (decided, current.extraction.clone()) {
        let decision = Extraction {
            status,
            decided_at: Some(Utc::now()),
            ..extraction
        };
        record(conn, actor, &current, decision, "confirm_attributes").await?;
    }
    Ok(customer)
}

/// Discards the proposal of a completed ticket; the customer is not touched.
pub async fn reject_attributes(
    conn: &mut PgConnection,
    actor: &Actor,
    input: RejectAttributes,
) -> Result<Ticket> {
    let mut c = Checker::new();
    let reason = c.check_opt("reason", input.reason, |v| {
        fields::optional_text(v, 500, true)
    });
    c.finish()?;
    let current = entity::get::<Ticket>(conn, input.ticket_id, Lock::ForUpdate).await?;
    transition(current.status, TicketEvent::RejectAttributes)?;
    let extraction = current.extraction.clone().ok_or_else(|| {
        Error::InvalidState("Ticket has no extracted attributes to reject".into())
    })?;
    let status = transition(extraction.status, ExtractionEvent::Reject)?;
    let decision = Extraction {
        status,
        decided_at: Some(Utc::now()),
        error: reason,
        ..extraction
    };
    record(conn, actor, &current, decision, "reject_attributes").await
}

/// Writes the office's decision on the ticket, audited under the action's name.
async fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    before: &Ticket,
    decision: Extraction,
    action: &'static str,
) -> Result<Ticket> {
    let after: Ticket = sqlx::query_as(concat!(
        "UPDATE tickets SET extraction = $2 WHERE id = $1 RETURNING ",
        columns!()
    ))
    .bind(before.id)
    .bind(Json(decision))
    .fetch_one(&mut *conn)
    .await?;
    let changes = compute_changes(&snapshot(before)?, &snapshot(&after)?);
    audit::log_change(
        conn,
        actor,
        "ticket",
        after.id,
        AuditAction::Action(action),
        changes,
    )
    .await?;
    Ok(after)
}

/// The date a confirmed `next_service_due` stands for: its `date`, else its `interval`
/// counted from the visit (the close-out). It must lie in the future: a reminder for a day
/// that has passed would go out at once.
fn due_date(attributes: &Map<String, Value>, ticket: &Ticket) -> Result<Option<NaiveDate>> {
    let Some(value) = attributes
        .get("next_service_due")
        .and_then(|e| e.get("value"))
    else {
        return Ok(None);
    };
    let field = "attributes.next_service_due";
    let visit = ticket.closed_at.unwrap_or_else(Utc::now).date_naive();
    let date = match value.get("date").and_then(Value::as_str) {
        Some(d) => parse_date(d),
        None => value
            .get("interval")
            .and_then(Value::as_str)
            .and_then(parse_duration)
            .and_then(|span| add_span(visit, span)),
    };
    let date = date.ok_or_else(|| Error::field(field, "needs a date or an interval"))?;
    if date <= Utc::now().date_naive() {
        return Err(Error::field(
            field,
            "is not in the future; confirm with an edited date",
        ));
    }
    Ok(Some(date))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extraction::ExtractionStatus;
    use crate::lifecycle::next;

    #[test]
    fn only_a_proposal_can_be_confirmed_as_it_is_or_rejected() {
        use ExtractionEvent as E;
        use ExtractionStatus as S;
        assert_eq!(next(S::Proposed, E::Confirm), Some(S::Confirmed));
        assert_eq!(next(S::Proposed, E::Reject), Some(S::Rejected));
        for s in [S::Pending, S::Failed, S::Rejected, S::Confirmed] {
            assert_eq!(next(s, E::Confirm), None, "{s:?}");
            assert_eq!(next(s, E::Reject), None, "{s:?}");
            assert_eq!(next(s, E::ConfirmEdited), Some(S::Confirmed), "{s:?}");
        }
        let e = transition(S::Pending, E::Confirm).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Extraction is still pending and cannot be confirmed"
        );
    }
}
