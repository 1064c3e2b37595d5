//! Several daemons on one PostgreSQL database: fetch rounds of two nodes at
//! once share the due sources, each fetched by exactly one of them, and a
//! node that died leaves its sources to the others once its leases expire.
//! The feeds come from the fixture server on 127.0.0.1; each node is a
//! `fetch` round as the daemon runs it (`only_due`), with its own
//! connection and its own node name.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::pg::PgDatabase;
use tidings::config;
use tidings::ingest::{self, RunOptions, SourceOutcome};
use tidings::store::{LeaseRequest, Storage, Store};

fn feed(i: usize) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>源{i}</title><link>https://s{i}.example.cn/</link>\
         <item><title>第{i}条甲</title><link>https://s{i}.example.cn/a</link><pubDate>Tue, 01 Apr 2025 08:00:00 +0800</pubDate></item>\
         <item><title>第{i}条乙</title><link>https://s{i}.example.cn/b</link><pubDate>Tue, 01 Apr 2025 09:00:00 +0800</pubDate></item>\
         </channel></rss>"
    )
    .into_bytes()
}

/// A config for `n` sources served slowly enough that rounds overlap, on
/// the database at `url`: even ones from host 127.0.0.1, odd ones from
/// host localhost (the same server), each host at most 2 at a time.
fn setup(server: &common::FixtureServer, dir: &Path, url: &str, n: usize) -> std::path::PathBuf {
    setup_with(server, dir, url, n, "concurrency = 2\nper_host_concurrency = 2\ntimeout_secs = 5", true)
}

fn setup_with(
    server: &common::FixtureServer,
    dir: &Path,
    url: &str,
    n: usize,
    fetch: &str,
    two_hosts: bool,
) -> std::path::PathBuf {
    let sources: Vec<(String, String)> = (0..n)
        .map(|i| {
            let at = server.put(&format!("s{i:02}"), feed(i), &[(":delay-ms", "150")]);
            let at = if two_hosts && i % 2 == 1 { at.replacen("127.0.0.1", "localhost", 1) } else { at };
            (format!("s{i:02}"), at)
        })
        .collect();
    let named: Vec<(&str, String)> = sources.iter().map(|(n, u)| (n.as_str(), u.clone())).collect();
    let cfg = common::write_config(dir, &named, fetch);
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("database = \"data/t.sqlite\"", &format!("database = \"{url}\""));
    std::fs::write(&cfg, text).unwrap();
    cfg
}

/// One node's fetch round, as the daemon runs it.
async fn round(cfg: &Path, node: &str, now: Option<DateTime<Utc>>) -> HashMap<String, SourceOutcome> {
    let loaded = config::load_all(cfg).unwrap();
    let store = tidings::store::open(&loaded.config.storage).unwrap();
    assert!(matches!(store, Store::Postgres(_)), "the config selects PostgreSQL");
    let options = RunOptions { only_due: true, node: Some(node), now, ..Default::default() };
    let (report, _) = ingest::run(&loaded.config, &loaded.sources, store, options, Box::new(|_| {})).await.unwrap();
    report.sources.into_iter().map(|s| (s.name, s.outcome)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_a_round_and_fetch_nothing_twice() {
    let server = common::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let db = PgDatabase::create();
    let n = 24;
    let cfg = setup(&server, dir.path(), &db.url(), n);
    // The schema and the sources are in place before the race starts.
    let loaded = config::load_all(&cfg).unwrap();
    let pairs: Vec<(String, String)> = loaded.sources.iter().map(|s| (s.name.clone(), s.location.as_url())).collect();
    tidings::store::open(&loaded.config.storage).unwrap().sync_sources(&pairs).unwrap();

    let (a, b) = tokio::join!(round(&cfg, "node-a", None), round(&cfg, "node-b", None));
    let (names_a, names_b): (HashSet<&String>, HashSet<&String>) = (a.keys().collect(), b.keys().collect());
    assert!(names_a.is_disjoint(&names_b), "fetched by both: {:?}", names_a.intersection(&names_b).collect::<Vec<_>>());
    assert_eq!(names_a.len() + names_b.len(), n, "every due source fetched by one node");
    assert!(
        !names_a.is_empty() && !names_b.is_empty(),
        "both nodes took a share: {} and {}",
        names_a.len(),
        names_b.len()
    );
    for i in 0..n {
        assert_eq!(server.hits(&format!("/body/s{i:02}")), 1, "source s{i:02} asked once");
    }
    assert!(a.values().chain(b.values()).all(|o| matches!(o, SourceOutcome::Stored(s) if s.new == 2)), "{a:?} {b:?}");

    // Each item once in the shared database, every source released and scheduled.
    let loaded = config::load_all(&cfg).unwrap();
    let store = tidings::store::open(&loaded.config.storage).unwrap();
    let states = store.source_states().unwrap();
    assert_eq!(states.iter().map(|s| s.item_count).sum::<u64>(), 2 * n as u64);
    assert!(states.iter().all(|s| s.last_status.as_deref() == Some("ok") && s.next_fetch_at.is_some()));
    // Nothing is due now: another round on either node fetches nothing.
    assert!(round(&cfg, "node-a", None).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_sources_go_to_the_others_when_its_leases_expire() {
    let server = common::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let db = PgDatabase::create();
    let cfg = setup(&server, dir.path(), &db.url(), 6);
    let loaded = config::load_all(&cfg).unwrap();
    let mut store = tidings::store::open(&loaded.config.storage).unwrap();
    let pairs: Vec<(String, String)> = loaded.sources.iter().map(|s| (s.name.clone(), s.location.as_url())).collect();
    store.sync_sources(&pairs).unwrap();
    // A node leases what it may of host 127.0.0.1 (two of s00, s02, s04),
    // then dies without fetching them.
    let t0 = Utc::now();
    let until = t0 + chrono::Duration::minutes(10);
    let sources = loaded.sources.iter().map(|s| (s.name.clone(), s.location.host_key())).collect();
    let request = LeaseRequest { owner: "dead-node".into(), sources, now: t0, until, limit: 3, per_host: 2 };
    let taken = store.claim_due(&request).unwrap().names;
    assert_eq!(taken, ["s00", "s01", "s02"], "hosts in turn, at most 2 of one");
    drop(store);

    // While its leases hold, the survivor fetches only the rest, and no
    // more of a host than the dead node leaves it: localhost one at a time
    // (the dead node holds the other slot), 127.0.0.1 not at all.
    let now = round(&cfg, "survivor", Some(t0 + chrono::Duration::minutes(1))).await;
    let mut got: Vec<&String> = now.keys().collect();
    got.sort();
    assert_eq!(got, ["s03", "s05"]);
    assert_eq!(server.hits("/body/s04"), 0, "127.0.0.1 has its two held by the dead node");
    // ...and once they expire, the dead node's share too.
    let later = round(&cfg, "survivor", Some(until + chrono::Duration::seconds(1))).await;
    let mut fetched: Vec<&String> = later.keys().collect();
    fetched.sort();
    assert_eq!(fetched, ["s00", "s01", "s02", "s04"]);
    for i in 0..6 {
        assert_eq!(server.hits(&format!("/body/s{i:02}")), 1, "source s{i:02} asked once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_together_keep_to_one_hosts_limit() {
    let server = common::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let db = PgDatabase::create();
    let n = 18;
    // Each node alone could fetch 3 at once from the one host; together too, 3.
    let fetch = "concurrency = 4\nper_host_concurrency = 3\ntimeout_secs = 5";
    let cfg = setup_with(&server, dir.path(), &db.url(), n, fetch, false);
    let loaded = config::load_all(&cfg).unwrap();
    let pairs: Vec<(String, String)> = loaded.sources.iter().map(|s| (s.name.clone(), s.location.as_url())).collect();
    tidings::store::open(&loaded.config.storage).unwrap().sync_sources(&pairs).unwrap();

    let (a, b, c) = tokio::join!(round(&cfg, "node-a", None), round(&cfg, "node-b", None), round(&cfg, "node-c", None));
    let max = server.seen.lock().unwrap().max_in_flight;
    assert!(max <= 3, "{max} requests at once to one host whose limit is 3");
    assert_eq!(a.len() + b.len() + c.len(), n, "every source fetched once");
    for i in 0..n {
        assert_eq!(server.hits(&format!("/body/s{i:02}")), 1, "source s{i:02} asked once");
    }
    assert!(
        !a.is_empty() && !b.is_empty() && !c.is_empty(),
        "each node took a share: {}, {}, {}",
        a.len(),
        b.len(),
        c.len()
    );
}

/// Three `tidings serve` processes on one database, two digesting every
/// two seconds: each tick's digest is written by one of them while the
/// other skips it, no feed is fetched twice, and all three (the third never
/// digests) serve the same feed bytes with the same ETag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemons_write_each_digest_once_fetch_each_source_once_and_serve_one_feed() {
    use std::process::{Command, Stdio};
    use std::time::Instant;

    let server = common::start(Duration::ZERO).await;
    let db = PgDatabase::create();
    // A zone where it is about noon: today's window (closing 23:59) holds the fresh items.
    let zone = common::noon_zone();
    let taxonomy = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/taxonomy.toml");
    let sources: String = ["alpha", "beta", "gamma"]
        .iter()
        .map(|n| format!("[[source]]\nname = \"{n}\"\nurl = \"{}\"\n\n", server.url(&format!("/fresh/{n}"))))
        .collect();
    let mut nodes = Vec::new();
    let mut ports: HashMap<&str, u16> = HashMap::new();
    // node-c never digests (its schedule's next tick is next year): it only
    // keeps a copy of what the others publish.
    for (node, digest) in [("node-a", "*/2 * * * * *"), ("node-b", "*/2 * * * * *"), ("node-c", "0 0 1 1 *")] {
        let dir = tempfile::tempdir().unwrap();
        let port = common::free_port();
        ports.insert(node, port);
        std::fs::write(dir.path().join("sources.toml"), &sources).unwrap();
        let config = format!(
            "[site]\nbase_url = \"http://127.0.0.1:{port}/\"\ntimezone = \"{zone}\"\n\n\
             [storage]\ndatabase = \"{}\"\n\n[output]\ndir = \"site\"\n\n[digest]\ntime = \"23:59\"\n\n\
             [schedule]\nfetch = \"*/1 * * * * *\"\ndigest = \"{digest}\"\n\n[fetch]\ntimeout_secs = 5\n\n\
             [serve]\nlisten = \"127.0.0.1:{port}\"\n\n[taxonomy]\nfile = \"{}\"\n\n[sources]\nfile = \"sources.toml\"\n",
            db.url(),
            taxonomy.display(),
        );
        std::fs::write(dir.path().join("tidings.toml"), config).unwrap();
        let log = dir.path().join("serve.log");
        let child = Command::new(env!("CARGO_BIN_EXE_tidings"))
            .arg("--config")
            .arg(dir.path().join("tidings.toml"))
            .arg("serve")
            .env("RUST_LOG", "info")
            .env("TIDINGS_NODE_ID", node)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        nodes.push((node, dir, log, child));
    }
    let posts = |dir: &Path| std::fs::read_dir(dir.join("site/_posts")).map(|d| d.count()).unwrap_or(0);
    let started = Instant::now();
    while nodes.iter().all(|(_, dir, _, _)| posts(dir.path()) == 0) {
        assert!(started.elapsed() < Duration::from_secs(40), "no digest written in 40 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Several more digest ticks on both nodes.
    tokio::time::sleep(Duration::from_secs(5)).await;
    // Each node names itself and its shared database.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    for (node, _, _, port) in nodes.iter().map(|(n, d, l, _)| (n, d, l, ports[*n])) {
        let health = client.get(format!("http://127.0.0.1:{port}/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        let health = health.text().await.unwrap();
        assert!(health.contains(&format!("node: {node}\n")) && health.contains("database: postgres (up)"), "{health}");
        let metrics =
            client.get(format!("http://127.0.0.1:{port}/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains(&format!("tidings_node_info{{node=\"{node}\",backend=\"postgres\"}} 1")), "{metrics}");
    }
    for (_, _, _, child) in nodes.iter_mut() {
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    }
    for (_, _, _, child) in nodes.iter_mut() {
        let _ = child.wait();
    }
    // Every tick's digest is run by one node; the other logs that it skipped it.
    let ticks = |log: &str, what: &str| -> Vec<String> {
        log.lines()
            .filter(|l| l.contains(what))
            .filter_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("tick=")).map(str::to_string))
            .collect()
    };
    let logs: Vec<String> = nodes.iter().map(|(_, _, log, _)| std::fs::read_to_string(log).unwrap()).collect();
    let run: Vec<Vec<String>> = logs.iter().map(|l| ticks(l, "stories=")).collect();
    let skipped: Vec<Vec<String>> = logs.iter().map(|l| ticks(l, "another node has this date")).collect();
    let mut all_run: Vec<&String> = run.iter().flatten().collect();
    let total = all_run.len();
    all_run.sort();
    all_run.dedup();
    assert_eq!(all_run.len(), total, "a tick digested by both nodes: {run:?}");
    assert!(total >= 2, "several ticks digested: {run:?}");
    let digest_lines: Vec<Vec<&str>> =
        logs.iter().map(|l| l.lines().filter(|l| l.contains("digest")).collect()).collect();
    // (A tick still running when the nodes were stopped is not in the logs.)
    let last_run = all_run.last().map(|t| t.to_string()).unwrap_or_default();
    for (mine, theirs) in [(0, 1), (1, 0)] {
        for t in skipped[mine].iter().filter(|t| **t < last_run) {
            assert!(
                run[theirs].contains(t),
                "node {mine} skipped tick {t}, which the other did not run: {digest_lines:#?}"
            );
        }
    }
    assert!(!skipped[0].is_empty() || !skipped[1].is_empty(), "the nodes never met at a tick: {logs:?}");
    for n in ["alpha", "beta", "gamma"] {
        assert_eq!(server.hits(&format!("/fresh/{n}")), 1, "{n} fetched once by the pair");
    }
    // The shared database holds one post for the date.
    let url = db.url();
    let posts_in_db: i64 = std::thread::spawn(move || {
        let mut c = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        c.query_one("SELECT COUNT(*) FROM posts", &[]).unwrap().get(0)
    })
    .join()
    .unwrap();
    assert_eq!(posts_in_db, 1);
}

/// `tidings migrate --to`: a SQLite installation with the demo's digest
/// copied into PostgreSQL, counted, idempotent, and digesting there to the
/// same post.
#[test]
fn migrate_copies_a_sqlite_installation_once() {
    use std::process::Command;

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sources.toml"), common::demo_sources_toml()).unwrap();
    let taxonomy = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/taxonomy.toml");
    let config = |db: &str, out: &str| {
        format!(
            "[site]\nbase_url = \"https://news.example.org/\"\ntimezone = \"Asia/Shanghai\"\n\n\
             [storage]\ndatabase = \"{db}\"\n\n[output]\ndir = \"{out}\"\n\n[fetch]\nallow_private_addresses = true\n\n\
             [taxonomy]\nfile = \"{}\"\n\n[sources]\nfile = \"sources.toml\"\n",
            taxonomy.display()
        )
    };
    let pg = PgDatabase::create();
    let sqlite_cfg = dir.path().join("sqlite.toml");
    let pg_cfg = dir.path().join("pg.toml");
    std::fs::write(&sqlite_cfg, config("db/t.sqlite", "site-sqlite")).unwrap();
    std::fs::write(&pg_cfg, config(&pg.url(), "site-pg")).unwrap();
    let tidings = |cfg: &Path, args: &[&str]| -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_tidings"))
            .arg("--config")
            .arg(cfg)
            .args(args)
            .env_remove("TIDINGS_DATABASE_URL")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "tidings {args:?}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        stdout
    };
    tidings(&sqlite_cfg, &["digest", "--date", "2025-04-02"]);

    let counts = |report: &str, kind: &str| -> (u64, u64) {
        let line = report.lines().find(|l| l.starts_with(kind)).unwrap_or_else(|| panic!("no {kind} in {report}"));
        let n: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        (n[0], n[1])
    };
    let first = tidings(&sqlite_cfg, &["migrate", "--to", &pg.url()]);
    let (sources, copied) = counts(&first, "sources");
    assert_eq!((sources, copied), (8, 8), "{first}");
    let (items, copied) = counts(&first, "items");
    assert!(items > 20 && copied == items, "{first}");
    assert_eq!(counts(&first, "posts"), (1, 1), "{first}");
    let (stories, copied) = counts(&first, "stories");
    assert!(stories >= 6 && copied == stories, "{first}");
    // Again: everything is there already.
    let again = tidings(&sqlite_cfg, &["migrate", "--to", &pg.url()]);
    for kind in ["sources", "items", "posts", "stories", "article pages"] {
        assert_eq!(counts(&again, kind).1, 0, "{kind} copied twice: {again}");
    }

    // On PostgreSQL, the fetch state came along and the day digests the same.
    let sqlite = tidings::store::open(&config::load_all(&sqlite_cfg).unwrap().config.storage).unwrap();
    let postgres = tidings::store::open(&config::load_all(&pg_cfg).unwrap().config.storage).unwrap();
    assert_eq!(sqlite.source_states().unwrap(), postgres.source_states().unwrap());
    drop((sqlite, postgres));
    tidings(&pg_cfg, &["digest", "--date", "2025-04-02", "--no-fetch"]);
    let post = |out: &str| std::fs::read_to_string(dir.path().join(out).join("_posts/2025-04-02-ai-daily.md")).unwrap();
    assert_eq!(post("site-pg"), post("site-sqlite"));
}
