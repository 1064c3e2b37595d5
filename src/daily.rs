//! The daily job: read a date's window from the store, build the digest,
//! render the post, record it, and publish the post and feeds.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};

use crate::config::{Loaded, parse_hh_mm};
use crate::digest::{self, Digest, DigestInput};
use crate::edits;
use crate::enrich;
use crate::fetch::Fetcher;
use crate::publish::{self, PublishError, Published};
use crate::render;
use crate::store::{ItemPatch, PostRecord, Storage, StoredItem, StoryRecord};
use crate::tag::Tagger;

/// What a digest run produced.
#[derive(Debug, Clone)]
pub struct DailyReport {
    pub date: NaiveDate,
    /// `None` when the window held no new item: no post was written.
    pub post: Option<PostSummary>,
    pub published: Published,
    /// Edits of the date that named nothing in it.
    pub warnings: Vec<String>,
}

/// A short account of the written post.
#[derive(Debug, Clone)]
pub struct PostSummary {
    pub title: String,
    pub stories: usize,
    pub sources: usize,
    pub items: usize,
    pub tags: Vec<String>,
}

/// Stories of earlier posts, each with its items.
type EarlierStories = Vec<(StoryRecord, Vec<StoredItem>)>;

/// The window's items not told in an earlier post, and the earlier stories.
pub(crate) fn gather<S: Storage>(
    loaded: &Loaded,
    store: &S,
    date: NaiveDate,
    window: digest::Window,
) -> Result<(Vec<StoredItem>, EarlierStories), PublishError> {
    let config = &loaded.config;
    let day = date.format("%Y-%m-%d").to_string();
    let back = chrono::Days::new(u64::from(config.digest.follow_up_days.max(1)));
    let since = date.checked_sub_days(back).unwrap_or(NaiveDate::MIN).format("%Y-%m-%d").to_string();
    let earlier = store.stories_between(&since, &day)?;
    let told: HashSet<i64> = earlier.iter().flat_map(|(s, _)| s.item_ids.iter().copied()).collect();
    let mut seen_urls = HashSet::new();
    let candidates = store
        .items_between(window.start, window.end)?
        .into_iter()
        .filter(|i| !told.contains(&i.id))
        // One article reached through two feeds is one item.
        .filter(|i| i.url.as_ref().is_none_or(|u| seen_urls.insert(u.clone())))
        .collect();
    Ok((candidates, earlier))
}

/// Digests `date` and publishes it. With a `fetcher`, stories about to be
/// published that lack an image or text are enriched from their article pages.
pub async fn run<S: Storage>(
    loaded: &Loaded,
    store: &mut S,
    date: NaiveDate,
    fetcher: Option<&Fetcher>,
) -> Result<DailyReport, PublishError> {
    let config = &loaded.config;
    let tz = config.site.tz();
    let time = parse_hh_mm(&config.digest.time).unwrap_or_default();
    let window = digest::window(date, time, tz);
    let day = date.format("%Y-%m-%d").to_string();
    let tagger = Tagger::new(&loaded.taxonomy, &loaded.entities);
    // Read first: a malformed edits file stops the run before anything is written.
    let edits = edits::load(&config.output.edits_dir, date)?;
    let build = |candidates: Vec<StoredItem>, earlier| {
        digest::build(DigestInput {
            date,
            window,
            candidates,
            earlier,
            tagger: &tagger,
            settings: &config.digest,
            entities: &loaded.entities,
            language: &config.site.language,
            edits: &edits,
        })
    };
    let (candidates, earlier) = gather(loaded, store, date, window)?;
    let mut built = build(candidates.clone(), earlier);
    if let (Some(fetcher), Some(d)) = (fetcher, &built)
        && enrich_stories(loaded, store, fetcher, d, &candidates).await?
    {
        let (candidates, earlier) = gather(loaded, store, date, window)?;
        built = build(candidates, earlier);
    }
    let Some(d) = built else {
        if !candidates.is_empty() && !edits.is_empty() {
            return Err(PublishError::AllHidden { date });
        }
        let published = publish::publish(config, &loaded.taxonomy, store, None)?;
        return Ok(DailyReport { date, post: None, published, warnings: vec![] });
    };
    for w in &d.edit_warnings {
        tracing::warn!(%date, "{w}");
    }
    let markdown = render::post_markdown(&d, &config.site.base_url, config.output.format);
    let post = PostRecord {
        date: day.clone(),
        slug: config.digest.slug.clone(),
        title: d.title.clone(),
        description: d.description.clone(),
        tags: d.tags.clone(),
        html: render::markdown_to_html(&markdown),
        markdown,
        published_at: window.end,
    };
    let stories: Vec<StoryRecord> = d
        .stories
        .iter()
        .enumerate()
        .map(|(i, s)| StoryRecord {
            post_date: day.clone(),
            rank: i + 1,
            headline: s.headline.clone(),
            html: render::markdown_to_html(&render::story_markdown(s, &config.site.base_url)),
            tags: s.tags.clone(),
            published_at: window.end,
            item_ids: s.item_ids.clone(),
        })
        .collect();
    store.save_post(&post, &stories)?;
    let published = publish::publish(config, &loaded.taxonomy, store, Some(&day))?;
    let mut outlets: Vec<&str> = d.stories.iter().flat_map(|s| s.sources.iter().map(|x| x.name.as_str())).collect();
    outlets.sort_unstable();
    outlets.dedup();
    Ok(DailyReport {
        date,
        post: Some(PostSummary {
            title: d.title.clone(),
            stories: d.stories.len(),
            sources: outlets.len(),
            items: d.stories.iter().map(|s| s.item_ids.len()).sum(),
            tags: d.tags.clone(),
        }),
        published,
        warnings: d.edit_warnings.clone(),
    })
}

/// The digest of `date` as it would be written now from what is stored,
/// the date's edits applied; nothing is fetched or written. `None` when
/// the window holds no new item.
pub fn preview<S: Storage>(loaded: &Loaded, store: &S, date: NaiveDate) -> Result<Option<Digest>, PublishError> {
    let config = &loaded.config;
    let time = parse_hh_mm(&config.digest.time).unwrap_or_default();
    let window = digest::window(date, time, config.site.tz());
    let tagger = Tagger::new(&loaded.taxonomy, &loaded.entities);
    let edits = edits::load(&config.output.edits_dir, date)?;
    let (candidates, earlier) = gather(loaded, store, date, window)?;
    let any = !candidates.is_empty();
    let built = digest::build(DigestInput {
        date,
        window,
        candidates,
        earlier,
        tagger: &tagger,
        settings: &config.digest,
        entities: &loaded.entities,
        language: &config.site.language,
        edits: &edits,
    });
    if built.is_none() && any && !edits.is_empty() {
        return Err(PublishError::AllHidden { date });
    }
    Ok(built)
}

/// Most article pages read per story.
const PAGES_PER_STORY: usize = 2;

/// Reads the article pages of the digest's stories that lack an image or have
/// thin text (only items of sources with `enrich`, or all with
/// `digest.enrich`), and stores what they add. True when an item changed.
async fn enrich_stories<S: Storage>(
    loaded: &Loaded,
    store: &mut S,
    fetcher: &Fetcher,
    d: &digest::Digest,
    candidates: &[StoredItem],
) -> Result<bool, PublishError> {
    let enabled: HashSet<&str> =
        loaded.sources.iter().filter(|s| s.enrich || loaded.config.digest.enrich).map(|s| s.name.as_str()).collect();
    if enabled.is_empty() {
        return Ok(false);
    }
    let by_id: HashMap<i64, &StoredItem> = candidates.iter().map(|i| (i.id, i)).collect();
    let mut targets: Vec<&StoredItem> = Vec::new();
    for story in &d.stories {
        if story.image.is_some() && !enrich::short(&story.summary) {
            continue;
        }
        let mut items: Vec<&StoredItem> = story
            .item_ids
            .iter()
            .filter_map(|id| by_id.get(id).copied())
            .filter(|i| enabled.contains(i.source.as_str()) && i.url.is_some())
            .collect();
        items.sort_by_key(|i| (i.image.is_some(), i.id));
        targets.extend(items.into_iter().take(PAGES_PER_STORY));
    }
    let tz = loaded.config.site.tz();
    let mut changed = false;
    for item in targets {
        let Some(url) = item.url.clone() else { continue };
        let meta = match store.cached_page(&url)? {
            Some(m) => m,
            None => match enrich::fetch_page(fetcher, &url, tz, false).await {
                Ok(m) => {
                    store.cache_page(&url, &m, Utc::now())?;
                    m
                }
                Err(e) => {
                    tracing::warn!(source = %item.source, %url, error = %e, "enrichment failed");
                    continue;
                }
            },
        };
        let mut patch = ItemPatch::default();
        if item.image.is_none() {
            patch.image = meta.image.clone();
        }
        if enrich::short(&item.text)
            && let Some(desc) = &meta.description
        {
            patch.summary_html = Some(format!("<p>{}</p>", html_escape::encode_text(desc)));
            patch.text = Some(desc.clone());
        }
        patch.canonical = meta
            .canonical
            .as_deref()
            .and_then(|c| crate::normalize::url::canonical_url(c, None))
            .filter(|c| Some(c) != item.url.as_ref());
        if patch != ItemPatch::default() {
            store.enrich_item(item.id, &patch)?;
            changed = true;
        }
    }
    Ok(changed)
}
