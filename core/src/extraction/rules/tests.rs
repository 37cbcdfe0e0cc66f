//! Unit tests of the rules extractor: the seed's example, each category, negation, and the
//! traps (the technician's van, pests, P-traps, ages and warranties).

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::extract;
use crate::extraction::{finalize, schema};

fn visit() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

fn proposal(notes: &str) -> serde_json::Map<String, Value> {
    let raw = extract(notes, visit());
    finalize(schema().unwrap(), Value::Object(raw), notes, visit()).unwrap()
}

fn categories(notes: &str) -> Vec<String> {
    proposal(notes).keys().cloned().collect()
}

#[test]
fn the_seed_example_is_a_vehicle() {
    let notes = "Large truck always parked in driveway. Had to set up ladder on lawn instead.";
    let p = proposal(notes);
    assert_eq!(p["vehicle"]["value"]["type"], "truck");
    assert_eq!(
        p["vehicle"]["evidence"],
        json!(["Large truck always parked in driveway"])
    );
    assert!(
        p["equipment_needed"]["value"]
            .as_str()
            .unwrap()
            .contains("ladder")
    );
}

#[test]
fn pets_come_with_names_counts_and_evidence() {
    let p = proposal("Elderly customer. Dog named Biscuit barks a lot but is harmless.");
    assert_eq!(p["pet"]["value"], json!({"type": "dog", "name": "Biscuit"}));
    assert_eq!(p["customer_demographic"]["value"], "elderly");
    let p = proposal("Dogs: Max and Bella (labs), friendly.");
    assert_eq!(
        p["pet"]["value"],
        json!([{"type": "dog", "name": "Max"}, {"type": "dog", "name": "Bella"}])
    );
    let p = proposal("two cats inside, keep doors closed");
    assert_eq!(p["pet"]["value"], json!([{"type": "cat"}, {"type": "cat"}]));
    let p = proposal("Pip the terrier guards the yard.");
    assert_eq!(p["pet"]["value"], json!({"type": "dog", "name": "Pip"}));
}

#[test]
fn negations_pests_and_gone_animals_are_not_pets() {
    for notes in [
        "No pets in the home.",
        "No dogs on site today.",
        "Mice droppings in the attic, rats in the garage.",
        "Birds nesting in the dryer vent, installed a guard.",
        "The dog passed away last month.",
        "Replaced cat5 cable to the office.",
    ] {
        assert!(!categories(notes).contains(&"pet".to_owned()), "{notes}");
    }
}

#[test]
fn the_technicians_own_van_is_not_a_vehicle() {
    assert!(!categories("Parked our van on the street.").contains(&"vehicle".to_owned()));
    assert!(
        !categories("Parked the truck at the curb and walked up.").contains(&"vehicle".to_owned())
    );
    let p = proposal("Customer's work van takes up the whole driveway.");
    assert_eq!(p["vehicle"]["value"]["type"], "van");
    let p = proposal("Boat on a trailer blocks the side yard.");
    assert_eq!(p["vehicle"]["value"]["type"], "boat");
}

#[test]
fn intervals_and_dates_resolve_from_the_visit() {
    let p = proposal("Replaced filter. Filter due again in 6 months.");
    assert_eq!(
        p["next_service_due"]["value"],
        json!({"interval": "P6M", "date": "2026-09-02"})
    );
    let p = proposal("Next sweep scheduled for 10/15/2027.");
    assert_eq!(
        p["next_service_due"]["value"],
        json!({"date": "2027-10-15"})
    );
    let p = proposal("Spring start-up around April 15.");
    assert_eq!(p["next_service_due"]["value"]["date"], "2026-04-15");
    let p = proposal("Annual service. Recheck in 2 weeks.");
    assert_eq!(p["next_service_due"]["value"]["interval"], "P2W");
    for notes in [
        "Water heater is about 12 years old, recommend replacement.",
        "Installed disposal with a 5 year warranty.",
        "Last serviced 2 years ago.",
    ] {
        assert!(
            !categories(notes).contains(&"next_service_due".to_owned()),
            "{notes}"
        );
    }
}

#[test]
fn access_hazards_details_preferences_and_equipment_are_found() {
    let p = proposal(
        "Gate code 4521. Careful: wasp nest under the deck. Two-story brick colonial. \
         Prefers morning appointments. Need the 28 ft extension ladder next time.",
    );
    for c in [
        "property_notes",
        "property_details",
        "service_preferences",
        "equipment_needed",
    ] {
        assert!(p.contains_key(c), "{c}: {p:?}");
    }
    assert!(
        p["equipment_needed"]["value"]
            .as_str()
            .unwrap()
            .contains("28 ft extension ladder")
    );
    assert!(
        !categories("Replaced the P-trap under the sink.").contains(&"equipment_needed".to_owned())
    );
    assert!(!categories("No ladder needed this time.").contains(&"equipment_needed".to_owned()));
}

#[test]
fn every_pattern_compiles_and_nothing_panics_on_odd_input() {
    // Walks every rule path (names, owners, month dates, "bring", negation) and some
    // non-ASCII text: a pattern that failed to compile would panic here (debug builds).
    let notes = "İstanbul rug. Max, a golden retriever; Biscuit the dog. Their car is in the \
                 garage. Bring extra bait for the shed. may 2 weeks. Speaks Spanish. — ☃ ...";
    let _ = proposal(notes);
    let _ = proposal("");
    let _ = proposal("....;;;\n\n - - ");
}

#[test]
fn random_text_never_panics_and_always_finalises() {
    // A deterministic generator over words, punctuation and multi-byte characters: whatever
    // the notes look like, the rules return something `finalize` accepts.
    let pieces = [
        "dog",
        "named",
        "Rex",
        "Biscuit",
        "truck",
        "driveway",
        "parked",
        "in",
        "6",
        "months",
        "due",
        "again",
        "gate",
        "code",
        "1234",
        "no",
        "pets",
        "ladder",
        "28",
        "ft",
        ".",
        ",",
        ";",
        " - ",
        "\n",
        "(",
        ")",
        ":",
        "é",
        "İ",
        "ß",
        "☃",
        "…",
        "\u{2019}",
        "April",
        "15",
        "10/15/2027",
        "prefers",
        "mornings",
        "elderly",
        "boat",
        "our",
        "van",
        "Her",
        "name",
        "is",
        "Miso",
        "cat",
        "every",
        "fall",
        "P6M",
        "\"",
        "'",
        "#",
        "-",
        "x",
    ];
    let mut state: u64 = 0x5eed;
    for _ in 0..300 {
        let mut notes = String::new();
        for _ in 0..(state % 40) {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            notes.push_str(pieces[(state >> 33) as usize % pieces.len()]);
            if state & 1 == 0 {
                notes.push(' ');
            }
        }
        state = state.wrapping_add(7);
        let _ = proposal(&notes);
    }
}
