//! Send-time revalidation: what may have lapsed since a message was scheduled — its customer,
//! its visit, its invoice, a later booking, its lateness — decides whether it is still sent,
//! and if not, the machine-readable reason it is skipped (docs/API.md lists them).

use chrono::{DateTime, Utc};

use super::data::MessageData;
use super::settings::MessageSettings;
use super::{MessageType, SkipReason};

/// Why `data`'s message must not be sent now, if anything lapsed. `due` is its due time
/// after quiet hours; lateness beyond the type's catch-up limit is `too_late`.
pub fn skip_reason(
    data: &MessageData,
    settings: &MessageSettings,
    now: DateTime<Utc>,
    due: DateTime<Utc>,
) -> Option<SkipReason> {
    use SkipReason as R;
    let m = &data.message;
    if data.customer_deleted_at.is_some() {
        return Some(R::CustomerDeleted);
    }
    if data.customer_archived_at.is_some() {
        return Some(R::CustomerArchived);
    }
    if data.customer_email_opt_out {
        return Some(R::OptedOut);
    }
    if data.customer_email.as_deref().is_none_or(str::is_empty) {
        return Some(R::NoEmail);
    }
    if data.customer_email_bounced_at.is_some() {
        return Some(R::Bounced);
    }
    let ticket_booked = data.ticket_deleted_at.is_none()
        && matches!(
            data.ticket_status.as_deref(),
            Some("scheduled" | "in_progress")
        );
    let invoice_status = if data.invoice_deleted_at.is_some() {
        None
    } else {
        data.invoice_status.as_deref()
    };
    let type_reason = match m.message_type {
        MessageType::AppointmentConfirmation | MessageType::AppointmentReminder => {
            if !ticket_booked {
                Some(R::TicketNotScheduled)
            } else if data.ticket_scheduled_at != m.appointment_at {
                Some(R::AppointmentMoved)
            } else if data.ticket_scheduled_at.is_some_and(|at| at <= now) {
                Some(R::TooLate)
            } else {
                None
            }
        }
        // Telling a customer a visit is off makes no sense once its time has passed.
        MessageType::AppointmentCancellation => m
            .appointment_at
            .is_none_or(|at| at <= now)
            .then_some(R::TooLate),
        MessageType::PaymentReminder => {
            (invoice_status != Some("sent")).then_some(R::InvoiceNotSent)
        }
        // The invoice itself still goes out once paid (a receipt), not once void.
        MessageType::Invoice => {
            (!matches!(invoice_status, Some("sent" | "paid"))).then_some(R::InvoiceNotSent)
        }
        MessageType::ServiceReminder => data.booked_later.then_some(R::AlreadyBooked),
        MessageType::Custom => None,
    };
    if type_reason.is_some() {
        return type_reason;
    }
    match settings.catch_up.limit(m.message_type) {
        Some(limit) if now - due > limit => Some(R::TooLate),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::messages::render_tests::{fixture, settings};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// The fixture's visit is on 1 July 2026 at 14:00 UTC; its messages are due the day before.
    fn reason(data: &MessageData, now: &str) -> Option<SkipReason> {
        let due = data.message.scheduled_for;
        skip_reason(data, &settings(), at(now), due)
    }

    #[test]
    fn customer_problems_come_first_in_a_fixed_order() {
        let mut d = fixture(MessageType::AppointmentReminder);
        assert_eq!(reason(&d, "2026-06-30T14:00:00Z"), None);
        d.customer_email_bounced_at = Some(at("2026-06-01T00:00:00Z"));
        assert_eq!(
            reason(&d, "2026-06-30T14:00:00Z"),
            Some(SkipReason::Bounced)
        );
        d.customer_email = None;
        assert_eq!(
            reason(&d, "2026-06-30T14:00:00Z"),
            Some(SkipReason::NoEmail)
        );
        d.customer_email_opt_out = true;
        assert_eq!(
            reason(&d, "2026-06-30T14:00:00Z"),
            Some(SkipReason::OptedOut)
        );
        d.customer_archived_at = Some(at("2026-06-01T00:00:00Z"));
        assert_eq!(
            reason(&d, "2026-06-30T14:00:00Z"),
            Some(SkipReason::CustomerArchived)
        );
        d.customer_deleted_at = Some(at("2026-06-01T00:00:00Z"));
        assert_eq!(
            reason(&d, "2026-06-30T14:00:00Z"),
            Some(SkipReason::CustomerDeleted)
        );
    }

    #[test]
    fn appointment_messages_follow_their_visit() {
        let mut d = fixture(MessageType::AppointmentConfirmation);
        assert_eq!(reason(&d, "2026-07-01T13:59:00Z"), None, "still ahead");
        assert_eq!(
            reason(&d, "2026-07-01T14:00:00Z"),
            Some(SkipReason::TooLate)
        );
        d.ticket_scheduled_at = Some(at("2026-07-02T14:00:00Z"));
        assert_eq!(
            reason(&d, "2026-06-30T14:00:00Z"),
            Some(SkipReason::AppointmentMoved)
        );
        d.ticket_status = Some("cancelled".into());
        assert_eq!(
            reason(&d, "2026-06-30T14:00:00Z"),
            Some(SkipReason::TicketNotScheduled)
        );
        let mut c = fixture(MessageType::AppointmentCancellation);
        c.ticket_status = Some("cancelled".into());
        assert_eq!(reason(&c, "2026-06-30T14:00:00Z"), None);
        assert_eq!(
            reason(&c, "2026-07-01T15:00:00Z"),
            Some(SkipReason::TooLate)
        );
    }

    #[test]
    fn invoices_service_reminders_and_catch_up_limits() {
        let mut p = fixture(MessageType::PaymentReminder);
        assert_eq!(
            reason(&p, "2026-07-20T00:00:00Z"),
            None,
            "no catch-up limit"
        );
        p.invoice_status = Some("paid".into());
        assert_eq!(
            reason(&p, "2026-06-30T14:00:00Z"),
            Some(SkipReason::InvoiceNotSent)
        );
        let mut i = fixture(MessageType::Invoice);
        i.invoice_status = Some("paid".into());
        assert_eq!(
            reason(&i, "2026-06-30T14:00:00Z"),
            None,
            "a receipt still goes"
        );
        i.invoice_status = Some("void".into());
        assert_eq!(
            reason(&i, "2026-06-30T14:00:00Z"),
            Some(SkipReason::InvoiceNotSent)
        );
        let mut s = fixture(MessageType::ServiceReminder);
        s.booked_later = true;
        assert_eq!(
            reason(&s, "2026-06-30T14:00:00Z"),
            Some(SkipReason::AlreadyBooked)
        );
        let c = fixture(MessageType::Custom);
        let due = c.message.scheduled_for;
        let late = |h: i64| skip_reason(&c, &settings(), due + Duration::hours(h), due);
        assert_eq!(late(24), None);
        assert_eq!(late(25), Some(SkipReason::TooLate));
    }
}
