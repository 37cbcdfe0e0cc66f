//! JSON request bodies: decoding with field-level errors (`from_json_value`, read-only fields
//! refused by name) and `Patch<T>`, the absent / null / value field of a partial update.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::{Error, FieldErrors, Result};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
