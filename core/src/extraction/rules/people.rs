//! Rules about the people: `customer_demographic` (age, household, accessibility and language,
//! as short labels) and `service_preferences` (what the customer wants about timing, contact,
//! products, conduct and payment: a preference verb with one of those topics, or a phrase that
//! is a preference on its own).

use std::sync::LazyLock;

use serde_json::Value;

use super::text::{Lazy, Pattern, Sentence, join, negated};
use super::{entry, piece, text_entry};

/// Demographic cues and the label each stands for, in the order labels are reported.
static DEMOGRAPHIC: LazyLock<Vec<(Pattern, &'static str)>> = LazyLock::new(|| {
    [
        (r"\b(elderly|senior( citizen)?s?|older (lady|gentleman|man|woman|couple|customer|homeowner|folks?)|old (lady|man|couple)|aged|in (his|her|their) (late )?[789]0s|[789]\d[- ]?(year|yr)s?[- ]old|octogenarian|nonagenarian|grandma|grandpa|grandmother|grandfather)\b", "elderly"),
        (r"\b(retired|retiree|retirees|pensioners?)\b", "retired"),
        (r"\b(widow|widowed|widower)\b", "widowed"),
        (r"\b(lives|living) (alone|by (him|her)self|on (his|her) own)\b", "lives alone"),
        (r"\byoung (family|couple|kids|children)\b", "young family"),
        (r"\b(baby|babies|infant|newborn|toddlers?|little ones|small (kids|children)|young (kids|children)|kids?|children|child|twins)\b", "children in the home"),
        (r"\b(teenagers?|teens)\b", "teenagers in the home"),
        (r"\bpregnant\b", "expecting a baby"),
        (r"\b(wheelchair|walker|mobility (issues|scooter|problems)|limited mobility|uses a cane|can'?t (do|climb|manage) (the )?stairs|can'?t get (down|up)|bedridden|disabled|disability|(hip|knee|back) surgery|recovering from|bad (knee|knees|back|hip))\b", "limited mobility"),
        (r"\b(grandkids|grandchildren|grandson|granddaughter)\b", "grandchildren visit"),
        (r"\bworks? (from|at) home\b|\bhome office\b", "works from home"),
        (r"\bsingle (mom|mother|dad|father|parent)\b", "single parent"),
        (r"\b(hard of hearing|deaf|hearing aids?|hearing impaired)\b", "hard of hearing"),
        (r"\b(blind|visually impaired|low vision)\b", "visually impaired"),
        (r"\b(dementia|alzheimer'?s|memory (loss|issues|problems)|forgetful)\b", "memory loss"),
        (r"\b(on oxygen|oxygen tank|immunocompromised|chemo(therapy)?|asthma(tic)?|allerg(y|ies|ic))\b", "health considerations"),
        (r"\b(college students?|students|roommates)\b", "students"),
        (r"\b(first[- ]time|new) (home ?owners?|buyers)\b", "new homeowners"),
        (r"\b(landlord|rental property|tenants?|renters?|tenant-occupied)\b", "rental property"),
        (r"\b(lives|living) (out of (state|town)|abroad|overseas|away)|absentee owner|snowbirds?\b", "owner lives away"),
    ]
    .into_iter()
    .map(|(p, label)| (Pattern::new(&format!("(?i){p}")), label))
    .collect()
});

static LANGUAGE: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"(?i)\b(?:speaks?|speaking) (?:only |mostly |mainly |little |limited )?(spanish|portuguese|french|mandarin|cantonese|chinese|vietnamese|korean|tagalog|russian|polish|arabic|italian|german|hindi|punjabi|somali|haitian creole|japanese|farsi|ukrainian)\b|\b(spanish|portuguese|french|mandarin|cantonese|chinese|vietnamese|korean|russian|polish|arabic)[- ]speaking\b|\b(limited|no|little) english\b",
    )
});

/// Age, household, accessibility and language, as short labels.
pub fn demographic(sentences: &[Sentence<'_>]) -> Option<Value> {
    let mut labels: Vec<String> = Vec::new();
    let mut evidence = Vec::new();
    for s in sentences {
        let mut hit = false;
        for (pattern, label) in DEMOGRAPHIC.iter() {
            if let Some(m) = pattern.find(&s.lower)
                && !negated(&s.lower, m.start(), 3)
                && !is_object_use(&s.lower, m.end())
            {
                labels.push((*label).to_owned());
                hit = true;
            }
        }
        if let Some(c) = LANGUAGE.captures(&s.lower) {
            let language = c.get(1).or_else(|| c.get(2)).map(|m| m.as_str());
            labels.push(match language {
                Some(l) => format!("speaks {}", capitalise(l)),
                None => "limited English".to_owned(),
            });
            hit = true;
        }
        if hit {
            evidence.push(s);
        }
    }
    let value = join(&labels, ", ", 200);
    if value.is_empty() {
        return None;
    }
    entry(Value::String(value), &evidence)
}

/// "kids toys", "child lock": the word describes a thing, still a household cue, except for
/// products named after children.
fn is_object_use(lower: &str, end: usize) -> bool {
    let rest = lower
        .get(end..)
        .unwrap_or("")
        .trim_start_matches([' ', '-']);
    ["proof", "safe", "lock", "resistant"]
        .iter()
        .any(|w| rest.starts_with(w))
        || lower
            .get(..end)
            .is_some_and(|b| b.ends_with("-child") || b.ends_with("-kid"))
}

fn capitalise(word: &str) -> String {
    let mut c = word.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Phrases that are preferences whatever verb they come with.
static STRONG: Lazy = LazyLock::new(|| {
    Pattern::new(concat!(
        r"(?i)\b(",
        r"(call|text|phone|ring|email|message|notify)\w*( (her|him|them|the customer|customer|ahead|first|us))?( \d+ ?(min|mins|minutes|hours?|hrs?))? (before|ahead|prior|when|upon|on (the|your) way|on arrival|the day before)",
        r"|(text|call)\w* (on|upon) arrival",
        r"|(don'?t|do not|never|no) (ring|knock|call|text|come|arrive|park|use|spray|mail|leave)",
        r"|(morning|afternoon|evening|weekend|weekday|early|late|first)[- ]?(appointments?|visits?|slots?|only|availability)",
        r"|(mornings?|afternoons?|evenings?|weekends?|weekdays?) (only|if possible|preferred|are best|work best)",
        r"|only (available|home|on|in the|mornings?|afternoons?|weekends?|after|before)",
        r"|(no earlier|no later|not before|not after|come before|come after|arrive before|arrive after|before|after) \d{1,2}(:\d\d)? ?(am|pm|a\.m\.|p\.m\.)",
        r"|schedule (outside|around|after|before)",
        r"|(organic|eco[- ]?friendly|green|natural|non[- ]?toxic|pet[- ]?safe|pet[- ]?friendly|child[- ]?safe|kid[- ]?safe|chemical[- ]free|fragrance[- ]free|unscented|low[- ]voc) (products?|treatments?|methods?|options?|gel|baits?|sprays?|cleaners?|only)",
        r"|no (chemicals?|chemical treatments?|pesticides?|sprays?|spraying|aerosols?|bleach|harsh)",
        r"|shoe covers|booties|(take|remove|took) (off )?(shoes|boots)|shoes off",
        r"|same (tech|technician|guy|crew|person)",
        r"|pays (by|with|in) (cash|check|cheque|card|credit|venmo|zelle)|(pay|paying) (in )?cash",
        r"|(email|e-mail|mail|text|send) (the )?(invoices?|receipts?|bills?|quotes?|estimates?)",
        r"|(leave|put) (the )?(invoice|receipt|bill)",
        r"|quote (first|before)|approv(e|al) (before|first)|call (for|with) (approval|a quote)",
        r"|contact (for|person)|is the contact|point of contact",
        r"|(by|via) (text|texts|email|e-mail|phone)( messages?)?( only)?|(text|email|phone|calls?) only|communicate by",
        r"|(mondays?|tuesdays?|wednesdays?|thursdays?|fridays?|saturdays?|sundays?|weekends?|weekdays?|mornings?|afternoons?|evenings?) (are|is|work|works) (best|better|easier|preferred|good)",
        r"|(baits?|gels?|traps?) only|prefers?|preferred|would rather",
        r"|(asked|requested|wants|would like)( that)?( we| us)?( to)? (not|never|always|only|wear|call|text|come|park|leave|remove|keep|use)\b",
        r"|instead of (spray|spraying|chemicals?|pesticides?)",
        r"|(must|needs? to|has to|wants to|will) be (home|present|there)|(will|to) (meet us|let us in)",
        r"|keep (the )?noise down|keep (it )?quiet|no loud",
        r"|sleeps? (until|in|during|late)|per (the )?(customer'?s?|owner'?s?|her|his|their) (request|preference|instructions?)|(doesn'?t|does not) use (email|e-mail|text|a cell)",
        r"|flexible (on|with|about) (time|timing|scheduling|days?)|any (day|weekday|time) (is|works)|ask for|(text|call|phone|notify|contact) (the )?(owner|homeowner|tenant|customer|office|manager|landlord|son|daughter|husband|wife|neighbou?r|front desk|guard)",
        r"|\((son|daughter|husband|wife|manager|tenant|owner|landlord|neighbou?r)\)|handles (the )?(texts?|calls?|scheduling|billing|payments?|communication)",
        r"|(maintenance|service) (plan|contract|agreement)",
        r")\b",
    ))
});

/// Verbs that make a sentence about a topic a preference.
static PREFERENCE_VERB: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"(?i)\b(prefers?|preferred|preference|likes?|wants?|would like|requests?|requested|asked|asks|insists?|please|per customer|per (her|his|their) request|as requested|does ?n[o']t (want|like)|dislikes?|hates?|best (time|day)|available|availability)\b",
    )
});

/// What a preference is about.
static PREFERENCE_TOPIC: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"(?i)\b(mornings?|afternoons?|evenings?|nights?|weekends?|weekdays?|mondays?|tuesdays?|wednesdays?|thursdays?|fridays?|saturdays?|sundays?|am|pm|noon|early|late|time|times|day|days|schedul\w*|appointments?|visits?|call|calls|calling|text|texts|texting|phone|email|notice|reminders?|arriv\w*|products?|chemicals?|treatments?|sprays?|baits?|aerosols?|methods?|organic|natural|shoes|boots|tech|technician|crew|quiet|noise|cash|check|card|pay|paying|payment|invoices?|receipts?|quotes?|estimates?|same|contact|translate\w*|present|home|date|spring|summer|fall|autumn|winter|lunch|school|work|come|coming|year|years|month|months|week|weeks|twice|once|photos?|pictures?|updates?|january|february|march|april|june|july|august|september|october|november|december)\b",
    )
});

/// Timing, contact, products, conduct and payment preferences.
pub fn preferences(sentences: &[Sentence<'_>]) -> Option<Value> {
    let mut pieces = Vec::new();
    let mut evidence = Vec::new();
    for s in sentences {
        let strong = STRONG.find(&s.lower).is_some();
        let verb = PREFERENCE_VERB.find(&s.lower);
        let stated = verb.is_some_and(|v| {
            PREFERENCE_TOPIC
                .find_iter(&s.lower)
                .any(|t| t.start() != v.start())
        });
        if strong || stated {
            pieces.push(piece(s));
            evidence.push(s);
        }
    }
    text_entry(&pieces, &evidence)
}
