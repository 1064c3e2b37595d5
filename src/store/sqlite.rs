//! The SQLite backend: one file, WAL mode, numbered schema migrations.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    FetchRecord, ItemPatch, LeaseRequest, Leased, PostHead, PostRecord, SourceState, Storage, StoreError, StoreStats,
    StoredItem, StoryRecord, from_ts, json, json_list,
};
use crate::model::Item;
use crate::scrape::PageMeta;

/// Schema migrations; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    // 1: sources and items
    "CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        url TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        last_status TEXT,
        last_error TEXT,
        last_fetch_at INTEGER,
        last_success_at INTEGER,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        next_fetch_at INTEGER
    );
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        guid TEXT,
        url TEXT,
        title TEXT NOT NULL,
        summary_html TEXT NOT NULL,
        content_html TEXT,
        text TEXT NOT NULL,
        image TEXT,
        authors TEXT NOT NULL,
        categories TEXT NOT NULL,
        published_at INTEGER NOT NULL,
        date_from_feed INTEGER NOT NULL,
        updated_at INTEGER,
        first_seen_at INTEGER NOT NULL,
        changed_at INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        UNIQUE (source_id, key)
    );
    CREATE INDEX items_url ON items(url) WHERE url IS NOT NULL;
    CREATE INDEX items_source_hash ON items(source_id, content_hash);
    CREATE INDEX items_published ON items(published_at);",
    // 2: published posts and their stories
    "CREATE TABLE posts (
        date TEXT PRIMARY KEY,
        slug TEXT NOT NULL,
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        tags TEXT NOT NULL,
        markdown TEXT NOT NULL,
        html TEXT NOT NULL,
        published_at INTEGER NOT NULL
    );
    CREATE TABLE stories (
        id INTEGER PRIMARY KEY,
        post_date TEXT NOT NULL REFERENCES posts(date) ON DELETE CASCADE,
        rank INTEGER NOT NULL,
        headline TEXT NOT NULL,
        html TEXT NOT NULL,
        tags TEXT NOT NULL,
        published_at INTEGER NOT NULL,
        UNIQUE (post_date, rank)
    );
    CREATE TABLE story_items (
        story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
        item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        PRIMARY KEY (story_id, item_id)
    );
    CREATE INDEX story_items_item ON story_items(item_id);
    CREATE TABLE story_tags (
        story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        PRIMARY KEY (tag, story_id)
    );",
    // 3: Retry-After kept apart from the polling schedule
    "ALTER TABLE sources ADD COLUMN retry_after_until INTEGER;
    CREATE INDEX items_source_seen ON items(source_id, first_seen_at);",
    // 4: article pages read for enrichment
    "CREATE TABLE pages (
        url TEXT PRIMARY KEY,
        fetched_at INTEGER NOT NULL,
        image TEXT,
        description TEXT,
        published_at INTEGER,
        canonical TEXT
    );",
    // 5: the last stored body's hash, to skip unchanged feeds without ETags
    "ALTER TABLE sources ADD COLUMN body_hash TEXT;",
    // 6: fetch leases (one node here, the same contract as PostgreSQL's)
    "ALTER TABLE sources ADD COLUMN lease_owner TEXT;
    ALTER TABLE sources ADD COLUMN lease_until INTEGER;",
    // 7: who writes each date's digest
    "CREATE TABLE digest_claims (
        date TEXT NOT NULL,
        tick INTEGER NOT NULL,
        owner TEXT NOT NULL,
        claimed_until INTEGER NOT NULL,
        done_at INTEGER,
        PRIMARY KEY (date, tick)
    );",
    // 8: a counter of saved posts, for nodes keeping copies of the output
    "CREATE TABLE publication (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
    INSERT INTO publication (id, version) VALUES (1, 0);",
    // 9: nodes fetching now, for per-host shares; leases found by index
    "CREATE TABLE claimants (owner TEXT PRIMARY KEY, active_until INTEGER NOT NULL);
    CREATE INDEX sources_leased ON sources(lease_until) WHERE lease_until IS NOT NULL;",
];

/// [`Storage::claim_due`]: one immediate transaction, so that requests
/// from processes sharing the file take turns.
fn claim_due(conn: &mut Connection, request: &LeaseRequest) -> rusqlite::Result<Leased> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Pairs as JSON arrays: [["name", "host"], …].
    let sources = serde_json::to_string(&request.sources).unwrap_or_else(|_| "[]".into());
    let owner = &request.owner;
    let now = ts(request.now);
    let active_until = ts(request.now.checked_add_signed(super::CLAIMANT_TTL).unwrap_or(request.now));
    tx.prepare_cached(
        "INSERT INTO claimants (owner, active_until) VALUES (?1, ?2)
         ON CONFLICT (owner) DO UPDATE SET active_until = excluded.active_until",
    )?
    .execute(params![owner, active_until])?;
    let active: i64 = tx
        .prepare_cached("SELECT COUNT(*) FROM claimants WHERE active_until > ?1 OR owner = ?2")?
        .query_row(params![now, owner], |r| r.get(0))?;
    let share = i64::try_from(request.share(u64::try_from(active).unwrap_or(1))).unwrap_or(i64::MAX);
    let per_host = i64::try_from(request.per_host.max(1)).unwrap_or(i64::MAX);
    let limit = i64::try_from(request.limit).unwrap_or(i64::MAX);
    // The same query as PostgreSQL's: per host what every node and this one
    // hold; due sources numbered within their host, hosts taken in turn.
    let mut got: Vec<(String, Option<i64>, i64)> = tx
        .prepare_cached(
            "WITH req(name, host) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1)),
             busy AS (SELECT r.host, COUNT(*) AS n, SUM(s.lease_owner = ?2) AS mine
                      FROM sources s JOIN req r ON r.name = s.name WHERE s.lease_until > ?3 GROUP BY r.host),
             due AS (SELECT s.id, r.host, s.next_fetch_at,
                            row_number() OVER (PARTITION BY r.host ORDER BY s.next_fetch_at NULLS FIRST, s.id) AS rn
                     FROM sources s JOIN req r ON r.name = s.name
                     WHERE (s.next_fetch_at IS NULL OR s.next_fetch_at <= ?3)
                       AND (s.retry_after_until IS NULL OR s.retry_after_until <= ?3)
                       AND (s.lease_until IS NULL OR s.lease_until <= ?3)),
             pick AS (SELECT d.id FROM due d LEFT JOIN busy b ON b.host = d.host
                      WHERE d.rn <= min(?4 - COALESCE(b.n, 0), ?5 - COALESCE(b.mine, 0))
                      ORDER BY d.rn, d.next_fetch_at NULLS FIRST, d.id LIMIT ?6)
             UPDATE sources SET lease_owner = ?2, lease_until = ?7 WHERE id IN (SELECT id FROM pick)
             RETURNING name, next_fetch_at, id",
        )?
        .query_map(params![sources, owner, now, per_host, share, limit, ts(request.until)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    got.sort_by_key(|(_, next, id)| (next.is_some(), *next, *id));
    let waiting = got.len() < request.limit
        && tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM sources
                   WHERE name IN (SELECT json_extract(value, '$[0]') FROM json_each(?1))
                   AND (next_fetch_at IS NULL OR next_fetch_at <= ?2)
                   AND (retry_after_until IS NULL OR retry_after_until <= ?2)
                   AND (lease_until IS NULL OR lease_until <= ?2))",
            )?
            .query_row(params![sources, now], |r| r.get(0))?;
    if got.is_empty() && !waiting {
        // Nothing left to fetch: this node no longer takes a share.
        tx.prepare_cached("DELETE FROM claimants WHERE owner = ?1")?.execute([owner])?;
    }
    tx.commit()?;
    Ok(Leased { names: got.into_iter().map(|(name, _, _)| name).collect(), waiting })
}

const ITEM_COLUMNS: &str =
    "i.id, s.name, i.title, i.url, i.text, i.summary_html, i.content_html, i.image, i.categories, i.published_at";

fn stored_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredItem> {
    let categories: String = r.get(8)?;
    Ok(StoredItem {
        id: r.get(0)?,
        source: r.get(1)?,
        title: r.get(2)?,
        url: r.get(3)?,
        text: r.get(4)?,
        summary_html: r.get(5)?,
        content_html: r.get(6)?,
        image: r.get(7)?,
        categories: serde_json::from_str(&categories).unwrap_or_default(),
        published_at: from_ts(r.get(9)?).unwrap_or_default(),
    })
}

fn post_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<PostRecord> {
    Ok(PostRecord {
        date: r.get(0)?,
        slug: r.get(1)?,
        title: r.get(2)?,
        description: r.get(3)?,
        tags: json_list(&r.get::<_, String>(4)?),
        markdown: r.get(5)?,
        html: r.get(6)?,
        published_at: from_ts(r.get(7)?).unwrap_or_default(),
    })
}

fn story_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, StoryRecord)> {
    Ok((
        r.get(0)?,
        StoryRecord {
            post_date: r.get(1)?,
            rank: r.get::<_, i64>(2)?.max(0) as usize,
            headline: r.get(3)?,
            html: r.get(4)?,
            tags: json_list(&r.get::<_, String>(5)?),
            published_at: from_ts(r.get(6)?).unwrap_or_default(),
            item_ids: Vec::new(),
        },
    ))
}

const STORY_COLUMNS: &str = "st.id, st.post_date, st.rank, st.headline, st.html, st.tags, st.published_at";

/// A database error, told apart when it is another process holding a lock.
fn store_error(path: &Path, waited: Duration, source: rusqlite::Error) -> StoreError {
    let busy = matches!(
        source.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    );
    if busy {
        StoreError::Locked { path: path.to_path_buf(), waited_secs: waited.as_secs() }
    } else {
        StoreError::Sqlite { path: path.to_path_buf(), source }
    }
}

/// A SQLite database file holding Tidings' state.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    busy_timeout: Duration,
}

fn ts(d: DateTime<Utc>) -> i64 {
    d.timestamp()
}

impl SqliteStore {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub fn open(path: &Path, busy_timeout: Duration) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir { path: path.to_path_buf(), source })?;
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite { path: path.to_path_buf(), source })?;
        let mut store = SqliteStore { conn, path: path.to_path_buf(), busy_timeout };
        store.setup()?;
        Ok(store)
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        store_error(&self.path, self.busy_timeout, source)
    }

    fn setup(&mut self) -> Result<(), StoreError> {
        self.conn.busy_timeout(self.busy_timeout).map_err(|e| self.err(e))?;
        // Every statement of the write path stays compiled: SQL parsed again
        // for each of 1,000 sources showed in a refetch's profile.
        self.conn.set_prepared_statement_cache_capacity(64);
        // A stable query plan: without this, the bundled SQLite (built with
        // STAT4) recompiles the per-item lookups on every new bound value,
        // a fifth of ingest time. Our lookups are all by index anyway.
        self.conn
            .set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .map_err(|e| self.err(e))?;
        self.conn
            // WAL with synchronous = NORMAL: a commit survives the process
            // being killed at any point (it is in the log before the call
            // returns); only a power cut may lose the last commits, never
            // corrupt the file. FULL would cost an fsync per source. A batch's
            // per-source savepoints journal in memory, and a 16 MB page cache
            // keeps a batch of sources from spilling pages mid-transaction.
            // 16 KB pages (for new files; an existing file keeps its own):
            // an item's HTML and text are kilobytes, which 4 KB pages spread
            // over overflow chains; the writer stores 1.6× as fast.
            .execute_batch(
                "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
                 PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16384;",
            )
            .map_err(|e| self.err(e))?;
        let version: i64 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| self.err(e))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew { database: self.path.display().to_string(), found: version, known });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let (path, wait) = (self.path.clone(), self.busy_timeout);
            let err = |e| store_error(&path, wait, e);
            let tx = self.conn.transaction().map_err(err)?;
            tx.execute_batch(sql).map_err(err)?;
            tx.pragma_update(None, "user_version", i as i64 + 1).map_err(err)?;
            tx.commit().map_err(err)?;
        }
        Ok(())
    }

    /// Whether the database answers a trivial query.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.conn.query_row("SELECT 1", [], |_| Ok(())).map_err(|e| self.err(e))
    }

    /// Every source with its fetch state, for [`super::copy`].
    pub fn export_sources(&self) -> Result<Vec<super::copy::SourceRow>, StoreError> {
        let run = || -> rusqlite::Result<Vec<super::copy::SourceRow>> {
            let mut stmt = self.conn.prepare(
                "SELECT name, url, etag, last_modified, last_status, last_error, last_fetch_at, last_success_at,
                 consecutive_failures, next_fetch_at, retry_after_until, body_hash FROM sources ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(super::copy::SourceRow {
                    name: r.get(0)?,
                    url: r.get(1)?,
                    etag: r.get(2)?,
                    last_modified: r.get(3)?,
                    last_status: r.get(4)?,
                    last_error: r.get(5)?,
                    last_fetch_at: r.get(6)?,
                    last_success_at: r.get(7)?,
                    consecutive_failures: r.get(8)?,
                    next_fetch_at: r.get(9)?,
                    retry_after_until: r.get(10)?,
                    body_hash: r.get(11)?,
                })
            })?;
            rows.collect()
        };
        run().map_err(|e| self.err(e))
    }

    /// Up to `limit` items with ids above `after`, in id order.
    pub fn export_items(&self, after: i64, limit: usize) -> Result<Vec<super::copy::ItemRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let run = || -> rusqlite::Result<Vec<super::copy::ItemRow>> {
            let mut stmt = self.conn.prepare_cached(
                "SELECT i.id, s.name, i.key, i.guid, i.url, i.title, i.summary_html, i.content_html, i.text, i.image,
                 i.authors, i.categories, i.published_at, i.date_from_feed, i.updated_at, i.first_seen_at,
                 i.changed_at, i.content_hash
                 FROM items i JOIN sources s ON s.id = i.source_id WHERE i.id > ?1 ORDER BY i.id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![after, limit], |r| {
                Ok(super::copy::ItemRow {
                    id: r.get(0)?,
                    source: r.get(1)?,
                    key: r.get(2)?,
                    guid: r.get(3)?,
                    url: r.get(4)?,
                    title: r.get(5)?,
                    summary_html: r.get(6)?,
                    content_html: r.get(7)?,
                    text: r.get(8)?,
                    image: r.get(9)?,
                    authors: r.get(10)?,
                    categories: r.get(11)?,
                    published_at: r.get(12)?,
                    date_from_feed: r.get(13)?,
                    updated_at: r.get(14)?,
                    first_seen_at: r.get(15)?,
                    changed_at: r.get(16)?,
                    content_hash: r.get(17)?,
                })
            })?;
            rows.collect()
        };
        run().map_err(|e| self.err(e))
    }

    /// Every published post with its stories, their items named by source and key.
    pub fn export_posts(&self) -> Result<Vec<super::copy::PostRows>, StoreError> {
        let run = || -> rusqlite::Result<Vec<super::copy::PostRows>> {
            let mut posts = self.conn.prepare(
                "SELECT date, slug, title, description, tags, markdown, html, published_at FROM posts ORDER BY date",
            )?;
            let mut stories = self
                .conn
                .prepare(&format!("SELECT {STORY_COLUMNS} FROM stories st WHERE st.post_date = ?1 ORDER BY st.rank"))?;
            let mut items = self.conn.prepare(
                "SELECT s.name, i.key FROM story_items si JOIN items i ON i.id = si.item_id
                 JOIN sources s ON s.id = i.source_id WHERE si.story_id = ?1 ORDER BY i.id",
            )?;
            let found: Vec<PostRecord> = posts.query_map([], post_record)?.collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(found.len());
            for post in found {
                let its: Vec<(i64, StoryRecord)> =
                    stories.query_map([&post.date], story_record)?.collect::<Result<_, _>>()?;
                let mut with_items = Vec::with_capacity(its.len());
                for (id, story) in its {
                    let keys: Vec<(String, String)> =
                        items.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
                    with_items.push((story, keys));
                }
                out.push(super::copy::PostRows { post, stories: with_items });
            }
            Ok(out)
        };
        run().map_err(|e| self.err(e))
    }

    /// Every cached article page.
    pub fn export_pages(&self) -> Result<Vec<super::copy::PageRow>, StoreError> {
        let run = || -> rusqlite::Result<Vec<super::copy::PageRow>> {
            let mut stmt = self.conn.prepare(
                "SELECT url, fetched_at, image, description, published_at, canonical FROM pages ORDER BY url",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(super::copy::PageRow {
                    url: r.get(0)?,
                    fetched_at: r.get(1)?,
                    image: r.get(2)?,
                    description: r.get(3)?,
                    published_at: r.get(4)?,
                    canonical: r.get(5)?,
                })
            })?;
            rows.collect()
        };
        run().map_err(|e| self.err(e))
    }

    /// How many sources `owner` holds leases on at `now`.
    pub fn leases_held(&self, owner: &str, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM sources WHERE lease_owner = ?1 AND lease_until > ?2",
                params![owner, ts(now)],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(|e| self.err(e))
    }

    /// The underlying connection, for read-only queries of later stages and tests.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Schema version in use.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| self.err(e))
    }
}

fn apply_record(
    tx: &Connection,
    source_id: i64,
    record: &FetchRecord,
    at: i64,
    next: Option<i64>,
) -> rusqlite::Result<()> {
    match record {
        FetchRecord::Fetched { etag, last_modified, .. } | FetchRecord::NotModified { etag, last_modified } => {
            let status = if matches!(record, FetchRecord::Fetched { .. }) { "ok" } else { "not_modified" };
            tx.prepare_cached(
                "UPDATE sources SET etag = COALESCE(?2, etag), last_modified = COALESCE(?3, last_modified),
                 last_status = ?4, last_error = NULL, last_fetch_at = ?5, last_success_at = ?5,
                 consecutive_failures = 0, next_fetch_at = ?6, retry_after_until = NULL,
                 lease_owner = NULL, lease_until = NULL WHERE id = ?1",
            )?
            .execute(params![source_id, etag, last_modified, status, at, next])?;
            if let FetchRecord::Fetched { body_hash, .. } = record {
                tx.prepare_cached("UPDATE sources SET body_hash = ?2 WHERE id = ?1")?
                    .execute(params![source_id, body_hash])?;
            }
        }
        FetchRecord::Failed { error, retry_after } => {
            tx.prepare_cached(
                "UPDATE sources SET last_status = 'failed', last_error = ?2, last_fetch_at = ?3,
                 consecutive_failures = consecutive_failures + 1, retry_after_until = ?4, next_fetch_at = ?5,
                 lease_owner = NULL, lease_until = NULL WHERE id = ?1",
            )?
            .execute(params![source_id, error, at, retry_after.map(ts), next])?;
        }
    }
    Ok(())
}

fn source_id(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT id FROM sources WHERE name = ?1")?.query_row([name], |r| r.get(0))
}

/// The stored fields that decide whether an item changed.
struct Existing {
    id: i64,
    source_id: i64,
    content_hash: String,
    url: Option<String>,
    image: Option<String>,
    published_at: i64,
    date_from_feed: bool,
}

fn find_existing(tx: &Connection, source_id: i64, item: &Item) -> rusqlite::Result<Option<Existing>> {
    let cols = "id, source_id, content_hash, url, image, published_at, date_from_feed";
    let map = |r: &rusqlite::Row<'_>| {
        Ok(Existing {
            id: r.get(0)?,
            source_id: r.get(1)?,
            content_hash: r.get(2)?,
            url: r.get(3)?,
            image: r.get(4)?,
            published_at: r.get(5)?,
            date_from_feed: r.get(6)?,
        })
    };
    let by_key = tx
        .prepare_cached(&format!("SELECT {cols} FROM items WHERE source_id = ?1 AND key = ?2"))?
        .query_row(params![source_id, item.key], map)
        .optional()?;
    if by_key.is_some() {
        return Ok(by_key);
    }
    // An item told apart from another of its feed (`…|url:…`, `…|hash:…`)
    // is only ever itself.
    if item.key.contains('|') {
        return Ok(None);
    }
    // The same article of this source under another key (a guid that came
    // later). Two guids are two items, whatever page they link to. Another
    // source's item at the same URL stays that source's own: the digest
    // shows the two as one story.
    if let Some(url) = &item.url {
        let other_guids = if item.key.starts_with("guid:") { " AND key NOT LIKE 'guid:%'" } else { "" };
        let by_url = tx
            .prepare_cached(&format!(
                "SELECT {cols} FROM items WHERE source_id = ?1 AND url = ?2{other_guids} ORDER BY id LIMIT 1"
            ))?
            .query_row(params![source_id, url], map)
            .optional()?;
        if by_url.is_some() {
            return Ok(by_url);
        }
    }
    tx.prepare_cached(&format!(
        "SELECT {cols} FROM items WHERE source_id = ?1 AND content_hash = ?2 ORDER BY id LIMIT 1"
    ))?
    .query_row(params![source_id, item.content_hash], map)
    .optional()
}

fn store_one(tx: &Connection, source_id: i64, item: &Item, at: i64) -> rusqlite::Result<Outcome> {
    let authors = json(&item.authors);
    let categories = json(&item.categories);
    let published = item.published.map(ts);
    match find_existing(tx, source_id, item)? {
        None => {
            tx.prepare_cached(
                "INSERT INTO items (source_id, key, guid, url, title, summary_html, content_html, text, image,
                 authors, categories, published_at, date_from_feed, updated_at, first_seen_at, changed_at, content_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?16)",
            )?
            .execute(params![
                source_id,
                item.key,
                item.guid,
                item.url,
                item.title,
                item.summary_html,
                item.content_html,
                item.text,
                item.image,
                authors,
                categories,
                published.unwrap_or(at),
                published.is_some(),
                item.updated.map(ts),
                at,
                item.content_hash,
            ])?;
            Ok(Outcome::New)
        }
        Some(e) => {
            let published_at = published.unwrap_or(e.published_at);
            let image = item.image.clone().or(e.image.clone());
            let changed = e.content_hash != item.content_hash
                || (item.url.is_some() && e.url != item.url)
                || e.image != image
                || (published.is_some() && published_at != e.published_at);
            if !changed {
                return Ok(Outcome::Unchanged);
            }
            let key = if e.source_id == source_id { Some(&item.key) } else { None };
            tx.prepare_cached(
                "UPDATE items SET key = COALESCE(?2, key), guid = COALESCE(?3, guid), url = COALESCE(?4, url),
                 title = ?5, summary_html = ?6, content_html = ?7, text = ?8, image = ?9, authors = ?10,
                 categories = ?11, published_at = ?12, date_from_feed = ?13, updated_at = ?14,
                 changed_at = ?15, content_hash = ?16 WHERE id = ?1",
            )?
            .execute(params![
                e.id,
                key,
                item.guid,
                item.url,
                item.title,
                item.summary_html,
                item.content_html,
                item.text,
                image,
                authors,
                categories,
                published_at,
                published.is_some() || e.date_from_feed,
                item.updated.map(ts),
                at,
                item.content_hash,
            ])?;
            Ok(Outcome::Updated)
        }
    }
}

enum Outcome {
    New,
    Updated,
    Unchanged,
}

impl Storage for SqliteStore {
    fn sync_sources(&mut self, sources: &[(String, String)]) -> Result<(), StoreError> {
        let (path, wait) = (self.path.clone(), self.busy_timeout);
        let wrap = |source| store_error(&path, wait, source);
        let tx = self.conn.transaction().map_err(wrap)?;
        {
            // A source whose URL changed starts over: old validators mean nothing there.
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO sources (name, url) VALUES (?1, ?2)
                     ON CONFLICT(name) DO UPDATE SET url = excluded.url, etag = NULL, last_modified = NULL,
                       body_hash = NULL, next_fetch_at = NULL, retry_after_until = NULL, consecutive_failures = 0
                     WHERE sources.url <> excluded.url",
                )
                .map_err(wrap)?;
            for (name, url) in sources {
                upsert.execute(params![name, url]).map_err(wrap)?;
            }
        }
        tx.commit().map_err(wrap)
    }

    fn source_states(&self) -> Result<Vec<SourceState>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name, url, etag, last_modified, last_status, last_error, last_fetch_at, last_success_at,
                 consecutive_failures, next_fetch_at, (SELECT COUNT(*) FROM items i WHERE i.source_id = s.id),
                 retry_after_until, body_hash
                 FROM sources s ORDER BY name",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SourceState {
                    name: r.get(0)?,
                    url: r.get(1)?,
                    etag: r.get(2)?,
                    last_modified: r.get(3)?,
                    last_status: r.get(4)?,
                    last_error: r.get(5)?,
                    last_fetch_at: from_ts(r.get(6)?),
                    last_success_at: from_ts(r.get(7)?),
                    consecutive_failures: r.get(8)?,
                    next_fetch_at: from_ts(r.get(9)?),
                    item_count: r.get::<_, i64>(10)?.max(0) as u64,
                    retry_after_until: from_ts(r.get(11)?),
                    body_hash: r.get(12)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    fn begin_batch(&mut self) -> Result<(), StoreError> {
        if self.conn.is_autocommit() {
            self.conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    fn end_batch(&mut self) -> Result<(), StoreError> {
        if !self.conn.is_autocommit()
            && let Err(e) = self.conn.execute_batch("COMMIT")
        {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(self.err(e));
        }
        Ok(())
    }

    fn abort_batch(&mut self) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }

    fn record_fetch(
        &mut self,
        source: &str,
        record: &FetchRecord,
        at: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let id = source_id(&self.conn, source).map_err(|e| self.err(e))?;
        apply_record(&self.conn, id, record, ts(at), next.map(ts)).map_err(|e| self.err(e))
    }

    fn item_urls(&self, source: &str) -> Result<Vec<String>, StoreError> {
        let run = || -> rusqlite::Result<Vec<String>> {
            let mut stmt = self.conn.prepare_cached(
                "SELECT i.url FROM items i JOIN sources s ON s.id = i.source_id WHERE s.name = ?1 AND i.url IS NOT NULL",
            )?;
            let rows = stmt.query_map([source], |r| r.get(0))?;
            rows.collect()
        };
        run().map_err(|e| self.err(e))
    }

    fn cached_page(&self, url: &str) -> Result<Option<PageMeta>, StoreError> {
        self.conn
            .query_row("SELECT image, description, published_at, canonical FROM pages WHERE url = ?1", [url], |r| {
                Ok(PageMeta {
                    image: r.get(0)?,
                    description: r.get(1)?,
                    published: from_ts(r.get(2)?),
                    canonical: r.get(3)?,
                    main_html: None,
                })
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    fn cache_page(&mut self, url: &str, meta: &PageMeta, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO pages (url, fetched_at, image, description, published_at, canonical)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![url, ts(at), meta.image, meta.description, meta.published.map(ts), meta.canonical],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn enrich_item(&mut self, id: i64, patch: &ItemPatch) -> Result<Option<i64>, StoreError> {
        let result = (|| {
            let tx = self.conn.transaction()?;
            if let Some(canonical) = &patch.canonical {
                let other: Option<i64> = tx
                    .query_row(
                        "SELECT id FROM items WHERE url = ?1 AND id <> ?2 ORDER BY id LIMIT 1",
                        params![canonical, id],
                        |r| r.get(0),
                    )
                    .optional()?;
                if let Some(other) = other {
                    tx.execute("DELETE FROM items WHERE id = ?1", [id])?;
                    tx.commit()?;
                    return Ok(Some(other));
                }
                tx.execute("UPDATE items SET url = ?2 WHERE id = ?1", params![id, canonical])?;
            }
            if let Some(image) = &patch.image {
                tx.execute("UPDATE items SET image = ?2 WHERE id = ?1 AND image IS NULL", params![id, image])?;
            }
            if let (Some(summary), Some(text)) = (&patch.summary_html, &patch.text) {
                tx.execute("UPDATE items SET summary_html = ?2, text = ?3 WHERE id = ?1", params![id, summary, text])?;
            }
            tx.commit()?;
            Ok(None)
        })();
        result.map_err(|e| self.err(e))
    }

    fn claim_due(&mut self, request: &LeaseRequest) -> Result<Leased, StoreError> {
        let result = claim_due(&mut self.conn, request);
        result.map_err(|e| self.err(e))
    }

    fn claim_digest(
        &mut self,
        date: &str,
        owner: &str,
        tick: DateTime<Utc>,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<super::DigestHeld>, StoreError> {
        let conn = &mut self.conn;
        let mut run = || -> rusqlite::Result<Option<super::DigestHeld>> {
            let tx = conn.transaction()?;
            let claimed = tx.execute(
                "INSERT INTO digest_claims (date, tick, owner, claimed_until) VALUES (?1, ?5, ?2, ?3)
                 ON CONFLICT (date, tick) DO UPDATE SET owner = excluded.owner, claimed_until = excluded.claimed_until
                 WHERE digest_claims.done_at IS NULL
                   AND (digest_claims.claimed_until <= ?4 OR digest_claims.owner = excluded.owner)",
                params![date, owner, ts(until), ts(now), ts(tick)],
            )?;
            let held = if claimed > 0 {
                None
            } else {
                let key = params![date, ts(tick)];
                tx.query_row(
                    "SELECT owner, claimed_until, done_at FROM digest_claims WHERE date = ?1 AND tick = ?2",
                    key,
                    |r| {
                        let done: Option<i64> = r.get(2)?;
                        Ok(Some(super::DigestHeld {
                            owner: r.get(0)?,
                            until: if done.is_some() { None } else { from_ts(r.get(1)?) },
                        }))
                    },
                )?
            };
            tx.commit()?;
            Ok(held)
        };
        let result = run();
        result.map_err(|e| self.err(e))
    }

    fn finish_digest(
        &mut self,
        date: &str,
        tick: DateTime<Utc>,
        owner: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE digest_claims SET done_at = ?4 WHERE date = ?1 AND tick = ?2 AND owner = ?3",
                params![date, ts(tick), owner, ts(at)],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn release_leases(&mut self, owner: &str) -> Result<u64, StoreError> {
        self.conn
            .execute("UPDATE sources SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?1", [owner])
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    fn set_next_fetch(&mut self, source: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE sources SET next_fetch_at = ?2 WHERE name = ?1")
            .and_then(|mut stmt| stmt.execute(params![source, ts(at)]))
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn entries_since(&self, source: &str, since: DateTime<Utc>) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM items i JOIN sources s ON s.id = i.source_id WHERE s.name = ?1 AND i.first_seen_at >= ?2",
                params![source, ts(since)],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as u64)
            .map_err(|e| self.err(e))
    }

    fn store_items(
        &mut self,
        source: &str,
        items: &[Item],
        record: &FetchRecord,
        at: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
    ) -> Result<StoreStats, StoreError> {
        let at = ts(at);
        let result = (|| {
            // A savepoint: its own transaction, or a part of a batch.
            let tx = self.conn.savepoint()?;
            let id = source_id(&tx, source)?;
            let mut stats = StoreStats::default();
            for item in items {
                match store_one(&tx, id, item, at)? {
                    Outcome::New => stats.new += 1,
                    Outcome::Updated => stats.updated += 1,
                    Outcome::Unchanged => stats.unchanged += 1,
                }
            }
            apply_record(&tx, id, record, at, next.map(ts))?;
            tx.commit()?;
            Ok(stats)
        })();
        result.map_err(|e| self.err(e))
    }

    fn items_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Vec<StoredItem>, StoreError> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM items i JOIN sources s ON s.id = i.source_id
             WHERE i.published_at >= ?1 AND i.published_at < ?2 ORDER BY i.published_at, i.id"
        );
        let run = || -> rusqlite::Result<Vec<StoredItem>> {
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![ts(start), ts(end)], stored_item)?;
            rows.collect()
        };
        run().map_err(|e| self.err(e))
    }

    fn stories_between(&self, from: &str, before: &str) -> Result<Vec<(StoryRecord, Vec<StoredItem>)>, StoreError> {
        let run = || -> rusqlite::Result<Vec<(StoryRecord, Vec<StoredItem>)>> {
            let mut stories = self.conn.prepare_cached(&format!(
                "SELECT {STORY_COLUMNS} FROM stories st WHERE st.post_date >= ?1 AND st.post_date < ?2
                 ORDER BY st.post_date, st.rank"
            ))?;
            let mut items = self.conn.prepare_cached(&format!(
                "SELECT {ITEM_COLUMNS} FROM story_items si JOIN items i ON i.id = si.item_id
                 JOIN sources s ON s.id = i.source_id WHERE si.story_id = ?1 ORDER BY i.published_at, i.id"
            ))?;
            let found: Vec<(i64, StoryRecord)> =
                stories.query_map([from, before], story_record)?.collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(found.len());
            for (id, mut story) in found {
                let its: Vec<StoredItem> = items.query_map([id], stored_item)?.collect::<Result<_, _>>()?;
                story.item_ids = its.iter().map(|i| i.id).collect();
                out.push((story, its));
            }
            Ok(out)
        };
        run().map_err(|e| self.err(e))
    }

    fn save_post(&mut self, post: &PostRecord, stories: &[StoryRecord]) -> Result<(), StoreError> {
        let result = (|| {
            let tx = self.conn.transaction()?;
            tx.execute("DELETE FROM posts WHERE date = ?1", [&post.date])?;
            tx.execute("UPDATE publication SET version = version + 1", [])?;
            tx.execute(
                "INSERT INTO posts (date, slug, title, description, tags, markdown, html, published_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    post.date,
                    post.slug,
                    post.title,
                    post.description,
                    json(&post.tags),
                    post.markdown,
                    post.html,
                    ts(post.published_at)
                ],
            )?;
            for story in stories {
                tx.execute(
                    "INSERT INTO stories (post_date, rank, headline, html, tags, published_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        story.post_date,
                        story.rank as i64,
                        story.headline,
                        story.html,
                        json(&story.tags),
                        ts(story.published_at)
                    ],
                )?;
                let id = tx.last_insert_rowid();
                for item in &story.item_ids {
                    tx.execute(
                        "INSERT OR IGNORE INTO story_items (story_id, item_id) VALUES (?1, ?2)",
                        params![id, item],
                    )?;
                }
                for tag in &story.tags {
                    tx.execute("INSERT OR IGNORE INTO story_tags (story_id, tag) VALUES (?1, ?2)", params![id, tag])?;
                }
            }
            tx.commit()
        })();
        result.map_err(|e| self.err(e))
    }

    fn publication_version(&self) -> Result<i64, StoreError> {
        self.conn.query_row("SELECT version FROM publication", [], |r| r.get(0)).map_err(|e| self.err(e))
    }

    fn post(&self, date: &str) -> Result<Option<PostRecord>, StoreError> {
        self.conn
            .query_row(
                "SELECT date, slug, title, description, tags, markdown, html, published_at FROM posts WHERE date = ?1",
                [date],
                post_record,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    fn recent_posts(&self, limit: usize) -> Result<Vec<PostRecord>, StoreError> {
        let run = || -> rusqlite::Result<Vec<PostRecord>> {
            let mut stmt = self.conn.prepare_cached(
                "SELECT date, slug, title, description, tags, markdown, html, published_at FROM posts
                 ORDER BY date DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit as i64], post_record)?;
            rows.collect()
        };
        run().map_err(|e| self.err(e))
    }

    fn stories_with_tag(&self, tag: &str, limit: usize) -> Result<Vec<StoryRecord>, StoreError> {
        let run = || -> rusqlite::Result<Vec<StoryRecord>> {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {STORY_COLUMNS} FROM story_tags t JOIN stories st ON st.id = t.story_id
                 WHERE t.tag = ?1 ORDER BY st.post_date DESC, st.rank LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![tag, limit as i64], story_record)?;
            rows.map(|r| r.map(|(_, s)| s)).collect()
        };
        run().map_err(|e| self.err(e))
    }

    fn post_list(&self, limit: usize) -> Result<Vec<PostHead>, StoreError> {
        let run = || -> rusqlite::Result<Vec<PostHead>> {
            let mut stmt = self.conn.prepare_cached(
                "SELECT date, title, description, published_at FROM posts ORDER BY date DESC LIMIT ?1",
            )?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = stmt.query_map([limit], |r| {
                Ok(PostHead {
                    date: r.get(0)?,
                    title: r.get(1)?,
                    description: r.get(2)?,
                    published_at: from_ts(r.get(3)?).unwrap_or_default(),
                })
            })?;
            rows.collect()
        };
        run().map_err(|e| self.err(e))
    }

    fn stories_of_posts(&self, from: &str, before: &str) -> Result<Vec<StoryRecord>, StoreError> {
        let run = || -> rusqlite::Result<Vec<StoryRecord>> {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {STORY_COLUMNS} FROM stories st WHERE st.post_date >= ?1 AND st.post_date < ?2
                 ORDER BY st.post_date DESC, st.rank"
            ))?;
            let rows = stmt.query_map([from, before], story_record)?;
            rows.map(|r| r.map(|(_, s)| s)).collect()
        };
        run().map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    //! Behaviour shared with PostgreSQL is checked for both backends by
    //! `tests/storage_contract.rs`; here, what only SQLite has.
    use super::*;

    #[test]
    fn reopening_keeps_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db/t.sqlite");
        let s = SqliteStore::open(&path, Duration::from_secs(1)).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        drop(s);
        let s = SqliteStore::open(&path, Duration::from_secs(1)).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        s.ping().unwrap();
        let page: i64 = s.conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
        assert_eq!(page, 16384, "a new file has large pages");
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        drop(SqliteStore::open(&path, Duration::from_secs(1)).unwrap());
        Connection::open(&path).unwrap().execute_batch("PRAGMA user_version = 999").unwrap();
        let err = SqliteStore::open(&path, Duration::from_secs(1)).err().unwrap();
        assert!(matches!(err, StoreError::TooNew { found: 999, .. }), "{err}");
    }
}
