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
//! features and from prefix filtering over headline shingles, so cost
//! stays near-linear in the number of items. Copies of one headline (a
//! couple of characters apart, same figures) join outright; pairs whose
//! cosine similarity reaches the threshold join strongest first while the
//! groups stay alike on average (see [`cluster`]).
//!
//! Names of the gazetteer ([`crate::entities`]) become one feature per
//! actor whatever the language or script (英伟达, 輝達 and NVIDIA are one),
//! and reports in different languages or scripts, which share few words,
//! join on the evidence they share ([`evidence`]): actors, figures in one
//! notation, unusual Latin tokens, topic words. Headlines naming different
//! actors never join, however alike their words.

pub mod evidence;

use std::collections::HashMap;

use crate::entities::{EntityKind, Gazetteer, Mention};
use crate::fold::{fold_normalized, is_han, normalize, normalize_and_tell, strip_boilerplate};
use evidence::{Profile, Script, Shared, Veto, Weights, shared, veto_kind, veto_kind_with_figures};

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
    /// Weighted headline Jaccard from which two items are copies of one
    /// headline reworded.
    pub copy_threshold: f64,
    /// Headlines this many characters apart (or fewer) are copies, when
    /// they state the same figures and are long enough
    /// ([`Params::copy_min_chars`]) for so few edits to be no coincidence.
    pub copy_edits: usize,
    /// Headlines shorter than this ("AI早报") are never copies: the same
    /// few words say nothing about the story.
    pub copy_min_chars: usize,
    /// How many characters of the text (after the title) are compared.
    pub lead_chars: usize,
    /// How much a headline feature counts against one from the text.
    pub title_weight: f64,
    /// IDF is raised to this power: above 1, shared common words fade faster.
    pub idf_power: f64,
    /// Similarity is multiplied by this when the headlines carry different
    /// figures (80亿元 vs 39亿元) that the other item never mentions.
    pub figure_conflict: f64,
    /// Similarity is multiplied by this when the two items state two or
    /// more of the same figures (92.7 and 89.2; 80亿元 and 30%), in any notation.
    pub figure_agreement: f64,
    /// Weight of a Latin word (a name, a model, a figure) against one Chinese bigram.
    pub latin_weight: f64,
    /// Two groups joined by a pair alike in text merge only when the mean
    /// similarity across them reaches this share of `threshold`.
    pub group_link: f64,
    /// Evidence score ([`evidence::shared`]) from which reports in
    /// different languages or scripts are one story.
    pub cross_threshold: f64,
    /// Weights of that evidence.
    pub weights: Weights,
    /// A report in another language or script joins a story that already
    /// has one in its script only when those reports, across the two
    /// sides, reach this share of `threshold` in text similarity.
    pub bridge_link: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            threshold: 0.16,
            copy_threshold: 0.8,
            copy_edits: 2,
            copy_min_chars: 10,
            lead_chars: 300,
            title_weight: 1.0,
            idf_power: 1.5,
            figure_conflict: 0.6,
            figure_agreement: 1.25,
            latin_weight: 3.0,
            group_link: 0.75,
            cross_threshold: 2.0,
            weights: Weights::default(),
            bridge_link: 0.5,
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

/// Features of a text: one per named entity (whatever name or script it
/// was written in), then Han bigrams and Latin/digit words of the rest.
fn features(folded: &str, mentions: &[Mention], weight: f64, latin: f64, out: &mut HashMap<String, f64>) {
    let masked;
    let folded = if mentions.is_empty() {
        folded
    } else {
        let mut text = folded.to_string();
        for m in mentions {
            // As much as the name's own words would have counted: a Latin
            // name as one Latin word, a Chinese one as its bigrams.
            let name = &folded[m.start..m.end];
            let han = name.chars().filter(|c| is_han(*c)).count();
            let w = if han >= 2 { (han - 1) as f64 } else { latin };
            *out.entry(format!("@{}", m.entity)).or_default() += weight * w;
            // Spaces of the same length keep the other offsets valid.
            text.replace_range(m.start..m.end, &" ".repeat(m.end - m.start));
        }
        masked = text;
        masked.as_str()
    };
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

fn doc_features(doc: &Prepared, gaz: &Gazetteer, p: &Params) -> HashMap<String, f64> {
    // Actors become one feature whatever their name; countries and topic
    // words stay words, as they are in every language's own text.
    let actors = |text: &str| -> Vec<Mention> {
        gaz.find(text)
            .into_iter()
            .filter(|m| {
                gaz.entity(m.entity).is_some_and(|e| !matches!(e.kind, EntityKind::Country | EntityKind::Topic))
            })
            .collect()
    };
    let mut f = HashMap::new();
    if let Some(text) = &doc.text {
        let [title, lead] = &**text;
        features(title, &actors(title), p.title_weight, p.latin_weight, &mut f);
        features(lead, &actors(lead), 1.0, p.latin_weight, &mut f);
    }
    f
}

/// A report folded once for every comparison: undecorated headline and
/// lead as [`fold`] gives them, and its [`Profile`].
struct Prepared {
    /// Folded headline and lead, kept only when the day has text to compare.
    text: Option<Box<[String; 2]>>,
    profile: Profile,
}

/// A day's docs as every comparison needs them.
struct Day {
    docs: Vec<Prepared>,
    headlines: Vec<Headline>,
    shingles: Shingles,
}

/// Days with at least this many docs are prepared on several threads, in
/// batches of this many.
const PARALLEL_FROM: usize = 4096;

/// What preparing one doc yields before shingle ids are assigned.
struct Folded {
    prepared: Prepared,
    /// Hashed headline shingles ([`headline_shingles`]).
    shingles: Vec<u64>,
    headline: Headline,
}

/// `f` over `items` on `threads` threads (in order), or on this one.
fn map_on<T: Sync, U: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    if threads <= 1 || items.len() < 2 {
        return items.iter().map(f).collect();
    }
    let f = &f;
    let mut out = Vec::with_capacity(items.len());
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(items.len().div_ceil(threads))
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<U>>()))
            .collect();
        for worker in workers {
            match worker.join() {
                Ok(part) => out.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    out
}

impl Prepared {
    /// Every doc of a day, with [`Profile`]s as full as the day needs and
    /// their headlines for copy detection. The folded text is kept only
    /// when some doc has text to compare (TF-IDF needs it). Large days are
    /// folded on every core: each doc's folding is independent, and it is
    /// most of the clustering's time.
    fn all(docs: &[Doc<'_>], gaz: &Gazetteer, p: &Params, names: bool) -> Day {
        let threads = if docs.len() >= PARALLEL_FROM {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
        } else {
            1
        };
        let any_text = docs.iter().any(|d| !d.text.trim().is_empty());
        // Whether the day mixes scripts decides how full profiles are, so
        // the scripts come first.
        let scripts: Vec<Script> = map_on(docs, threads, |d| {
            let (normal, traditional) = normalize_and_tell(&strip_boilerplate(d.title));
            Script::from_parts(&normal, traditional)
        });
        let evidence = any_text || scripts.windows(2).any(|w| w[0] != w[1]);
        drop(scripts);
        let one = |doc: &Doc<'_>| -> Folded {
            let (normal_title, traditional) = normalize_and_tell(&strip_boilerplate(doc.title));
            let script = Script::from_parts(&normal_title, traditional);
            let title = fold_normalized(&normal_title);
            let (headline, shingles) = Headline::new(&title);
            let raw_lead: String = doc.text.chars().take(p.lead_chars).collect();
            let normal_lead = normalize(&raw_lead);
            let lead = fold_normalized(&normal_lead);
            let title_pair = [normal_title.as_str(), title.as_str()];
            let profile = Profile::build(gaz, script, title_pair, [&normal_lead, &lead], evidence, names);
            let prepared = Prepared { text: any_text.then(|| Box::new([title, lead])), profile };
            Folded { prepared, shingles, headline }
        };
        let mut shingles = Shingles::default();
        let mut headlines = Vec::with_capacity(docs.len());
        let mut prepared = Vec::with_capacity(docs.len());
        // In batches, so that the hashed shingles waiting for their ids
        // never pile up for the whole day.
        for batch in docs.chunks(PARALLEL_FROM) {
            for f in map_on(batch, threads, one) {
                let mut ids: Vec<u32> = f.shingles.into_iter().map(|h| shingles.id(h)).collect();
                ids.sort_unstable();
                headlines.push(Headline { shingles: ids.into(), ..f.headline });
                prepared.push(f.prepared);
            }
        }
        shingles.weigh(docs.len());
        Day { docs: prepared, headlines, shingles }
    }
}

/// Sparse unit vectors of the docs, by feature id.
fn vectors(docs: &[Prepared], gaz: &Gazetteer, p: &Params) -> (Vec<Vec<(u32, f64)>>, Vec<usize>) {
    let mut ids: HashMap<String, u32> = HashMap::new();
    let raw: Vec<Vec<(u32, f64)>> = docs
        .iter()
        .map(|d| {
            let mut v: Vec<(u32, f64)> = doc_features(d, gaz, p)
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

/// The numbers of folded text that are not years, as written.
fn numbers(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .map(|n| n.trim_matches('.'))
        .filter(|n| !n.is_empty() && !(n.len() == 4 && (n.starts_with("19") || n.starts_with("20"))))
}

/// How many of a headline's rarest shingles index it. Two headlines
/// whose shingle sets differ by at most `PREFIX - 2` on each side share
/// the two rarest of their common shingles, and both sit in each one's
/// prefix (prefix filtering): so every pair of prefix shingles is a key,
/// and copies two edits apart always meet under one.
const PREFIX: usize = 6;
/// A key shared by more headlines than this is a template, not a story:
/// it generates no pairs.
const MAX_KEY_POSTING: usize = 32;

/// Edits (characters changed, inserted or removed) between two
/// headlines, when there are at most `k`: a banded Levenshtein distance.
#[cfg(test)]
fn edits_within(a: &[char], b: &[char], k: usize) -> Option<usize> {
    edits_within_using(a, b, k, &mut (Vec::new(), Vec::new()))
}

/// [`edits_within`] with the two DP rows supplied, so a loop over many
/// pairs allocates them once.
fn edits_within_using(a: &[char], b: &[char], k: usize, rows: &mut (Vec<usize>, Vec<usize>)) -> Option<usize> {
    if a.len().abs_diff(b.len()) > k {
        return None;
    }
    let far = k + 1;
    let (prev, cur) = rows;
    prev.clear();
    prev.extend((0..=b.len()).map(|j| j.min(far)));
    cur.clear();
    cur.resize(b.len() + 1, far);
    for i in 1..=a.len() {
        let lo = i.saturating_sub(k).max(1);
        let hi = (i + k).min(b.len());
        cur.fill(far);
        cur[0] = i.min(far);
        let mut best = cur[0];
        for j in lo..=hi {
            let substitute = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            let v = substitute.min(prev[j] + 1).min(cur[j - 1] + 1).min(far);
            cur[j] = v;
            best = best.min(v);
        }
        if best > k {
            return None;
        }
        std::mem::swap(prev, cur);
    }
    (prev[b.len()] <= k).then_some(prev[b.len()])
}

/// A headline as compared for copies: folded and undecorated.
struct Headline {
    /// Its text without spaces, for counting edits.
    text: Box<str>,
    /// How many characters `text` has.
    chars: usize,
    /// Shingle ids (see [`Shingles`]), sorted.
    shingles: Box<[u32]>,
    /// A hash of the figures it states; 0 when it states none.
    figures: u64,
}

impl Headline {
    /// `folded` is the undecorated headline as [`crate::fold::fold`] gives
    /// it. Its shingles come back hashed, to be given ids
    /// ([`Shingles::id`]) in doc order.
    fn new(folded: &str) -> (Headline, Vec<u64>) {
        let text: String = folded.chars().filter(|c| *c != ' ').collect();
        // A copy keeps its headline's numbers, whatever a typo did to the
        // words around them (186亿元 and 186将元 are one figure here).
        let figures = numbers(folded)
            .fold(0u64, |acc, n| mix(acc ^ n.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| mix(h ^ u64::from(b)))));
        let headline = Headline { chars: text.chars().count(), text: text.into(), shingles: Box::new([]), figures };
        (headline, headline_shingles(folded))
    }
}

/// Every distinct headline shingle gets a small id; its weight is its IDF
/// over the headlines.
#[derive(Default)]
struct Shingles {
    ids: HashMap<u64, u32>,
    df: Vec<u32>,
    weight: Vec<f32>,
}

impl Shingles {
    fn id(&mut self, hash: u64) -> u32 {
        let next = self.df.len() as u32;
        let id = *self.ids.entry(hash).or_insert(next);
        if id == next {
            self.df.push(0);
        }
        self.df[id as usize] += 1;
        id
    }

    /// Turns document frequencies into IDF weights, once all headlines are in.
    fn weigh(&mut self, docs: usize) {
        self.ids = HashMap::new();
        let n = docs as f64;
        self.weight = self.df.iter().map(|d| ((n + 1.0) / f64::from(*d)).ln().max(0.01) as f32).collect();
    }
}

/// Hashed shingles of a headline, folded and undecorated: bigrams of
/// adjacent Chinese characters (punctuation and spaces between them
/// ignored) and whole Latin/digit words. What a copy edited by one or two
/// characters mostly keeps.
fn headline_shingles(folded: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let mut prev_han: Option<char> = None;
    let mut lone_han: Option<char> = None;
    for word in folded.split(' ') {
        let mut latin = String::new();
        for c in word.chars().chain([' ']) {
            if is_han(c) {
                if let Some(p) = prev_han {
                    out.push(mix(((p as u64) << 32) | c as u64));
                    lone_han = None;
                } else if out.is_empty() {
                    lone_han = Some(c);
                }
                prev_han = Some(c);
            } else if c != ' ' {
                prev_han = None;
                latin.push(c);
            }
            if (c == ' ' || is_han(c)) && !latin.is_empty() {
                let w = latin.trim_matches(|c: char| matches!(c, '.' | '-' | '+' | '#'));
                if !w.is_empty() {
                    let h =
                        w.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01B3));
                    out.push(mix(h ^ 0x5A5A));
                }
                latin.clear();
            }
        }
    }
    if out.is_empty()
        && let Some(c) = lone_han
    {
        out.push(mix(c as u64));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Weighted Jaccard similarity of two headlines' shingle sets (sorted
/// ids, each shingle weighted by its IDF): shared template words weigh
/// little, shared names and figures much.
fn weighted_jaccard(a: &[u32], b: &[u32], weight: &[f32]) -> f64 {
    let w = |id: u32| f64::from(weight[id as usize]);
    let (mut i, mut j, mut shared, mut union) = (0, 0, 0.0f64, 0.0f64);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                union += w(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                union += w(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                shared += w(a[i]);
                union += w(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    union += a[i..].iter().chain(&b[j..]).map(|x| w(*x)).sum::<f64>();
    if union > 0.0 { shared / union } else { 0.0 }
}

/// A 64-bit finalizer (SplitMix64's): spreads nearby keys over all bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Index of headlines by pairs of their [`PREFIX`] rarest shingles:
/// two headlines whose shingle sets differ by at most four on each side
/// always share a key, whatever the corpus size, so no pair of headlines
/// needs comparing unless it does. Shingles no other headline has cannot
/// be shared and are left out first. Keys are 32-bit hashes: a collision
/// only adds a candidate, which is checked anyway.
struct PrefixIndex<'a> {
    /// (key, headline), sorted.
    entries: Vec<(u32, u32)>,
    /// Where the keys with each top 16 bits start in `entries`: a key's
    /// group is found with a short search inside its bucket, and nothing
    /// per slot is kept beside the entries (they are most of the
    /// clustering's memory).
    buckets: Vec<u32>,
    headlines: &'a [Headline],
    df: &'a [u32],
    skip: &'a [bool],
}

impl<'a> PrefixIndex<'a> {
    /// Indexes the headlines not marked in `skip`.
    fn new(headlines: &'a [Headline], df: &'a [u32], skip: &'a [bool]) -> PrefixIndex<'a> {
        let per = PREFIX * (PREFIX - 1) / 2;
        let mut entries: Vec<(u32, u32)> = Vec::with_capacity(headlines.len() * per);
        let mut keys = Vec::with_capacity(per);
        for (i, h) in headlines.iter().enumerate() {
            if skip[i] {
                continue;
            }
            prefix_keys(h, df, &mut keys);
            entries.extend(keys.iter().map(|k| (*k, i as u32)));
        }
        entries.sort_unstable();
        let mut buckets = vec![0u32; (1 << 16) + 1];
        for (key, _) in &entries {
            buckets[(key >> 16) as usize + 1] += 1;
        }
        for b in 1..buckets.len() {
            buckets[b] += buckets[b - 1];
        }
        PrefixIndex { entries, buckets, headlines, df, skip }
    }

    /// Headlines after `i` sharing a key with it, unsorted, with repeats.
    fn partners(&self, i: usize, keys: &mut Vec<u32>, out: &mut Vec<u32>) {
        if self.skip[i] {
            return;
        }
        prefix_keys(&self.headlines[i], self.df, keys);
        for &key in keys.iter() {
            let b = (key >> 16) as usize;
            let bucket = &self.entries[self.buckets[b] as usize..self.buckets[b + 1] as usize];
            let from = bucket.partition_point(|e| e.0 < key);
            let group = &bucket[from..bucket.len().min(from + MAX_KEY_POSTING + 1)];
            let len = group.iter().take_while(|e| e.0 == key).count();
            if len <= MAX_KEY_POSTING {
                out.extend(group[..len].iter().map(|e| e.1).filter(|j| *j as usize > i));
            }
        }
    }
}

/// The keys a headline is indexed under: every pair of its [`PREFIX`]
/// rarest shingles that some other headline has too, hashed to 32 bits.
fn prefix_keys(h: &Headline, df: &[u32], keys: &mut Vec<u32>) {
    let mut order: Vec<u32> = h.shingles.iter().copied().filter(|s| df[*s as usize] > 1).collect();
    order.sort_unstable_by_key(|s| (df[*s as usize], *s));
    order.truncate(PREFIX);
    keys.clear();
    for (x, a) in order.iter().enumerate() {
        for b in &order[x + 1..] {
            keys.push((mix((u64::from(*a) << 32) | u64::from(*b)) >> 32) as u32);
        }
    }
}

/// How alike two items are.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub a: usize,
    pub b: usize,
    /// TF-IDF cosine of headline and lead; `None` when neither item has
    /// text: a headline alone is too short for chance overlaps of rare
    /// words to mean the same story.
    pub cosine: Option<f64>,
    /// IDF-weighted Jaccard similarity of the two headlines' shingles, 0
    /// when they state different figures or either is too short to tell
    /// ([`Params::copy_min_chars`]): one headline copied by several
    /// outlets scores high, two headlines of one template do not.
    pub headline: f64,
    /// Characters changed, inserted or removed between the two headlines
    /// (outlet decoration and punctuation aside), when at most
    /// [`Params::copy_edits`] and the figures agree.
    pub edits: Option<usize>,
    /// For reports in different languages or scripts: the evidence they share.
    pub shared: Option<Box<Shared>>,
    /// Why the two are not one story whatever else they share: their
    /// headlines name different actors (or, across languages, state
    /// different figures of one kind). What each names is filled in by
    /// [`similar_pairs`] and [`explain`]; [`cluster`] only needs the kind.
    pub veto: Option<Veto>,
}

impl Pair {
    /// Whether the pair's own evidence makes the two items one story.
    pub fn joins(&self, p: &Params) -> bool {
        self.veto.is_none() && (self.is_copy(p) || self.by_text(p) || self.across(p))
    }

    fn is_copy(&self, p: &Params) -> bool {
        self.edits.is_some() || self.headline >= p.copy_threshold
    }

    fn by_text(&self, p: &Params) -> bool {
        self.cosine.is_some_and(|c| c >= p.threshold)
    }

    fn across(&self, p: &Params) -> bool {
        self.shared
            .as_ref()
            .is_some_and(|s| s.actor && s.score >= p.cross_threshold && s.support >= p.weights.min_support)
    }

    /// Whether the pair came near joining: worth showing an editor.
    fn near(&self, p: &Params) -> bool {
        self.edits.is_some()
            || self.headline >= p.copy_threshold * 0.6
            || self.cosine.is_some_and(|c| c >= p.threshold * 0.6)
            || self.shared.as_ref().is_some_and(|s| s.score >= p.cross_threshold * 0.6)
    }
}

/// Similarity of every candidate pair (a < b), for inspection and tests.
///
/// Candidates come three ways: items sharing a rarer feature (a name, a
/// model, an uncommon bigram), which finds the same story told in other
/// words; prefix filtering over headline shingles, which finds copies of
/// one headline even when most words in it are common across the corpus;
/// and, for reports in different languages or scripts, a name both mention.
pub fn similar_pairs(docs: &[Doc<'_>], p: &Params, gaz: &Gazetteer) -> Vec<Pair> {
    let mut out = Vec::new();
    let day = Prepared::all(docs, gaz, p, true);
    each_pair(docs, &day, gaz, p, true, |pair| out.push(pair));
    out
}

/// Calls `f` with every candidate pair once, without holding them all;
/// returns the docs' TF-IDF vectors (empty when no doc has text).
fn each_pair(
    docs: &[Doc<'_>],
    day: &Day,
    gaz: &Gazetteer,
    p: &Params,
    detail: bool,
    mut f: impl FnMut(Pair),
) -> Vec<Vec<(u32, f64)>> {
    let (prepared, headlines, shingles) = (&day.docs, &day.headlines, &day.shingles);
    // Identical headlines (long enough to mean something) pair with their
    // first occurrence only, and only that one is indexed: a headline
    // syndicated a hundred times costs a hundred pairs, not five thousand.
    let mut first: HashMap<&str, u32> = HashMap::new();
    let mut copies: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut skip = vec![false; docs.len()];
    for (i, h) in headlines.iter().enumerate() {
        if h.chars >= p.copy_min_chars {
            let rep = *first.entry(&h.text).or_insert(i as u32);
            if rep != i as u32 {
                copies.entry(rep).or_default().push(i as u32);
                skip[i] = true;
            }
        }
    }
    drop(first);
    let index = PrefixIndex::new(headlines, &shingles.df, &skip);
    // Headline-only items are compared only as copies (see `Pair::cosine`):
    // without any text there is no cosine to compute.
    let any_text = docs.iter().any(|d| !d.text.trim().is_empty());
    let (vecs, df) = if any_text { vectors(prepared, gaz, p) } else { (Vec::new(), Vec::new()) };
    // Features shared by many items say nothing about which event; they do
    // not generate candidates (they still count in the similarity). A fixed
    // cap keeps the candidate pairs near-linear in the number of items.
    let mut postings: HashMap<u32, Vec<u32>> = HashMap::new();
    for (i, v) in vecs.iter().enumerate() {
        for (id, _) in v {
            if df[*id as usize] <= MAX_POSTING {
                postings.entry(*id).or_default().push(i as u32);
            }
        }
    }
    // Across languages and scripts: reports naming one actor, by script.
    // Only a day with more than one script pays for this.
    let mut scripts: Vec<Script> = prepared.iter().filter_map(|d| d.profile.script).collect();
    scripts.sort_unstable();
    scripts.dedup();
    let mut named: HashMap<(u32, Script), Vec<u32>> = HashMap::new();
    if scripts.len() > 1 {
        for (i, d) in prepared.iter().enumerate() {
            let Some(script) = d.profile.script else { continue };
            for id in &d.profile.ev().named {
                named.entry((*id, script)).or_default().push(i as u32);
            }
        }
        named.retain(|_, list| list.len() <= MAX_POSTING * 4);
    }
    let (mut partners, mut chars_a, mut chars_b, mut keys) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut rows = (Vec::new(), Vec::new());
    for a in 0..docs.len() {
        partners.clear();
        index.partners(a, &mut keys, &mut partners);
        if let Some(same) = copies.get(&(a as u32)) {
            partners.extend(same);
        }
        if let Some(v) = vecs.get(a) {
            for (id, _) in v {
                if let Some(list) = postings.get(id) {
                    partners.extend(list.iter().filter(|j| **j as usize > a));
                }
            }
        }
        let pa = &prepared[a].profile;
        if !named.is_empty() {
            for id in &pa.ev().named {
                for script in scripts.iter().filter(|s| Some(**s) != pa.script) {
                    if let Some(list) = named.get(&(*id, *script)) {
                        partners.extend(list.iter().filter(|j| **j as usize > a));
                    }
                }
            }
        }
        partners.sort_unstable();
        partners.dedup();
        let ha = &headlines[a];
        chars_a.clear();
        chars_a.extend(ha.text.chars());
        for &b in &partners {
            let b = b as usize;
            let pb = &prepared[b].profile;
            let has_text = !docs[a].text.trim().is_empty() || !docs[b].text.trim().is_empty();
            let cosine = (has_text && any_text).then(|| {
                let c = cosine(&vecs[a], &vecs[b]);
                let (ea, eb) = (pa.ev(), pb.ev());
                if crate::figures::conflict(&ea.title_figures, &ea.figures, &eb.title_figures, &eb.figures) {
                    c * p.figure_conflict
                } else if agreeing_figures(pa, pb) >= 2 {
                    c * p.figure_agreement
                } else {
                    c
                }
            });
            // A copy keeps its headline's figures: different ones are other news.
            let hb = &headlines[b];
            let same_figures = ha.figures == 0 || hb.figures == 0 || ha.figures == hb.figures;
            let long_enough = ha.chars.min(hb.chars) >= p.copy_min_chars;
            let headline = if same_figures && long_enough {
                weighted_jaccard(&ha.shingles, &hb.shingles, &shingles.weight)
            } else {
                0.0
            };
            let edits = if same_figures && long_enough && ha.chars.abs_diff(hb.chars) <= p.copy_edits {
                chars_b.clear();
                chars_b.extend(hb.text.chars());
                edits_within_using(&chars_a, &chars_b, p.copy_edits, &mut rows)
            } else {
                None
            };
            let across = pa.script != pb.script;
            let shared = across.then(|| Box::new(shared(gaz, pa, pb, &p.weights)));
            let mut pair = Pair { a, b, cosine, headline, edits, shared, veto: None };
            // Only a pair that would join (or, explaining, came near) needs
            // the veto: most candidates do not, and this is the hot loop.
            if detail || pair.is_copy(p) || pair.by_text(p) || pair.across(p) {
                let kind = if across { veto_kind_with_figures(pa, pb) } else { veto_kind(pa, pb) };
                pair.veto = if detail { kind.map(|k| k.detail(pa, pb)) } else { kind };
            }
            f(pair);
        }
    }
    vecs
}

/// Figures two items both state, dates and small plain numbers aside.
fn agreeing_figures(a: &Profile, b: &Profile) -> usize {
    use crate::figures::Unit;
    let (a, b) = (a.ev(), b.ev());
    a.figures
        .iter()
        .filter(|f| f.unit != Unit::Date && (f.unit != Unit::Plain || f.value >= 10.0))
        .filter(|f| b.figures.iter().any(|g| f.same(g)))
        .count()
}

/// Why two items are one story.
#[derive(Debug, Clone, PartialEq)]
pub enum Evidence {
    /// Copies of one headline: this many characters apart.
    Copy { edits: usize },
    /// Copies of one headline reworded: weighted headline similarity.
    Headline(f64),
    /// Alike in headline and lead: TF-IDF cosine.
    Text(f64),
    /// In different languages or scripts, sharing this evidence.
    Across(Shared),
}

/// Why a pair that came near joining did not.
#[derive(Debug, Clone, PartialEq)]
pub enum Apart {
    /// Their headlines name different actors, places or figures.
    Vetoed(Veto),
    /// Their evidence fell short of the threshold.
    TooWeak,
    /// Each is in a story the other's is not alike enough to (average link),
    /// or the stories' headlines name different actors.
    StoriesDiffer,
}

/// One decision about a pair: joined with its evidence, or kept apart and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub pair: Pair,
    pub joined: Option<Evidence>,
    pub apart: Option<Apart>,
}

/// Stories and, when asked for, the decisions that made them.
#[derive(Debug, Clone, Default)]
pub struct Clustering {
    /// Indices into the docs, ascending; groups ordered by first index.
    pub groups: Vec<Vec<usize>>,
    /// Every pair that joined and every near pair kept apart (only when
    /// explaining).
    pub links: Vec<Link>,
    /// Each doc's script.
    pub scripts: Vec<Option<Script>>,
}

/// Groups docs into stories: each group lists indices into `docs`, in
/// ascending order; groups are ordered by their first index.
///
/// Copies of a headline join first. Then pairs alike in text join,
/// strongest first, but only while the two groups stay alike on average
/// (average link, [`Params::group_link`]): a chain of items each a little
/// like the next (one financing round after another) does not become one
/// story of a hundred sources. Then reports in other languages or scripts
/// join the story they share the strongest evidence with. No pair whose
/// headlines name different actors joins, and stories whose headlines name
/// different organizations or places are not merged by text or across
/// languages (copies of one headline join pair by pair, before stories are
/// compared; unknown Latin names veto pairs only).
pub fn cluster(docs: &[Doc<'_>], p: &Params, gaz: &Gazetteer) -> Vec<Vec<usize>> {
    run(docs, p, gaz, false).groups
}

/// [`cluster`], keeping every decision for [`Clustering::links`].
pub fn explain(docs: &[Doc<'_>], p: &Params, gaz: &Gazetteer) -> Clustering {
    run(docs, p, gaz, true)
}

/// The actors a group's headlines name, for vetoing a merge of groups.
#[derive(Debug, Clone, Default)]
struct GroupActors(Profile);

impl GroupActors {
    fn of(p: &Profile) -> GroupActors {
        GroupActors(Profile {
            title_actors: p.title_actors.clone(),
            // A story's headlines may each lead with another of its actors.
            title_first: None,
            title_places: p.title_places.clone(),
            // Unknown Latin names veto pairs, not stories: a story gathers
            // many of them (2025AI, Multi-Agent) from headlines that agree.
            title_token_hashes: Vec::new(),
            script: p.script,
            evidence: None,
        })
    }

    fn absorb(&mut self, other: GroupActors) {
        for (mine, theirs) in
            [(&mut self.0.title_actors, other.0.title_actors), (&mut self.0.title_places, other.0.title_places)]
        {
            mine.extend(theirs);
            mine.sort_unstable();
            mine.dedup();
        }
    }
}

fn run(docs: &[Doc<'_>], p: &Params, gaz: &Gazetteer, explaining: bool) -> Clustering {
    let day = Prepared::all(docs, gaz, p, explaining);
    let prepared = &day.docs;
    let mut parent: Vec<usize> = (0..docs.len()).collect();
    let mut by_text: Vec<(f64, usize, usize)> = Vec::new();
    let mut across: Vec<(f64, usize, usize)> = Vec::new();
    let mut links: Vec<Link> = Vec::new();
    let mut pending: HashMap<(usize, usize), Pair> = HashMap::new();
    let vecs = each_pair(docs, &day, gaz, p, explaining, |pair| {
        let (a, b) = (pair.a, pair.b);
        let keep = |pair: Pair, pending: &mut HashMap<(usize, usize), Pair>| {
            if explaining {
                pending.insert((pair.a, pair.b), pair);
            }
        };
        if pair.veto.is_some() {
            if explaining && pair.near(p) {
                let veto = pair.veto.clone();
                links.push(Link { pair, joined: None, apart: veto.map(Apart::Vetoed) });
            }
        } else if pair.is_copy(p) {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
            }
            if explaining {
                let evidence = match pair.edits {
                    Some(edits) => Evidence::Copy { edits },
                    None => Evidence::Headline(pair.headline),
                };
                links.push(Link { pair, joined: Some(evidence), apart: None });
            }
        } else if pair.by_text(p) {
            by_text.push((pair.cosine.unwrap_or(0.0), a, b));
            // Across languages, the evidence may still join what the text
            // alone could not.
            if pair.across(p) {
                across.push((pair.shared.as_ref().map_or(0.0, |s| s.score), a, b));
            }
            keep(pair, &mut pending);
        } else if pair.across(p) {
            across.push((pair.shared.as_ref().map_or(0.0, |s| s.score), a, b));
            keep(pair, &mut pending);
        } else if explaining && pair.near(p) {
            links.push(Link { pair, joined: None, apart: Some(Apart::TooWeak) });
        }
    });
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut actors: HashMap<usize, GroupActors> = HashMap::new();
    if !by_text.is_empty() || !across.is_empty() {
        for (i, doc) in prepared.iter().enumerate() {
            let root = find(&mut parent, i);
            members.entry(root).or_default().push(i);
            let mine = GroupActors::of(&doc.profile);
            match actors.get_mut(&root) {
                Some(g) => g.absorb(mine),
                None => {
                    actors.insert(root, mine);
                }
            }
        }
    }
    let mut record =
        |pending: &mut HashMap<(usize, usize), Pair>, a: usize, b: usize, outcome: Result<Evidence, Apart>| {
            if let Some(pair) = pending.remove(&(a, b)) {
                let (joined, apart) = match outcome {
                    Ok(e) => (Some(e), None),
                    Err(x) => (None, Some(x)),
                };
                links.push(Link { pair, joined, apart });
            }
        };
    // Pairs that may still join across languages keep their record open.
    let second_chance: std::collections::HashSet<(usize, usize)> = across.iter().map(|(_, a, b)| (*a, *b)).collect();
    if !by_text.is_empty() {
        by_text.sort_by(|x, y| y.0.total_cmp(&x.0).then((x.1, x.2).cmp(&(y.1, y.2))));
        let mut centroids: HashMap<usize, HashMap<u32, f64>> = HashMap::new();
        for (c, a, b) in by_text {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra == rb {
                record(&mut pending, a, b, Ok(Evidence::Text(c)));
                continue;
            }
            if veto_kind(&actors[&ra].0, &actors[&rb].0).is_some() {
                if !second_chance.contains(&(a, b)) {
                    record(&mut pending, a, b, Err(Apart::StoriesDiffer));
                }
                continue;
            }
            for r in [ra, rb] {
                centroids.entry(r).or_insert_with(|| centroid(members.get(&r).map_or(&[][..], Vec::as_slice), &vecs));
            }
            // Average link: the mean similarity of every pair across the two
            // groups (the sums' dot product over the number of pairs).
            let (ca, cb) = (&centroids[&ra], &centroids[&rb]);
            let pairs = (members.get(&ra).map_or(1, Vec::len) * members.get(&rb).map_or(1, Vec::len)) as f64;
            if dot(ca, cb) / pairs < p.threshold * p.group_link {
                if !second_chance.contains(&(a, b)) {
                    record(&mut pending, a, b, Err(Apart::StoriesDiffer));
                }
                continue;
            }
            record(&mut pending, a, b, Ok(Evidence::Text(c)));
            let (keep, gone) = (ra.min(rb), ra.max(rb));
            merge(&mut parent, &mut members, &mut actors, keep, gone);
            if let Some(g) = centroids.remove(&gone) {
                let k = centroids.entry(keep).or_default();
                for (id, w) in g {
                    *k.entry(id).or_default() += w;
                }
            }
        }
    }
    if !across.is_empty() {
        // Strongest first; a story takes a report of another language or
        // script only while it has none of that script yet, so one report
        // cannot bridge two stories of its own language.
        across.sort_by(|x, y| y.0.total_cmp(&x.0).then((x.1, x.2).cmp(&(y.1, y.2))));
        let script_of = |i: usize| prepared[i].profile.script;
        for (_, a, b) in across {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            let shared_now = || pending.get(&(a, b)).and_then(|p| p.shared.as_deref().cloned()).unwrap_or_default();
            if ra == rb {
                let s = shared_now();
                record(&mut pending, a, b, Ok(Evidence::Across(s)));
                continue;
            }
            // Reports of one script on both sides must themselves be alike
            // (in text, with nothing vetoing them): then the report in the
            // other script joins what is one story told twice in one
            // language, not two stories it happens to touch.
            let same_script_apart = members[&ra].iter().any(|&x| {
                members[&rb].iter().any(|&y| {
                    script_of(x) == script_of(y)
                        && (vecs.is_empty()
                            || cosine(&vecs[x], &vecs[y]) < p.threshold * p.bridge_link
                            || veto_kind_with_figures(&prepared[x].profile, &prepared[y].profile).is_some())
                })
            });
            if same_script_apart || veto_kind(&actors[&ra].0, &actors[&rb].0).is_some() {
                record(&mut pending, a, b, Err(Apart::StoriesDiffer));
                continue;
            }
            let s = shared_now();
            record(&mut pending, a, b, Ok(Evidence::Across(s)));
            merge(&mut parent, &mut members, &mut actors, ra.min(rb), ra.max(rb));
        }
    }
    // Each root is its group's smallest index (unions keep the smaller), so
    // ordering by (root, index) lists the groups by first index.
    let mut order: Vec<(usize, usize)> = (0..docs.len()).map(|i| (find(&mut parent, i), i)).collect();
    order.sort_unstable();
    let groups = order.chunk_by(|x, y| x.0 == y.0).map(|g| g.iter().map(|(_, i)| *i).collect()).collect();
    Clustering { groups, links, scripts: prepared.iter().map(|d| d.profile.script).collect() }
}

/// Joins group `gone` into group `keep`.
fn merge(
    parent: &mut [usize],
    members: &mut HashMap<usize, Vec<usize>>,
    actors: &mut HashMap<usize, GroupActors>,
    keep: usize,
    gone: usize,
) {
    parent[gone] = keep;
    let moved = members.remove(&gone).unwrap_or_default();
    members.entry(keep).or_default().extend(moved);
    if let Some(g) = actors.remove(&gone) {
        actors.entry(keep).or_default().absorb(g);
    }
}

/// Sum of the members' unit vectors.
fn centroid(members: &[usize], vecs: &[Vec<(u32, f64)>]) -> HashMap<u32, f64> {
    let mut c = HashMap::new();
    for m in members {
        for (id, w) in vecs.get(*m).map_or(&[][..], Vec::as_slice) {
            *c.entry(*id).or_default() += w;
        }
    }
    c
}

fn dot(a: &HashMap<u32, f64>, b: &HashMap<u32, f64>) -> f64 {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    small.iter().map(|(id, w)| w * large.get(id).copied().unwrap_or(0.0)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_of_alike_items_does_not_become_one_story() {
        // Each financing item shares its round wording with the next, none is
        // the same company: single link would chain them all.
        let companies = ["智谱", "月之暗面", "百川智能", "阶跃星辰", "面壁智能", "零一万物", "MiniMax", "深度求索"];
        let texts: Vec<(String, String)> = companies
            .iter()
            .zip(companies.iter().cycle().skip(1))
            .enumerate()
            .map(|(i, (c, next))| {
                (format!("{c}完成新一轮融资"), format!("{c}宣布完成{}亿元融资，{next}此前也完成了融资。", i + 3))
            })
            .collect();
        let docs: Vec<Doc<'_>> = texts.iter().map(|(t, x)| Doc { title: t, text: x }).collect();
        let groups = cluster(&docs, &Params::default(), &Gazetteer::default());
        let largest = groups.iter().map(Vec::len).max().unwrap_or(0);
        assert!(largest <= 3, "{groups:?}");
    }

    #[test]
    fn edit_distance_is_bounded() {
        let c = |s: &str| s.chars().collect::<Vec<char>>();
        assert_eq!(edits_within(&c("智谱发布新一代大模型"), &c("智谱发布新一代大模型"), 2), Some(0));
        assert_eq!(edits_within(&c("智谱发布新一代大模型"), &c("智谱发布最新一代大模型"), 2), Some(1));
        assert_eq!(edits_within(&c("智谱发布新一代大模型"), &c("智谱推出新一代大模型"), 2), Some(2));
        assert_eq!(edits_within(&c("智谱发布新一代大模型"), &c("百度推出新一代大模型"), 2), None);
        assert_eq!(edits_within(&c("abc"), &c("abcdef"), 2), None);
        assert_eq!(edits_within(&c(""), &c("ab"), 2), Some(2));
    }

    #[test]
    fn copies_of_a_headline_join_other_news_of_the_template_does_not() {
        let docs = [
            Doc { title: "【36氪】面壁智能开源MiniCPM-5.0，推理速度提升35%", text: "" },
            Doc { title: "面壁智能开源MiniCPM-5.0 推理速度再提升35%｜量子位", text: "" },
            Doc { title: "面壁智能开源MiniCPM-5.0，推理速度提升80%", text: "" },
            Doc { title: "智谱开源GLM-4.5，推理速度提升35%", text: "" },
        ];
        assert_eq!(cluster(&docs, &Params::default(), &Gazetteer::default()), vec![vec![0, 1], vec![2], vec![3]]);
    }

    #[test]
    fn a_headline_syndicated_many_times_is_one_story_short_generic_ones_are_not() {
        let mut titles = vec!["【36氪】面壁智能开源MiniCPM-5.0，推理速度提升35%"; 200];
        titles.push("AI早报");
        titles.push("AI早报");
        let docs: Vec<Doc<'_>> = titles.iter().map(|t| Doc { title: t, text: "" }).collect();
        let groups = cluster(&docs, &Params::default(), &Gazetteer::default());
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0], (0..200).collect::<Vec<_>>());
    }

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
        let groups = cluster(&docs, &Params::default(), &Gazetteer::default());
        assert_eq!(groups, vec![vec![0, 1], vec![2], vec![3]]);
    }
}
