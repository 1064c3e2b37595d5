//! Killing `tidings fetch` with SIGKILL at arbitrary moments never leaves an
//! inconsistent database nor loses what was committed: each source's items
//! land in one transaction, all or nothing.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chrono::Utc;
use rusqlite::Connection;
use tidings::config::{Location, Source};
use tidings::fetch::Fetched;

const FILES: &[&str] = &["rss2-en.xml", "rss2-zh.xml", "atom10-zh.xml", "jsonfeed11.json", "dates.xml", "big5.xml"];

/// Canonical URLs each fixture file yields, computed with the library itself.
fn expected_urls(file: &str) -> BTreeSet<String> {
    let path = common::fixtures_dir().join("feeds").join(file);
    let source = Source::new("x", Location::File(path.clone()), chrono_tz::Asia::Shanghai);
    let fetched = Fetched::from_bytes(std::fs::read(&path).unwrap(), "http://127.0.0.1/");
    let items = tidings::ingest::process(&source, &fetched, Utc::now()).unwrap().items;
    items.into_iter().filter_map(|i| i.url).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_run_leaves_a_consistent_database() {
    let server = common::start(Duration::from_millis(40)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    let mut list = Vec::new();
    for i in 0..36 {
        let file = FILES[i % FILES.len()];
        names.push((format!("s{i:02}"), file));
        list.push((format!("s{i:02}"), server.url(&format!("/delay/{file}?copy={i}"))));
    }
    let refs: Vec<(&str, String)> = list.iter().map(|(n, u)| (n.as_str(), u.clone())).collect();
    let cfg = common::write_config(dir.path(), &refs, "concurrency = 4\nper_host_concurrency = 4");
    let expected: HashMap<&str, BTreeSet<String>> = FILES.iter().map(|f| (*f, expected_urls(f))).collect();
    let db_path = dir.path().join("data/t.sqlite");

    let mut killed_mid_run = 0;
    for round in 0..12u64 {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tidings"))
            .arg("--config")
            .arg(&cfg)
            .arg("fetch")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Spread the kills over the run: early, middle, late.
        tokio::time::sleep(Duration::from_millis(30 + (round * 37) % 400)).await;
        let _ = child.kill(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        if !status.success() {
            killed_mid_run += 1;
        }
        if !db_path.exists() {
            continue;
        }
        let db = Connection::open(&db_path).unwrap();
        let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok", "round {round}");
        // Killed before the first migration committed: a file without any
        // table (never half a schema), which the next run sets up.
        let tables: i64 =
            db.query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'", [], |r| r.get(0)).unwrap();
        let version: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        if version == 0 {
            assert_eq!(tables, 0, "round {round}: tables without a committed migration");
            continue;
        }
        let present: BTreeSet<String> = db
            .prepare("SELECT url FROM items WHERE url IS NOT NULL")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let ok_sources: Vec<String> = db
            .prepare("SELECT name FROM sources WHERE last_status = 'ok'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for name in ok_sources {
            let file = names.iter().find(|(n, _)| *n == name).unwrap().1;
            let missing: Vec<_> = expected[file].difference(&present).collect();
            assert!(missing.is_empty(), "round {round}: source {name} marked ok but lost {missing:?}");
        }
    }
    assert!(killed_mid_run > 0, "no run was actually interrupted");

    // A final run completes and everything is there exactly once.
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("--config")
        .arg(&cfg)
        .arg("fetch")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let db = Connection::open(&db_path).unwrap();
    let all: BTreeSet<String> = expected.values().flatten().cloned().collect();
    // Once per source: sources sharing a feed each keep their own item.
    let (rows, per_source, distinct): (i64, i64, i64) = db
        .query_row(
            "SELECT COUNT(url), COUNT(DISTINCT source_id || ' ' || url), COUNT(DISTINCT url) FROM items",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(rows, per_source, "an article stored twice by one source");
    assert_eq!(distinct as usize, all.len());
}

/// The same kills against PostgreSQL: nothing committed is lost, no source
/// marked ok misses an item, and a final run stores every article once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_run_loses_nothing_committed_on_postgres() {
    let server = common::start(Duration::from_millis(40)).await;
    let dir = tempfile::tempdir().unwrap();
    let pg = common::pg::PgDatabase::create();
    let url = pg.url();
    let mut names = Vec::new();
    let mut list = Vec::new();
    for i in 0..36 {
        let file = FILES[i % FILES.len()];
        names.push((format!("s{i:02}"), file));
        list.push((format!("s{i:02}"), server.url(&format!("/delay/{file}?copy={i}"))));
    }
    let refs: Vec<(&str, String)> = list.iter().map(|(n, u)| (n.as_str(), u.clone())).collect();
    let cfg = common::write_config(dir.path(), &refs, "concurrency = 4\nper_host_concurrency = 4");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("database = \"data/t.sqlite\"", &format!("database = \"{url}\""));
    std::fs::write(&cfg, text).unwrap();
    let expected: HashMap<&str, BTreeSet<String>> = FILES.iter().map(|f| (*f, expected_urls(f))).collect();
    // (stored URLs, sources marked ok, items, distinct (source, url), distinct url), or None before any schema.
    type Seen = Option<(BTreeSet<String>, Vec<String>, i64, i64, i64)>;
    let look = |url: String| -> Seen {
        std::thread::spawn(move || {
            let mut c = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
            let schema = c.query_opt("SELECT version FROM tidings_schema", &[]);
            if schema.is_err() {
                // Killed before the first migration committed: no table at all.
                let tables: i64 =
                    c.query_one("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'", &[]).unwrap().get(0);
                assert_eq!(tables, 0, "tables without a committed migration");
                return None;
            }
            let present = c.query("SELECT url FROM items WHERE url IS NOT NULL", &[]).unwrap();
            let ok = c.query("SELECT name FROM sources WHERE last_status = 'ok'", &[]).unwrap();
            let counts = c
                .query_one("SELECT COUNT(url), COUNT(DISTINCT (source_id, url)), COUNT(DISTINCT url) FROM items", &[])
                .unwrap();
            Some((
                present.iter().map(|r| r.get(0)).collect(),
                ok.iter().map(|r| r.get(0)).collect(),
                counts.get(0),
                counts.get(1),
                counts.get(2),
            ))
        })
        .join()
        .unwrap()
    };

    let mut killed_mid_run = 0;
    for round in 0..12u64 {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tidings"))
            .arg("--config")
            .arg(&cfg)
            .arg("fetch")
            .env_remove("TIDINGS_DATABASE_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(30 + (round * 37) % 400)).await;
        let _ = child.kill();
        if !child.wait().unwrap().success() {
            killed_mid_run += 1;
        }
        let Some((present, ok_sources, ..)) = look(url.clone()) else { continue };
        for name in ok_sources {
            let file = names.iter().find(|(n, _)| *n == name).unwrap().1;
            let missing: Vec<_> = expected[file].difference(&present).collect();
            assert!(missing.is_empty(), "round {round}: source {name} marked ok but lost {missing:?}");
        }
    }
    assert!(killed_mid_run > 0, "no run was actually interrupted");

    let status = std::process::Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("--config")
        .arg(&cfg)
        .arg("fetch")
        .env_remove("TIDINGS_DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let (_, _, rows, per_source, distinct) = look(url).expect("a schema");
    let all: BTreeSet<String> = expected.values().flatten().cloned().collect();
    assert_eq!(rows, per_source, "an article stored twice by one source");
    assert_eq!(distinct as usize, all.len());
}
