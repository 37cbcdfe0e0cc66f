//! From an extractor's raw answer to a proposal the office can trust: nulls (how a strict
//! structured-output answer says "absent") stripped, categories left without a value dropped,
//! the schema enforced, every evidence quote checked against the notes (a value whose words
//! are not in the notes is dropped, never shown as if the technician had written it), and an
//! interval such as "in 6 months" resolved to the date it means counted from the visit.

use chrono::{Days, Months, NaiveDate};
use serde_json::{Map, Value, json};

use super::schema::{AttributeSchema, CalendarSpan, parse_date, parse_duration};

/// The latest a next service may be proposed for, counted from the visit.
const MAX_YEARS_AHEAD: u32 = 10;

/// Turns a raw answer into a proposal: a category → `{value, evidence}` map that is valid
/// against the schema and grounded in `notes`. `Err` says why the answer is unusable
/// (schema-invalid), naming paths and rules only, never values.
pub fn finalize(
    schema: &AttributeSchema,
    raw: Value,
    notes: &str,
    visit_date: NaiveDate,
) -> Result<Map<String, Value>, String> {
    let mut raw = raw;
    strip_nulls(&mut raw);
    let Value::Object(mut map) = raw else {
        return Err("schema-invalid: the answer is not a JSON object".into());
    };
    map.retain(|_, entry| !entry.get("value").is_some_and(is_empty_container));
    let doc = Value::Object(map);
    let violations = schema.validate(&doc);
    if !violations.is_empty() {
        let listed: Vec<String> = violations
            .iter()
            .take(3)
            .map(|v| {
                format!(
                    "{} {}",
                    if v.path.is_empty() { "answer" } else { &v.path },
                    v.problem
                )
            })
            .collect();
        return Err(format!("schema-invalid: {}", listed.join("; ")));
    }
    let Value::Object(mut map) = doc else {
        return Err("schema-invalid: the answer is not a JSON object".into());
    };
    let haystack = normalise(notes);
    map.retain(|_, entry| ground(entry, &haystack));
    if let Some(entry) = map.get_mut("next_service_due")
        && !resolve_due(entry, visit_date)
    {
        map.remove("next_service_due");
    }
    Ok(map)
}

fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, x| !x.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

fn is_empty_container(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Lower case, whitespace collapsed, typographic quotes and dashes made plain.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        let c = match c {
            '\u{2018}' | '\u{2019}' => '\'',
            '\u{201C}' | '\u{201D}' => '"',
            '\u{2013}' | '\u{2014}' => '-',
            c => c,
        };
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Keeps the evidence quotes found in the notes (a quote may skip words with "..."); the
/// entry survives when at least one does.
fn ground(entry: &mut Value, haystack: &str) -> bool {
    let Some(Value::Array(quotes)) = entry.get_mut("evidence") else {
        return false;
    };
    quotes.retain(|q| q.as_str().is_some_and(|q| quoted(q, haystack)));
    !quotes.is_empty()
}

fn quoted(quote: &str, haystack: &str) -> bool {
    let parts: Vec<String> = quote
        .split("...")
        .flat_map(|p| p.split('\u{2026}'))
        .map(|p| {
            let p = normalise(p);
            p.trim_matches(|c: char| c.is_whitespace() || "\"'.,;:!?-".contains(c))
                .to_owned()
        })
        .filter(|p| !p.is_empty())
        .collect();
    !parts.is_empty() && parts.iter().all(|p| haystack.contains(p.as_str()))
}

/// Fills `value.date` from `value.interval` counted from the visit. A date before the visit
/// or implausibly far ahead is not a next service: `false` drops the category.
fn resolve_due(entry: &mut Value, visit_date: NaiveDate) -> bool {
    let Some(Value::Object(value)) = entry.get_mut("value") else {
        return false;
    };
    let date = match value.get("date").and_then(Value::as_str) {
        Some(d) => parse_date(d),
        None => value
            .get("interval")
            .and_then(Value::as_str)
            .and_then(parse_duration)
            .and_then(|span| add_span(visit_date, span)),
    };
    let Some(date) = date else {
        return false;
    };
    let latest = visit_date.checked_add_months(Months::new(12 * MAX_YEARS_AHEAD));
    if date <= visit_date || latest.is_some_and(|l| date > l) {
        return false;
    }
    value.insert("date".into(), json!(date.format("%Y-%m-%d").to_string()));
    true
}

/// `from` plus a calendar span (months clamp to the month's last day: Aug 31 + 6 months is
/// Feb 28/29).
pub fn add_span(from: NaiveDate, span: CalendarSpan) -> Option<NaiveDate> {
    let months = span.years.checked_mul(12)?.checked_add(span.months)?;
    let days = u64::from(span.weeks) * 7 + u64::from(span.days);
    from.checked_add_months(Months::new(months))?
        .checked_add_days(Days::new(days))
}

/// The category values without their evidence: what is merged into a customer's attributes.
pub fn values_of(attributes: &Map<String, Value>) -> Map<String, Value> {
    attributes
        .iter()
        .filter_map(|(k, entry)| entry.get("value").map(|v| (k.clone(), v.clone())))
        .collect()
}
