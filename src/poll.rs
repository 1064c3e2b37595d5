//! When to ask a source again. Modelled on Miniflux's entry-frequency policy:
//! about a week divided by last week's new entries, clamped between a minimum
//! and a maximum; never sooner than the feed's own TTL, its Cache-Control
//! max-age or a Retry-After; a source may set its own interval; failures back
//! off exponentially (capped) and a success resets them. A small jitter, fixed
//! per source, keeps sources from moving in lockstep.

use chrono::{DateTime, Duration, Utc};

use crate::timespan;

/// What the policy looks at after a fetch.
#[derive(Debug, Clone, Default)]
pub struct PollInput<'a> {
    pub source: &'a str,
    /// New items the source brought in the last seven days.
    pub entries_last_week: u64,
    /// Failures in a row, counting the fetch just made.
    pub consecutive_failures: u32,
    /// The source's own `interval_mins`, if set.
    pub configured: Option<Duration>,
    /// The feed's `<ttl>`.
    pub ttl: Option<Duration>,
    /// The response's Cache-Control max-age.
    pub max_age: Option<Duration>,
    /// The server's Retry-After, as an instant.
    pub retry_after: Option<DateTime<Utc>>,
}

/// Bounds of the policy.
#[derive(Debug, Clone, Copy)]
pub struct PollBounds {
    pub min: Duration,
    pub max: Duration,
}

impl Default for PollBounds {
    fn default() -> Self {
        PollBounds { min: Duration::minutes(5), max: Duration::hours(24) }
    }
}

/// FNV-1a of the source name: a stable per-source number for jitter.
fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Up to a tenth of `interval`, fixed per source.
pub fn jitter(source: &str, interval: Duration) -> Duration {
    let span = (interval.num_seconds() / 10).max(1) as u64;
    Duration::seconds((stable_hash(source) % span) as i64)
}

/// The interval before the next fetch.
pub fn interval(input: &PollInput<'_>, bounds: PollBounds) -> Duration {
    let week = Duration::days(7);
    let mut interval = if input.consecutive_failures > 0 {
        // 5 min, 10 min, 20 min, … capped at the maximum.
        let exp = input.consecutive_failures.saturating_sub(1).min(20);
        let backoff = bounds.min.num_seconds().saturating_mul(1i64 << exp);
        Duration::try_seconds(backoff).unwrap_or(bounds.max).min(bounds.max)
    } else if let Some(c) = input.configured {
        c
    } else if input.entries_last_week == 0 {
        bounds.max
    } else {
        (week / input.entries_last_week.min(i32::MAX as u64) as i32).clamp(bounds.min, bounds.max)
    };
    for floor in [input.ttl, input.max_age].into_iter().flatten() {
        interval = interval.max(floor.min(bounds.max));
    }
    interval
}

/// The next time to fetch, after a fetch at `now`.
pub fn next_fetch(input: &PollInput<'_>, bounds: PollBounds, now: DateTime<Utc>) -> DateTime<Utc> {
    let i = interval(input, bounds);
    let next = timespan::later(timespan::later(now, i), jitter(input.source, i));
    match input.retry_after {
        Some(r) if r > next => r,
        _ => next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn input(entries: u64) -> PollInput<'static> {
        PollInput { source: "s", entries_last_week: entries, ..Default::default() }
    }

    #[test]
    fn frequency_policy_clamped() {
        let b = PollBounds::default();
        assert_eq!(interval(&input(0), b), Duration::hours(24));
        assert_eq!(interval(&input(7), b), Duration::hours(24));
        assert_eq!(interval(&input(168), b), Duration::hours(1));
        assert_eq!(interval(&input(100_000), b), Duration::minutes(5));
    }

    #[test]
    fn never_sooner_than_ttl_max_age_or_retry_after() {
        let b = PollBounds::default();
        let mut i = input(168);
        i.ttl = Some(Duration::hours(3));
        assert_eq!(interval(&i, b), Duration::hours(3));
        i.max_age = Some(Duration::hours(5));
        assert_eq!(interval(&i, b), Duration::hours(5));
        let now = Utc.with_ymd_and_hms(2025, 4, 2, 0, 0, 0).unwrap();
        i.retry_after = Some(now + Duration::hours(30));
        assert_eq!(next_fetch(&i, b, now), now + Duration::hours(30));
    }

    #[test]
    fn failures_back_off_exponentially_and_cap() {
        let b = PollBounds::default();
        let mut i = input(1000);
        let got: Vec<i64> = (1..=12)
            .map(|f| {
                i.consecutive_failures = f;
                interval(&i, b).num_minutes()
            })
            .collect();
        assert_eq!(got, [5, 10, 20, 40, 80, 160, 320, 640, 1280, 1440, 1440, 1440]);
    }

    #[test]
    fn configured_interval_wins_over_frequency_not_over_ttl() {
        let b = PollBounds::default();
        let mut i = input(1000);
        i.configured = Some(Duration::minutes(90));
        assert_eq!(interval(&i, b), Duration::minutes(90));
        i.ttl = Some(Duration::hours(2));
        assert_eq!(interval(&i, b), Duration::hours(2));
    }

    #[test]
    fn jitter_is_stable_and_bounded() {
        let a = jitter("机器之心", Duration::hours(1));
        assert_eq!(a, jitter("机器之心", Duration::hours(1)));
        assert!(a < Duration::minutes(6));
        assert_ne!(jitter("量子位", Duration::hours(10)), jitter("36氪", Duration::hours(10)));
    }
}
