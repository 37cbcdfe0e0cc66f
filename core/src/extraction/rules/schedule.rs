//! Rules for `next_service_due`: an interval ("again in 6 months", "recheck in 2 weeks",
//! "every 3 months", "annual") or a date ("10/15/2027", "April 15", "2027-03-01") in a
//! sentence about coming back or servicing, and not about age, warranties or the past
//! ("12 years old", "5 year warranty", "last serviced 2 years ago").

use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};

use super::entry;
use super::text::{Lazy, Pattern, Sentence, number};

static INTERVAL: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"(?i)\b(?:in|within|after|every|each|another|next|out|again in)\s+(?:about |approx\.? |approximately |around |roughly |another )?(\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|eighteen|twenty|thirty|sixty|ninety|a couple of|couple of|couple)(?:\s*(?:-|to|or)\s*\d{1,3})?\s*-?\s*(days?|weeks?|months?|mos?|yrs?|years?)\b",
    )
});

/// "6-month checkup", "30 day follow-up", "6 months from now".
static INTERVAL_ADJECTIVE: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"(?i)\b(\d{1,3}|one|two|three|four|six|twelve|eighteen|thirty|sixty|ninety)[- ](days?|weeks?|months?|years?)(?: from now| out|[- ](?:follow[- ]?up|check[- ]?up|check|recheck|service|visit|inspection|maintenance|tune[- ]?up|treatment))\b",
    )
});

static FREQUENCY: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"(?i)\b(semi-?annual(?:ly)?|bi-?annual(?:ly)?|twice a year|annual(?:ly)?|yearly|once a year|every year|quarterly|every quarter|monthly|every month|bi-?weekly|every other week|weekly|every week|(every|each) (spring|summer|fall|autumn|winter))\b",
    )
});

/// The sentence is about coming back or servicing.
static CUE: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"(?i)\b(due|next|again|return\w*|come back|back out|follow[- ]?up|re-?check\w*|re-?visit\w*|re-?inspect\w*|inspections?|servic\w*|maintenance|tune[- ]?ups?|treat\w*|re-?treat\w*|spray\w*|clean\w*|replac\w*|chang\w*|flush\w*|check\w*|visits?|appointments?|schedul\w*|remind\w*|book\w*|pump\w*|sweep\w*|start-?up|recommend\w*|should be done|twice a year|once a year|every year|annual\w*|semi-?annual\w*|quarterly|every quarter)\b",
    )
});

/// The sentence is about age, warranties or the past.
static NOT_DUE: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"(?i)\b(warrant\w*|guarantee\w*|old|ago|lease|expires?|expired|since|last|past|been|lifespan|life expectancy|installed)\b",
    )
});

static ISO_DATE: Lazy = LazyLock::new(|| Pattern::new(r"\b(20\d\d)-(\d\d)-(\d\d)\b"));
static US_DATE: Lazy = LazyLock::new(|| Pattern::new(r"\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b"));
/// "due October 2027", "in March": the first of that month.
static MONTH_ONLY: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"(?i)\b(?:due|in|by|around|early|until|for|next|scheduled|come back|return)\s+(?:in\s+)?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:,?\s+(20\d\d))?\b",
    )
});

/// "next year", "a year from now": one unit.
static NEXT_UNIT: Lazy = LazyLock::new(|| {
    Pattern::new(r"(?i)\b(?:next|in a|in one) (year|month)\b|\ba (year|month) from now\b")
});

static MONTH_DATE: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"(?i)\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s+(20\d\d))?",
    )
});

static UNIT_AFTER: Lazy = LazyLock::new(|| {
    Pattern::new(
        r"^(days?|weeks?|months?|years?|hours?|hrs?|min|mins|minutes|ft|feet|techs?|people|times)\b",
    )
});

/// When the next service is due, as the notes say it.
pub fn next_service_due(sentences: &[Sentence<'_>], visit_date: NaiveDate) -> Option<Value> {
    let mut best: Option<(u8, Value, &Sentence<'_>)> = None;
    for s in sentences {
        // A frequency ("yearly", "every fall") says by itself that the work recurs.
        let cued = CUE.is_match(&s.lower) || FREQUENCY.is_match(&s.lower);
        if !cued || NOT_DUE.is_match(&s.lower) {
            continue;
        }
        // Explicit dates and counted intervals beat frequency words ("annual").
        let found = date_in(s, visit_date)
            .map(|d| (0, json!({"date": d.format("%Y-%m-%d").to_string()})))
            .or_else(|| interval_in(&s.lower).map(|i| (1, json!({"interval": i}))))
            .or_else(|| frequency_in(&s.lower).map(|i| (2, json!({"interval": i}))));
        if let Some((rank, value)) = found
            && best.as_ref().is_none_or(|(r, _, _)| rank < *r)
        {
            best = Some((rank, value, s));
        }
    }
    let (_, value, s) = best?;
    entry(value, &[s])
}

fn interval_in(lower: &str) -> Option<String> {
    let Some(c) = INTERVAL
        .captures(lower)
        .or_else(|| INTERVAL_ADJECTIVE.captures(lower))
    else {
        let c = NEXT_UNIT.captures(lower)?;
        let unit = c.get(1).or_else(|| c.get(2))?.as_str();
        return Some(if unit == "year" { "P1Y" } else { "P1M" }.to_owned());
    };
    let amount = c.get(1).map(|m| m.as_str())?;
    let amount = match amount {
        "a couple of" | "couple of" => 2,
        other => number(other)?,
    };
    let unit = c.get(2).map(|m| m.as_str())?;
    let letter = match unit.chars().next()? {
        'd' => 'D',
        'w' => 'W',
        'y' => 'Y',
        _ => 'M',
    };
    (1..=999)
        .contains(&amount)
        .then(|| format!("P{amount}{letter}"))
}

fn frequency_in(lower: &str) -> Option<String> {
    let word = FREQUENCY.find(lower)?.as_str().replace('-', "");
    let interval =
        if word.starts_with("semi") || word.starts_with("biannual") || word == "twice a year" {
            "P6M"
        } else if word.starts_with("annual")
            || ["spring", "summer", "fall", "autumn", "winter"]
                .iter()
                .any(|season| word.ends_with(season))
            || matches!(word.as_str(), "yearly" | "once a year" | "every year")
        {
            "P1Y"
        } else if word.contains("quarter") {
            "P3M"
        } else if word.contains("month") {
            "P1M"
        } else if word.starts_with("bi") || word.contains("other") {
            "P2W"
        } else {
            "P1W"
        };
    Some(interval.to_owned())
}

/// A date in the sentence; without a year, the first such day after the visit.
fn date_in(s: &Sentence<'_>, visit: NaiveDate) -> Option<NaiveDate> {
    if let Some(c) = ISO_DATE.captures(s.text) {
        let n = |i| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
        return NaiveDate::from_ymd_opt(i32::try_from(n(1)?).ok()?, n(2)?, n(3)?);
    }
    if let Some(c) = US_DATE.captures(s.text) {
        let n = |i| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
        let year = n(3)?;
        let year = if year < 100 { 2000 + year } else { year };
        return NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, n(1)?, n(2)?);
    }
    month_day(&s.lower, visit).or_else(|| month_only(&s.lower, visit))
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month_number(abbreviation: &str) -> Option<u32> {
    let i = MONTHS.iter().position(|m| *m == abbreviation)?;
    u32::try_from(i).ok().map(|i| i + 1)
}

/// The first such day after the visit (this year or next).
fn next_occurrence(visit: NaiveDate, month: u32, day: u32) -> Option<NaiveDate> {
    let this_year = NaiveDate::from_ymd_opt(visit.year(), month, day)?;
    if this_year > visit {
        Some(this_year)
    } else {
        NaiveDate::from_ymd_opt(visit.year() + 1, month, day)
    }
}

/// "April 15", "Oct 3rd, 2027".
fn month_day(lower: &str, visit: NaiveDate) -> Option<NaiveDate> {
    let c = MONTH_DATE.captures(lower)?;
    // "may 2 weeks", "mar 3 ft": a number of something, not a day of the month.
    let rest = lower.get(c.get(0)?.end()..).unwrap_or("").trim_start();
    if UNIT_AFTER.is_match(rest) {
        return None;
    }
    let month = month_number(c.get(1)?.as_str())?;
    let day: u32 = c.get(2)?.as_str().parse().ok()?;
    match c.get(3).and_then(|y| y.as_str().parse::<i32>().ok()) {
        Some(year) => NaiveDate::from_ymd_opt(year, month, day),
        None => next_occurrence(visit, month, day),
    }
}

/// "due October 2027", "in March": the first of the month.
fn month_only(lower: &str, visit: NaiveDate) -> Option<NaiveDate> {
    let c = MONTH_ONLY.captures(lower)?;
    let month = month_number(c.get(1)?.as_str())?;
    match c.get(2).and_then(|y| y.as_str().parse::<i32>().ok()) {
        Some(year) => NaiveDate::from_ymd_opt(year, month, 1),
        None => next_occurrence(visit, month, 1),
    }
}
