//! The constraints the server enforces, stated in the OpenAPI document: lengths of trimmed
//! text, email and phone shapes, money and quantities, time zones, the years 2000–2100 of
//! timestamps, `limit` 1–100, filters that must not be empty. Each pattern mirrors one parser
//! of `fieldwork_core::fields` / `values` exactly (schemathesis checks both directions: no
//! schema-valid request rejected, no schema-violating request accepted — ops/contract-check.sh).

use fieldwork_core::pagination::{CURSOR_PATTERN, MAX_LIMIT};
use serde_json::{Map, Value, json};

mod bodies;
use bodies::body_constraints;

/// Whitespace `str::trim` removes that single-line text may contain (no control characters).
const WS_LINE: &str = r"[ \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// ... and multi-line text (tab, newline, carriage return besides).
const WS_TEXT: &str = r"[\t\n\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// Every whitespace `str::trim` removes (emails, search terms, codes).
const WS_ALL: &str =
    r"[\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// Neither whitespace nor a control character.
const SOLID: &str =
    r"[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
const INNER_LINE: &str = r"[^\u0000-\u001f\u007f-\u009f]";
const INNER_TEXT: &str = r"[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]";

/// `fields::text(min, max, multiline)`: between `min` (0 or 1) and `max` characters once
/// trimmed; no control characters (multi-line text: but tab, newline, carriage return).
fn text(min: usize, max: usize, multiline: bool) -> Value {
    let (ws, inner) = if multiline {
        (WS_TEXT, INNER_TEXT)
    } else {
        (WS_LINE, INNER_LINE)
    };
    let core = if max <= 1 {
        SOLID.to_owned()
    } else {
        format!("{SOLID}(?:{inner}{{0,{}}}{SOLID})?", max - 2)
    };
    let core = if min == 0 {
        format!("(?:{core})?")
    } else {
        core
    };
    json!({ "pattern": format!("^{ws}*{core}{ws}*$") })
}

fn email() -> Value {
    email_or_blank(false)
}

/// A customer's email may also be blank (no email).
fn email_or_blank(blank: bool) -> Value {
    let atom = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
    let local = format!(r"{atom}(?:[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~.-]{{0,62}}{atom})?");
    let label = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    json!({
        "pattern": format!(
            r"^{WS_ALL}*(?:{local}@(?:{label}\.)+[A-Za-z]{{2,63}}){}{WS_ALL}*$",
            if blank { "?" } else { "" }
        ),
        "description": "An email address (at most 254 characters)."
    })
}

/// `fields::phone`: blank, or digits with `+ - ( ) .`, spaces and `x`, at least 3 digits,
/// at most 32 characters once trimmed.
fn phone() -> Value {
    let p = r"[0-9+().xX-]";
    let core = format!(r"(?=(?:[^0-9]*[0-9]){{3}}){p}(?:[0-9 +().xX-]{{0,30}}{p})?");
    json!({ "pattern": format!("^{WS_LINE}*(?:{core})?{WS_LINE}*$") })
}

/// `values::money`: a decimal string (or number) from 0 to `max_whole` digits before the
/// point, at most two after (trailing zeros aside); `-0` is zero.
fn money(max_whole: usize) -> Value {
    let s = format!(
        r"^{WS_ALL}*(?:-0{{1,20}}(?:\.0{{1,15}})?|0{{0,20}}[0-9]{{1,{max_whole}}}(?:\.[0-9]{{1,2}}0{{0,8}}|\.0{{1,10}})?){WS_ALL}*$"
    );
    json!({ "anyOf": [
        {"type": "string", "pattern": s},
        {"type": "integer", "minimum": 0, "maximum": 99_999_999},
    ]})
}

/// `values::quantity`: more than 0, at most 1,000,000, at most three decimals.
fn quantity() -> Value {
    let s = format!(
        r"^{WS_ALL}*0{{0,20}}(?:[1-9][0-9]{{0,5}}(?:\.[0-9]{{1,3}}0{{0,8}})?|1000000(?:\.0{{1,10}})?|0\.(?=[0-9]{{0,2}}[1-9])[0-9]{{1,3}}0{{0,8}}){WS_ALL}*$"
    );
    json!({ "anyOf": [
        {"type": "string", "pattern": s},
        {"type": "integer", "minimum": 1, "maximum": 1_000_000},
    ]})
}

/// `values::timestamp`: RFC 3339, in the years 2000 to 2100.
fn timestamp() -> Value {
    json!({ "pattern": r"^(?:20[0-9]{2}|2100)-" })
}

/// `products::sku`: blank, or up to 64 characters without whitespace.
fn sku() -> Value {
    json!({ "pattern": format!("^{WS_LINE}*(?:{SOLID}{{1,64}})?{WS_LINE}*$") })
}

fn time_zone() -> Value {
    let names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect();
    json!({ "enum": names })
}

/// Merges `extra` into a property schema. Nullable properties (`type: [string, null]`) keep
/// null allowed: string keywords do not apply to null. `anyOf` replaces the type.
fn merge(prop: &mut Value, extra: &Value) {
    let Some(p) = prop.as_object_mut() else {
        return;
    };
    if let Some(any_of) = extra.get("anyOf") {
        let nullable = p
            .get("type")
            .and_then(Value::as_array)
            .is_some_and(|t| t.iter().any(|x| x == "null"));
        p.remove("type");
        let mut variants = any_of.as_array().cloned().unwrap_or_default();
        if nullable {
            variants.push(json!({"type": "null"}));
        }
        p.insert("anyOf".into(), Value::Array(variants));
        return;
    }
    for (k, val) in extra.as_object().into_iter().flatten() {
        p.insert(k.clone(), val.clone());
    }
}

fn property<'a>(doc: &'a mut Value, schema: &str, field: &str) -> Option<&'a mut Value> {
    doc.pointer_mut(&format!("/components/schemas/{schema}/properties/{field}"))
}

/// Query parameters: `limit`, `cursor`, the filters and `start_date`.
fn parameter_constraints(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        for op in item.as_object_mut().into_iter().flat_map(Map::values_mut) {
            for param in op
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                let name = param["name"].as_str().unwrap_or_default().to_owned();
                let extra = match name.as_str() {
                    "limit" => json!({"minimum": 1, "maximum": MAX_LIMIT}),
                    "cursor" => json!({"pattern": CURSOR_PATTERN}),
                    "q" => json!({"pattern": format!(
                        r"^{WS_ALL}*[^\u0000\s](?:[^\u0000]{{0,98}}[^\u0000\s])?{WS_ALL}*$"
                    )}),
                    "entity_type" => json!({"pattern": "^[a-z_]{1,64}$"}),
                    "status" => status_enum(path),
                    "start_date" => {
                        param["required"] = json!(true);
                        json!({"format": "date", "pattern": r"^(?:20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"})
                    }
                    _ => continue,
                };
                if let Some(schema) = param.get_mut("schema") {
                    merge(schema, &extra);
                }
            }
        }
    }
}

fn status_enum(path: &str) -> Value {
    let component = if path.contains("tickets") {
        "TicketStatus"
    } else if path.contains("invoices") {
        "InvoiceStatus"
    } else {
        "MessageStatus"
    };
    json!({ "$ref": format!("#/components/schemas/{component}") })
}

/// Rules across fields: an invoice item names a product, or has a description and a unit
/// price; a message's type decides whether it has a subject and body (custom only), a ticket
/// (appointment messages) or an invoice (invoices and payment reminders).
fn object_rules(doc: &mut Value) {
    let solid_text = |min, max, multiline| {
        let mut t = text(min, max, multiline);
        t["type"] = json!("string");
        t
    };
    let item_rule = json!([
        {"required": ["product_id"], "properties": {"product_id": {"type": "string", "format": "uuid"}}},
        {"required": ["description", "unit_price"], "properties": {
            "description": solid_text(1, 1000, false),
            "unit_price": {"not": {"type": "null"}}}}
    ]);
    if let Some(s) = doc.pointer_mut("/components/schemas/InvoiceItemInput") {
        s["anyOf"] = item_rule;
    }
    let none = json!({"type": "null"});
    let uuid = json!({"type": "string", "format": "uuid"});
    let message_rule = json!([
        {"required": ["subject", "body"], "properties": {
            "message_type": {"const": "custom"},
            "subject": solid_text(1, 200, false), "body": solid_text(1, 10_000, true)}},
        {"required": ["ticket_id"], "properties": {
            "message_type": {"enum": ["appointment_confirmation", "appointment_reminder", "appointment_cancellation"]},
            "subject": none, "body": none, "ticket_id": uuid}},
        {"required": ["invoice_id"], "properties": {
            "message_type": {"enum": ["invoice", "payment_reminder"]},
            "subject": none, "body": none, "invoice_id": uuid}},
        {"properties": {"message_type": {"const": "service_reminder"}, "subject": none, "body": none}}
    ]);
    if let Some(s) = doc.pointer_mut("/components/schemas/MessageCreate") {
        s["anyOf"] = message_rule;
    }
}

/// Fields of partial updates that may be left out but not cleared: null is refused.
const NOT_NULL: [(&str, &str); 15] = [
    ("UserPatch", "business_name"),
    ("UserPatch", "timezone"),
    ("CustomerPatch", "first_name"),
    ("CustomerPatch", "attributes"),
    ("CustomerPatch", "email_opt_out"),
    ("ProductPatch", "name"),
    ("ProductPatch", "price"),
    ("ProductPatch", "is_active"),
    ("TicketPatch", "title"),
    ("TicketPatch", "duration_minutes"),
    ("InvoicePatch", "currency"),
    ("InvoicePatch", "items"),
    ("MessagePatch", "scheduled_for"),
    ("MessagePatch", "subject"),
    ("MessagePatch", "body"),
];

fn drop_null(prop: &mut Value) {
    if let Some(types) = prop.get_mut("type").and_then(Value::as_array_mut) {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types[0].clone();
            prop["type"] = only;
        }
    }
    if let Some(any) = prop.get_mut("anyOf").and_then(Value::as_array_mut) {
        any.retain(|v| v != &json!({"type": "null"}));
    }
}

/// Free-form attributes (`fields::attributes`): JSON without NUL characters, numbers within
/// ±1e15 (at most 16 levels deep and 64 KiB).
fn attribute_schemas(doc: &mut Value) {
    let value_ref = json!({"$ref": "#/components/schemas/AttributeValue"});
    let keys = json!({"pattern": "^[^\\u0000]*$"});
    let value = json!({"anyOf": [
        {"type": "string", "pattern": "^[^\\u0000]*$"},
        {"type": "number", "minimum": -1e15, "maximum": 1e15},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "array", "items": value_ref},
        {"type": "object", "additionalProperties": value_ref, "propertyNames": keys}
    ], "description": "Any JSON value without NUL characters; numbers within ±1e15."});
    if let Some(all) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        all.insert("AttributeValue".into(), value);
    }
    for schema in ["CustomerCreate", "CustomerPatch"] {
        if let Some(p) = property(doc, schema, "attributes") {
            p["additionalProperties"] = value_ref.clone();
            p["propertyNames"] = keys.clone();
        }
    }
}

/// Writes every constraint into `doc`.
pub fn apply(doc: &mut Value) {
    attribute_schemas(doc);
    for (schema, field) in NOT_NULL {
        if let Some(prop) = property(doc, schema, field) {
            drop_null(prop);
        }
    }
    for (schema, field, extra) in body_constraints() {
        if let Some(prop) = property(doc, schema, field) {
            merge(prop, &extra);
        }
    }
    object_rules(doc);
    parameter_constraints(doc);
    // The one-click unsubscribe form (RFC 8058): one field with one value.
    if let Some(schema) = doc.pointer_mut(
        "/paths/~1u~1{token}/post/requestBody/content/application~1x-www-form-urlencoded/schema",
    ) {
        *schema = json!({"type": "object", "required": ["List-Unsubscribe"],
            "properties": {"List-Unsubscribe": {"type": "string", "const": "One-Click"}}});
    }
}
