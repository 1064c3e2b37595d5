//! The polling policy against the fixture server, on a fixed clock: failures
//! back off exponentially and recover on success, Retry-After is honoured
//! even by manual runs, a source is not asked again before its time.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use tidings::config;
use tidings::ingest::{self, RunOptions, SourceOutcome};
use tidings::store::{SourceState, SqliteStore, Storage};

async fn run_at(cfg: &std::path::Path, now: DateTime<Utc>, only_due: bool) -> HashMap<String, SourceOutcome> {
    run_with(cfg, RunOptions { now: Some(now), only_due, only: None, ..Default::default() }).await
}

async fn run_with(cfg: &std::path::Path, options: RunOptions<'_>) -> HashMap<String, SourceOutcome> {
    let loaded = config::load_all(cfg).unwrap();
    let store = SqliteStore::open(&loaded.config.storage.database, Duration::from_secs(5)).unwrap();
    let (report, _) = ingest::run(&loaded.config, &loaded.sources, store, options, Box::new(|_| {})).await.unwrap();
    report.sources.into_iter().map(|s| (s.name, s.outcome)).collect()
}

fn states(cfg: &std::path::Path) -> HashMap<String, SourceState> {
    let loaded = config::load_all(cfg).unwrap();
    let store = SqliteStore::open(&loaded.config.storage.database, Duration::from_secs(5)).unwrap();
    store.source_states().unwrap().into_iter().map(|s| (s.name.clone(), s)).collect()
}

fn minutes(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_seconds() as f64 / 60.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_off_recovery_and_retry_after_on_a_fixed_clock() {
    let server = common::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::write_config(
        dir.path(),
        &[
            ("flaky", server.url("/flaky/2/rss2-en.xml")),
            ("limited", server.url("/status/429")),
            ("steady", server.url("/etag/atom10-en.xml")),
        ],
        "timeout_secs = 5",
    );
    let t0 = Utc.with_ymd_and_hms(2025, 4, 2, 0, 0, 0).unwrap();

    // First round: flaky fails once, limited says come back in an hour.
    let o = run_at(&cfg, t0, true).await;
    assert!(matches!(o["flaky"], SourceOutcome::Failed { .. }));
    assert!(matches!(o["limited"], SourceOutcome::Failed { .. }));
    let st = states(&cfg);
    let first_wait = minutes(t0, st["flaky"].next_fetch_at.unwrap());
    assert!((5.0..=5.5).contains(&first_wait), "first back-off {first_wait} min");
    assert_eq!(st["limited"].retry_after_until, Some(t0 + chrono::Duration::seconds(3600)));
    // A steady source that publishes little waits long (3 items a week → 56 h, capped at 24 h).
    assert!(minutes(t0, st["steady"].next_fetch_at.unwrap()) >= 24.0 * 60.0);

    // One minute later nothing is due.
    let t1 = t0 + chrono::Duration::minutes(1);
    let o = run_at(&cfg, t1, true).await;
    assert!(!o.contains_key("flaky") && !o.contains_key("steady"), "{o:?}");
    assert_eq!(server.hits("/flaky/2/rss2-en.xml"), 1);
    // The rate-limited source is not asked, even by a manual run of everything.
    let manual = RunOptions {
        now: Some(t0 + chrono::Duration::minutes(30)),
        only_due: false,
        only: Some("limited"),
        ..Default::default()
    };
    let o = run_with(&cfg, manual).await;
    assert!(matches!(o["limited"], SourceOutcome::Skipped { .. }), "{o:?}");
    assert_eq!(server.hits("/status/429"), 1);

    // Second failure doubles the wait.
    let t2 = t0 + chrono::Duration::minutes(6);
    let o = run_at(&cfg, t2, true).await;
    assert!(matches!(o["flaky"], SourceOutcome::Failed { .. }));
    let st = states(&cfg);
    assert_eq!(st["flaky"].consecutive_failures, 2);
    let second_wait = minutes(t2, st["flaky"].next_fetch_at.unwrap());
    assert!((10.0..=11.0).contains(&second_wait), "second back-off {second_wait} min");

    // Then it recovers: failures reset, the frequency policy takes over.
    let t3 = t2 + chrono::Duration::minutes(12);
    let o = run_at(&cfg, t3, true).await;
    assert!(matches!(o["flaky"], SourceOutcome::Stored(_)), "{o:?}");
    let st = states(&cfg);
    assert_eq!(st["flaky"].consecutive_failures, 0);
    assert!(minutes(t3, st["flaky"].next_fetch_at.unwrap()) > 60.0);

    // After the hour the rate-limited source is asked again.
    let t4 = t0 + chrono::Duration::seconds(3601);
    let o = run_with(&cfg, RunOptions { now: Some(t4), only_due: false, only: Some("limited"), ..Default::default() })
        .await;
    assert!(matches!(o["limited"], SourceOutcome::Failed { .. }), "{o:?}");
    assert_eq!(server.hits("/status/429"), 2);
}
