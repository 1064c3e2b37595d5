//! Sources without feeds: HTML list pages read with CSS selectors, article
//! pages read for Open Graph facts and main text, against the fixture pages
//! in `tests/fixtures/html/` served on 127.0.0.1 (expectations in its
//! `expected.json`).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use tidings::config;
use tidings::ingest::{self, RunOptions, SourceOutcome};
use tidings::store::SqliteStore;

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(common::fixtures_dir().join("html/expected.json")).unwrap()).unwrap()
}

fn html_source(name: &str, url: &str, sel: &Value, extra: &str) -> String {
    let mut s = format!("[[source]]\nname = \"{name}\"\nurl = \"{url}\"\nkind = \"html\"\n");
    for key in ["item", "title", "link", "date", "date_format", "summary", "image"] {
        if let Some(v) = sel[key].as_str() {
            s.push_str(&format!("{key} = \"{v}\"\n"));
        }
    }
    s.push_str(extra);
    s.push('\n');
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_become_items_and_a_broken_selector_is_named() {
    let server = common::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let exp = expected();
    let lists = &exp["lists"];
    let mut sources = String::new();
    for (name, file) in [("部委", "list-utf8.html"), ("公司", "list-gbk.html"), ("论坛", "list-relative.html")] {
        sources.push_str(&html_source(name, &server.url(&format!("/html/{file}")), &lists[file]["selectors"], ""));
    }
    // The redesigned page, still read with the old selectors.
    sources.push_str(&html_source(
        "改版",
        &server.url("/html/list-broken.html"),
        &lists["list-utf8.html"]["selectors"],
        "",
    ));
    sources.push_str(&format!(
        "[[source]]\nname = \"芯片快讯\"\nurl = \"{}\"\nfull_text = true\n",
        server.url("/feeds/title-only.xml")
    ));
    // Article pages are on 127.0.0.1 here: let the SSRF guard pass them.
    let cfg = common::write_config(dir.path(), &[], "timeout_secs = 5\nallow_private_addresses = true");
    std::fs::write(dir.path().join("sources.toml"), sources).unwrap();

    let now = Utc.with_ymd_and_hms(2025, 4, 2, 4, 0, 0).unwrap();
    let loaded = config::load_all(&cfg).unwrap();
    let store = SqliteStore::open(&loaded.config.storage.database, Duration::from_secs(5)).unwrap();
    let options = RunOptions { now: Some(now), ..Default::default() };
    let (report, _) = ingest::run(&loaded.config, &loaded.sources, store, options, Box::new(|_| {})).await.unwrap();
    let o: HashMap<String, SourceOutcome> = report.sources.into_iter().map(|s| (s.name, s.outcome)).collect();
    match &o["改版"] {
        SourceOutcome::Failed { error } => assert_eq!(
            error,
            &format!("item selector 'ul.news li' matched 0 elements on {}", server.url("/html/list-broken.html"))
        ),
        other => panic!("{other:?}"),
    }
    for name in ["部委", "公司", "论坛", "芯片快讯"] {
        assert!(matches!(o[name], SourceOutcome::Stored(_)), "{name}: {:?}", o[name]);
    }

    let db = rusqlite::Connection::open(dir.path().join("data/t.sqlite")).unwrap();
    let stored: HashMap<String, (Option<String>, i64, Option<String>, String)> = db
        .prepare("SELECT title, url, published_at, image, text FROM items")
        .unwrap()
        .query_map([], |r| Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (source, file) in [("部委", "list-utf8.html"), ("公司", "list-gbk.html"), ("论坛", "list-relative.html")]
    {
        let items = lists[file]["items"].as_array().unwrap();
        for want in items {
            let title = want["title"].as_str().unwrap().split_whitespace().collect::<Vec<_>>().join(" ");
            let (url, published, image, _) =
                stored.get(&title).unwrap_or_else(|| panic!("{source}: {title} not stored"));
            let path = want["canonical_path"].as_str().or(want["path"].as_str()).unwrap();
            assert_eq!(url.as_deref(), Some(server.url(path).as_str()), "{title}");
            if let Some(d) = want["date_rfc3339"].as_str() {
                let d = DateTime::parse_from_rfc3339(d).unwrap().timestamp();
                assert_eq!(*published, d, "{title}: date {}", want["date"]);
            }
            if let Some(minutes) = want["date_meaning"]["minutes"].as_i64() {
                assert_eq!(*published, (now - chrono::Duration::minutes(minutes)).timestamp(), "{title}");
            }
            match want["image_path_or_url"].as_str() {
                Some(p) if p.starts_with('/') => assert_eq!(image.as_deref(), Some(server.url(p).as_str()), "{title}"),
                Some(p) => assert_eq!(image.as_deref(), Some(p), "{title}"),
                None => {}
            }
        }
    }
    // GBK page: GBK-only characters intact.
    assert!(stored.keys().any(|t| t.contains('堃')), "{:?}", stored.keys());
    // Full text: the title-only item now carries the article body, without the page's boilerplate.
    let article = &exp["articles"]["articles/fulltext.html"];
    let (_, _, _, text) = &stored["某AI芯片公司发布新一代推理芯片"];
    for p in article["body_paragraphs"].as_array().unwrap().iter().take(3) {
        let p = p.as_str().unwrap();
        assert!(text.contains(&p.chars().take(20).collect::<String>()), "body paragraph missing: {p}");
    }
    for bad in article["body_must_not_contain"].as_array().unwrap() {
        assert!(!text.contains(bad.as_str().unwrap()), "boilerplate {bad} in extracted text");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn article_pages_give_open_graph_facts() {
    let server = common::start(Duration::ZERO).await;
    let cfg = tidings::config::FetchConfig::default();
    let fetcher = tidings::fetch::Fetcher::new(&cfg, "Tidings-test").unwrap();
    let exp = expected();
    for (file, want) in exp["articles"].as_object().unwrap() {
        let meta = tidings::enrich::fetch_page(
            &fetcher,
            &server.url(&format!("/html/{file}")),
            chrono_tz::Asia::Shanghai,
            false,
        )
        .await
        .unwrap();
        let s = |k: &str| want[k].as_str().map(str::to_string);
        assert_eq!(meta.image, s("og_image"), "{file}: image");
        assert_eq!(meta.description, s("description"), "{file}: description");
        let published =
            want["published_time"].as_str().map(|d| DateTime::parse_from_rfc3339(d).unwrap().with_timezone(&Utc));
        assert_eq!(meta.published, published, "{file}: published");
        let canonical = s("canonical").map(|c| if c.starts_with('/') { server.url(&c) } else { c });
        assert_eq!(meta.canonical, canonical, "{file}: canonical");
    }
}
