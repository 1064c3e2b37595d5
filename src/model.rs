//! Plain data types that flow between the pipeline's stages:
//! fetch → decode/parse ([`RawFeed`]) → normalize ([`Item`]) → store.

use chrono::{DateTime, Utc};

/// A feed as parsed, before any normalization: what the publisher wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawFeed {
    pub format: FeedFormat,
    pub title: Option<String>,
    pub link: Option<String>,
    pub items: Vec<RawItem>,
    /// Repairs the lenient pass had to make for the feed to parse.
    pub repairs: Vec<String>,
    /// The feed's `<ttl>`: minutes it may be cached.
    pub ttl_minutes: Option<u32>,
    /// The feed's own authors, for entries that name none (RFC 4287 §4.2.1).
    pub authors: Vec<String>,
}

/// The syntax a feed was written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FeedFormat {
    #[default]
    Rss2,
    Rss1,
    Rss0,
    Atom,
    Json,
    /// A web page read with CSS selectors.
    Html,
}

/// One entry as the publisher wrote it. HTML fields are unsanitized.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawItem {
    /// The publisher's own id (guid / atom:id), when it gave one.
    pub guid: Option<String>,
    pub title: Option<String>,
    /// Whether `title` is HTML markup rather than text.
    pub title_is_html: bool,
    pub link: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
    pub summary: Option<String>,
    pub content: Option<String>,
    pub categories: Vec<String>,
    /// From an enclosure, media:content, media:thumbnail or itunes:image.
    pub image: Option<String>,
    /// The first enclosure (or JSON Feed attachment) of any type: names an
    /// item that has nothing else to show, such as a podcast episode.
    pub enclosure: Option<String>,
    /// A date the item gave that could not be read (it takes its first-seen
    /// time instead), for the source's warning.
    pub unparsed_date: Option<String>,
}

/// A normalized item, ready to store: identity decided, URLs canonical,
/// HTML sanitized, plain text extracted.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Identity within its source: `guid:…`, `url:…` or `hash:…`.
    pub key: String,
    pub guid: Option<String>,
    /// Canonical http(s) URL of the article.
    pub url: Option<String>,
    /// Plain-text title, entities decoded, whitespace folded.
    pub title: String,
    /// Sanitized HTML of the summary (or of the content when no summary).
    pub summary_html: String,
    /// Sanitized HTML of the full content, when the feed carries it.
    pub content_html: Option<String>,
    /// Plain text of the content (or summary), for matching and summaries.
    pub text: String,
    pub image: Option<String>,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
    /// When the publisher says it was published; `None` when it did not say
    /// (or said nonsense), in which case the first-seen time stands in.
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    /// Hash of the folded title and text: catches the same article re-posted.
    pub content_hash: String,
}
