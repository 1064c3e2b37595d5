//! Peer test corpora (`../shared/corpus`: feedparser's ~2,100 test feeds and
//! feed-rs's real-world captures) through our decode → parse → normalize path.
//! Nobody on this project wrote these inputs.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use chrono::Utc;
use tidings::config::{Location, Source};
use tidings::fetch::Fetched;
use tidings::ingest::process;

fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TIDINGS_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if dir.is_dir() {
        return Some(dir);
    }
    // CI always has the corpus beside the clone; only a developer's odd checkout may not.
    assert!(std::env::var_os("CI").is_none(), "corpus not found at {}", dir.display());
    eprintln!("corpus not found at {}: skipped", dir.display());
    None
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("xml" | "json"))
            && !p.to_string_lossy().ends_with(".serde.json")
        {
            out.push(p);
        }
    }
}

type Outcome = Result<tidings::ingest::Processed, String>;

fn run(path: &Path) -> std::thread::Result<Outcome> {
    let body = std::fs::read(path).unwrap();
    let source = Source::new("corpus", Location::File(path.to_path_buf()), chrono_tz::UTC);
    let fetched = Fetched::from_bytes(body, "http://example.org/feed/");
    std::panic::catch_unwind(AssertUnwindSafe(|| process(&source, &fetched, Utc::now())))
}

/// `Expect:` line of a feedparser case.
fn expectation(path: &Path) -> Option<String> {
    let text = String::from_utf8_lossy(&std::fs::read(path).ok()?).into_owned();
    text.lines().find_map(|l| l.trim().strip_prefix("Expect:").map(|e| e.trim().to_string()))
}

/// The literal in `entries[0]['FIELD'] == '...'`, when that is all the case checks.
fn expected_literal(expect: &str, field: &str) -> Option<String> {
    let key = format!("entries[0]['{field}'] == ");
    let at = expect.find(&key)? + key.len();
    let rest = &expect[at..];
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let end = rest[1..].find(quote)?;
    let lit = &rest[1..1 + end];
    (!lit.contains('\\') && !rest[1 + end + 1..].contains(" and ")).then(|| lit.to_string())
}

#[test]
fn every_corpus_file_goes_through_without_a_panic() {
    let Some(dir) = corpus_dir() else { return };
    let mut all = Vec::new();
    files(&dir, &mut all);
    assert!(all.len() > 2000, "only {} corpus files", all.len());
    let (mut ok, mut rejected, mut panics) = (0, 0, Vec::new());
    let mut wellformed_rejected = Vec::new();
    for path in &all {
        match run(path) {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(e)) => {
                rejected += 1;
                let rel = path.strip_prefix(&dir).unwrap().to_string_lossy().into_owned();
                if rel.contains("/wellformed/") || rel.starts_with("feed-rs-fixtures") {
                    wellformed_rejected.push(format!("{rel}: {e}"));
                }
            }
            Err(_) => panics.push(path.display().to_string()),
        }
    }
    eprintln!("corpus: {} files, {ok} parsed, {rejected} rejected with a message, {} panics", all.len(), panics.len());
    eprintln!("well-formed cases rejected ({}):\n{}", wellformed_rejected.len(), wellformed_rejected.join("\n"));
    assert!(panics.is_empty(), "panicked on:\n{}", panics.join("\n"));
    // Every well-formed feedparser case is read, except Microsoft CDF channels
    // (not RSS, Atom or RDF).
    let unexpected: Vec<_> =
        wellformed_rejected.iter().filter(|r| r.starts_with("feedparser") && !r.contains("<CHANNEL>")).collect();
    assert!(unexpected.is_empty(), "well-formed cases rejected: {unexpected:#?}");
}

fn wellformed_cases(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    files(&dir.join("feedparser-tests/wellformed"), &mut all);
    all
}

#[test]
fn sanitize_cases_leave_nothing_live() {
    let Some(dir) = corpus_dir() else { return };
    let mut cases = Vec::new();
    files(&dir.join("feedparser-tests/wellformed/sanitize"), &mut cases);
    assert!(cases.len() > 700);
    let mut checked = 0;
    let mut live = Vec::new();
    for path in &cases {
        let Ok(Ok(tidings::ingest::Processed { items, .. })) = run(path) else { continue };
        for item in items {
            for html in [Some(item.summary_html.clone()), item.content_html.clone()].into_iter().flatten() {
                checked += 1;
                let lower = html.to_ascii_lowercase();
                let bad = [
                    "<script",
                    "javascript:",
                    "vbscript:",
                    "<iframe",
                    "<object",
                    "<embed",
                    "<style",
                    "style=",
                    "<form",
                    "<meta",
                    "<link",
                ]
                .into_iter()
                .find(|b| lower.contains(b))
                .map(str::to_string)
                .or_else(|| event_handler(&lower));
                if let Some(b) = bad {
                    live.push(format!("{}: {b} in {html}", path.display()));
                }
            }
        }
    }
    eprintln!("sanitize: {} cases, {checked} HTML fields checked", cases.len());
    assert!(checked >= 200, "only {checked} sanitized fields checked");
    assert!(live.is_empty(), "live content survived:\n{}", live.join("\n"));
}

/// An `on…=` attribute inside a tag.
fn event_handler(html: &str) -> Option<String> {
    let mut in_tag = false;
    let b = html.as_bytes();
    for i in 0..b.len() {
        match b[i] {
            b'<' => in_tag = true,
            b'>' => in_tag = false,
            b'o' if in_tag && b[i - 1].is_ascii_whitespace() && b.get(i + 1) == Some(&b'n') => {
                let name: String = html[i..].chars().take_while(|c| c.is_ascii_alphabetic()).collect();
                if html[i + name.len()..].trim_start().starts_with('=') {
                    return Some(name);
                }
            }
            _ => {}
        }
    }
    None
}

#[test]
fn wellformed_titles_and_links_agree_with_feedparser() {
    let Some(dir) = corpus_dir() else { return };
    let (mut titles, mut title_ok, mut links, mut link_ok) = (0, 0, 0, 0);
    let mut misses = Vec::new();
    for path in wellformed_cases(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // Out of scope here: base64 text constructs, CDF channels, and cases
        // that depend on HTTP headers the test cannot send.
        if name.contains("base64") || name.starts_with("http_") || path.to_string_lossy().contains("/cdf/") {
            continue;
        }
        let Some(expect) = expectation(&path) else { continue };
        // An empty expected title means "nothing survives sanitizing": an item
        // with nothing to show, which we drop.
        // feedparser keeps markup in HTML titles, ours are plain text: an
        // HTML title agrees when its text does; a text title (`History of
        // the <blink> tag`) when it reads the same.
        // An expected title with no text ("nothing survives sanitizing") is
        // an item with nothing to show, which we drop.
        let want_title =
            expected_literal(&expect, "title").filter(|t| !tidings::normalize::html::title_text(t, true).is_empty());
        let want_link = expected_literal(&expect, "link");
        if want_title.is_none() && want_link.is_none() {
            continue;
        }
        let first = match run(&path) {
            Ok(Ok(tidings::ingest::Processed { items, .. })) => items.into_iter().next(),
            _ => None,
        };
        if let Some(t) = want_title {
            titles += 1;
            let as_text = tidings::normalize::html::title_text(&t, false);
            let as_html = tidings::normalize::html::title_text(&t, true);
            let want = as_html.clone();
            if first.as_ref().is_some_and(|i| i.title == as_text || (i.title == as_html && !as_html.is_empty())) {
                title_ok += 1;
            } else {
                misses.push(format!("{}: title {:?} vs {want:?}", path.display(), first.as_ref().map(|i| &i.title)));
            }
        }
        if let Some(l) = want_link {
            links += 1;
            let want =
                tidings::normalize::url::canonical_url(&l, url::Url::parse("http://example.org/feed/").ok().as_ref());
            if first.as_ref().is_some_and(|i| i.url == want) {
                link_ok += 1;
            } else {
                misses.push(format!("{}: link {:?} vs {want:?}", path.display(), first.as_ref().map(|i| &i.url)));
            }
        }
    }
    eprintln!("titles {title_ok}/{titles}, links {link_ok}/{links}\n{}", misses.join("\n"));
    assert!(titles >= 35 && links >= 10, "too few cases: {titles} titles, {links} links");
    assert!(title_ok as f64 >= 0.9 * titles as f64, "titles agree in only {title_ok}/{titles}");
    assert!(link_ok as f64 >= 0.9 * links as f64, "links agree in only {link_ok}/{links}");
}

#[test]
fn feed_rs_captures_keep_every_entry() {
    let Some(dir) = corpus_dir() else { return };
    let mut all = Vec::new();
    files(&dir.join("feed-rs-fixtures"), &mut all);
    let (mut compared, mut same_count, mut title_total, mut title_same) = (0, 0, 0, 0);
    let mut misses = Vec::new();
    for path in all {
        let serde = path.with_extension("serde.json");
        let Ok(text) = std::fs::read_to_string(&serde) else { continue };
        let Ok(reference) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
        let Some(entries) = reference["entries"].as_array() else { continue };
        compared += 1;
        let Ok(Ok(tidings::ingest::Processed { items, .. })) = run(&path) else {
            misses.push(format!("{}: rejected", path.display()));
            continue;
        };
        // Entries with nothing to show (no title, text or link) are dropped on purpose.
        let showable = entries
            .iter()
            .filter(|e| {
                !e["title"].is_null()
                    || !e["links"].as_array().is_none_or(|l| l.is_empty())
                    || !e["summary"].is_null()
                    || !e["content"].is_null()
            })
            .count();
        if items.len() == showable {
            same_count += 1;
        } else {
            misses.push(format!("{}: {} items vs {showable}", path.display(), items.len()));
        }
        for (item, e) in items.iter().zip(entries) {
            if let Some(t) = e["title"]["content"].as_str() {
                title_total += 1;
                let want = tidings::normalize::html::title_text(
                    t,
                    e["title"]["content_type"].as_str().is_some_and(|c| c.contains("html")),
                );
                if item.title == want || want.is_empty() {
                    title_same += 1;
                } else {
                    misses.push(format!("{}: title {:?} vs {want:?}", path.display(), item.title));
                }
            }
        }
    }
    eprintln!(
        "feed-rs captures: {same_count}/{compared} same entry count, titles {title_same}/{title_total}\n{}",
        misses.join("\n")
    );
    assert!(compared >= 60, "only {compared} captures compared");
    assert!(same_count as f64 >= 0.95 * compared as f64);
    assert!(title_same as f64 >= 0.95 * title_total as f64);
}
