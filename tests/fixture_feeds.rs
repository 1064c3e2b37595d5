//! Every fixture feed in `tests/fixtures/feeds/` through decode → parse →
//! normalize, checked against the expectations in its `manifest.json`.

use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use serde_json::Value;
use tidings::config::{Location, Source};
use tidings::fetch::Fetched;
use tidings::ingest::{Processed, process};
use tidings::normalize::url::canonical_url;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/feeds")
}

fn fold(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn source(path: PathBuf) -> Source {
    Source::new("fixture", Location::File(path), chrono_tz::Asia::Shanghai)
}

#[test]
fn every_fixture_matches_its_manifest() {
    let manifest: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("manifest.json")).unwrap()).unwrap();
    assert!(manifest.len() >= 20);
    // Well after every fixture date, so none is mistaken for the future.
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut failures = Vec::new();
    for entry in &manifest {
        let file = entry["file"].as_str().unwrap();
        let path = fixtures().join(file);
        let body = std::fs::read(&path).unwrap();
        let fetched = Fetched::from_bytes(body, url::Url::from_file_path(&path).unwrap().to_string());
        let result = process(&source(path), &fetched, now);
        let expected_items = entry["items"].as_array().unwrap();
        match (entry["ok"].as_bool().unwrap(), result) {
            (false, Ok(Processed { items, .. })) => {
                failures.push(format!("{file}: accepted ({} items) but must be rejected", items.len()))
            }
            (false, Err(_)) => {}
            (true, Err(e)) => failures.push(format!("{file}: rejected: {e}")),
            (true, Ok(Processed { items, .. })) => {
                if items.len() != expected_items.len() {
                    failures.push(format!("{file}: {} items, expected {}", items.len(), expected_items.len()));
                    continue;
                }
                for (i, (got, want)) in items.iter().zip(expected_items).enumerate() {
                    let want_title = fold(want["title"].as_str().unwrap());
                    if fold(&got.title) != want_title {
                        failures.push(format!("{file}[{i}]: title {:?}, expected {want_title:?}", got.title));
                    }
                    let want_link = want["link"].as_str().and_then(|l| canonical_url(l, None));
                    if got.url != want_link {
                        failures.push(format!("{file}[{i}]: link {:?}, expected {want_link:?}", got.url));
                    }
                    let want_date = want["published"]
                        .as_str()
                        .map(|d| chrono::DateTime::parse_from_rfc3339(d).unwrap().with_timezone(&Utc));
                    if got.published != want_date {
                        failures.push(format!("{file}[{i}]: published {:?}, expected {want_date:?}", got.published));
                    }
                    let want_image = want["image"].as_str().map(str::to_string);
                    if got.image != want_image {
                        failures.push(format!("{file}[{i}]: image {:?}, expected {want_image:?}", got.image));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn hostile_content_is_sanitized() {
    let path = fixtures().join("rss2-zh.xml");
    let fetched = Fetched::from_bytes(std::fs::read(&path).unwrap(), "https://www.example.cn/feed");
    let items = process(&source(path), &fetched, Utc::now()).unwrap().items;
    let mut saw_img = false;
    let mut saw_pdf = false;
    for item in &items {
        for html in [Some(&item.summary_html), item.content_html.as_ref()].into_iter().flatten() {
            let lower = html.to_ascii_lowercase();
            assert!(!lower.contains("<script"), "{html}");
            assert!(!lower.contains("javascript:"), "{html}");
            assert!(!lower.contains(" on") || !lower.contains("=\""), "{html}");
            for handler in ["onclick", "onerror", "onload", "onmouseover"] {
                assert!(!lower.contains(handler), "{handler} in {html}");
            }
            saw_img |= lower.contains("<img src=\"http");
            saw_pdf |= lower.contains("shenzhen.pdf");
        }
    }
    assert!(saw_img && saw_pdf, "sanitizing must keep images and ordinary links");
}
