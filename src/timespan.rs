//! Outside numbers made into time. Servers, feeds and pages hand us seconds,
//! minutes, days and timestamps of any size (`max-age=99999999999999999`,
//! `99999999天前`, a JSON date of 1e300), and chrono panics past its range.
//! Every such conversion goes through here: checked, and clamped to spans
//! and dates that mean something.

use chrono::{DateTime, Datelike, TimeDelta, Utc};

/// The longest span an outside number is taken to mean: a year. A server
/// asking for a century of caching means "rarely"; the polling bounds then
/// cap it further.
pub fn longest() -> TimeDelta {
    TimeDelta::days(366)
}

/// `n` seconds, at most [`longest`].
pub fn seconds(n: u64) -> TimeDelta {
    let capped = n.min(longest().num_seconds().unsigned_abs());
    TimeDelta::try_seconds(i64::try_from(capped).unwrap_or(i64::MAX)).unwrap_or_else(longest)
}

/// `n` minutes, at most [`longest`].
pub fn minutes(n: u64) -> TimeDelta {
    seconds(n.saturating_mul(60))
}

/// Reads a count of seconds as an HTTP header writes it (`delta-seconds`,
/// RFC 9111 §1.2.2): digits only. A count too large for a u64 is as good as
/// infinite and saturates, as the RFC asks; anything else is not a count.
pub fn parse_delta_seconds(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse::<u64>().unwrap_or(u64::MAX))
}

/// `at` plus `d`, or the latest representable instant when that overflows.
pub fn later(at: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    at.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A unit of a relative date ("3 小时前", "2 days ago").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Minutes,
    Hours,
    Days,
}

/// The instant `n` units before `now`; `None` when that falls outside the
/// sane calendar ([`sane`]) or does not fit a date at all.
pub fn ago(now: DateTime<Utc>, n: u64, unit: Unit) -> Option<DateTime<Utc>> {
    let n = i64::try_from(n).ok()?;
    let span = match unit {
        Unit::Seconds => TimeDelta::try_seconds(n),
        Unit::Minutes => TimeDelta::try_minutes(n),
        Unit::Hours => TimeDelta::try_hours(n),
        Unit::Days => TimeDelta::try_days(n),
    }?;
    now.checked_sub_signed(span).filter(|d| sane(*d))
}

/// Years a date from outside may carry: Unix time's start to the last
/// four-digit year. Outside it a "date" is a wrong number, not a date.
pub fn sane(d: DateTime<Utc>) -> bool {
    (1970..=9999).contains(&d.year())
}

/// A Unix timestamp in seconds, or in milliseconds from 10^11 up (12 digits
/// or more: as seconds that would be past year 5000), if it falls in the
/// sane calendar.
pub fn from_unix(n: i64) -> Option<DateTime<Utc>> {
    let d = if n.unsigned_abs() >= 100_000_000_000 {
        DateTime::from_timestamp_millis(n)?
    } else {
        DateTime::from_timestamp(n, 0)?
    };
    Some(d).filter(|d| sane(*d))
}

/// A JSON number read as a Unix timestamp ([`from_unix`]): integers as
/// they are, finite floats truncated; NaN, infinities and numbers past
/// i64 are no date.
pub fn from_json_number(n: &serde_json::Number) -> Option<DateTime<Utc>> {
    if let Some(i) = n.as_i64() {
        return from_unix(i);
    }
    let f = n.as_f64().filter(|f| f.is_finite())?.trunc();
    // i64's range as f64: both ends exact powers of two.
    if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
        return None;
    }
    from_unix(f as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 4, 2, 0, 0, 0).unwrap()
    }

    #[test]
    fn spans_saturate_at_a_year() {
        assert_eq!(seconds(120), TimeDelta::seconds(120));
        assert_eq!(seconds(u64::MAX), longest());
        assert_eq!(seconds(99_999_999_999_999_999), longest());
        assert_eq!(minutes(90), TimeDelta::minutes(90));
        assert_eq!(minutes(u64::MAX), longest());
    }

    #[test]
    fn delta_seconds_as_headers_write_them() {
        assert_eq!(parse_delta_seconds("3600"), Some(3600));
        assert_eq!(parse_delta_seconds(" 0 "), Some(0));
        assert_eq!(parse_delta_seconds("99999999999999999"), Some(99_999_999_999_999_999));
        assert_eq!(parse_delta_seconds("1000000000000000000000000000000"), Some(u64::MAX));
        for bad in ["", "-5", "+5", "1.5", "1e9", "soon", "٣"] {
            assert_eq!(parse_delta_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn relative_dates_stay_in_the_calendar() {
        assert_eq!(ago(now(), 3, Unit::Hours), Some(now() - TimeDelta::hours(3)));
        assert_eq!(ago(now(), 99_999_999, Unit::Days), None);
        assert_eq!(ago(now(), u64::MAX, Unit::Seconds), None);
        assert_eq!(ago(now(), i64::MAX as u64, Unit::Days), None);
        assert_eq!(ago(now(), 60 * 365, Unit::Days), None, "before 1970");
    }

    #[test]
    fn unix_timestamps_in_seconds_and_milliseconds() {
        let want = Utc.with_ymd_and_hms(2025, 4, 2, 0, 30, 0).unwrap();
        assert_eq!(from_unix(1_743_553_800), Some(want));
        assert_eq!(from_unix(1_743_553_800_000), Some(want));
        for bad in [i64::MIN, i64::MAX, -1, 253_402_300_800_000, -62_167_219_200] {
            assert_eq!(from_unix(bad), None, "{bad}");
        }
        let json = |s: &str| from_json_number(&serde_json::from_str(s).unwrap());
        assert_eq!(json("1743553800"), Some(want));
        assert_eq!(json("1743553800.75"), Some(want));
        assert_eq!(json("1e300"), None);
        assert_eq!(json("-1e300"), None);
        assert_eq!(json("18446744073709551615"), None);
        assert_eq!(json("9.3e18"), None);
    }

    #[test]
    fn later_saturates() {
        assert_eq!(later(now(), TimeDelta::hours(1)), now() + TimeDelta::hours(1));
        assert_eq!(later(DateTime::<Utc>::MAX_UTC, TimeDelta::hours(1)), DateTime::<Utc>::MAX_UTC);
    }

    proptest! {
        #[test]
        fn no_number_panics(n in any::<u64>(), i in any::<i64>(), f in any::<f64>()) {
            let _ = seconds(n);
            let _ = minutes(n);
            for unit in [Unit::Seconds, Unit::Minutes, Unit::Hours, Unit::Days] {
                if let Some(d) = ago(now(), n, unit) {
                    prop_assert!(sane(d) && d <= now());
                }
            }
            if let Some(d) = from_unix(i) {
                prop_assert!(sane(d));
            }
            if let Some(num) = serde_json::Number::from_f64(f) {
                let _ = from_json_number(&num);
            }
            prop_assert!(later(now(), seconds(n)) <= now() + longest());
        }
    }
}
