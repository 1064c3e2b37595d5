//! `tidings serve` as a process on 127.0.0.1: it fetches and digests on a
//! short schedule, serves the feeds with ETag/304, gzip, HEAD and the right
//! types, keeps readers inside the output folder, reloads on SIGHUP (keeping
//! the old config when the new one is bad), exits 0 on SIGTERM, and after a
//! kill -9 starts again on a consistent database.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header;

use common::{free_port, noon_zone};

fn write_daemon_config(
    dir: &Path,
    port: u16,
    sources: &[(String, String)],
    fetch_cron: &str,
    digest_cron: &str,
    hub: Option<&str>,
) -> PathBuf {
    let mut list = String::new();
    for (name, url) in sources {
        list.push_str(&format!("[[source]]\nname = \"{name}\"\nurl = \"{url}\"\n\n"));
    }
    std::fs::write(dir.join("sources.toml"), list).unwrap();
    let taxonomy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/taxonomy.toml");
    let config = format!(
        "[site]\nbase_url = \"http://127.0.0.1:{port}/\"\ntimezone = \"{zone}\"\n{hub}\n\
         [storage]\ndatabase = \"db/t.sqlite\"\n\n[output]\ndir = \"site\"\n\n\
         [digest]\ntime = \"23:59\"\n\n[schedule]\nfetch = \"{fetch_cron}\"\ndigest = \"{digest_cron}\"\n\n\
         [fetch]\ntimeout_secs = 5\nper_host_concurrency = 4\n\n[serve]\nlisten = \"127.0.0.1:{port}\"\n\n\
         [taxonomy]\nfile = \"{}\"\n\n[sources]\nfile = \"sources.toml\"\n",
        taxonomy.display(),
        zone = noon_zone(),
        hub = hub.map(|h| format!("websub_hub = \"{h}\"\n")).unwrap_or_default(),
    );
    let path = dir.join("tidings.toml");
    std::fs::write(&path, config).unwrap();
    path
}

fn start(config: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("--config")
        .arg(config)
        .arg("serve")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill").arg(format!("-{sig}")).arg(child.id().to_string()).status().unwrap();
    assert!(status.success());
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// A client that shows the raw wire: no automatic decompression.
fn raw_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_gzip().no_brotli().no_deflate().build().unwrap()
}

async fn wait_for(client: &reqwest::Client, url: &str, needle: &str, limit: Duration) -> String {
    let start = Instant::now();
    loop {
        if let Ok(r) = client.get(url).send().await
            && r.status() == StatusCode::OK
            && let Ok(text) = r.text().await
            && text.contains(needle)
        {
            return text;
        }
        assert!(start.elapsed() < limit, "{url} never held {needle:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_feeds_on_schedule_reloads_and_stops_cleanly() {
    let server = common::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let sources =
        vec![("Alpha".to_string(), server.url("/fresh/alpha")), ("Beta".to_string(), server.url("/fresh/beta"))];
    let hub = server.url("/hub");
    let config = write_daemon_config(dir.path(), port, &sources, "*/1 * * * * *", "*/3 * * * * *", Some(&hub));
    let log = dir.path().join("serve.log");
    let mut child = start(&config, &log);
    let base = format!("http://127.0.0.1:{port}");
    let client = raw_client();

    // A fetch and a digest happen on their own; the feed has the day's post.
    let feed = wait_for(&client, &format!("{base}/feed.xml"), "<item>", Duration::from_secs(40)).await;
    assert!(feed.contains(&format!("{base}/posts/")), "{feed}");

    // Types, validators, 304s.
    let r = client.get(format!("{base}/feed.xml")).send().await.unwrap();
    assert_eq!(r.headers()[header::CONTENT_TYPE], "application/rss+xml; charset=utf-8");
    assert_eq!(r.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let etag = r.headers()[header::ETAG].to_str().unwrap().to_string();
    let last_modified = r.headers()[header::LAST_MODIFIED].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "strong ETag: {etag}");
    // The feed may be rewritten by the next digest; a 304 needs the same bytes, so retry a few times.
    let mut got_304 = false;
    for _ in 0..10 {
        let r = client.get(format!("{base}/feed.xml")).send().await.unwrap();
        let etag = r.headers()[header::ETAG].clone();
        let again = client.get(format!("{base}/feed.xml")).header(header::IF_NONE_MATCH, etag).send().await.unwrap();
        if again.status() == StatusCode::NOT_MODIFIED {
            assert!(again.bytes().await.unwrap().is_empty());
            got_304 = true;
            break;
        }
    }
    assert!(got_304, "no 304 on If-None-Match");
    let r = client.get(format!("{base}/atom.xml")).send().await.unwrap();
    assert_eq!(r.headers()[header::CONTENT_TYPE], "application/atom+xml; charset=utf-8");
    let lm = r.headers()[header::LAST_MODIFIED].clone();
    let r2 = client.get(format!("{base}/atom.xml")).header(header::IF_MODIFIED_SINCE, lm).send().await.unwrap();
    assert!(matches!(r2.status(), StatusCode::NOT_MODIFIED | StatusCode::OK));
    let _ = last_modified;
    let r = client.get(format!("{base}/feed.json")).send().await.unwrap();
    assert_eq!(r.headers()[header::CONTENT_TYPE], "application/feed+json; charset=utf-8");

    // gzip and brotli when asked.
    for enc in ["gzip", "br"] {
        let r = client.get(format!("{base}/feed.xml")).header(header::ACCEPT_ENCODING, enc).send().await.unwrap();
        assert_eq!(r.headers()[header::CONTENT_ENCODING], enc);
    }
    // HEAD works and sends no body.
    let r = client.head(format!("{base}/feed.xml")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key(header::ETAG));
    assert!(r.bytes().await.unwrap().is_empty());

    // The index and post pages: HTML with autodiscovery and a strict CSP.
    let r = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(r.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(r.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("default-src 'none'"));
    let index = r.text().await.unwrap();
    assert!(index.contains("<link rel=\"alternate\" type=\"application/rss+xml\""));
    let date = index.split("href=\"/posts/").nth(1).unwrap()[..10].to_string();
    let r = client.get(format!("{base}/posts/{date}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("<h2 id=\"story-"));
    let r = client.get(format!("{base}/_posts/{date}-ai-daily.md")).send().await.unwrap();
    assert_eq!(r.headers()[header::CONTENT_TYPE], "text/markdown; charset=utf-8");
    assert!(r.text().await.unwrap().starts_with("---\nlayout: post\n"));
    // A tag feed, its name percent-encoded.
    let r = client.get(format!("{base}/tags/%E5%A4%A7%E6%A8%A1%E5%9E%8B.xml")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "tags/大模型.xml");

    // Nothing outside the output folder.
    for path in [
        "/tags/..%2F..%2Ftidings.toml",
        "/_posts/..%2F..%2Ftidings.toml",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/../tidings.toml",
        "/posts/..%2F..",
        "/etc/passwd",
    ] {
        let r = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }

    // Health and metrics.
    let r = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let health = r.text().await.unwrap();
    assert!(health.starts_with("ok\nnode: ") && health.contains("database: sqlite (up)"), "{health}");
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("tidings_node_info{node=\"") && metrics.contains("backend=\"sqlite\"} 1"), "{metrics}");
    assert!(metrics.contains("\ntidings_database_up 1\n") && metrics.contains("\ntidings_leases_held "), "{metrics}");
    let value = |name: &str| -> f64 {
        metrics.lines().find_map(|l| l.strip_prefix(name).map(|v| v.trim().parse().unwrap())).unwrap_or(0.0)
    };
    assert!(value("tidings_fetches_total{outcome=\"ok\"}") >= 1.0, "{metrics}");
    assert!(value("tidings_digests_total") >= 1.0, "{metrics}");
    assert!(value("tidings_fetch_duration_seconds_count") >= 1.0, "{metrics}");

    // SIGHUP with a new source: it is picked up.
    let mut with_gamma = sources.clone();
    with_gamma.push(("Gamma".to_string(), server.url("/fresh/gamma")));
    write_daemon_config(dir.path(), port, &with_gamma, "*/1 * * * * *", "*/3 * * * * *", Some(&hub));
    signal(&child, "HUP");
    wait_for(&client, &format!("{base}/feed.xml"), "gamma.example.cn", Duration::from_secs(30)).await;
    // A broken config is reported and the old one kept.
    std::fs::write(&config, "[site\nbroken = ").unwrap();
    signal(&child, "HUP");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(client.get(format!("{base}/feed.xml")).send().await.unwrap().status(), StatusCode::OK);

    // SIGTERM: a clean exit 0.
    signal(&child, "TERM");
    let status = wait_exit(&mut child, Duration::from_secs(30)).expect("did not stop");
    assert_eq!(status.code(), Some(0));
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("configuration not reloaded"), "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("fetched") && l.contains("source=Alpha") && l.contains("status=") && l.contains("ms=")),
        "{log}"
    );
    assert!(log.contains("SIGTERM: shutting down") && log.contains("stopped"));
    // The digest missed before start was made up at once.
    assert!(log.contains("making up a missed digest"), "{log}");
    // The feeds advertise the hub, and the hub heard of each publication.
    assert!(feed.contains(&format!("<atom:link href=\"{hub}\" rel=\"hub\"/>")), "{feed}");
    let pings = server.seen.lock().unwrap().hub_pings.clone();
    let feed_url = format!("hub.mode=publish&hub.url=http%3A%2F%2F127.0.0.1%3A{port}%2Ffeed.xml");
    assert!(pings.iter().any(|p| p == &feed_url), "{pings:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_after_kill_9_mid_fetch_carries_on() {
    let server = common::start(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let files = ["rss2-en.xml", "rss2-zh.xml", "atom10-zh.xml", "jsonfeed11.json", "dates.xml"];
    let sources: Vec<(String, String)> = (0..20)
        .map(|i| (format!("s{i:02}"), server.url(&format!("/delay/{}?copy={i}", files[i % files.len()]))))
        .collect();
    // Digest once a year: this test is about fetching.
    let config = write_daemon_config(dir.path(), port, &sources, "*/1 * * * * *", "0 0 1 1 *", None);
    let log = dir.path().join("serve.log");
    let db = dir.path().join("db/t.sqlite");

    let mut child = start(&config, &log);
    // Kill once some sources are stored but not all.
    let started = Instant::now();
    loop {
        let done = rusqlite::Connection::open(&db)
            .ok()
            .and_then(|c| {
                c.query_row("SELECT COUNT(*) FROM sources WHERE last_status = 'ok'", [], |r| r.get::<_, i64>(0)).ok()
            })
            .unwrap_or(0);
        if done >= 2 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no source fetched");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let ok_before: i64 =
        conn.query_row("SELECT COUNT(*) FROM sources WHERE last_status = 'ok'", [], |r| r.get(0)).unwrap();
    assert!(ok_before < 20, "the kill came too late to interrupt anything");
    drop(conn);

    // The next start carries on: every source gets fetched, nothing stored twice.
    let mut child = start(&config, &log);
    let started = Instant::now();
    loop {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let ok: i64 =
            conn.query_row("SELECT COUNT(*) FROM sources WHERE last_status IS NOT NULL", [], |r| r.get(0)).unwrap();
        if ok == 20 {
            // Once per source: sources sharing a feed each keep their own item.
            let (rows, distinct): (i64, i64) = conn
                .query_row("SELECT COUNT(url), COUNT(DISTINCT source_id || ' ' || url) FROM items", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .unwrap();
            assert_eq!(rows, distinct);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "only {ok} of 20 sources fetched after restart");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    signal(&child, "TERM");
    assert_eq!(wait_exit(&mut child, Duration::from_secs(30)).and_then(|s| s.code()), Some(0));
}
