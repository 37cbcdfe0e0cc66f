//! The offline extractor (`LLM_PROVIDER=rules`, the default): deterministic patterns for all
//! eight categories over the sentences of the notes. Every value it proposes carries the
//! sentences it came from as evidence. It is general vocabulary and grammar (species and
//! breeds, vehicle words with parking context, access and hazard cues, preference verbs with
//! their topics, interval phrases with a service cue), with negation in a short window before
//! each match ("no pets", "didn't need the ladder").
//!
//! Its answer goes through `extraction::finalize` like a model's, so both providers are held to
//! the same schema and grounding. Quality on the labelled set `tests/fixtures/
//! extraction_notes.json` is reported in docs/BENCHMARKS.md and held by a test.

mod animals;
mod gear;
mod people;
mod schedule;
mod site;
pub mod text;

use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use text::{Sentence, clip, join};

/// Longest text value and evidence quote the schema allows.
const TEXT_MAX: usize = 500;
/// Most evidence quotes per value the schema allows.
const EVIDENCE_MAX: usize = 10;

/// Extracts every category the notes mention, as raw `{category: {value, evidence}}` (to be
/// finalised against the schema and the notes). `visit_date` places dates written without a
/// year ("April 15": the first one after the visit).
pub fn extract(notes: &str, visit_date: NaiveDate) -> Map<String, Value> {
    let sentences = text::sentences(notes);
    let found: [(&str, Option<Value>); 8] = [
        ("customer_demographic", people::demographic(&sentences)),
        ("pet", animals::pets(&sentences)),
        ("property_notes", site::access_and_hazards(&sentences)),
        ("equipment_needed", gear::equipment(&sentences)),
        ("service_preferences", people::preferences(&sentences)),
        ("property_details", site::details(&sentences)),
        ("vehicle", gear::vehicle(&sentences)),
        (
            "next_service_due",
            schedule::next_service_due(&sentences, visit_date),
        ),
    ];
    found
        .into_iter()
        .filter_map(|(category, entry)| entry.map(|e| (category.to_owned(), e)))
        .collect()
}

/// `{value, evidence}` with the evidence sentences deduplicated and bounded.
fn entry(value: Value, evidence: &[&Sentence<'_>]) -> Option<Value> {
    let mut quotes: Vec<String> = Vec::new();
    for s in evidence {
        let q = clip(s.text, TEXT_MAX);
        if !quotes.contains(&q) && quotes.len() < EVIDENCE_MAX {
            quotes.push(q);
        }
    }
    if quotes.is_empty() {
        return None;
    }
    Some(json!({ "value": value, "evidence": quotes }))
}

/// A text category: the pieces joined into one value, the sentences as evidence.
fn text_entry(pieces: &[String], evidence: &[&Sentence<'_>]) -> Option<Value> {
    let value = join(pieces, "; ", TEXT_MAX);
    if value.is_empty() {
        return None;
    }
    entry(Value::String(value), evidence)
}

/// A sentence as a value piece: without a trailing stop, first letter as written.
fn piece(s: &Sentence<'_>) -> String {
    clip(s.text.trim_end_matches(['.', '!', ',']), TEXT_MAX)
}

#[cfg(test)]
mod quality_tests;
#[cfg(test)]
mod tests;
