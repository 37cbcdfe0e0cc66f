//! Rules for `pet`: species and breed words (not pests: rats, mice, wasps and wild birds are
//! never pets), how many ("two cats"), and names ("dog named Biscuit", "Dogs: Max and Bella",
//! "Pip the terrier"). A sentence saying the animal is gone ("passed away", "no longer") or a
//! negation before the word ("no dogs") proposes nothing.

use std::sync::LazyLock;

use serde_json::{Value, json};

use super::entry;
use super::text::{Lazy, Pattern, Sentence, negated, number};

/// Species and breed words with the animal type they mean.
static SPECIES: LazyLock<Vec<(Pattern, &'static str)>> = LazyLock::new(|| {
    [
        (r"dogs?|doggy|doggie|pupp(y|ies)|pups?|canines?|hounds?|mutts?|labradors?|(black|yellow|chocolate|golden) labs?|retrievers?|goldens|(german|australian|aussie|belgian|anatolian) shepherds?|pit ?bulls?|pitties|rottweilers?|rotties|dobermans?|huskies|husky|poodles?|(golden|labra|berne|aussie|sheep)?doodles?|beagles?|chihuahuas?|terriers?|bulldogs?|dachshunds?|corgis?|(border )?collies?|great danes?|mastiffs?|spaniels?|pugs?|shih ?tzus?|yorkies?|schnauzers?|greyhounds?|malamutes?|weimaraners?|vizslas?|heelers?|shelties?|pomeranians?|bichons?|(cocka|malti|yorki|peeka)poos?|[a-z]+doodles?", "dog"),
        (r"cats?|kittens?|kitty|kitties|felines?|tabby|tabbies|siamese|maine coons?|ragdolls?", "cat"),
        (r"parrots?|parakeets?|budgies?|cockatiels?|cockatoos?|macaws?|canar(y|ies)|lovebirds?|finches|birds?", "bird"),
        (r"rabbits?|bunn(y|ies)", "rabbit"),
        (r"hamsters?", "hamster"),
        (r"guinea pigs?", "guinea pig"),
        (r"gerbils?", "gerbil"),
        (r"ferrets?", "ferret"),
        (r"chinchillas?", "chinchilla"),
        (r"pet snakes?|ball pythons?|pythons?|boa constrictors?|corn snakes?", "snake"),
        (r"lizards?|geckos?|iguanas?|bearded dragons?", "lizard"),
        (r"turtles?|tortoises?", "turtle"),
        (r"aquariums?|fish tanks?|koi|goldfish", "fish"),
        (r"horses?|ponies|pony", "horse"),
        (r"donkeys?|mules?", "donkey"),
        (r"goats?", "goat"),
        (r"chickens?|hens|roosters?", "chicken"),
        (r"ducks?", "duck"),
        (r"alpacas?|llamas?", "alpaca"),
        (r"pot[- ]?bellied pigs?|pet pigs?", "pig"),
    ]
    .into_iter()
    .map(|(p, t)| (Pattern::new(&format!(r"(?i)\b({p})\b")), t))
    .collect()
});

/// The animal is gone: nothing to propose from this sentence.
static GONE: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"(?i)\b(passed away|died|put down|put to sleep|rehomed|re-homed|gave away|given away|no longer (has|have|owns?)|used to have)\b",
    )
});

/// Wild animals and pest work: birds or rabbits here are not pets.
static WILD: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"(?i)\b(nest|nests|nesting|droppings|vents?|chimney|gutters?|pests?|wild|feeders?|netting|spikes|deterrents?|garden|trapped|trap|traps|removal|exclusion|infestation)\b",
    )
});

/// Words that follow a species word when it names a thing, not an animal.
static NOT_AN_ANIMAL: Lazy = LazyLock::new(|| {
    Pattern::new(r"(?i)^[\s-]*(\d|wire|fence wire|ear|eared|leg|feed store|tail)")
});

static NAME_AFTER: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"^\s*(?:,\s*|\(\s*|:\s*|-\s*)?(?:(?:[a-z]+ ){0,2}(?:is |are )?(?:named|called)|(?:whose )?names? (?:is|are)|name's)?\s*:?\s*([A-Z][a-z]{1,14})(?:\s*(?:,|and|&)\s*([A-Z][a-z]{1,14}))?(?:\s*(?:,|and|&)\s*([A-Z][a-z]{1,14}))?",
    )
});

/// Names in a parenthesis shortly after the species: "Dogs in the yard (2 labs, Duke and Daisy)".
static NAMES_IN_PARENTHESES: Lazy =
    LazyLock::new(|| Pattern::new(r"^[^.;()]{0,30}\(([^)]{1,60})\)"));
static CAPITALISED: Lazy = LazyLock::new(|| Pattern::new(r"\b[A-Z][a-z]{1,14}\b"));

/// A name in a sentence of its own, for the animal mentioned just before.
static NAME_SENTENCE: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"^(?:(?:[Hh]is|[Hh]er|[Ii]ts|[Tt]heir|[Tt]he \w+'s) )?[Nn]ames? (?:is|are|:) ?([A-Z][a-z]{1,14})\b",
    )
});

static NAME_BEFORE: Lazy = LazyLock::new(|| {
    Pattern::new(r"([A-Z][a-z]{1,14}),?\s+(?:the|a|an|our|their|her|his)\s+(?:[a-z]+\s+){0,2}$")
});

/// Capitalised words that are not names.
const NOT_NAMES: &[&str] = &[
    "The",
    "A",
    "An",
    "He",
    "She",
    "They",
    "It",
    "Its",
    "His",
    "Her",
    "Their",
    "Gate",
    "Code",
    "Key",
    "Keys",
    "Customer",
    "Owner",
    "Owners",
    "Please",
    "Note",
    "Notes",
    "Call",
    "Keep",
    "No",
    "Yes",
    "Very",
    "Friendly",
    "Large",
    "Small",
    "Big",
    "Old",
    "Young",
    "Inside",
    "Outside",
    "Front",
    "Back",
    "Side",
    "And",
    "But",
    "Also",
    "Will",
    "Was",
    "Is",
    "Has",
    "Had",
    "Needs",
    "Need",
    "Barks",
    "Bites",
    "Be",
    "Do",
    "Don",
    "Did",
    "Watch",
    "Careful",
    "Beware",
    "Tech",
    "Technician",
    "Left",
    "Right",
    "Not",
    "Both",
    "All",
    "One",
    "Two",
    "Three",
    "Then",
    "Used",
    "Use",
    "Sprayed",
    "Treated",
    "Checked",
    "Replaced",
    "Mr",
    "Mrs",
    "Ms",
    "Dr",
    "In",
    "On",
    "At",
    "To",
    "For",
    "With",
    "Door",
    "Yard",
    "House",
    "Home",
    "Basement",
    "Garage",
    "Attic",
    "Kitchen",
    "Nice",
    "Loud",
    "Aggressive",
    "Ok",
    "Okay",
    "See",
    "Saw",
    "Fed",
    "Let",
    "Put",
    "Kept",
    "Found",
    "Pet",
    "Pets",
    "Dog",
    "Cat",
    "Dogs",
    "Cats",
];

/// One animal as proposed.
#[derive(Debug, Clone, PartialEq)]
struct Animal {
    kind: &'static str,
    name: Option<String>,
}

/// Every animal the notes mention, as one `{type, name?}` or a list.
pub fn pets(sentences: &[Sentence<'_>]) -> Option<Value> {
    let mut named: Vec<Animal> = Vec::new();
    // Per type, the largest number of unnamed animals one mention speaks of.
    let mut unnamed: Vec<(&'static str, usize)> = Vec::new();
    let mut evidence = Vec::new();
    // The last animal mentioned without a name: "Cat is indoor only. Her name is Miso."
    let mut last_unnamed: Option<&'static str> = None;
    for s in sentences {
        if GONE.is_match(&s.lower) {
            continue;
        }
        let mut hit = false;
        let mut taken: Vec<(usize, usize)> = Vec::new();
        for (pattern, kind) in SPECIES.iter() {
            for m in pattern.find_iter(s.text) {
                let (start, end) = (m.start(), m.end());
                if taken.iter().any(|(a, b)| start < *b && *a < end)
                    || negated(&s.lower, start, 3)
                    || NOT_AN_ANIMAL.is_match(&s.text[end..])
                    || s.lower.get(..start).is_some_and(|b| b.ends_with("hot "))
                    || (matches!(*kind, "bird" | "rabbit" | "duck") && WILD.is_match(&s.lower))
                {
                    continue;
                }
                taken.push((start, end));
                hit = true;
                let names = names_around(s.text, start, end);
                if names.is_empty() {
                    last_unnamed = Some(kind);
                    let count = count_before(&s.lower, start, m.as_str()).clamp(1, 5);
                    match unnamed.iter_mut().find(|(k, _)| k == kind) {
                        Some((_, n)) => *n = (*n).max(count),
                        None => unnamed.push((kind, count)),
                    }
                } else {
                    for name in names {
                        let animal = Animal {
                            kind,
                            name: Some(name),
                        };
                        if !named.contains(&animal) {
                            named.push(animal);
                        }
                    }
                }
            }
        }
        if !hit
            && let (Some(kind), Some(c)) = (last_unnamed, NAME_SENTENCE.captures(s.text))
            && let Some(name) = c.get(1).map(|m| m.as_str())
            && !NOT_NAMES.contains(&name)
        {
            named.push(Animal {
                kind,
                name: Some(name.to_owned()),
            });
            last_unnamed = None;
            hit = true;
        }
        if hit {
            evidence.push(s);
        }
    }
    let mut animals = named.clone();
    for (kind, count) in unnamed {
        let already = named.iter().filter(|a| a.kind == kind).count();
        for _ in already..count {
            animals.push(Animal { kind, name: None });
        }
    }
    let rendered: Vec<Value> = animals
        .iter()
        .take(10)
        .map(|a| match &a.name {
            Some(n) => json!({"type": a.kind, "name": n}),
            None => json!({"type": a.kind}),
        })
        .collect();
    let value = match rendered.len() {
        0 => return None,
        1 => rendered.into_iter().next()?,
        _ => Value::Array(rendered),
    };
    entry(value, &evidence)
}

/// Names given right after the species word ("named Biscuit", ": Max and Bella") or right
/// before it ("Pip the terrier").
fn names_around(text: &str, start: usize, end: usize) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(c) = NAME_AFTER.captures(&text[end..]) {
        let explicit = c.get(0).is_some_and(|m| {
            let t = m.as_str();
            t.contains(['(', ':']) || t.contains("name") || t.contains("called")
        });
        let whole_end = c.get(0).map_or(0, |m| m.end());
        let rest = text[end + whole_end..].trim_start();
        let closes = rest.is_empty() || rest.starts_with([',', ')', '.', ';', '!']);
        if explicit || closes {
            for g in 1..=3 {
                if let Some(n) = c.get(g).map(|m| m.as_str())
                    && !NOT_NAMES.contains(&n)
                {
                    out.push(n.to_owned());
                }
            }
        }
    }
    if out.is_empty()
        && let Some(inside) = NAMES_IN_PARENTHESES
            .captures(&text[end..])
            .and_then(|c| c.get(1))
    {
        out.extend(
            CAPITALISED
                .find_iter(inside.as_str())
                .map(|m| m.as_str())
                .filter(|n| !NOT_NAMES.contains(n))
                .map(str::to_owned),
        );
    }
    if out.is_empty()
        && let Some(c) = NAME_BEFORE.captures(&text[..start])
        && let Some(n) = c.get(1).map(|m| m.as_str())
        && !NOT_NAMES.contains(&n)
        && !n.ends_with("ed")
    {
        out.push(n.to_owned());
    }
    out
}

/// "two cats", "2 small dogs", "a couple of dogs": the number within three words before.
fn count_before(lower: &str, start: usize, word: &str) -> usize {
    let plural = word.ends_with('s') || word.ends_with("ies") || word == "puppies";
    if !plural {
        return 1;
    }
    let before = lower.get(..start).unwrap_or("");
    let clause = before
        .rsplit([',', '.', ';', ':', '('])
        .next()
        .unwrap_or(before);
    clause
        .split_whitespace()
        .rev()
        .take(3)
        .find_map(number)
        .map_or(1, |n| n as usize)
}
