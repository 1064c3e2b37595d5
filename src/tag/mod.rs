//! Tagging against the taxonomy. A report earns points for a tag three
//! ways, and gets the tag from [`THRESHOLD`]:
//!
//! - **keywords**: every tag's keywords (Chinese and English aliases) in one
//!   Aho-Corasick automaton over folded text. A keyword found in the
//!   headline counts [`TITLE_HIT`], in the text [`BODY_HIT`]; a feed
//!   category naming the tag or one of its keywords counts [`CATEGORY_HIT`].
//! - **rules** ([`rule`]) over concepts: named lexicons, and gazetteer
//!   entries chosen by kind and country, found in the headline and lead. A
//!   rule that holds counts [`RULE_HIT`].
//! - **examples** ([`example`]): a report close enough to the tag's example
//!   headlines counts [`EXAMPLE_HIT`].
//!
//! One of the tag's `exclude` words anywhere withholds it. A story's tags
//! come from its reports together: the best report's evidence, plus a
//! little for every other report that gives the tag too ([`Tagger::story`]).

pub mod example;
pub mod rule;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::config::Taxonomy;
use crate::entities::Gazetteer;
use crate::fold::fold;
use example::{Examples, TagExamples};
use rule::{Found, Rule};

/// Score of a distinct keyword found in the headline.
pub const TITLE_HIT: f64 = 2.0;
/// Score of a distinct keyword found only in the text.
pub const BODY_HIT: f64 = 1.0;
/// Score of a feed category that names the tag or one of its keywords.
pub const CATEGORY_HIT: f64 = 1.0;
/// Score of a rule that holds.
pub const RULE_HIT: f64 = 2.0;
/// Score of a report close enough to the tag's examples.
pub const EXAMPLE_HIT: f64 = 2.0;
/// Score from which a tag is given.
pub const THRESHOLD: f64 = 2.0;
/// Each further report of a story giving the tag adds this.
pub const AGREEMENT: f64 = 0.5;
/// How much of a report's text rules and examples read, in characters:
/// what the news is about is said in the headline and the lead.
pub const LEAD_CHARS: usize = 300;

/// A tag given to an item, with how strongly.
#[derive(Debug, Clone, PartialEq)]
pub struct TagHit {
    /// Index into the taxonomy's tags.
    pub tag: usize,
    pub score: f64,
}

/// One report of a story, as the tagger reads it.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    pub title: &'a str,
    pub text: &'a str,
    pub categories: &'a [String],
}

/// Why a report earned points for a tag.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    Keyword { word: String, in_title: bool },
    Category(String),
    /// The tag's rule held.
    Rule(String),
    /// Close to the tag's examples: the score and the threshold.
    Example { score: f64, threshold: f64 },
    /// An `exclude` word withheld the tag.
    Excluded(String),
}

/// A tag as a story was judged for it: score, whether given, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub tag: usize,
    pub score: f64,
    pub given: bool,
    /// Reasons of the report that scored best for the tag.
    pub reasons: Vec<Reason>,
    /// How many reports gave the tag on their own.
    pub reports: usize,
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
    keywords: Vec<Vec<String>>,
    rules: Vec<Option<(Rule, String)>>,
    /// Concept keywords: pattern → (concept, Latin).
    concept_automaton: AhoCorasick,
    concept_patterns: Vec<(usize, bool)>,
    /// Concepts each gazetteer entry belongs to.
    entity_concepts: Vec<Vec<usize>>,
    gazetteer: Gazetteer,
    examples: Examples,
}

/// A report's points for one tag.
#[derive(Debug, Clone, Default)]
struct Points {
    score: f64,
    vetoed: bool,
}

fn automaton(words: &[String]) -> AhoCorasick {
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .build(words)
        .unwrap_or_else(|_| AhoCorasick::new(Vec::<String>::new()).expect("an empty automaton always builds"))
}

fn starts_latin(folded: &str) -> bool {
    folded.starts_with(|c: char| c.is_ascii_alphanumeric())
}

/// Whether a Latin match at `start..end` of `bytes` stands as a word
/// (at its start; and at its end when `whole`).
fn at_word(bytes: &[u8], start: usize, end: usize, whole: bool) -> bool {
    let before = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
    let after = !whole || end >= bytes.len() || !bytes[end].is_ascii_alphanumeric();
    before && after
}

impl Tagger {
    /// Compiles the taxonomy; keywords are folded exactly as text is. The
    /// gazetteer gives concepts their entities (a rule's `domestic_actor`).
    pub fn new(taxonomy: &Taxonomy, gazetteer: &Gazetteer) -> Tagger {
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
                    let latin = starts_latin(&folded);
                    words.push(folded);
                    patterns.push(Pattern { tag: t, keyword: k, exclude, latin });
                }
            }
        }
        let concept_names: Vec<&str> = taxonomy.concept.iter().map(|c| c.name.as_str()).collect();
        let mut concept_words = Vec::new();
        let mut concept_patterns = Vec::new();
        for (c, concept) in taxonomy.concept.iter().enumerate() {
            for word in &concept.keywords {
                let folded = fold(word);
                if !folded.is_empty() {
                    concept_patterns.push((c, starts_latin(&folded)));
                    concept_words.push(folded);
                }
            }
        }
        let entity_concepts = (0..gazetteer.len() as u32)
            .map(|i| {
                let lineage = gazetteer.lineage(i);
                let country = lineage.iter().find_map(|id| gazetteer.entity(*id).and_then(|e| e.country.clone()));
                let kind = gazetteer.entity(i).map(|e| e.kind);
                taxonomy
                    .concept
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| {
                        c.entities.as_ref().is_some_and(|sel| {
                            (sel.kind.is_empty() || kind.is_some_and(|k| sel.kind.contains(&k)))
                                && (sel.country.is_empty() || country.as_ref().is_some_and(|x| sel.country.contains(x)))
                        })
                    })
                    .map(|(c, _)| c)
                    .collect()
            })
            .collect();
        let rules = taxonomy
            .tag
            .iter()
            .map(|t| {
                let text = t.rule.as_ref()?;
                // `tidings check` reports a rule that does not parse; here it gives nothing.
                Rule::parse(text, &concept_names).ok().map(|r| (r, text.clone()))
            })
            .collect();
        let examples = Examples::new(
            &taxonomy
                .tag
                .iter()
                .map(|t| TagExamples {
                    examples: t.examples.clone(),
                    counter_examples: t.counter_examples.clone(),
                    threshold: t.example_threshold,
                })
                .collect::<Vec<_>>(),
        );
        Tagger {
            names: taxonomy.tag.iter().map(|t| t.name.clone()).collect(),
            weights: taxonomy.tag.iter().map(|t| t.weight).collect(),
            automaton: automaton(&words),
            patterns,
            keywords: taxonomy.tag.iter().map(|t| t.keywords.iter().chain(&t.exclude).cloned().collect()).collect(),
            rules,
            concept_automaton: automaton(&concept_words),
            concept_patterns,
            entity_concepts,
            gazetteer: gazetteer.clone(),
            examples,
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
                (!p.latin || at_word(bytes, m.start(), m.end(), false)).then_some(p)
            })
            .collect()
    }

    /// Where the concepts are in a folded headline and lead.
    fn concepts(&self, title: &str, lead: &str) -> Found {
        let mut found = Vec::new();
        for (text, in_title) in [(title, true), (lead, false)] {
            let bytes = text.as_bytes();
            let char_at = |byte: usize| text[..byte].chars().count();
            for m in self.concept_automaton.find_overlapping_iter(text) {
                let (c, latin) = self.concept_patterns[m.pattern().as_usize()];
                if !latin || at_word(bytes, m.start(), m.end(), true) {
                    found.push((c, in_title, char_at(m.start())));
                }
            }
            for m in self.gazetteer.find(text) {
                if let Some(concepts) = self.entity_concepts.get(m.entity as usize) {
                    let at = char_at(m.start);
                    found.extend(concepts.iter().map(|c| (*c, in_title, at)));
                }
            }
        }
        Found(found)
    }

    /// Points of one report for every tag, with reasons when asked.
    fn points(&self, r: &Report<'_>, mut why: Option<&mut Vec<Vec<Reason>>>) -> Vec<Points> {
        let n = self.names.len();
        let mut points = vec![Points::default(); n];
        let mut counted: Vec<(usize, usize)> = Vec::new();
        let (title, text) = (fold(r.title), fold(r.text));
        for (folded, score, in_title) in [(&title, TITLE_HIT, true), (&text, BODY_HIT, false)] {
            for p in self.hits(folded) {
                if p.exclude {
                    points[p.tag].vetoed = true;
                    if let Some(why) = why.as_deref_mut() {
                        why[p.tag].push(Reason::Excluded(self.keywords[p.tag][p.keyword].clone()));
                    }
                } else if !counted.contains(&(p.tag, p.keyword)) {
                    counted.push((p.tag, p.keyword));
                    points[p.tag].score += score;
                    if let Some(why) = why.as_deref_mut() {
                        why[p.tag].push(Reason::Keyword { word: self.keywords[p.tag][p.keyword].clone(), in_title });
                    }
                }
            }
        }
        for category in r.categories {
            let folded = fold(category);
            let mut named: Vec<usize> = (0..n)
                .filter(|&t| fold(&self.names[t]) == folded)
                .chain(self.hits(&folded).into_iter().filter(|p| !p.exclude).map(|p| p.tag))
                .collect();
            named.sort_unstable();
            named.dedup();
            for t in named {
                points[t].score += CATEGORY_HIT;
                if let Some(why) = why.as_deref_mut() {
                    why[t].push(Reason::Category(category.clone()));
                }
            }
        }
        let lead_end = text.char_indices().nth(LEAD_CHARS).map_or(text.len(), |(i, _)| i);
        let lead = &text[..lead_end];
        if self.rules.iter().any(Option::is_some) {
            let found = self.concepts(&title, lead);
            for (t, rule) in self.rules.iter().enumerate() {
                if let Some((rule, source)) = rule
                    && rule.holds(&found)
                {
                    points[t].score += RULE_HIT;
                    if let Some(why) = why.as_deref_mut() {
                        why[t].push(Reason::Rule(source.clone()));
                    }
                }
            }
        }
        for (t, score) in self.examples.scores(&title, lead) {
            let threshold = self.examples.threshold(t);
            if score >= threshold {
                points[t].score += EXAMPLE_HIT;
            }
            if let Some(why) = why.as_deref_mut()
                && score >= threshold * 0.5
            {
                why[t].push(Reason::Example { score, threshold });
            }
        }
        points
    }

    /// Tags of a report, strongest first.
    pub fn tag(&self, title: &str, text: &str, categories: &[String]) -> Vec<TagHit> {
        let points = self.points(&Report { title, text, categories }, None);
        let mut out: Vec<TagHit> = points
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.vetoed && p.score >= THRESHOLD)
            .map(|(t, p)| TagHit { tag: t, score: p.score })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.tag.cmp(&b.tag)));
        out
    }

    /// A story's tags from all its reports, most confident first, at most
    /// `most`. Each tag scores its best report's points plus [`AGREEMENT`]
    /// for every other report that gives it: one outlet's stray word in
    /// passing does not tag the story, several outlets agreeing count.
    pub fn story<'a>(&self, reports: impl IntoIterator<Item = Report<'a>>, most: usize) -> Vec<TagHit> {
        let mut judged = self.judge(reports, false);
        judged.retain(|j| j.given);
        judged.truncate(most);
        judged.into_iter().map(|j| TagHit { tag: j.tag, score: j.score }).collect()
    }

    /// Every tag a story earned any points for, given or not, most
    /// confident first, with the reasons of its best report: for `explain`.
    pub fn explain_story<'a>(&self, reports: impl IntoIterator<Item = Report<'a>>) -> Vec<Judged> {
        self.judge(reports, true)
    }

    fn judge<'a>(&self, reports: impl IntoIterator<Item = Report<'a>>, explaining: bool) -> Vec<Judged> {
        let n = self.names.len();
        let mut best = vec![0.0f64; n];
        let mut giving = vec![0usize; n];
        let mut reasons: Vec<Vec<Reason>> = vec![Vec::new(); n];
        for r in reports {
            let mut why = explaining.then(|| vec![Vec::new(); n]);
            let points = self.points(&r, why.as_mut());
            for (t, p) in points.iter().enumerate() {
                let score = if p.vetoed { 0.0 } else { p.score };
                if score >= THRESHOLD {
                    giving[t] += 1;
                }
                if score > best[t] || (explaining && best[t] == 0.0 && p.vetoed) {
                    best[t] = score;
                    if let Some(why) = why.as_mut() {
                        reasons[t] = std::mem::take(&mut why[t]);
                    }
                }
            }
        }
        let mut out: Vec<Judged> = reasons
            .into_iter()
            .enumerate()
            .filter(|(t, why)| best[*t] > 0.0 || !why.is_empty())
            .map(|(t, why)| {
                let given = best[t] >= THRESHOLD;
                let score = best[t] + AGREEMENT * giving[t].saturating_sub(1) as f64;
                Judged { tag: t, score, given, reasons: why, reports: giving[t] }
            })
            .collect();
        out.sort_by(|a, b| {
            b.given
                .cmp(&a.given)
                .then(b.score.total_cmp(&a.score))
                .then(self.weights[b.tag].total_cmp(&self.weights[a.tag]))
                .then(a.tag.cmp(&b.tag))
        });
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
            rule: None,
            examples: Vec::new(),
            counter_examples: Vec::new(),
            example_threshold: None,
        };
        Taxonomy {
            concept: Vec::new(),
            tag: vec![
                tag("大模型", &["大模型", "LLM", "large language model"], &[]),
                tag("具身智能", &["人形机器人", "机器人"], &["聊天机器人"]),
                tag("开源生态", &["开源", "Dify"], &["开源节流"]),
            ],
        }
    }

    #[test]
    fn title_hit_suffices_body_needs_two() {
        let t = Tagger::new(&taxonomy(), &Gazetteer::default());
        let tags = t.tag("阿里发布新一代大模型", "", &[]);
        assert_eq!(tags, [TagHit { tag: 0, score: 2.0 }]);
        assert!(t.tag("财报", "提到了一次大模型", &[]).is_empty());
        assert_eq!(t.tag("财报", "LLM 与 large language model", &[]).len(), 1);
    }

    #[test]
    fn traditional_and_full_width_match() {
        let t = Tagger::new(&taxonomy(), &Gazetteer::default());
        assert_eq!(t.tag("宇樹發布人形機器人", "", &[])[0].tag, 1);
        assert_eq!(t.tag("ＬＬＭ新進展", "", &[])[0].tag, 0);
    }

    #[test]
    fn exclude_vetoes_and_words_need_boundaries() {
        let t = Tagger::new(&taxonomy(), &Gazetteer::default());
        assert!(t.tag("某银行推出聊天机器人", "机器人客服", &[]).is_empty());
        assert!(t.tag("开源节流", "开源节流", &[]).is_empty());
        assert!(t.tag("Users modify settings", "", &[]).is_empty());
        assert_eq!(t.tag("Dify raises money", "", &[])[0].tag, 2);
    }

    #[test]
    fn categories_count_as_evidence() {
        let t = Tagger::new(&taxonomy(), &Gazetteer::default());
        assert!(t.tag("新品", "一款大模型", &[]).is_empty());
        assert_eq!(t.tag("新品", "一款大模型", &["大模型".into()])[0].tag, 0);
    }
}
