//! Clustering judged on a labelled day across languages and scripts
//! (`tests/fixtures/events/labelled_day.json`): mainland, Taiwan and Hong
//! Kong and English outlets, each item labelled with the event it reports,
//! plus hard negatives (alike events of different actors). The labels were
//! written and committed before any rule was tuned; the `heldout` part was
//! never looked at while tuning, and is scored on its own.
//!
//! Each part is clustered as one day. Scores: pairwise precision and recall
//! over all item pairs, recall over the pairs in different languages or
//! scripts, and hard-negative pairs of events merged. The held-out test
//! prints its scores only, never its misses: reading them would be tuning.

use std::collections::HashMap;

use serde_json::Value;
use tidings::cluster::{Doc, Params, cluster};
use tidings::entities::Gazetteer;

struct Item {
    event: String,
    language: String,
    title: String,
    summary: String,
}

#[derive(Debug, Default)]
struct Scores {
    precision: f64,
    recall: f64,
    cross_recall: f64,
    cross_pairs: usize,
    hard_negatives: usize,
    hard_negatives_merged: Vec<String>,
    misses: Vec<String>,
}

/// The first labelled day (2025-06-18).
const DAY1: &str = "labelled_day.json";
/// The second (2025-11-05), written by another hand after the rules of
/// the first were tuned, and frozen before any tuning against it.
const DAY2: &str = "labelled_day2.json";

fn labelled(file: &str) -> Value {
    let path = format!("{}/tests/fixtures/events/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn score(split: &str) -> Scores {
    score_day(DAY1, split)
}

fn score_day(file: &str, split: &str) -> Scores {
    let data = labelled(file);
    let languages: HashMap<&str, &str> = data["outlets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["name"].as_str().unwrap(), o["language"].as_str().unwrap()))
        .collect();
    let mut items = Vec::new();
    for event in data["events"].as_array().unwrap().iter().filter(|e| e["split"] == split) {
        for item in event["items"].as_array().unwrap() {
            items.push(Item {
                event: event["id"].as_str().unwrap().to_string(),
                language: languages[item["outlet"].as_str().unwrap()].to_string(),
                title: item["title"].as_str().unwrap().to_string(),
                summary: item["summary"].as_str().unwrap().to_string(),
            });
        }
    }
    let docs: Vec<Doc<'_>> = items.iter().map(|i| Doc { title: &i.title, text: &i.summary }).collect();
    let groups = cluster(&docs, &Params::default(), Gazetteer::builtin());
    let mut story = vec![0; items.len()];
    for (g, members) in groups.iter().enumerate() {
        for &m in members {
            story[m] = g;
        }
    }
    let (mut tp, mut fp, mut fn_, mut cross_tp, mut cross) = (0.0f64, 0.0f64, 0.0f64, 0usize, 0usize);
    let mut misses = Vec::new();
    for a in 0..items.len() {
        for b in a + 1..items.len() {
            let same = items[a].event == items[b].event;
            let joined = story[a] == story[b];
            let across = items[a].language != items[b].language;
            if same && across {
                cross += 1;
                cross_tp += usize::from(joined);
            }
            match (same, joined) {
                (true, true) => tp += 1.0,
                (false, true) => {
                    fp += 1.0;
                    misses.push(format!("joined, other events: {} / {}", items[a].title, items[b].title));
                }
                (true, false) => {
                    fn_ += 1.0;
                    misses.push(format!("apart, one event: {} / {}", items[a].title, items[b].title));
                }
                (false, false) => {}
            }
        }
    }
    let mut merged = Vec::new();
    let mut hard = 0;
    let events_here: Vec<&str> = items.iter().map(|i| i.event.as_str()).collect();
    for neg in data["hard_negatives"].as_array().unwrap() {
        let (ea, eb) = (neg["a"].as_str().unwrap(), neg["b"].as_str().unwrap());
        if !events_here.contains(&ea) || !events_here.contains(&eb) {
            continue;
        }
        hard += 1;
        let stories_a: Vec<usize> = (0..items.len()).filter(|&i| items[i].event == ea).map(|i| story[i]).collect();
        if (0..items.len()).any(|i| items[i].event == eb && stories_a.contains(&story[i])) {
            merged.push(format!("{ea} + {eb}: {}", neg["why"].as_str().unwrap_or("")));
        }
    }
    Scores {
        precision: tp / (tp + fp).max(1.0),
        recall: tp / (tp + fn_).max(1.0),
        cross_recall: cross_tp as f64 / cross.max(1) as f64,
        cross_pairs: cross,
        hard_negatives: hard,
        hard_negatives_merged: merged,
        misses,
    }
}

/// The scores of a part on one line: all a held-out part may print.
fn figures(split: &str, s: &Scores) -> String {
    format!(
        "{split}: pairwise precision {:.3}, recall {:.3}; cross-language recall {:.3} over {} pairs; \
         hard negatives merged {}/{}",
        s.precision,
        s.recall,
        s.cross_recall,
        s.cross_pairs,
        s.hard_negatives_merged.len(),
        s.hard_negatives
    )
}

/// A tuning part's scores and every miss.
fn report(split: &str, s: &Scores) {
    eprintln!("{}\n{}\n{}", figures(split, s), s.hard_negatives_merged.join("\n"), s.misses.join("\n"));
}

#[test]
fn the_labelled_day_is_large_and_varied_enough() {
    let data = labelled(DAY1);
    let events = data["events"].as_array().unwrap();
    let items: usize = events.iter().map(|e| e["items"].as_array().unwrap().len()).sum();
    assert!(events.len() >= 60 && items >= 150, "{} events, {items} items", events.len());
    let heldout = events.iter().filter(|e| e["split"] == "heldout").count();
    assert!(heldout * 3 >= events.len(), "held-out part: {heldout} of {} events", events.len());
    assert!(data["hard_negatives"].as_array().unwrap().len() >= 15);
    let outlets = data["outlets"].as_array().unwrap();
    assert!(outlets.len() >= 6);
    assert!(outlets.iter().filter(|o| o["language"] == "en").count() >= 2);
    assert!(outlets.iter().any(|o| o["language"] == "zh-Hant"));
    let (t, h) = (score("tuning"), score("heldout"));
    assert!(t.cross_pairs + h.cross_pairs >= 40, "{} cross-language pairs", t.cross_pairs + h.cross_pairs);
}

#[test]
fn tuning_part() {
    let s = score("tuning");
    report("tuning", &s);
    assert!(s.precision >= 0.95 && s.recall >= 0.95, "precision {:.3}, recall {:.3}", s.precision, s.recall);
    assert!(s.cross_recall >= 0.9, "cross-language recall {:.3}", s.cross_recall);
    assert!(s.hard_negatives_merged.is_empty(), "{:?}", s.hard_negatives_merged);
}

/// The targets (precision and recall ≥ 0.95, cross-language recall
/// ≥ 0.90, no hard negative merged) are not all met on the held-out part:
/// measured precision 0.860, recall 0.941, cross-language recall 0.958,
/// 2 of 14 hard negatives merged when this was written. The bounds below
/// guard against falling further; raise them as the product improves,
/// never by reading this part's misses.
#[test]
fn heldout_part() {
    let s = score("heldout");
    eprintln!("{}", figures("heldout", &s));
    assert!(s.precision >= 0.85 && s.recall >= 0.93, "precision {:.3}, recall {:.3}", s.precision, s.recall);
    assert!(s.cross_recall >= 0.95, "cross-language recall {:.3}", s.cross_recall);
    assert!(s.hard_negatives_merged.len() <= 2, "{} hard negatives merged", s.hard_negatives_merged.len());
}

/// The second day's tuning part: its misses may be read and tuned against.
/// Before any tuning it scored precision 0.849, recall 0.842,
/// cross-language recall 0.833, 3 of 15 hard negatives merged.
#[test]
fn second_day_tuning_part() {
    let s = score_day(DAY2, "tuning");
    report("second day, tuning", &s);
    assert!(s.precision >= 0.95 && s.recall >= 0.93, "precision {:.3}, recall {:.3}", s.precision, s.recall);
    assert!(s.cross_recall >= 0.9, "cross-language recall {:.3}", s.cross_recall);
    assert!(s.hard_negatives_merged.len() <= 1, "{:?}", s.hard_negatives_merged);
}

/// The second day's held-out part: scores only. Measured precision 0.988,
/// recall 0.888, cross-language recall 0.867, 1 of 7 hard negatives merged
/// (the same before and after tuning on the second day's other part);
/// the bounds guard against falling further.
#[test]
fn second_day_heldout_part() {
    let s = score_day(DAY2, "heldout");
    eprintln!("{}", figures("second day, heldout", &s));
    assert!(s.precision >= 0.97 && s.recall >= 0.87, "precision {:.3}, recall {:.3}", s.precision, s.recall);
    assert!(s.cross_recall >= 0.85, "cross-language recall {:.3}", s.cross_recall);
    assert!(s.hard_negatives_merged.len() <= 1, "{} hard negatives merged", s.hard_negatives_merged.len());
}
