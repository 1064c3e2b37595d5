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
    Keyword {
        word: String,
        in_title: bool,
    },
    Category(String),
    /// The tag's rule held.
    Rule(String),
    /// Close to the tag's examples: the score and the threshold.
    Example {
        score: f64,
        threshold: f64,
    },
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

/// What a pattern of the automaton is.
#[derive(Debug, Clone, Copy)]
enum Pat {
    Keyword(Pattern),
    /// A concept's keyword: the concept, and whether it is Latin.
    Concept(usize, bool),
}

/// What one pass over folded text found.
#[derive(Debug, Default)]
struct Scan {
    keywords: Vec<Pattern>,
    /// (concept, byte offset), before the end of the lead only.
    concepts: Vec<(usize, usize)>,
}

/// The compiled taxonomy.
pub struct Tagger {
    names: Vec<String>,
    weights: Vec<f64>,
    /// Tag keywords and concept keywords, searched in one pass.
    automaton: AhoCorasick,
    patterns: Vec<Pat>,
    keywords: Vec<Vec<String>>,
    rules: Vec<Option<(Rule, String)>>,
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
    // A DFA: a few thousand short patterns, searched over every report. A
    // taxonomy too large for one falls back to the default automaton.
    let build = |kind| AhoCorasickBuilder::new().match_kind(MatchKind::Standard).kind(kind).build(words);
    build(Some(aho_corasick::AhoCorasickKind::DFA))
        .or_else(|_| build(None))
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
                    patterns.push(Pat::Keyword(Pattern { tag: t, keyword: k, exclude, latin }));
                }
            }
        }
        let concept_names: Vec<&str> = taxonomy.concept.iter().map(|c| c.name.as_str()).collect();
        for (c, concept) in taxonomy.concept.iter().enumerate() {
            for word in &concept.keywords {
                let folded = fold(word);
                if !folded.is_empty() {
                    patterns.push(Pat::Concept(c, starts_latin(&folded)));
                    words.push(folded);
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

    /// Every keyword occurrence in folded text, and every concept keyword
    /// before `lead_end`.
    fn scan(&self, folded: &str, lead_end: usize) -> Scan {
        let bytes = folded.as_bytes();
        let mut out = Scan::default();
        for m in self.automaton.find_overlapping_iter(folded) {
            match self.patterns[m.pattern().as_usize()] {
                Pat::Keyword(p) => {
                    if !p.latin || at_word(bytes, m.start(), m.end(), false) {
                        out.keywords.push(p);
                    }
                }
                Pat::Concept(c, latin) => {
                    if m.start() < lead_end && (!latin || at_word(bytes, m.start(), m.end(), true)) {
                        out.concepts.push((c, m.start()));
                    }
                }
            }
        }
        out
    }

    /// Where the concepts are in a folded headline and lead, given the
    /// concept keywords found in each.
    fn concepts(&self, fields: [(&str, &[(usize, usize)]); 2]) -> Found {
        let mut found = Vec::new();
        for ((text, keywords), in_title) in fields.into_iter().zip([true, false]) {
            let bytes = text.as_bytes();
            // Character offset of every byte offset (UTF-8 continuation
            // bytes are not characters).
            let mut chars = Vec::with_capacity(bytes.len() + 1);
            let mut n = 0;
            for b in bytes {
                chars.push(n);
                n += usize::from(b & 0xC0 != 0x80);
            }
            chars.push(n);
            let char_at = |byte: usize| chars.get(byte).copied().unwrap_or(n);
            found.extend(keywords.iter().map(|&(c, at)| (c, in_title, char_at(at))));
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
        let lead_end = text.char_indices().nth(LEAD_CHARS).map_or(text.len(), |(i, _)| i);
        let scans = [self.scan(&title, title.len()), self.scan(&text, lead_end)];
        for (scan, score, in_title) in [(&scans[0], TITLE_HIT, true), (&scans[1], BODY_HIT, false)] {
            for &p in &scan.keywords {
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
                .chain(self.scan(&folded, 0).keywords.into_iter().filter(|p| !p.exclude).map(|p| p.tag))
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
        let lead = &text[..lead_end];
        if self.rules.iter().any(Option::is_some) {
            let found = self.concepts([(&title, &scans[0].concepts), (lead, &scans[1].concepts)]);
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

    /// A taxonomy written as the shipped one is: concepts, a rule with an
    /// entity concept, and examples.
    fn editorial() -> (Taxonomy, Gazetteer) {
        let taxonomy: Taxonomy = toml::from_str(
            r#"
            [[concept]]
            name = "domestic_actor"
            keywords = ["国产"]
            entities = { kind = ["company"], country = ["CN"] }
            [[concept]]
            name = "ai_core"
            keywords = ["大模型", "芯片"]
            [[concept]]
            name = "commerce"
            keywords = ["订单", "交付"]
            [[tag]]
            name = "国产AI"
            rule = "title:domestic_actor & ai_core"
            [[tag]]
            name = "商业化落地"
            rule = "near(commerce, ai_core, 10)"
            [[tag]]
            name = "人机共生"
            examples = ["独居老人每晚和AI音箱聊天", "年轻人深夜向AI倾诉心事"]
            example_threshold = 0.1
            [[tag]]
            name = "大模型"
            keywords = ["大模型"]
            "#,
        )
        .unwrap();
        let file: crate::entities::EntitiesFile = toml::from_str(
            r#"
            [[entity]]
            id = "zhipu"
            kind = "company"
            country = "CN"
            names = ["智谱", "Zhipu"]
            [[entity]]
            id = "openai"
            kind = "company"
            country = "US"
            names = ["OpenAI"]
            [[entity]]
            id = "glm"
            kind = "product"
            parent = "zhipu"
            names = ["GLM"]
            "#,
        )
        .unwrap();
        (taxonomy, Gazetteer::from_entries(file.entity).unwrap())
    }

    #[test]
    fn rules_read_concepts_and_the_gazetteer() {
        let (taxonomy, gaz) = editorial();
        let t = Tagger::new(&taxonomy, &gaz);
        let names = |hits: Vec<TagHit>| hits.iter().map(|h| t.name(h.tag).to_string()).collect::<Vec<_>>();
        assert!(names(t.tag("智谱发布新一代大模型", "", &[])).contains(&"国产AI".to_string()));
        assert!(names(t.tag("Zhipu unveils a model", "智谱的大模型", &[])).contains(&"国产AI".to_string()));
        assert!(!names(t.tag("OpenAI发布新一代大模型", "", &[])).contains(&"国产AI".to_string()), "a US company");
        assert!(
            !names(t.tag("新一代大模型发布", "智谱参与了评测", &[])).contains(&"国产AI".to_string()),
            "not in the headline"
        );
        // near: within ten characters, in one field.
        assert!(names(t.tag("某公司获得芯片订单", "", &[])).contains(&"商业化落地".to_string()));
        let far = "芯片设计公司介绍了过去十年的发展历程以及未来的订单";
        assert!(!names(t.tag(far, "", &[])).contains(&"商业化落地".to_string()));
    }

    #[test]
    fn examples_teach_a_tag_no_keyword_captures() {
        let (taxonomy, gaz) = editorial();
        let t = Tagger::new(&taxonomy, &gaz);
        let tags = t.tag("社区独居老人每晚和AI聊天", "", &[]);
        assert_eq!(tags.first().map(|h| t.name(h.tag)), Some("人机共生"), "{tags:?}");
        assert!(t.tag("寒武纪发布新芯片", "", &[]).iter().all(|h| t.name(h.tag) != "人机共生"));
    }

    #[test]
    fn a_story_takes_the_best_report_not_stray_words_summed() {
        let t = Tagger::new(&taxonomy(), &Gazetteer::default());
        // Three outlets each mention an LLM once in passing: no report
        // gives the tag, so the story does not get it.
        let texts = ["财报提到大模型", "财报提到了大模型", "其财报提到大模型"];
        let reports = texts.iter().map(|x| Report { title: "某公司发布季度财报", text: x, categories: &[] });
        assert!(t.story(reports, 3).is_empty());
        // One report's headline gives it; two agreeing reports count more.
        let one = [Report { title: "阿里发布新一代大模型", text: "", categories: &[] }];
        let two = [one[0], Report { title: "阿里新一代大模型发布", text: "", categories: &[] }];
        let (a, b) = (t.story(one, 3), t.story(two, 3));
        assert_eq!((a.len(), b.len()), (1, 1));
        assert_eq!(b[0].score, a[0].score + AGREEMENT);
    }

    #[test]
    fn explaining_names_what_gave_a_tag_and_what_came_near() {
        let (taxonomy, gaz) = editorial();
        let t = Tagger::new(&taxonomy, &gaz);
        let judged = t.explain_story([Report { title: "智谱发布新一代大模型", text: "", categories: &[] }]);
        let domestic = judged.iter().find(|j| t.name(j.tag) == "国产AI").unwrap();
        assert!(domestic.given);
        assert_eq!(domestic.reasons, [Reason::Rule("title:domestic_actor & ai_core".into())]);
        let llm = judged.iter().find(|j| t.name(j.tag) == "大模型").unwrap();
        assert_eq!(llm.reasons, [Reason::Keyword { word: "大模型".into(), in_title: true }]);
        let near = t.explain_story([Report { title: "季度财报", text: "提到大模型", categories: &[] }]);
        assert!(near.iter().any(|j| !j.given && t.name(j.tag) == "大模型" && j.score == BODY_HIT));
    }
}
