//! Text handling for the rules extractor: notes split into sentences (each keeps its exact
//! span, so evidence is always a verbatim quote), patterns that never panic, negation in a
//! short window before a match, and number words.

use std::sync::LazyLock;

use regex::{Captures, Match, Regex};

/// A sentence (or clause) of the notes: its exact text and its lower-cased form.
#[derive(Debug, Clone)]
pub struct Sentence<'a> {
    pub text: &'a str,
    pub lower: String,
}

/// Abbreviations whose full stop does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "st", "approx", "ft", "no", "vs", "etc", "e.g", "i.e", "jr", "sr",
    "apt", "ave", "rd", "est", "min", "hr", "hrs", "gal", "lbs", "sq", "in", "mt",
];

/// Splits notes into sentences at `. ! ? ;`, line breaks and spaced dashes (` - `), keeping
/// decimal points, abbreviations and a full stop followed by a lower-case word inside.
pub fn sentences(notes: &str) -> Vec<Sentence<'_>> {
    let bytes = notes.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let end_here = match c {
            b'!' | b'?' | b';' | b'\n' | b'\r' => true,
            b'.' => ends_sentence(notes, i),
            b'-' => {
                i > 0
                    && bytes[i - 1] == b' '
                    && bytes.get(i + 1).is_some_and(|n| *n == b' ' || *n == b'-')
            }
            _ => false,
        };
        if end_here {
            push(notes, start, i, &mut out);
            start = i + 1;
        }
        i += 1;
    }
    push(notes, start, notes.len(), &mut out);
    out
}

fn push<'a>(notes: &'a str, start: usize, end: usize, out: &mut Vec<Sentence<'a>>) {
    let Some(raw) = notes.get(start..end) else {
        return;
    };
    let text = raw.trim_matches(|c: char| c.is_whitespace() || c == '-' || c == ',');
    if text.chars().any(char::is_alphanumeric) {
        out.push(Sentence {
            text,
            // ASCII-only lower-casing keeps byte offsets equal to those of `text`.
            lower: text.to_ascii_lowercase(),
        });
    }
}

fn ends_sentence(notes: &str, dot: usize) -> bool {
    let bytes = notes.as_bytes();
    let next = bytes.get(dot + 1).copied();
    // 3.5 ton, 1.5 in: a decimal point.
    if dot > 0 && bytes[dot - 1].is_ascii_digit() && next.is_some_and(|n| n.is_ascii_digit()) {
        return false;
    }
    if next.is_some_and(|n| !n.is_ascii_whitespace()) {
        return false;
    }
    let before = &notes[..dot];
    let word: String = before
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '.')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<String>()
        .to_lowercase();
    !ABBREVIATIONS.contains(&word.as_str())
}

/// A compiled pattern that degrades to "never matches" instead of panicking; a unit test
/// compiles every pattern of the rules.
pub struct Pattern(Option<Regex>);

impl Pattern {
    pub fn new(source: &str) -> Pattern {
        let compiled = Regex::new(source);
        debug_assert!(compiled.is_ok(), "invalid pattern {source}: {compiled:?}");
        Pattern(compiled.ok())
    }
    pub fn is_valid(&self) -> bool {
        self.0.is_some()
    }
    pub fn is_match(&self, text: &str) -> bool {
        self.0.as_ref().is_some_and(|r| r.is_match(text))
    }
    pub fn find<'t>(&self, text: &'t str) -> Option<Match<'t>> {
        self.0.as_ref().and_then(|r| r.find(text))
    }
    pub fn find_iter<'r, 't>(&'r self, text: &'t str) -> impl Iterator<Item = Match<'t>> + 'r
    where
        't: 'r,
    {
        self.0.iter().flat_map(move |r| r.find_iter(text))
    }
    pub fn captures<'t>(&self, text: &'t str) -> Option<Captures<'t>> {
        self.0.as_ref().and_then(|r| r.captures(text))
    }
    pub fn captures_iter<'r, 't>(&'r self, text: &'t str) -> impl Iterator<Item = Captures<'t>> + 'r
    where
        't: 'r,
    {
        self.0.iter().flat_map(move |r| r.captures_iter(text))
    }
}

/// A lazily compiled [`Pattern`].
pub type Lazy = LazyLock<Pattern>;

static NEGATOR: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"^(no|not|never|without|none|zero|nor|neither|non|n't|didn't|doesn't|don't|isn't|wasn't|aren't|won't|cannot|can't)$",
    )
});

/// Whether one of the `window` words before byte `at` of `lower` negates what follows
/// ("no pets", "didn't need the ladder"). A clause break (comma, "but") ends the window.
pub fn negated(lower: &str, at: usize, window: usize) -> bool {
    let before = lower.get(..at).unwrap_or("");
    let clause = before
        .rsplit([',', '(', ':'])
        .next()
        .unwrap_or(before)
        .rsplit(" but ")
        .next()
        .unwrap_or("");
    clause
        .split_whitespace()
        .rev()
        .take(window)
        .any(|w| NEGATOR.is_match(w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')))
}

/// The number a word or numeral stands for ("six", "6", "a"), if it is one.
pub fn number(word: &str) -> Option<u32> {
    const WORDS: &[(&str, u32)] = &[
        ("a", 1),
        ("an", 1),
        ("one", 1),
        ("single", 1),
        ("two", 2),
        ("couple", 2),
        ("both", 2),
        ("pair", 2),
        ("three", 3),
        ("four", 4),
        ("five", 5),
        ("six", 6),
        ("seven", 7),
        ("eight", 8),
        ("nine", 9),
        ("ten", 10),
        ("eleven", 11),
        ("twelve", 12),
        ("fifteen", 15),
        ("eighteen", 18),
        ("twenty", 20),
        ("thirty", 30),
        ("sixty", 60),
        ("ninety", 90),
    ];
    let w = word.trim().to_lowercase();
    if let Ok(n) = w.parse::<u32>() {
        return Some(n);
    }
    WORDS.iter().find(|(k, _)| *k == w).map(|(_, n)| *n)
}

/// Joins distinct pieces into one value of at most `max` characters.
pub fn join(pieces: &[String], separator: &str, max: usize) -> String {
    let mut out = String::new();
    for p in pieces {
        let p = p.trim();
        if p.is_empty() || out.to_lowercase().contains(&p.to_lowercase()) {
            continue;
        }
        let extra = if out.is_empty() { 0 } else { separator.len() };
        if out.chars().count() + extra + p.chars().count() > max {
            break;
        }
        if !out.is_empty() {
            out.push_str(separator);
        }
        out.push_str(p);
    }
    out
}

/// `text` cut to at most `max` characters at a word boundary.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    match cut.rfind(' ') {
        Some(i) if i > max / 2 => cut[..i].to_owned(),
        _ => cut,
    }
}
