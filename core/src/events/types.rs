//! Event type names: `{entity}.{action}` in the past tense, derived from an audit row's
//! entity type and action, and [`EVENT_TYPES`], every type the application emits today (the
//! list docs/API.md shows; a test keeps the two in step). Filters of subscriptions match
//! them exactly, by `entity.*`, or with `*`.

/// Every `(audit action, event action)` pair whose past tense is not simply `{action}d`.
const PAST: &[(&str, &str)] = &[
    ("create", "created"),
    ("update", "updated"),
    ("delete", "deleted"),
    ("archive", "archived"),
    ("restore", "restored"),
    ("unsubscribe", "unsubscribed"),
    ("email_bounced", "email_bounced"),
    ("schedule", "scheduled"),
    ("reschedule", "rescheduled"),
    ("start", "started"),
    ("cancel", "cancelled"),
    ("close_out", "closed_out"),
    ("confirm_attributes", "attributes_confirmed"),
    ("reject_attributes", "attributes_rejected"),
    ("extract_attributes", "attributes_extracted"),
    ("send", "sent"),
    ("mark_paid", "paid"),
    ("void", "voided"),
    ("schedule_custom", "custom_scheduled"),
    ("schedule_service_reminder", "service_reminder_scheduled"),
    ("send_now", "send_now_requested"),
    ("claim", "sending"),
    ("skip", "skipped"),
    ("retry", "send_retried"),
    ("fail", "failed"),
    ("rotate_secret", "secret_rotated"),
    ("disable", "disabled"),
];

/// The event type of an audit row: `customer` + `create` → `customer.created`. Actions
/// without a listed past tense keep their name (`{entity}.{action}`).
pub fn event_type(entity_type: &str, action: &str) -> String {
    let past = PAST
        .iter()
        .find(|(a, _)| *a == action)
        .map_or(action, |(_, p)| p);
    format!("{entity_type}.{past}")
}

/// Every event type emitted today, grouped by entity.
pub const EVENT_TYPES: &[&str] = &[
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "customer.archived",
    "customer.restored",
    "customer.unsubscribed",
    "customer.email_bounced",
    "customer.attributes_confirmed",
    "product.created",
    "product.updated",
    "product.deleted",
    "ticket.created",
    "ticket.updated",
    "ticket.deleted",
    "ticket.scheduled",
    "ticket.rescheduled",
    "ticket.started",
    "ticket.cancelled",
    "ticket.closed_out",
    "ticket.attributes_extracted",
    "ticket.attributes_confirmed",
    "ticket.attributes_rejected",
    "invoice.created",
    "invoice.updated",
    "invoice.deleted",
    "invoice.sent",
    "invoice.paid",
    "invoice.voided",
    "scheduled_message.created",
    "scheduled_message.updated",
    "scheduled_message.deleted",
    "scheduled_message.scheduled",
    "scheduled_message.rescheduled",
    "scheduled_message.custom_scheduled",
    "scheduled_message.service_reminder_scheduled",
    "scheduled_message.cancelled",
    "scheduled_message.send_now_requested",
    "scheduled_message.sending",
    "scheduled_message.sent",
    "scheduled_message.send_retried",
    "scheduled_message.skipped",
    "scheduled_message.failed",
    "user.updated",
    "webhook_subscription.created",
    "webhook_subscription.updated",
    "webhook_subscription.deleted",
    "webhook_subscription.secret_rotated",
    "webhook_subscription.disabled",
];

/// Whether a subscription's filter (`*`, `entity.*` or an exact type) takes `event_type`.
pub fn matches(filters: &[String], event_type: &str) -> bool {
    filters.iter().any(|f| {
        f == "*"
            || f == event_type
            || f.strip_suffix(".*").is_some_and(|entity| {
                event_type
                    .strip_prefix(entity)
                    .is_some_and(|rest| rest.starts_with('.'))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_actions_read_as_past_tense_event_types() {
        assert_eq!(event_type("customer", "create"), "customer.created");
        assert_eq!(event_type("invoice", "mark_paid"), "invoice.paid");
        assert_eq!(event_type("ticket", "close_out"), "ticket.closed_out");
        assert_eq!(event_type("thing", "frobnicate"), "thing.frobnicate");
    }

    #[test]
    fn filters_match_exactly_by_entity_or_everything() {
        let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(matches(&f(&["*"]), "ticket.scheduled"));
        assert!(matches(&f(&["ticket.*"]), "ticket.scheduled"));
        assert!(!matches(&f(&["ticket.*"]), "tickets.scheduled"));
        assert!(matches(&f(&["invoice.paid"]), "invoice.paid"));
        assert!(!matches(&f(&["invoice.paid"]), "invoice.sent"));
    }
}
