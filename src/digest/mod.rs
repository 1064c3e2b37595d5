//! A day's digest from stored items: the window, stories (clusters), their
//! tags, ranking, summaries and facts. Pure: items in, [`Digest`] out.

mod corrections;
pub mod summarize;

pub use corrections::item_id;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::cluster::evidence::Script;
use crate::cluster::{self, Doc};
use crate::config::DigestConfig;
use crate::edits::Edits;
use crate::fold::strip_boilerplate;
use crate::store::{StoredItem, StoryRecord};
use crate::tag::{Report, Tagger};

/// Longest summary paragraph, in characters.
const SUMMARY_CHARS: usize = 160;
/// Most key facts per story.
const MAX_FACTS: usize = 5;
/// Most tags shown on a story.
pub const STORY_TAGS: usize = 3;
/// Most tags in a post's front matter.
const POST_TAGS: usize = 10;
/// Longest front-matter description, in characters.
const DESCRIPTION_CHARS: usize = 200;

/// The 24 hours a day's post covers, ending at that day's digest time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The end as a local time, for the post's `date:`.
    pub local_end: NaiveDateTime,
    /// The end with the site's UTC offset, for formats that want one.
    pub end_offset: chrono::DateTime<chrono::FixedOffset>,
}

/// The window of `date` for a digest closing at `time` in `tz`.
pub fn window(date: NaiveDate, time: chrono::NaiveTime, tz: Tz) -> Window {
    let local_end = date.and_time(time);
    // In a DST gap the earliest valid instant after it stands in.
    let end = tz
        .from_local_datetime(&local_end)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(local_end + Duration::hours(1))).earliest())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&local_end));
    let end_offset = end.with_timezone(&tz).fixed_offset();
    Window { start: end - Duration::hours(24), end, local_end, end_offset }
}

/// One outlet's report of a story.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceLink {
    pub name: String,
    pub url: Option<String>,
    pub at: DateTime<Utc>,
}

/// One event, as reported by one or more outlets.
#[derive(Debug, Clone, PartialEq)]
pub struct Story {
    /// Stable id: its first report's (see [`item_id`]); shown in the post
    /// as the section's anchor (`#story-<id>`) and used by edits.
    pub id: String,
    pub headline: String,
    pub image: Option<String>,
    pub summary: String,
    pub facts: Vec<String>,
    pub tags: Vec<String>,
    /// Every outlet that reported it, earliest first.
    pub sources: Vec<SourceLink>,
    pub item_ids: Vec<i64>,
    /// Date of the earlier post this story continues, if any.
    pub follow_up_of: Option<String>,
    /// Ranking score (outlets, tags, recency).
    pub score: f64,
    /// Latest report, for the feeds' dates.
    pub latest: DateTime<Utc>,
}

/// A day's digest, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub date: NaiveDate,
    pub window: Window,
    pub title: String,
    pub heading: String,
    pub description: String,
    pub tags: Vec<String>,
    pub stories: Vec<Story>,
    /// Edits of the day that named nothing in it.
    pub edit_warnings: Vec<String>,
}

/// What building a digest needs.
pub struct DigestInput<'a> {
    pub date: NaiveDate,
    pub window: Window,
    /// Items of the window not already published in an earlier post.
    pub candidates: Vec<StoredItem>,
    /// Stories of recent earlier posts, to recognise follow-ups.
    pub earlier: Vec<(StoryRecord, Vec<StoredItem>)>,
    pub tagger: &'a Tagger,
    pub settings: &'a DigestConfig,
    /// The gazetteer clustering reads names through.
    pub entities: &'a crate::entities::Gazetteer,
    /// The site's language (`zh-CN`): a story told in several languages
    /// takes its headline from a report in this one.
    pub language: &'a str,
    /// The editor's corrections for this date.
    pub edits: &'a Edits,
}

/// Builds the digest; `None` when the window holds no new item.
pub fn build(input: DigestInput<'_>) -> Option<Digest> {
    let mut warnings = Vec::new();
    let candidates = corrections::hide_items(input.candidates, input.edits, &mut warnings);
    if candidates.is_empty() {
        return None;
    }
    let n_new = candidates.len();
    let mut all: Vec<&StoredItem> = candidates.iter().collect();
    let mut anchor_post: HashMap<i64, String> = HashMap::new();
    let mut seen: HashSet<i64> = all.iter().map(|i| i.id).collect();
    for (story, items) in &input.earlier {
        for item in items {
            anchor_post.entry(item.id).or_insert_with(|| story.post_date.clone());
            if seen.insert(item.id) {
                all.push(item);
            }
        }
    }
    let docs: Vec<Doc<'_>> = all.iter().map(|i| Doc { title: &i.title, text: &i.text }).collect();
    let groups = same_link_together(cluster::cluster(&docs, &cluster::Params::default(), input.entities), &all);
    let groups = corrections::regroup(groups, &all, input.edits, &mut warnings);

    let mut stories: Vec<Story> = groups
        .into_iter()
        .filter_map(|g| {
            let new: Vec<&StoredItem> = g.iter().filter(|&&i| i < n_new).map(|&i| all[i]).collect();
            if new.is_empty() {
                return None;
            }
            let follow_up_of =
                g.iter().filter(|&&i| i >= n_new).filter_map(|&i| anchor_post.get(&all[i].id)).min().cloned();
            Some(build_story(&new, follow_up_of, input.tagger, input.window, site_script(input.language)))
        })
        .collect();
    let by_id: HashMap<i64, &StoredItem> = all.iter().map(|i| (i.id, *i)).collect();
    corrections::edit_stories(&mut stories, &by_id, input.edits, &mut warnings);
    if stories.is_empty() {
        return None;
    }
    stories.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then(a.sources[0].at.cmp(&b.sources[0].at)).then(a.headline.cmp(&b.headline))
    });
    let stories =
        corrections::pin_and_truncate(stories, input.settings.max_stories, &by_id, input.edits, &mut warnings);

    let tags = post_tags(&stories, input.tagger);
    let themes = themes(&tags, &stories);
    let fill = |template: &str| {
        template
            .replace("{themes}", &themes)
            .replace("{top}", &stories[0].headline)
            .replace("{date}", &format!("{}年{}月{}日", input.date.year(), input.date.month(), input.date.day()))
            .replace("{count}", &stories.len().to_string())
    };
    let mut title = fill(&input.settings.title);
    if title.trim().is_empty() {
        title = stories[0].headline.clone();
    }
    let heading = fill(&input.settings.heading);
    let heading = if heading.trim().is_empty() { stories[0].headline.clone() } else { heading };
    let (set_title, set_heading, set_description) = corrections::post_fields(input.edits);
    Some(Digest {
        date: input.date,
        window: input.window,
        description: set_description.unwrap_or_else(|| description(&stories)),
        title: set_title.unwrap_or(title),
        heading: set_heading.unwrap_or(heading),
        tags,
        stories,
        edit_warnings: warnings,
    })
}

/// The script a site's language is written in: `zh-CN`/`zh-Hans` →
/// Simplified, `zh-TW`/`zh-HK`/`zh-Hant` → Traditional, others → Latin.
pub fn site_script(language: &str) -> Script {
    let l = language.to_ascii_lowercase();
    if !l.starts_with("zh") {
        Script::Latin
    } else if l.contains("hans") {
        Script::Simplified
    } else if ["tw", "hk", "mo", "hant"].iter().any(|r| l.contains(r)) {
        Script::Traditional
    } else {
        Script::Simplified
    }
}

fn build_story(
    items: &[&StoredItem],
    follow_up_of: Option<String>,
    tagger: &Tagger,
    window: Window,
    script: Script,
) -> Story {
    // The best source: one in the site's language, then one with a
    // picture, then the fullest text, then the earliest.
    let best = items
        .iter()
        .copied()
        .max_by(|a, b| {
            // The site's script first, then the other Chinese script, then Latin.
            let native = |i: &StoredItem| {
                let s = Script::of(&i.title);
                u8::from(s == script) * 2 + u8::from(s != Script::Latin)
            };
            (native(a), a.image.is_some(), a.text.chars().count().min(600))
                .cmp(&(native(b), b.image.is_some(), b.text.chars().count().min(600)))
                .then(b.published_at.cmp(&a.published_at))
                .then(b.id.cmp(&a.id))
        })
        .unwrap_or(items[0]);
    let mut by_time: Vec<&StoredItem> = items.to_vec();
    by_time.sort_by_key(|i| (i.published_at, i.id));
    let image = best.image.clone().or_else(|| by_time.iter().find_map(|i| i.image.clone()));

    let item_terms: Vec<HashSet<String>> =
        items.iter().map(|i| summarize::terms(&format!("{} {}", i.title, i.text))).collect();
    let corroboration = |term: &str| item_terms.iter().filter(|t| t.contains(term)).count();
    let summary = summarize::summarize(&best.text, &corroboration, SUMMARY_CHARS);
    let mut ordered: Vec<&StoredItem> = vec![best];
    ordered.extend(by_time.iter().copied().filter(|i| i.id != best.id));
    let sources_for_facts: Vec<(&str, &str)> =
        ordered.iter().map(|i| (i.content_html.as_deref().unwrap_or(&i.summary_html), i.text.as_str())).collect();
    let facts = summarize::key_facts(&sources_for_facts, &summary, MAX_FACTS);

    let reports = items.iter().map(|i| Report { title: &i.title, text: &i.text, categories: &i.categories });
    let ranked = tagger.story(reports, STORY_TAGS);
    let tags: Vec<String> = ranked.iter().map(|h| tagger.name(h.tag).to_string()).collect();

    let mut sources: Vec<SourceLink> = Vec::new();
    for item in &by_time {
        if !sources.iter().any(|s| s.name == item.source) {
            sources.push(SourceLink { name: item.source.clone(), url: item.url.clone(), at: item.published_at });
        }
    }
    let latest = by_time.last().map_or(window.end, |i| i.published_at);
    let age_hours = (window.end - latest).num_minutes().max(0) as f64 / 60.0;
    let tag_weight: f64 = ranked.iter().map(|h| h.score.min(6.0)).sum::<f64>() / 6.0;
    let score = 3.0 * sources.len() as f64
        + tag_weight
        + (1.0 - (age_hours / 24.0).min(1.0))
        + if image.is_some() { 0.5 } else { 0.0 };
    let headline = strip_boilerplate(&best.title);
    Story {
        id: corrections::item_id(by_time[0]),
        headline: if headline.is_empty() { best.title.clone() } else { headline },
        image,
        summary,
        facts,
        tags,
        sources,
        item_ids: by_time.iter().map(|i| i.id).collect(),
        follow_up_of,
        score,
        latest,
    }
}

/// Groups holding reports of one link (two sources carrying the same
/// article, each stored as its own) become one story.
fn same_link_together(groups: Vec<Vec<usize>>, items: &[&StoredItem]) -> Vec<Vec<usize>> {
    let mut owner: HashMap<&str, usize> = HashMap::new();
    let mut into: Vec<usize> = (0..groups.len()).collect();
    let root = |into: &mut Vec<usize>, mut g: usize| {
        while into[g] != g {
            into[g] = into[into[g]];
            g = into[g];
        }
        g
    };
    for (g, members) in groups.iter().enumerate() {
        for &m in members {
            if let Some(url) = items[m].url.as_deref() {
                match owner.get(url) {
                    Some(&other) => {
                        let (a, b) = (root(&mut into, other), root(&mut into, g));
                        if a != b {
                            into[a.max(b)] = a.min(b);
                        }
                    }
                    None => {
                        owner.insert(url, g);
                    }
                }
            }
        }
    }
    let mut merged: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
    for (g, members) in groups.into_iter().enumerate() {
        let r = root(&mut into, g);
        merged[r].extend(members);
    }
    merged.retain(|m| !m.is_empty());
    merged.iter_mut().for_each(|m| m.sort_unstable());
    merged.sort_by_key(|m| m[0]);
    merged
}

/// The post's tags, most significant first: each story's tags weighted by
/// the story's outlets and position.
fn post_tags(stories: &[Story], tagger: &Tagger) -> Vec<String> {
    let mut weight: HashMap<&str, (f64, usize)> = HashMap::new();
    for (rank, story) in stories.iter().enumerate() {
        for (k, tag) in story.tags.iter().enumerate() {
            let w = story.sources.len() as f64 / (1.0 + rank as f64 * 0.2) / (1.0 + k as f64 * 0.5)
                * tagger.index_of(tag).map_or(1.0, |t| tagger.weight(t));
            let e = weight.entry(tag).or_insert((0.0, rank * 10 + k));
            e.0 += w;
        }
    }
    let mut tags: Vec<(&str, (f64, usize))> = weight.into_iter().collect();
    tags.sort_by(|a, b| b.1.0.total_cmp(&a.1.0).then(a.1.1.cmp(&b.1.1)).then(a.0.cmp(b.0)));
    tags.into_iter().take(POST_TAGS).map(|(t, _)| t.to_string()).collect()
}

/// "AI眼镜与产业融合": the two leading tags, else the top headline.
fn themes(tags: &[String], stories: &[Story]) -> String {
    match tags {
        [] => stories[0].headline.clone(),
        [one] => one.clone(),
        [a, b, ..] => format!("{a}与{b}"),
    }
}

/// One paragraph from the stories' first sentences, at most ~200 characters.
fn description(stories: &[Story]) -> String {
    let mut out = String::new();
    for story in stories {
        let first = summarize::sentences(&story.summary).into_iter().next().unwrap_or_else(|| story.headline.clone());
        let first =
            if first.ends_with(['。', '！', '？', '.', '!', '?', '”']) { first } else { format!("{first}。") };
        if out.chars().count() + first.chars().count() > DESCRIPTION_CHARS {
            if out.is_empty() {
                out = first.chars().take(DESCRIPTION_CHARS - 1).chain(['…']).collect();
            }
            break;
        }
        out.push_str(&first);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveTime;

    #[test]
    fn two_sources_carrying_one_link_are_one_story() {
        use chrono::TimeZone;
        let item = |id: i64, url: &str| StoredItem {
            id,
            source: format!("s{id}"),
            title: format!("title {id}"),
            url: Some(url.into()),
            text: String::new(),
            summary_html: String::new(),
            content_html: None,
            image: None,
            categories: vec![],
            published_at: Utc.with_ymd_and_hms(2025, 4, 1, 3, 0, 0).unwrap(),
        };
        let items = [item(1, "https://a/1"), item(2, "https://b/2"), item(3, "https://a/1"), item(4, "https://c/3")];
        let refs: Vec<&StoredItem> = items.iter().collect();
        let groups = vec![vec![0], vec![1, 3], vec![2]];
        assert_eq!(same_link_together(groups, &refs), vec![vec![0, 2], vec![1, 3]]);
    }

    #[test]
    fn the_site_language_gives_its_script() {
        for (lang, script) in [
            ("zh-CN", Script::Simplified),
            ("zh-Hans", Script::Simplified),
            ("zh-Hans-HK", Script::Simplified),
            ("zh-TW", Script::Traditional),
            ("zh-Hant", Script::Traditional),
            ("zh-HK", Script::Traditional),
            ("en", Script::Latin),
        ] {
            assert_eq!(site_script(lang), script, "{lang}");
        }
    }

    #[test]
    fn a_story_is_headed_in_the_site_script_then_in_chinese() {
        let item = |id: i64, title: &str, image: Option<&str>| StoredItem {
            id,
            source: format!("s{id}"),
            title: title.into(),
            url: Some(format!("https://{id}.example/")),
            text: "text".into(),
            summary_html: String::new(),
            content_html: None,
            image: image.map(String::from),
            categories: vec![],
            published_at: Utc.with_ymd_and_hms(2025, 4, 1, 3, 0, 0).unwrap(),
        };
        let en = item(1, "Baichuan AI raises $690 million", Some("https://img.example/a.png"));
        let hans = item(2, "百川智能完成50亿元融资", None);
        let hant = item(3, "百川智能完成50億元募資", None);
        let tagger = Tagger::new(&crate::config::Taxonomy::default(), &crate::entities::Gazetteer::default());
        let w = window(
            NaiveDate::from_ymd_opt(2025, 4, 2).unwrap(),
            chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            chrono_tz::Asia::Shanghai,
        );
        let head = |items: &[&StoredItem], script| build_story(items, None, &tagger, w, script).headline;
        assert_eq!(head(&[&en, &hans, &hant], Script::Simplified), hans.title);
        assert_eq!(head(&[&en, &hans, &hant], Script::Traditional), hant.title);
        // No report in the site's script: Chinese before English, picture or not.
        assert_eq!(head(&[&en, &hans], Script::Traditional), hans.title);
        assert_eq!(head(&[&en, &hans], Script::Latin), en.title);
    }

    #[test]
    fn window_is_the_24_hours_before_digest_time() {
        let w = window(
            NaiveDate::from_ymd_opt(2025, 4, 2).unwrap(),
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            chrono_tz::Asia::Shanghai,
        );
        assert_eq!(w.end.to_rfc3339(), "2025-04-02T01:00:00+00:00");
        assert_eq!(w.start.to_rfc3339(), "2025-04-01T01:00:00+00:00");
    }

    #[test]
    fn description_is_bounded() {
        let story = |s: &str| Story {
            id: "0".into(),
            headline: "h".into(),
            image: None,
            summary: s.into(),
            facts: vec![],
            tags: vec![],
            sources: vec![],
            item_ids: vec![],
            follow_up_of: None,
            score: 0.0,
            latest: Utc::now(),
        };
        let d = description(&[story("第一句。第二句。"), story(&"长".repeat(300))]);
        assert_eq!(d, "第一句。");
        let d = description(&[story(&"长".repeat(300))]);
        assert_eq!(d.chars().count(), 200);
    }
}
