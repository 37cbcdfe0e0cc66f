//! The attribute schema rendered for its other readers, derived mechanically from the one
//! checked-in document so they cannot drift: the strict structured-output form an LLM is asked
//! to answer in, and the OpenAPI 3.1 component that documents `extracted_attributes` and the
//! `attributes` of `ticket.confirm_attributes`.

use serde_json::{Map, Value, json};
use utoipa::openapi::schema::{OneOfBuilder, Type};
use utoipa::openapi::{ObjectBuilder, Ref, RefOr, Schema};

use super::schema::AttributeSchema;

/// Name of the OpenAPI component the API document fills with
/// [`AttributeSchema::openapi_schema`].
pub const ATTRIBUTES_COMPONENT: &str = "TicketAttributes";

/// The `attributes` of `ticket.confirm_attributes`: a reference to the attribute schema's
/// component (`schema_with` replaces the field's doc comment, so the description is here).
pub fn attributes_schema_ref() -> RefOr<Schema> {
    let mut reference = Ref::from_schema_name(ATTRIBUTES_COMPONENT);
    reference.description = "The office's edited version of the proposal, in the same shape \
        ({category: {value, evidence}}), checked against the attribute schema. Absent: the \
        proposal as it is (the extraction must be `proposed`)."
        .to_owned();
    RefOr::Ref(reference)
}

/// A ticket's `extracted_attributes`: the attribute schema's component, or null.
pub fn nullable_attributes_schema_ref() -> RefOr<Schema> {
    let one_of = OneOfBuilder::new()
        .item(Ref::from_schema_name(ATTRIBUTES_COMPONENT))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "What extraction found in the technician notes, `{category: {value, evidence}}` for \
             the categories they mention; null until extraction answered.",
        ))
        .build();
    RefOr::T(Schema::OneOf(one_of))
}

/// Keywords OpenAI's strict mode does not accept. Our own validation enforces them on the
/// answer anyway, so dropping them from the request loses nothing.
const NOT_IN_STRICT_MODE: &[&str] = &[
    "$schema",
    "$id",
    "title",
    "minLength",
    "maxLength",
    "minProperties",
    "maxProperties",
];

impl AttributeSchema {
    /// The schema as OpenAI's structured outputs want it with `strict: true`: every object
    /// lists all its properties as required, and what was optional becomes nullable (the model
    /// writes `null` for an absent category); keywords strict mode rejects are dropped. Nulls
    /// are stripped from the answer before it is validated against the real schema.
    pub fn strict_response_schema(&self) -> Value {
        strict(self.document())
    }

    /// The schema as an OpenAPI 3.1 component: `$defs` inlined (their `#/$defs/...` pointers
    /// would point into the OpenAPI document itself), `$schema` and `$id` dropped.
    pub fn openapi_schema(&self) -> Value {
        let mut inlined = self.inline(self.document());
        if let Value::Object(map) = &mut inlined {
            for key in ["$schema", "$id", "$defs"] {
                map.remove(key);
            }
        }
        inlined
    }

    fn inline(&self, schema: &Value) -> Value {
        match schema {
            Value::Object(map) => {
                if let Some(target) = map.get("$ref").and_then(Value::as_str)
                    && let Some(resolved) = self.resolve(target)
                {
                    let mut out = self.inline(resolved);
                    // Keep the referring schema's own annotations (its description).
                    if let (Value::Object(out_map), Some(d)) = (&mut out, map.get("description")) {
                        out_map.insert("description".into(), d.clone());
                    }
                    return out;
                }
                let out: Map<String, Value> = map
                    .iter()
                    .filter(|(k, _)| k.as_str() != "$defs")
                    .map(|(k, v)| (k.clone(), self.inline(v)))
                    .collect();
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.inline(v)).collect()),
            other => other.clone(),
        }
    }
}

fn strict(schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        if NOT_IN_STRICT_MODE.contains(&key.as_str()) {
            continue;
        }
        let converted = match key.as_str() {
            "$defs" => map_values(value, strict),
            "items" => strict(value),
            "anyOf" => Value::Array(value.as_array().into_iter().flatten().map(strict).collect()),
            "properties" => {
                let required: Vec<&str> = map
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let Value::Object(props) = value else {
                    continue;
                };
                let converted: Map<String, Value> = props
                    .iter()
                    .map(|(name, s)| {
                        let s = strict(s);
                        let s = if required.contains(&name.as_str()) {
                            s
                        } else {
                            nullable(s)
                        };
                        (name.clone(), s)
                    })
                    .collect();
                Value::Object(converted)
            }
            "required" => continue,
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    if let Some(Value::Object(props)) = out.get("properties") {
        let all: Vec<Value> = props.keys().map(|k| Value::String(k.clone())).collect();
        out.insert("required".into(), Value::Array(all));
    }
    Value::Object(out)
}

fn map_values(value: &Value, f: fn(&Value) -> Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), f(v))).collect()),
        other => other.clone(),
    }
}

/// `schema`, or null, its description kept outside the union.
fn nullable(schema: Value) -> Value {
    let Value::Object(mut map) = schema else {
        return schema;
    };
    // A primitive gains "null" in its type; objects, arrays, `$ref`s and `anyOf`s are wrapped
    // (the form every structured-output implementation accepts).
    let primitive = map
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| !matches!(t, "object" | "array"));
    if primitive
        && !map.contains_key("$ref")
        && !map.contains_key("anyOf")
        && let Some(Value::String(t)) = map.get("type").cloned()
    {
        map.insert("type".into(), json!([t, "null"]));
        return Value::Object(map);
    }
    let description = map.remove("description");
    let mut out = Map::new();
    if let Some(d) = description {
        out.insert("description".into(), d);
    }
    out.insert(
        "anyOf".into(),
        json!([Value::Object(map), {"type": "null"}]),
    );
    Value::Object(out)
}
