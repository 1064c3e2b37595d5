//! Tag by example: an editor lists headlines that have a tag (and alike
//! ones that do not); a report close to them gets the tag.
//!
//! Features are the folded headline's and lead's Chinese character bigrams
//! and Latin words, weighted by IDF over every tag's examples. Each tag's
//! examples are averaged into one centroid (nearest centroid), and so are
//! its counter-examples; a report's score is its cosine with the examples'
//! centroid less its cosine with the counter-examples'. Trained when the
//! taxonomy loads, in well under a millisecond for a few hundred examples.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::fold::{fold, is_han};

/// Score from which a report is close enough to a tag's examples, when the
/// tag does not say.
pub const DEFAULT_THRESHOLD: f64 = 0.07;
/// How much of the lead is compared, in characters.
const LEAD_CHARS: usize = 120;
/// A headline feature counts this much against one of the lead.
const TITLE_WEIGHT: f32 = 2.0;

/// Features are hashes already: the map uses them as they are.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type ByFeature<V> = HashMap<u64, V, BuildHasherDefault<Identity>>;

/// A feature's IDF, and (tag, weight in the tag's examples' centroid, in
/// its counter-examples') for every tag whose examples have it.
type Entry = (f32, Vec<(u32, f32, f32)>);

/// One tag's examples, as the taxonomy gives them.
#[derive(Debug, Clone, Default)]
pub struct TagExamples {
    pub examples: Vec<String>,
    pub counter_examples: Vec<String>,
    pub threshold: Option<f64>,
}

/// The trained examples of every tag.
#[derive(Debug, Clone, Default)]
pub struct Examples {
    /// IDF of a feature no example has.
    unseen: f32,
    /// feature → its IDF, and (tag, weight in the examples' centroid, in the
    /// counter-examples') for every tag whose examples have it.
    index: ByFeature<Entry>,
    thresholds: Vec<Option<f64>>,
}

/// Distinct hashed features of folded text.
fn features(folded: &str, out: &mut Vec<u64>) {
    let hash = |s: &[u8], salt: u64| {
        s.iter().fold(0xCBF2_9CE4_8422_2325u64 ^ salt, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01B3))
    };
    for run in folded.split(' ') {
        let mut prev: Option<char> = None;
        let mut word = String::new();
        for c in run.chars().chain([' ']) {
            if is_han(c) {
                if let Some(p) = prev {
                    out.push(hash(&((u64::from(u32::from(p)) << 32) | u64::from(u32::from(c))).to_le_bytes(), 1));
                }
                prev = Some(c);
            } else {
                prev = None;
            }
            if is_han(c) || c == ' ' {
                let w = word.trim_matches(|c: char| matches!(c, '.' | '-' | '+' | '#'));
                if w.len() > 1 {
                    out.push(hash(w.as_bytes(), 2));
                }
                word.clear();
            } else {
                word.push(c);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
}

/// Weighted features of a report: headline and the start of the lead.
fn report_features(title: &str, lead: &str) -> Vec<(u64, f32)> {
    let (mut t, mut l) = (Vec::new(), Vec::new());
    features(title, &mut t);
    let lead_end = lead.char_indices().nth(LEAD_CHARS).map_or(lead.len(), |(i, _)| i);
    features(&lead[..lead_end], &mut l);
    let mut out: Vec<(u64, f32)> = t.iter().map(|f| (*f, TITLE_WEIGHT)).collect();
    out.extend(l.into_iter().filter(|f| t.binary_search(f).is_err()).map(|f| (f, 1.0)));
    out
}

impl Examples {
    /// Trains on every tag's examples (`tags[i]` is tag `i`'s).
    pub fn new(tags: &[TagExamples]) -> Examples {
        let docs: Vec<Vec<u64>> = tags
            .iter()
            .flat_map(|t| t.examples.iter().chain(&t.counter_examples))
            .map(|e| {
                let mut f = Vec::new();
                features(&fold(e), &mut f);
                f
            })
            .collect();
        let mut df: HashMap<u64, u32> = HashMap::new();
        for d in &docs {
            for f in d {
                *df.entry(*f).or_default() += 1;
            }
        }
        let n = docs.len() as f32;
        let idf: HashMap<u64, f32> = df.iter().map(|(f, d)| (*f, ((n + 1.0) / (*d as f32 + 0.5)).ln())).collect();
        let unseen = ((n + 1.0) / 0.5).ln();
        let mut index: ByFeature<Entry> = ByFeature::default();
        let centroid = |list: &[String]| -> HashMap<u64, f32> {
            let mut c: HashMap<u64, f32> = HashMap::new();
            for e in list {
                let mut f = Vec::new();
                features(&fold(e), &mut f);
                let norm = f.iter().map(|x| idf[x].powi(2)).sum::<f32>().sqrt();
                if norm > 0.0 {
                    for x in f {
                        *c.entry(x).or_default() += idf[&x] / norm;
                    }
                }
            }
            let norm = c.values().map(|w| w * w).sum::<f32>().sqrt();
            if norm > 0.0 {
                c.values_mut().for_each(|w| *w /= norm);
            }
            c
        };
        for (t, tag) in tags.iter().enumerate() {
            if tag.examples.is_empty() {
                continue;
            }
            let (pos, neg) = (centroid(&tag.examples), centroid(&tag.counter_examples));
            let mut entries: HashMap<u64, (f32, f32)> = HashMap::new();
            for (f, w) in pos {
                entries.entry(f).or_default().0 = w;
            }
            for (f, w) in neg {
                entries.entry(f).or_default().1 = w;
            }
            for (f, (p, q)) in entries {
                index.entry(f).or_insert_with(|| (idf[&f], Vec::new())).1.push((t as u32, p, q));
            }
        }
        Examples { unseen, index, thresholds: tags.iter().map(|t| t.threshold).collect() }
    }

    /// Whether any tag has examples.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Each tag's closeness to its examples, for a folded headline and lead:
    /// (tag, score), for tags the report shares any feature with.
    pub fn scores(&self, title: &str, lead: &str) -> Vec<(usize, f64)> {
        if self.is_empty() {
            return Vec::new();
        }
        let feats = report_features(title, lead);
        let mut norm = 0.0f32;
        let mut acc: Vec<(usize, f32, f32)> = Vec::new();
        for (f, w) in &feats {
            let Some((idf, list)) = self.index.get(f) else {
                norm += (w * self.unseen).powi(2);
                continue;
            };
            let x = w * idf;
            norm += x * x;
            for &(t, p, q) in list {
                match acc.iter_mut().find(|a| a.0 == t as usize) {
                    Some(a) => {
                        a.1 += x * p;
                        a.2 += x * q;
                    }
                    None => acc.push((t as usize, x * p, x * q)),
                }
            }
        }
        if norm <= 0.0 {
            return Vec::new();
        }
        let norm = norm.sqrt();
        acc.into_iter().map(|(t, p, q)| (t, f64::from((p - q) / norm))).collect()
    }

    /// The score from which tag `t` is given by example.
    pub fn threshold(&self, t: usize) -> f64 {
        self.thresholds.get(t).copied().flatten().unwrap_or(DEFAULT_THRESHOLD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_headline_like_the_examples_scores_high_counter_examples_pull_down() {
        let tags = vec![
            TagExamples {
                examples: vec!["独居老人每晚和AI音箱聊天".into(), "年轻人深夜向AI倾诉心事".into()],
                counter_examples: vec!["AI音箱销量增长三成".into()],
                threshold: Some(0.15),
            },
            TagExamples { examples: vec!["宇树发布人形机器人".into()], ..TagExamples::default() },
        ];
        let ex = Examples::new(&tags);
        let score = |title: &str| {
            let s = ex.scores(&fold(title), "");
            s.iter().find(|x| x.0 == 0).map_or(0.0, |x| x.1)
        };
        assert!(score("社区独居老人睡前和AI聊天") > ex.threshold(0), "{}", score("社区独居老人睡前和AI聊天"));
        assert!(score("AI音箱销量再增三成") < score("社区独居老人睡前和AI聊天"));
        assert!(score("寒武纪发布新芯片") < ex.threshold(0));
        assert!(Examples::new(&[]).scores("任何", "").is_empty());
    }
}
