//! Tagging against the taxonomy: every tag's keywords (Chinese and English
//! aliases) in one Aho-Corasick automaton over folded text. A keyword found in
//! the headline counts [`TITLE_HIT`], in the text [`BODY_HIT`]; a feed category
//! naming the tag or one of its keywords counts [`CATEGORY_HIT`]; a tag is
//! given from [`THRESHOLD`], unless one of its `exclude` words appears.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::config::Taxonomy;
use crate::fold::fold;

/// Score of a distinct keyword found in the headline.
pub const TITLE_HIT: f64 = 2.0;
/// Score of a distinct keyword found only in the text.
pub const BODY_HIT: f64 = 1.0;
/// Score of a feed category that names the tag or one of its keywords.
pub const CATEGORY_HIT: f64 = 1.0;
/// Score from which a tag is given.
pub const THRESHOLD: f64 = 2.0;

/// One report of a story, as the tagger reads it.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    pub title: &'a str,
    pub text: &'a str,
    pub categories: &'a [String],
}

/// A tag given to an item, with how strongly.
#[derive(Debug, Clone, PartialEq)]
pub struct TagHit {
    /// Index into the taxonomy's tags.
    pub tag: usize,
    pub score: f64,
}

#[derive(Debug, Clone, Copy)]
struct Pattern {
    tag: usize,
    /// Index of the keyword within its tag (for "distinct keywords").
    keyword: usize,
    exclude: bool,
    /// Latin keywords must start at a word boundary ("Dify" not in "modify").
    latin: bool,
}

/// The compiled taxonomy.
pub struct Tagger {
    names: Vec<String>,
    weights: Vec<f64>,
    automaton: AhoCorasick,
    patterns: Vec<Pattern>,
}

impl Tagger {
    /// Compiles the taxonomy; keywords are folded exactly as text is.
    pub fn new(taxonomy: &Taxonomy) -> Tagger {
        let mut words = Vec::new();
        let mut patterns = Vec::new();
        for (t, tag) in taxonomy.tag.iter().enumerate() {
            let lists = [(&tag.keywords, false), (&tag.exclude, true)];
            for (list, exclude) in lists {
                for (k, word) in list.iter().enumerate() {
                    let folded = fold(word);
                    if folded.is_empty() {
                        continue;
                    }
                    let latin = folded.starts_with(|c: char| c.is_ascii_alphanumeric());
                    words.push(folded);
                    patterns.push(Pattern { tag: t, keyword: k, exclude, latin });
                }
            }
        }
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&words)
            .unwrap_or_else(|_| AhoCorasick::new(Vec::<String>::new()).expect("an empty automaton always builds"));
        Tagger {
            names: taxonomy.tag.iter().map(|t| t.name.clone()).collect(),
            weights: taxonomy.tag.iter().map(|t| t.weight).collect(),
            automaton,
            patterns,
        }
    }

    /// Tag names, by index.
    pub fn name(&self, tag: usize) -> &str {
        &self.names[tag]
    }

    /// A tag's weight in ranking.
    pub fn weight(&self, tag: usize) -> f64 {
        self.weights[tag]
    }

    /// Index of the tag with this name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// (tag, keyword, exclude) of every keyword occurrence in folded text.
    fn hits(&self, folded: &str) -> Vec<Pattern> {
        let bytes = folded.as_bytes();
        self.automaton
            .find_overlapping_iter(folded)
            .filter_map(|m| {
                let p = self.patterns[m.pattern().as_usize()];
                let at_boundary = m.start() == 0 || !bytes[m.start() - 1].is_ascii_alphanumeric();
                (!p.latin || at_boundary).then_some(p)
            })
            .collect()
    }

    /// A story's tags from all its reports, most confident first, at most
    /// `most`: each tag's evidence summed over the reports, weighted by
    /// the tag's weight.
    pub fn story<'a>(&self, reports: impl IntoIterator<Item = Report<'a>>, most: usize) -> Vec<TagHit> {
        let mut scores: Vec<f64> = vec![0.0; self.names.len()];
        for r in reports {
            for hit in self.tag(r.title, r.text, r.categories) {
                scores[hit.tag] += hit.score;
            }
        }
        let mut ranked: Vec<TagHit> = scores
            .iter()
            .enumerate()
            .filter(|(_, s)| **s > 0.0)
            .map(|(t, s)| TagHit { tag: t, score: s * self.weights[t] })
            .collect();
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.tag.cmp(&b.tag)));
        ranked.truncate(most);
        ranked
    }

    /// Tags of an item, strongest first.
    pub fn tag(&self, title: &str, text: &str, categories: &[String]) -> Vec<TagHit> {
        let n = self.names.len();
        let mut score = vec![0.0; n];
        let mut vetoed = vec![false; n];
        let mut counted: Vec<(usize, usize)> = Vec::new();
        for (folded, points) in [(fold(title), TITLE_HIT), (fold(text), BODY_HIT)] {
            for p in self.hits(&folded) {
                if p.exclude {
                    vetoed[p.tag] = true;
                } else if !counted.contains(&(p.tag, p.keyword)) {
                    counted.push((p.tag, p.keyword));
                    score[p.tag] += points;
                }
            }
        }
        for category in categories {
            let folded = fold(category);
            let mut named: Vec<usize> = (0..n)
                .filter(|&t| fold(&self.names[t]) == folded)
                .chain(self.hits(&folded).into_iter().filter(|p| !p.exclude).map(|p| p.tag))
                .collect();
            named.sort_unstable();
            named.dedup();
            for t in named {
                score[t] += CATEGORY_HIT;
            }
        }
        let mut out: Vec<TagHit> = (0..n)
            .filter(|&t| !vetoed[t] && score[t] >= THRESHOLD)
            .map(|t| TagHit { tag: t, score: score[t] })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.tag.cmp(&b.tag)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TagConfig;

    fn taxonomy() -> Taxonomy {
        let tag = |name: &str, keywords: &[&str], exclude: &[&str]| TagConfig {
            name: name.into(),
            keywords: keywords.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            weight: 1.0,
        };
        Taxonomy {
            tag: vec![
                tag("大模型", &["大模型", "LLM", "large language model"], &[]),
                tag("具身智能", &["人形机器人", "机器人"], &["聊天机器人"]),
                tag("开源生态", &["开源", "Dify"], &["开源节流"]),
            ],
        }
    }

    #[test]
    fn title_hit_suffices_body_needs_two() {
        let t = Tagger::new(&taxonomy());
        let tags = t.tag("阿里发布新一代大模型", "", &[]);
        assert_eq!(tags, [TagHit { tag: 0, score: 2.0 }]);
        assert!(t.tag("财报", "提到了一次大模型", &[]).is_empty());
        assert_eq!(t.tag("财报", "LLM 与 large language model", &[]).len(), 1);
    }

    #[test]
    fn traditional_and_full_width_match() {
        let t = Tagger::new(&taxonomy());
        assert_eq!(t.tag("宇樹發布人形機器人", "", &[])[0].tag, 1);
        assert_eq!(t.tag("ＬＬＭ新進展", "", &[])[0].tag, 0);
    }

    #[test]
    fn exclude_vetoes_and_words_need_boundaries() {
        let t = Tagger::new(&taxonomy());
        assert!(t.tag("某银行推出聊天机器人", "机器人客服", &[]).is_empty());
        assert!(t.tag("开源节流", "开源节流", &[]).is_empty());
        assert!(t.tag("Users modify settings", "", &[]).is_empty());
        assert_eq!(t.tag("Dify raises money", "", &[])[0].tag, 2);
    }

    #[test]
    fn categories_count_as_evidence() {
        let t = Tagger::new(&taxonomy());
        assert!(t.tag("新品", "一款大模型", &[]).is_empty());
        assert_eq!(t.tag("新品", "一款大模型", &["大模型".into()])[0].tag, 0);
    }
}
