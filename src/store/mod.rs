//! Storage: sources with their fetch state, and items. [`Storage`] is the
//! narrow interface the pipeline uses, with two backends: [`SqliteStore`]
//! (one file, one node) and [`PgStore`] (one PostgreSQL database that
//! several daemons can share). [`open`] picks one from the config.

pub mod copy;
mod postgres;
mod sqlite;

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::Item;
pub use postgres::{PgStore, redacted};
pub use sqlite::SqliteStore;

/// Storage failures, with the database path.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("database {path} is locked by another process (waited {waited_secs}s)")]
    Locked { path: PathBuf, waited_secs: u64 },
    #[error("cannot create folder for database {path}: {source}")]
    Dir { path: PathBuf, source: std::io::Error },
    #[error("database {database} has schema version {found}, newer than this Tidings knows ({known})")]
    TooNew { database: String, found: i64, known: i64 },
    #[error("database {url}: {source}")]
    Postgres { url: String, source: ::postgres::Error },
    #[error("database {url}: the connection is gone ({why})")]
    Disconnected { url: String, why: String },
}

/// What is remembered about a source between fetches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceState {
    pub name: String,
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// `ok`, `not_modified`, `failed` or `skipped`.
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    pub last_fetch_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    /// When the polling policy wants the source fetched next.
    pub next_fetch_at: Option<DateTime<Utc>>,
    /// The server asked not to be asked again before this (Retry-After).
    pub retry_after_until: Option<DateTime<Utc>>,
    pub item_count: u64,
    /// Hash of the last body stored in full: the same body again (servers
    /// that send no validators) is known unchanged without reading it.
    pub body_hash: Option<String>,
}

/// The outcome of one fetch, as recorded on the source.
#[derive(Debug, Clone, PartialEq)]
pub enum FetchRecord {
    /// New content: validators to send next time, and the body's hash.
    Fetched {
        etag: Option<String>,
        last_modified: Option<String>,
        body_hash: Option<String>,
    },
    NotModified {
        etag: Option<String>,
        last_modified: Option<String>,
    },
    Failed {
        error: String,
        retry_after: Option<DateTime<Utc>>,
    },
}

/// Counts from storing one source's items.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// A stored item as the digest reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredItem {
    pub id: i64,
    /// Name of the source it came from.
    pub source: String,
    pub title: String,
    pub url: Option<String>,
    pub text: String,
    pub summary_html: String,
    pub content_html: Option<String>,
    pub image: Option<String>,
    pub categories: Vec<String>,
    /// The feed's date, or the first-seen time when it gave none.
    pub published_at: DateTime<Utc>,
}

/// What enrichment changes in a stored item; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemPatch {
    pub image: Option<String>,
    pub summary_html: Option<String>,
    pub text: Option<String>,
    pub canonical: Option<String>,
}

/// A published daily post, as stored for the feeds.
#[derive(Debug, Clone, PartialEq)]
pub struct PostRecord {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    /// The whole post file: front matter and Markdown body.
    pub markdown: String,
    /// The body rendered to HTML.
    pub html: String,
    /// The digest time that closed the post's window.
    pub published_at: DateTime<Utc>,
}

/// A story of a published post, as stored for the per-tag feeds and for
/// recognising it on later days.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryRecord {
    pub post_date: String,
    /// 1-based position in the post.
    pub rank: usize,
    pub headline: String,
    /// The story's section rendered to HTML.
    pub html: String,
    pub tags: Vec<String>,
    pub published_at: DateTime<Utc>,
    /// Items the story was made of.
    pub item_ids: Vec<i64>,
}

/// A post as lists show it: no body.
#[derive(Debug, Clone, PartialEq)]
pub struct PostHead {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub title: String,
    pub description: String,
    pub published_at: DateTime<Utc>,
}

/// Why a date's digest is not this node's to write.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestHeld {
    pub owner: String,
    /// `None`: that tick is written; else when the holder's claim lapses.
    pub until: Option<DateTime<Utc>>,
}

/// A node's request for leases on the sources it may fetch.
#[derive(Debug, Clone)]
pub struct LeaseRequest {
    /// The node asking (see [`crate::ingest::node_id`]).
    pub owner: String,
    /// Its sources, each with the host it is fetched from.
    pub sources: Vec<(String, String)>,
    pub now: DateTime<Utc>,
    /// When the leases lapse unless the fetches are recorded first.
    pub until: DateTime<Utc>,
    /// Most sources leased by this request.
    pub limit: usize,
    /// Most sources of one host leased at once, by every node together.
    pub per_host: usize,
}

/// What a lease request got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leased {
    /// The sources leased, most overdue first.
    pub names: Vec<String>,
    /// Due sources are left that this request could not take (their host
    /// is at its limit, or another node is leasing them): worth asking
    /// again once some fetches are done.
    pub waiting: bool,
}

impl LeaseRequest {
    /// How many sources of one host this node may hold when `active` nodes
    /// (itself included) are fetching: an even share of `per_host`, rounded
    /// up (the host's limit still caps them all together).
    pub fn share(&self, active: u64) -> usize {
        let active = usize::try_from(active.max(1)).unwrap_or(usize::MAX);
        self.per_host.max(1).div_ceil(active)
    }
}

/// How long a node counts as fetching after its last lease request.
pub const CLAIMANT_TTL: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// The pipeline's view of storage.
pub trait Storage {
    /// Registers configured sources (by name), updating changed URLs.
    fn sync_sources(&mut self, sources: &[(String, String)]) -> Result<(), StoreError>;
    /// Every known source's state, configured or not.
    fn source_states(&self) -> Result<Vec<SourceState>, StoreError>;
    /// Records a fetch that stored nothing (304 or failure), and when to
    /// fetch next.
    fn record_fetch(
        &mut self,
        source: &str,
        record: &FetchRecord,
        at: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;
    /// Stores a source's items and its fetch state in one transaction.
    /// Exact duplicates (same key in the source, same canonical URL, same
    /// content hash) update the existing item, keeping its first-seen time.
    fn store_items(
        &mut self,
        source: &str,
        items: &[Item],
        record: &FetchRecord,
        at: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
    ) -> Result<StoreStats, StoreError>;
    /// Groups the writes that follow into one transaction, until
    /// [`Storage::end_batch`] commits them: many small writes, one commit.
    /// Each write inside stays atomic on its own.
    fn begin_batch(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Commits the writes since [`Storage::begin_batch`]. When the commit
    /// fails, none of them is written.
    fn end_batch(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Drops the writes since [`Storage::begin_batch`], if any are still
    /// pending: after a failed [`Storage::end_batch`], the store takes
    /// writes on their own again.
    fn abort_batch(&mut self) {}
    /// Canonical URLs of a source's stored items.
    fn item_urls(&self, source: &str) -> Result<Vec<String>, StoreError>;
    /// What an article page said when it was last read, if it was.
    fn cached_page(&self, url: &str) -> Result<Option<crate::scrape::PageMeta>, StoreError>;
    /// Remembers what an article page said.
    fn cache_page(&mut self, url: &str, meta: &crate::scrape::PageMeta, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Fills an item from its article page. When the page's canonical link
    /// is another stored item's URL, the two are one item: this one is
    /// removed and `Some(other)` returned.
    fn enrich_item(&mut self, id: i64, patch: &ItemPatch) -> Result<Option<i64>, StoreError>;
    /// Leases to `request.owner` what it may fetch now of its sources: those
    /// due (never fetched, or their next fetch time reached, and no
    /// Retry-After pending) and not leased by anyone, most overdue first
    /// and hosts taken in turn, at most `limit`. A host never has more than
    /// `per_host` sources leased at once by all nodes together, and a node
    /// takes at most its share of that while others are working too.
    /// Recording the fetch releases the lease; a node that dies loses its
    /// leases at `until`. This is how several daemons on one database share
    /// the fetching and keep to each server's limits, each source fetched
    /// by one of them.
    fn claim_due(&mut self, request: &LeaseRequest) -> Result<Leased, StoreError>;
    /// Claims the digest of `date` (`YYYY-MM-DD`) at the schedule's tick
    /// `tick` for `owner` until `until`: `Ok(None)` when claimed,
    /// `Ok(Some(held))` when another node holds that tick or has written
    /// it. Exactly one node runs each digest tick; a node that dies
    /// mid-digest lets another take the tick once its claim lapses.
    fn claim_digest(
        &mut self,
        date: &str,
        owner: &str,
        tick: DateTime<Utc>,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<DigestHeld>, StoreError>;
    /// Marks `owner`'s digest of `date` at `tick` done: no node runs that
    /// tick again.
    fn finish_digest(
        &mut self,
        date: &str,
        tick: DateTime<Utc>,
        owner: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Drops every lease `owner` holds: a node that restarts takes back at
    /// once what it was fetching when it stopped. How many were held.
    fn release_leases(&mut self, owner: &str) -> Result<u64, StoreError>;
    /// Moves a source's next polling time.
    fn set_next_fetch(&mut self, source: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// New items a source brought since `since` (for the polling policy).
    fn entries_since(&self, source: &str, since: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Items whose date falls in `[start, end)`, oldest first.
    fn items_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Vec<StoredItem>, StoreError>;
    /// Stories of posts dated in `[from, before)` (`YYYY-MM-DD`), with their items.
    fn stories_between(&self, from: &str, before: &str) -> Result<Vec<(StoryRecord, Vec<StoredItem>)>, StoreError>;
    /// Stores a post and its stories, replacing any earlier run for that date,
    /// in one transaction.
    fn save_post(&mut self, post: &PostRecord, stories: &[StoryRecord]) -> Result<(), StoreError>;
    /// A number that grows with every saved post: a node that sees it
    /// change writes its copy of the output again.
    fn publication_version(&self) -> Result<i64, StoreError>;
    /// The post of a date, if one was written.
    fn post(&self, date: &str) -> Result<Option<PostRecord>, StoreError>;
    /// The newest posts, newest first.
    fn recent_posts(&self, limit: usize) -> Result<Vec<PostRecord>, StoreError>;
    /// The newest stories carrying `tag`, newest first.
    fn stories_with_tag(&self, tag: &str, limit: usize) -> Result<Vec<StoryRecord>, StoreError>;
    /// The newest `limit` posts, without their bodies, newest first.
    fn post_list(&self, limit: usize) -> Result<Vec<PostHead>, StoreError>;
    /// Stories of posts dated in `[from, before)`, newest day first, in
    /// their order in the post; without their items.
    fn stories_of_posts(&self, from: &str, before: &str) -> Result<Vec<StoryRecord>, StoreError>;
}

/// A stored Unix time, when it is one chrono can hold.
fn from_ts(t: Option<i64>) -> Option<DateTime<Utc>> {
    t.and_then(|t| chrono::TimeZone::timestamp_opt(&Utc, t, 0).single())
}

/// A list stored as a JSON array; unreadable means empty.
fn json_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

/// A list as the JSON array it is stored as.
fn json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

/// The configured backend, open and migrated: a `postgres://` URL in
/// `[storage] database` (or `TIDINGS_DATABASE_URL`) selects PostgreSQL,
/// anything else is a SQLite file.
pub fn open(storage: &crate::config::StorageConfig) -> Result<Store, StoreError> {
    match storage.postgres_url() {
        Some(url) => PgStore::connect(url).map(Store::Postgres),
        None => SqliteStore::open(&storage.database, Duration::from_secs(storage.busy_timeout_secs)).map(Store::Sqlite),
    }
}

/// Either backend, as the commands and the daemon hold it.
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// Calls the same method on whichever backend `self` holds.
macro_rules! on_backend {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            Store::Sqlite($s) => $call,
            Store::Postgres($s) => $call,
        }
    };
}

impl Store {
    /// Whether the database answers a trivial query.
    pub fn ping(&self) -> Result<(), StoreError> {
        on_backend!(self, s => s.ping())
    }

    /// How many sources `owner` holds leases on at `now`.
    pub fn leases_held(&self, owner: &str, now: DateTime<Utc>) -> Result<u64, StoreError> {
        on_backend!(self, s => s.leases_held(owner, now))
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }
}

impl Storage for Store {
    fn sync_sources(&mut self, sources: &[(String, String)]) -> Result<(), StoreError> {
        on_backend!(self, s => s.sync_sources(sources))
    }
    fn source_states(&self) -> Result<Vec<SourceState>, StoreError> {
        on_backend!(self, s => s.source_states())
    }
    fn record_fetch(
        &mut self,
        source: &str,
        record: &FetchRecord,
        at: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        on_backend!(self, s => s.record_fetch(source, record, at, next))
    }
    fn store_items(
        &mut self,
        source: &str,
        items: &[Item],
        record: &FetchRecord,
        at: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
    ) -> Result<StoreStats, StoreError> {
        on_backend!(self, s => s.store_items(source, items, record, at, next))
    }
    fn begin_batch(&mut self) -> Result<(), StoreError> {
        on_backend!(self, s => s.begin_batch())
    }
    fn end_batch(&mut self) -> Result<(), StoreError> {
        on_backend!(self, s => s.end_batch())
    }
    fn abort_batch(&mut self) {
        on_backend!(self, s => s.abort_batch())
    }
    fn item_urls(&self, source: &str) -> Result<Vec<String>, StoreError> {
        on_backend!(self, s => s.item_urls(source))
    }
    fn cached_page(&self, url: &str) -> Result<Option<crate::scrape::PageMeta>, StoreError> {
        on_backend!(self, s => s.cached_page(url))
    }
    fn cache_page(&mut self, url: &str, meta: &crate::scrape::PageMeta, at: DateTime<Utc>) -> Result<(), StoreError> {
        on_backend!(self, s => s.cache_page(url, meta, at))
    }
    fn enrich_item(&mut self, id: i64, patch: &ItemPatch) -> Result<Option<i64>, StoreError> {
        on_backend!(self, s => s.enrich_item(id, patch))
    }
    fn claim_due(&mut self, request: &LeaseRequest) -> Result<Leased, StoreError> {
        on_backend!(self, s => s.claim_due(request))
    }
    fn claim_digest(
        &mut self,
        date: &str,
        owner: &str,
        tick: DateTime<Utc>,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<DigestHeld>, StoreError> {
        on_backend!(self, s => s.claim_digest(date, owner, tick, now, until))
    }
    fn finish_digest(
        &mut self,
        date: &str,
        tick: DateTime<Utc>,
        owner: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_backend!(self, s => s.finish_digest(date, tick, owner, at))
    }
    fn release_leases(&mut self, owner: &str) -> Result<u64, StoreError> {
        on_backend!(self, s => s.release_leases(owner))
    }
    fn set_next_fetch(&mut self, source: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        on_backend!(self, s => s.set_next_fetch(source, at))
    }
    fn entries_since(&self, source: &str, since: DateTime<Utc>) -> Result<u64, StoreError> {
        on_backend!(self, s => s.entries_since(source, since))
    }
    fn items_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Vec<StoredItem>, StoreError> {
        on_backend!(self, s => s.items_between(start, end))
    }
    fn stories_between(&self, from: &str, before: &str) -> Result<Vec<(StoryRecord, Vec<StoredItem>)>, StoreError> {
        on_backend!(self, s => s.stories_between(from, before))
    }
    fn save_post(&mut self, post: &PostRecord, stories: &[StoryRecord]) -> Result<(), StoreError> {
        on_backend!(self, s => s.save_post(post, stories))
    }
    fn publication_version(&self) -> Result<i64, StoreError> {
        on_backend!(self, s => s.publication_version())
    }
    fn post(&self, date: &str) -> Result<Option<PostRecord>, StoreError> {
        on_backend!(self, s => s.post(date))
    }
    fn recent_posts(&self, limit: usize) -> Result<Vec<PostRecord>, StoreError> {
        on_backend!(self, s => s.recent_posts(limit))
    }
    fn stories_with_tag(&self, tag: &str, limit: usize) -> Result<Vec<StoryRecord>, StoreError> {
        on_backend!(self, s => s.stories_with_tag(tag, limit))
    }
    fn post_list(&self, limit: usize) -> Result<Vec<PostHead>, StoreError> {
        on_backend!(self, s => s.post_list(limit))
    }
    fn stories_of_posts(&self, from: &str, before: &str) -> Result<Vec<StoryRecord>, StoreError> {
        on_backend!(self, s => s.stories_of_posts(from, before))
    }
}
