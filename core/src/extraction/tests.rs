//! Unit tests of the attribute schema, its validator, its derived forms and `finalize`.

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::schema::{AttributeSchema, SCHEMA_JSON, parse_duration};
use super::{CATEGORIES, finalize, schema};

#[test]
fn the_checked_in_schema_loads_and_lists_the_eight_categories() {
    let s = schema().unwrap();
    let mut names: Vec<&str> = s.categories().iter().map(|(n, _)| *n).collect();
    let mut expected = CATEGORIES.to_vec();
    names.sort_unstable();
    expected.sort_unstable();
    assert_eq!(names, expected);
    assert!(
        s.categories().iter().all(|(_, d)| !d.is_empty()),
        "every category is described"
    );
}

#[test]
fn keywords_the_validator_does_not_implement_are_refused() {
    let e = AttributeSchema::parse(r#"{"type":"object","properties":{"a":{"pattern":"x"}}}"#)
        .unwrap_err();
    assert!(e.contains("pattern"), "{e}");
    let e =
        AttributeSchema::parse(r##"{"type":"object","properties":{"a":{"$ref":"#/$defs/no"}}}"##)
            .unwrap_err();
    assert!(e.contains("unresolvable"), "{e}");
    assert!(AttributeSchema::parse(SCHEMA_JSON).is_ok());
}

#[test]
fn valid_documents_pass_and_problems_are_reported_by_path_without_values() {
    let s = schema().unwrap();
    let ok = json!({
        "pet": {"value": [{"type": "dog", "name": "Rex"}], "evidence": ["dog Rex"]},
        "customer_demographic": {"value": "elderly", "evidence": ["Elderly"]},
        "next_service_due": {"value": {"interval": "P6M"}, "evidence": ["in 6 months"]}
    });
    assert!(s.validate(&ok).is_empty(), "{:?}", s.validate(&ok));
    let bad = json!({
        "pet": {"value": {"type": "", "colour": "SECRET"}, "evidence": []},
        "vehicle": {"value": {"note": "x"}},
        "unknown": {},
        "next_service_due": {"value": {"date": "2026-02-30"}, "evidence": ["x"]}
    });
    let problems = s.validate(&bad);
    let paths: Vec<&str> = problems.iter().map(|v| v.path.as_str()).collect();
    for expected in [
        "pet.value",
        "pet.evidence",
        "vehicle.value.type",
        "vehicle.evidence",
        "unknown",
        "next_service_due.value.date",
    ] {
        assert!(paths.contains(&expected), "{expected} in {paths:?}");
    }
    assert!(problems.iter().all(|v| !v.problem.contains("SECRET")));
    let e = s
        .validate_field("attributes", &json!({"pet": 1}))
        .unwrap_err();
    assert!(
        matches!(e, crate::Error::Validation(ref f) if f.contains_key("attributes.pet")),
        "{e:?}"
    );
}

#[test]
fn durations_are_iso_calendar_spans() {
    assert_eq!(parse_duration("P6M").map(|d| d.months), Some(6));
    assert_eq!(
        parse_duration("P1Y2M3W4D").map(|d| (d.years, d.days)),
        Some((1, 4))
    );
    for bad in ["P", "6M", "P0D", "PT5H", "P6M1Y", "P1.5Y", "P99999D", "p6m"] {
        assert!(parse_duration(bad).is_none(), "{bad}");
    }
}

#[test]
fn the_strict_form_requires_everything_and_makes_optional_fields_nullable() {
    let strict = schema().unwrap().strict_response_schema();
    let required = strict["required"].as_array().unwrap();
    assert_eq!(required.len(), CATEGORIES.len());
    assert_eq!(strict["additionalProperties"], false);
    assert_eq!(
        strict["properties"]["pet"]["anyOf"][1],
        json!({"type": "null"})
    );
    let pet = &strict["$defs"]["pet"];
    assert_eq!(pet["required"], json!(["name", "type"]));
    assert_eq!(pet["properties"]["name"]["type"], json!(["string", "null"]));
    let text = serde_json::to_string(&strict).unwrap();
    for dropped in ["minLength", "maxLength", "minProperties", "$schema", "$id"] {
        assert!(!text.contains(dropped), "{dropped}");
    }
}

#[test]
fn the_openapi_form_has_no_local_references() {
    let doc = schema().unwrap().openapi_schema();
    let text = serde_json::to_string(&doc).unwrap();
    assert!(!text.contains("$ref") && !text.contains("$defs") && !text.contains("$schema"));
    assert_eq!(
        doc["properties"]["pet"]["properties"]["evidence"]["type"],
        "array"
    );
}

#[test]
fn finalize_strips_nulls_grounds_evidence_and_resolves_intervals() {
    let notes = "Dog named Rex. Filter due again in 6 months.";
    let visit = NaiveDate::from_ymd_opt(2026, 8, 31).unwrap();
    let raw = json!({
        "customer_demographic": null,
        "pet": {"value": {"type": "dog", "name": "Rex"}, "evidence": ["dog named rex", "a cat named Tom"]},
        "vehicle": {"value": {"type": "truck", "note": null}, "evidence": ["Big truck outside"]},
        "next_service_due": {"value": {"date": null, "interval": "P6M"}, "evidence": ["due again ... 6 months"]},
        "property_notes": {"value": "x", "evidence": ["Dog named Rex."]},
        "equipment_needed": {"value": {}, "evidence": ["Rex"]}
    });
    // property_notes has a string value but the category expects... a string: fine. The
    // vehicle's quote is not in the notes: dropped. The empty service value: dropped.
    let p = finalize(schema().unwrap(), raw, notes, visit).unwrap();
    let keys: Vec<&String> = p.keys().collect();
    assert_eq!(keys, ["next_service_due", "pet", "property_notes"]);
    assert_eq!(p["pet"]["evidence"], json!(["dog named rex"]));
    assert_eq!(
        p["next_service_due"]["value"]["date"], "2027-02-28",
        "month end clamps"
    );
    let e = finalize(
        schema().unwrap(),
        json!({"pet": {"value": "dog", "evidence": ["Dog"]}}),
        notes,
        visit,
    )
    .unwrap_err();
    assert!(e.starts_with("schema-invalid: pet.value"), "{e}");
    assert!(finalize(schema().unwrap(), json!([1]), notes, visit).is_err());
}

#[test]
fn an_empty_answer_is_an_empty_proposal() {
    let p = finalize(schema().unwrap(), json!({}), "nothing", NaiveDate::MIN).unwrap();
    assert!(p.is_empty());
    let _: Value = Value::Object(p);
}
