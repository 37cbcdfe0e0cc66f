//! Rules for things: `equipment_needed` (ladders with their size, lifts and scaffolding, drain
//! and sewer tools, vacuums and fans, poles, safety gear, traps and bait stations, filters with
//! their size, a second technician, and whatever the notes say to "bring") and `vehicle` (a
//! vehicle word with parking or access context, never the technician's own van).

use std::sync::LazyLock;

use serde_json::{Value, json};

use super::text::{Lazy, Pattern, Sentence, clip, join, negated};
use super::{TEXT_MAX, entry, piece};

static EQUIPMENT: Lazy = LazyLock::new(|| {
    Pattern::new(concat!(
        r"(?i)\b(",
        r"(\d{1,3} ?(-|\s)? ?(ft|foot|feet|')\.? )?((extension|step|a-frame|tall|long|big|short|little|telescoping|multi-position|fiberglass|articulating|roof) )?ladders?",
        r"|scaffold(ing)?|(boom|scissor|man|aerial|genie) lifts?|(or|and|need|needs|a) lift\b|cherry ?pickers?|bucket trucks?",
        r"|(safety )?harness(es)?|fall protection|roof (anchors?|jacks?)|toe boards?",
        r"|((big|large|small|power|hand|drum|cable) )?(drain|sewer|toilet|closet|main[- ]line) (snakes?|augers?|machines?)|augers?",
        r"|(sewer|inspection|drain|pipe|thermal|infrared) cameras?|camera inspection|hydro[- ]?jet(ter|ting)?|jetters?",
        r"|shop[- ]?vacs?|wet[- ]?(/|dry[- ]?)?(dry )?vacs?|dehumidifiers?|air movers?|extra fans",
        r"|(pressure|power) washers?|water[- ]fed poles?|extension poles?|squeegees?",
        r"|tarps?|drop cloths?|respirators?|tyvek( suits?)?|(hazmat|protective|bee|crawl) suits?|suit up|protective gear|ppe|knee pads|headlamps?",
        r"|extension cords?|(long|extra|\d+ ?(ft|foot|feet|')) hoses?",
        r"|([a-z]+ )?filters? ?\(? ?\d{1,2} ?x ?\d{1,2}( ?x ?\d{1,2})? ?\)?|\d{1,2} ?x ?\d{1,2}( ?x ?\d{1,2})? ([a-z]+ )?filters?",
        r"|((snap|glue|live|rodent|mouse|rat|tamper[- ]resistant) )+traps?|((tamper[- ]resistant|rodent|bait) )*(bait )?(stations?|boxes)",
        r"|(two|2)[- ](man|person|tech|technician)( job| crew)?|second (tech|technician|person|man)|(extra|another) (tech|technician|hand|person)|helper|(2|two) techs",
        r"|step stools?|pole saws?|chain ?saws?|moisture meters?|refrigerant|recovery machines?|vacuum pumps?|pipe wrenches?|appliance dolly|hand trucks?",
        r")\b",
    ))
});

/// "bring a ...": whatever the notes say to bring, up to the next clause.
static BRING: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"(?i)\b(?:bring|brought)\s+(?:a |an |the |extra |more |spare |some |another |our |\d+ )?([a-z][a-z0-9/ -]{2,40}?)(?:\s+(?:for|to|because|as|since|next|this|if|when|so|and|or|in|on)\b|[,.;)]|$)",
    )
});

/// "bring them in", "brought it back": a pronoun or particle, not a thing to bring.
static NOT_AN_ITEM: Lazy = LazyLock::new(|| {
    Pattern::new(r"(?i)^(them|it|him|her|us|me|in|out|back|up|down|over|home|along|over)\b")
});

/// Equipment, tools, parts and crew the job needs or needed.
pub fn equipment(sentences: &[Sentence<'_>]) -> Option<Value> {
    let mut items: Vec<String> = Vec::new();
    let mut evidence = Vec::new();
    for s in sentences {
        let mut hit = false;
        for m in EQUIPMENT.find_iter(s.text) {
            if negated(&s.lower, m.start(), 3) || is_part_name(&s.lower, m.start(), m.as_str()) {
                continue;
            }
            items.push(m.as_str().trim().to_owned());
            hit = true;
        }
        if !hit
            && let Some(c) = BRING.captures(s.text)
            && let Some(item) = c.get(1)
            && !negated(&s.lower, c.get(0).map_or(0, |m| m.start()), 3)
            && !NOT_AN_ITEM.is_match(item.as_str())
        {
            items.push(item.as_str().trim().to_owned());
            hit = true;
        }
        if hit {
            evidence.push(s);
        }
    }
    let value = join(&items, ", ", TEXT_MAX);
    if value.is_empty() {
        return None;
    }
    entry(Value::String(value), &evidence)
}

/// "P-trap", "trap door": the word names a part of the property, not equipment.
fn is_part_name(lower: &str, start: usize, matched: &str) -> bool {
    let m = matched.to_ascii_lowercase();
    let before = lower.get(..start).unwrap_or("");
    (m.starts_with("trap") && (before.ends_with("p-") || before.ends_with("p ")))
        || (m == "helper" && before.trim_end().ends_with("'s"))
}

static VEHICLE: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"(?i)\b(pick-?ups?( trucks?)?|(box|dump|tow|semi|delivery|food|work) trucks?|trucks?|mini-?vans?|(work |cargo )?vans?|cars?|suvs?|jeeps?|sedans?|rvs?|campers?|motor ?homes?|(travel|boat|utility|horse|car) trailers?|trailers?|boats?|jet ?skis?|motorcycles?|motorbikes?|dirt bikes?|atvs?|tractors?|golf carts?|teslas?|prius|f-?150s?|f-?250s?|silverados?|tacomas?|tundras?)\b",
    )
});

/// Where a vehicle stands or what it is in the way of.
static PARKING: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"(?i)\b(park(ed|s|ing)?|driveway|drive|garage|carport|curb|kerb|street|road|alley|block(s|ed|ing)?|in the way|side yard|yard|lawn|behind|next to|along|takes up|take up|move|moved|covers?|access|lot)\b",
    )
});

/// The customer's (or a neighbour's) vehicle, whatever else the sentence says.
static OWNER: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"(?i)\b(customer'?s|client'?s|their|his|her|owner'?s|homeowner'?s|tenant'?s|neighbou?r'?s|husband'?s|wife'?s|son'?s|daughter'?s)\s+(\w+\s+){0,2}$",
    )
});

/// The technician's own vehicle.
static OURS: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"(?i)(\b(our|my|company|service|the tech'?s|technician'?s|bucket)\s+(\w+\s+)?$)|(\bpark(ed|ing)?\s+(the|our|my)\s+$)|(\b(get|with)\s+the\s+$)",
    )
});

/// Words after a vehicle word that make it something else ("car port", "trailer home").
static NOT_A_VEHICLE: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"(?i)^[\s-]*(port|wash|charger|charging|seat|keys?|home|homes|park|house|hitch)\b",
    )
});

/// The first vehicle with parking or access context that is not ours.
pub fn vehicle(sentences: &[Sentence<'_>]) -> Option<Value> {
    for s in sentences {
        let parking = PARKING.is_match(&s.lower);
        for m in VEHICLE.find_iter(s.text) {
            let before = &s.text[..m.start()];
            let owned = OWNER.is_match(before);
            if negated(&s.lower, m.start(), 3)
                || NOT_A_VEHICLE.is_match(&s.text[m.end()..])
                || (!owned && (OURS.is_match(before) || !parking))
            {
                continue;
            }
            let value = json!({
                "type": vehicle_type(m.as_str()),
                "note": clip(&piece(s), TEXT_MAX),
            });
            return entry(value, &[s]);
        }
    }
    None
}

/// The vehicle word as a type: singular, lower case, acronyms in capitals.
fn vehicle_type(word: &str) -> String {
    let w = word.to_ascii_lowercase();
    let w = w
        .strip_prefix("work ")
        .or_else(|| w.strip_prefix("cargo "))
        .unwrap_or(&w);
    let trucks = [
        "pick",
        "f-150",
        "f150",
        "f-250",
        "f250",
        "silverado",
        "tacoma",
        "tundra",
    ];
    if trucks.iter().any(|t| w.starts_with(t)) {
        return "truck".into();
    }
    if w.starts_with("tesla") || w == "prius" {
        return "car".into();
    }
    let singular = match w {
        "rvs" | "rv" => return "RV".into(),
        "suvs" | "suv" => return "SUV".into(),
        "atvs" | "atv" => return "ATV".into(),
        w if w.ends_with("ies") => w.to_owned(),
        w if w.ends_with('s') && !w.ends_with("ss") => w[..w.len() - 1].to_owned(),
        w => w.to_owned(),
    };
    singular
        .replace("motor home", "motorhome")
        .replace("mini-van", "minivan")
}
