//! The daily job: read a date's window from the store, build the digest,
//! render the post, record it, and publish the post and feeds.

use chrono::{Duration, NaiveDate};

use crate::config::{Loaded, parse_hh_mm};
use crate::digest::{self, DigestInput};
use crate::publish::{self, PublishError, Published};
use crate::render;
use crate::store::{PostRecord, Storage, StoryRecord};
use crate::tag::Tagger;

/// What a digest run produced.
#[derive(Debug, Clone)]
pub struct DailyReport {
    pub date: NaiveDate,
    /// `None` when the window held no new item: no post was written.
    pub post: Option<PostSummary>,
    pub published: Published,
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

/// Digests `date` and publishes it.
pub fn run<S: Storage>(loaded: &Loaded, store: &mut S, date: NaiveDate) -> Result<DailyReport, PublishError> {
    let config = &loaded.config;
    let tz = config.site.tz();
    let time = parse_hh_mm(&config.digest.time).unwrap_or_default();
    let window = digest::window(date, time, tz);
    let day = date.format("%Y-%m-%d").to_string();
    let since = (date - Duration::days(i64::from(config.digest.follow_up_days.max(1)))).format("%Y-%m-%d").to_string();

    // Items already told in an earlier post are not told again.
    let earlier = store.stories_between(&since, &day)?;
    let told: std::collections::HashSet<i64> = earlier.iter().flat_map(|(s, _)| s.item_ids.iter().copied()).collect();
    let candidates: Vec<_> =
        store.items_between(window.start, window.end)?.into_iter().filter(|i| !told.contains(&i.id)).collect();
    let tagger = Tagger::new(&loaded.taxonomy);
    let built =
        digest::build(DigestInput { date, window, candidates, earlier, tagger: &tagger, settings: &config.digest });
    let Some(d) = built else {
        let published = publish::publish(config, &loaded.taxonomy, store, None)?;
        return Ok(DailyReport { date, post: None, published });
    };
    let markdown = render::post_markdown(&d, &config.site.base_url);
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
    })
}
