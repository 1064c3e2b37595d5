//! Any text as the numbers servers and pages send: Cache-Control max-age,
//! Retry-After, `<ttl>`, relative and absolute dates, JSON numbers, through
//! the header → schedule path and the date path, at today and at the ends
//! of chrono's range.
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use tidings::parse::dates::{parse_date, parse_page_date};
use tidings::{fetch, poll, timespan};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let tz = chrono_tz::Asia::Shanghai;
    let today = DateTime::from_timestamp(1_743_555_600, 0).unwrap_or_default();
    let failures = data.first().map_or(0, |b| u32::from(*b) * 1000);
    for now in [today, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
        let retry_after = fetch::parse_retry_after(text, now);
        let input = poll::PollInput {
            source: "fuzz",
            entries_last_week: data.len() as u64,
            consecutive_failures: failures,
            configured: None,
            ttl: timespan::parse_delta_seconds(text).map(timespan::minutes),
            max_age: fetch::max_age(text).map(timespan::seconds),
            retry_after,
        };
        let next = poll::next_fetch(&input, poll::PollBounds::default(), now);
        assert!(next >= now);
        let _ = parse_page_date(text, tz, now);
    }
    let _ = parse_date(text, tz);
    if let Ok(n) = serde_json::from_str::<serde_json::Number>(text) {
        assert!(timespan::from_json_number(&n).is_none_or(timespan::sane));
    }
});
