//! `tidings fetch` against the fixture server on 127.0.0.1: every good source
//! stored once with correct text, every bad one reported by name and reason,
//! conditional GET and Retry-After honoured on the second run.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use rusqlite::Connection;
use tidings::config;
use tidings::ingest::{self, IngestReport, SourceOutcome};
use tidings::store::SqliteStore;

fn sources(server: &common::FixtureServer) -> Vec<(&'static str, String)> {
    let file = common::fixtures_dir().join("feeds/rss1-rdf.xml");
    vec![
        ("GBK源", server.url("/feeds/gbk-decl-only.xml")),
        ("gzip源", server.url("/gzip/rss2-zh.xml")),
        ("etag源", server.url("/etag/atom10-en.xml")),
        ("charset-lie", server.url("/utf8-lie/gb18030.xml")),
        ("json", server.url("/feeds/jsonfeed11.json")),
        ("redirect", server.url("/redirect")),
        ("local-file", file.display().to_string()),
        ("missing", server.url("/status/404")),
        ("broken-server", server.url("/status/500")),
        ("rate-limited", server.url("/status/429")),
        ("slow", server.url("/slow")),
        ("stall", server.url("/stall")),
        ("loop", server.url("/loop")),
        ("huge", server.url("/big")),
        ("钛媒体", server.url("/feeds/malformed.xml")),
        ("error-page", server.url("/feeds/not-a-feed.html")),
    ]
}

const FETCH: &str =
    "timeout_secs = 1\nmax_body_bytes = 1048576\nconcurrency = 16\nper_host_concurrency = 16\nmax_redirects = 3";

fn outcomes(r: &IngestReport) -> HashMap<String, SourceOutcome> {
    r.sources.iter().map(|s| (s.name.clone(), s.outcome.clone())).collect()
}

fn failed_with(o: &HashMap<String, SourceOutcome>, name: &str, needle: &str) {
    match &o[name] {
        SourceOutcome::Failed { error } => assert!(error.contains(needle), "{name}: {error:?} lacks {needle:?}"),
        other => panic!("{name}: expected failure containing {needle:?}, got {other:?}"),
    }
}

fn stored_new(o: &HashMap<String, SourceOutcome>, name: &str) -> usize {
    match &o[name] {
        SourceOutcome::Stored(s) => s.new,
        other => panic!("{name}: expected stored items, got {other:?}"),
    }
}

async fn run_once(cfg: &std::path::Path) -> IngestReport {
    let loaded = config::load_all(cfg).unwrap();
    let store = SqliteStore::open(&loaded.config.storage.database, Duration::from_secs(5)).unwrap();
    let (report, _) =
        ingest::run(&loaded.config, &loaded.sources, store, Default::default(), Box::new(|_| {})).await.unwrap();
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_sources_stored_bad_ones_reported_second_run_is_conditional() {
    let server = common::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::write_config(dir.path(), &sources(&server), FETCH);

    let first = run_once(&cfg).await;
    let o = outcomes(&first);
    assert_eq!(stored_new(&o, "GBK源"), 2);
    assert_eq!(stored_new(&o, "gzip源"), 3);
    assert_eq!(stored_new(&o, "etag源"), 3);
    assert_eq!(stored_new(&o, "charset-lie"), 2);
    assert_eq!(stored_new(&o, "json"), 2);
    assert_eq!(stored_new(&o, "local-file"), 3);
    // The redirect lands on rss2-en.xml.
    assert_eq!(stored_new(&o, "redirect"), 5);
    failed_with(&o, "missing", "HTTP 404");
    failed_with(&o, "broken-server", "HTTP 500");
    failed_with(&o, "rate-limited", "HTTP 429 (retry after 3600s)");
    failed_with(&o, "slow", "timed out after 1s");
    failed_with(&o, "stall", "timed out after 1s");
    failed_with(&o, "loop", "too many redirects");
    failed_with(&o, "huge", "larger than max_body_bytes (1048576 bytes)");
    failed_with(&o, "钛媒体", "malformed XML at line");
    failed_with(&o, "error-page", "not a feed: an HTML page titled \"502 Bad Gateway\"");

    let db = Connection::open(dir.path().join("data/t.sqlite")).unwrap();
    let count = |db: &Connection| -> i64 { db.query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0)).unwrap() };
    let total = count(&db);
    assert_eq!(total, 20);
    // GBK-only characters survive the trip: no mojibake.
    let gbk_titles: Vec<String> = db
        .prepare("SELECT i.title FROM items i JOIN sources s ON s.id = i.source_id WHERE s.name = 'GBK源'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(gbk_titles.iter().any(|t| t.contains('堃') || t.contains('镕')), "{gbk_titles:?}");
    assert!(gbk_titles.iter().all(|t| !t.contains('\u{FFFD}')));
    // The User-Agent names Tidings and its version.
    let ua = server.seen.lock().unwrap().user_agents[0].clone();
    assert!(ua.starts_with(&format!("Tidings/{}", env!("CARGO_PKG_VERSION"))), "{ua}");

    // Second run: the ETag source answers 304, the rate-limited one is not asked.
    let hits_429 = server.hits("/status/429");
    let second = run_once(&cfg).await;
    let o = outcomes(&second);
    assert_eq!(o["etag源"], SourceOutcome::NotModified);
    assert_eq!(server.seen.lock().unwrap().not_modified, 1);
    assert!(matches!(o["rate-limited"], SourceOutcome::Skipped { .. }), "{:?}", o["rate-limited"]);
    assert_eq!(server.hits("/status/429"), hits_429, "asked again before Retry-After");
    // The others send no validators, but the same body again: known
    // unchanged by its hash, without being parsed.
    for name in ["GBK源", "gzip源", "json", "local-file", "redirect"] {
        assert_eq!(o[name], SourceOutcome::NotModified, "{name}");
    }
    assert_eq!(count(&db), total, "an unchanged source adds no rows");
    let (status, failures): (String, i64) = db
        .query_row("SELECT last_status, consecutive_failures FROM sources WHERE name = 'missing'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((status.as_str(), failures), ("failed", 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_host_concurrency_is_bounded() {
    let server = common::start(Duration::from_millis(150)).await;
    let dir = tempfile::tempdir().unwrap();
    let list: Vec<(&str, String)> = ["a", "b", "c", "d", "e", "f", "g", "h"]
        .into_iter()
        .map(|n| (n, server.url(&format!("/delay/rss2-en.xml?n={n}"))))
        .collect();
    let cfg = common::write_config(dir.path(), &list, "concurrency = 8\nper_host_concurrency = 2");
    let report = run_once(&cfg).await;
    assert_eq!(report.failed(), 0);
    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.hits["/delay/rss2-en.xml"], 8);
    assert!(seen.max_in_flight <= 2, "{} requests at once to one host", seen.max_in_flight);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_reports_each_bad_source_on_stderr_and_exits_zero() {
    let server = common::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::write_config(dir.path(), &sources(&server), FETCH);
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("--config")
        .arg(&cfg)
        .arg("fetch")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);
    let line = format!("source 钛媒体 ({}): malformed XML at line", server.url("/feeds/malformed.xml"));
    assert!(stderr.contains(&line), "{stderr}");
    assert!(stderr.contains(&format!("source missing ({}): HTTP 404", server.url("/status/404"))), "{stderr}");
    assert!(stdout.contains("16 sources: 7 ok, 0 not modified, 0 skipped, 9 failed; 20 new items"), "{stdout}");

    // `sources` lists each with status, count and error.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("--config")
        .arg(&cfg)
        .arg("sources")
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.contains("钛媒体") && listing.contains("last error: malformed XML"), "{listing}");
    assert!(listing.contains("items:      3"), "{listing}");
}

#[test]
fn a_bad_config_exits_2_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::write_config(dir.path(), &[("a", "http://127.0.0.1:9/x".into())], "timeout_secs = \"soon\"");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("--config")
        .arg(&cfg)
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tidings.toml:12: key `fetch.timeout_secs`"), "{stderr}");
}
