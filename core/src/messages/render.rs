//! Rendering a message: the template context built from [`MessageData`] (times in the
//! reader's zone with the zone named, the business name, the unsubscribe link from
//! `PUBLIC_BASE_URL`), the subject and both bodies, and `preview` — exactly what the sender
//! would send, for `GET /api/data/scheduled_messages/{id}/preview`.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use minijinja::value::{Serde, Value};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::data::{self, ItemLine, MessageData};
use super::settings::MessageSettings;
use super::time::{after_quiet_hours, display_date, display_time, reader_zone};
use super::{MessageType, templates, unsubscribe};
use crate::error::{Error, Result};
use crate::ids::UserId;

/// A rendered email, ready for the transport.
#[derive(Debug, Clone)]
pub struct RenderedEmail {
    /// The customer's address (`None`: the customer has none).
    pub to: Option<String>,
    /// The customer's name, for the `To` header.
    pub to_name: String,
    /// The business's name, for the `From` header's display name.
    pub from_name: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// `PUBLIC_BASE_URL/u/{token}`: the `List-Unsubscribe` target.
    pub unsubscribe_url: String,
}

/// The template context. Every key exists for every type (`null` where it does not apply), so
/// strict undefined only fails on real mistakes.
#[derive(Debug, Serialize)]
struct Context {
    business: Business,
    customer: Customer,
    timezone: &'static str,
    unsubscribe_url: String,
    appointment: Option<Appointment>,
    previous_appointment: Option<String>,
    invoice: Option<Invoice>,
    last_visit: Option<Visit>,
    custom: Option<Custom>,
}

#[derive(Debug, Serialize)]
struct Business {
    name: String,
}

#[derive(Debug, Serialize)]
struct Customer {
    first_name: String,
    last_name: Option<String>,
    name: String,
}

#[derive(Debug, Serialize)]
struct Appointment {
    title: String,
    /// `Tuesday, 14 April 2026 at 09:30 CEST (Europe/Berlin)`.
    starts: String,
    duration_minutes: i32,
}

#[derive(Debug, Serialize)]
struct Invoice {
    number: String,
    currency: String,
    total: String,
    due: Option<String>,
    items: Vec<Line>,
}

#[derive(Debug, Serialize)]
struct Line {
    description: String,
    quantity: String,
    unit_price: String,
    amount: String,
}

#[derive(Debug, Serialize)]
struct Visit {
    title: String,
    date: String,
}

#[derive(Debug, Serialize)]
struct Custom {
    subject: String,
    body: String,
}

/// The zone `data`'s customer reads in.
pub fn zone_of(data: &MessageData) -> Tz {
    reader_zone(
        data.customer_timezone.as_deref(),
        Some(&data.business_timezone),
    )
}

/// When the message may go out: its `scheduled_for`, moved past quiet hours in the reader's
/// zone unless it was sent now on purpose or answers an office action as it happens.
pub fn due_at(data: &MessageData, settings: &MessageSettings) -> DateTime<Utc> {
    let quiet = if data.message.ignore_quiet_hours
        || data.message.message_type.answers_an_office_action()
    {
        None
    } else {
        settings.quiet_hours
    };
    after_quiet_hours(data.message.scheduled_for, zone_of(data), quiet)
}

fn money(d: Decimal) -> String {
    d.round_dp(2).to_string()
}

fn context(data: &MessageData, lines: &[ItemLine], settings: &MessageSettings) -> Result<Context> {
    let zone = zone_of(data);
    let m = &data.message;
    let full_name = match &data.customer_last_name {
        Some(last) => format!("{} {last}", data.customer_first_name),
        None => data.customer_first_name.clone(),
    };
    let appointment = match (m.message_type.is_appointment(), &data.ticket_title) {
        (true, Some(title)) => Some(Appointment {
            title: title.clone(),
            starts: m
                .appointment_at
                .or(data.ticket_scheduled_at)
                .map(|at| display_time(at, zone))
                .unwrap_or_else(|| "a time to be agreed".to_owned()),
            duration_minutes: data.ticket_duration_minutes.unwrap_or(60),
        }),
        _ => None,
    };
    let invoice = match (m.message_type.is_about_invoice(), &data.invoice_number) {
        (true, Some(number)) => Some(Invoice {
            number: number.clone(),
            currency: data.invoice_currency.clone().unwrap_or_default(),
            total: money(data.invoice_total.unwrap_or_default()),
            due: data.invoice_due_at.map(|at| display_date(at, zone)),
            items: lines
                .iter()
                .map(|l| Line {
                    description: l.description.clone(),
                    quantity: l.quantity.normalize().to_string(),
                    unit_price: money(l.unit_price),
                    amount: money(l.amount),
                })
                .collect(),
        }),
        _ => None,
    };
    let last_visit = match (m.message_type, &data.ticket_title) {
        (MessageType::ServiceReminder, Some(title)) => Some(Visit {
            title: title.clone(),
            date: data
                .ticket_closed_at
                .or(data.ticket_scheduled_at)
                .map(|at| display_date(at, zone))
                .unwrap_or_default(),
        }),
        _ => None,
    };
    let custom = match (&m.subject, &m.body) {
        (Some(subject), Some(body)) => Some(Custom {
            subject: subject.clone(),
            body: body.clone(),
        }),
        _ => None,
    };
    Ok(Context {
        business: Business {
            name: data.business_name.clone(),
        },
        customer: Customer {
            first_name: data.customer_first_name.clone(),
            last_name: data.customer_last_name.clone(),
            name: full_name,
        },
        timezone: zone.name(),
        unsubscribe_url: unsubscribe::link(settings, UserId(m.user_id), m.customer_id)?,
        appointment,
        previous_appointment: m.previous_appointment_at.map(|at| display_time(at, zone)),
        invoice,
        last_visit,
        custom,
    })
}

/// Renders subject, text and HTML of `data`'s message. `lines` are the invoice's items (empty
/// for messages not about an invoice).
pub fn render(
    data: &MessageData,
    lines: &[ItemLine],
    settings: &MessageSettings,
) -> Result<RenderedEmail> {
    let ctx = context(data, lines, settings)?;
    let env = templates::environment()?;
    let names = templates::names(data.message.message_type);
    let value = Value::from(Serde(&ctx));
    let render = |name: &str| {
        env.get_template(name)
            .and_then(|t| t.render(value.clone()))
            .map_err(|e| Error::Internal(format!("rendering {name}: {e:#}")))
    };
    // One line, whatever the template or the business typed.
    let subject = render(&names.subject)?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(RenderedEmail {
        to: data.customer_email.clone(),
        to_name: ctx.customer.name.clone(),
        from_name: data.business_name.clone(),
        subject,
        text: render(&names.text)?,
        html: render(&names.html)?,
        unsubscribe_url: ctx.unsubscribe_url.clone(),
    })
}

/// Loads the invoice lines a message's templates show (none for other types).
pub async fn lines_for(conn: &mut PgConnection, data: &MessageData) -> Result<Vec<ItemLine>> {
    match (
        data.message.message_type.is_about_invoice(),
        data.message.invoice_id,
    ) {
        (true, Some(invoice_id)) => data::invoice_lines(conn, invoice_id).await,
        _ => Ok(Vec::new()),
    }
}

/// `GET /api/data/scheduled_messages/{id}/preview`: what the sender would send, rendered now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Preview {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The customer's address; null if they have none (the sender would skip: `no_email`).
    pub to: Option<String>,
    /// When it goes out (its `scheduled_for`, after quiet hours unless sent now), in UTC.
    pub send_at: DateTime<Utc>,
    /// The same instant in the customer's zone, RFC 3339 with offset.
    pub send_at_local: String,
    /// The zone emails to this customer are written in (theirs, else the business's).
    pub timezone: String,
}

/// Renders a message of the current tenant as the sender would.
pub async fn preview(
    conn: &mut PgConnection,
    settings: &MessageSettings,
    id: Uuid,
) -> Result<Preview> {
    let data = data::load(conn, id)
        .await?
        .ok_or(Error::NotFound("message not found"))?;
    let lines = lines_for(conn, &data).await?;
    let email = render(&data, &lines, settings)?;
    let zone = zone_of(&data);
    let send_at = due_at(&data, settings);
    Ok(Preview {
        subject: email.subject,
        text: email.text,
        html: email.html,
        to: email.to,
        send_at,
        send_at_local: send_at.with_timezone(&zone).to_rfc3339(),
        timezone: zone.name().to_owned(),
    })
}
