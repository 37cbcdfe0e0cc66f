//! Local time for messages, DST-correct through chrono-tz: which zone a customer reads in
//! (theirs, else the business's, else UTC), how times are shown in emails, quiet-hours
//! deferral, and "09:00 local on a date".

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::settings::QuietHours;

/// The zone a customer reads their email in: theirs, else the business's, else UTC. Names that
/// do not parse (never written by the API) fall through to the next.
pub fn reader_zone(customer: Option<&str>, business: Option<&str>) -> Tz {
    customer
        .and_then(|z| z.parse::<Tz>().ok())
        .or_else(|| business.and_then(|z| z.parse::<Tz>().ok()))
        .unwrap_or(chrono_tz::UTC)
}

/// The instant a local wall-clock time denotes. In the hour a DST change repeats, the first
/// occurrence; in the hour it skips, the first valid minute after the gap (a 02:30 that does
/// not exist happens at 03:00).
pub fn local_to_utc(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = local;
    // Gaps are at most a few hours long; step forward minute by minute until time exists.
    for _ in 0..(24 * 60) {
        match zone.from_local_datetime(&probe) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            LocalResult::None => probe += Duration::minutes(1),
        }
    }
    local.and_utc()
}

/// `date` at `time` in `zone`, as an instant.
pub fn at_local(zone: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    local_to_utc(zone, date.and_time(time))
}

/// 09:00 on `date` in `zone`: when service reminders are due.
pub fn nine_am(zone: Tz, date: NaiveDate) -> DateTime<Utc> {
    at_local(
        zone,
        date,
        NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN),
    )
}

/// Today's date in `zone`.
pub fn today_in(zone: Tz, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&zone).date_naive()
}

/// When a message due at `due` may go out: `due` itself, or the end of the quiet hours it
/// falls in (in `zone`, wall-clock: the end is 08:00 local whatever DST did overnight).
pub fn after_quiet_hours(due: DateTime<Utc>, zone: Tz, quiet: Option<QuietHours>) -> DateTime<Utc> {
    let Some(quiet) = quiet else {
        return due;
    };
    let local = due.with_timezone(&zone).naive_local();
    if !quiet.contains(local.time()) {
        return due;
    }
    // The window ends today if we are before its end, otherwise tomorrow.
    let end_date = if local.time() < quiet.end {
        local.date()
    } else {
        local.date() + Duration::days(1)
    };
    at_local(zone, end_date, quiet.end).max(due)
}

/// How emails show an instant: `Tuesday, 14 April 2026 at 09:30 CEST (Europe/Berlin)`.
pub fn display_time(at: DateTime<Utc>, zone: Tz) -> String {
    let local = at.with_timezone(&zone);
    let shown = local.format("%A, %-d %B %Y at %H:%M %Z").to_string();
    if zone == chrono_tz::UTC {
        shown
    } else {
        format!("{shown} ({})", zone.name())
    }
}

/// How emails show a date: `Tuesday, 14 April 2026`.
pub fn display_date(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%A, %-d %B %Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::settings::default_quiet_hours;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn quiet_hours_end_at_8_local_across_the_spring_dst_change() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 22:00 CET on Saturday 28 March 2026; clocks go forward that night (02:00 → 03:00).
        let due = utc("2026-03-28T21:00:00Z");
        let at = after_quiet_hours(due, berlin, Some(default_quiet_hours()));
        // 08:00 CEST (UTC+2) on Sunday, not 08:00 CET.
        assert_eq!(at, utc("2026-03-29T06:00:00Z"));
        // Before midnight or after: same end; outside the window: unchanged.
        let early = utc("2026-03-29T01:30:00Z"); // 03:30 CEST
        assert_eq!(
            after_quiet_hours(early, berlin, Some(default_quiet_hours())),
            utc("2026-03-29T06:00:00Z")
        );
        let noon = utc("2026-03-29T10:00:00Z");
        assert_eq!(
            after_quiet_hours(noon, berlin, Some(default_quiet_hours())),
            noon
        );
        assert_eq!(after_quiet_hours(due, berlin, None), due);
    }

    #[test]
    fn quiet_hours_end_at_8_local_across_the_autumn_dst_change() {
        let ny: Tz = "America/New_York".parse().unwrap();
        // 23:00 EDT on Saturday 31 October 2026; clocks go back at 02:00 that night.
        let due = utc("2026-11-01T03:00:00Z");
        let at = after_quiet_hours(due, ny, Some(default_quiet_hours()));
        assert_eq!(at, utc("2026-11-01T13:00:00Z")); // 08:00 EST (UTC-5)
    }

    #[test]
    fn local_times_in_gaps_and_folds_resolve_to_a_real_instant() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        let gap = at_local(berlin, d, NaiveTime::from_hms_opt(2, 30, 0).unwrap());
        assert_eq!(gap, utc("2026-03-29T01:00:00Z")); // 03:00 CEST
        let fold_day = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
        let fold = at_local(berlin, fold_day, NaiveTime::from_hms_opt(2, 30, 0).unwrap());
        assert_eq!(fold, utc("2026-10-25T00:30:00Z")); // the first 02:30 (CEST)
        assert_eq!(nine_am(berlin, d), utc("2026-03-29T07:00:00Z"));
    }

    #[test]
    fn zones_fall_back_from_customer_to_business_to_utc() {
        assert_eq!(
            reader_zone(Some("Asia/Tokyo"), Some("Europe/Paris")).name(),
            "Asia/Tokyo"
        );
        assert_eq!(
            reader_zone(None, Some("Europe/Paris")).name(),
            "Europe/Paris"
        );
        assert_eq!(reader_zone(None, None), chrono_tz::UTC);
        assert_eq!(reader_zone(Some("Nope/Nope"), None), chrono_tz::UTC);
    }

    #[test]
    fn times_are_shown_in_the_readers_zone_with_the_zone_named() {
        let ny: Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            display_time(utc("2026-07-01T14:00:00Z"), ny),
            "Wednesday, 1 July 2026 at 10:00 EDT (America/New_York)"
        );
        assert_eq!(
            display_time(utc("2026-07-01T14:00:00Z"), chrono_tz::UTC),
            "Wednesday, 1 July 2026 at 14:00 UTC"
        );
    }
}
