//! Parsing of client input into domain values: JSON body decoding with field-level errors,
//! the tri-state `Patch<T>` for partial updates, and validated newtypes (names, email,
//! phone, IANA time zone, free text, attribute objects). Parse, don't validate: once a value
//! has one of these types it is known to be acceptable.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::error::{Error, FieldErrors, Result};

mod email;
pub use email::{EMAIL_MAX_BYTES, Email, normalize_email};

/// A JSON request body type. `READ_ONLY_FIELDS` are fields a client may see but never set;
/// sending one is answered with a validation error that says so (not "unknown field").
pub trait JsonInput: DeserializeOwned {
    const READ_ONLY_FIELDS: &'static [&'static str] = &[];
}

/// Decodes a JSON value into `T`, reporting problems per field as a validation error.
pub fn from_json_value<T: JsonInput>(value: Value) -> Result<T> {
    let Value::Object(map) = value else {
        return Err(Error::field("body", "must be a JSON object"));
    };
    let mut errors = FieldErrors::new();
    for key in map.keys() {
        if T::READ_ONLY_FIELDS.contains(&key.as_str()) {
            errors.insert(key.clone(), "is read-only".to_owned());
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let (field, message) = describe_serde_error(&path, &message);
        Error::field(&field, message)
    })
}

/// Turns serde's messages into a field name and a message a client can show.
fn describe_serde_error(path: &str, message: &str) -> (String, String) {
    let quoted = |m: &str, prefix: &str| -> Option<String> {
        let rest = m.strip_prefix(prefix)?;
        rest.split('`').next().map(str::to_owned)
    };
    // For an unknown field serde's path already ends at the field; for a missing one it
    // stops at the enclosing object.
    let join = |name: String| {
        if path == "." || path.is_empty() {
            name
        } else if path == name || path.ends_with(&format!(".{name}")) {
            path.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    if let Some(name) = quoted(message, "unknown field `") {
        return (join(name), "unknown field".to_owned());
    }
    if let Some(name) = quoted(message, "missing field `") {
        return (join(name), "is required".to_owned());
    }
    let field = if path == "." || path.is_empty() {
        "body".to_owned()
    } else {
        path.to_owned()
    };
    // serde_json's value errors name the expected type; no input echo beyond that.
    (field, message.to_owned())
}

/// A field of a partial update: not sent, sent as `null`, or sent with a value.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            None => Patch::Null,
            Some(v) => Patch::Value(v),
        })
    }
}

/// Collects field errors while a whole input is parsed, so a client sees every problem at once.
#[derive(Debug, Default)]
pub struct Checker {
    errors: FieldErrors,
}

impl Checker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the error of `result` under `field` and returns the value when there is one.
    pub fn check<T>(&mut self, field: &str, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.entry(field.to_owned()).or_insert(e.0);
                None
            }
        }
    }

    /// An optional input: `None` stays `None`; `parse` may also turn a value into `None`
    /// (a blank string, say). On error the error is recorded and `None` returned.
    pub fn check_opt<T, U>(
        &mut self,
        field: &str,
        value: Option<U>,
        parse: impl FnOnce(U) -> Result<Option<T>, FieldError>,
    ) -> Option<T> {
        value.and_then(|v| self.check(field, parse(v)).flatten())
    }

    /// A partial update of a nullable field: absent keeps `current`, null clears it.
    pub fn patch_nullable<T, U>(
        &mut self,
        field: &str,
        patch: Patch<U>,
        current: Option<T>,
        parse: impl FnOnce(U) -> Result<Option<T>, FieldError>,
    ) -> Option<T> {
        match patch {
            Patch::Absent => current,
            Patch::Null => None,
            Patch::Value(v) => self.check(field, parse(v)).flatten(),
        }
    }

    /// A partial update of a required field: absent keeps `current`, null is an error.
    /// On error the error is recorded and `current` returned (the input is rejected anyway).
    pub fn patch_required<T, U>(
        &mut self,
        field: &str,
        patch: Patch<U>,
        current: T,
        parse: impl FnOnce(U) -> Result<T, FieldError>,
    ) -> T {
        let parsed = match patch {
            Patch::Absent => return current,
            Patch::Null => Err(FieldError::new("cannot be null")),
            Patch::Value(v) => parse(v),
        };
        self.check(field, parsed).unwrap_or(current)
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.errors
            .entry(field.to_owned())
            .or_insert_with(|| message.into());
    }

    /// `Ok(())` when nothing was recorded.
    pub fn finish(self) -> Result<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.errors))
        }
    }
}

/// Why one field was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError(pub String);

impl FieldError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Rejects what Postgres `text` cannot store (NUL) and, unless `multiline`, control
/// characters such as newlines in single-line fields.
fn check_chars(value: &str, multiline: bool) -> Result<(), FieldError> {
    let bad = value
        .chars()
        .any(|c| c == '\0' || (c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))));
    if bad {
        Err(FieldError::new("contains control characters"))
    } else {
        Ok(())
    }
}

/// Trimmed text between `min` and `max` characters.
pub fn text(value: String, min: usize, max: usize, multiline: bool) -> Result<String, FieldError> {
    check_chars(&value, multiline)?;
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len < min {
        return Err(FieldError::new(if min == 1 {
            "must not be empty".to_owned()
        } else {
            format!("must be at least {min} characters")
        }));
    }
    if len > max {
        return Err(FieldError::new(format!("must be at most {max} characters")));
    }
    Ok(trimmed.to_owned())
}

/// Optional free text: blank becomes absent.
pub fn optional_text(
    value: String,
    max: usize,
    multiline: bool,
) -> Result<Option<String>, FieldError> {
    let t = text(value, 0, max, multiline)?;
    Ok(if t.is_empty() { None } else { Some(t) })
}

/// A phone number as people write it: digits with `+ - ( ) .`, spaces and an `x` extension.
pub fn phone(value: String) -> Result<Option<String>, FieldError> {
    let Some(v) = optional_text(value, 32, false)? else {
        return Ok(None);
    };
    let allowed = v
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().xX".contains(c));
    let digits = v.chars().filter(char::is_ascii_digit).count();
    if !allowed || digits < 3 {
        return Err(FieldError::new(
            "must be a phone number (digits, spaces, + - ( ) .)",
        ));
    }
    Ok(Some(v))
}

/// An IANA time zone name such as `Europe/Berlin` or `UTC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(pub chrono_tz::Tz);

impl TimeZone {
    pub fn parse(value: &str) -> Result<TimeZone, FieldError> {
        value
            .trim()
            .parse::<chrono_tz::Tz>()
            .map(TimeZone)
            .map_err(|_| FieldError::new("must be an IANA time zone name such as Europe/Berlin"))
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone(chrono_tz::UTC)
    }
}

/// Free-form attributes: a JSON object of bounded size whose strings Postgres can store.
pub fn attributes(value: Map<String, Value>) -> Result<Map<String, Value>, FieldError> {
    const MAX_BYTES: usize = 64 * 1024;
    let v = Value::Object(value);
    if !json_storable(&v, 0) {
        return Err(FieldError::new(
            "must not contain NUL characters, numbers beyond 1e15 or nest deeper than 16 levels",
        ));
    }
    if serde_json::to_vec(&v)
        .map(|b| b.len())
        .unwrap_or(usize::MAX)
        > MAX_BYTES
    {
        return Err(FieldError::new("must be at most 64 KiB of JSON"));
    }
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(FieldError::new("must be a JSON object")),
    }
}

/// Largest magnitude of a number in attributes: jsonb keeps numbers as exact decimals and
/// writes them out in full, which a float beyond this does not survive reading back.
pub const ATTRIBUTE_NUMBER_MAX: f64 = 1e15;

/// jsonb rejects `\u0000`; deep nesting is refused to keep documents sane; numbers stay
/// within [`ATTRIBUTE_NUMBER_MAX`].
fn json_storable(v: &Value, depth: usize) -> bool {
    if depth > 16 {
        return false;
    }
    match v {
        Value::String(s) => !s.contains('\0'),
        Value::Number(n) => n.as_f64().is_some_and(|f| f.abs() <= ATTRIBUTE_NUMBER_MAX),
        Value::Array(a) => a.iter().all(|x| json_storable(x, depth + 1)),
        Value::Object(m) => m
            .iter()
            .all(|(k, x)| !k.contains('\0') && json_storable(x, depth + 1)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(
            TimeZone::parse("Europe/Berlin").unwrap().name(),
            "Europe/Berlin"
        );
        assert!(TimeZone::parse("Mars/Olympus").is_err());
        assert!(TimeZone::parse("UTC").is_ok());
    }

    #[test]
    fn text_rejects_nul_and_bounds_length() {
        assert!(text("a\0b".into(), 1, 10, true).is_err());
        assert!(text("   ".into(), 1, 10, false).is_err());
        assert!(text("abcdefghijk".into(), 1, 10, false).is_err());
        assert_eq!(text(" x ".into(), 1, 10, false).unwrap(), "x");
        assert!(text("a\nb".into(), 1, 10, false).is_err());
        assert!(text("a\nb".into(), 1, 10, true).is_ok());
    }

    #[test]
    fn phone_numbers_need_digits() {
        assert_eq!(
            phone("+1 (555) 010-9999".into()).unwrap().as_deref(),
            Some("+1 (555) 010-9999")
        );
        assert!(phone("call me".into()).is_err());
        assert_eq!(phone("".into()).unwrap(), None);
    }

    #[test]
    fn patch_distinguishes_absent_null_and_value() {
        #[derive(Deserialize)]
        struct P {
            #[serde(default)]
            a: Patch<String>,
        }
        let p: P = serde_json::from_str("{}").unwrap();
        assert_eq!(p.a, Patch::Absent);
        let p: P = serde_json::from_str(r#"{"a":null}"#).unwrap();
        assert_eq!(p.a, Patch::Null);
        let p: P = serde_json::from_str(r#"{"a":"x"}"#).unwrap();
        assert_eq!(p.a, Patch::Value("x".into()));
    }

    #[test]
    fn attributes_reject_nul_strings() {
        let mut m = Map::new();
        m.insert("k".into(), Value::String("a\0".into()));
        assert!(attributes(m).is_err());
    }
}
