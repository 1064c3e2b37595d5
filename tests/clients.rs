//! Real clients read what Tidings publishes: Python feedparser, newsboat
//! polling `tidings serve`, Jekyll and Hugo building the posts; the feed
//! validator's rules; OPML round trips with each reader's export shape; feed
//! discovery. `.ci/run` installs the clients; without `CI` set, a missing
//! client skips its test with a message.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether a client program is there; in CI its absence is a failure.
fn have(program: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "{program} is not installed (.ci/run installs it)");
        eprintln!("{program} not installed: skipped");
    }
    found
}

/// The demo digest for 2025-04-02 in a temporary folder, in `format`.
fn demo_site(format: &str, port: u16) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let sources = common::demo_sources_toml();
    std::fs::write(dir.path().join("sources.toml"), sources).unwrap();
    let config = format!(
        "[site]\ntitle = \"Tidings 测试站\"\nbase_url = \"http://127.0.0.1:{port}/\"\ntimezone = \"Asia/Shanghai\"\n\n\
         [storage]\ndatabase = \"db/t.sqlite\"\n\n[output]\ndir = \"site\"\nformat = \"{format}\"\n\n\
         [schedule]\nfetch = \"0 0 1 1 *\"\ndigest = \"0 0 1 1 *\"\n\n[serve]\nlisten = \"127.0.0.1:{port}\"\n\n\
         [taxonomy]\nfile = \"{}\"\n\n[sources]\nfile = \"sources.toml\"\n",
        repo().join("config/taxonomy.toml").display()
    );
    let path = dir.path().join("tidings.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("--config")
        .arg(&path)
        .args(["digest", "--date", "2025-04-02"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (dir, path)
}

fn post_titles(site: &Path) -> (String, Vec<String>) {
    let post = std::fs::read_to_string(site.join("_posts/2025-04-02-ai-daily.md"))
        .or_else(|_| std::fs::read_to_string(site.join("content/posts/2025-04-02-ai-daily.md")))
        .unwrap();
    let title = post.lines().find_map(|l| l.strip_prefix("title: ")).unwrap().trim_matches('"').to_string();
    // Each `## headline {#story-<id>}`: the builders take the anchor as the id.
    let headings = post
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| h.rfind(" {#story-").map_or(h, |i| &h[..i]).to_string())
        .collect();
    (title, headings)
}

#[test]
fn feedparser_reads_every_feed_without_bozo() {
    if !have("python3")
        || !Command::new("python3").args(["-c", "import feedparser"]).status().is_ok_and(|s| s.success())
    {
        assert!(std::env::var_os("CI").is_none(), "python feedparser is not installed (.ci/run installs it)");
        eprintln!("feedparser not installed: skipped");
        return;
    }
    let (dir, _) = demo_site("jekyll", 8080);
    let site = dir.path().join("site");
    let (title, headings) = post_titles(&site);
    let tag_feed = site.join("tags/AI眼镜.xml");
    let out = Command::new("python3")
        .arg(repo().join("tests/clients/check_feedparser.py"))
        .arg(site.join("feed.xml"))
        .arg(site.join("atom.xml"))
        .arg(&tag_feed)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let results: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(results.len(), 3);
    for r in &results {
        assert_eq!(r["bozo"], 0, "{}: {}", r["path"], r["bozo_exception"]);
        assert!(r["entries"].as_array().unwrap().iter().all(|e| e["dated"] == true), "{}", r["path"]);
    }
    for r in &results[..2] {
        let entries = r["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["title"], title);
        assert_eq!(entries[0]["link"], "http://127.0.0.1:8080/posts/2025-04-02");
        assert!(entries[0]["tags"].as_array().unwrap().iter().any(|t| t == "AI眼镜"));
        assert_eq!(r["title"], "Tidings 测试站");
    }
    assert_eq!(results[0]["version"], "rss20");
    assert_eq!(results[1]["version"], "atom10");
    let tag_entries = results[2]["entries"].as_array().unwrap();
    assert!(
        tag_entries.iter().any(|e| headings.contains(&e["title"].as_str().unwrap().to_string())),
        "{tag_entries:?}"
    );
}

/// The feed validator's rules, checked on our output: absolute URLs, RFC 822
/// dates in RSS, RFC 3339 in Atom, rel=self naming the feed itself, unique ids,
/// required channel and item elements.
#[test]
fn feeds_follow_the_validators_rules() {
    let (dir, _) = demo_site("jekyll", 8080);
    let site = dir.path().join("site");
    let base = "http://127.0.0.1:8080/";
    let mut rss_files = vec![("feed.xml".to_string(), std::fs::read(site.join("feed.xml")).unwrap())];
    for e in std::fs::read_dir(site.join("tags")).unwrap() {
        let p = e.unwrap().path();
        rss_files.push((format!("tags/{}", p.file_name().unwrap().to_string_lossy()), std::fs::read(&p).unwrap()));
    }
    for (name, bytes) in &rss_files {
        let text = String::from_utf8(bytes.clone()).unwrap();
        let channel = rss::Channel::read_from(bytes.as_slice()).unwrap();
        assert!(
            !channel.title.is_empty() && channel.link.starts_with(base) && !channel.description.is_empty(),
            "{name}"
        );
        let self_link =
            channel.atom_ext.as_ref().and_then(|a| a.links.iter().find(|l| l.rel == "self")).expect("rel=self");
        let encoded: String =
            url::form_urlencoded::byte_serialize(name.trim_start_matches("tags/").as_bytes()).collect();
        assert!(
            self_link.href == format!("{base}{name}") || self_link.href.ends_with(&encoded.replace('+', "%20")),
            "{name}: {}",
            self_link.href
        );
        assert!(text.contains("xmlns:atom=\"http://www.w3.org/2005/Atom\""));
        chrono::DateTime::parse_from_rfc2822(channel.last_build_date.as_deref().unwrap()).unwrap();
        let mut guids = std::collections::HashSet::new();
        for item in &channel.items {
            assert!(item.title.is_some() || item.description.is_some());
            assert!(item.link.as_deref().unwrap().starts_with(base), "{name}: relative link");
            chrono::DateTime::parse_from_rfc2822(item.pub_date.as_deref().unwrap()).expect("RFC 822 pubDate");
            assert!(guids.insert(item.guid.as_ref().unwrap().value.clone()), "{name}: duplicate guid");
            for href in item.description.as_deref().unwrap_or("").split("href=\"").skip(1) {
                assert!(href.starts_with("http://") || href.starts_with("https://"), "{name}: relative href {href}");
            }
        }
    }
    let feed = atom_syndication::Feed::read_from(std::fs::read(site.join("atom.xml")).unwrap().as_slice()).unwrap();
    assert!(feed.links.iter().any(|l| l.rel == "self" && l.href == format!("{base}atom.xml")));
    assert!(feed.id.starts_with(base));
    let mut ids = std::collections::HashSet::new();
    for e in &feed.entries {
        assert!(ids.insert(e.id.clone()), "duplicate atom:id");
        assert!(e.links.iter().all(|l| l.href.starts_with(base)));
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(site.join("feed.json")).unwrap()).unwrap();
    assert_eq!(json["feed_url"], format!("{base}feed.json"));
    for item in json["items"].as_array().unwrap() {
        chrono::DateTime::parse_from_rfc3339(item["date_published"].as_str().unwrap()).unwrap();
    }
}

use common::free_port;

/// Stops a child process when the test ends, passing or not.
struct Stop(std::process::Child);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

/// newsboat subscribes to the served feeds and stores our entries with their
/// Chinese titles. newsboat 2.21 (Debian) sends no conditional headers on a
/// reload (seen with a plain server logging request headers), so the 304s of
/// a second poll are shown with feedparser, which sends the ETag back.
#[test]
fn newsboat_subscribes_to_the_served_feeds_and_polls_get_304s() {
    if !have("newsboat") {
        return;
    }
    let port = free_port();
    let (dir, config) = demo_site("jekyll", port);
    let (title, headings) = post_titles(&dir.path().join("site"));
    let _server = Stop(
        Command::new(env!("CARGO_BIN_EXE_tidings"))
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "serve did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let nb = dir.path().join("newsboat");
    std::fs::create_dir_all(&nb).unwrap();
    std::fs::write(
        nb.join("urls"),
        format!("{base}/feed.xml\n{base}/atom.xml\n{base}/tags/%E5%A4%A7%E6%A8%A1%E5%9E%8B.xml\n"),
    )
    .unwrap();
    std::fs::write(nb.join("config"), "").unwrap();
    let reload = || {
        let out = Command::new("newsboat")
            .arg("-u")
            .arg(nb.join("urls"))
            .arg("-c")
            .arg(nb.join("cache.db"))
            .arg("-C")
            .arg(nb.join("config"))
            .args(["-x", "reload"])
            .env("HOME", &nb)
            .output()
            .unwrap();
        assert!(out.status.success(), "newsboat: {}", String::from_utf8_lossy(&out.stderr));
    };
    let metric = |name: &str| -> u64 {
        let text = reqwest::blocking_get(&format!("{base}/metrics"));
        text.lines().find_map(|l| l.strip_prefix(name).map(|v| v.trim().parse().unwrap())).unwrap_or(0)
    };
    reload();
    let cache = rusqlite::Connection::open(nb.join("cache.db")).unwrap();
    let titles: Vec<String> = cache
        .prepare("SELECT title FROM rss_item")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(titles.contains(&title), "{titles:?} lacks {title}");
    assert!(titles.iter().any(|t| headings.contains(t)), "no story from the tag feed in {titles:?}");
    // A second reload stores nothing twice.
    reload();
    let count: i64 = cache.query_row("SELECT COUNT(*) FROM rss_item", [], |r| r.get(0)).unwrap();
    assert_eq!(count as usize, titles.len());
    // feedparser polls twice, sending back the validators: the second answer is a 304.
    if Command::new("python3").args(["-c", "import feedparser"]).status().is_ok_and(|s| s.success()) {
        let before = metric("tidings_http_responses_total{status=\"304\"}");
        for feed in ["feed.xml", "atom.xml"] {
            let out = Command::new("python3")
                .arg(repo().join("tests/clients/poll_twice.py"))
                .arg(format!("{base}/{feed}"))
                .output()
                .unwrap();
            let r: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
            assert_eq!((r["first"].as_i64(), r["second"].as_i64()), (Some(200), Some(304)), "{feed}: {r}");
            assert_eq!(r["entries"], 1);
        }
        let after = metric("tidings_http_responses_total{status=\"304\"}");
        assert_eq!(after, before + 2, "the server counted the 304s");
    }
}

/// A blocking GET for the tests above, on reqwest's async client.
mod reqwest {
    pub fn blocking_get(url: &str) -> String {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let _ = rustls::crypto::ring::default_provider().install_default();
            ::reqwest::get(url).await.unwrap().text().await.unwrap()
        })
    }
}

#[test]
fn jekyll_builds_the_posts() {
    if !have("jekyll") {
        return;
    }
    let (dir, _) = demo_site("jekyll", 8080);
    let site = dir.path().join("site");
    let (title, headings) = post_titles(&site);
    std::fs::write(
        site.join("_config.yml"),
        "title: Tidings\ntimezone: Asia/Shanghai\nexclude: [feed.xml, atom.xml, feed.json, tags]\n",
    )
    .unwrap();
    std::fs::create_dir_all(site.join("_layouts")).unwrap();
    std::fs::write(
        site.join("_layouts/post.html"),
        "<html><body><h1 class=\"t\">{{ page.title }}</h1><p class=\"d\">{{ page.date | date: \"%Y-%m-%d %H:%M\" }}</p>\
         <p class=\"tags\">{{ page.tags | join: \",\" }}</p><p class=\"desc\">{{ page.description }}</p>{{ content }}</body></html>",
    )
    .unwrap();
    let out = Command::new("jekyll")
        .args(["build", "--safe", "-s"])
        .arg(&site)
        .arg("-d")
        .arg(dir.path().join("built"))
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "jekyll: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(dir.path().join("built/2025/04/02/ai-daily.html")).unwrap();
    assert!(html.contains(&format!("<h1 class=\"t\">{title}</h1>")), "{html}");
    assert!(html.contains("<p class=\"d\">2025-04-02 09:00</p>"), "{html}");
    assert!(html.contains("AI眼镜"), "tags lost");
    for h in &headings {
        assert!(html.contains(&h.replace('"', "&quot;")) || html.contains(h.as_str()), "heading {h} missing");
    }
}

#[test]
fn hugo_builds_the_same_content() {
    if !have("hugo") {
        return;
    }
    let (dir, _) = demo_site("hugo", 8080);
    let site = dir.path().join("site");
    let (title, headings) = post_titles(&site);
    let post = std::fs::read_to_string(site.join("content/posts/2025-04-02-ai-daily.md")).unwrap();
    assert!(post.contains("\ndate: 2025-04-02T09:00:00+08:00\n") && !post.contains("layout:"), "{post}");
    std::fs::write(site.join("hugo.toml"), "baseURL = 'http://127.0.0.1:8080/'\ntitle = 'Tidings'\ntimeZone = 'Asia/Shanghai'\ndisableKinds = ['taxonomy', 'term', 'RSS', 'sitemap', 'robotsTXT', '404']\n").unwrap();
    std::fs::create_dir_all(site.join("layouts/_default")).unwrap();
    std::fs::write(
        site.join("layouts/_default/single.html"),
        "<html><body><h1 class=\"t\">{{ .Title }}</h1><p class=\"d\">{{ .Date.Format \"2006-01-02 15:04\" }}</p>\
         <p class=\"tags\">{{ delimit .Params.tags \",\" }}</p>{{ .Content }}</body></html>",
    )
    .unwrap();
    std::fs::write(
        site.join("layouts/_default/list.html"),
        "<html><body>{{ range .Pages }}{{ .Title }}{{ end }}</body></html>",
    )
    .unwrap();
    let out = Command::new("hugo").arg("-s").arg(&site).arg("-d").arg(dir.path().join("built")).output().unwrap();
    assert!(
        out.status.success(),
        "hugo: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(dir.path().join("built/posts/2025-04-02-ai-daily/index.html")).unwrap();
    assert!(html.contains(&format!("<h1 class=\"t\">{title}</h1>")), "{html}");
    assert!(html.contains("<p class=\"d\">2025-04-02 09:00</p>"), "{html}");
    assert!(html.contains("AI眼镜"));
    for h in &headings {
        assert!(
            html.contains(h.as_str())
                || html.contains(&h.replace('"', "&quot;"))
                || html.contains(&h.replace('“', "&ldquo;")),
            "heading {h} missing"
        );
    }
}

#[test]
fn opml_round_trips_with_each_readers_export() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_tidings");
    let fixtures = repo().join("tests/fixtures/opml");
    let write_config = |name: &str| -> PathBuf {
        std::fs::write(dir.path().join(format!("{name}-sources.toml")), "# sources\n").unwrap();
        std::fs::write(dir.path().join(format!("{name}-tax.toml")), "[[tag]]\nname = \"x\"\nkeywords = [\"x\"]\n")
            .unwrap();
        let c = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &c,
            format!("[sources]\nfile = \"{name}-sources.toml\"\n[taxonomy]\nfile = \"{name}-tax.toml\"\n"),
        )
        .unwrap();
        c
    };
    let expected = [
        ("miniflux", 3, Some("AI 媒体")),
        ("freshrss", 3, Some("科技")),
        ("inoreader", 3, Some("AI")),
        ("newsboat", 2, None),
    ];
    for (reader, count, first_group) in expected {
        let config = write_config(reader);
        let out = Command::new(bin)
            .arg("--config")
            .arg(&config)
            .args(["sources", "import"])
            .arg(fixtures.join(format!("{reader}.opml")))
            .output()
            .unwrap();
        assert!(out.status.success(), "{reader}: {}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(&format!("{count} added, 0 skipped")), "{reader}: {stdout}");
        // The imported list is valid and checks out.
        let list: toml::Value =
            toml::from_str(&std::fs::read_to_string(dir.path().join(format!("{reader}-sources.toml"))).unwrap())
                .unwrap();
        assert_eq!(list["source"].as_array().unwrap().len(), count);
        assert_eq!(list["source"][0].get("group").and_then(|g| g.as_str()), first_group, "{reader}");
        // Export, re-import elsewhere: the same sources and groups.
        let exported = Command::new(bin).arg("--config").arg(&config).args(["sources", "export"]).output().unwrap();
        let opml_path = dir.path().join(format!("{reader}-out.opml"));
        std::fs::write(&opml_path, &exported.stdout).unwrap();
        let again = write_config(&format!("{reader}-again"));
        let out =
            Command::new(bin).arg("--config").arg(&again).args(["sources", "import"]).arg(&opml_path).output().unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{count} added, 0 skipped")));
        let first: toml::Value =
            toml::from_str(&std::fs::read_to_string(dir.path().join(format!("{reader}-sources.toml"))).unwrap())
                .unwrap();
        let second: toml::Value =
            toml::from_str(&std::fs::read_to_string(dir.path().join(format!("{reader}-again-sources.toml"))).unwrap())
                .unwrap();
        let key = |v: &toml::Value| {
            let mut s: Vec<String> = v["source"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| format!("{}|{}|{:?}", s["name"], s["url"], s.get("group")))
                .collect();
            s.sort();
            s
        };
        assert_eq!(key(&first), key(&second), "{reader} round trip");
    }
    // Importing Inoreader's export into Miniflux's list: the shared feed is a duplicate.
    let config = dir.path().join("miniflux.toml");
    let out = Command::new(bin)
        .arg("--config")
        .arg(&config)
        .args(["sources", "import"])
        .arg(fixtures.join("inoreader.opml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("skipped 机器之心 (dup) <http://www.jiqizhixin.com/rss/>: already a source, named `机器之心`"),
        "{stdout}"
    );
    assert!(stdout.contains("2 added, 1 skipped"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_add_finds_a_pages_feed_or_says_there_is_none() {
    let server = common::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let page = server.put(
        "home.html",
        b"<html><head><title>Blog</title><link rel=\"alternate\" type=\"application/rss+xml\" title=\"RSS\" href=\"/feeds/rss2-zh.xml\"></head><body>hi</body></html>".to_vec(),
        &[("content-type", "text/html; charset=utf-8")],
    );
    let bare = server.put(
        "bare.html",
        b"<html><head><title>Nothing</title></head></html>".to_vec(),
        &[("content-type", "text/html")],
    );
    let cfg = common::write_config(
        dir.path(),
        &[("existing", "http://a.example/feed".into())],
        "allow_private_addresses = true",
    );
    let bin = env!("CARGO_BIN_EXE_tidings");
    let run = move |args: Vec<String>| {
        let cfg = cfg.clone();
        tokio::task::spawn_blocking(move || Command::new(bin).arg("--config").arg(&cfg).args(args).output().unwrap())
    };
    let out = run(vec!["sources".into(), "add".into(), page.clone(), "--group".into(), "博客".into()]).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("<{}>", server.url("/feeds/rss2-zh.xml"))), "{stdout}");
    let list = std::fs::read_to_string(dir.path().join("sources.toml")).unwrap();
    assert!(list.contains("group = \"博客\""), "{list}");
    // The same feed again is refused.
    let out = run(vec!["sources".into(), "add".into(), server.url("/feeds/rss2-zh.xml")]).await.unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is already a source"));
    // A page that announces no feed.
    let out = run(vec!["sources".into(), "add".into(), bare.clone()]).await.unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("no feed found at {bare}: the page announces no feed")), "{stderr}");
}
