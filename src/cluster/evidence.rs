//! What two reports have in common beyond their words, and what keeps them
//! apart. Each item gets a [`Profile`]: its language or script, the actors
//! its headline names (companies, labs, products, regulators, through the
//! gazetteer, with their parents: 豆包 is ByteDance), the places, people and
//! topics it mentions, its unusual Latin tokens (GLM-5, H20) and its
//! figures in one notation. Two reports in different languages or scripts
//! share no words, so they join on this evidence ([`Shared`]); any two
//! reports whose headlines name different actors for alike news stay apart
//! ([`Veto`]).

use crate::entities::{EntityKind, Gazetteer, Mention};
use crate::figures::{self, Figure, Unit};
use crate::fold::is_han;

/// The language or script a report is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Script {
    /// Latin-script text (English).
    Latin,
    /// Simplified Chinese.
    Simplified,
    /// Traditional Chinese (Taiwan, Hong Kong).
    Traditional,
}

impl Script {
    /// Reads the script of a headline: Chinese when it has Han characters
    /// (Traditional when any is Traditional-only), Latin otherwise.
    pub fn of(title: &str) -> Script {
        Script::from_parts(title, fast2s::convert(title) != title)
    }

    /// The script of a headline whose Traditional characters are already
    /// known to be there or not.
    pub fn from_parts(title: &str, traditional: bool) -> Script {
        let han = title.chars().filter(|c| is_han(*c)).take(2).count();
        if han < 2 {
            Script::Latin
        } else if traditional {
            Script::Traditional
        } else {
            Script::Simplified
        }
    }

    /// A short name for explanations.
    pub fn name(self) -> &'static str {
        match self {
            Script::Latin => "Latin",
            Script::Simplified => "Simplified",
            Script::Traditional => "Traditional",
        }
    }
}

/// Latin words that say nothing about which event: English function words
/// and the trade's generic abbreviations.
const GENERIC_TOKENS: &[&str] = &[
    "a",
    "an",
    "the",
    "of",
    "in",
    "on",
    "at",
    "to",
    "for",
    "and",
    "or",
    "with",
    "by",
    "from",
    "as",
    "is",
    "are",
    "was",
    "were",
    "be",
    "its",
    "it",
    "this",
    "that",
    "new",
    "has",
    "have",
    "will",
    "after",
    "into",
    "over",
    "says",
    "said",
    "than",
    "more",
    "up",
    "out",
    "about",
    "but",
    "not",
    "can",
    "now",
    "also",
    "their",
    "his",
    "her",
    "they",
    "we",
    "you",
    "ai",
    "api",
    "apis",
    "app",
    "apps",
    "ceo",
    "cto",
    "cfo",
    "coo",
    "gpu",
    "gpus",
    "cpu",
    "npu",
    "ipo",
    "llm",
    "llms",
    "agi",
    "aigc",
    "saas",
    "ar",
    "vr",
    "xr",
    "ev",
    "evs",
    "5g",
    "pc",
    "pcs",
    "it",
    "iot",
    "b2b",
    "b2c",
    "m",
    "bn",
    "mn",
    "k",
    "vs",
    "plus",
    "pro",
    "max",
    "mini",
    "ultra",
    "inc",
    "ltd",
    "co",
    "corp",
    "group",
    "china",
    "chinese",
    "us",
    "u.s",
    "global",
    "world",
    "first",
    "top",
    "big",
    "tech",
    "data",
    "model",
    "models",
    "chip",
    "chips",
    "open",
    "source",
    "amid",
    "could",
    "would",
    "may",
    "per",
    "cent",
    "percent",
    "million",
    "billion",
    "yuan",
    "year",
    "years",
    "day",
    "days",
    "week",
    "month",
    "news",
    "report",
    "reports",
    "via",
    "who",
    "what",
    "how",
    "why",
    "which",
    "while",
    "its",
    "report",
    "latest",
    "other",
    "all",
    "one",
    "two",
    "three",
    "let",
    "lets",
    "set",
    "sets",
    "deal",
    "market",
    "company",
    "companies",
    "firm",
    "startup",
    "startups",
    "users",
    "user",
    "today",
];

/// What the clusterer knows of one report beyond its words.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub script: Option<Script>,
    /// Organizations the headline names (companies, labs, regulators, the
    /// makers of named products), as their topmost parents.
    pub title_actors: Vec<u32>,
    /// The organization the headline names first (its topmost parent):
    /// the one the news is about.
    pub title_first: Option<u32>,
    /// Places the headline names, countries aside, with their parents.
    pub title_places: Vec<u32>,
    /// Hashes of [`Evidence::title_tokens`], sorted: compared for every
    /// candidate pair.
    pub(super) title_token_hashes: Vec<u64>,
    /// The rest, when the day needs it (text to compare, several scripts,
    /// or an explanation): boxed, as a day of headlines in one script
    /// holds a hundred thousand profiles without it.
    pub evidence: Option<Box<Evidence>>,
}

/// The part of a [`Profile`] that evidence across languages reads.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Everything the headline and lead name, with parents: organizations,
    /// products, people, places (countries aside).
    pub named: Vec<u32>,
    /// Topic words (融资 / raises) in headline and lead.
    pub topics: Vec<u32>,
    /// Latin words outside any name, not generic: GLM-5, h20, cuda.
    pub tokens: Vec<Box<str>>,
    /// Latin names in a Chinese headline that the gazetteer does not know
    /// (Manus, GLM-5): actors of their own.
    pub title_tokens: Vec<Box<str>>,
    pub title_figures: Vec<Figure>,
    /// Figures of the headline and the lead.
    pub figures: Vec<Figure>,
}

static NO_EVIDENCE: Evidence = Evidence {
    named: Vec::new(),
    topics: Vec::new(),
    tokens: Vec::new(),
    title_tokens: Vec::new(),
    title_figures: Vec::new(),
    figures: Vec::new(),
};

impl Profile {
    /// The evidence part, empty when it was not gathered.
    pub fn ev(&self) -> &Evidence {
        self.evidence.as_deref().unwrap_or(&NO_EVIDENCE)
    }
}

fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v.dedup();
    v
}

fn is_country(gaz: &Gazetteer, id: u32) -> bool {
    gaz.entity(id).is_some_and(|e| e.kind == EntityKind::Country)
}

impl Profile {
    /// The profile of a report from its headline and lead, each
    /// [`crate::fold::normalize`]d (for figures) and folded (for names).
    /// Without `evidence`, only what vetoes need (the headline's actors,
    /// places and unknown names): enough for a day in one script whose
    /// items have no text, which is compared as copies only.
    pub fn new(gaz: &Gazetteer, script: Script, title: [&str; 2], lead: [&str; 2], evidence: bool) -> Profile {
        Profile::build(gaz, script, title, lead, evidence, true)
    }

    /// [`Profile::new`]; without `names`, unknown Latin names of the
    /// headline are kept as hashes only (enough to compare, not to show).
    pub(super) fn build(
        gaz: &Gazetteer,
        script: Script,
        title: [&str; 2],
        lead: [&str; 2],
        evidence: bool,
        names: bool,
    ) -> Profile {
        let [normal_title, title] = title;
        let [normal_lead, lead] = lead;
        let title_mentions = gaz.find(title);
        let lead_mentions = if lead.is_empty() || !evidence { Vec::new() } else { gaz.find(lead) };
        let mut p = Profile { script: Some(script), ..Profile::default() };
        let mut title_actors = Vec::new();
        let mut title_places = Vec::new();
        let mut named = Vec::new();
        let mut topics = Vec::new();
        for (m, in_title) in title_mentions.iter().map(|m| (m, true)).chain(lead_mentions.iter().map(|m| (m, false))) {
            let Some(e) = gaz.entity(m.entity) else { continue };
            if !evidence && !in_title {
                continue;
            }
            if !evidence && e.kind.is_organization() {
                // Only the headline's actors count here: their topmost parents.
                if in_title {
                    title_actors.push(gaz.root(m.entity));
                }
                continue;
            }
            let lineage = gaz.lineage(m.entity);
            match e.kind {
                EntityKind::Topic => topics.push(m.entity),
                EntityKind::Country => {}
                EntityKind::Place => {
                    let local = lineage.into_iter().filter(|id| !is_country(gaz, *id));
                    if in_title {
                        let before = title_places.len();
                        title_places.extend(local);
                        if evidence {
                            named.extend_from_slice(&title_places[before..]);
                        }
                    } else {
                        named.extend(local);
                    }
                }
                EntityKind::Person => named.push(m.entity),
                _ => {
                    if in_title && let Some(root) = lineage.last() {
                        title_actors.push(*root);
                    }
                    if evidence {
                        named.extend(lineage);
                    }
                }
            }
        }
        p.title_first = title_actors.first().copied();
        p.title_actors = sorted(title_actors);
        p.title_places = sorted(title_places);
        let mut ev = Evidence { named: sorted(named), topics: sorted(topics), ..Evidence::default() };
        let mut tokens: Vec<Box<str>> = Vec::new();
        if p.script != Some(Script::Latin) {
            let mut hashes = Vec::new();
            each_latin_token(title, &title_mentions, |t| hashes.push(token_hash(t)));
            hashes.sort_unstable();
            hashes.dedup();
            p.title_token_hashes = hashes;
            if names || evidence {
                latin_tokens(title, &title_mentions, &mut tokens);
                tokens.sort_unstable();
                tokens.dedup();
                ev.title_tokens = tokens.clone();
            }
        }
        if !evidence {
            if names {
                p.evidence = Some(Box::new(ev));
            }
            return p;
        }
        for (text, mentions) in [(title, &title_mentions), (lead, &lead_mentions)] {
            latin_tokens(text, mentions, &mut tokens);
        }
        tokens.sort_unstable();
        tokens.dedup();
        ev.tokens = tokens;
        ev.title_figures = figures::extract_normalized(normal_title);
        let mut all = ev.title_figures.clone();
        for f in figures::extract_normalized(normal_lead) {
            if !all.iter().any(|x| x.same(&f)) {
                all.push(f);
            }
        }
        ev.figures = all;
        p.evidence = Some(Box::new(ev));
        p
    }
}

/// Latin words of folded text outside the names found in it.
fn latin_tokens(text: &str, mentions: &[Mention], out: &mut Vec<Box<str>>) {
    each_latin_token(text, mentions, |w| out.push(w.into()));
}

/// Calls `f` with each Latin word of folded text outside the names found in it.
fn each_latin_token(text: &str, mentions: &[Mention], mut f: impl FnMut(&str)) {
    let mut start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        let word_char = c.is_ascii_alphanumeric() || (matches!(c, '.' | '-' | '+') && start.is_some());
        match (word_char, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                let mut w = text[s..i].trim_end_matches(['.', '-', '+']);
                // A year glued to a word (2025AI) is the word.
                if w.len() > 4
                    && (w.starts_with("19") || w.starts_with("20"))
                    && w.as_bytes()[..4].iter().all(u8::is_ascii_digit)
                    && w.as_bytes()[4].is_ascii_alphabetic()
                {
                    w = &w[4..];
                }
                let inside_name = mentions.iter().any(|m| m.start <= s && s < m.end);
                let meaningful = w.len() >= 2
                    && !GENERIC_TOKENS.contains(&w)
                    && !w.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                    && w.bytes().any(|b| b.is_ascii_alphabetic());
                if meaningful && !inside_name {
                    f(w);
                }
                start = None;
            }
            _ => {}
        }
    }
}

fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    a.iter().filter(|x| b.binary_search(x).is_ok()).copied().collect()
}

/// A hash of a Latin token that ignores `-`, `.` and `+`: GPT-5 and GPT5,
/// DeepSeek-R2 and DeepSeek R2's `r2` compare equal.
fn token_hash(t: &str) -> u64 {
    t.bytes()
        .filter(|b| !matches!(b, b'-' | b'.' | b'+'))
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Whether two sorted lists share an element.
fn overlap<T: Ord>(a: &[T], b: &[T]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// Why two reports are not one story, whatever their words share.
#[derive(Debug, Clone, PartialEq)]
pub enum Veto {
    /// The headlines name different organizations (entity indices).
    Actors(Vec<u32>, Vec<u32>),
    /// Not both headlines name an organization; they name different places.
    Places(Vec<u32>, Vec<u32>),
    /// The headlines state different figures of one kind.
    Figures(Vec<Figure>, Vec<Figure>),
    /// Chinese headlines naming no common known actor name different
    /// unknown Latin names (Manus against Genspark).
    Names(Vec<Box<str>>, Vec<Box<str>>),
}

/// Whether two headlines name different actors: organizations that share
/// no parent, or, where not both name one, different places or different
/// unknown Latin names.
pub fn veto(a: &Profile, b: &Profile) -> Option<Veto> {
    veto_kind(a, b).map(|kind| kind.detail(a, b))
}

/// [`veto`] without naming the actors: nothing allocated, for the
/// comparisons of every candidate pair.
pub fn veto_kind(a: &Profile, b: &Profile) -> Option<Veto> {
    if !a.title_actors.is_empty() && !b.title_actors.is_empty() {
        // Different organizations; or each headline names one the other
        // lacks and they lead with different ones: 壁仞 and 天数智芯 each
        // filing at HKEX, or Microsoft's deals with IREN and with Lambda,
        // are two events.
        let lacks = |x: &[u32], y: &[u32]| x.iter().any(|id| y.binary_search(id).is_err());
        let apart = !overlap(&a.title_actors, &b.title_actors)
            || (a.title_first != b.title_first
                && lacks(&a.title_actors, &b.title_actors)
                && lacks(&b.title_actors, &a.title_actors));
        return apart.then_some(Veto::Actors(Vec::new(), Vec::new()));
    }
    if !a.title_token_hashes.is_empty()
        && !b.title_token_hashes.is_empty()
        && !overlap(&a.title_token_hashes, &b.title_token_hashes)
    {
        return Some(Veto::Names(Vec::new(), Vec::new()));
    }
    // Where the organizations do not decide, the places do: 深圳 and 上海
    // each issuing vouchers are two events.
    if !a.title_places.is_empty() && !b.title_places.is_empty() && !overlap(&a.title_places, &b.title_places) {
        return Some(Veto::Places(Vec::new(), Vec::new()));
    }
    None
}

impl Veto {
    /// The same veto with what each headline names filled in.
    pub fn detail(self, a: &Profile, b: &Profile) -> Veto {
        match self {
            Veto::Actors(..) => Veto::Actors(a.title_actors.clone(), b.title_actors.clone()),
            Veto::Places(..) => Veto::Places(a.title_places.clone(), b.title_places.clone()),
            Veto::Names(..) => Veto::Names(a.ev().title_tokens.clone(), b.ev().title_tokens.clone()),
            Veto::Figures(..) => Veto::Figures(a.ev().title_figures.clone(), b.ev().title_figures.clone()),
        }
    }
}

/// [`veto_kind`], or headlines stating different figures of one kind.
pub fn veto_kind_with_figures(a: &Profile, b: &Profile) -> Option<Veto> {
    veto_kind(a, b).or_else(|| {
        let (a, b) = (a.ev(), b.ev());
        figures::conflict_with_units(&a.title_figures, &a.figures, &b.title_figures, &b.figures)
            .then_some(Veto::Figures(Vec::new(), Vec::new()))
    })
}

/// [`veto`], or headlines stating different figures of one kind.
pub fn veto_with_figures(a: &Profile, b: &Profile) -> Option<Veto> {
    veto_kind_with_figures(a, b).map(|kind| kind.detail(a, b))
}

/// Evidence two reports share, and how strong it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shared {
    pub score: f64,
    /// The part of `score` beyond the shared actor: figures, tokens,
    /// topics, other names. An actor alone (two reports on Hong Kong, on
    /// NVIDIA) is not yet one event.
    pub support: f64,
    /// Organizations, products, people and places both name.
    pub named: Vec<u32>,
    /// Whether they share an actor: an organization both headlines name,
    /// or a place both name (where one headline names an organization, only
    /// with twice the usual support).
    pub actor: bool,
    pub figures: Vec<Figure>,
    pub tokens: Vec<Box<str>>,
    pub topics: Vec<u32>,
}

/// Weights of shared evidence, for [`shared`].
#[derive(Debug, Clone, Copy)]
pub struct Weights {
    /// An organization both headlines name.
    pub title_actor: f64,
    /// Any other name both reports mention.
    pub named: f64,
    /// A figure with a unit (money, %, ×, a date counts less).
    pub figure: f64,
    /// A Latin token outside names (GLM-5, H20).
    pub token: f64,
    /// A topic word; at most three count.
    pub topic: f64,
    /// Least support ([`Shared::support`]) a join across languages needs.
    pub min_support: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights { title_actor: 1.5, named: 0.5, figure: 1.0, token: 0.8, topic: 0.4, min_support: 0.8 }
    }
}

/// What two reports share beyond their words, scored with `w`.
pub fn shared(gaz: &Gazetteer, a: &Profile, b: &Profile, w: &Weights) -> Shared {
    let title_actors = intersect(&a.title_actors, &b.title_actors);
    let title_places = intersect(&a.title_places, &b.title_places);
    let place_led = a.title_actors.is_empty() && b.title_actors.is_empty() && !title_places.is_empty();
    let (a, b) = (a.ev(), b.ev());
    let named = intersect(&a.named, &b.named);
    let figures: Vec<Figure> = a
        .figures
        .iter()
        .filter(|x| b.figures.iter().any(|y| x.same(y)))
        .filter(|f| f.unit != Unit::Plain || f.value >= 10.0)
        .copied()
        .collect();
    let tokens: Vec<Box<str>> = a.tokens.iter().filter(|t| b.tokens.binary_search(t).is_ok()).cloned().collect();
    let topics = intersect(&a.topics, &b.topics);
    let mut score = title_actors.len() as f64 * w.title_actor;
    if place_led {
        score += w.title_actor;
    } else if !title_places.is_empty() {
        score += w.named;
    }
    let actor_score = score;
    // Names beyond the shared headline actors and places.
    let extra = named.iter().filter(|n| !title_actors.contains(n) && !title_places.contains(n)).count();
    score += extra as f64 * w.named;
    score += figures
        .iter()
        .map(|f| match f.unit {
            Unit::Date => 0.3 * w.figure,
            Unit::Plain => 0.5 * w.figure,
            _ => w.figure,
        })
        .sum::<f64>();
    score += tokens.len() as f64 * w.token;
    let mut topic_weights: Vec<f64> = topics.iter().map(|t| gaz.entity(*t).map_or(1.0, |e| e.weight)).collect();
    topic_weights.sort_by(|x, y| y.total_cmp(x));
    score += topic_weights.iter().take(3).sum::<f64>() * w.topic;
    let support = score - actor_score;
    // A place both headlines name is their shared actor where neither names
    // an organization; where one does ("Hangzhou, home of Unitree, launches
    // a fund" beside "杭州设立基金"), only with twice the usual support.
    let actor = !title_actors.is_empty() || place_led || (!title_places.is_empty() && support >= 2.0 * w.min_support);
    Shared { score, support, named, actor, figures, tokens, topics }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::{EntitiesFile, Gazetteer};
    use crate::fold::fold;

    fn gaz() -> Gazetteer {
        let file: EntitiesFile = toml::from_str(
            r#"
            [[entity]]
            id = "baichuan"
            kind = "company"
            names = ["百川智能", "Baichuan AI", "Baichuan"]
            [[entity]]
            id = "bytedance"
            kind = "company"
            names = ["字节跳动", "ByteDance"]
            [[entity]]
            id = "doubao"
            kind = "product"
            parent = "bytedance"
            names = ["豆包", "Doubao"]
            [[entity]]
            id = "unitree"
            kind = "company"
            names = ["宇树科技", "宇树", "Unitree"]
            [[entity]]
            id = "ubtech"
            kind = "company"
            names = ["优必选", "UBTech"]
            [[entity]]
            id = "cn"
            kind = "country"
            names = ["中国", "China"]
            [[entity]]
            id = "zhejiang"
            kind = "place"
            parent = "cn"
            names = ["浙江", "Zhejiang"]
            [[entity]]
            id = "jiangsu"
            kind = "place"
            parent = "cn"
            names = ["江苏", "Jiangsu"]
            [[entity]]
            id = "topic-funding"
            kind = "topic"
            names = ["融资", "raises"]
            [[entity]]
            id = "topic-medical"
            kind = "topic"
            names = ["医疗", "medical"]
            [[entity]]
            id = "topic-price-cut"
            kind = "topic"
            names = ["降价", "cuts prices"]
            "#,
        )
        .unwrap();
        Gazetteer::from_entries(file.entity).unwrap()
    }

    fn profile(g: &Gazetteer, title: &str, lead: &str) -> Profile {
        let (nt, nl) = (crate::fold::normalize(title), crate::fold::normalize(lead));
        Profile::new(g, Script::of(title), [&nt, &fold(title)], [&nl, &fold(lead)], true)
    }

    #[test]
    fn scripts() {
        assert_eq!(Script::of("Baichuan AI raises $690 million"), Script::Latin);
        assert_eq!(Script::of("百川智能完成50亿元融资"), Script::Simplified);
        assert_eq!(Script::of("輝達發表新晶片"), Script::Traditional);
        assert_eq!(Script::of("Nvidia 的 H20"), Script::Latin, "one Han character is not Chinese text");
    }

    #[test]
    fn the_same_event_across_languages_shares_evidence() {
        let g = gaz();
        let en = profile(&g, "Baichuan AI raises $690 million to build medical models", "");
        let zh = profile(&g, "百川智能完成50亿元融资，押注医疗大模型", "");
        let s = shared(&g, &en, &zh, &Weights::default());
        assert!(s.actor);
        assert_eq!(s.topics.len(), 2);
        assert!(s.score >= 2.0, "{s:?}");
        assert_eq!(veto_with_figures(&en, &zh), None, "dollars and yuan do not contradict");

        let en = profile(&g, "ByteDance's Doubao cuts prices by 80%", "");
        let zh = profile(&g, "豆包大模型API降价八成", "");
        let s = shared(&g, &en, &zh, &Weights::default());
        assert!(s.actor && s.figures.len() == 1 && s.score >= 2.0, "{s:?}");
    }

    #[test]
    fn different_actors_and_places_are_vetoed() {
        let g = gaz();
        let a = profile(&g, "宇树科技在WAIC发布人形机器人", "");
        let b = profile(&g, "优必选在WAIC发布人形机器人", "");
        assert!(matches!(veto(&a, &b), Some(Veto::Actors(..))));
        let a = profile(&g, "浙江发布AI+制造行动方案", "");
        let b = profile(&g, "江苏发布AI+制造行动方案", "");
        assert!(matches!(veto(&a, &b), Some(Veto::Places(..))));
        let c = profile(&g, "中国发布AI+制造行动方案", "");
        assert_eq!(veto(&a, &c), None, "a country is no local actor");
        let a = profile(&g, "豆包大模型降价", "");
        let b = profile(&g, "字节跳动宣布降价", "");
        assert_eq!(veto(&a, &b), None, "a product is its maker");
    }

    #[test]
    fn a_shared_counterpart_does_not_make_two_actors_one() {
        let g = gaz();
        // Each leads with its own company and both name ByteDance.
        let a = profile(&g, "宇树科技与字节跳动签约", "");
        let b = profile(&g, "优必选与字节跳动签约", "");
        assert!(matches!(veto(&a, &b), Some(Veto::Actors(..))));
        let c = profile(&g, "字节跳动与优必选签约", "");
        assert!(matches!(veto(&a, &c), Some(Veto::Actors(..))), "led by another, each lacking one");
        // One leads with the company the other names alone, or both lead
        // with one and name different partners: one event told twice.
        let d = profile(&g, "宇树科技发布人形机器人", "");
        assert_eq!(veto(&a, &d), None);
        let e = profile(&g, "宇树科技与优必选签约", "");
        assert_eq!(veto(&a, &e), None, "same lead, different partners named");
    }

    #[test]
    fn unknown_latin_names_keep_apart_spellings_of_one_name_do_not() {
        let g = gaz();
        let p = |t: &str| profile(&g, t, "");
        assert!(matches!(veto(&p("Manus完成新一轮融资"), &p("Genspark完成新一轮融资")), Some(Veto::Names(..))));
        assert_eq!(veto(&p("GPT-5正式上线"), &p("GPT5正式上线")), None);
        // A year glued to a word is the word: 2025AI is the generic "ai".
        assert!(p("2025AI中国发展论坛召开").ev().title_tokens.is_empty());
        assert_eq!(veto(&p("2025AI中国发展论坛召开"), &p("Multi-Agent成为AI中国发展论坛焦点")), None);
    }

    #[test]
    fn latin_tokens_outside_names() {
        let g = gaz();
        let p = profile(&g, "智谱发布GLM-5，支持CUDA与H20；Baichuan AI跟进", "The new model runs on AI chips");
        assert_eq!(p.ev().tokens.iter().map(|t| &**t).collect::<Vec<_>>(), ["cuda", "glm-5", "h20", "runs"]);
    }
}
