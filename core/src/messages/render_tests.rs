//! Every template of every message type renders with fixture data under strict undefined
//! variables (a misspelt variable fails here, not in a customer's inbox), shows times in the
//! reader's zone with the zone named, and escapes what the business typed.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::data::{ItemLine, MessageData};
use super::render::render;
use super::settings::{AppSecret, MessageSettings};
use super::{Channel, MessageStatus, MessageType, OptionalSkipReason, ScheduledMessage};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// A message of `message_type` with everything it refers to, all in order.
pub(super) fn fixture(message_type: MessageType) -> MessageData {
    let custom = message_type == MessageType::Custom;
    let appointment = message_type.is_appointment();
    MessageData {
        message: ScheduledMessage {
            id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            customer_id: Uuid::now_v7(),
            ticket_id: Some(Uuid::now_v7()),
            invoice_id: message_type.is_about_invoice().then(Uuid::now_v7),
            message_type,
            channel: Channel::Email,
            scheduled_for: at("2026-06-30T14:00:00Z"),
            status: MessageStatus::Pending,
            subject: custom.then(|| "Gutters <before> winter".to_owned()),
            body: custom
                .then(|| "Hello Ada,\nyour gutters & drains.\n\n<script>x</script>".to_owned()),
            attempts: 0,
            last_error: None,
            sent_at: None,
            skip_reason: OptionalSkipReason(None),
            appointment_at: appointment.then(|| at("2026-07-01T14:00:00Z")),
            previous_appointment_at: (message_type == MessageType::AppointmentConfirmation)
                .then(|| at("2026-06-29T08:30:00Z")),
            ignore_quiet_hours: false,
            created_at: at("2026-06-01T10:00:00Z"),
            updated_at: at("2026-06-01T10:00:00Z"),
        },
        business_name: "Pipes & Sons".into(),
        business_timezone: "Europe/London".into(),
        customer_first_name: "Ada".into(),
        customer_last_name: Some("Lovelace".into()),
        customer_email: Some("ada@example.com".into()),
        customer_timezone: Some("America/New_York".into()),
        customer_email_opt_out: false,
        customer_email_bounced_at: None,
        customer_archived_at: None,
        customer_deleted_at: None,
        ticket_title: Some("Boiler service".into()),
        ticket_status: Some("scheduled".into()),
        ticket_scheduled_at: Some(at("2026-07-01T14:00:00Z")),
        ticket_duration_minutes: Some(90),
        ticket_closed_at: Some(at("2026-01-10T16:00:00Z")),
        ticket_deleted_at: None,
        invoice_number: Some("INV-000042".into()),
        invoice_status: Some("sent".into()),
        invoice_total: Some(Decimal::new(12_950, 2)),
        invoice_currency: Some("USD".into()),
        invoice_due_at: Some(at("2026-07-15T00:00:00Z")),
        invoice_deleted_at: None,
        booked_later: false,
    }
}

pub(super) fn settings() -> MessageSettings {
    MessageSettings {
        public_base_url: "https://app.example.com".into(),
        app_secret: AppSecret::new("0123456789abcdef0123456789abcdef").unwrap(),
        ..MessageSettings::default()
    }
}

fn lines() -> Vec<ItemLine> {
    vec![
        ItemLine {
            description: "Boiler service <annual>".into(),
            quantity: Decimal::new(1, 0),
            unit_price: Decimal::new(9_950, 2),
            amount: Decimal::new(9_950, 2),
        },
        ItemLine {
            description: "Valve".into(),
            quantity: Decimal::new(15, 1),
            unit_price: Decimal::new(2_000, 2),
            amount: Decimal::new(3_000, 2),
        },
    ]
}

#[test]
fn every_type_renders_subject_text_and_html_with_fixture_data() {
    for t in MessageType::ALL {
        let data = fixture(*t);
        let email = render(&data, &lines(), &settings()).unwrap_or_else(|e| panic!("{t}: {e}"));
        assert!(
            !email.subject.is_empty() && !email.subject.contains('\n'),
            "{t}"
        );
        assert!(
            email.text.contains("https://app.example.com/u/"),
            "{t}: unsubscribe link\n{}",
            email.text
        );
        assert!(
            email.html.contains("https://app.example.com/u/"),
            "{t}: unsubscribe link"
        );
        assert!(
            email.html.contains("Pipes &amp; Sons"),
            "{t}: business name, escaped"
        );
        assert!(
            email.text.contains("Pipes & Sons"),
            "{t}: business name in text"
        );
        assert_eq!(email.to.as_deref(), Some("ada@example.com"));
        assert_eq!(email.to_name, "Ada Lovelace");
        if t.is_appointment() {
            // 14:00 UTC is 10:00 in New York (EDT), and the zone is named.
            let shown = "Wednesday, 1 July 2026 at 10:00 EDT (America/New_York)";
            assert!(email.text.contains(shown), "{t}: {}", email.text);
            assert!(email.html.contains(shown), "{t}");
        }
    }
}

#[test]
fn a_moved_visit_says_where_it_moved_from() {
    let email = render(
        &fixture(MessageType::AppointmentConfirmation),
        &[],
        &settings(),
    )
    .unwrap();
    assert!(email.subject.contains("has moved"), "{}", email.subject);
    assert!(
        email
            .text
            .contains("has moved from Monday, 29 June 2026 at 04:30 EDT")
    );
}

#[test]
fn invoices_list_their_items_and_total_and_escape_them() {
    let email = render(&fixture(MessageType::Invoice), &lines(), &settings()).unwrap();
    assert_eq!(email.subject, "Invoice INV-000042 from Pipes & Sons");
    assert!(
        email.text.contains("1.5 x 20.00 = 30.00 USD"),
        "{}",
        email.text
    );
    assert!(email.text.contains("Total: 129.50 USD"));
    assert!(email.html.contains("Boiler service &lt;annual&gt;"));
    assert!(!email.html.contains("<annual>"));
}

#[test]
fn custom_messages_are_escaped_in_html_and_kept_verbatim_in_text() {
    let email = render(&fixture(MessageType::Custom), &[], &settings()).unwrap();
    assert_eq!(email.subject, "Gutters <before> winter");
    assert!(
        email
            .text
            .contains("your gutters & drains.\n\n<script>x</script>")
    );
    assert!(
        email
            .html
            .contains("<p>Hello Ada,<br>\nyour gutters &amp; drains.</p>")
    );
    assert!(email.html.contains("&lt;script&gt;"));
    assert!(!email.html.contains("<script>"));
}

#[test]
fn a_service_reminder_without_a_cause_still_renders() {
    let mut data = fixture(MessageType::ServiceReminder);
    data.message.ticket_id = None;
    data.ticket_title = None;
    let email = render(&data, &[], &settings()).unwrap();
    assert!(!email.text.contains("last visit"));
}
