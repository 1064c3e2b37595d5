//! The HTTP server feed readers talk to: the feeds and posts from the output
//! folder (files are only ever replaced whole, by rename), HTML pages from
//! the database, `/healthz` and `/metrics`. Every response carries a strong
//! ETag and Last-Modified and answers conditional requests with 304; gzip and
//! brotli when asked; HEAD works.

pub mod pages;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::config::Loaded;
use crate::metrics::Metrics;
use crate::store::{Storage, Store};

/// Content-Security-Policy of the HTML pages: no script at all.
const CSP: &str = "default-src 'none'; img-src http: https: data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const RSS: &str = "application/rss+xml; charset=utf-8";

/// What the server and the scheduler share.
pub struct Shared {
    /// The configuration in force; replaced whole on reload.
    pub loaded: RwLock<Arc<Loaded>>,
    pub metrics: Metrics,
    /// A read connection for pages and health checks.
    pub store: Mutex<Store>,
    /// When the last digest run finished.
    pub last_digest_run: Mutex<Option<DateTime<Utc>>>,
    pub started_at: DateTime<Utc>,
    /// Output files as last read, with their ETags: a request costs one
    /// `stat`, not a read and a hash, until the file is replaced.
    pub files: Mutex<HashMap<PathBuf, CachedFile>>,
    /// The database's publication version this node's output was last
    /// brought up to (nodes sharing a database).
    pub mirrored: Mutex<Option<i64>>,
}

/// One output file in memory.
#[derive(Clone)]
pub struct CachedFile {
    body: Bytes,
    etag: String,
    len: u64,
    /// Publishing replaces files by rename, so a new file is a new inode.
    inode: u64,
    modified: Option<SystemTime>,
}

impl Shared {
    /// The configuration in force.
    pub fn config(&self) -> Arc<Loaded> {
        self.loaded.read().map(|l| l.clone()).unwrap_or_else(|e| e.into_inner().clone())
    }

    /// This node's name, backend, database health and leases held.
    pub fn node(&self) -> NodeStatus {
        let node = crate::ingest::node_id();
        let Ok(store) = self.store.lock() else {
            return NodeStatus { node, ..Default::default() };
        };
        let database_up = store.ping().is_ok();
        let leases = store.leases_held(&node, Utc::now()).unwrap_or(0);
        NodeStatus { node, backend: store.backend(), database_up, leases }
    }

    /// `Err(reason)` when the database is unreachable or a scheduled digest
    /// is overdue by more than the grace period.
    pub fn health(&self, now: DateTime<Utc>) -> Result<(), String> {
        let store = self.store.lock().map_err(|_| "database handle poisoned".to_string())?;
        store.ping().map_err(|e| format!("database unreachable: {e}"))?;
        let config = self.config();
        let tz = config.config.site.tz();
        let Ok(cron) = crate::config::parse_cron(&config.config.schedule.digest) else { return Ok(()) };
        let Ok(prev) = cron.find_previous_occurrence(&now.with_timezone(&tz), false) else { return Ok(()) };
        let prev = prev.with_timezone(&Utc);
        let grace = chrono::Duration::minutes(30);
        let ran = self.last_digest_run.lock().map(|l| l.is_some_and(|t| t >= prev)).unwrap_or(false);
        if ran || now - prev < grace || self.started_at > prev {
            Ok(())
        } else {
            Err(format!("the digest due at {} has not run", prev.to_rfc3339()))
        }
    }
}

/// The router, ready to serve.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/feed.xml", get(|s, h| output_file(s, h, "feed.xml", RSS)))
        .route("/atom.xml", get(|s, h| output_file(s, h, "atom.xml", "application/atom+xml; charset=utf-8")))
        .route("/feed.json", get(|s, h| output_file(s, h, "feed.json", "application/feed+json; charset=utf-8")))
        .route("/tags/{file}", get(tag_feed))
        .route("/_posts/{file}", get(raw_post))
        .route("/posts/{date}", get(post_page))
        .route("/archive", get(archive_page))
        .route("/preview", get(preview_page))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(|| async { not_found() })
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(axum::middleware::map_response_with_state(shared.clone(), count_response))
        .with_state(shared)
}

async fn count_response(State(shared): State<Arc<Shared>>, response: Response) -> Response {
    shared.metrics.record_http(response.status().as_u16());
    tracing::debug!(status = response.status().as_u16(), "served");
    response
}

fn not_found() -> Response {
    let mut r = (StatusCode::NOT_FOUND, "not found\n").into_response();
    r.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}

/// A name that stays inside its folder: no separators, no leading dot.
fn safe_name(name: &str, ext: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', '\0']) && name.ends_with(ext)
}

fn http_date(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// A strong ETag: a hash of the bytes.
fn etag_of(body: &[u8]) -> String {
    format!("\"{}\"", hex::encode(&Sha256::digest(body)[..16]))
}

/// A 200 with validators, or a 304 when the client's copy is current.
fn conditional(req: &HeaderMap, body: Vec<u8>, content_type: &str, modified: Option<SystemTime>) -> Response {
    let etag = etag_of(&body);
    respond(req, Bytes::from(body), &etag, content_type, modified)
}

/// [`conditional`] for a body whose ETag is known.
fn respond(req: &HeaderMap, body: Bytes, etag: &str, content_type: &str, modified: Option<SystemTime>) -> Response {
    // HTTP dates have whole seconds.
    let modified = modified.map(|m| {
        let secs = m.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    });
    let matches_etag = req.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(|v| {
        v.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        })
    });
    let not_modified = match matches_etag {
        Some(m) => m,
        None => match (req.get(header::IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok()), modified) {
            (Some(since), Some(m)) => DateTime::parse_from_rfc2822(since)
                .map(|s| SystemTime::from(s.with_timezone(&Utc)) >= m)
                .unwrap_or(false),
            _ => false,
        },
    };
    let mut headers = HeaderMap::new();
    let mut put = |name: header::HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put(header::ETAG, etag);
    if let Some(m) = modified {
        put(header::LAST_MODIFIED, &http_date(m));
    }
    put(header::CACHE_CONTROL, "public, max-age=300");
    put(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if not_modified {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    put(header::CONTENT_TYPE, content_type);
    if content_type.starts_with("text/html") {
        put(header::CONTENT_SECURITY_POLICY, CSP);
    }
    (StatusCode::OK, headers, body).into_response()
}

/// An output file, from memory while it is unchanged on disk.
async fn read_output(shared: &Shared, rel: &Path) -> Option<CachedFile> {
    let path: PathBuf = shared.config().config.output.dir.join(rel);
    // A stat of a local file is quick enough to make on the async thread.
    let meta = std::fs::metadata(&path).ok()?;
    let (len, modified, inode) = (meta.len(), meta.modified().ok(), std::os::unix::fs::MetadataExt::ino(&meta));
    if let Ok(files) = shared.files.lock()
        && let Some(f) = files.get(&path)
        && f.len == len
        && f.inode == inode
        && f.modified == modified
        && modified.is_some()
    {
        return Some(f.clone());
    }
    let body = tokio::fs::read(&path).await.ok()?;
    let file = CachedFile { etag: etag_of(&body), len: body.len() as u64, inode, body: Bytes::from(body), modified };
    if let Ok(mut files) = shared.files.lock() {
        files.insert(path, file.clone());
    }
    Some(file)
}

async fn output_file(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    name: &'static str,
    ct: &'static str,
) -> Response {
    match read_output(&shared, Path::new(name)).await {
        Some(f) => respond(&headers, f.body, &f.etag, ct, f.modified),
        None => not_found(),
    }
}

/// `/tags/<name>.xml` is a tag's feed; `/tags/<name>` its page.
async fn tag_feed(State(shared): State<Arc<Shared>>, headers: HeaderMap, UrlPath(file): UrlPath<String>) -> Response {
    if !file.ends_with(".xml") {
        return tag_page(shared, headers, file).await;
    }
    if !safe_name(&file, ".xml") {
        return not_found();
    }
    match read_output(&shared, &Path::new("tags").join(&file)).await {
        Some(f) => respond(&headers, f.body, &f.etag, RSS, f.modified),
        None => not_found(),
    }
}

async fn raw_post(State(shared): State<Arc<Shared>>, headers: HeaderMap, UrlPath(file): UrlPath<String>) -> Response {
    if !safe_name(&file, ".md") {
        return not_found();
    }
    let dir = crate::publish::posts_dir(&shared.config().config);
    let rel = dir
        .strip_prefix(&shared.config().config.output.dir)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| PathBuf::from("_posts"));
    match read_output(&shared, &rel.join(&file)).await {
        Some(f) => respond(&headers, f.body, &f.etag, "text/markdown; charset=utf-8", f.modified),
        None => not_found(),
    }
}

fn tags_with_feeds(shared: &Shared) -> Vec<String> {
    let dir = shared.config().config.output.dir.join("tags");
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".xml")).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Posts listed on the index.
const INDEX_POSTS: usize = 30;
/// Posts an archive or a post's neighbours are looked up among.
const ARCHIVE_POSTS: usize = 10_000;
/// Stories listed on a tag's page.
const TAG_PAGE_STORIES: usize = 100;

/// An HTML page built from the database on a blocking thread: 404 when
/// `build` finds nothing; otherwise with an ETag, a 304 when it matches.
async fn html_page(
    shared: Arc<Shared>,
    headers: HeaderMap,
    build: impl FnOnce(&Shared, &Loaded, &Store) -> Option<String> + Send + 'static,
) -> Response {
    let page = tokio::task::spawn_blocking(move || {
        let config = shared.config();
        // A handler that panicked while holding the store leaves it as it
        // was (every write is a transaction): pages go on being served.
        let store = shared.store.lock().unwrap_or_else(|e| e.into_inner());
        build(&shared, &config, &store)
    })
    .await;
    match page {
        // No Last-Modified: a page changes when an edited rebuild or a new
        // day changes what it shows, with no time to tell; the ETag does.
        Ok(Some(html)) => conditional(&headers, html.into_bytes(), "text/html; charset=utf-8", None),
        Ok(None) => not_found(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "error\n").into_response(),
    }
}

async fn index(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    html_page(shared, headers, |s, config, store| {
        let posts = store.post_list(INDEX_POSTS).unwrap_or_default();
        let stories = match (posts.last(), posts.first()) {
            (Some(oldest), Some(newest)) => {
                store.stories_of_posts(&oldest.date, &format!("{}~", newest.date)).unwrap_or_default()
            }
            _ => vec![],
        };
        Some(pages::index(&config.config.site, &config.taxonomy, &posts, &stories, &tags_with_feeds(s)))
    })
    .await
}

async fn post_page(State(shared): State<Arc<Shared>>, headers: HeaderMap, UrlPath(date): UrlPath<String>) -> Response {
    if chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").is_err() {
        return not_found();
    }
    html_page(shared, headers, move |s, config, store| {
        let post = store.post(&date).ok().flatten()?;
        let days = store.post_list(ARCHIVE_POSTS).unwrap_or_default();
        // Newest first: the next day is before this one in the list.
        let at = days.iter().position(|p| p.date == date);
        let next = at.and_then(|i| i.checked_sub(1)).and_then(|i| days.get(i)).map(|p| p.date.as_str());
        let previous = at.and_then(|i| days.get(i + 1)).map(|p| p.date.as_str());
        Some(pages::post(&config.config.site, &config.taxonomy, &post, (previous, next), &tags_with_feeds(s)))
    })
    .await
}

async fn tag_page(shared: Arc<Shared>, headers: HeaderMap, name: String) -> Response {
    html_page(shared, headers, move |s, config, store| {
        // A tag of the taxonomy, or one stories carry (an editor's).
        let known = config.taxonomy.tag.iter().map(|t| t.name.clone()).find(|t| pages::tag_page_name(t) == name);
        let tag = known.unwrap_or_else(|| name.clone());
        let stories = store.stories_with_tag(&tag, TAG_PAGE_STORIES).ok()?;
        if stories.is_empty() && !config.taxonomy.tag.iter().any(|t| t.name == tag) {
            return None;
        }
        Some(pages::tag(&config.config.site, &config.taxonomy, &tag, &stories, &tags_with_feeds(s)))
    })
    .await
}

async fn archive_page(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    html_page(shared, headers, |s, config, store| {
        let posts = store.post_list(ARCHIVE_POSTS).unwrap_or_default();
        Some(pages::archive(&config.config.site, &config.taxonomy, &posts, &tags_with_feeds(s)))
    })
    .await
}

/// `/preview[?date=YYYY-MM-DD]`: the next digest (or that date's) as it
/// would be written now, edits applied. Only with `[serve] preview_token`,
/// given as `Authorization: Bearer <token>` or `?token=`; never cached.
async fn preview_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let config = shared.config();
    let Some(token) = config.config.serve.preview_token.clone() else {
        return not_found();
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let given = bearer.or(query.get("token").map(String::as_str)).unwrap_or("");
    if !token.matches(given) {
        let mut r = (StatusCode::UNAUTHORIZED, "a preview token is needed\n").into_response();
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        return r;
    }
    let date = match query.get("date").map(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")) {
        // The years a digest can cover, as `digest --date` takes them.
        Some(Ok(d)) if (1970..=9999).contains(&chrono::Datelike::year(&d)) => d,
        Some(_) => return (StatusCode::BAD_REQUEST, "date must be YYYY-MM-DD, 1970–9999\n").into_response(),
        None => next_digest_date(&config, Utc::now()),
    };
    let s = shared.clone();
    let page = tokio::task::spawn_blocking(move || {
        let config = s.config();
        let store = s.store.lock().unwrap_or_else(|e| e.into_inner());
        let digest = crate::daily::preview(&config, &*store, date).map_err(|e| e.to_string())?;
        Ok::<_, String>(pages::preview(&config.config.site, &date.to_string(), digest.as_ref()))
    })
    .await;
    match page {
        Ok(Ok(html)) => {
            let mut r = (StatusCode::OK, html).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
            h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
            // The page's own links must not carry a `?token=` URL onwards.
            h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
            r
        }
        // A malformed edits file, say: the reason, for the editor.
        Ok(Err(why)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{why}\n")).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "error\n").into_response(),
    }
}

/// The date the digest schedule writes next (in the site's timezone).
fn next_digest_date(config: &Loaded, now: DateTime<Utc>) -> chrono::NaiveDate {
    let tz = config.config.site.tz();
    let local = now.with_timezone(&tz);
    crate::config::parse_cron(&config.config.schedule.digest)
        .ok()
        .and_then(|c| c.find_next_occurrence(&local, false).ok())
        .map_or_else(|| local.date_naive(), |t| t.date_naive())
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    let s = shared.clone();
    let checked = tokio::task::spawn_blocking(move || (s.health(Utc::now()), s.node())).await;
    match checked {
        Ok((Ok(()), node)) => (StatusCode::OK, format!("ok\n{}", node.lines())).into_response(),
        Ok((Err(reason), node)) => {
            (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n{}", node.lines())).into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "health check failed\n").into_response(),
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let s = shared.clone();
    let node = tokio::task::spawn_blocking(move || s.node()).await.unwrap_or_default();
    let body = format!("{}{}", shared.metrics.render(), node.metrics());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

/// This node as `/healthz` and `/metrics` tell it.
#[derive(Debug, Default)]
pub struct NodeStatus {
    pub node: String,
    pub backend: &'static str,
    pub database_up: bool,
    pub leases: u64,
}

impl NodeStatus {
    fn lines(&self) -> String {
        format!(
            "node: {}\ndatabase: {} ({})\nleases held: {}\n",
            self.node,
            self.backend,
            if self.database_up { "up" } else { "down" },
            self.leases
        )
    }

    fn metrics(&self) -> String {
        format!(
            "# HELP tidings_node_info This node's name and storage backend.\n# TYPE tidings_node_info gauge\n\
             tidings_node_info{{node=\"{}\",backend=\"{}\"}} 1\n\
             # HELP tidings_database_up Whether the database answers.\n# TYPE tidings_database_up gauge\n\
             tidings_database_up {}\n\
             # HELP tidings_leases_held Sources this node holds fetch leases on.\n# TYPE tidings_leases_held gauge\n\
             tidings_leases_held {}\n",
            self.node.replace(['\\', '"', '\n'], "_"),
            self.backend,
            u8::from(self.database_up),
            self.leases
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn health_flags_an_overdue_digest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::Sqlite(
            crate::store::SqliteStore::open(&dir.path().join("t.sqlite"), Duration::from_secs(1)).unwrap(),
        );
        let mut config = crate::config::Config::default();
        config.site.timezone = "UTC".into();
        let loaded = Loaded { config, sources: vec![], taxonomy: Default::default(), entities: Default::default() };
        let at = |h, m| Utc.with_ymd_and_hms(2025, 4, 2, h, m, 0).unwrap();
        let shared = Shared {
            loaded: RwLock::new(Arc::new(loaded)),
            metrics: Metrics::default(),
            store: Mutex::new(store),
            last_digest_run: Mutex::new(None),
            started_at: at(0, 0),
            files: Mutex::default(),
            mirrored: Mutex::default(),
        };
        assert!(shared.health(at(9, 10)).is_ok(), "within the grace period");
        let err = shared.health(at(12, 0)).unwrap_err();
        assert!(err.contains("2025-04-02T09:00:00+00:00"), "{err}");
        *shared.last_digest_run.lock().unwrap() = Some(at(9, 1));
        assert!(shared.health(at(12, 0)).is_ok());
    }

    #[tokio::test]
    async fn a_replaced_file_is_served_fresh_an_unchanged_one_from_memory() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::Sqlite(
            crate::store::SqliteStore::open(&dir.path().join("t.sqlite"), Duration::from_secs(1)).unwrap(),
        );
        let mut config = crate::config::Config::default();
        config.output.dir = dir.path().join("out");
        std::fs::create_dir_all(&config.output.dir).unwrap();
        let feed = config.output.dir.join("feed.xml");
        let shared = Shared {
            loaded: RwLock::new(Arc::new(Loaded {
                config,
                sources: vec![],
                taxonomy: Default::default(),
                entities: Default::default(),
            })),
            metrics: Metrics::default(),
            store: Mutex::new(store),
            last_digest_run: Mutex::new(None),
            started_at: Utc::now(),
            files: Mutex::default(),
            mirrored: Mutex::default(),
        };
        std::fs::write(&feed, "<rss>one</rss>").unwrap();
        let first = read_output(&shared, Path::new("feed.xml")).await.unwrap();
        assert_eq!(&first.body[..], b"<rss>one</rss>");
        assert_eq!(read_output(&shared, Path::new("feed.xml")).await.unwrap().etag, first.etag);
        // Publishing writes a new file and renames it over the old one: same
        // length, possibly the same second.
        let next = feed.with_extension("tmp");
        std::fs::write(&next, "<rss>two</rss>").unwrap();
        std::fs::rename(&next, &feed).unwrap();
        let second = read_output(&shared, Path::new("feed.xml")).await.unwrap();
        assert_eq!(&second.body[..], b"<rss>two</rss>");
        assert_ne!(second.etag, first.etag);
        std::fs::remove_file(&feed).unwrap();
        assert!(read_output(&shared, Path::new("feed.xml")).await.is_none());
    }

    #[test]
    fn names_cannot_leave_their_folder() {
        assert!(safe_name("AI眼镜.xml", ".xml"));
        for bad in ["../tidings.toml", "../x.xml", ".hidden.xml", "a/b.xml", "a\\b.xml", "/etc/passwd.xml", "x.txt", ""]
        {
            assert!(!safe_name(bad, ".xml"), "{bad}");
        }
    }

    #[test]
    fn conditional_requests() {
        let body = b"<rss/>".to_vec();
        let first = conditional(
            &HeaderMap::new(),
            body.clone(),
            RSS,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000)),
        );
        assert_eq!(first.status(), StatusCode::OK);
        let etag = first.headers()[header::ETAG].clone();
        let lm = first.headers()[header::LAST_MODIFIED].clone();
        let mut req = HeaderMap::new();
        req.insert(header::IF_NONE_MATCH, etag);
        assert_eq!(conditional(&req, body.clone(), RSS, None).status(), StatusCode::NOT_MODIFIED);
        let mut req = HeaderMap::new();
        req.insert(header::IF_MODIFIED_SINCE, lm);
        let m = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000));
        assert_eq!(conditional(&req, body.clone(), RSS, m).status(), StatusCode::NOT_MODIFIED);
        let mut req = HeaderMap::new();
        req.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert_eq!(conditional(&req, body, RSS, m).status(), StatusCode::OK);
    }
}
