//! `tidings migrate --to postgres://…`: a SQLite installation copied into
//! PostgreSQL, sources with their fetch state, items, published posts with
//! their stories, and article pages. Rows are matched by their natural
//! keys (a source's name, an item's source and key, a post's date, a
//! story's date and rank, a page's URL), so running it again copies only
//! what is missing.

use super::{PgStore, SqliteStore, StoreError};

/// A source row, with its fetch state.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRow {
    pub name: String,
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    pub last_fetch_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub consecutive_failures: i64,
    pub next_fetch_at: Option<i64>,
    pub retry_after_until: Option<i64>,
    pub body_hash: Option<String>,
}

/// An item row, named by its source's name instead of an id.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemRow {
    /// SQLite's id: where the next page of items starts.
    pub id: i64,
    pub source: String,
    pub key: String,
    pub guid: Option<String>,
    pub url: Option<String>,
    pub title: String,
    pub summary_html: String,
    pub content_html: Option<String>,
    pub text: String,
    pub image: Option<String>,
    pub authors: String,
    pub categories: String,
    pub published_at: i64,
    pub date_from_feed: bool,
    pub updated_at: Option<i64>,
    pub first_seen_at: i64,
    pub changed_at: i64,
    pub content_hash: String,
}

/// A published post with its stories; each story's items are named by
/// (source name, item key).
#[derive(Debug, Clone, PartialEq)]
pub struct PostRows {
    pub post: super::PostRecord,
    pub stories: Vec<(super::StoryRecord, Vec<(String, String)>)>,
}

/// An article page as cached for enrichment.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRow {
    pub url: String,
    pub fetched_at: i64,
    pub image: Option<String>,
    pub description: Option<String>,
    pub published_at: Option<i64>,
    pub canonical: Option<String>,
}

/// Rows of one kind: how many were read, and how many of them were new to
/// the destination (the rest were there already).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counted {
    pub read: u64,
    pub copied: u64,
}

impl Counted {
    fn add(&mut self, read: u64, copied: u64) {
        self.read += read;
        self.copied += copied;
    }
}

/// What a copy did, kind by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyReport {
    pub sources: Counted,
    pub items: Counted,
    pub posts: Counted,
    pub stories: Counted,
    pub pages: Counted,
}

/// Items copied per round trip.
const ITEM_PAGE: usize = 2_000;

/// Copies everything of `from` that `to` lacks.
pub fn sqlite_to_postgres(from: &SqliteStore, to: &PgStore) -> Result<CopyReport, StoreError> {
    let mut report = CopyReport::default();
    let sources = from.export_sources()?;
    let n = sources.len() as u64;
    report.sources.add(n, to.import_sources(sources)?);
    let mut after = 0;
    loop {
        let page = from.export_items(after, ITEM_PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let n = page.len() as u64;
        report.items.add(n, to.import_items(page)?);
    }
    for post in from.export_posts()? {
        let stories = post.stories.len() as u64;
        let (post_new, stories_new) = to.import_post(post)?;
        report.posts.add(1, u64::from(post_new));
        report.stories.add(stories, stories_new);
    }
    let pages = from.export_pages()?;
    let n = pages.len() as u64;
    report.pages.add(n, to.import_pages(pages)?);
    Ok(report)
}

impl std::fmt::Display for CopyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (kind, c) in [
            ("sources", self.sources),
            ("items", self.items),
            ("posts", self.posts),
            ("stories", self.stories),
            ("article pages", self.pages),
        ] {
            writeln!(
                f,
                "{kind:<14} {:>9} read, {:>9} copied, {:>9} there already",
                c.read,
                c.copied,
                c.read.saturating_sub(c.copied)
            )?;
        }
        Ok(())
    }
}
