//! Near-duplicate clustering: items about the same event, from different
//! outlets with different headlines, become one story.
//!
//! Each item is folded ([`crate::fold`]) and turned into features: character
//! bigrams of Chinese runs and whole words of Latin runs (names, models and
//! numbers such as `rokid`, `qwen2.5-omni`, `108.22`; a word counts as much
//! as three bigrams), from the headline and the lead of the text. Features are
//! weighted by TF-IDF (IDF sharpened to the power 1.5) over the items being
//! clustered, so words every story shares ("AI", "大会", "发布") count for
//! little. Headlines stating different figures (80亿元 vs 39亿元) that the
//! other item never mentions are marked down: same template, different news.
//! Candidate pairs come from an inverted index over each item's rarer
//! features, so cost stays near-linear in the number of items; pairs whose
//! cosine similarity reaches the threshold are joined (single link).

use std::collections::HashMap;

use crate::fold::{fold, is_han, strip_boilerplate};

/// One item as the clusterer sees it.
#[derive(Debug, Clone, Copy)]
pub struct Doc<'a> {
    pub title: &'a str,
    pub text: &'a str,
}

/// Tuning of the clusterer; the defaults were chosen on the labelled pairs
/// in `tests/fixtures/cluster_pairs.json`.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Cosine similarity from which two items are the same story.
    pub threshold: f64,
    /// How many characters of the text (after the title) are compared.
    pub lead_chars: usize,
    /// How much a headline feature counts against one from the text.
    pub title_weight: f64,
    /// IDF is raised to this power: above 1, shared common words fade faster.
    pub idf_power: f64,
    /// Similarity is multiplied by this when the headlines carry different
    /// figures (80亿元 vs 39亿元) that the other item never mentions.
    pub figure_conflict: f64,
    /// Weight of a Latin word (a name, a model, a figure) against one Chinese bigram.
    pub latin_weight: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            threshold: 0.16,
            lead_chars: 300,
            title_weight: 1.0,
            idf_power: 1.5,
            figure_conflict: 0.6,
            latin_weight: 3.0,
        }
    }
}

/// Features shared by more items than this generate no candidate pairs.
const MAX_POSTING: usize = 40;

const STOPWORDS: &[&str] = &[
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "and", "or", "with", "by", "from", "as", "is", "are", "was",
    "were", "be", "its", "it", "this", "that", "new", "has", "have", "will", "after", "into", "over", "s", "says",
    "said", "than", "more", "up", "out", "about", "but", "not", "can", "now", "also", "their", "his", "her", "they",
    "we", "you",
];

/// Features of a text: Han bigrams and Latin/digit words.
fn features(folded: &str, weight: f64, latin: f64, out: &mut HashMap<String, f64>) {
    for run in folded.split(' ') {
        let mut han: Vec<char> = Vec::new();
        let mut word = String::new();
        let flush_han = |han: &mut Vec<char>, out: &mut HashMap<String, f64>| {
            if han.len() == 1 {
                *out.entry(han[0].to_string()).or_default() += weight * 0.5;
            }
            for w in han.windows(2) {
                *out.entry(w.iter().collect()).or_default() += weight;
            }
            han.clear();
        };
        let flush_word = |word: &mut String, out: &mut HashMap<String, f64>| {
            let w = word.trim_matches(|c: char| matches!(c, '.' | '-' | '+' | '#'));
            if !w.is_empty()
                && !STOPWORDS.contains(&w)
                && (w.chars().count() > 1 || w.chars().all(|c| c.is_ascii_digit()))
            {
                *out.entry(w.to_string()).or_default() += weight * latin;
            }
            word.clear();
        };
        for c in run.chars() {
            if is_han(c) {
                flush_word(&mut word, out);
                han.push(c);
            } else {
                flush_han(&mut han, out);
                word.push(c);
            }
        }
        flush_han(&mut han, out);
        flush_word(&mut word, out);
    }
}

fn doc_features(doc: &Doc<'_>, p: &Params) -> HashMap<String, f64> {
    let mut f = HashMap::new();
    features(&fold(&strip_boilerplate(doc.title)), p.title_weight, p.latin_weight, &mut f);
    let lead: String = doc.text.chars().take(p.lead_chars).collect();
    features(&fold(&lead), 1.0, p.latin_weight, &mut f);
    f
}

/// Sparse unit vectors of the docs, by feature id.
fn vectors(docs: &[Doc<'_>], p: &Params) -> (Vec<Vec<(u32, f64)>>, Vec<usize>) {
    let mut ids: HashMap<String, u32> = HashMap::new();
    let raw: Vec<Vec<(u32, f64)>> = docs
        .iter()
        .map(|d| {
            let mut v: Vec<(u32, f64)> = doc_features(d, p)
                .into_iter()
                .map(|(k, tf)| {
                    let next = ids.len() as u32;
                    (*ids.entry(k).or_insert(next), tf)
                })
                .collect();
            v.sort_unstable_by_key(|(id, _)| *id);
            v
        })
        .collect();
    let mut df = vec![0usize; ids.len()];
    for v in &raw {
        for (id, _) in v {
            df[*id as usize] += 1;
        }
    }
    let n = docs.len() as f64;
    let vecs = raw
        .into_iter()
        .map(|v| {
            let mut v: Vec<(u32, f64)> = v
                .into_iter()
                .map(|(id, tf)| {
                    let idf = ((n + 1.0) / (df[id as usize] as f64 + 0.5)).ln().max(0.0).powf(p.idf_power);
                    (id, (1.0 + tf.ln().max(0.0)) * idf)
                })
                .filter(|(_, w)| *w > 0.0)
                .collect();
            let norm = v.iter().map(|(_, w)| w * w).sum::<f64>().sqrt();
            if norm > 0.0 {
                v.iter_mut().for_each(|(_, w)| *w /= norm);
            }
            v
        })
        .collect();
    (vecs, df)
}

fn cosine(a: &[(u32, f64)], b: &[(u32, f64)]) -> f64 {
    let (mut i, mut j, mut dot) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                dot += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    dot
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Figures in a text: numbers that are not years.
fn figures(folded: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in folded.chars().chain([' ']) {
        if c.is_ascii_digit() || (c == '.' && !cur.is_empty()) {
            cur.push(c);
        } else if !cur.is_empty() {
            let n = cur.trim_end_matches('.').to_string();
            let year = n.len() == 4 && (n.starts_with("19") || n.starts_with("20"));
            if !year && !n.is_empty() {
                out.push(n);
            }
            cur.clear();
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Headline figures and all figures of each doc.
struct Figures {
    title: Vec<String>,
    all: Vec<String>,
}

fn doc_figures(doc: &Doc<'_>, p: &Params) -> Figures {
    let title = figures(&fold(doc.title));
    let lead: String = doc.text.chars().take(p.lead_chars).collect();
    let mut all = figures(&fold(&lead));
    all.extend(title.iter().cloned());
    all.sort();
    all.dedup();
    Figures { title, all }
}

/// Whether the headlines state different figures that neither item's text shares.
fn figures_conflict(a: &Figures, b: &Figures) -> bool {
    if a.title.is_empty() || b.title.is_empty() {
        return false;
    }
    let shared = a.title.iter().any(|x| b.all.contains(x)) || b.title.iter().any(|x| a.all.contains(x));
    !shared
}

/// Similarity of every candidate pair (i < j), for inspection and tests.
pub fn similar_pairs(docs: &[Doc<'_>], p: &Params) -> Vec<(usize, usize, f64)> {
    let (vecs, df) = vectors(docs, p);
    let figs: Vec<Figures> = docs.iter().map(|d| doc_figures(d, p)).collect();
    // Features shared by many items say nothing about which event; they do
    // not generate candidates (they still count in the similarity).
    // A fixed cap keeps the candidate pairs near-linear in the number of items.
    let cap = MAX_POSTING;
    let mut postings: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, v) in vecs.iter().enumerate() {
        for (id, _) in v {
            if df[*id as usize] <= cap {
                postings.entry(*id).or_default().push(i);
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for list in postings.values() {
        for (x, &i) in list.iter().enumerate() {
            for &j in &list[x + 1..] {
                if seen.insert((i, j)) {
                    let mut s = cosine(&vecs[i], &vecs[j]);
                    if figures_conflict(&figs[i], &figs[j]) {
                        s *= p.figure_conflict;
                    }
                    out.push((i, j, s));
                }
            }
        }
    }
    out.sort_by_key(|&(i, j, _)| (i, j));
    out
}

/// Groups docs into stories: each group lists indices into `docs`, in
/// ascending order; groups are ordered by their first index.
pub fn cluster(docs: &[Doc<'_>], p: &Params) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..docs.len()).collect();
    for (i, j, s) in similar_pairs(docs, p) {
        if s >= p.threshold {
            let (a, b) = (find(&mut parent, i), find(&mut parent, j));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..docs.len() {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(i);
    }
    let mut out: Vec<Vec<usize>> = groups.into_values().collect();
    out.sort_by_key(|g| g[0]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_event_joins_different_events_stay_apart() {
        let docs = [
            Doc {
                title: "2025中国AI眼镜产业发展大会在江西余江开幕",
                text: "大会在余江开幕，主题为拥抱AI·镜启未来，Rokid发布49克AR眼镜。",
            },
            Doc {
                title: "【36氪】余江举办AI眼镜产业大会，Rokid发布49克AR眼镜",
                text: "Rokid在余江AI眼镜大会上发布仅49克的AR眼镜。",
            },
            Doc {
                title: "2025AI中国发展论坛在上海召开",
                text: "论坛在上海举办，智谱发布AutoGLM沉思，京东工业展示供应链AI。",
            },
            Doc {
                title: "智谱完成新一轮融资", text: "智谱宣布完成数十亿元融资，由杭州城投领投。"
            },
        ];
        let groups = cluster(&docs, &Params::default());
        assert_eq!(groups, vec![vec![0, 1], vec![2], vec![3]]);
    }
}
