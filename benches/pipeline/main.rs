//! Stage benchmarks against anchors measured in the same run on the same
//! bytes (the machines are shared and noisy, so only ratios count).
//!
//! `cargo bench --bench pipeline -- STAGE [--quick]`, one stage per process
//! so each peak memory figure is that stage's own; `bench/run.sh` runs them
//! all, plus the whole-process figures.
//!
//! - `parse`   (target 1): our RSS/Atom reader vs quick-xml raw events,
//!   feed-rs, and the rss / atom_syndication crates, on ~400 generated
//!   Chinese feeds (~50 MB) and one 20 MB feed.
//! - `ingest`  (target 2): bytes → decoded, parsed, normalized, sanitized,
//!   deduped, stored in SQLite, single thread, vs feed-rs and feedparser.
//! - `cluster` (target 3): 100,000 headlines with planted near-duplicates
//!   and hard negatives, vs datasketch MinHashLSH.
//! - `make-db DIR` (targets 5, 7): a database of 1,000,000 items from 1,000
//!   sources over 200 days, and a config to digest its last day with.

mod feeds;
mod titles;

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use tidings::cluster::{Doc, Params, cluster};
use tidings::config::{Location, Source};
use tidings::fetch::Fetched;
use tidings::store::{FetchRecord, SqliteStore, Storage};

/// A small deterministic generator (SplitMix64): the corpus is the same on every run.
pub struct Rng(u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

/// Median, min and max.
fn spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// Runs `f` `rounds` times; (median, min, max) MB/s over `bytes`.
fn throughput(rounds: usize, bytes: usize, mut f: impl FnMut()) -> (f64, f64, f64) {
    spread(
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                f();
                bytes as f64 / 1e6 / t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

fn line(label: &str, (med, min, max): (f64, f64, f64), unit: &str, rest: &str) {
    println!("  {label:<26} {med:9.1} {unit} ({min:.1}–{max:.1})   {rest}");
}

fn quick_xml_events(text: &str) -> usize {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut n = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) | Err(_) => return n,
            Ok(_) => n += 1,
        }
    }
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmHWM:").map(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
            })
        })
        .flatten()
        .map_or(0.0, |kb| kb / 1024.0)
}

fn corpus(quick: bool) -> (Vec<String>, String) {
    let mut r = Rng(2025);
    let feeds = feeds::corpus(&mut r, 400);
    let big = feeds::big(&mut r, if quick { 5_000_000 } else { 20_000_000 });
    let bytes: usize = feeds.iter().map(String::len).sum();
    let items: usize = feeds.iter().map(|f| f.matches("<item>").count() + f.matches("<entry>").count()).sum();
    println!(
        "corpus: {} feeds (RSS 2.0 and Atom), {:.1} MB, {items} items; one RSS feed of {:.1} MB (seeded, generated in memory)",
        feeds.len(),
        bytes as f64 / 1e6,
        big.len() as f64 / 1e6
    );
    (feeds, big)
}

fn bench_parse(rounds: usize, quick: bool) {
    let (feeds, big) = corpus(quick);
    let tz = chrono_tz::Asia::Shanghai;
    let rss: Vec<String> = feeds.iter().filter(|f| f.contains("<rss")).cloned().collect();
    let atom: Vec<String> = feeds.iter().filter(|f| f.contains("<feed")).cloned().collect();
    for (label, set) in [("400 feeds", feeds.clone()), ("RSS half", rss), ("Atom half", atom), ("big feed", vec![big])]
    {
        let bytes: usize = set.iter().map(String::len).sum();
        let raw = throughput(rounds, bytes, || {
            for f in &set {
                std::hint::black_box(quick_xml_events(f));
            }
        });
        let ours = throughput(rounds, bytes, || {
            for f in &set {
                let items =
                    tidings::parse::parse(f, Some("https://bench.example.cn/"), tz).map_or(0, |p| p.items.len());
                std::hint::black_box(items);
            }
        });
        let feedrs = throughput(rounds, bytes, || {
            for f in &set {
                std::hint::black_box(feed_rs::parser::parse(f.as_bytes()).map_or(0, |p| p.entries.len()));
            }
        });
        let crates = throughput(rounds, bytes, || {
            for f in &set {
                let n = if f.contains("<rss") {
                    rss::Channel::read_from(f.as_bytes()).map_or(0, |c| c.items.len())
                } else {
                    atom_syndication::Feed::read_from(f.as_bytes()).map_or(0, |a| a.entries.len())
                };
                std::hint::black_box(n);
            }
        });
        println!("\n[1] parse, {label} ({:.1} MB), MB/s median (min–max) of {rounds} runs", bytes as f64 / 1e6);
        line("quick-xml raw events", raw, "MB/s", "anchor");
        line("rss / atom_syndication", crates, "MB/s", &format!("{:.2}× quick-xml", crates.0 / raw.0));
        line("feed-rs 3", feedrs, "MB/s", &format!("{:.2}× quick-xml", feedrs.0 / raw.0));
        line(
            "tidings parse",
            ours,
            "MB/s",
            &format!("{:.2}× quick-xml (target ≥ 0.5), {:.2}× feed-rs (target ≥ 1)", ours.0 / raw.0, ours.0 / feedrs.0),
        );
    }
}

/// Sources' names and URLs.
type Names = Vec<(String, String)>;

/// A fresh database for `n` feeds, with their sources: (store, its file,
/// the sources' names and URLs).
fn ingest_store(dir: &Path, now: DateTime<Utc>, n: usize) -> Option<(SqliteStore, PathBuf, Names)> {
    let path = dir.join(format!("ingest-{}.sqlite", now.timestamp_nanos_opt().unwrap_or(0)));
    let mut store = SqliteStore::open(&path, std::time::Duration::from_secs(5)).ok()?;
    let names: Names = (0..n).map(|i| (format!("src{i}"), format!("https://src{i}.example.cn/feed"))).collect();
    let _ = store.sync_sources(&names);
    Some((store, path, names))
}

/// Decodes, parses and normalizes one feed as its source's fetch would.
fn process_feed(feed: &str, (name, url): &(String, String), now: DateTime<Utc>) -> Option<tidings::ingest::Processed> {
    let location = url.parse().map(Location::Http).ok()?;
    let source = Source::new(name.clone(), location, chrono_tz::Asia::Shanghai);
    let mut fetched = Fetched::from_bytes(feed.as_bytes().to_vec(), url.clone());
    fetched.content_type = Some("application/xml; charset=utf-8".into());
    tidings::ingest::process(&source, &fetched, now).ok()
}

/// Stores one source's items; how many were new.
fn store_processed(store: &mut SqliteStore, name: &str, p: &tidings::ingest::Processed, now: DateTime<Utc>) -> usize {
    let record = FetchRecord::Fetched { etag: None, last_modified: None, body_hash: None };
    store.store_items(name, &p.items, &record, now, None).map_or(0, |s| s.new)
}

/// Bytes → SQLite, as `tidings fetch` does after the network: one
/// transaction per source, into a fresh database file.
fn ingest_all(feeds: &[String], dir: &Path, now: DateTime<Utc>) -> usize {
    let Some((mut store, path, names)) = ingest_store(dir, now, feeds.len()) else { return 0 };
    let mut stored = 0;
    for (f, source) in feeds.iter().zip(&names) {
        if let Some(p) = process_feed(f, source, now) {
            stored += store_processed(&mut store, &source.0, &p, now);
        }
    }
    drop(store);
    let _ = std::fs::remove_file(&path);
    stored
}

/// [`ingest_all`] as `tidings fetch` runs it: feeds decoded, parsed and
/// normalized on every core, one writer storing what they yield.
fn ingest_all_parallel(feeds: &[String], dir: &Path, now: DateTime<Utc>) -> usize {
    let Some((mut store, path, names)) = ingest_store(dir, now, feeds.len()) else { return 0 };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, tidings::ingest::Processed)>(threads * 2);
    let mut stored = 0;
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (tx, next, names) = (tx.clone(), &next, &names);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(f) = feeds.get(i) else { break };
                    if let Some(p) = process_feed(f, &names[i], now)
                        && tx.send((i, p)).is_err()
                    {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // The writer: this thread, as the daemon's single writer task.
        let _ = store.begin_batch();
        for (i, p) in rx {
            stored += store_processed(&mut store, &names[i].0, &p, now);
        }
        let _ = store.end_batch();
    });
    drop(store);
    let _ = std::fs::remove_file(&path);
    stored
}

/// Decodes, parses and normalizes every feed on every core, storing
/// nothing: the part of [`ingest_all_parallel`] that is not the writer.
fn process_all_parallel(feeds: &[String], now: DateTime<Utc>) -> usize {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let items = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (next, items) = (&next, &items);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(f) = feeds.get(i) else { break };
                    let source = (format!("src{i}"), format!("https://src{i}.example.cn/feed"));
                    if let Some(p) = process_feed(f, &source, now) {
                        items.fetch_add(p.items.len(), std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    items.into_inner()
}

fn bench_ingest(rounds: usize, quick: bool) {
    let (feeds, _) = corpus(quick);
    let bytes: usize = feeds.iter().map(String::len).sum();
    let Ok(dir) = tempfile::tempdir() else { return };
    let now = Utc::now();
    let mut stored = 0;
    let ours = throughput(rounds, bytes, || stored = ingest_all(&feeds, dir.path(), now));
    let feedrs = throughput(rounds, bytes, || {
        for f in &feeds {
            std::hint::black_box(feed_rs::parser::parse(f.as_bytes()).map_or(0, |p| p.entries.len()));
        }
    });
    println!(
        "\n[2] whole ingest, single thread, {:.1} MB → {stored} stored items, MB/s median (min–max)",
        bytes as f64 / 1e6
    );
    line("feed-rs 3 parse only", feedrs, "MB/s", "anchor");
    let mut stored_par = 0;
    let parallel = throughput(rounds, bytes, || stored_par = ingest_all_parallel(&feeds, dir.path(), now));
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    line(
        &format!("tidings ingest, {cores} cores + 1 writer"),
        parallel,
        "MB/s",
        &format!("{:.2}× feed-rs single thread (target ≥ 0.4); {stored_par} stored", parallel.0 / feedrs.0),
    );
    let processing = throughput(rounds, bytes, || {
        std::hint::black_box(process_all_parallel(&feeds, now));
    });
    line(
        &format!("  of which decode, parse, normalize on {cores} cores"),
        processing,
        "MB/s",
        &format!("{:.2}× feed-rs, nothing stored", processing.0 / feedrs.0),
    );
    let names: Names =
        (0..feeds.len()).map(|i| (format!("src{i}"), format!("https://src{i}.example.cn/feed"))).collect();
    let processed: Vec<_> = feeds.iter().zip(&names).map(|(f, n)| process_feed(f, n, now)).collect();
    let writing = throughput(rounds, bytes, || {
        let Some((mut store, path, names)) = ingest_store(dir.path(), now, feeds.len()) else { return };
        let _ = store.begin_batch();
        for (p, (name, _)) in processed.iter().zip(&names) {
            if let Some(p) = p {
                store_processed(&mut store, name, p, now);
            }
        }
        let _ = store.end_batch();
        drop(store);
        let _ = std::fs::remove_file(&path);
    });
    line("  of which the writer alone", writing, "MB/s", &format!("{:.2}× feed-rs, one thread", writing.0 / feedrs.0));
    // Python feedparser over the same files, when it is installed.
    let corpus_dir = dir.path().join("corpus");
    let _ = std::fs::create_dir_all(&corpus_dir);
    for (i, f) in feeds.iter().enumerate() {
        let _ = std::fs::write(corpus_dir.join(format!("{i:03}.xml")), f);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/feedparser_anchor.py");
    let fp_rounds = if quick { 1 } else { 3 };
    let fp = std::process::Command::new("python3").arg(&script).arg(&corpus_dir).arg(fp_rounds.to_string()).output();
    let fp_rate = match fp {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let v: Vec<f64> = text.split_whitespace().filter_map(|w| w.parse().ok()).collect();
            if v.len() == 3 {
                line("python feedparser", (v[0], v[1], v[2]), "MB/s", "anchor (defaults)");
                Some(v[0])
            } else {
                println!("  python feedparser: unexpected output {text}");
                None
            }
        }
        Ok(out) => {
            println!(
                "  python feedparser not run: {}",
                String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
            );
            None
        }
        Err(e) => {
            println!("  python feedparser not run: {e}");
            None
        }
    };
    let vs_fp = fp_rate
        .map_or("feedparser not measured".to_string(), |r| format!("{:.1}× feedparser (target ≥ 25)", ours.0 / r));
    line(
        "tidings ingest → SQLite",
        ours,
        "MB/s",
        &format!("{:.2}× feed-rs (target ≥ 0.4), {vs_fp}", ours.0 / feedrs.0),
    );
}

/// Tagging a 5,000-item day: every report through keywords, concept rules
/// and examples, as the digest tags its stories.
fn bench_tag(rounds: usize) {
    let mut r = Rng(11);
    let set = titles::generate(&mut r, 5_000);
    let texts: Vec<String> = set
        .titles
        .iter()
        .zip(set.titles.iter().rev())
        .map(|(t, other)| {
            format!("{t}。据报道，{other}。相关企业表示，将继续加大研发投入，推动产品在制造、零售和医疗等更多场景落地，并计划年内交付首批订单。")
        })
        .collect();
    let taxonomy_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/taxonomy.toml");
    let taxonomy = match tidings::config::load_taxonomy(&taxonomy_path) {
        Ok(t) => t,
        Err(e) => {
            println!("  taxonomy did not load: {e}");
            return;
        }
    };
    let gazetteer = tidings::entities::Gazetteer::builtin();
    let start = Instant::now();
    let tagger = tidings::tag::Tagger::new(&taxonomy, gazetteer);
    let build_ms = start.elapsed().as_secs_f64() * 1000.0;
    let mut times = Vec::new();
    let mut given = 0usize;
    for _ in 0..rounds {
        let start = Instant::now();
        given = 0;
        for (t, x) in set.titles.iter().zip(&texts) {
            let report = tidings::tag::Report { title: t, text: x, categories: &[] };
            given += tagger.story([report], tidings::digest::STORY_TAGS).len();
        }
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "\n[8] tagging {} reports (headline + {}-character lead) with {} tags: median {:.1} ms (min {:.1}, max {:.1}) over {rounds} runs, {given} tags given; taxonomy compiled in {build_ms:.1} ms. Target: well under 100 ms",
        set.titles.len(),
        texts[0].chars().count(),
        taxonomy.tag.len(),
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
    );
}

fn bench_cluster(explain: bool) {
    let mut r = Rng(7);
    let set = titles::generate(&mut r, 100_000);
    let planted = set.planted();
    let docs: Vec<Doc<'_>> = set.titles.iter().map(|t| Doc { title: t, text: "" }).collect();
    // The gazetteer is loaded with the configuration, before any clustering.
    let gazetteer = tidings::entities::Gazetteer::builtin();
    let before = peak_rss_mb();
    let start = Instant::now();
    let groups = cluster(&docs, &Params::default(), gazetteer);
    let secs = start.elapsed().as_secs_f64();
    let mut story = vec![0usize; docs.len()];
    for (g, members) in groups.iter().enumerate() {
        for &m in members {
            story[m] = g;
        }
    }
    let found = planted.iter().filter(|(a, b)| story[*a] == story[*b]).count();
    // Precision over every pair the clustering joined: joined pairs of different events are errors.
    let (mut joined, mut wrong) = (0u64, 0u64);
    for g in &groups {
        for (i, &a) in g.iter().enumerate() {
            for &b in &g[i + 1..] {
                joined += 1;
                if set.event[a] != set.event[b] {
                    wrong += 1;
                }
            }
        }
    }
    let precision = if joined == 0 { 1.0 } else { (joined - wrong) as f64 / joined as f64 };
    let events: std::collections::HashSet<u32> = set.event.iter().copied().collect();
    println!(
        "\n[3] clustering {} headlines of {} events ({} planted near-duplicate pairs); sample: {} / {} / {}",
        docs.len(),
        events.len(),
        planted.len(),
        set.titles[planted[0].0],
        set.titles[planted[0].1],
        set.titles[0]
    );
    println!(
        "  tidings cluster            {secs:.2} s, peak RSS {:.0} MB ({before:.0} MB before clustering), precision {precision:.3}, recall {:.3}",
        peak_rss_mb(),
        found as f64 / planted.len() as f64
    );
    println!("  targets: ≤ 1/25 of datasketch's time, ≤ 1/10 of its peak memory, precision ≥ 0.97, recall ≥ 0.95");
    if explain {
        let mut sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        println!("  largest groups: {:?}", &sizes[..sizes.len().min(10)]);
        let p = Params::default();
        let pairs = tidings::cluster::similar_pairs(&docs, &p, tidings::entities::Gazetteer::builtin());
        let mut wrong: Vec<_> = pairs.iter().filter(|x| x.joins(&p) && set.event[x.a] != set.event[x.b]).collect();
        println!("  {} candidate pairs; {} wrong pairs join", pairs.len(), wrong.len());
        wrong.sort_by(|x, y| y.headline.total_cmp(&x.headline));
        for x in wrong.iter().step_by((wrong.len() / 20).max(1)).take(20) {
            println!("    {:.3} {:?}  {} | {}", x.headline, x.edits, set.titles[x.a], set.titles[x.b]);
        }
        let planted: std::collections::HashSet<(usize, usize)> = planted.iter().copied().collect();
        let mut scores: Vec<&tidings::cluster::Pair> = pairs.iter().filter(|x| planted.contains(&(x.a, x.b))).collect();
        scores.sort_by(|x, y| x.headline.total_cmp(&y.headline));
        let q = |f: f64| scores.get((scores.len() as f64 * f) as usize).map_or(0.0, |x| x.headline);
        println!(
            "  planted pairs among candidates: {}; headline score quantiles 1% {:.3} 5% {:.3} 10% {:.3} 50% {:.3}",
            scores.len(),
            q(0.01),
            q(0.05),
            q(0.1),
            q(0.5)
        );
        for x in scores.iter().take(8) {
            println!("    low: {:.3} {:?}  {} | {}", x.headline, x.edits, set.titles[x.a], set.titles[x.b]);
        }
        let vetoed: Vec<_> = scores.iter().filter(|x| x.veto.is_some()).collect();
        println!("  planted pairs vetoed: {}", vetoed.len());
        for x in vetoed.iter().take(12) {
            println!("    vetoed: {:?}  {} | {}", x.veto, set.titles[x.a], set.titles[x.b]);
        }
    }
    let anchor = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/datasketch_anchor.py");
    if explain {
        return;
    }
    // Kept under target/ so the anchor can be rerun by hand on the same titles.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    let _ = std::fs::create_dir_all(&dir);
    let tsv = dir.join("titles.tsv");
    let body: String = set.titles.iter().zip(&set.event).map(|(t, e)| format!("{e}\t{t}\n")).collect();
    let planted_text: String = planted.iter().map(|(a, b)| format!("{a}\t{b}\n")).collect();
    let _ = std::fs::write(&tsv, body);
    let _ = std::fs::write(tsv.with_extension("pairs"), planted_text);
    match std::process::Command::new("python3").arg(&anchor).arg(&tsv).output() {
        Ok(out) if out.status.success() => print!("  {}", String::from_utf8_lossy(&out.stdout)),
        Ok(out) => println!(
            "  datasketch anchor not run: {}",
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
        ),
        Err(e) => println!("  datasketch anchor not run: {e}"),
    }
}

/// A database of `sources × per_source` items over `days` days ending on
/// 2025-04-01 (Asia/Shanghai), and a config that digests that day from it.
fn make_db(dir: &Path, sources: usize, per_source: usize, days: i64) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let db = dir.join("tidings.sqlite");
    let _ = std::fs::remove_file(&db);
    let mut store = SqliteStore::open(&db, std::time::Duration::from_secs(5)).map_err(|e| e.to_string())?;
    let names: Vec<(String, String)> =
        (0..sources).map(|i| (format!("src{i:04}"), format!("http://127.0.0.1:9/src{i:04}.xml"))).collect();
    store.sync_sources(&names).map_err(|e| e.to_string())?;
    let end = chrono_tz::Asia::Shanghai.with_ymd_and_hms(2025, 4, 2, 9, 0, 0).single().ok_or("date")?.to_utc();
    let span = Duration::days(days).num_seconds();
    let mut r = Rng(99);
    let start = Instant::now();
    for (s, (name, _)) in names.iter().enumerate() {
        let heads = titles::generate(&mut r, per_source);
        let items: Vec<tidings::model::Item> = heads
            .titles
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let published = end - Duration::seconds(1 + (r.next_u64() % span as u64) as i64);
                let text = format!("{t}。据悉，该产品已在多家头部企业完成测试，预计将在下半年大规模商用。业内人士认为，这标志着国产大模型在推理效率上迈出了关键一步。");
                let url = format!("https://src{s}.example.cn/a/{i}.html");
                tidings::model::Item {
                    key: format!("guid:{s}-{i}"),
                    guid: Some(format!("{s}-{i}")),
                    url: Some(url),
                    title: t.clone(),
                    summary_html: format!("<p>{text}</p>"),
                    content_html: None,
                    content_hash: tidings::normalize::content_hash(t, &text),
                    text,
                    image: (i % 3 == 0).then(|| format!("https://src{s}.example.cn/img/{i}.jpg")),
                    authors: vec![],
                    categories: vec!["人工智能".into()],
                    published: Some(published),
                    updated: None,
                }
            })
            .collect();
        let record = FetchRecord::Fetched { etag: None, last_modified: None, body_hash: None };
        store.store_items(name, &items, &record, end, None).map_err(|e| e.to_string())?;
    }
    // Generated headlines can repeat within a source: such items are stored once.
    let total: i64 = store.connection().query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0)).unwrap_or(0);
    drop(store);
    let list: String = names.iter().map(|(n, u)| format!("[[source]]\nname = \"{n}\"\nurl = \"{u}\"\n\n")).collect();
    std::fs::write(dir.join("sources.toml"), list).map_err(|e| e.to_string())?;
    let taxonomy = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/taxonomy.toml");
    let config = format!(
        "[site]\ntitle = \"Bench\"\ndescription = \"bench\"\nbase_url = \"http://localhost:8080/\"\ntimezone = \"Asia/Shanghai\"\n\n\
         [storage]\ndatabase = \"tidings.sqlite\"\n\n[output]\ndir = \"out\"\n\n[digest]\ntime = \"09:00\"\n\n\
         [taxonomy]\nfile = \"{}\"\n\n[sources]\nfile = \"sources.toml\"\n",
        taxonomy.display()
    );
    std::fs::write(dir.join("tidings.toml"), config).map_err(|e| e.to_string())?;
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "make-db: {total} items stored ({} generated) from {sources} sources over {days} days in {:.0} s; {:.0} MB, {:.0} bytes per item",
        sources * per_source,
        start.elapsed().as_secs_f64(),
        size as f64 / 1e6,
        size as f64 / total as f64
    );
    Ok(())
}

fn main() {
    // `cargo test --all-targets` runs bench binaries without `--bench`: a
    // benchmark is not a test, so it does nothing then.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("pipeline benchmark: run it with `cargo bench --bench pipeline -- STAGE`");
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = if quick { 3 } else { 7 };
    let words: Vec<&str> = args.iter().map(String::as_str).filter(|a| !a.starts_with("--")).collect();
    match words.as_slice() {
        ["parse"] => bench_parse(rounds, quick),
        ["ingest"] => bench_ingest(rounds, quick),
        ["cluster"] => bench_cluster(args.iter().any(|a| a == "--explain")),
        ["tag"] => bench_tag(rounds),
        ["make-db", dir, rest @ ..] => {
            let n = |i: usize, d: usize| rest.get(i).and_then(|v| v.parse().ok()).unwrap_or(d);
            if let Err(e) = make_db(Path::new(dir), n(0, 1000), n(1, 1000), n(2, 200) as i64) {
                eprintln!("make-db failed: {e}");
                std::process::exit(1);
            }
        }
        [] => {
            bench_parse(rounds, quick);
            bench_ingest(rounds, quick);
            bench_cluster(false);
            bench_tag(rounds);
        }
        other => {
            eprintln!("unknown stage {other:?}: parse, ingest, cluster, make-db DIR [SOURCES PER_SOURCE DAYS]");
            std::process::exit(2);
        }
    }
}
