//! The attribute schema (`templates/prompts/ticket_attributes.schema.json`, the single source
//! for the prompt, the validation and the OpenAPI document) and the validator that enforces it.
//!
//! Why a validator of our own rather than a JSON Schema crate: the schema uses a small subset
//! of draft 2020-12 (types, properties, required, additionalProperties, min/max lengths, items
//! and properties counts, anyOf, local `$ref`s and the `date` and `duration` formats). The
//! `jsonschema` crate, even without default features, brings ~100 crates (ICU/IDNA for the
//! email and hostname formats, two regex engines, URI resolution) to compile on every build
//! machine for keywords we never use. This interpreter is a few hundred lines, reports problems
//! by path without echoing values (notes must never reach logs), and refuses any keyword it
//! does not implement when the schema is loaded (a unit test loads it), so the schema cannot
//! silently outgrow its validator.

use std::sync::OnceLock;

use serde_json::{Map, Value};

pub use super::formats::{CalendarSpan, parse_date, parse_duration};

use crate::error::{Error, Result};

/// The checked-in schema, embedded at build time.
pub const SCHEMA_JSON: &str =
    include_str!("../../../templates/prompts/ticket_attributes.schema.json");

/// Keywords the schema may use; anything else is refused at load time.
const SUPPORTED: &[&str] = &[
    "$schema",
    "$id",
    "$defs",
    "$ref",
    "title",
    "description",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "minProperties",
    "maxProperties",
    "items",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "anyOf",
    "enum",
    "format",
];
const FORMATS: &[&str] = &["date", "duration"];

/// One problem of a document: where (`pet.value[0].type`, empty for the whole document) and
/// what, never the offending value itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub problem: String,
}

/// The loaded, checked schema.
#[derive(Debug)]
pub struct AttributeSchema {
    root: Value,
}

/// The schema, loaded and checked once.
pub fn schema() -> Result<&'static AttributeSchema> {
    static SCHEMA: OnceLock<Result<AttributeSchema, String>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| AttributeSchema::parse(SCHEMA_JSON))
        .as_ref()
        .map_err(|e| Error::Internal(format!("ticket_attributes.schema.json: {e}")))
}

impl AttributeSchema {
    /// Parses a schema document and checks it only uses what [`validate`](Self::validate)
    /// implements.
    pub fn parse(text: &str) -> Result<AttributeSchema, String> {
        let root: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let schema = AttributeSchema { root };
        schema.check_keywords(&schema.root, "#")?;
        if schema.categories().is_empty() {
            return Err("the root must be an object schema with properties".into());
        }
        Ok(schema)
    }

    /// The raw document.
    pub fn document(&self) -> &Value {
        &self.root
    }

    /// The categories (top-level properties) with their descriptions, by name.
    pub fn categories(&self) -> Vec<(&str, &str)> {
        self.root
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .map(|(name, s)| {
                        let d = s.get("description").and_then(Value::as_str).unwrap_or("");
                        (name.as_str(), d)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn check_keywords(&self, schema: &Value, at: &str) -> Result<(), String> {
        let Value::Object(map) = schema else {
            return Err(format!("{at}: a schema must be an object"));
        };
        for (key, value) in map {
            if !SUPPORTED.contains(&key.as_str()) {
                return Err(format!(
                    "{at}: keyword {key:?} is not supported by the validator"
                ));
            }
            match key.as_str() {
                "properties" | "$defs" => {
                    let Value::Object(children) = value else {
                        return Err(format!("{at}/{key} must be an object"));
                    };
                    for (name, child) in children {
                        self.check_keywords(child, &format!("{at}/{key}/{name}"))?;
                    }
                }
                "items" => self.check_keywords(value, &format!("{at}/items"))?,
                "anyOf" => {
                    for (i, child) in value.as_array().into_iter().flatten().enumerate() {
                        self.check_keywords(child, &format!("{at}/anyOf/{i}"))?;
                    }
                }
                "additionalProperties" if !value.is_boolean() => {
                    return Err(format!("{at}: additionalProperties must be true or false"));
                }
                "format" if !value.as_str().is_some_and(|f| FORMATS.contains(&f)) => {
                    return Err(format!("{at}: unsupported format {value}"));
                }
                "$ref" => {
                    let target = value.as_str().unwrap_or("");
                    if self.resolve(target).is_none() {
                        return Err(format!("{at}: unresolvable $ref {target:?}"));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Resolves `#/$defs/<name>`, the only form of reference the schema uses.
    pub(crate) fn resolve(&self, reference: &str) -> Option<&Value> {
        let name = reference.strip_prefix("#/$defs/")?;
        self.root.get("$defs")?.get(name)
    }

    /// Every problem of `value` against the whole schema; empty when it is valid.
    pub fn validate(&self, value: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        self.check(&self.root, value, "", &mut out);
        out
    }

    /// Like [`validate`](Self::validate), as the `VALIDATION_ERROR` clients see, each problem
    /// under `<field>.<path>`.
    pub fn validate_field(&self, field: &str, value: &Value) -> Result<()> {
        let violations = self.validate(value);
        if violations.is_empty() {
            return Ok(());
        }
        let errors = violations
            .into_iter()
            .map(|v| {
                let key = if v.path.is_empty() {
                    field.to_owned()
                } else {
                    format!("{field}.{}", v.path)
                };
                (key, v.problem)
            })
            .collect();
        Err(Error::Validation(errors))
    }

    fn check(&self, schema: &Value, value: &Value, path: &str, out: &mut Vec<Violation>) {
        let mut fail = |problem: String| {
            out.push(Violation {
                path: path.to_owned(),
                problem,
            })
        };
        if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
            match self.resolve(target) {
                Some(s) => self.check(s, value, path, out),
                None => fail("cannot be checked (schema reference missing)".into()),
            }
            return;
        }
        if let Some(options) = schema.get("anyOf").and_then(Value::as_array) {
            let matches = options.iter().any(|s| {
                let mut scratch = Vec::new();
                self.check(s, value, path, &mut scratch);
                scratch.is_empty()
            });
            if !matches {
                fail("does not match any of the allowed forms".into());
            }
            return;
        }
        if let Some(expected) = schema.get("type")
            && !type_matches(expected, value)
        {
            fail(format!("must be {}", describe_type(expected)));
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            fail("is not one of the allowed values".into());
        }
        match value {
            Value::String(s) => check_string(schema, s, &mut fail),
            Value::Array(items) => {
                let n = items.len() as u64;
                if let Some(min) = uint(schema, "minItems").filter(|m| n < *m) {
                    fail(format!("must have at least {min} item(s)"));
                }
                if let Some(max) = uint(schema, "maxItems").filter(|m| n > *m) {
                    fail(format!("must have at most {max} items"));
                }
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.check(item_schema, item, &format!("{path}[{i}]"), out);
                    }
                }
            }
            Value::Object(map) => self.check_object(schema, map, path, out),
            _ => {}
        }
    }

    fn check_object(
        &self,
        schema: &Value,
        map: &Map<String, Value>,
        path: &str,
        out: &mut Vec<Violation>,
    ) {
        let child = |name: &str| {
            if path.is_empty() {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            }
        };
        let empty = Map::new();
        let props = schema
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let n = map.len() as u64;
        if let Some(min) = uint(schema, "minProperties").filter(|m| n < *m) {
            out.push(Violation {
                path: path.to_owned(),
                problem: format!("must have at least {min} field(s)"),
            });
        }
        if let Some(max) = uint(schema, "maxProperties").filter(|m| n > *m) {
            out.push(Violation {
                path: path.to_owned(),
                problem: format!("must have at most {max} fields"),
            });
        }
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !map.contains_key(name) {
                out.push(Violation {
                    path: child(name),
                    problem: "is required".into(),
                });
            }
        }
        let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
        for (name, v) in map {
            match props.get(name) {
                Some(s) => self.check(s, v, &child(name), out),
                None if closed => out.push(Violation {
                    path: child(name),
                    problem: "unknown field".into(),
                }),
                None => {}
            }
        }
    }
}

fn uint(schema: &Value, key: &str) -> Option<u64> {
    schema.get(key).and_then(Value::as_u64)
}

fn check_string(schema: &Value, s: &str, fail: &mut impl FnMut(String)) {
    let len = s.chars().count() as u64;
    if let Some(min) = uint(schema, "minLength").filter(|m| len < *m) {
        fail(if min == 1 {
            "must not be empty".into()
        } else {
            format!("must be at least {min} characters")
        });
    }
    if let Some(max) = uint(schema, "maxLength").filter(|m| len > *m) {
        fail(format!("must be at most {max} characters"));
    }
    if s.contains('\0') {
        fail("must not contain NUL characters".into());
    }
    match schema.get("format").and_then(Value::as_str) {
        Some("date") if parse_date(s).is_none() => {
            fail("must be a date written YYYY-MM-DD".into());
        }
        Some("duration") if parse_duration(s).is_none() => {
            fail("must be an ISO 8601 duration of years, months, weeks or days such as P6M".into());
        }
        _ => {}
    }
}

fn type_matches(expected: &Value, value: &Value) -> bool {
    let one = |t: &str| match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => false,
    };
    match expected {
        Value::String(t) => one(t),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(one),
        _ => false,
    }
}

fn describe_type(expected: &Value) -> String {
    let name = |t: &str| match t {
        "object" => "a JSON object",
        "array" => "an array",
        "string" => "a string",
        "boolean" => "true or false",
        "null" => "null",
        "number" => "a number",
        "integer" => "an integer",
        _ => "of another type",
    };
    match expected {
        Value::String(t) => name(t).to_owned(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(name)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "of another type".to_owned(),
    }
}
