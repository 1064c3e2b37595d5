//! `tidings explain`: for a day, which reports joined which story and on
//! what evidence (copies, text similarity, shared names and figures across
//! languages), and which near pairs were kept apart and why (different
//! actors, places or figures; too little evidence); and each story's tags
//! with the keywords, rule or examples that gave them, and the tags that
//! came near. What an editor reads to trust the digest's judgment, and to
//! tune the gazetteer and the taxonomy.

use std::collections::HashMap;
use std::fmt::Write;

use chrono::NaiveDate;

use crate::cluster::evidence::{Shared, Veto};
use crate::cluster::{self, Apart, Doc, Evidence, Link};
use crate::config::{Loaded, parse_hh_mm};
use crate::digest;
use crate::entities::Gazetteer;
use crate::publish::PublishError;
use crate::store::{Storage, StoredItem};
use crate::tag::{Judged, Reason, Report, THRESHOLD, Tagger};

/// Explains the clustering of `date`'s window. With `urls`, only the
/// stories and decisions involving those items are shown.
pub fn explain_day<S: Storage>(
    loaded: &Loaded,
    store: &S,
    date: NaiveDate,
    urls: &[String],
) -> Result<String, PublishError> {
    let config = &loaded.config;
    let time = parse_hh_mm(&config.digest.time).unwrap_or_default();
    let window = digest::window(date, time, config.site.tz());
    let (candidates, earlier) = crate::daily::gather(loaded, store, date, window)?;
    let n_new = candidates.len();
    let mut all: Vec<StoredItem> = candidates;
    let mut earlier_post: HashMap<usize, String> = HashMap::new();
    for (story, items) in earlier {
        for item in items {
            if !all.iter().any(|i| i.id == item.id) {
                earlier_post.insert(all.len(), story.post_date.clone());
                all.push(item);
            }
        }
    }
    let docs: Vec<Doc<'_>> = all.iter().map(|i| Doc { title: &i.title, text: &i.text }).collect();
    let result = cluster::explain(&docs, &cluster::Params::default(), &loaded.entities);
    let tagger = Tagger::new(&loaded.taxonomy, &loaded.entities);
    let view = View { items: &all, n_new, earlier_post: &earlier_post, gaz: &loaded.entities, tagger: &tagger };
    Ok(render(&view, &result, date, urls))
}

/// What an explanation is rendered from.
struct View<'a> {
    items: &'a [StoredItem],
    /// The first `n_new` items are the day's; the rest were in earlier posts.
    n_new: usize,
    earlier_post: &'a HashMap<usize, String>,
    gaz: &'a Gazetteer,
    tagger: &'a Tagger,
}

/// The text of an explanation; pure, for tests.
fn render(view: &View<'_>, result: &cluster::Clustering, date: NaiveDate, urls: &[String]) -> String {
    let View { items, n_new, earlier_post, gaz, tagger } = *view;
    let mut story_of = vec![0usize; items.len()];
    for (g, members) in result.groups.iter().enumerate() {
        for &m in members {
            story_of[m] = g;
        }
    }
    let wanted = |i: usize| urls.is_empty() || items[i].url.as_ref().is_some_and(|u| urls.contains(u));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{date}: {n_new} new reports ({} from earlier posts) in {} stories",
        items.len() - n_new,
        result.groups.iter().filter(|g| g.iter().any(|&i| i < n_new)).count()
    );
    if !urls.is_empty() {
        let found = urls.iter().filter(|u| items.iter().any(|i| i.url.as_ref() == Some(u))).count();
        if found < urls.len() {
            let missing: Vec<&str> =
                urls.iter().filter(|u| !items.iter().any(|i| i.url.as_ref() == Some(u))).map(String::as_str).collect();
            let _ = writeln!(out, "not in this day's window: {}", missing.join(", "));
        }
    }
    let name = |i: usize| -> String {
        let item = &items[i];
        let script = result.scripts.get(i).copied().flatten().map_or("", |s| s.name());
        let from = earlier_post.get(&i).map(|d| format!(", told on {d}")).unwrap_or_default();
        format!("#{} {} · {} ({script}{from})", i + 1, item.source, item.title)
    };
    let mut links_of: HashMap<usize, Vec<&Link>> = HashMap::new();
    for link in &result.links {
        links_of.entry(story_of[link.pair.a]).or_default().push(link);
        if story_of[link.pair.b] != story_of[link.pair.a] {
            links_of.entry(story_of[link.pair.b]).or_default().push(link);
        }
    }
    for (g, members) in result.groups.iter().enumerate() {
        if !members.iter().any(|&i| i < n_new) || !members.iter().any(|&i| wanted(i)) {
            continue;
        }
        let links = links_of.get(&g).map_or(&[][..], Vec::as_slice);
        let joined: Vec<&&Link> = links.iter().filter(|l| l.joined.is_some() && story_of[l.pair.a] == g).collect();
        let apart: Vec<&&Link> = links.iter().filter(|l| l.joined.is_none()).collect();
        // The id the post shows for this story (edits name it by this).
        let first = members.iter().filter(|&&i| i < n_new).min_by_key(|&&i| (items[i].published_at, items[i].id));
        let id = first.map(|&i| crate::digest::item_id(&items[i])).unwrap_or_default();
        let _ = writeln!(out, "\nstory {id} of {} report(s):", members.len());
        for &m in members {
            let url = items[m].url.as_deref().unwrap_or("(no link)");
            let _ = writeln!(out, "  {}  <{url}>", name(m));
        }
        if !joined.is_empty() {
            let _ = writeln!(out, "  joined:");
            for l in joined {
                if let Some(e) = &l.joined {
                    let _ = writeln!(out, "    #{} + #{}: {}", l.pair.a + 1, l.pair.b + 1, evidence_text(e, gaz));
                }
            }
        }
        if !apart.is_empty() {
            let _ = writeln!(out, "  kept apart:");
            for l in apart {
                let (mine, other) = if story_of[l.pair.a] == g { (l.pair.a, l.pair.b) } else { (l.pair.b, l.pair.a) };
                let why = l.apart.as_ref().map_or_else(String::new, |a| apart_text(a, l, gaz));
                let _ = writeln!(out, "    #{} / {}: {why}", mine + 1, name(other));
            }
        }
        let reports = members.iter().map(|&m| Report {
            title: &items[m].title,
            text: &items[m].text,
            categories: &items[m].categories,
        });
        let judged = tagger.explain_story(reports);
        let shown = digest::STORY_TAGS;
        let (given, near): (Vec<&Judged>, Vec<&Judged>) = judged.iter().partition(|j| j.given);
        if !given.is_empty() {
            let _ = writeln!(out, "  tags:");
            for (k, j) in given.iter().enumerate() {
                let cut = if k >= shown { format!(" (not shown: only {shown} per story)") } else { String::new() };
                let _ = writeln!(out, "    {}{cut}", tag_text(j, tagger));
            }
        }
        let near: Vec<&&Judged> = near.iter().filter(|j| j.score >= THRESHOLD / 2.0 || !j.reasons.is_empty()).collect();
        if !near.is_empty() {
            let _ = writeln!(out, "  tags that came near:");
            for j in near {
                let _ = writeln!(out, "    {}", tag_text(j, tagger));
            }
        }
    }
    out
}

/// One tag of a story: its score, how many reports gave it, and why.
fn tag_text(j: &Judged, tagger: &Tagger) -> String {
    let reasons: Vec<String> = j
        .reasons
        .iter()
        .map(|r| match r {
            Reason::Keyword { word, in_title: true } => format!("keyword {word} in the headline"),
            Reason::Keyword { word, in_title: false } => format!("keyword {word} in the text"),
            Reason::Category(c) => format!("feed category {c}"),
            Reason::Rule(rule) => format!("rule `{rule}`"),
            Reason::Example { score, threshold } => {
                let verdict = if score >= threshold { "≥" } else { "<" };
                format!("close to its examples ({score:.3} {verdict} {threshold:.3})")
            }
            Reason::Excluded(word) => format!("withheld by exclude word {word}"),
        })
        .collect();
    let by = if j.reports > 1 { format!(", from {} reports", j.reports) } else { String::new() };
    format!("{} {:.1}{by}: {}", tagger.name(j.tag), j.score, reasons.join("; "))
}

fn names(ids: &[u32], gaz: &Gazetteer) -> String {
    ids.iter().filter_map(|i| gaz.entity(*i)).map(|e| e.label.as_str()).collect::<Vec<_>>().join(", ")
}

fn shared_text(s: &Shared, gaz: &Gazetteer) -> String {
    let mut parts = Vec::new();
    if !s.named.is_empty() {
        parts.push(format!("names {}", names(&s.named, gaz)));
    }
    if !s.figures.is_empty() {
        parts.push(format!("figures {}", s.figures.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")));
    }
    if !s.tokens.is_empty() {
        parts.push(format!("words {}", s.tokens.join(", ")));
    }
    if !s.topics.is_empty() {
        parts.push(format!("topics {}", names(&s.topics, gaz)));
    }
    format!("evidence {:.1} ({})", s.score, if parts.is_empty() { "nothing".into() } else { parts.join("; ") })
}

fn evidence_text(e: &Evidence, gaz: &Gazetteer) -> String {
    match e {
        Evidence::Copy { edits: 0 } => "copy of one headline".into(),
        Evidence::Copy { edits } => format!("copy of one headline, {edits} character(s) apart"),
        Evidence::Headline(j) => format!("headline reworded (similarity {j:.2})"),
        Evidence::Text(c) => format!("alike in headline and lead (similarity {c:.2})"),
        Evidence::Across(s) => format!("across languages, {}", shared_text(s, gaz)),
    }
}

fn apart_text(a: &Apart, l: &Link, gaz: &Gazetteer) -> String {
    match a {
        Apart::Vetoed(Veto::Actors(x, y)) => format!("different actors: {} / {}", names(x, gaz), names(y, gaz)),
        Apart::Vetoed(Veto::Places(x, y)) => format!("different places: {} / {}", names(x, gaz), names(y, gaz)),
        Apart::Vetoed(Veto::Names(x, y)) => format!("different names: {} / {}", x.join(", "), y.join(", ")),
        Apart::Vetoed(Veto::Figures(x, y)) => {
            let f = |v: &[crate::figures::Figure]| v.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            format!("different figures: {} / {}", f(x), f(y))
        }
        Apart::TooWeak => match (&l.pair.shared, l.pair.cosine) {
            (Some(s), _) => format!("too little in common across languages: {}", shared_text(s, gaz)),
            (None, Some(c)) => format!("not alike enough (similarity {c:.2})"),
            (None, None) => format!("headlines not alike enough (similarity {:.2})", l.pair.headline),
        },
        Apart::StoriesDiffer => "their stories differ as a whole (other actors, or too unlike on average)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn item(id: i64, source: &str, title: &str, text: &str) -> StoredItem {
        StoredItem {
            id,
            source: source.into(),
            title: title.into(),
            url: Some(format!("https://{id}.example/")),
            text: text.into(),
            summary_html: String::new(),
            content_html: None,
            image: None,
            categories: vec![],
            published_at: Utc.with_ymd_and_hms(2025, 6, 18, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn joins_and_near_misses_are_named_with_their_evidence() {
        let gaz = Gazetteer::builtin();
        let items = vec![
            item(
                1,
                "36氪",
                "百川智能完成50亿元融资，押注医疗大模型",
                "百川智能宣布完成50亿元A轮融资，将用于医疗大模型研发。",
            ),
            item(
                2,
                "TechNode",
                "Baichuan AI raises $690 million to build medical models",
                "Baichuan AI has raised 5 billion yuan ($690 million) in a Series A round to develop medical large models.",
            ),
            item(3, "量子位", "宇树科技在WAIC发布人形机器人H2", "宇树科技在世界人工智能大会上发布人形机器人H2。"),
            item(
                4,
                "机器之心",
                "优必选在WAIC发布人形机器人Walker S2",
                "优必选在世界人工智能大会上发布人形机器人Walker S2。",
            ),
        ];
        let docs: Vec<Doc<'_>> = items.iter().map(|i| Doc { title: &i.title, text: &i.text }).collect();
        let result = cluster::explain(&docs, &cluster::Params::default(), gaz);
        let date = NaiveDate::from_ymd_opt(2025, 6, 18).unwrap();
        let taxonomy = crate::config::load_taxonomy(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/taxonomy.toml"
        )))
        .unwrap();
        let tagger = Tagger::new(&taxonomy, gaz);
        let earlier = HashMap::new();
        let view = View { items: &items, n_new: items.len(), earlier_post: &earlier, gaz, tagger: &tagger };
        let text = render(&view, &result, date, &[]);
        assert!(text.starts_with("2025-06-18: 4 new reports (0 from earlier posts) in 3 stories"), "{text}");
        assert!(text.contains("#1 + #2: across languages, evidence"), "{text}");
        assert!(text.contains("topics 融资"), "{text}");
        assert!(text.contains("different actors: 宇树科技 / 优必选"), "{text}");
        assert!(text.contains("  tags:\n    投融资 "), "{text}");
        assert!(text.contains("keyword 融资 in the headline"), "{text}");
        assert!(text.contains("国产AI") && text.contains("rule `title:domestic_actor"), "{text}");
        let only = render(&view, &result, date, &["https://3.example/".into()]);
        assert!(!only.contains("Baichuan") && only.contains("宇树"), "{only}");
    }
}
