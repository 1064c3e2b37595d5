//! Clustering quality on the labelled pairs in `tests/fixtures/cluster_pairs.json`:
//! all items are clustered together, as one day's items would be, and each
//! pair is checked for landing in the same story or not.

use serde_json::Value;
use tidings::cluster::{Doc, Params, cluster};

struct Scores {
    precision: f64,
    recall: f64,
    misses: Vec<String>,
}

fn evaluate(p: &Params) -> Scores {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cluster_pairs.json");
    let pairs: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(pairs.len() >= 60);
    let mut docs = Vec::new();
    let mut labels = Vec::new();
    for pair in &pairs {
        let a = docs.len();
        for side in ["a", "b"] {
            docs.push((
                pair[side]["title"].as_str().unwrap().to_string(),
                pair[side]["summary"].as_str().unwrap().to_string(),
            ));
        }
        labels.push((a, a + 1, pair["same"].as_bool().unwrap()));
    }
    let view: Vec<Doc<'_>> = docs.iter().map(|(t, s)| Doc { title: t, text: s }).collect();
    let groups = cluster(&view, p, tidings::entities::Gazetteer::builtin());
    let mut story = vec![0; docs.len()];
    for (g, members) in groups.iter().enumerate() {
        for &m in members {
            story[m] = g;
        }
    }
    let (mut tp, mut fp, mut fn_) = (0.0f64, 0.0f64, 0.0f64);
    let mut misses = Vec::new();
    for (a, b, same) in labels {
        let joined = story[a] == story[b];
        match (same, joined) {
            (true, true) => tp += 1.0,
            (false, true) => {
                fp += 1.0;
                misses.push(format!("joined but different: {} / {}", docs[a].0, docs[b].0));
            }
            (true, false) => {
                fn_ += 1.0;
                misses.push(format!("apart but same: {} / {}", docs[a].0, docs[b].0));
            }
            (false, false) => {}
        }
    }
    Scores { precision: tp / (tp + fp).max(1.0), recall: tp / (tp + fn_).max(1.0), misses }
}

#[test]
fn clustering_precision_and_recall_on_labelled_pairs() {
    let s = evaluate(&Params::default());
    eprintln!("clustering: precision {:.3}, recall {:.3}\n{}", s.precision, s.recall, s.misses.join("\n"));
    assert!(s.precision >= 0.9, "precision {:.3}", s.precision);
    assert!(s.recall >= 0.9, "recall {:.3}", s.recall);
}
