//! The pages `serve` shows readers, in a real browser: headless Chromium
//! (Debian's `chromium`) goes through the index, a post, a tag page and the
//! archive of a two-day demo site on 127.0.0.1, following links. Every
//! internal link answers 200 (and every `#story-…` anchor exists), no page
//! logs an error or loads anything off the site but story images, and at
//! phone width (375 px) nothing scrolls sideways. Screenshots of the index
//! and a post at desktop and phone widths go to `target/screenshots/`.
//!
//! Without Chromium the test says so and passes; under `CI` it fails.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::browser::{self, Browser, Seen};

const NEXT_DAY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>极客公园</title><link>https://www.geekpark.net/</link>
<item><title>余江AI眼镜大会闭幕：三天签约项目超30个，Rokid 49克AR眼镜订单火爆</title>
<link>https://www.geekpark.net/news/350001</link><pubDate>Wed, 02 Apr 2025 18:00:00 +0800</pubDate>
<description>为期两天的2025中国AI眼镜产业发展大会在江西余江闭幕。大会期间签约项目超30个。</description></item>
<item><title>某地发布算力券政策，最高补贴500万元</title>
<link>https://www.geekpark.net/news/350002</link><pubDate>Wed, 02 Apr 2025 20:00:00 +0800</pubDate>
<description>某市发布算力券实施细则，对采购智能算力的中小企业给予最高500万元补贴。</description></item>
</channel></rss>"#;

/// A demo site of two days (2 and 3 April 2025) served on `port`, with
/// `serve_extra` added to its `[serve]` table.
fn site(dir: &Path, port: u16, serve_extra: &str) -> PathBuf {
    let next_day = dir.join("next-day.xml");
    std::fs::write(&next_day, NEXT_DAY).unwrap();
    let mut sources = common::demo_sources_toml();
    sources.push_str(&format!("[[source]]\nname = \"极客公园\"\nurl = \"{}\"\n\n", next_day.display()));
    std::fs::write(dir.join("sources.toml"), sources).unwrap();
    let taxonomy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/taxonomy.toml");
    let config = format!(
        "[site]\ntitle = \"Tidings · AI 产业日报\"\ndescription = \"每日汇总中文 AI 产业要闻\"\n\
         base_url = \"http://127.0.0.1:{port}/\"\ntimezone = \"Asia/Shanghai\"\n\n\
         [storage]\ndatabase = \"db/t.sqlite\"\n\n[output]\ndir = \"site\"\n\n\
         [schedule]\nfetch = \"0 0 1 1 *\"\ndigest = \"0 0 1 1 *\"\n\n\
         [fetch]\nallow_private_addresses = true\n\n[serve]\nlisten = \"127.0.0.1:{port}\"\n{serve_extra}\n\n\
         [taxonomy]\nfile = \"{}\"\n\n[sources]\nfile = \"sources.toml\"\n",
        taxonomy.display()
    );
    let path = dir.join("tidings.toml");
    std::fs::write(&path, config).unwrap();
    for args in [&["digest", "--date", "2025-04-02"][..], &["digest", "--date", "2025-04-03", "--no-fetch"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_tidings")).arg("--config").arg(&path).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    path
}

/// `tidings serve`, stopped when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `tidings serve` with its log (at debug level) in `log`.
fn serve(config: &Path, base: &str, log: &Path) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("--config")
        .arg(config)
        .arg("serve")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let server = Server(child);
    let start = Instant::now();
    while get(&format!("{base}healthz")).is_none() {
        assert!(start.elapsed() < Duration::from_secs(30), "serve did not answer");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// Status and body of a GET on loopback.
fn get(url: &str) -> Option<(u16, String)> {
    get_with(url, &[]).map(|(status, _, body)| (status, body))
}

/// Status, headers and body of a GET with extra request headers.
fn get_with(url: &str, headers: &[(&str, &str)]) -> Option<(u16, reqwest::header::HeaderMap, String)> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        // The wire as it is: no decompression, no Accept-Encoding unless given.
        let client = reqwest::Client::builder().no_gzip().no_brotli().no_deflate().build().ok()?;
        let mut req = client.get(url).timeout(Duration::from_secs(10));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.ok()?;
        let (status, h) = (r.status().as_u16(), r.headers().clone());
        Some((status, h, r.text().await.ok()?))
    })
}

fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("screenshots")
}

/// The page's links, absolute.
fn links(b: &mut Browser) -> Vec<String> {
    let v = b.eval("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)");
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

/// No error but a story image that could not load (there is no network);
/// nothing requested off the site but images.
fn assert_clean(page: &str, seen: &Seen, base: &str) {
    let images: BTreeSet<&str> =
        seen.requests.iter().filter(|(_, kind)| kind == "Image").map(|(u, _)| u.as_str()).collect();
    for (url, kind) in &seen.requests {
        assert!(
            url.starts_with(base) || url.starts_with("data:") || kind == "Image",
            "{page} loaded {url} ({kind}) from off the site"
        );
    }
    for (error, url) in &seen.errors {
        let image = url.as_deref().is_some_and(|u| images.contains(u) && !u.starts_with(base));
        assert!(image, "{page} logged an error: {error} {url:?}");
    }
}

#[test]
fn reader_pages_in_chromium() {
    let Some(chromium) = browser::find() else {
        assert!(std::env::var_os("CI").is_none(), "chromium is not installed (.ci/run installs it)");
        eprintln!("reader_pages_in_chromium: no chromium on this machine; skipped (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let base = format!("http://127.0.0.1:{port}/");
    let config = site(dir.path(), port, "");
    let _server = serve(&config, &base, &dir.path().join("serve.log"));
    // No token configured: no preview page at all.
    assert_eq!(get(&format!("{base}preview")).unwrap().0, 404);
    let shots = screenshots();
    let mut b = Browser::launch(&chromium);
    let mut visited: Vec<String> = Vec::new();
    let mut all_links: BTreeSet<String> = BTreeSet::new();

    // Desktop: the index, following its first story to the post.
    b.viewport(1280, 900, false);
    let seen = b.visit(&base);
    assert_clean("/", &seen, &base);
    assert_eq!(b.eval("document.title"), "Tidings · AI 产业日报");
    b.screenshot(&shots.join("index-desktop.png"));
    let index_links = links(&mut b);
    all_links.extend(index_links.iter().cloned());
    let story = index_links.iter().find(|l| l.contains("/posts/2025-04-03#story-")).expect("a top story of 3 April");
    visited.push(base.clone());

    let seen = b.visit(story);
    assert_clean(story, &seen, &base);
    let anchor = story.split_once('#').unwrap().1;
    assert_eq!(b.eval(&format!("document.getElementById('{anchor}') !== null")), true, "{story}");
    assert_eq!(b.eval("document.querySelector('meta[property=\"og:type\"]').content"), "article");
    b.screenshot(&shots.join("post-desktop.png"));
    let post_links = links(&mut b);
    all_links.extend(post_links.iter().cloned());
    let prev = b.eval("document.querySelector('a[rel=prev]') && document.querySelector('a[rel=prev]').href");
    assert_eq!(prev, format!("{base}posts/2025-04-02"), "3 April links back to 2 April");
    visited.push(story.clone());

    // The day before links forward; a tag page and the archive.
    let seen = b.visit(&format!("{base}posts/2025-04-02"));
    assert_clean("2 April", &seen, &base);
    let next = b.eval("document.querySelector('a[rel=next]') && document.querySelector('a[rel=next]').href");
    assert_eq!(next, format!("{base}posts/2025-04-03"));
    let day_links = links(&mut b);
    all_links.extend(day_links.iter().cloned());
    let tag_page = day_links
        .iter()
        .find(|l| l.starts_with(&format!("{base}tags/")) && !l.ends_with(".xml"))
        .expect("a tag page link")
        .clone();
    visited.push(format!("{base}posts/2025-04-02"));

    let seen = b.visit(&tag_page);
    assert_clean(&tag_page, &seen, &base);
    let feed = b.eval("document.querySelector('link[rel=alternate][href*=\"/tags/\"]').href");
    assert!(feed.as_str().unwrap().ends_with(".xml"), "the tag page names its feed: {feed}");
    assert!(b.eval("document.querySelectorAll('main li a').length").as_u64().unwrap() >= 1, "{tag_page}");
    all_links.extend(links(&mut b));
    visited.push(tag_page.clone());

    let seen = b.visit(&format!("{base}archive"));
    assert_clean("/archive", &seen, &base);
    assert_eq!(b.eval("document.querySelector('main h2').textContent"), "2025年4月");
    all_links.extend(links(&mut b));
    visited.push(format!("{base}archive"));

    // A phone: nothing wider than the screen.
    b.viewport(375, 812, true);
    for (i, page) in visited.iter().enumerate() {
        let seen = b.visit(page);
        assert_clean(page, &seen, &base);
        let (scroll, inner) = (b.eval("document.documentElement.scrollWidth"), b.eval("window.innerWidth"));
        assert!(
            scroll.as_u64().unwrap() <= inner.as_u64().unwrap(),
            "{page} scrolls sideways at 375 px: {scroll} > {inner}"
        );
        match i {
            0 => b.screenshot(&shots.join("index-phone.png")),
            1 => b.screenshot(&shots.join("post-phone.png")),
            _ => {}
        }
    }

    // Every internal link answers 200; every story anchor exists on its page.
    let internal: BTreeSet<&String> = all_links.iter().filter(|l| l.starts_with(&base)).collect();
    assert!(internal.len() >= 10, "{internal:?}");
    for link in internal {
        let (page, fragment) = link.split_once('#').map_or((link.as_str(), None), |(p, f)| (p, Some(f)));
        let (status, body) = get(page).unwrap_or_else(|| panic!("{page} did not answer"));
        assert_eq!(status, 200, "{link}");
        if let Some(f) = fragment {
            assert!(body.contains(&format!("id=\"{f}\"")), "{link}: no such anchor");
        }
    }
    // Pages follow the feeds' rules: a strong ETag, 304 when it matches, gzip when asked.
    for page in &visited {
        let (status, h, _) = get_with(page, &[]).unwrap();
        assert_eq!(status, 200, "{page}");
        let etag = h["etag"].to_str().unwrap().to_string();
        assert!(etag.starts_with('"'), "{page}: {etag}");
        // An edited rebuild changes a page without a newer time to tell: no
        // Last-Modified, so If-Modified-Since alone never gets a stale 304.
        assert!(h.get("last-modified").is_none(), "{page}");
        let (status, _, body) = get_with(page, &[("if-none-match", &etag)]).unwrap();
        assert_eq!((status, body.as_str()), (304, ""), "{page}");
        let (status, h, _) = get_with(page, &[("accept-encoding", "gzip")]).unwrap_or_else(|| panic!("{page}"));
        assert_eq!(status, 200, "{page}");
        assert_eq!(h.get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"), "{page}");
    }
    for name in ["index-desktop.png", "post-desktop.png", "index-phone.png", "post-phone.png"] {
        let png = std::fs::read(shots.join(name)).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 5_000, "{name}");
    }
}

#[test]
fn the_preview_needs_its_token_and_shows_the_day_as_edited() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let base = format!("http://127.0.0.1:{port}/");
    let token = "editor-secret-0123456789";
    let config = site(dir.path(), port, &format!("preview_token = \"{token}\""));
    let log = dir.path().join("serve.log");
    let _server = serve(&config, &base, &log);
    let day = format!("{base}preview?date=2025-04-02");

    // Without the token, or with a wrong one: 401, nothing shown.
    for (url, headers) in [
        (day.clone(), vec![]),
        (format!("{day}&token=editor-secret-0123456780"), vec![]),
        (day.clone(), vec![("authorization", "Bearer nope")]),
    ] {
        let (status, h, body) = get_with(&url, &headers).unwrap();
        assert_eq!(status, 401, "{url} {headers:?}");
        assert_eq!(h["www-authenticate"], "Bearer");
        assert!(!body.contains("story-"), "{body}");
    }
    // With it (query or header): the stories with their ids, never cached.
    let (status, h, page) = get_with(&format!("{day}&token={token}"), &[]).unwrap();
    assert_eq!(status, 200, "{page}");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "no-referrer");
    let (status, _, _) = get_with(&format!("{base}preview?token={token}&date=-262144-01-01"), &[]).unwrap();
    assert_eq!(status, 400, "a date no digest can have");
    let (_, _, by_header) = get_with(&day, &[("authorization", &format!("Bearer {token}"))]).unwrap();
    assert_eq!(by_header, page);
    let ids: Vec<&str> = page.split("<code>").skip(1).map(|s| &s[..s.find("</code>").unwrap()]).collect();
    assert!(ids.len() >= 6, "{page}");
    assert!(page.contains(&format!("id=\"story-{}\"", ids[0])), "the story itself follows, at its anchor");

    // An edit shows at once, before any digest runs.
    let out = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("--config")
        .arg(&config)
        .args(["edit", "--date", "2025-04-02", "hide", ids[0]])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, _, edited) = get_with(&format!("{day}&token={token}"), &[]).unwrap();
    assert!(!edited.contains(&format!("<code>{}</code>", ids[0])), "{edited}");
    // Without a date: the next digest's day, which has no reports yet.
    let (status, _, next) = get_with(&format!("{base}preview?token={token}"), &[]).unwrap();
    assert_eq!(status, 200);
    assert!(next.contains("预览"), "{next}");
    // The token is never written to the log.
    drop(_server);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("served"), "the log is at debug level: {logged}");
    assert!(!logged.contains(token), "the token reached the log");
}
