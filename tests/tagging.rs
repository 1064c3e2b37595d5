//! Tagging quality: the default taxonomy against the labelled items in
//! `tests/fixtures/tagged_items.json`, per-tag precision and recall.

use std::path::Path;

use serde_json::Value;
use tidings::config::load_taxonomy;
use tidings::tag::Tagger;

#[test]
fn per_tag_precision_and_recall_on_labelled_items() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let taxonomy = load_taxonomy(&root.join("config/taxonomy.toml")).unwrap();
    let tagger = Tagger::new(&taxonomy);
    let items: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(root.join("tests/fixtures/tagged_items.json")).unwrap()).unwrap();
    assert!(items.len() >= 40);
    let n = taxonomy.tag.len();
    let (mut tp, mut fp, mut fn_) = (vec![0usize; n], vec![0usize; n], vec![0usize; n]);
    let mut misses = Vec::new();
    for item in &items {
        let title = item["title"].as_str().unwrap();
        let summary = item["summary"].as_str().unwrap();
        let categories: Vec<String> =
            item["categories"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
        let want: Vec<usize> = item["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| tagger.index_of(t.as_str().unwrap()).unwrap_or_else(|| panic!("unknown tag {t}")))
            .collect();
        let got: Vec<usize> = tagger.tag(title, summary, &categories).into_iter().map(|h| h.tag).collect();
        for t in 0..n {
            match (want.contains(&t), got.contains(&t)) {
                (true, true) => tp[t] += 1,
                (false, true) => {
                    fp[t] += 1;
                    misses.push(format!("extra {}: {title}", tagger.name(t)));
                }
                (true, false) => {
                    fn_[t] += 1;
                    misses.push(format!("missing {}: {title}", tagger.name(t)));
                }
                (false, false) => {}
            }
        }
    }
    let mut failing = Vec::new();
    for t in 0..n {
        let p = tp[t] as f64 / (tp[t] + fp[t]).max(1) as f64;
        let r = tp[t] as f64 / (tp[t] + fn_[t]).max(1) as f64;
        eprintln!("{:<10} precision {p:.2} recall {r:.2} ({} labelled)", tagger.name(t), tp[t] + fn_[t]);
        assert!(tp[t] + fn_[t] >= 3, "tag {} has too few labelled items", tagger.name(t));
        if p < 0.85 || r < 0.85 {
            failing.push(tagger.name(t).to_string());
        }
    }
    eprintln!("{}", misses.join("\n"));
    assert!(failing.is_empty(), "below 0.85: {failing:?}");
}
