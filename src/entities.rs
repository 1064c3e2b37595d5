//! The gazetteer: the AI industry's companies, labs, products, people,
//! places and regulators, each one id with its names in Simplified and
//! Traditional Chinese, English, abbreviations and tickers (英伟达 / 輝達 /
//! NVIDIA / NVDA), plus bilingual topic words (融资 / raises). Clustering
//! reads mentions through it: the same actor across languages and scripts
//! is one feature, and two headlines naming different actors are two events.
//!
//! Names are matched on folded text ([`crate::fold::fold`]: Traditional →
//! Simplified with regional vocabulary, lower case) by one Aho-Corasick
//! automaton; a Latin name matches only as a whole word (Kimi not inside
//! Kimiko, Arm not inside army).

use std::collections::HashMap;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::Deserialize;

use crate::fold::fold;

/// What an entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    Company,
    Lab,
    Product,
    Person,
    /// A country or bloc: too broad to tell one event from another.
    Country,
    /// A province, city, district or zone.
    Place,
    Regulator,
    /// Not an actor: a kind of event or field (融资 / funding, 医疗 /
    /// medical), matched across languages as weaker evidence.
    Topic,
}

impl EntityKind {
    /// Whether the entry acts in news: organizations and their products.
    pub fn is_organization(self) -> bool {
        matches!(self, EntityKind::Company | EntityKind::Lab | EntityKind::Product | EntityKind::Regulator)
    }
}

/// One `[[entity]]` of the gazetteer file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityEntry {
    pub id: String,
    pub kind: EntityKind,
    /// ISO 3166-1 alpha-2 of the headquarters, nationality or location.
    #[serde(default)]
    pub country: Option<String>,
    pub names: Vec<String>,
    /// The maker of a product, the province of a city, the group of a
    /// subsidiary: mentions of either are mentions of one actor.
    #[serde(default)]
    pub parent: Option<String>,
    /// For topics: how much sharing it says (1 by default; generic topics
    /// such as "launch" or "model" say less).
    #[serde(default)]
    pub weight: Option<f64>,
}

/// The gazetteer file: `[[entity]]` tables.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EntitiesFile {
    #[serde(default)]
    pub entity: Vec<EntityEntry>,
}

/// One entry, resolved.
#[derive(Debug, Clone)]
pub struct Entity {
    pub id: String,
    pub kind: EntityKind,
    pub country: Option<String>,
    /// The first name listed: what explanations show.
    pub label: String,
    pub parent: Option<u32>,
    /// See [`EntityEntry::weight`].
    pub weight: f64,
}

/// A problem with one entry: its index, the key and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryProblem {
    pub index: usize,
    pub key: &'static str,
    pub message: String,
}

/// A name found in folded text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mention {
    pub entity: u32,
    /// Byte range in the folded text.
    pub start: usize,
    pub end: usize,
}

/// The loaded gazetteer and its matcher.
#[derive(Debug, Clone, Default)]
pub struct Gazetteer {
    entities: Vec<Entity>,
    matcher: Option<AhoCorasick>,
    /// For each pattern: its entity, and whether it starts and ends with a
    /// Latin letter or digit (then it must stand as a whole word).
    patterns: Vec<(u32, bool, bool)>,
}

/// The gazetteer shipped in `config/entities.toml`, compiled in: used when
/// the config names no file of its own.
static BUILTIN: LazyLock<Gazetteer> = LazyLock::new(|| {
    let parsed: Result<EntitiesFile, _> = toml::from_str(include_str!("../config/entities.toml"));
    match parsed.map_err(|e| e.to_string()).and_then(|f| {
        Gazetteer::from_entries(f.entity).map_err(|p| format!("{} problem(s), first: {:?}", p.len(), p.first()))
    }) {
        Ok(g) => g,
        Err(e) => {
            tracing::error!(error = %e, "the built-in gazetteer does not load: entities are not matched");
            Gazetteer::default()
        }
    }
});

/// Short names that fold to a common English word: not matched, as they
/// would fire in any English sentence.
const ENGLISH_WORDS: &[&str] = &[
    "us", "it", "in", "on", "at", "an", "as", "or", "be", "do", "go", "me", "my", "no", "so", "to", "up", "we", "he",
    "am", "is", "of",
];

fn is_latin(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// The gazetteer a configuration uses: the shipped one, compiled on first
/// use (a fetch never needs it), or one loaded and checked from a file.
#[derive(Debug, Clone, Default)]
pub enum Entities {
    /// [`Gazetteer::builtin`].
    #[default]
    Builtin,
    /// From the config's `[entities] file`.
    File(std::sync::Arc<Gazetteer>),
}

impl std::ops::Deref for Entities {
    type Target = Gazetteer;

    fn deref(&self) -> &Gazetteer {
        match self {
            Entities::Builtin => Gazetteer::builtin(),
            Entities::File(g) => g,
        }
    }
}

impl Gazetteer {
    /// The shipped gazetteer.
    pub fn builtin() -> &'static Gazetteer {
        &BUILTIN
    }

    /// Builds the gazetteer, or lists every problem: empty or malformed
    /// ids, duplicate ids, entries without names, a name given to two ids,
    /// unknown parents, names too short to match safely.
    pub fn from_entries(entries: Vec<EntityEntry>) -> Result<Gazetteer, Vec<EntryProblem>> {
        let mut problems = Vec::new();
        let mut index: HashMap<&str, u32> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let well_formed = !e.id.is_empty()
                && e.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
            if !well_formed {
                problems.push(EntryProblem {
                    index: i,
                    key: "id",
                    message: format!("`{}`: ids are lower-case letters, digits, `-` and `.`", e.id),
                });
            } else if index.insert(&e.id, i as u32).is_some() {
                problems.push(EntryProblem { index: i, key: "id", message: format!("duplicate id `{}`", e.id) });
            }
        }
        let mut names: HashMap<String, &str> = HashMap::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut meta = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            if e.names.iter().all(|n| n.trim().is_empty()) {
                problems.push(EntryProblem { index: i, key: "names", message: format!("`{}` has no names", e.id) });
            }
            for name in &e.names {
                let folded = fold(name);
                let chars = folded.chars().count();
                if folded.is_empty() {
                    continue;
                }
                if ENGLISH_WORDS.contains(&folded.as_str()) {
                    // "US" the country is "us" the pronoun once folded.
                    continue;
                }
                if chars < 2 {
                    problems.push(EntryProblem {
                        index: i,
                        key: "names",
                        message: format!("`{}`: name `{name}` is too short to match safely", e.id),
                    });
                    continue;
                }
                match names.get(&folded) {
                    Some(other) if *other != e.id.as_str() => problems.push(EntryProblem {
                        index: i,
                        key: "names",
                        message: format!("name `{name}` of `{}` is already a name of `{other}`", e.id),
                    }),
                    Some(_) => {}
                    None => {
                        names.insert(folded.clone(), &e.id);
                        let starts = folded.starts_with(is_latin);
                        let ends = folded.ends_with(is_latin);
                        meta.push((i as u32, starts, ends));
                        patterns.push(folded);
                    }
                }
            }
            if let Some(w) = e.weight
                && !(w.is_finite() && (0.0..=10.0).contains(&w))
            {
                problems.push(EntryProblem {
                    index: i,
                    key: "weight",
                    message: format!("`{}`: weight must be a number from 0 to 10", e.id),
                });
            }
            if let Some(parent) = &e.parent
                && !index.contains_key(parent.as_str())
            {
                problems.push(EntryProblem {
                    index: i,
                    key: "parent",
                    message: format!("`{}`: parent `{parent}` is not an id in the file", e.id),
                });
            }
        }
        // A parent chain must end: a → b → a would make an actor its own parent.
        for (i, e) in entries.iter().enumerate() {
            let mut seen = vec![i];
            let mut cur = e.parent.as_deref().and_then(|p| index.get(p).copied());
            while let Some(p) = cur {
                if seen.contains(&(p as usize)) {
                    problems.push(EntryProblem {
                        index: i,
                        key: "parent",
                        message: format!("`{}`: its parents lead back to itself", e.id),
                    });
                    break;
                }
                seen.push(p as usize);
                cur = entries[p as usize].parent.as_deref().and_then(|q| index.get(q).copied());
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let entities = entries
            .iter()
            .map(|e| Entity {
                id: e.id.clone(),
                kind: e.kind,
                country: e.country.clone(),
                label: e.names.iter().find(|n| !n.trim().is_empty()).cloned().unwrap_or_default(),
                parent: e.parent.as_deref().and_then(|p| index.get(p).copied()),
                weight: e.weight.unwrap_or(1.0),
            })
            .collect();
        let matcher = if patterns.is_empty() {
            None
        } else {
            match AhoCorasickBuilder::new().match_kind(MatchKind::LeftmostLongest).build(&patterns) {
                Ok(m) => Some(m),
                Err(e) => {
                    return Err(vec![EntryProblem {
                        index: 0,
                        key: "names",
                        message: format!("the names cannot be matched together: {e}"),
                    }]);
                }
            }
        };
        Ok(Gazetteer { entities, matcher, patterns: meta })
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// The entry behind an index from a [`Mention`].
    pub fn entity(&self, i: u32) -> Option<&Entity> {
        self.entities.get(i as usize)
    }

    /// The entry with this id.
    pub fn by_id(&self, id: &str) -> Option<u32> {
        self.entities.iter().position(|e| e.id == id).map(|i| i as u32)
    }

    /// The topmost parent of an entry (itself when it has none).
    pub fn root(&self, i: u32) -> u32 {
        let (mut cur, mut steps) = (i, 0);
        while let Some(p) = self.entity(cur).and_then(|e| e.parent) {
            steps += 1;
            if steps > 8 {
                break;
            }
            cur = p;
        }
        cur
    }

    /// The entry and its parents, nearest first (a cycle stops the walk).
    pub fn lineage(&self, i: u32) -> Vec<u32> {
        let mut out = vec![i];
        let mut cur = self.entity(i).and_then(|e| e.parent);
        while let Some(p) = cur {
            if out.contains(&p) || out.len() > 8 {
                break;
            }
            out.push(p);
            cur = self.entity(p).and_then(|e| e.parent);
        }
        out
    }

    /// Names found in `folded` text, leftmost-longest, never overlapping;
    /// Latin names only as whole words.
    pub fn find(&self, folded: &str) -> Vec<Mention> {
        let Some(matcher) = &self.matcher else { return Vec::new() };
        let bytes = folded.as_bytes();
        // Leftmost-longest: the longest name wins (Qwen2.5-Omni over Qwen).
        // A Latin name glued to other letters (Kimi in Kimiko) is dropped;
        // a shorter name inside it is not looked for, which costs nothing
        // real: names are not spelled inside longer Latin words.
        matcher
            .find_iter(folded)
            .filter(|m| {
                let (_, starts, ends) = self.patterns[m.pattern().as_usize()];
                let before_ok = !starts || m.start() == 0 || !is_latin(bytes[m.start() - 1] as char);
                // A version goes on after a dot: GPT-4 is not inside GPT-4.5.
                let after_ok = !ends
                    || match bytes.get(m.end()..) {
                        Some([]) | None => true,
                        Some([b'.', d, ..]) => !d.is_ascii_digit(),
                        Some([c, ..]) => !is_latin(*c as char),
                    };
                before_ok && after_ok
            })
            .map(|m| Mention { entity: self.patterns[m.pattern().as_usize()].0, start: m.start(), end: m.end() })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, kind: EntityKind, names: &[&str], parent: Option<&str>) -> EntityEntry {
        EntityEntry {
            id: id.into(),
            kind,
            country: None,
            names: names.iter().map(|s| s.to_string()).collect(),
            parent: parent.map(String::from),
            weight: None,
        }
    }

    fn small() -> Gazetteer {
        Gazetteer::from_entries(vec![
            entry("nvidia", EntityKind::Company, &["英伟达", "輝達", "NVIDIA", "NVDA"], None),
            entry("h20", EntityKind::Product, &["H20"], Some("nvidia")),
            entry("moonshot", EntityKind::Company, &["月之暗面", "Moonshot AI", "Kimi"], None),
            entry("arm", EntityKind::Company, &["Arm", "安谋"], None),
            entry("qwen", EntityKind::Product, &["通义千问", "Qwen"], None),
            entry("qwen2.5-omni", EntityKind::Product, &["Qwen2.5-Omni"], Some("qwen")),
        ])
        .unwrap()
    }

    fn ids(g: &Gazetteer, text: &str) -> Vec<String> {
        g.find(&fold(text)).iter().map(|m| g.entity(m.entity).unwrap().id.clone()).collect()
    }

    #[test]
    fn one_actor_across_languages_and_scripts() {
        let g = small();
        assert_eq!(ids(&g, "英伟达H20恢复对华销售"), ["nvidia", "h20"]);
        assert_eq!(ids(&g, "輝達H20晶片"), ["nvidia", "h20"]);
        assert_eq!(ids(&g, "Nvidia's H20 returns"), ["nvidia", "h20"]);
        assert_eq!(ids(&g, "NVDA shares"), ["nvidia"]);
        assert_eq!(ids(&g, "阿里发布Qwen2.5-Omni"), ["qwen2.5-omni"], "the longest name wins");
        assert_eq!(g.lineage(g.by_id("qwen2.5-omni").unwrap()).len(), 2);
    }

    #[test]
    fn latin_names_only_as_whole_words() {
        let g = small();
        assert_eq!(ids(&g, "Kimiko visits the army"), Vec::<String>::new());
        assert_eq!(ids(&g, "Qwen2.5 and Qwen."), ["qwen"], "a version goes on after a dot; a full stop ends a name");
        assert_eq!(ids(&g, "Kimi与Arm合作"), ["moonshot", "arm"]);
        assert_eq!(ids(&g, "Moonshot AI's Kimi"), ["moonshot", "moonshot"]);
    }

    #[test]
    fn problems_are_listed_by_entry_and_key() {
        let problems = Gazetteer::from_entries(vec![
            entry("a", EntityKind::Company, &["甲公司"], None),
            entry("a", EntityKind::Company, &["乙公司"], None),
            entry("Bad Id", EntityKind::Company, &["丙公司"], None),
            entry("c", EntityKind::Company, &[], None),
            entry("d", EntityKind::Company, &["甲公司", "X"], Some("nowhere")),
        ])
        .unwrap_err();
        let cycle = Gazetteer::from_entries(vec![
            entry("a", EntityKind::Company, &["甲公司"], Some("b")),
            entry("b", EntityKind::Company, &["乙公司"], Some("a")),
        ])
        .unwrap_err();
        assert_eq!(cycle.len(), 2);
        assert!(cycle[0].message.contains("lead back to itself"), "{cycle:?}");
        let keys: Vec<(usize, &str)> = problems.iter().map(|p| (p.index, p.key)).collect();
        assert_eq!(keys, [(1, "id"), (2, "id"), (3, "names"), (4, "names"), (4, "names"), (4, "parent")]);
        assert!(problems[3].message.contains("already a name of `a`"), "{:?}", problems[3]);
    }

    #[test]
    fn the_shipped_gazetteer_loads() {
        let text = include_str!("../config/entities.toml");
        let file: EntitiesFile = toml::from_str(text).unwrap();
        let g = Gazetteer::from_entries(file.entity).unwrap();
        assert!(g.len() >= 300, "{} entries", g.len());
        assert_eq!(Gazetteer::builtin().len(), g.len());
    }
}
