//! Free-form attribute objects: a JSON object of bounded size and depth whose strings
//! Postgres (text and jsonb) can store.

use serde_json::{Map, Value};

use super::FieldError;

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

/// jsonb rejects `\u0000`; deep nesting is refused to keep documents sane.
/// Largest magnitude of a number in attributes: jsonb keeps numbers as exact decimals and
/// writes them out in full, which a float beyond this does not survive reading back.
pub const ATTRIBUTE_NUMBER_MAX: f64 = 1e15;

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
    fn attributes_reject_nul_strings() {
        let mut m = Map::new();
        m.insert("k".into(), Value::String("a\0".into()));
        assert!(attributes(m).is_err());
    }
}
