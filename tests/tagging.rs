//! Tagging judged on the labelled set in `tests/fixtures/tagging/`: 250
//! stories labelled by editors from the tags' meanings, committed before any
//! keyword, concept, rule or example was tuned (see its README). Tuning
//! reads the `tuning` part; the `heldout` part is scored and never read.
//!
//! Each story is tagged from all its reports, as the digest does, with at
//! most [`STORY_TAGS`] tags. Scores: micro precision and recall over
//! (story, tag) pairs, and per tag.
//!
//! This replaces the earlier per-tag test on `tagged_items.json`, whose
//! labels were written together with the keyword lists and so measured the
//! lists, not the tagger.
//!
//! Measured when the concepts, rules and examples were written (the
//! keyword-only tagger of before in brackets): tuning part micro precision
//! 0.847 (0.847), recall 0.878 (0.508); held-out part 0.809 (0.843), 0.754
//! (0.508). The targets (0.90 each on the held-out part) are not met.

use std::collections::BTreeMap;

use serde_json::Value;
use tidings::config::{Taxonomy, load_taxonomy};
use tidings::entities::Gazetteer;
use tidings::tag::{Report, Tagger};

/// As many tags as the digest shows on a story.
const STORY_TAGS: usize = tidings::digest::STORY_TAGS;

/// The ten tags of the reference post.
const SAMPLE_TAGS: [&str; 10] = [
    "AI眼镜",
    "产业融合",
    "智能脑电分析",
    "青年科技",
    "技术突破",
    "商业化落地",
    "开源生态",
    "应用场景",
    "国产AI",
    "人机共生",
];

struct Story {
    id: String,
    reports: Vec<(String, String)>,
    tags: Vec<String>,
}

fn stories(split: &str) -> Vec<Story> {
    let mut out = Vec::new();
    for file in ["day_a.json", "day_b.json"] {
        let path = format!("{}/tests/fixtures/tagging/{file}", env!("CARGO_MANIFEST_DIR"));
        let data: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for s in data["stories"].as_array().unwrap().iter().filter(|s| s["split"] == split) {
            out.push(Story {
                id: s["id"].as_str().unwrap().to_string(),
                reports: s["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| (i["title"].as_str().unwrap().to_string(), i["summary"].as_str().unwrap().to_string()))
                    .collect(),
                tags: s["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect(),
            });
        }
    }
    out
}

fn taxonomy() -> Taxonomy {
    load_taxonomy(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/taxonomy.toml"))).unwrap()
}

#[derive(Default)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 { 1.0 } else { self.tp as f64 / (self.tp + self.fp) as f64 }
    }
    fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 { 1.0 } else { self.tp as f64 / (self.tp + self.fn_) as f64 }
    }
}

struct Scores {
    micro: Counts,
    per_tag: BTreeMap<String, Counts>,
    misses: Vec<String>,
}

fn score(tagger: &Tagger, split: &str) -> Scores {
    let mut micro = Counts::default();
    let mut per_tag: BTreeMap<String, Counts> = BTreeMap::new();
    let mut misses = Vec::new();
    for story in stories(split) {
        let reports = story.reports.iter().map(|(t, x)| Report { title: t, text: x, categories: &[] });
        let given: Vec<String> =
            tagger.story(reports, STORY_TAGS).iter().map(|h| tagger.name(h.tag).to_string()).collect();
        for tag in &given {
            let c = per_tag.entry(tag.clone()).or_default();
            if story.tags.contains(tag) {
                c.tp += 1;
                micro.tp += 1;
            } else {
                c.fp += 1;
                micro.fp += 1;
                misses.push(format!("{} given {tag}: {}", story.id, story.reports[0].0));
            }
        }
        for tag in story.tags.iter().filter(|t| !given.contains(t)) {
            per_tag.entry(tag.clone()).or_default().fn_ += 1;
            micro.fn_ += 1;
            misses.push(format!("{} missed {tag}: {}", story.id, story.reports[0].0));
        }
    }
    Scores { micro, per_tag, misses }
}

fn table(name: &str, s: &Scores) -> String {
    let mut out = format!(
        "{name}: micro precision {:.3}, recall {:.3} ({} given right, {} wrong, {} missed)\n| tag | P | R | right | wrong | missed |\n|---|---|---|---|---|---|\n",
        s.micro.precision(),
        s.micro.recall(),
        s.micro.tp,
        s.micro.fp,
        s.micro.fn_
    );
    let mut names: Vec<&String> = s.per_tag.keys().collect();
    names.sort_by_key(|n| (SAMPLE_TAGS.iter().position(|t| t == n).unwrap_or(99), n.to_string()));
    for n in names {
        let c = &s.per_tag[n];
        out += &format!("| {n} | {:.2} | {:.2} | {} | {} | {} |\n", c.precision(), c.recall(), c.tp, c.fp, c.fn_);
    }
    out
}

#[test]
fn the_set_is_large_and_every_label_is_a_tag() {
    let tagger = Tagger::new(&taxonomy(), Gazetteer::builtin());
    let (t, h) = (stories("tuning"), stories("heldout"));
    // Every third story of each day: a third, less a story per day.
    assert!(t.len() + h.len() >= 200 && h.len() * 3 + 6 >= t.len() + h.len(), "{} + {}", t.len(), h.len());
    for s in t.iter().chain(&h) {
        assert!(!s.tags.is_empty() && s.tags.len() <= 4, "{}", s.id);
        for tag in &s.tags {
            assert!(tagger.index_of(tag).is_some(), "{}: {tag} is no tag of the taxonomy", s.id);
        }
    }
}

/// Tuning part: its misses may be read.
#[test]
fn tuning_part() {
    let s = score(&Tagger::new(&taxonomy(), Gazetteer::builtin()), "tuning");
    eprintln!("{}\n{}", table("tuning", &s), s.misses.join("\n"));
    let (p, r) = (s.micro.precision(), s.micro.recall());
    assert!(p >= 0.8 && r >= 0.85, "micro precision {p:.3}, recall {r:.3}");
}

/// Held-out part: figures only, never its misses. The bounds guard against
/// falling below what was measured (precision 0.809, recall 0.754); raise
/// them as the product improves, never by reading this part's misses.
#[test]
fn heldout_part() {
    let s = score(&Tagger::new(&taxonomy(), Gazetteer::builtin()), "heldout");
    eprintln!("{}", table("heldout", &s));
    let (p, r) = (s.micro.precision(), s.micro.recall());
    assert!(p >= 0.77 && r >= 0.73, "micro precision {p:.3}, recall {r:.3}");
}
