//! Rules for the property: `property_notes` (how to get in — codes, keys, lockboxes, which
//! gate or door, bells and knocking, parking — and what to watch out for — stinging insects,
//! loose or rotten steps, exposed wiring, steep roofs, animals that bite or escape) and
//! `property_details` (building type and storeys, materials, size and age, rooms and
//! structures, installed systems).

use std::sync::LazyLock;

use serde_json::Value;

use super::text::{Lazy, Pattern, Sentence, negated};
use super::{piece, text_entry};

static ACCESS: Lazy = LazyLock::new(|| {
    Pattern::new(concat!(
        r"(?i)\b(",
        r"(gate|door|garage|alarm|lock ?box|keypad|entry|access|building|security|house|buzzer|front door|side door|back door) ?(code|combo|combination|pin|password)",
        r"|code ?(is|:|#|-)? ?#?\d{3,}|combo ?(is|:|#)? ?\d{3,}|#\d{4,}|alarm (panel|system|code)|disarm",
        r"|lock ?box|key ?safe|hide-a-key|spare key|keys? (is |are )?(under|in|with|behind|at|on|inside|hidden)|key ?(pad|fob)|(leave|left) (the )?keys?",
        r"|(use|enter|entrance|access|through|around|via|go in|come in|let (yourself )?in|crawl in)\b[^.;]{0,30}\b(side|back|rear|front|basement|garage|gate|door|entrance|porch|alley|panel|hatch)",
        r"|(side|back|rear|front) (gate|entrance)",
        r"|gates? (is |are )?(locked|unlocked|sticks|latched|open|closed|latch)|(keep|close|shut|latch) (the |every |all )?(gates?|doors?|windows?)",
        r"|ring (the )?(door ?bell|bell|buzzer|twice)|knock (loudly|hard|first|twice|on|at)|buzz|intercom|no door ?bell|door ?bell (is |doesn'?t |does not )?(broken|work)",
        r"|park (on|in|at) (the )?(street|alley|back|front|side)|(had to|have to|must|need to|please) park|park (around|down the)|no parking|narrow|dirt road|gravel road|unpaved|hard to (find|reach)|hidden (entrance|driveway)",
        r"|access (panel|hatch|door|point|is|via|through|from|to)|(not )?accessible",
        r"|clutter(ed)?|hoard(er|ing)|for access|easier access|(do not|don'?t|never) (enter|go in|open|use)",
        r"|(visitor|guest|street) parking|parking (only|is|in|on)|elevator|walk-?up|stairs only",
        r"|(only|main) (entrance|way in)|(is|are) blocked|blocked by|(only )?(reachable|accessible) (with|by|from|through|via)|can only (be )?(reach|access)",
        r"|(use|unload (on|in|at|from)) the (street|alley|curb|side|back|rear|front|garage|basement|driveway)|gated community|guard|gate ?house|security desk|front desk|concierge|check in (at|with)",
        r"|has the keys?|keys? (to|for) the|(building|property) manager",
        r")\b",
    ))
});

static HAZARD: Lazy = LazyLock::new(|| {
    Pattern::new(concat!(
        r"(?i)\b(",
        r"hazards?|careful|caution|watch (out|your (step|footing|head))|beware|danger(ous)?|aggressive|bites|biter|will bite",
        r"|wasps?|hornets?|yellow ?jackets?|bees|bee ?hives?|(wasp|hornet|bee) nests?",
        r"|loose (steps?|stairs?|boards?|railings?|tiles?|handrails?|skirting)|rott(en|ed|ing)|broken (steps?|stairs?|boards?|railings?|glass)",
        r"|(boards?|floor|floors|deck|steps?|stairs?|railings?) (is|are) (soft|loose|rotten|rotted|weak|broken|slippery|uneven)|(don'?t|do not) step",
        r"|slippery|icy|uneven|trip(ping)? hazard|low (beams?|ceilings?|clearance|overhang)",
        r"|exposed (wires?|wiring|nails)|live wires?|asbestos|mold|mould|electric fence|poison ivy|needles|unstable|weak (floor|deck|spot)|soft spots?",
        r"|steep|snakes? (in|on|around|under)|black widows?|brown recluse|scorpions?",
        r"|knock (it )?over|fragile|don'?t let (her|him|them|it|the \w+) out|get out|escape artist",
        r"|across the (walkway|path|sidewalk|driveway|floor)|watch for|look out for|tight (space|crawl|fit|squeeze)|cramped|standing water|flooded|floods|flooding|\d+ (inches|in|\x22) (high|tall|of clearance)",
        r")\b",
    ))
});

static DETAILS: Lazy = LazyLock::new(|| {
    Pattern::new(concat!(
        r"(?i)\b(",
        r"(\d|one|two|three|single|split|multi|2nd|second|third)[- ](story|storey|stories|level)|split[- ]level|bi-level|tri-level|ranch|bungalow|colonial|victorian|cape cod|townhouses?|townhomes?|condo(minium)?|duplex|triplex|apartment|mobile home|manufactured home|cabin|farmhouse|farm|high ceilings?|vaulted ceilings?|cathedral ceilings?",
        r"|((finished|unfinished|walk-?out|full|partial) )?basements?|crawl ?spaces?|attics?|(attached|detached|\d-car|two-car|double) garage|carport|decks?|patios?|porch(es)?|sunroom|(in-ground |above-ground )?pools?|hot tub|ponds?|fenced|fences?|(large|small|big|back|front|fenced) yards?|acres?|sheds?|barns?|pasture|outbuildings?|skylights?|chimneys?|fireplaces?|gutters?|solar panels?|ramp|rooftop|roof-?mounted|on the roof",
        r"|brick|stucco|(vinyl|wood|cedar|aluminum|fiber cement) siding|siding|slate|metal roof|tile roof|shingles?|flat roof|\d+/12 pitch|(roof|roofs) (is|are) (steep|flat|metal)",
        r"|furnace|boiler|heat pump|central air|(ac|a/c) (unit|condenser)|condenser|mini[- ]split|water heater|tankless|septic( tank| system)?|well water|well pump|sump pump|water softener|radiant heat|baseboard heat|oil tank|propane tank|(electric|electrical|breaker|service) panel|\d+ ?amps?|gfci|federal pacific|zinsco|aluminum wiring|fuse box|breaker box|knob and tube|galvanized|polybutylene|sprinkler system|(pool )?equipment pad|hose bibs?|spigots?|outdoor faucets?|water main|main shut-?off|shut-?off valve|sprinklers?|backflow|fascia|soffits?|eaves",
        r"|built in (19|20)\d\d|\d{3,5} ?(sq\.? ?ft|square feet|sf)|\d+ (bed|bedroom|bath|bathroom)s?|old(er)? (house|home)|new construction|historic|\d+ windows|storm windows|french doors|skirting|\d+ ?gal(lon)?s?\b",
        r")\b",
    ))
});

/// Access instructions and hazards.
pub fn access_and_hazards(sentences: &[Sentence<'_>]) -> Option<Value> {
    collect(sentences, &[&ACCESS, &HAZARD])
}

/// Physical characteristics of the property.
pub fn details(sentences: &[Sentence<'_>]) -> Option<Value> {
    collect(sentences, &[&DETAILS])
}

fn collect(sentences: &[Sentence<'_>], patterns: &[&Pattern]) -> Option<Value> {
    let mut pieces = Vec::new();
    let mut evidence = Vec::new();
    for s in sentences {
        let hit = patterns.iter().any(|p| {
            p.find_iter(s.text).any(|m| {
                !negated(&s.lower, m.start(), 2) || m.as_str().eq_ignore_ascii_case("accessible")
            })
        });
        if hit {
            pieces.push(piece(s));
            evidence.push(s);
        }
    }
    text_entry(&pieces, &evidence)
}
