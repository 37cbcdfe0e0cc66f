//! Parsing of client input into domain values, one module per kind of input: JSON bodies and
//! the tri-state `Patch<T>` (`json`), the error collector (`checker`), free text and phone
//! numbers (`text`), email addresses (`email`), IANA time zones (`zone`) and attribute objects
//! (`attributes`). Parse, don't validate: once a value has one of these types it is known to
//! be acceptable.

mod attributes;
mod checker;
mod email;
mod json;
mod text;
mod zone;

pub use attributes::attributes;
pub use checker::{Checker, FieldError};
pub use email::{EMAIL_MAX_BYTES, Email, normalize_email};
pub use json::{JsonInput, Patch, from_json_value};
pub use text::{optional_text, phone, text};
pub use zone::TimeZone;
