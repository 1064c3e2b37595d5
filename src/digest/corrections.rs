//! An editor's [`Edits`] applied while a digest is built: hidden reports
//! leave before stories form, merges and splits change the groups, then
//! stories are hidden, changed and pinned, and the post's own fields set.
//! A correction that names nothing in the day is a warning, never an error.

use std::collections::HashMap;

use crate::edits::{Edit, Edits, StoryEdit};
use crate::store::StoredItem;

use super::Story;

/// A stable id for an item: ten hex digits of a hash of its URL (without
/// one, of its source and title). A story is shown with the id of its
/// first report, and any of its reports' ids names it.
pub fn item_id(item: &StoredItem) -> String {
    let key = match &item.url {
        Some(url) => url.clone(),
        None => format!("{}\n{}", item.source, item.title),
    };
    let hash = xxhash_rust::xxh3::xxh3_64(key.as_bytes());
    format!("{:010x}", hash >> 24)
}

/// Does `target` (an item URL or id) name `item`?
fn names(target: &str, item: &StoredItem) -> bool {
    item.url.as_deref() == Some(target) || item_id(item) == target
}

/// The candidates without the reports an edit hides.
pub(super) fn hide_items(candidates: Vec<StoredItem>, edits: &Edits, warnings: &mut Vec<String>) -> Vec<StoredItem> {
    let hidden: Vec<(usize, &str)> = edits
        .list
        .iter()
        .filter_map(|(line, e)| match e {
            Edit::HideItem(url) => Some((*line, url.as_str())),
            _ => None,
        })
        .collect();
    if hidden.is_empty() {
        return candidates;
    }
    for (line, url) in &hidden {
        if !candidates.iter().any(|i| names(url, i)) {
            warnings.push(format!("{}: hide names no report of this day: {url}", edits.place(*line)));
        }
    }
    candidates.into_iter().filter(|i| !hidden.iter().any(|(_, url)| names(url, i))).collect()
}

/// The groups (indices into `items`) after the edits' merges and splits,
/// in file order.
pub(super) fn regroup(
    mut groups: Vec<Vec<usize>>,
    items: &[&StoredItem],
    edits: &Edits,
    warnings: &mut Vec<String>,
) -> Vec<Vec<usize>> {
    let group_of =
        |groups: &[Vec<usize>], target: &str| groups.iter().position(|g| g.iter().any(|&m| names(target, items[m])));
    for (line, edit) in &edits.list {
        match edit {
            Edit::Merge(targets) => {
                let mut found: Vec<usize> = Vec::new();
                for t in targets {
                    match group_of(&groups, t) {
                        Some(g) if !found.contains(&g) => found.push(g),
                        Some(_) => {}
                        None => warnings.push(format!("{}: merge names nothing of this day: {t}", edits.place(*line))),
                    }
                }
                if let Some((&into, rest)) = found.split_first() {
                    for &g in rest {
                        let moved = std::mem::take(&mut groups[g]);
                        groups[into].extend(moved);
                    }
                    groups[into].sort_unstable();
                }
            }
            Edit::Split(target) => {
                let Some(g) = group_of(&groups, target) else {
                    warnings.push(format!("{}: split names no report of this day: {target}", edits.place(*line)));
                    continue;
                };
                if groups[g].len() > 1 {
                    let at = groups[g].iter().position(|&m| names(target, items[m])).unwrap_or(0);
                    let m = groups[g].remove(at);
                    groups.push(vec![m]);
                }
            }
            _ => {}
        }
    }
    groups.retain(|g| !g.is_empty());
    groups
}

/// The index of the story `target` names: its id, or the id or URL of one
/// of its reports.
fn story_named(stories: &[Story], target: &str, items: &HashMap<i64, &StoredItem>) -> Option<usize> {
    stories
        .iter()
        .position(|s| s.id == target || s.item_ids.iter().any(|id| items.get(id).is_some_and(|i| names(target, i))))
}

/// Hides and changes stories, in file order.
pub(super) fn edit_stories(
    stories: &mut Vec<Story>,
    items: &HashMap<i64, &StoredItem>,
    edits: &Edits,
    warnings: &mut Vec<String>,
) {
    for (line, edit) in &edits.list {
        match edit {
            Edit::HideStory(target) => match story_named(stories, target, items) {
                Some(i) => {
                    stories.remove(i);
                }
                None => warnings.push(format!("{}: hide names no story of this day: {target}", edits.place(*line))),
            },
            Edit::Story(change) => match story_named(stories, &change.story, items) {
                Some(i) => apply(&mut stories[i], change),
                None => {
                    warnings.push(format!("{}: story names no story of this day: {}", edits.place(*line), change.story))
                }
            },
            _ => {}
        }
    }
}

fn apply(story: &mut Story, change: &StoryEdit) {
    if let Some(h) = &change.headline {
        story.headline = h.clone();
    }
    if let Some(s) = &change.summary {
        story.summary = s.clone();
    }
    if let Some(i) = &change.image {
        story.image = Some(i.clone());
    }
    // The editor's tags lead, in the order given: they are the surest.
    let mut tags: Vec<String> = Vec::with_capacity(story.tags.len() + change.add_tags.len());
    for t in change.add_tags.iter().chain(story.tags.iter()) {
        if !tags.contains(t) && !change.remove_tags.contains(t) {
            tags.push(t.clone());
        }
    }
    story.tags = tags;
}

/// Keeps `max` stories of the ranked list, pinned ones at their places
/// whatever their rank.
pub(super) fn pin_and_truncate(
    stories: Vec<Story>,
    max: usize,
    items: &HashMap<i64, &StoredItem>,
    edits: &Edits,
    warnings: &mut Vec<String>,
) -> Vec<Story> {
    let mut rest = stories;
    let mut pinned: Vec<(usize, Story)> = Vec::new();
    for (line, edit) in &edits.list {
        let Edit::Pin { story, position } = edit else { continue };
        if let Some(i) = story_named(&rest, story, items) {
            let s = rest.remove(i);
            pinned.retain(|(_, p)| p.id != s.id);
            pinned.push((*position, s));
        } else if let Some(k) =
            pinned.iter().position(|(_, s)| story_named(std::slice::from_ref(s), story, items).is_some())
        {
            // Pinned again: the later position wins.
            pinned[k].0 = *position;
        } else {
            warnings.push(format!("{}: pin names no story of this day: {story}", edits.place(*line)));
        }
    }
    let max = max.max(1).max(pinned.len());
    rest.truncate(max - pinned.len());
    pinned.sort_by_key(|(p, _)| *p);
    for (position, story) in pinned {
        let at = position.saturating_sub(1).min(rest.len());
        rest.insert(at, story);
    }
    rest
}

/// The post's title, H1 and description as the edits last set them.
pub(super) fn post_fields(edits: &Edits) -> (Option<String>, Option<String>, Option<String>) {
    let (mut title, mut heading, mut description) = (None, None, None);
    for (_, edit) in &edits.list {
        if let Edit::Post { title: t, heading: h, description: d } = edit {
            title = t.clone().or(title);
            heading = h.clone().or(heading);
            description = d.clone().or(description);
        }
    }
    (title, heading, description)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::{TimeZone, Utc};

    use super::*;

    fn item(id: i64, url: &str) -> StoredItem {
        StoredItem {
            id,
            source: format!("源{id}"),
            title: format!("第{id}条"),
            url: Some(url.to_string()),
            text: String::new(),
            summary_html: String::new(),
            content_html: None,
            image: None,
            categories: vec![],
            published_at: Utc.with_ymd_and_hms(2025, 4, 2, 0, 0, 0).unwrap(),
        }
    }

    fn story(first: &StoredItem, ids: &[i64]) -> Story {
        Story {
            id: item_id(first),
            headline: first.title.clone(),
            image: None,
            summary: String::new(),
            facts: vec![],
            tags: vec!["大模型".into(), "AI眼镜".into()],
            sources: vec![],
            item_ids: ids.to_vec(),
            follow_up_of: None,
            score: 0.0,
            latest: first.published_at,
        }
    }

    fn edits(text: &str) -> Edits {
        crate::edits::parse(Path::new("e.toml"), text).unwrap()
    }

    #[test]
    fn ids_are_stable_and_short() {
        let a = item(1, "https://a.example/x");
        assert_eq!(item_id(&a), item_id(&item(99, "https://a.example/x")), "the URL names the item");
        assert_ne!(item_id(&a), item_id(&item(1, "https://a.example/y")));
        assert_eq!(item_id(&a).len(), 10);
        let mut bare = item(2, "");
        bare.url = None;
        assert_eq!(item_id(&bare).len(), 10);
    }

    #[test]
    fn merges_and_splits_apply_in_order() {
        let items: Vec<StoredItem> = (0..5).map(|i| item(i, &format!("https://a.example/{i}"))).collect();
        let refs: Vec<&StoredItem> = items.iter().collect();
        let groups = vec![vec![0, 1], vec![2], vec![3, 4]];
        let e = edits(&format!(
            "[[edit]]\nmerge = [\"{}\", \"https://a.example/3\"]\n\n[[edit]]\nsplit = \"https://a.example/1\"\n\n\
             [[edit]]\nsplit = \"https://nowhere.example/\"\n",
            item_id(&items[2])
        ));
        let mut warnings = vec![];
        let mut got = regroup(groups, &refs, &e, &mut warnings);
        got.sort();
        assert_eq!(got, [vec![0], vec![1], vec![2, 3, 4]]);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("e.toml:7: split names no report"), "{warnings:?}");
    }

    #[test]
    fn stories_are_hidden_changed_and_pinned() {
        let items: Vec<StoredItem> = (0..4).map(|i| item(i, &format!("https://a.example/{i}"))).collect();
        let by_id: HashMap<i64, &StoredItem> = items.iter().map(|i| (i.id, i)).collect();
        let mut stories: Vec<Story> = vec![story(&items[0], &[0]), story(&items[1], &[1, 2]), story(&items[3], &[3])];
        let e = edits(&format!(
            "[[edit]]\nhide = \"{}\"\n\n[[edit]]\nstory = \"https://a.example/2\"\nheadline = \"新\"\n\
             add_tags = [\"人机共生\", \"大模型\"]\nremove_tags = [\"AI眼镜\"]\n\n\
             [[edit]]\npin = \"{}\"\nposition = 1\n\n[[edit]]\nhide = \"0000000000\"\n",
            stories[0].id, stories[2].id
        ));
        let mut warnings = vec![];
        edit_stories(&mut stories, &by_id, &e, &mut warnings);
        assert_eq!(stories.len(), 2);
        // Named through its second report's URL.
        assert_eq!(stories[0].headline, "新");
        assert_eq!(stories[0].tags, ["人机共生", "大模型"]);
        // Pinned first although ranked last, and kept though only one story fits otherwise.
        let out = pin_and_truncate(stories, 1, &by_id, &e, &mut warnings);
        let ids: Vec<&str> = out.iter().map(|s| s.headline.as_str()).collect();
        assert_eq!(ids, ["第3条"]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("0000000000"));
    }
}
