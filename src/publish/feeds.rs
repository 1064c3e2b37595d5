//! The feeds readers subscribe to: RSS 2.0 (rss crate), Atom 1.0
//! (atom_syndication), JSON Feed 1.1, and one RSS feed per tag. Every link
//! is absolute under `site.base_url`; ids are stable; no clock is read, so the
//! same posts give byte-identical feeds.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::config::SiteConfig;
use crate::render::post_url;
use crate::store::{PostRecord, StoryRecord};

const GENERATOR: &str = concat!("Tidings ", env!("CARGO_PKG_VERSION"));

fn base(site: &SiteConfig) -> String {
    if site.base_url.ends_with('/') { site.base_url.clone() } else { format!("{}/", site.base_url) }
}

/// The file name of a tag's feed (`/` would make a folder).
pub fn tag_file_name(tag: &str) -> String {
    format!("{}.xml", tag.replace(['/', '\\'], "-"))
}

/// The URL of a tag's feed, percent-encoded.
pub fn tag_feed_url(site: &SiteConfig, tag: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(tag_file_name(tag).as_bytes()).collect();
    format!("{}tags/{}", base(site), encoded.replace('+', "%20"))
}

fn newest(posts: &[PostRecord]) -> DateTime<Utc> {
    posts.iter().map(|p| p.published_at).max().unwrap_or_default()
}

/// RSS 2.0 of the latest posts.
pub fn rss(site: &SiteConfig, posts: &[PostRecord]) -> String {
    let items = posts
        .iter()
        .map(|p| {
            let link = post_url(&site.base_url, &p.date);
            rss::Item {
                title: Some(p.title.clone()),
                link: Some(link.clone()),
                description: Some(p.html.clone()),
                guid: Some(rss::Guid { value: link, permalink: true }),
                pub_date: Some(p.published_at.to_rfc2822()),
                categories: p.tags.iter().map(|t| rss::Category { name: t.clone(), domain: None }).collect(),
                ..Default::default()
            }
        })
        .collect();
    channel(site, &format!("{}feed.xml", base(site)), &site.title, &site.description, newest(posts), items)
}

fn channel(
    site: &SiteConfig,
    self_url: &str,
    title: &str,
    description: &str,
    updated: DateTime<Utc>,
    items: Vec<rss::Item>,
) -> String {
    let mut namespaces = BTreeMap::new();
    namespaces.insert("atom".to_string(), "http://www.w3.org/2005/Atom".to_string());
    let mut links = vec![atom_syndication::Link {
        href: self_url.to_string(),
        rel: "self".into(),
        mime_type: Some("application/rss+xml".into()),
        ..Default::default()
    }];
    if let Some(hub) = &site.websub_hub {
        links.push(atom_syndication::Link { href: hub.clone(), rel: "hub".into(), ..Default::default() });
    }
    let channel = rss::Channel {
        title: title.to_string(),
        link: base(site),
        description: description.to_string(),
        language: Some(site.language.clone()),
        generator: Some(GENERATOR.to_string()),
        last_build_date: Some(updated.to_rfc2822()),
        pub_date: Some(updated.to_rfc2822()),
        ttl: Some("60".into()),
        items,
        namespaces,
        atom_ext: Some(rss::extension::atom::AtomExtension { links }),
        ..Default::default()
    };
    format!(
        "{}\n",
        channel.to_string().replacen(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            1
        )
    )
}

/// Atom 1.0 of the latest posts.
pub fn atom(site: &SiteConfig, posts: &[PostRecord]) -> String {
    use atom_syndication::{Category, Content, Entry, Feed, FixedDateTime, Generator, Link, Text};
    let fixed = |d: DateTime<Utc>| -> FixedDateTime { d.fixed_offset() };
    let entries = posts
        .iter()
        .map(|p| {
            let link = post_url(&site.base_url, &p.date);
            Entry {
                title: Text::plain(p.title.clone()),
                id: link.clone(),
                updated: fixed(p.published_at),
                published: Some(fixed(p.published_at)),
                links: vec![Link {
                    href: link,
                    rel: "alternate".into(),
                    mime_type: Some("text/html".into()),
                    ..Default::default()
                }],
                categories: p.tags.iter().map(|t| Category { term: t.clone(), ..Default::default() }).collect(),
                summary: Some(Text::plain(p.description.clone())),
                content: Some(Content {
                    value: Some(p.html.clone()),
                    content_type: Some("html".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    let feed = Feed {
        title: Text::plain(site.title.clone()),
        id: base(site),
        updated: fixed(newest(posts)),
        subtitle: Some(Text::plain(site.description.clone())),
        generator: Some(Generator {
            value: "Tidings".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
            uri: None,
        }),
        links: vec![
            Link {
                href: format!("{}atom.xml", base(site)),
                rel: "self".into(),
                mime_type: Some("application/atom+xml".into()),
                ..Default::default()
            },
            Link {
                href: base(site),
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Default::default()
            },
        ]
        .into_iter()
        .chain(site.websub_hub.iter().map(|hub| Link { href: hub.clone(), rel: "hub".into(), ..Default::default() }))
        .collect(),
        entries,
        lang: Some(site.language.clone()),
        ..Default::default()
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n",
        feed.to_string().trim_start_matches("<?xml version=\"1.0\"?>")
    )
}

/// JSON Feed 1.1 of the latest posts.
pub fn json_feed(site: &SiteConfig, posts: &[PostRecord]) -> String {
    let items: Vec<serde_json::Value> = posts
        .iter()
        .map(|p| {
            let link = post_url(&site.base_url, &p.date);
            json!({
                "id": link,
                "url": link,
                "title": p.title,
                "summary": p.description,
                "content_html": p.html,
                "date_published": p.published_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "tags": p.tags,
            })
        })
        .collect();
    let feed = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": site.title,
        "description": site.description,
        "home_page_url": base(site),
        "feed_url": format!("{}feed.json", base(site)),
        "language": site.language,
        "items": items,
    });
    let mut s = serde_json::to_string_pretty(&feed).unwrap_or_default();
    s.push('\n');
    s
}

/// RSS 2.0 of the stories carrying `tag`, one entry per story with every
/// source link.
pub fn tag_feed(site: &SiteConfig, tag: &str, stories: &[StoryRecord]) -> String {
    let items = stories
        .iter()
        .map(|s| {
            let link = post_url(&site.base_url, &s.post_date);
            rss::Item {
                title: Some(s.headline.clone()),
                link: Some(link.clone()),
                description: Some(s.html.clone()),
                guid: Some(rss::Guid { value: format!("{link}#story-{}", s.rank), permalink: false }),
                pub_date: Some(s.published_at.to_rfc2822()),
                categories: s.tags.iter().map(|t| rss::Category { name: t.clone(), domain: None }).collect(),
                ..Default::default()
            }
        })
        .collect();
    let updated = stories.iter().map(|s| s.published_at).max().unwrap_or_default();
    channel(
        site,
        &tag_feed_url(site, tag),
        &format!("{} · {tag}", site.title),
        &format!("{}（标签：{tag}）", site.description),
        updated,
        items,
    )
}
