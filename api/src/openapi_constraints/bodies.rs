//! The constraints of request bodies' properties (component, property, schema keywords),
//! each mirroring the parser the server runs on that field.

use fieldwork_core::events::EVENT_TYPES;
use fieldwork_core::webhooks::{self, ssrf};
use serde_json::{Value, json};

use super::{
    WS_ALL, email, email_or_blank, money, phone, quantity, sku, text, time_zone, timestamp,
};

/// A subscription's `event_types`: 1 to `TYPES_MAX` of `*`, an event type, or `entity.*`.
fn event_type_filters() -> Value {
    let mut filters = vec!["*".to_owned()];
    for t in EVENT_TYPES {
        filters.push((*t).to_owned());
        if let Some((entity, _)) = t.split_once('.') {
            let wildcard = format!("{entity}.*");
            if !filters.contains(&wildcard) {
                filters.push(wildcard);
            }
        }
    }
    json!({"minItems": 1, "maxItems": webhooks::TYPES_MAX, "items": {"enum": filters}})
}

/// (component, property, constraints merged into the property's schema).
pub(super) fn body_constraints() -> Vec<(&'static str, &'static str, Value)> {
    let name = text(1, 100, false);
    let mut v = vec![
        ("RegisterInput", "email", email()),
        (
            "RegisterInput",
            "password",
            json!({"minLength": 8, "maxLength": 1024}),
        ),
        ("RegisterInput", "business_name", text(1, 200, false)),
        ("RegisterInput", "timezone", time_zone()),
        ("LoginInput", "password", json!({"maxLength": 1024})),
        ("UserPatch", "business_name", text(1, 200, false)),
        ("UserPatch", "timezone", time_zone()),
        ("ProductCreate", "name", name.clone()),
        ("ProductPatch", "name", name.clone()),
        ("TicketCreate", "title", text(1, 200, false)),
        ("TicketPatch", "title", text(1, 200, false)),
        (
            "InvoiceCreate",
            "currency",
            json!({"pattern": format!("^{WS_ALL}*[A-Za-z]{{3}}{WS_ALL}*$")}),
        ),
        (
            "InvoicePatch",
            "currency",
            json!({"pattern": format!("^{WS_ALL}*[A-Za-z]{{3}}{WS_ALL}*$")}),
        ),
        ("InvoiceItemInput", "quantity", quantity()),
        ("InvoiceItemInput", "unit_price", money(8)),
        ("InvoiceItemInput", "description", text(0, 1000, false)),
        ("ProductCreate", "price", money(8)),
        ("ProductPatch", "price", money(8)),
        ("MessageCreate", "subject", text(1, 200, false)),
        ("MessageCreate", "body", text(1, 10_000, true)),
        ("MessagePatch", "subject", text(1, 200, false)),
        ("MessagePatch", "body", text(1, 10_000, true)),
        ("ScheduleCustomMessage", "subject", text(1, 200, false)),
        ("ScheduleCustomMessage", "body", text(1, 10_000, true)),
        ("CloseOutTicket", "technician_notes", text(1, 10_000, true)),
        ("ProductCreate", "description", text(0, 5000, true)),
        ("ProductPatch", "description", text(0, 5000, true)),
        ("ProductCreate", "sku", sku()),
        ("ProductPatch", "sku", sku()),
        ("TicketCreate", "description", text(0, 10_000, true)),
        ("TicketPatch", "description", text(0, 10_000, true)),
        ("TicketCreate", "technician_notes", text(0, 10_000, true)),
        ("TicketPatch", "technician_notes", text(0, 10_000, true)),
        ("InvoiceCreate", "notes", text(0, 5000, true)),
        ("InvoicePatch", "notes", text(0, 5000, true)),
        ("ArchiveCustomer", "reason", text(0, 500, true)),
        ("CancelTicket", "reason", text(0, 500, true)),
        ("RejectAttributes", "reason", text(0, 500, true)),
        ("VoidInvoice", "reason", text(0, 500, true)),
    ];
    for schema in ["WebhookSubscriptionCreate", "WebhookSubscriptionPatch"] {
        v.push((schema, "url", text(1, ssrf::URL_MAX, false)));
        v.push((
            schema,
            "description",
            text(0, webhooks::DESCRIPTION_MAX, true),
        ));
        v.push((schema, "event_types", event_type_filters()));
    }
    for schema in ["CustomerCreate", "CustomerPatch"] {
        v.push((schema, "first_name", name.clone()));
        v.push((schema, "last_name", text(0, 100, false)));
        v.push((schema, "email", email_or_blank(true)));
        v.push((schema, "phone", phone()));
        v.push((schema, "address", text(0, 500, true)));
        v.push((schema, "notes", text(0, 5000, true)));
        v.push((schema, "timezone", time_zone()));
    }
    for (schema, field) in [
        ("TicketCreate", "scheduled_at"),
        ("ScheduleTicket", "scheduled_at"),
        ("InvoiceCreate", "due_at"),
        ("InvoicePatch", "due_at"),
        ("MarkInvoicePaid", "paid_at"),
        ("MessageCreate", "scheduled_for"),
        ("MessagePatch", "scheduled_for"),
        ("ScheduleCustomMessage", "scheduled_for"),
    ] {
        v.push((schema, field, timestamp()));
    }
    for schema in ["TicketCreate", "TicketPatch", "ScheduleTicket"] {
        v.push((
            schema,
            "duration_minutes",
            json!({"minimum": 1, "maximum": 10_080}),
        ));
    }
    v
}
