//! Whole-stage benchmarks against anchors measured in the same run on the
//! same bytes (the machines are shared and noisy, so only ratios count).
//! Run: `cargo bench --bench pipeline` (add `-- --quick` for fewer rounds).
//!
//! 1. Parse: our RSS/Atom reader vs quick-xml raw events and feed-rs, on a
//!    seeded corpus of ~400 Chinese feeds plus one 20 MB feed.
//! 3. Clustering: 100,000 short Chinese titles with planted near-duplicates
//!    and hard negatives; time, peak memory, precision and recall, beside
//!    datasketch MinHashLSH (Python) when it is installed.

use std::time::Instant;

use tidings::cluster::{Doc, Params, cluster};

/// A small deterministic generator (SplitMix64): the corpus is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

const COMPANIES: &[&str] = &[
    "智谱",
    "月之暗面",
    "深度求索",
    "百度",
    "阿里",
    "腾讯",
    "字节跳动",
    "华为",
    "商汤",
    "科大讯飞",
    "小米",
    "宇树",
    "优必选",
    "智元",
    "摩尔线程",
    "寒武纪",
    "地平线",
    "蔚来",
    "理想",
    "零一万物",
    "MiniMax",
    "百川智能",
    "阶跃星辰",
    "面壁智能",
    "昆仑万维",
];
const THINGS: &[&str] = &[
    "大模型",
    "推理芯片",
    "人形机器人",
    "智能体平台",
    "AI眼镜",
    "自动驾驶系统",
    "多模态模型",
    "端侧模型",
    "开源模型",
    "AI助手",
];
const VERBS: &[&str] = &["发布", "推出", "开源", "升级", "亮相", "上线"];
const PLACES: &[&str] = &["北京", "上海", "深圳", "杭州", "广州", "成都", "南京", "武汉", "合肥", "苏州"];
const OUTLETS: &[&str] = &["【36氪】", "快讯：", "独家｜", "", "", "", "原创 ", "重磅！"];

fn title(r: &mut Rng, event: usize) -> String {
    // An event is a company, a thing, a place and a figure; its wording varies.
    let mut e = Rng(event as u64 * 7919 + 17);
    let c = e.pick(COMPANIES);
    let t = e.pick(THINGS);
    let p = e.pick(PLACES);
    let n = 10 + e.below(990);
    let v = r.pick(VERBS);
    match r.below(4) {
        0 => format!("{c}{v}新一代{t}，性能提升{n}%"),
        1 => format!("{c}在{p}{v}{t}，性能提升{n}%"),
        2 => format!("{p}：{c}{v}{t}，较上代提升{n}%"),
        _ => format!("{c}{t}正式{v}，提升{n}%"),
    }
}

/// Near-duplicate of a title: outlet prefix, punctuation, one character changed.
fn near_duplicate(r: &mut Rng, t: &str) -> String {
    let mut s: Vec<char> = format!("{}{}", r.pick(OUTLETS), t).chars().collect();
    match r.below(3) {
        0 => s.retain(|c| *c != '，'),
        1 => {
            let i = r.below(s.len());
            s.insert(i, '·');
        }
        _ => {
            if let Some(i) = s.iter().position(|c| *c == '新') {
                s[i] = '最';
            }
        }
    }
    s.into_iter().collect()
}

fn rss_feed(r: &mut Rng, items: usize) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel><title>基准源</title><link>https://bench.example.cn/</link>",
    );
    for i in 0..items {
        let event = r.below(1_000_000);
        let t = title(r, event);
        s.push_str(&format!(
            "<item><title>{t} &amp; 更多</title><link>https://bench.example.cn/a/{i}?utm_source=rss</link><guid>g{i}-{}</guid>\
             <pubDate>Tue, 01 Apr 2025 {:02}:{:02}:00 +0800</pubDate><description><![CDATA[<p>{t}。这是一段用于基准测试的正文，包含&nbsp;实体与<b>标记</b>。</p><p>第二段：{t}，详细介绍了技术细节与市场影响。</p><img src=\"/img/{i}.jpg\">]]></description></item>",
            r.next() % 1000,
            i % 24,
            i % 60
        ));
    }
    s.push_str("</channel></rss>");
    s
}

fn atom_feed(r: &mut Rng, items: usize) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>基准</title><id>urn:b</id><updated>2025-04-01T00:00:00Z</updated><link href=\"https://atom.example.cn/\"/>",
    );
    for i in 0..items {
        let event = r.below(1_000_000);
        let t = title(r, event);
        s.push_str(&format!(
            "<entry><title type=\"html\">{t} &amp;lt;新&amp;gt;</title><id>urn:e:{i}</id><link href=\"https://atom.example.cn/p/{i}\"/><updated>2025-04-01T0{}:00:00+08:00</updated>\
             <content type=\"html\">&lt;p&gt;{t}。正文内容，讨论产业与技术。&lt;/p&gt;&lt;ul&gt;&lt;li&gt;要点一&lt;/li&gt;&lt;li&gt;要点二&lt;/li&gt;&lt;/ul&gt;</content></entry>",
            i % 10
        ));
    }
    s.push_str("</feed>");
    s
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// Runs `f` `rounds` times; returns (median, min, max) MB/s over `bytes`.
fn throughput(rounds: usize, bytes: usize, mut f: impl FnMut()) -> (f64, f64, f64) {
    let runs = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            bytes as f64 / 1e6 / t.elapsed().as_secs_f64()
        })
        .collect();
    median(runs)
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

fn main() {
    // `cargo test --all-targets` runs bench binaries without `--bench`: a
    // benchmark is not a test, so it does nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("pipeline benchmark: run it with `cargo bench --bench pipeline`");
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 3 } else { 7 };
    let mut r = Rng(2025);

    // 1. Parsing.
    let mut feeds: Vec<String> = (0..400)
        .map(|i| {
            let n = 40 + r.below(130);
            if i % 2 == 0 { rss_feed(&mut r, n) } else { atom_feed(&mut r, n) }
        })
        .collect();
    let big = rss_feed(&mut r, 24_000);
    let corpus_bytes: usize = feeds.iter().map(String::len).sum();
    println!(
        "corpus: {} feeds, {:.1} MB; big feed {:.1} MB (seeded, generated in memory)",
        feeds.len(),
        corpus_bytes as f64 / 1e6,
        big.len() as f64 / 1e6
    );
    let tz = chrono_tz::Asia::Shanghai;
    for (label, set) in [("400 feeds", feeds.clone()), ("20 MB feed", vec![big.clone()])] {
        let bytes: usize = set.iter().map(String::len).sum();
        let raw = throughput(rounds, bytes, || {
            for f in &set {
                std::hint::black_box(quick_xml_events(f));
            }
        });
        let ours = throughput(rounds, bytes, || {
            for f in &set {
                std::hint::black_box(
                    tidings::parse::parse(f, Some("https://bench.example.cn/"), tz).map(|p| p.items.len()).unwrap_or(0),
                );
            }
        });
        let feedrs = throughput(rounds, bytes, || {
            for f in &set {
                std::hint::black_box(feed_rs::parser::parse(f.as_bytes()).map(|p| p.entries.len()).unwrap_or(0));
            }
        });
        println!("\n[1] parse, {label} ({:.1} MB), MB/s median (min–max) over {rounds} runs", bytes as f64 / 1e6);
        println!("  quick-xml raw events   {:8.1} ({:.1}–{:.1})   anchor", raw.0, raw.1, raw.2);
        println!(
            "  feed-rs 3              {:8.1} ({:.1}–{:.1})   {:.2}× quick-xml",
            feedrs.0,
            feedrs.1,
            feedrs.2,
            feedrs.0 / raw.0
        );
        println!(
            "  tidings parse          {:8.1} ({:.1}–{:.1})   {:.2}× quick-xml (target ≥ 0.5), {:.2}× feed-rs (target ≥ 1)",
            ours.0,
            ours.1,
            ours.2,
            ours.0 / raw.0,
            ours.0 / feedrs.0
        );
    }
    feeds.clear();
    drop(big);

    // 3. Clustering 100k titles.
    let n_events = 60_000;
    let mut titles: Vec<String> = Vec::with_capacity(100_000);
    let mut planted: Vec<(usize, usize)> = Vec::new();
    let mut event_of: Vec<usize> = Vec::new();
    for e in 0..n_events {
        let t = title(&mut r, e);
        titles.push(t.clone());
        event_of.push(e);
        if titles.len() < 100_000 && e % 3 == 0 {
            planted.push((titles.len() - 1, titles.len()));
            titles.push(near_duplicate(&mut r, &t));
            event_of.push(e);
        }
    }
    while titles.len() < 100_000 {
        let e = n_events + titles.len();
        titles.push(title(&mut r, e));
        event_of.push(e);
    }
    let docs: Vec<Doc<'_>> = titles.iter().map(|t| Doc { title: t, text: "" }).collect();
    let start = Instant::now();
    let groups = cluster(&docs, &Params::default());
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
                if event_of[a] != event_of[b] {
                    wrong += 1;
                }
            }
        }
    }
    let precision = if joined == 0 { 1.0 } else { (joined - wrong) as f64 / joined as f64 };
    println!("\n[3] clustering {} titles ({} planted near-duplicate pairs)", docs.len(), planted.len());
    println!(
        "  tidings cluster        {secs:.2} s, peak RSS {:.0} MB, precision {precision:.3}, recall {:.3} (targets: ≥ 0.97, ≥ 0.95; time ≤ 1/25 and memory ≤ 1/10 of datasketch)",
        peak_rss_mb(),
        found as f64 / planted.len() as f64
    );
    let anchor = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/datasketch_anchor.py");
    let tsv = std::env::temp_dir().join("tidings-bench-titles.tsv");
    let body: String = titles.iter().zip(&event_of).map(|(t, e)| format!("{e}\t{t}\n")).collect();
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
