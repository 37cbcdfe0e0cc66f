//! The two string formats the attribute schema uses: `date` (a calendar date written
//! YYYY-MM-DD) and `duration` (an ISO 8601 span of years, months, weeks and days such as `P6M`).

use chrono::NaiveDate;

/// A calendar date written `YYYY-MM-DD` (the schema's `date` format).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// A span of calendar time: years, months, weeks and days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CalendarSpan {
    pub years: u32,
    pub months: u32,
    pub weeks: u32,
    pub days: u32,
}

/// The schema's `duration` format: ISO 8601 `P[nY][nM][nW][nD]`, at least one non-zero part,
/// no time part (service intervals are counted in days at the finest).
pub fn parse_duration(s: &str) -> Option<CalendarSpan> {
    let rest = s.strip_prefix('P')?;
    let mut span = CalendarSpan::default();
    let mut number = String::new();
    let mut last_unit = 0usize;
    for c in rest.chars() {
        if c.is_ascii_digit() {
            if number.len() >= 4 {
                return None;
            }
            number.push(c);
            continue;
        }
        let order = "YMWD".find(c)? + 1;
        if number.is_empty() || order <= last_unit {
            return None;
        }
        let n: u32 = number.parse().ok()?;
        number.clear();
        last_unit = order;
        match c {
            'Y' => span.years = n,
            'M' => span.months = n,
            'W' => span.weeks = n,
            _ => span.days = n,
        }
    }
    let nonzero = span.years + span.months + span.weeks + span.days > 0;
    (number.is_empty() && last_unit > 0 && nonzero).then_some(span)
}
