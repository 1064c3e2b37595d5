//! The PostgreSQL backend: one database that several daemons can share.
//!
//! [`Storage`] is synchronous and is called from blocking code and from
//! async tasks alike, while the blocking `postgres` client (rust-postgres,
//! the blocking face of tokio-postgres) must never block inside a tokio
//! runtime. So each store owns one connection on a thread of its own; its
//! methods hand that thread the work and wait for the answer, as a call to
//! SQLite waits for the disk.

use std::collections::HashMap;
use std::sync::mpsc;
use std::thread;

use chrono::{DateTime, Utc};
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};

use super::{
    FetchRecord, ItemPatch, LeaseRequest, Leased, PostHead, PostRecord, SourceState, Storage, StoreError, StoreStats,
    StoredItem, StoryRecord, from_ts, json, json_list,
};
use crate::model::Item;
use crate::scrape::PageMeta;

/// Schema migrations, in order; `tidings_schema.version` records how many
/// have run. The first one is SQLite's five migrations in one.
const MIGRATIONS: &[&str] = &[
    // 1: sources, items, posts and stories, article pages
    "CREATE TABLE sources (
        id BIGSERIAL PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        url TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        last_status TEXT,
        last_error TEXT,
        last_fetch_at BIGINT,
        last_success_at BIGINT,
        consecutive_failures BIGINT NOT NULL DEFAULT 0,
        next_fetch_at BIGINT,
        retry_after_until BIGINT,
        body_hash TEXT
    );
    CREATE TABLE items (
        id BIGSERIAL PRIMARY KEY,
        source_id BIGINT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
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
        published_at BIGINT NOT NULL,
        date_from_feed BOOLEAN NOT NULL,
        updated_at BIGINT,
        first_seen_at BIGINT NOT NULL,
        changed_at BIGINT NOT NULL,
        content_hash TEXT NOT NULL,
        UNIQUE (source_id, key)
    );
    CREATE INDEX items_url ON items(url) WHERE url IS NOT NULL;
    CREATE INDEX items_source_url ON items(source_id, url);
    CREATE INDEX items_source_hash ON items(source_id, content_hash);
    CREATE INDEX items_published ON items(published_at);
    CREATE INDEX items_source_seen ON items(source_id, first_seen_at);
    CREATE TABLE posts (
        date TEXT PRIMARY KEY,
        slug TEXT NOT NULL,
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        tags TEXT NOT NULL,
        markdown TEXT NOT NULL,
        html TEXT NOT NULL,
        published_at BIGINT NOT NULL
    );
    CREATE TABLE stories (
        id BIGSERIAL PRIMARY KEY,
        post_date TEXT NOT NULL REFERENCES posts(date) ON DELETE CASCADE,
        rank BIGINT NOT NULL,
        headline TEXT NOT NULL,
        html TEXT NOT NULL,
        tags TEXT NOT NULL,
        published_at BIGINT NOT NULL,
        UNIQUE (post_date, rank)
    );
    CREATE TABLE story_items (
        story_id BIGINT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
        item_id BIGINT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        PRIMARY KEY (story_id, item_id)
    );
    CREATE INDEX story_items_item ON story_items(item_id);
    CREATE TABLE story_tags (
        story_id BIGINT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        PRIMARY KEY (tag, story_id)
    );
    CREATE TABLE pages (
        url TEXT PRIMARY KEY,
        fetched_at BIGINT NOT NULL,
        image TEXT,
        description TEXT,
        published_at BIGINT,
        canonical TEXT
    );",
    // 2: fetch leases, so that nodes share the fetching
    "ALTER TABLE sources ADD COLUMN lease_owner TEXT;
    ALTER TABLE sources ADD COLUMN lease_until BIGINT;
    CREATE INDEX sources_due ON sources(next_fetch_at NULLS FIRST, id);",
    // 3: who writes each date's digest
    "CREATE TABLE digest_claims (
        date TEXT NOT NULL,
        tick BIGINT NOT NULL,
        owner TEXT NOT NULL,
        claimed_until BIGINT NOT NULL,
        done_at BIGINT,
        PRIMARY KEY (date, tick)
    );",
    // 4: a counter of saved posts, for nodes keeping copies of the output
    "CREATE TABLE publication (id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL);
    INSERT INTO publication (id, version) VALUES (1, 0);",
    // 5: nodes fetching now, for per-host shares; leases found by index
    "CREATE TABLE claimants (owner TEXT PRIMARY KEY, active_until BIGINT NOT NULL);
    CREATE INDEX sources_leased ON sources(lease_until) WHERE lease_until IS NOT NULL;",
];

/// The advisory lock that lets one node at a time migrate the schema.
const MIGRATION_LOCK: i64 = 0x7469_6469_6e67_7301;

/// The advisory lock that makes lease requests take turns, so that two
/// nodes never both see a host's last free slot.
const LEASE_LOCK: i64 = 0x7469_6469_6e67_7302;

type PgResult<T> = Result<T, postgres::Error>;

/// The connection's side: the client, its prepared statements, and
/// whether a batch transaction is open.
struct Session {
    client: Client,
    statements: HashMap<String, Statement>,
    in_batch: bool,
    /// Sources' ids by name (a source keeps its id for good).
    source_ids: HashMap<String, i64>,
}

type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// A PostgreSQL database holding Tidings' state.
pub struct PgStore {
    jobs: Option<mpsc::Sender<Job>>,
    worker: Option<thread::JoinHandle<()>>,
    /// The URL without its password, for messages.
    url: String,
}

/// `url` without a password, as it may appear in messages and logs.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            // libpq also takes `?password=…`.
            if u.query_pairs().any(|(k, _)| k.eq_ignore_ascii_case("password")) {
                let kept: Vec<(String, String)> = u
                    .query_pairs()
                    .filter(|(k, _)| !k.eq_ignore_ascii_case("password"))
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                u.query_pairs_mut().clear().extend_pairs(kept).append_pair("password", "***");
            }
            u.to_string()
        }
        Err(_) => "(unparsable PostgreSQL URL)".into(),
    }
}

impl PgStore {
    /// Connects and brings the schema up to date (one node at a time). The
    /// connection is made on the store's own thread, so this may be called
    /// from anywhere, async code included.
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        let shown = redacted(url);
        let (url, thread_shown) = (url.to_string(), shown.clone());
        let (ready, started) = mpsc::sync_channel::<Result<(), StoreError>>(1);
        let (jobs, inbox) = mpsc::channel::<Job>();
        let worker = thread::Builder::new()
            .name("tidings-postgres".into())
            .spawn(move || {
                let opened = Client::connect(&url, NoTls)
                    .map_err(|source| StoreError::Postgres { url: thread_shown.clone(), source })
                    .and_then(|mut client| migrate(&mut client, &thread_shown).map(|()| client));
                let mut client = match opened {
                    Ok(client) => {
                        let _ = ready.send(Ok(()));
                        client
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                // Item text compresses faster with LZ4 than with the default
                // (servers built without it keep their default).
                let _ = client.batch_execute("SET default_toast_compression = 'lz4'");
                let mut session =
                    Session { client, statements: HashMap::new(), in_batch: false, source_ids: HashMap::new() };
                for job in inbox {
                    // A panicking job fails its own call (its answer is never
                    // sent); the connection goes on serving the others.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut session)));
                }
            })
            .map_err(|e| StoreError::Disconnected { url: shown.clone(), why: e.to_string() })?;
        let store = PgStore { jobs: Some(jobs), worker: Some(worker), url: shown.clone() };
        match started.recv() {
            Ok(Ok(())) => Ok(store),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(StoreError::Disconnected { url: shown, why: "its thread stopped while connecting".into() }),
        }
    }

    /// Whether the server answers a trivial query.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.call(|s| s.client.simple_query("SELECT 1").map(|_| ()))
    }

    /// How many sources `owner` holds leases on at `now`.
    pub fn leases_held(&self, owner: &str, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let owner = owner.to_string();
        self.call(move |s| {
            let n: i64 = s
                .query_one(
                    "SELECT COUNT(*) FROM sources WHERE lease_owner = $1 AND lease_until > $2",
                    &[&owner, &now.timestamp()],
                )?
                .try_get(0)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    /// Adds the sources it lacks (by name), with their fetch state; how many.
    pub fn import_sources(&self, rows: Vec<super::copy::SourceRow>) -> Result<u64, StoreError> {
        self.call(move |s| {
            s.atomic(|s| {
                let mut added = 0;
                for r in &rows {
                    added += s.execute(
                        "INSERT INTO sources (name, url, etag, last_modified, last_status, last_error, last_fetch_at,
                           last_success_at, consecutive_failures, next_fetch_at, retry_after_until, body_hash)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (name) DO NOTHING",
                        &[
                            &r.name,
                            &r.url,
                            &r.etag,
                            &r.last_modified,
                            &r.last_status,
                            &r.last_error,
                            &r.last_fetch_at,
                            &r.last_success_at,
                            &r.consecutive_failures,
                            &r.next_fetch_at,
                            &r.retry_after_until,
                            &r.body_hash,
                        ],
                    )?;
                }
                Ok(added)
            })
        })
    }

    /// Adds the items it lacks (by source and key); how many.
    pub fn import_items(&self, rows: Vec<super::copy::ItemRow>) -> Result<u64, StoreError> {
        self.call(move |s| {
            s.atomic(|s| {
                let mut added = 0;
                for r in &rows {
                    added += s.execute(
                        "INSERT INTO items (source_id, key, guid, url, title, summary_html, content_html, text, image,
                           authors, categories, published_at, date_from_feed, updated_at, first_seen_at, changed_at,
                           content_hash)
                         SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17
                         FROM sources WHERE name = $1
                         ON CONFLICT (source_id, key) DO NOTHING",
                        &[
                            &r.source,
                            &r.key,
                            &r.guid,
                            &r.url,
                            &r.title,
                            &r.summary_html,
                            &r.content_html,
                            &r.text,
                            &r.image,
                            &r.authors,
                            &r.categories,
                            &r.published_at,
                            &r.date_from_feed,
                            &r.updated_at,
                            &r.first_seen_at,
                            &r.changed_at,
                            &r.content_hash,
                        ],
                    )?;
                }
                Ok(added)
            })
        })
    }

    /// Adds a post it lacks (by date) with its stories and their items:
    /// (whether the post was new, how many stories were).
    pub fn import_post(&self, rows: super::copy::PostRows) -> Result<(bool, u64), StoreError> {
        self.call(move |s| {
            s.atomic(|s| {
                let p = &rows.post;
                let post_new = s.execute(
                    "INSERT INTO posts (date, slug, title, description, tags, markdown, html, published_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (date) DO NOTHING",
                    &[
                        &p.date,
                        &p.slug,
                        &p.title,
                        &p.description,
                        &json(&p.tags),
                        &p.markdown,
                        &p.html,
                        &p.published_at.timestamp(),
                    ],
                )? > 0;
                if post_new {
                    s.execute("UPDATE publication SET version = version + 1", &[])?;
                }
                let mut stories_new = 0;
                for (story, items) in &rows.stories {
                    let rank = i64::try_from(story.rank).unwrap_or(i64::MAX);
                    let inserted = s.query_opt(
                        "INSERT INTO stories (post_date, rank, headline, html, tags, published_at)
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (post_date, rank) DO NOTHING RETURNING id",
                        &[
                            &story.post_date,
                            &rank,
                            &story.headline,
                            &story.html,
                            &json(&story.tags),
                            &story.published_at.timestamp(),
                        ],
                    )?;
                    let Some(row) = inserted else { continue };
                    stories_new += 1;
                    let id: i64 = row.try_get(0)?;
                    for (source, key) in items {
                        s.execute(
                            "INSERT INTO story_items (story_id, item_id)
                             SELECT $1, i.id FROM items i JOIN sources so ON so.id = i.source_id
                             WHERE so.name = $2 AND i.key = $3 ON CONFLICT DO NOTHING",
                            &[&id, source, key],
                        )?;
                    }
                    for tag in &story.tags {
                        s.execute(
                            "INSERT INTO story_tags (story_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                            &[&id, tag],
                        )?;
                    }
                }
                Ok((post_new, stories_new))
            })
        })
    }

    /// Adds the article pages it lacks (by URL); how many.
    pub fn import_pages(&self, rows: Vec<super::copy::PageRow>) -> Result<u64, StoreError> {
        self.call(move |s| {
            s.atomic(|s| {
                let mut added = 0;
                for r in &rows {
                    added += s.execute(
                        "INSERT INTO pages (url, fetched_at, image, description, published_at, canonical)
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (url) DO NOTHING",
                        &[&r.url, &r.fetched_at, &r.image, &r.description, &r.published_at, &r.canonical],
                    )?;
                }
                Ok(added)
            })
        })
    }

    /// Runs `work` on the connection's thread and waits for its answer.
    fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Session) -> PgResult<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let gone = |why: &str| StoreError::Disconnected { url: self.url.clone(), why: why.into() };
        let (answer, reply) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |session| {
            let _ = answer.send(work(session));
        });
        self.jobs.as_ref().ok_or_else(|| gone("closed"))?.send(job).map_err(|_| gone("its thread stopped"))?;
        reply
            .recv()
            .map_err(|_| gone("a request failed inside the driver"))?
            .map_err(|source| StoreError::Postgres { url: self.url.clone(), source })
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Closing the queue ends the thread once the work already sent is done.
        self.jobs = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn migrate(client: &mut Client, url: &str) -> Result<(), StoreError> {
    let err = |source| StoreError::Postgres { url: url.to_string(), source };
    let known = MIGRATIONS.len() as i64;
    // A current schema needs no lock (the daemon connects for each job).
    let current = client.query_opt("SELECT version FROM tidings_schema WHERE version = $1", &[&known]);
    if matches!(current, Ok(Some(_))) {
        return Ok(());
    }
    let mut tx = client.transaction().map_err(err)?;
    // Held until commit: a second node starting now waits, then finds the
    // schema current.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(err)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS tidings_schema (version BIGINT NOT NULL)").map_err(err)?;
    let found: Option<i64> = tx.query_opt("SELECT version FROM tidings_schema", &[]).map_err(err)?.map(|r| r.get(0));
    if found.is_none() {
        tx.execute("INSERT INTO tidings_schema (version) VALUES (0)", &[]).map_err(err)?;
    }
    let found = found.unwrap_or(0);
    if found > known {
        return Err(StoreError::TooNew { database: url.to_string(), found, known });
    }
    for sql in MIGRATIONS.iter().skip(usize::try_from(found).unwrap_or(0)) {
        tx.batch_execute(sql).map_err(err)?;
    }
    tx.execute("UPDATE tidings_schema SET version = $1", &[&known]).map_err(err)?;
    tx.commit().map_err(err)
}

impl Session {
    /// A statement, prepared once per connection.
    fn prepared(&mut self, sql: &str) -> PgResult<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> PgResult<u64> {
        let s = self.prepared(sql)?;
        self.client.execute(&s, params)
    }

    fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> PgResult<Vec<Row>> {
        let s = self.prepared(sql)?;
        self.client.query(&s, params)
    }

    fn query_opt(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> PgResult<Option<Row>> {
        let s = self.prepared(sql)?;
        self.client.query_opt(&s, params)
    }

    fn query_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> PgResult<Row> {
        let s = self.prepared(sql)?;
        self.client.query_one(&s, params)
    }

    /// Runs `work` as one transaction; inside a batch, as a savepoint that
    /// a failure rolls back without spoiling the batch.
    fn atomic<T>(&mut self, work: impl FnOnce(&mut Session) -> PgResult<T>) -> PgResult<T> {
        // In a batch a savepoint is always open (set at BEGIN): each write
        // releases it and sets the next in one round trip, and a failure
        // rolls back to it, which keeps it.
        let (begin, commit, rollback) = if self.in_batch {
            (None, "RELEASE SAVEPOINT op; SAVEPOINT op", "ROLLBACK TO SAVEPOINT op")
        } else {
            (Some("BEGIN"), "COMMIT", "ROLLBACK")
        };
        if let Some(begin) = begin {
            self.client.batch_execute(begin)?;
        }
        match work(self) {
            Ok(v) => {
                // A failed COMMIT has rolled back by itself.
                self.client.batch_execute(commit)?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.client.batch_execute(rollback);
                // Anything learnt inside may be gone with it.
                self.source_ids.clear();
                Err(e)
            }
        }
    }

    /// A read; inside a batch, guarded like a write (a failed statement
    /// would otherwise abort the whole batch).
    fn read<T>(&mut self, work: impl FnOnce(&mut Session) -> PgResult<T>) -> PgResult<T> {
        if self.in_batch { self.atomic(work) } else { work(self) }
    }
}

/// [`Storage::claim_due`] inside its transaction.
fn claim_due(s: &mut Session, request: &LeaseRequest) -> PgResult<Leased> {
    let (names, hosts): (Vec<String>, Vec<String>) = request.sources.iter().cloned().unzip();
    let owner = &request.owner;
    let (now, until) = (request.now.timestamp(), request.until.timestamp());
    let active_until = request.now.checked_add_signed(super::CLAIMANT_TTL).unwrap_or(request.now).timestamp();
    let limit = i64::try_from(request.limit).unwrap_or(i64::MAX);
    let per_host = i64::try_from(request.per_host.max(1)).unwrap_or(i64::MAX);
    s.execute("SELECT pg_advisory_xact_lock($1)", &[&LEASE_LOCK])?;
    let active: i64 = s
        .query_one(
            "WITH me AS (INSERT INTO claimants (owner, active_until) VALUES ($1, $2)
               ON CONFLICT (owner) DO UPDATE SET active_until = EXCLUDED.active_until)
             SELECT 1 + COUNT(*) FROM claimants WHERE active_until > $3 AND owner <> $1",
            &[owner, &active_until, &now],
        )?
        .try_get(0)?;
    let share = i64::try_from(request.share(u64::try_from(active).unwrap_or(1))).unwrap_or(i64::MAX);
    // Per host: what every node holds, what this one holds; the due
    // sources numbered within their host, so hosts are taken in turn and
    // never past what is left of their limit or of this node's share.
    // SKIP LOCKED: rows another statement is writing are left, not waited for.
    let rows = s.query(
        "WITH req(name, host) AS (SELECT * FROM UNNEST($1::text[], $2::text[])),
         busy AS (SELECT r.host, COUNT(*) AS n, COUNT(*) FILTER (WHERE s.lease_owner = $3) AS mine
                  FROM sources s JOIN req r ON r.name = s.name WHERE s.lease_until > $4 GROUP BY r.host),
         due AS (SELECT s.id, r.host, s.next_fetch_at,
                        row_number() OVER (PARTITION BY r.host ORDER BY s.next_fetch_at NULLS FIRST, s.id) AS rn
                 FROM sources s JOIN req r ON r.name = s.name
                 WHERE (s.next_fetch_at IS NULL OR s.next_fetch_at <= $4)
                   AND (s.retry_after_until IS NULL OR s.retry_after_until <= $4)
                   AND (s.lease_until IS NULL OR s.lease_until <= $4)),
         pick AS (SELECT d.id FROM due d LEFT JOIN busy b ON b.host = d.host
                  WHERE d.rn <= LEAST($5 - COALESCE(b.n, 0), $6 - COALESCE(b.mine, 0))
                  ORDER BY d.rn, d.next_fetch_at NULLS FIRST, d.id LIMIT $7)
         UPDATE sources SET lease_owner = $3, lease_until = $8
         WHERE id IN (SELECT id FROM sources WHERE id IN (SELECT id FROM pick) FOR UPDATE SKIP LOCKED)
         RETURNING name, next_fetch_at, id",
        &[&names, &hosts, owner, &now, &per_host, &share, &limit, &until],
    )?;
    let mut got: Vec<(String, Option<i64>, i64)> =
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect::<PgResult<_>>()?;
    got.sort_by_key(|(_, next, id)| (next.is_some(), *next, *id));
    let waiting = got.len() < request.limit
        && s.query_one(
            "SELECT EXISTS (SELECT 1 FROM sources WHERE name = ANY($1)
               AND (next_fetch_at IS NULL OR next_fetch_at <= $2)
               AND (retry_after_until IS NULL OR retry_after_until <= $2)
               AND (lease_until IS NULL OR lease_until <= $2))",
            &[&names, &now],
        )?
        .try_get(0)?;
    if got.is_empty() && !waiting {
        // Nothing left to fetch: this node no longer takes a share.
        s.execute("DELETE FROM claimants WHERE owner = $1", &[owner])?;
    }
    Ok(Leased { names: got.into_iter().map(|(name, _, _)| name).collect(), waiting })
}

const ITEM_COLUMNS: &str =
    "i.id, s.name, i.title, i.url, i.text, i.summary_html, i.content_html, i.image, i.categories, i.published_at";

fn stored_item(r: &Row) -> PgResult<StoredItem> {
    Ok(StoredItem {
        id: r.try_get(0)?,
        source: r.try_get(1)?,
        title: r.try_get(2)?,
        url: r.try_get(3)?,
        text: r.try_get(4)?,
        summary_html: r.try_get(5)?,
        content_html: r.try_get(6)?,
        image: r.try_get(7)?,
        categories: json_list(r.try_get(8)?),
        published_at: from_ts(r.try_get(9)?).unwrap_or_default(),
    })
}

const POST_COLUMNS: &str = "date, slug, title, description, tags, markdown, html, published_at";

fn post_record(r: &Row) -> PgResult<PostRecord> {
    Ok(PostRecord {
        date: r.try_get(0)?,
        slug: r.try_get(1)?,
        title: r.try_get(2)?,
        description: r.try_get(3)?,
        tags: json_list(r.try_get(4)?),
        markdown: r.try_get(5)?,
        html: r.try_get(6)?,
        published_at: from_ts(r.try_get(7)?).unwrap_or_default(),
    })
}

const STORY_COLUMNS: &str = "st.id, st.post_date, st.rank, st.headline, st.html, st.tags, st.published_at";

fn story_record(r: &Row) -> PgResult<(i64, StoryRecord)> {
    let rank: i64 = r.try_get(2)?;
    Ok((
        r.try_get(0)?,
        StoryRecord {
            post_date: r.try_get(1)?,
            rank: usize::try_from(rank).unwrap_or(0),
            headline: r.try_get(3)?,
            html: r.try_get(4)?,
            tags: json_list(r.try_get(5)?),
            published_at: from_ts(r.try_get(6)?).unwrap_or_default(),
            item_ids: Vec::new(),
        },
    ))
}

fn source_id(s: &mut Session, name: &str) -> PgResult<i64> {
    if let Some(id) = s.source_ids.get(name) {
        return Ok(*id);
    }
    // Every source at once: a run asks for most of them.
    for r in s.query("SELECT name, id FROM sources", &[])? {
        s.source_ids.insert(r.try_get(0)?, r.try_get(1)?);
    }
    if let Some(id) = s.source_ids.get(name) {
        return Ok(*id);
    }
    // Unknown: the same error a missing row gives.
    s.query_one("SELECT id FROM sources WHERE name = $1", &[&name])?.try_get(0)
}

fn apply_record(s: &mut Session, id: i64, record: &FetchRecord, at: i64, next: Option<i64>) -> PgResult<()> {
    match record {
        FetchRecord::Fetched { etag, last_modified, body_hash } => {
            s.execute(
                "UPDATE sources SET etag = COALESCE($2, etag), last_modified = COALESCE($3, last_modified),
                 last_status = 'ok', last_error = NULL, last_fetch_at = $4, last_success_at = $4,
                 consecutive_failures = 0, next_fetch_at = $5, retry_after_until = NULL,
                 lease_owner = NULL, lease_until = NULL, body_hash = $6 WHERE id = $1",
                &[&id, etag, last_modified, &at, &next, body_hash],
            )?;
        }
        FetchRecord::NotModified { etag, last_modified } => {
            s.execute(
                "UPDATE sources SET etag = COALESCE($2, etag), last_modified = COALESCE($3, last_modified),
                 last_status = 'not_modified', last_error = NULL, last_fetch_at = $4, last_success_at = $4,
                 consecutive_failures = 0, next_fetch_at = $5, retry_after_until = NULL,
                 lease_owner = NULL, lease_until = NULL WHERE id = $1",
                &[&id, etag, last_modified, &at, &next],
            )?;
        }
        FetchRecord::Failed { error, retry_after } => {
            let until = retry_after.map(|t| t.timestamp());
            s.execute(
                "UPDATE sources SET last_status = 'failed', last_error = $2, last_fetch_at = $3,
                 consecutive_failures = consecutive_failures + 1, retry_after_until = $4, next_fetch_at = $5,
                 lease_owner = NULL, lease_until = NULL WHERE id = $1",
                &[&id, error, &at, &until, &next],
            )?;
        }
    }
    Ok(())
}

/// A stored item of the source being written, as far as deciding whether
/// an incoming item is it and whether it changed.
#[derive(Debug, Clone)]
struct Known {
    id: i64,
    key: String,
    content_hash: String,
    url: Option<String>,
    image: Option<String>,
    published_at: i64,
    date_from_feed: bool,
}

/// Where an incoming item goes: an item already stored, one of this call's
/// items not yet inserted, or nowhere (it is new).
enum Match {
    Stored(usize),
    Pending,
    New,
}

/// A source's items written with a few round trips, not a few per item:
/// one query finds every stored item any of them can be, new items go in
/// with one multi-row insert, and only changed items are updated. The
/// rules are SQLite's, item by item in feed order (`find_existing` there):
/// same key; else, unless the key tells the item apart (`|`), the same URL
/// (never another guid's), else the same content; the oldest match wins.
/// Stores a feed's items by SQLite's rules; with `record`, also the fetch
/// that brought them (a successful fetch's state is written by the same
/// statement that reads the stored items: one round trip fewer a source).
fn store_all(
    s: &mut Session,
    source_id: i64,
    items: &[Item],
    at: i64,
    record: Option<(&FetchRecord, Option<i64>)>,
) -> PgResult<StoreStats> {
    let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
    let urls: Vec<&str> = items.iter().filter_map(|i| i.url.as_deref()).collect();
    let hashes: Vec<&str> = items.iter().map(|i| i.content_hash.as_str()).collect();
    let rows = match record {
        Some((FetchRecord::Fetched { etag, last_modified, body_hash }, next)) => s.query(
            "WITH fetched AS (
               UPDATE sources SET etag = COALESCE($5, etag), last_modified = COALESCE($6, last_modified),
                 last_status = 'ok', last_error = NULL, last_fetch_at = $7, last_success_at = $7,
                 consecutive_failures = 0, next_fetch_at = $8, retry_after_until = NULL,
                 lease_owner = NULL, lease_until = NULL, body_hash = $9 WHERE id = $1)
             SELECT id, key, content_hash, url, image, published_at, date_from_feed FROM items
             WHERE source_id = $1 AND (key = ANY($2) OR url = ANY($3) OR content_hash = ANY($4)) ORDER BY id",
            &[&source_id, &keys, &urls, &hashes, etag, last_modified, &at, &next, body_hash],
        )?,
        other => {
            if let Some((record, next)) = other {
                apply_record(s, source_id, record, at, next)?;
            }
            s.query(
                "SELECT id, key, content_hash, url, image, published_at, date_from_feed FROM items
                 WHERE source_id = $1 AND (key = ANY($2) OR url = ANY($3) OR content_hash = ANY($4)) ORDER BY id",
                &[&source_id, &keys, &urls, &hashes],
            )?
        }
    };
    let mut known: Vec<Known> = rows
        .iter()
        .map(|r| {
            Ok(Known {
                id: r.try_get(0)?,
                key: r.try_get(1)?,
                content_hash: r.try_get(2)?,
                url: r.try_get(3)?,
                image: r.try_get(4)?,
                published_at: r.try_get(5)?,
                date_from_feed: r.try_get(6)?,
            })
        })
        .collect::<PgResult<_>>()?;
    let mut pending: Vec<&Item> = Vec::new();
    let mut stats = StoreStats::default();
    for item in items {
        let found = match find_known(&known, &pending, item) {
            Match::Pending => {
                // It is an item of this very call: insert those first, as
                // SQLite would have, and look again.
                known.extend(insert_new(s, source_id, &pending, at)?);
                pending.clear();
                find_known(&known, &pending, item)
            }
            m => m,
        };
        match found {
            Match::New | Match::Pending => {
                pending.push(item);
                stats.new += 1;
            }
            Match::Stored(k) => {
                if update_known(s, &mut known[k], item, at)? {
                    stats.updated += 1;
                } else {
                    stats.unchanged += 1;
                }
            }
        }
    }
    insert_new(s, source_id, &pending, at)?;
    Ok(stats)
}

/// The stored (or pending) item `item` is, by SQLite's rules.
fn find_known(known: &[Known], pending: &[&Item], item: &Item) -> Match {
    let oldest =
        |hit: &dyn Fn(&Known) -> bool| known.iter().enumerate().filter(|(_, k)| hit(k)).min_by_key(|(_, k)| k.id);
    let pending_hit = |hit: &dyn Fn(&Item) -> bool| pending.iter().any(|p| hit(p));
    if let Some((i, _)) = oldest(&|k| k.key == item.key) {
        return Match::Stored(i);
    }
    if pending_hit(&|p| p.key == item.key) {
        return Match::Pending;
    }
    if item.key.contains('|') {
        return Match::New;
    }
    if let Some(url) = &item.url {
        let other_guid = |key: &str| item.key.starts_with("guid:") && key.starts_with("guid:");
        if let Some((i, _)) = oldest(&|k| k.url.as_ref() == Some(url) && !other_guid(&k.key)) {
            return Match::Stored(i);
        }
        if pending_hit(&|p| p.url.as_ref() == Some(url) && !other_guid(&p.key)) {
            return Match::Pending;
        }
    }
    if let Some((i, _)) = oldest(&|k| k.content_hash == item.content_hash) {
        return Match::Stored(i);
    }
    if pending_hit(&|p| p.content_hash == item.content_hash) {
        return Match::Pending;
    }
    Match::New
}

/// Updates a stored item from `item` when something that matters changed;
/// whether it did. `k` follows, as the row does.
fn update_known(s: &mut Session, k: &mut Known, item: &Item, at: i64) -> PgResult<bool> {
    let published = item.published.map(|d| d.timestamp());
    let published_at = published.unwrap_or(k.published_at);
    let image = item.image.clone().or(k.image.clone());
    let changed = k.content_hash != item.content_hash
        || (item.url.is_some() && k.url != item.url)
        || k.image != image
        || (published.is_some() && published_at != k.published_at);
    if !changed {
        return Ok(false);
    }
    let date_from_feed = published.is_some() || k.date_from_feed;
    s.execute(
        "UPDATE items SET key = $2, guid = COALESCE($3, guid), url = COALESCE($4, url),
         title = $5, summary_html = $6, content_html = $7, text = $8, image = $9, authors = $10,
         categories = $11, published_at = $12, date_from_feed = $13, updated_at = $14,
         changed_at = $15, content_hash = $16 WHERE id = $1",
        &[
            &k.id,
            &item.key,
            &item.guid,
            &item.url,
            &item.title,
            &item.summary_html,
            &item.content_html,
            &item.text,
            &image,
            &json(&item.authors),
            &json(&item.categories),
            &published_at,
            &date_from_feed,
            &item.updated.map(|d| d.timestamp()),
            &at,
            &item.content_hash,
        ],
    )?;
    k.key = item.key.clone();
    k.url = item.url.clone().or(k.url.take());
    k.content_hash = item.content_hash.clone();
    k.image = image;
    k.published_at = published_at;
    k.date_from_feed = date_from_feed;
    Ok(true)
}

/// Inserts new items in one statement; what they are now, with their ids.
fn insert_new(s: &mut Session, source_id: i64, items: &[&Item], at: i64) -> PgResult<Vec<Known>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let col = |f: &dyn Fn(&Item) -> Option<String>| -> Vec<Option<String>> { items.iter().map(|i| f(i)).collect() };
    let published: Vec<Option<i64>> = items.iter().map(|i| i.published.map(|d| d.timestamp())).collect();
    let published_at: Vec<i64> = published.iter().map(|p| p.unwrap_or(at)).collect();
    let from_feed: Vec<bool> = published.iter().map(Option::is_some).collect();
    let updated: Vec<Option<i64>> = items.iter().map(|i| i.updated.map(|d| d.timestamp())).collect();
    let rows = s.query(
        "INSERT INTO items (source_id, key, guid, url, title, summary_html, content_html, text, image,
         authors, categories, published_at, date_from_feed, updated_at, first_seen_at, changed_at, content_hash)
         SELECT $1, k, g, u, t, sh, ch, tx, im, au, ca, pa, df, ua, $2, $2, h
         FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                     $10::text[], $11::text[], $12::text[], $13::bigint[], $14::bool[], $15::bigint[], $16::text[])
              AS n(k, g, u, t, sh, ch, tx, im, au, ca, pa, df, ua, h)
         RETURNING id, key",
        &[
            &source_id,
            &at,
            &col(&|i| Some(i.key.clone())),
            &col(&|i| i.guid.clone()),
            &col(&|i| i.url.clone()),
            &col(&|i| Some(i.title.clone())),
            &col(&|i| Some(i.summary_html.clone())),
            &col(&|i| i.content_html.clone()),
            &col(&|i| Some(i.text.clone())),
            &col(&|i| i.image.clone()),
            &col(&|i| Some(json(&i.authors))),
            &col(&|i| Some(json(&i.categories))),
            &published_at,
            &from_feed,
            &updated,
            &col(&|i| Some(i.content_hash.clone())),
        ],
    )?;
    let ids: HashMap<String, i64> =
        rows.iter().map(|r| Ok((r.try_get::<_, String>(1)?, r.try_get::<_, i64>(0)?))).collect::<PgResult<_>>()?;
    Ok(items
        .iter()
        .zip(published_at)
        .filter_map(|(i, published_at)| {
            Some(Known {
                id: *ids.get(&i.key)?,
                key: i.key.clone(),
                content_hash: i.content_hash.clone(),
                url: i.url.clone(),
                image: i.image.clone(),
                published_at,
                date_from_feed: i.published.is_some(),
            })
        })
        .collect())
}

impl Storage for PgStore {
    fn sync_sources(&mut self, sources: &[(String, String)]) -> Result<(), StoreError> {
        let (names, urls): (Vec<String>, Vec<String>) = sources.iter().cloned().unzip();
        self.call(move |s| {
            // One statement for the whole list. A source whose URL changed
            // starts over: old validators mean nothing there.
            s.execute(
                "INSERT INTO sources (name, url)
                 SELECT DISTINCT ON (name) name, url FROM UNNEST($1::text[], $2::text[]) AS n(name, url)
                 ON CONFLICT (name) DO UPDATE SET url = EXCLUDED.url, etag = NULL, last_modified = NULL,
                   body_hash = NULL, next_fetch_at = NULL, retry_after_until = NULL, consecutive_failures = 0
                 WHERE sources.url <> EXCLUDED.url",
                &[&names, &urls],
            )
            .map(|_| ())
        })
    }

    fn source_states(&self) -> Result<Vec<SourceState>, StoreError> {
        self.call(|s| {
            s.read(|s| {
                let rows = s.query(
                    "SELECT name, url, etag, last_modified, last_status, last_error, last_fetch_at, last_success_at,
                     consecutive_failures, next_fetch_at, (SELECT COUNT(*) FROM items i WHERE i.source_id = s.id),
                     retry_after_until, body_hash
                     FROM sources s ORDER BY name COLLATE \"C\"",
                    &[],
                )?;
                rows.iter()
                    .map(|r| {
                        Ok(SourceState {
                            name: r.try_get(0)?,
                            url: r.try_get(1)?,
                            etag: r.try_get(2)?,
                            last_modified: r.try_get(3)?,
                            last_status: r.try_get(4)?,
                            last_error: r.try_get(5)?,
                            last_fetch_at: from_ts(r.try_get(6)?),
                            last_success_at: from_ts(r.try_get(7)?),
                            consecutive_failures: u32::try_from(r.try_get::<_, i64>(8)?).unwrap_or(u32::MAX),
                            next_fetch_at: from_ts(r.try_get(9)?),
                            item_count: u64::try_from(r.try_get::<_, i64>(10)?).unwrap_or(0),
                            retry_after_until: from_ts(r.try_get(11)?),
                            body_hash: r.try_get(12)?,
                        })
                    })
                    .collect()
            })
        })
    }

    fn record_fetch(
        &mut self,
        source: &str,
        record: &FetchRecord,
        at: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let (source, record) = (source.to_string(), record.clone());
        let (at, next) = (at.timestamp(), next.map(|t| t.timestamp()));
        // One statement: atomic on its own, and no statement that can fail
        // in the database (an unknown source fails before it).
        self.call(move |s| {
            let id = source_id(s, &source)?;
            apply_record(s, id, &record, at, next)
        })
    }

    fn store_items(
        &mut self,
        source: &str,
        items: &[Item],
        record: &FetchRecord,
        at: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
    ) -> Result<StoreStats, StoreError> {
        let (source, items, record) = (source.to_string(), items.to_vec(), record.clone());
        let (at, next) = (at.timestamp(), next.map(|t| t.timestamp()));
        self.call(move |s| {
            s.atomic(|s| {
                let id = source_id(s, &source)?;
                store_all(s, id, &items, at, Some((&record, next)))
            })
        })
    }

    fn begin_batch(&mut self) -> Result<(), StoreError> {
        self.call(|s| {
            if !s.in_batch {
                s.client.batch_execute("BEGIN; SAVEPOINT op")?;
                s.in_batch = true;
            }
            Ok(())
        })
    }

    fn end_batch(&mut self) -> Result<(), StoreError> {
        self.call(|s| {
            if !s.in_batch {
                return Ok(());
            }
            s.in_batch = false;
            let committed = s.client.batch_execute("COMMIT");
            if committed.is_err() {
                let _ = s.client.batch_execute("ROLLBACK");
            }
            committed
        })
    }

    fn abort_batch(&mut self) {
        let _ = self.call(|s| {
            if s.in_batch {
                s.in_batch = false;
                s.client.batch_execute("ROLLBACK")?;
            }
            Ok(())
        });
    }

    fn item_urls(&self, source: &str) -> Result<Vec<String>, StoreError> {
        let source = source.to_string();
        self.call(move |s| {
            s.read(|s| {
                let rows = s.query(
                    "SELECT i.url FROM items i JOIN sources s ON s.id = i.source_id
                     WHERE s.name = $1 AND i.url IS NOT NULL ORDER BY i.id",
                    &[&source],
                )?;
                rows.iter().map(|r| r.try_get(0)).collect()
            })
        })
    }

    fn cached_page(&self, url: &str) -> Result<Option<PageMeta>, StoreError> {
        let url = url.to_string();
        self.call(move |s| {
            s.read(|s| {
                let row = s.query_opt(
                    "SELECT image, description, published_at, canonical FROM pages WHERE url = $1",
                    &[&url],
                )?;
                row.map(|r| {
                    Ok(PageMeta {
                        image: r.try_get(0)?,
                        description: r.try_get(1)?,
                        published: from_ts(r.try_get(2)?),
                        canonical: r.try_get(3)?,
                        main_html: None,
                    })
                })
                .transpose()
            })
        })
    }

    fn cache_page(&mut self, url: &str, meta: &PageMeta, at: DateTime<Utc>) -> Result<(), StoreError> {
        let (url, meta) = (url.to_string(), meta.clone());
        self.call(move |s| {
            s.atomic(|s| {
                s.execute(
                    "INSERT INTO pages (url, fetched_at, image, description, published_at, canonical)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (url) DO UPDATE SET fetched_at = EXCLUDED.fetched_at, image = EXCLUDED.image,
                       description = EXCLUDED.description, published_at = EXCLUDED.published_at,
                       canonical = EXCLUDED.canonical",
                    &[
                        &url,
                        &at.timestamp(),
                        &meta.image,
                        &meta.description,
                        &meta.published.map(|d| d.timestamp()),
                        &meta.canonical,
                    ],
                )
                .map(|_| ())
            })
        })
    }

    fn enrich_item(&mut self, id: i64, patch: &ItemPatch) -> Result<Option<i64>, StoreError> {
        let patch = patch.clone();
        self.call(move |s| {
            s.atomic(|s| {
                if let Some(canonical) = &patch.canonical {
                    let other = s.query_opt(
                        "SELECT id FROM items WHERE url = $1 AND id <> $2 ORDER BY id LIMIT 1",
                        &[canonical, &id],
                    )?;
                    if let Some(other) = other {
                        s.execute("DELETE FROM items WHERE id = $1", &[&id])?;
                        return Ok(Some(other.try_get(0)?));
                    }
                    s.execute("UPDATE items SET url = $2 WHERE id = $1", &[&id, canonical])?;
                }
                if let Some(image) = &patch.image {
                    s.execute("UPDATE items SET image = $2 WHERE id = $1 AND image IS NULL", &[&id, image])?;
                }
                if let (Some(summary), Some(text)) = (&patch.summary_html, &patch.text) {
                    s.execute("UPDATE items SET summary_html = $2, text = $3 WHERE id = $1", &[&id, summary, text])?;
                }
                Ok(None)
            })
        })
    }

    fn claim_due(&mut self, request: &LeaseRequest) -> Result<Leased, StoreError> {
        let request = request.clone();
        self.call(move |s| s.atomic(|s| claim_due(s, &request)))
    }

    fn claim_digest(
        &mut self,
        date: &str,
        owner: &str,
        tick: DateTime<Utc>,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<super::DigestHeld>, StoreError> {
        let (date, owner) = (date.to_string(), owner.to_string());
        let (tick, now, until) = (tick.timestamp(), now.timestamp(), until.timestamp());
        self.call(move |s| {
            s.atomic(|s| {
                // The row lock makes two nodes' claims of one date take turns.
                let claimed = s.execute(
                    "INSERT INTO digest_claims (date, tick, owner, claimed_until) VALUES ($1, $5, $2, $3)
                 ON CONFLICT (date, tick) DO UPDATE SET owner = excluded.owner, claimed_until = excluded.claimed_until
                 WHERE digest_claims.done_at IS NULL
                   AND (digest_claims.claimed_until <= $4 OR digest_claims.owner = excluded.owner)",
                    &[&date, &owner, &until, &now, &tick],
                )?;
                if claimed > 0 {
                    return Ok(None);
                }
                let r = s.query_one(
                    "SELECT owner, claimed_until, done_at FROM digest_claims WHERE date = $1 AND tick = $2",
                    &[&date, &tick],
                )?;
                let done: Option<i64> = r.try_get(2)?;
                Ok(Some(super::DigestHeld {
                    owner: r.try_get(0)?,
                    until: if done.is_some() { None } else { from_ts(r.try_get(1)?) },
                }))
            })
        })
    }

    fn finish_digest(
        &mut self,
        date: &str,
        tick: DateTime<Utc>,
        owner: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (date, owner, tick) = (date.to_string(), owner.to_string(), tick.timestamp());
        self.call(move |s| {
            s.atomic(|s| {
                s.execute(
                    "UPDATE digest_claims SET done_at = $4 WHERE date = $1 AND tick = $2 AND owner = $3",
                    &[&date, &tick, &owner, &at.timestamp()],
                )
                .map(|_| ())
            })
        })
    }

    fn release_leases(&mut self, owner: &str) -> Result<u64, StoreError> {
        let owner = owner.to_string();
        self.call(move |s| {
            s.atomic(|s| {
                s.execute("UPDATE sources SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1", &[&owner])
            })
        })
    }

    fn set_next_fetch(&mut self, source: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let source = source.to_string();
        self.call(move |s| {
            s.atomic(|s| {
                s.execute("UPDATE sources SET next_fetch_at = $2 WHERE name = $1", &[&source, &at.timestamp()])
                    .map(|_| ())
            })
        })
    }

    fn entries_since(&self, source: &str, since: DateTime<Utc>) -> Result<u64, StoreError> {
        let source = source.to_string();
        self.call(move |s| {
            s.read(|s| {
                let n: i64 = s
                    .query_one(
                        "SELECT COUNT(*) FROM items i JOIN sources s ON s.id = i.source_id
                         WHERE s.name = $1 AND i.first_seen_at >= $2",
                        &[&source, &since.timestamp()],
                    )?
                    .try_get(0)?;
                Ok(u64::try_from(n).unwrap_or(0))
            })
        })
    }

    fn items_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Vec<StoredItem>, StoreError> {
        self.call(move |s| {
            s.read(|s| {
                let sql = format!(
                    "SELECT {ITEM_COLUMNS} FROM items i JOIN sources s ON s.id = i.source_id
                     WHERE i.published_at >= $1 AND i.published_at < $2 ORDER BY i.published_at, i.id"
                );
                s.query(&sql, &[&start.timestamp(), &end.timestamp()])?.iter().map(stored_item).collect()
            })
        })
    }

    fn stories_between(&self, from: &str, before: &str) -> Result<Vec<(StoryRecord, Vec<StoredItem>)>, StoreError> {
        let (from, before) = (from.to_string(), before.to_string());
        self.call(move |s| {
            s.read(|s| {
                let sql = format!(
                    "SELECT {STORY_COLUMNS} FROM stories st WHERE st.post_date >= $1 AND st.post_date < $2
                     ORDER BY st.post_date, st.rank"
                );
                let found: Vec<(i64, StoryRecord)> =
                    s.query(&sql, &[&from, &before])?.iter().map(story_record).collect::<PgResult<_>>()?;
                let items_sql = format!(
                    "SELECT {ITEM_COLUMNS} FROM story_items si JOIN items i ON i.id = si.item_id
                     JOIN sources s ON s.id = i.source_id WHERE si.story_id = $1 ORDER BY i.published_at, i.id"
                );
                let mut out = Vec::with_capacity(found.len());
                for (id, mut story) in found {
                    let its: Vec<StoredItem> =
                        s.query(&items_sql, &[&id])?.iter().map(stored_item).collect::<PgResult<_>>()?;
                    story.item_ids = its.iter().map(|i| i.id).collect();
                    out.push((story, its));
                }
                Ok(out)
            })
        })
    }

    fn save_post(&mut self, post: &PostRecord, stories: &[StoryRecord]) -> Result<(), StoreError> {
        let (post, stories) = (post.clone(), stories.to_vec());
        self.call(move |s| {
            s.atomic(|s| {
                s.execute("DELETE FROM posts WHERE date = $1", &[&post.date])?;
                s.execute("UPDATE publication SET version = version + 1", &[])?;
                s.execute(
                    "INSERT INTO posts (date, slug, title, description, tags, markdown, html, published_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &[
                        &post.date,
                        &post.slug,
                        &post.title,
                        &post.description,
                        &json(&post.tags),
                        &post.markdown,
                        &post.html,
                        &post.published_at.timestamp(),
                    ],
                )?;
                for story in &stories {
                    let rank = i64::try_from(story.rank).unwrap_or(i64::MAX);
                    let id: i64 = s
                        .query_one(
                            "INSERT INTO stories (post_date, rank, headline, html, tags, published_at)
                             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                            &[
                                &story.post_date,
                                &rank,
                                &story.headline,
                                &story.html,
                                &json(&story.tags),
                                &story.published_at.timestamp(),
                            ],
                        )?
                        .try_get(0)?;
                    for item in &story.item_ids {
                        s.execute(
                            "INSERT INTO story_items (story_id, item_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                            &[&id, item],
                        )?;
                    }
                    for tag in &story.tags {
                        s.execute(
                            "INSERT INTO story_tags (story_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                            &[&id, tag],
                        )?;
                    }
                }
                Ok(())
            })
        })
    }

    fn publication_version(&self) -> Result<i64, StoreError> {
        self.call(|s| s.read(|s| s.query_one("SELECT version FROM publication", &[])?.try_get(0)))
    }

    fn post(&self, date: &str) -> Result<Option<PostRecord>, StoreError> {
        let date = date.to_string();
        self.call(move |s| {
            s.read(|s| {
                let sql = format!("SELECT {POST_COLUMNS} FROM posts WHERE date = $1");
                s.query_opt(&sql, &[&date])?.map(|r| post_record(&r)).transpose()
            })
        })
    }

    fn recent_posts(&self, limit: usize) -> Result<Vec<PostRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.call(move |s| {
            s.read(|s| {
                let sql = format!("SELECT {POST_COLUMNS} FROM posts ORDER BY date DESC LIMIT $1");
                s.query(&sql, &[&limit])?.iter().map(post_record).collect()
            })
        })
    }

    fn stories_with_tag(&self, tag: &str, limit: usize) -> Result<Vec<StoryRecord>, StoreError> {
        let tag = tag.to_string();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.call(move |s| {
            s.read(|s| {
                let sql = format!(
                    "SELECT {STORY_COLUMNS} FROM story_tags t JOIN stories st ON st.id = t.story_id
                     WHERE t.tag = $1 ORDER BY st.post_date DESC, st.rank LIMIT $2"
                );
                s.query(&sql, &[&tag, &limit])?.iter().map(|r| story_record(r).map(|(_, st)| st)).collect()
            })
        })
    }

    fn post_list(&self, limit: usize) -> Result<Vec<PostHead>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.call(move |s| {
            s.read(|s| {
                let rows = s.query(
                    "SELECT date, title, description, published_at FROM posts ORDER BY date DESC LIMIT $1",
                    &[&limit],
                )?;
                rows.iter()
                    .map(|r| {
                        Ok(PostHead {
                            date: r.try_get(0)?,
                            title: r.try_get(1)?,
                            description: r.try_get(2)?,
                            published_at: from_ts(r.try_get(3)?).unwrap_or_default(),
                        })
                    })
                    .collect()
            })
        })
    }

    fn stories_of_posts(&self, from: &str, before: &str) -> Result<Vec<StoryRecord>, StoreError> {
        let (from, before) = (from.to_string(), before.to_string());
        self.call(move |s| {
            s.read(|s| {
                let sql = format!(
                    "SELECT {STORY_COLUMNS} FROM stories st WHERE st.post_date >= $1 AND st.post_date < $2
                     ORDER BY st.post_date DESC, st.rank"
                );
                s.query(&sql, &[&from, &before])?.iter().map(|r| story_record(r).map(|(_, st)| st)).collect()
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redacted("postgres://tidings:s3cret@db.example/news"), "postgres://tidings:***@db.example/news");
        assert_eq!(redacted("postgres://root@127.0.0.1/test"), "postgres://root@127.0.0.1/test");
        assert!(!redacted("not a url s3cret").contains("s3cret"));
        let shown = redacted("postgres://db.example/news?sslmode=disable&password=s3cret");
        assert!(!shown.contains("s3cret") && shown.contains("sslmode=disable"), "{shown}");
    }
}
