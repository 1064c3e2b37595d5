//! Inputs that try to break Tidings, served from 127.0.0.1. Each gives a
//! specific per-source error or a sane result, and the run goes on. The
//! README's table of hostile inputs names these tests.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use tidings::config;
use tidings::ingest::{self, SourceOutcome};
use tidings::store::SqliteStore;

const FETCH: &str = "timeout_secs = 3\nmax_body_bytes = 1048576\nconcurrency = 16\nper_host_concurrency = 16";

async fn run(dir: &std::path::Path, sources: &[(&str, String)]) -> HashMap<String, SourceOutcome> {
    let cfg = common::write_config(dir, sources, FETCH);
    let loaded = config::load_all(&cfg).unwrap();
    let store = SqliteStore::open(&loaded.config.storage.database, Duration::from_secs(5)).unwrap();
    let (report, _) =
        ingest::run(&loaded.config, &loaded.sources, store, Default::default(), Box::new(|_| {})).await.unwrap();
    report.sources.into_iter().map(|s| (s.name, s.outcome)).collect()
}

fn titles(dir: &std::path::Path, source: &str) -> Vec<(String, Option<String>, bool)> {
    let db = rusqlite::Connection::open(dir.join("data/t.sqlite")).unwrap();
    let mut stmt = db
        .prepare("SELECT i.title, i.url, i.date_from_feed FROM items i JOIN sources s ON s.id = i.source_id WHERE s.name = ?1 ORDER BY i.id")
        .unwrap();
    stmt.query_map([source], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
}

fn failed(o: &HashMap<String, SourceOutcome>, name: &str) -> String {
    match &o[name] {
        SourceOutcome::Failed { error } => error.clone(),
        other => panic!("{name}: expected a failure, got {other:?}"),
    }
}

fn rss(items: &str) -> Vec<u8> {
    format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>t</title>{items}</channel></rss>").into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml_attacks_are_never_expanded() {
    let server = common::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let laughs = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<rss version="2.0"><channel><title>t</title><item><title>&lol9;</title><link>http://a.example/1</link></item></channel></rss>"#;
    let xxe = br#"<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY net SYSTEM "http://169.254.169.254/latest/meta-data/">]>
<rss version="2.0"><channel><title>t</title><item><title>&xxe;&net;</title><link>http://a.example/2</link><description>&xxe;</description></item></channel></rss>"#;
    let sources = vec![
        ("laughs", server.put("laughs.xml", laughs.to_vec(), &[])),
        ("xxe", server.put("xxe.xml", xxe.to_vec(), &[])),
    ];
    let start = Instant::now();
    let o = run(dir.path(), &sources).await;
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(matches!(o["laughs"], SourceOutcome::Stored(_)), "{:?}", o["laughs"]);
    let t = titles(dir.path(), "laughs");
    assert!(t[0].0.len() < 50 && !t[0].0.contains("lollol"), "{:?}", t[0].0);
    let t = titles(dir.path(), "xxe");
    assert!(!t[0].0.contains("root:") && t[0].0.len() < 50, "{:?}", t[0].0);
    let db = rusqlite::Connection::open(dir.path().join("data/t.sqlite")).unwrap();
    let leaked: i64 = db.query_row("SELECT COUNT(*) FROM items WHERE text LIKE '%root:%'", [], |r| r.get(0)).unwrap();
    assert_eq!(leaked, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_bytes_and_encodings_give_sane_results() {
    let server = common::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    // Declares UTF-8, is GBK.
    let mut gbk =
        b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>t</title><item><title>"
            .to_vec();
    gbk.extend(encoding_rs::GBK.encode("人工智能大会在上海开幕，多家企业发布大模型新品").0.iter());
    gbk.extend(b"</title><link>http://a.example/gbk</link></item></channel></rss>");
    // UTF-8 with stray invalid bytes and control characters.
    let mut stray = rss("<item><title>机器人\u{1}公司发布新品</title><link>http://a.example/s</link></item>");
    let at = stray.len() - 40;
    stray.insert(at, 0xFF);
    let truncated = b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><item><title>cut".to_vec();
    let sources = vec![
        ("gbk-as-utf8", server.put("gbk.xml", gbk, &[])),
        ("stray-bytes", server.put("stray.xml", stray, &[])),
        ("truncated", server.put("truncated.xml", truncated, &[])),
        ("empty", server.put("empty.xml", Vec::new(), &[])),
        ("json-garbage", server.put("garbage.json", b"{\"version\": 3, items: ]".to_vec(), &[])),
    ];
    let o = run(dir.path(), &sources).await;
    assert_eq!(titles(dir.path(), "gbk-as-utf8")[0].0, "人工智能大会在上海开幕，多家企业发布大模型新品");
    assert_eq!(titles(dir.path(), "stray-bytes")[0].0, "机器人公司发布新品");
    assert!(failed(&o, "truncated").starts_with("malformed XML at line 1"), "{}", failed(&o, "truncated"));
    assert_eq!(failed(&o, "empty"), "empty document");
    assert!(failed(&o, "json-garbage").starts_with("malformed JSON Feed"), "{}", failed(&o, "json-garbage"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sizes_are_bounded() {
    let server = common::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    // 64 MB of zeros in about 64 KB of gzip: the cap applies to what it inflates to.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        enc.write_all(&zeros).unwrap();
    }
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    let big_title =
        rss(&format!("<item><title>{}</title><link>http://a.example/t</link></item>", "长".repeat(300_000)));
    let deep = rss(&format!(
        "<item><title>deep</title><link>http://a.example/d</link><description><![CDATA[{}x]]></description></item>",
        "<div>".repeat(60_000)
    ));
    let sources = vec![
        ("gigabyte", server.url("/huge")),
        ("gzip-bomb", server.put("bomb.xml", bomb, &[("content-encoding", "gzip")])),
        ("big-title", server.put("title.xml", big_title, &[])),
        ("deep-html", server.put("deep.xml", deep, &[])),
    ];
    let start = Instant::now();
    let o = run(dir.path(), &sources).await;
    assert!(start.elapsed() < Duration::from_secs(30), "took {:?}", start.elapsed());
    assert!(failed(&o, "gigabyte").contains("larger than max_body_bytes (1048576 bytes)"));
    assert!(failed(&o, "gzip-bomb").contains("larger than max_body_bytes"), "{}", failed(&o, "gzip-bomb"));
    let t = &titles(dir.path(), "big-title")[0].0;
    assert_eq!(t.chars().count(), 300);
    assert!(t.ends_with('…'));
    assert!(matches!(o["deep-html"], SourceOutcome::Stored(_)), "{:?}", o["deep-html"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_items() {
    let server = common::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let mut items = String::with_capacity(12 << 20);
    for i in 0..100_000 {
        items.push_str(&format!(
            "<item><title>快讯{i}</title><link>http://a.example/{i}</link><guid>g{i}</guid></item>"
        ));
    }
    let cfg = common::write_config(
        dir.path(),
        &[("flood", server.put("flood.xml", rss(&items), &[]))],
        "timeout_secs = 30\nmax_body_bytes = 52428800",
    );
    let loaded = config::load_all(&cfg).unwrap();
    let store = SqliteStore::open(&loaded.config.storage.database, Duration::from_secs(5)).unwrap();
    let (report, _) =
        ingest::run(&loaded.config, &loaded.sources, store, Default::default(), Box::new(|_| {})).await.unwrap();
    match &report.sources[0].outcome {
        SourceOutcome::Stored(st) => assert_eq!(st.new, 100_000),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_http_is_reported_as_such() {
    let server = common::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let reset = common::raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: 100000\r\n\r\n<rss version=\"2.0\"><chan",
    )
    .await;
    let short = common::raw_server(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: 12\r\n\r\n<rss version=\"2.0\"><channel><title>x</title></channel></rss>").await;
    let not_tls = common::raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi").await;
    let sources = vec![
        ("reset", format!("http://{reset}/feed")),
        ("short-length", format!("http://{short}/feed")),
        ("tls", format!("https://{not_tls}/feed")),
        ("loop", server.url("/loop")),
        ("stall", server.url("/stall")),
        ("error-page", server.url("/feeds/not-a-feed.html")),
        ("refused", "http://127.0.0.1:9/feed".to_string()),
        ("good", server.url("/feeds/rss2-en.xml")),
    ];
    let o = run(dir.path(), &sources).await;
    let reset_err = failed(&o, "reset");
    assert!(reset_err.starts_with("HTTP error:") || reset_err.contains("connection"), "{reset_err}");
    assert!(failed(&o, "short-length").starts_with("malformed XML"), "{}", failed(&o, "short-length"));
    assert!(failed(&o, "tls").starts_with("TLS error:"), "{}", failed(&o, "tls"));
    assert!(failed(&o, "loop").starts_with("too many redirects"));
    assert_eq!(failed(&o, "stall"), "timed out after 3s");
    assert!(failed(&o, "error-page").starts_with("not a feed: an HTML page titled"));
    assert!(failed(&o, "refused").starts_with("cannot connect:"), "{}", failed(&o, "refused"));
    assert!(matches!(o["good"], SourceOutcome::Stored(_)), "the good source still ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_dates_titles_and_links() {
    let server = common::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let feed = rss(concat!(
        "<item><title>year zero</title><link>http://a.example/0</link><pubDate>Sat, 01 Jan 0000 00:00:00 GMT</pubDate></item>",
        "<item><title>year 9999</title><link>http://a.example/9</link><pubDate>Fri, 31 Dec 9999 23:59:59 GMT</pubDate></item>",
        "<item><title>next year</title><link>http://a.example/f</link><pubDate>2099-01-01T00:00:00Z</pubDate></item>",
        "<item><title>   </title><link>http://a.example/blank/</link></item>",
        "<item><title>🚀🚀🚀</title><link>http://a.example/emoji</link></item>",
        "<item><title>js</title><link>javascript:alert(1)</link><guid>js-1</guid></item>",
        "<item><title>data</title><link>data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;</link><guid>d-1</guid></item>",
        "<item><title>relative</title><link>/news/1.html</link></item>",
        "<item><title>garbage</title><link>ht!tp::://??</link><guid>g-1</guid></item>",
    ));
    let sources = vec![("odd", server.put("odd.xml", feed, &[]))];
    run(dir.path(), &sources).await;
    let t: HashMap<String, (Option<String>, bool)> =
        titles(dir.path(), "odd").into_iter().map(|(t, u, d)| (t, (u, d))).collect();
    for name in ["year zero", "year 9999", "next year"] {
        assert!(!t[name].1, "{name}: a date nobody can believe is replaced by the first-seen time");
    }
    assert_eq!(t["a.example/blank"].0.as_deref(), Some("http://a.example/blank/"));
    assert!(t.contains_key("🚀🚀🚀"));
    assert_eq!(t["js"].0, None);
    assert_eq!(t["data"].0, None);
    assert_eq!(t["garbage"].0, None);
    assert_eq!(t["relative"].0.as_deref(), Some(server.url("/news/1.html").as_str()));
}

/// Numbers no clock can hold, beside two good sources, through the binary
/// three runs in a row: a `max-age` past chrono's range (it used to panic
/// the one writer and roll back the batch, every run), a Retry-After of
/// three thousand years, a `<ttl>` and `sy:updateFrequency` past any
/// integer, dates in years 0 and 99999 and as Unix times past the calendar.
/// Every run exits 0, stores the good sources, names each hostile source at
/// most once, and sets its next fetch time within the schedule's bounds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_past_any_clock_never_stop_the_run() {
    let server = common::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let items = |prefix: &str, dates: &[&str]| -> String {
        dates
            .iter()
            .enumerate()
            .map(|(i, d)| {
                format!("<item><title>{prefix} {i}</title><link>http://a.example/{prefix}/{i}</link><pubDate>{d}</pubDate></item>")
            })
            .collect()
    };
    let odd = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:sy=\"http://purl.org/rss/1.0/modules/syndication/\"><channel><title>t</title>\
         <ttl>99999999999999999999999999999</ttl><sy:updatePeriod>hourly</sy:updatePeriod>\
         <sy:updateFrequency>18446744073709551616</sy:updateFrequency>{}</channel></rss>",
        items(
            "odd",
            &[
                "Sat, 01 Jan 0000 00:00:00 GMT",
                "Sat, 01 Jan 99999 00:00:00 GMT",
                "99999999999999",
                "-9223372036854775808",
                "1e30"
            ]
        )
    );
    let sources = vec![
        ("good-zh", server.url("/feeds/rss2-zh.xml")),
        ("good-en", server.url("/feeds/atom10-en.xml")),
        (
            "max-age",
            server.put(
                "max-age.xml",
                rss(&items("max-age", &["Wed, 02 Apr 2025 08:30:00 +0800"])),
                &[("Cache-Control", "public, max-age=99999999999999999")],
            ),
        ),
        (
            "retry-after",
            server.put("retry.xml", b"busy".to_vec(), &[(":status", "503"), ("Retry-After", "99999999999")]),
        ),
        ("odd-numbers", server.put("odd.xml", odd.into_bytes(), &[])),
    ];
    let cfg = common::write_config(dir.path(), &sources, FETCH);
    let db = dir.path().join("data/t.sqlite");
    let day = chrono::TimeDelta::hours(24);
    for run in 1..=3 {
        let before = chrono::Utc::now();
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tidings"))
            .arg("--config")
            .arg(&cfg)
            .arg("fetch")
            .output()
            .await
            .unwrap();
        let after = chrono::Utc::now();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "run {run}: {stdout}\n{stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("internal error"), "run {run}: {stderr}");
        // Stored on the first run; later runs get the same bodies, known
        // unchanged by their hash.
        let state = if run == 1 { " ok " } else { "not modified" };
        for name in ["good-zh", "good-en", "max-age", "odd-numbers"] {
            assert!(stdout.lines().any(|l| l.starts_with(name) && l.contains(state)), "run {run}, {name}: {stdout}");
        }
        // Named once each: the server's long max-age as a warning, the
        // 503 as its failure on the first run (then skipped until its week).
        let named = |name: &str| stderr.matches(&format!("source {name} (")).count();
        assert_eq!(named("max-age"), 1, "run {run}: {stderr}");
        assert!(stderr.contains("max-age of 99999999999999999 s is longer than a year"), "run {run}: {stderr}");
        assert_eq!(named("retry-after"), usize::from(run == 1), "run {run}: {stderr}");
        if run > 1 {
            assert!(stdout.lines().any(|l| l.starts_with("retry-after") && l.contains("skipped")), "{stdout}");
        }
        assert_eq!(named("good-zh") + named("good-en"), 0, "run {run}: {stderr}");
        // Dates in years 0 and 99999 are unreadable: said once, with the
        // string, when the body is read (the first run).
        assert_eq!(named("odd-numbers"), usize::from(run == 1), "run {run}: {stderr}");
        if run == 1 {
            assert!(stderr.contains("could not be read (first: \"Sat, 01 Jan 99999"), "run {run}: {stderr}");
        }

        let conn = rusqlite::Connection::open(&db).unwrap();
        let state = |name: &str| -> (i64, Option<i64>, Option<i64>) {
            conn.query_row(
                "SELECT (SELECT COUNT(*) FROM items i WHERE i.source_id = s.id), next_fetch_at, retry_after_until
                 FROM sources s WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap()
        };
        let at = |t: Option<i64>| chrono::DateTime::from_timestamp(t.unwrap(), 0).unwrap();
        for name in ["good-zh", "good-en"] {
            assert!(state(name).0 > 0, "run {run}: {name} stored nothing");
        }
        // Only a run that fetched moves the schedule; all the first run's
        // waits are long, so later runs (asking every source) fetch again.
        for name in ["max-age", "odd-numbers"] {
            let (count, next, _) = state(name);
            assert!(count > 0, "run {run}: {name} stored nothing");
            let next = at(next);
            assert!(next >= before + day && next <= after + day + day / 10, "run {run}, {name}: next fetch {next}");
        }
        let (_, next, until) = state("retry-after");
        let (next, until) = (at(next), at(until));
        assert!(until <= after + chrono::TimeDelta::days(7) && until >= before, "{until}");
        assert!(next >= before, "{next}");
    }
    // Dates past the calendar are not believed: the first-seen time stands in.
    let t = titles(dir.path(), "odd-numbers");
    assert_eq!(t.len(), 5);
    assert!(t.iter().all(|(_, _, from_feed)| !from_feed), "{t:?}");
}
