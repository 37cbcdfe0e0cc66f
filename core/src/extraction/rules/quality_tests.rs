//! The rules extractor against labelled notes: per-category precision and recall (a category
//! counts when it is proposed at all), value checks for pets, vehicles and due dates, and a
//! floor under the overall F1 so a change that makes the rules worse fails.
//!
//! The sets: `tests/fixtures/extraction_notes.json` (the development set, seen while the rules
//! were written) and `extraction_notes_holdout{,2,3,4}.json`, each written after the rules were
//! frozen and scored once before any change — that first score is the honest estimate for
//! unseen notes, recorded in docs/BENCHMARKS.md. A held-out set the rules were then tuned on is
//! spent: keep it as a regression set and write a new one. `cargo test -p fieldwork-core --lib
//! rules_quality -- --nocapture --test-threads 1` prints the tables.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::extraction::schema::parse_duration;
use crate::extraction::{CATEGORIES, add_span, finalize, schema};

const DEVELOPMENT: &str = include_str!("../../../../tests/fixtures/extraction_notes.json");
const HOLDOUT: &str = include_str!("../../../../tests/fixtures/extraction_notes_holdout.json");
const HOLDOUT_2: &str = include_str!("../../../../tests/fixtures/extraction_notes_holdout2.json");
const HOLDOUT_3: &str = include_str!("../../../../tests/fixtures/extraction_notes_holdout3.json");
const HOLDOUT_4: &str = include_str!("../../../../tests/fixtures/extraction_notes_holdout4.json");

/// The overall (micro-averaged) F1 reached on each set; they may only go up.
const MIN_DEVELOPMENT_F1: f64 = 0.97;
const MIN_HOLDOUT_F1: f64 = 0.99;
const MIN_HOLDOUT_2_F1: f64 = 0.98;
const MIN_HOLDOUT_3_F1: f64 = 0.98;
const MIN_HOLDOUT_4_F1: f64 = 0.98;

#[derive(Debug, Deserialize)]
struct Labelled {
    id: String,
    notes: String,
    expect: Map<String, Value>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    tp: u32,
    fp: u32,
    fn_: u32,
}

impl Counts {
    fn precision(self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    fn recall(self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    fn f1(self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(a: u32, b: u32) -> f64 {
    if b == 0 {
        1.0
    } else {
        f64::from(a) / f64::from(b)
    }
}

fn visit() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

/// Whether the proposed value agrees with the label's details (types, names, dates).
fn value_matches(category: &str, expected: &Value, proposed: &Value) -> Option<bool> {
    match category {
        "pet" => {
            let list = |v: &Value| -> Vec<(String, String)> {
                let items = match v {
                    Value::Array(a) => a.clone(),
                    other => vec![other.clone()],
                };
                let mut out: Vec<(String, String)> = items
                    .iter()
                    .map(|p| {
                        let s = |k| p.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                        (s("type"), s("name"))
                    })
                    .collect();
                out.sort();
                out
            };
            Some(list(expected) == list(proposed))
        }
        "vehicle" => Some(expected.get("type") == proposed.get("type")),
        "next_service_due" => {
            let proposed_date = proposed.get("date").and_then(Value::as_str)?;
            let expected_date = match (expected.get("date"), expected.get("interval")) {
                (Some(Value::String(d)), _) => d.clone(),
                (_, Some(Value::String(i))) => add_span(visit(), parse_duration(i)?)?
                    .format("%Y-%m-%d")
                    .to_string(),
                _ => return None,
            };
            Some(proposed_date.ends_with(&expected_date))
        }
        _ => None,
    }
}

#[test]
fn rules_quality_on_the_development_set() {
    let f1 = evaluate("development set", DEVELOPMENT);
    assert!(
        f1 >= MIN_DEVELOPMENT_F1,
        "overall F1 {f1:.3} fell below {MIN_DEVELOPMENT_F1}"
    );
}

#[test]
fn rules_quality_on_the_holdout_set() {
    let f1 = evaluate("held-out set", HOLDOUT);
    assert!(
        f1 >= MIN_HOLDOUT_F1,
        "overall F1 {f1:.3} fell below {MIN_HOLDOUT_F1}"
    );
}

#[test]
fn rules_quality_on_the_second_holdout_set() {
    let f1 = evaluate("second held-out set", HOLDOUT_2);
    assert!(
        f1 >= MIN_HOLDOUT_2_F1,
        "overall F1 {f1:.3} fell below {MIN_HOLDOUT_2_F1}"
    );
}

#[test]
fn rules_quality_on_the_third_holdout_set() {
    let f1 = evaluate("third held-out set", HOLDOUT_3);
    assert!(
        f1 >= MIN_HOLDOUT_3_F1,
        "overall F1 {f1:.3} fell below {MIN_HOLDOUT_3_F1}"
    );
}

#[test]
fn rules_quality_on_the_fourth_holdout_set() {
    let f1 = evaluate("fourth held-out set", HOLDOUT_4);
    assert!(
        f1 >= MIN_HOLDOUT_4_F1,
        "overall F1 {f1:.3} fell below {MIN_HOLDOUT_4_F1}"
    );
}

/// Scores the rules on one labelled set, prints the table, returns the overall F1.
fn evaluate(name: &str, fixture: &str) -> f64 {
    let set: Vec<Labelled> = serde_json::from_str(fixture).unwrap();
    assert!(set.len() >= 20, "a labelled set has at least 20 notes");
    let mut per: BTreeMap<&str, Counts> =
        CATEGORIES.iter().map(|c| (*c, Counts::default())).collect();
    let (mut values_right, mut values_checked) = (0, 0);
    let mut misses = Vec::new();
    for item in &set {
        let raw = super::extract(&item.notes, visit());
        let proposal = finalize(schema().unwrap(), Value::Object(raw), &item.notes, visit())
            .unwrap_or_else(|e| panic!("{}: {e}", item.id));
        for category in CATEGORIES {
            let expected = item.expect.get(category);
            let proposed = proposal.get(category);
            let counts = per.get_mut(category).unwrap();
            match (expected, proposed) {
                (Some(e), Some(p)) => {
                    counts.tp += 1;
                    if let Some(ok) = value_matches(category, e, &p["value"]) {
                        values_checked += 1;
                        if ok {
                            values_right += 1;
                        } else {
                            misses.push(format!("{} {category}: value {}", item.id, p["value"]));
                        }
                    }
                }
                (None, Some(p)) => {
                    counts.fp += 1;
                    misses.push(format!("{} {category}: FP {}", item.id, p["evidence"]));
                }
                (Some(_), None) => {
                    counts.fn_ += 1;
                    misses.push(format!("{} {category}: FN", item.id));
                }
                (None, None) => {}
            }
        }
    }
    let mut total = Counts::default();
    println!("\n{name} ({} notes)\n", set.len());
    println!("| category | precision | recall | F1 | labelled |");
    println!("|---|---:|---:|---:|---:|");
    for (category, c) in &per {
        total.tp += c.tp;
        total.fp += c.fp;
        total.fn_ += c.fn_;
        println!(
            "| `{category}` | {:.2} | {:.2} | {:.2} | {} |",
            c.precision(),
            c.recall(),
            c.f1(),
            c.tp + c.fn_
        );
    }
    println!(
        "| **overall (micro)** | **{:.2}** | **{:.2}** | **{:.3}** | {} |",
        total.precision(),
        total.recall(),
        total.f1(),
        total.tp + total.fn_
    );
    println!(
        "values right (pet types and names, vehicle type, due date): {values_right}/{values_checked}"
    );
    for m in &misses {
        println!("  {m}");
    }
    total.f1()
}
