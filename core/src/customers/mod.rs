//! Customers: the entity, its create/patch inputs and their parsing into checked values, and
//! the archive state machine. Queries live in `service`, the actions in `actions`.

mod actions;
mod service;

pub use actions::{
    ArchiveCustomer, RestoreCustomer, archive, lock_for_new_work, merge_attributes, restore,
};
pub use service::{create, delete, get, list, search, update};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Result;
use crate::fields::{self, Checker, Email, FieldError, JsonInput, Patch, TimeZone};
use crate::lifecycle::{Event, StateMachine};

/// A customer as clients see it. Soft-deleted customers are never returned; archived ones are,
/// with `archived_at` set.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Customer {
    pub id: Uuid,
    pub user_id: Uuid,
    pub first_name: String,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// IANA zone the customer's emails are written in; null: the business's zone.
    pub timezone: Option<String>,
    pub notes: Option<String>,
    /// Free-form facts about the customer (pets, gate codes, ...), a JSON object.
    #[schema(value_type = Object)]
    pub attributes: Value,
    pub email_opt_out: bool,
    /// When a mail server refused the address for good; messages to it are skipped until the
    /// email changes (which clears this).
    pub email_bounced_at: Option<DateTime<Utc>>,
    /// When the customer was archived (`customer.archive`); null while active.
    pub archived_at: Option<DateTime<Utc>>,
    pub archived_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Customer {
    /// Where the customer stands in its archive state machine.
    pub fn state(&self) -> CustomerState {
        if self.archived_at.is_some() {
            CustomerState::Archived
        } else {
            CustomerState::Active
        }
    }
}

/// Active or archived. Archiving is not deleting: an archived customer stays readable and can
/// be restored, but gets no new work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerState {
    Active,
    Archived,
}

/// What moves a customer between its states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerEvent {
    Archive,
    Restore,
}

impl Event for CustomerEvent {
    fn past_participle(self) -> &'static str {
        match self {
            CustomerEvent::Archive => "archived",
            CustomerEvent::Restore => "restored",
        }
    }
}

impl StateMachine for CustomerState {
    type Event = CustomerEvent;
    const ENTITY: &'static str = "Customer";
    const TRANSITIONS: &'static [(Self, CustomerEvent, Self)] = &[
        (
            CustomerState::Active,
            CustomerEvent::Archive,
            CustomerState::Archived,
        ),
        (
            CustomerState::Archived,
            CustomerEvent::Restore,
            CustomerState::Active,
        ),
    ];
    fn describe(self) -> &'static str {
        match self {
            CustomerState::Active => "active",
            CustomerState::Archived => "archived",
        }
    }
}

/// The columns `Customer` is read from; one list so every query returns the same shape.
/// A macro so that queries stay `&'static str` literals (`concat!`), never formatted strings.
macro_rules! columns {
    () => {
        "id, user_id, first_name, last_name, email, phone, address, timezone, notes, attributes, email_opt_out, email_bounced_at, archived_at, archived_reason, created_at, updated_at"
    };
}
pub(crate) use columns;

crate::entity::entity!(Customer, table: "customers", audit: "customer", not_found: "customer not found",
    columns: columns!());

const NAME_MAX: usize = 100;
const ADDRESS_MAX: usize = 500;
const NOTES_MAX: usize = 5000;

/// Body of `POST /api/data/customers`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerCreate {
    pub first_name: String,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Map<String, Value>>,
    #[serde(default)]
    pub email_opt_out: Option<bool>,
}

/// Fields every customer response has but no client may set (archiving is an action).
const READ_ONLY: &[&str] = &[
    "id",
    "user_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "archived_at",
    "archived_reason",
    "email_bounced_at",
];

impl JsonInput for CustomerCreate {
    const READ_ONLY_FIELDS: &'static [&'static str] = READ_ONLY;
}

/// Body of `PATCH /api/data/customers/{id}`: only the fields sent change; `null` clears an
/// optional field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub first_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub last_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub phone: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub address: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub timezone: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub attributes: Patch<Map<String, Value>>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub email_opt_out: Patch<bool>,
}

impl JsonInput for CustomerPatch {
    const READ_ONLY_FIELDS: &'static [&'static str] = READ_ONLY;
}

/// Every writable column of a customer, checked. Both create and update write exactly
/// these columns and nothing else.
#[derive(Debug, Clone)]
pub struct CustomerValues {
    pub first_name: String,
    pub last_name: Option<String>,
    pub email: Option<Email>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub timezone: Option<TimeZone>,
    pub notes: Option<String>,
    pub attributes: Map<String, Value>,
    pub email_opt_out: bool,
}

fn name(v: String) -> Result<String, FieldError> {
    fields::text(v, 1, NAME_MAX, false)
}
fn opt_name(v: String) -> Result<Option<String>, FieldError> {
    fields::optional_text(v, NAME_MAX, false)
}
fn email(v: String) -> Result<Option<Email>, FieldError> {
    if v.trim().is_empty() {
        Ok(None)
    } else {
        Email::parse(&v).map(Some)
    }
}
fn address(v: String) -> Result<Option<String>, FieldError> {
    fields::optional_text(v, ADDRESS_MAX, true)
}
fn notes(v: String) -> Result<Option<String>, FieldError> {
    fields::optional_text(v, NOTES_MAX, true)
}
/// A zone name; empty means none (the business's zone applies).
fn tz(v: String) -> Result<Option<TimeZone>, FieldError> {
    if v.trim().is_empty() {
        Ok(None)
    } else {
        TimeZone::parse(&v).map(Some)
    }
}
fn attrs(v: Map<String, Value>) -> Result<Option<Map<String, Value>>, FieldError> {
    fields::attributes(v).map(Some)
}

impl CustomerCreate {
    /// Checks every field, reporting all problems at once.
    pub fn parse(self) -> Result<CustomerValues> {
        let mut c = Checker::new();
        let first_name = c.check("first_name", name(self.first_name));
        let values = CustomerValues {
            first_name: first_name.unwrap_or_default(),
            last_name: c.check_opt("last_name", self.last_name, opt_name),
            email: c.check_opt("email", self.email, email),
            phone: c.check_opt("phone", self.phone, fields::phone),
            address: c.check_opt("address", self.address, address),
            timezone: c.check_opt("timezone", self.timezone, tz),
            notes: c.check_opt("notes", self.notes, notes),
            attributes: c
                .check_opt("attributes", self.attributes, attrs)
                .unwrap_or_default(),
            email_opt_out: self.email_opt_out.unwrap_or(false),
        };
        c.finish()?;
        Ok(values)
    }
}

impl CustomerPatch {
    /// Applies the patch to `current`, checking every sent field.
    pub fn apply(self, current: &Customer) -> Result<CustomerValues> {
        let mut c = Checker::new();
        let current = current.clone();
        let values = CustomerValues {
            first_name: c.patch_required("first_name", self.first_name, current.first_name, name),
            last_name: c.patch_nullable("last_name", self.last_name, current.last_name, opt_name),
            email: c.patch_nullable(
                "email",
                self.email,
                current.email.and_then(|e| Email::parse(&e).ok()),
                email,
            ),
            phone: c.patch_nullable("phone", self.phone, current.phone, fields::phone),
            address: c.patch_nullable("address", self.address, current.address, address),
            timezone: c.patch_nullable(
                "timezone",
                self.timezone,
                current
                    .timezone
                    .as_deref()
                    .and_then(|z| TimeZone::parse(z).ok()),
                tz,
            ),
            notes: c.patch_nullable("notes", self.notes, current.notes, notes),
            attributes: c.patch_required(
                "attributes",
                self.attributes,
                match current.attributes {
                    Value::Object(m) => m,
                    _ => Map::new(),
                },
                fields::attributes,
            ),
            email_opt_out: c.patch_required(
                "email_opt_out",
                self.email_opt_out,
                current.email_opt_out,
                Ok,
            ),
        };
        c.finish()?;
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::from_json_value;
    use serde_json::json;

    #[test]
    fn create_reports_every_bad_field_at_once() {
        let input: CustomerCreate = from_json_value(json!({
            "first_name": " ", "email": "nope", "timezone": "Nowhere/Land"
        }))
        .unwrap();
        let crate::Error::Validation(errors) = input.parse().unwrap_err() else {
            panic!("expected validation error")
        };
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            vec!["email", "first_name", "timezone"]
        );
    }

    #[test]
    fn read_only_and_unknown_fields_are_rejected() {
        let e = from_json_value::<CustomerPatch>(json!({"id": "x"})).unwrap_err();
        assert!(
            matches!(e, crate::Error::Validation(m) if m.get("id").map(String::as_str) == Some("is read-only"))
        );
        let e = from_json_value::<CustomerPatch>(json!({"colour": "red"})).unwrap_err();
        assert!(matches!(e, crate::Error::Validation(m) if m.contains_key("colour")));
    }
}
