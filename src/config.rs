//! Configuration: the main config file, the source list and the taxonomy file.
//!
//! Every struct denies unknown keys, and every default lives in the `Default`
//! impls of this module. Relative paths resolve against the folder of the
//! file that names them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;
use url::Url;

/// A problem found while loading or checking configuration, naming the file,
/// the key and, where known, the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Configuration that cannot be used; carries every problem found.
#[derive(Debug, thiserror::Error)]
#[error("{}", problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub problems: Vec<ConfigProblem>,
}

impl ConfigError {
    fn one(file: &Path, line: Option<usize>, key: Option<&str>, message: impl Into<String>) -> Self {
        ConfigError {
            problems: vec![ConfigProblem {
                file: file.to_path_buf(),
                line,
                key: key.map(str::to_string),
                message: message.into(),
            }],
        }
    }
}

/// The main configuration file (`config/tidings.toml`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub site: SiteConfig,
    pub storage: StorageConfig,
    pub output: OutputConfig,
    pub digest: DigestConfig,
    pub fetch: FetchConfig,
    pub schedule: ScheduleConfig,
    pub taxonomy: TaxonomyRef,
    pub entities: EntitiesRef,
    pub sources: SourcesRef,
    pub serve: ServeConfig,
    /// Folder of the config file; relative paths were resolved against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The config file itself.
    #[serde(skip)]
    pub path: PathBuf,
}

/// `[site]`: what the published site and feeds say about themselves.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SiteConfig {
    pub title: String,
    pub description: String,
    pub base_url: String,
    /// IANA zone name; naive feed dates and the digest window use it.
    pub timezone: String,
    pub language: String,
    /// A WebSub hub to notify when a digest is published (advertised in the feeds).
    pub websub_hub: Option<String>,
}

impl Default for SiteConfig {
    fn default() -> Self {
        SiteConfig {
            title: "Tidings".into(),
            description: "AI 产业每日要闻".into(),
            base_url: "http://localhost:8080/".into(),
            timezone: "Asia/Shanghai".into(),
            language: "zh-CN".into(),
            websub_hub: None,
        }
    }
}

/// `[serve]`: the daemon's HTTP server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Address to listen on; `tidings serve --listen` overrides it.
    pub listen: String,
    /// Turns on `/preview` (the next digest as it would be written now) for
    /// requests that carry it; unset, the page does not exist.
    pub preview_token: Option<Secret>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig { listen: "127.0.0.1:8080".into(), preview_token: None }
    }
}

/// A value never shown: debug output and logs print `***`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// Whether `given` is this secret, in time that does not depend on
    /// where they differ: both are hashed, and the hashes compared whole.
    pub fn matches(&self, given: &str) -> bool {
        use sha2::Digest;
        let (a, b) = (sha2::Sha256::digest(self.0.as_bytes()), sha2::Sha256::digest(given.as_bytes()));
        a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl SiteConfig {
    /// The site's timezone; `check` guarantees it parses, UTC otherwise.
    pub fn tz(&self) -> Tz {
        self.timezone.parse().unwrap_or(Tz::UTC)
    }
}

/// `[storage]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// SQLite database file, or a `postgres://` URL.
    pub database: PathBuf,
    /// How long to wait for a database locked by another process.
    pub busy_timeout_secs: u64,
}

impl StorageConfig {
    /// The PostgreSQL URL, when `database` is one.
    pub fn postgres_url(&self) -> Option<&str> {
        self.database.to_str().filter(|d| is_postgres_url(d))
    }
}

/// Whether a `database` setting names a PostgreSQL server.
pub fn is_postgres_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// Overrides `[storage] database` (a SQLite path or a PostgreSQL URL).
pub const DATABASE_ENV: &str = "TIDINGS_DATABASE_URL";

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig { database: PathBuf::from("tidings.sqlite"), busy_timeout_secs: 10 }
    }
}

/// `[output]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// Where posts and feeds are written.
    pub dir: PathBuf,
    /// Which static site builder the posts are for.
    pub format: OutputFormat,
    /// Where an editor's corrections live, one `YYYY-MM-DD.toml` per date.
    pub edits_dir: PathBuf,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig { dir: PathBuf::from("public"), format: OutputFormat::Jekyll, edits_dir: PathBuf::from("edits") }
    }
}

/// The post layout: Jekyll (`_posts/`, `layout: post`, `date: YYYY-MM-DD HH:MM`)
/// or Hugo (`content/posts/`, RFC 3339 `date`).
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    #[default]
    Jekyll,
    Hugo,
}

/// `[digest]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DigestConfig {
    /// Local time (site timezone) at which a day's digest closes, "HH:MM".
    pub time: String,
    pub max_stories: usize,
    /// Post title; `{themes}` (the day's leading tags), `{top}` (the first
    /// story's headline), `{date}` (2025年4月2日) and `{count}` are filled in.
    pub title: String,
    /// The post's H1, with the same placeholders.
    pub heading: String,
    /// File-name slug: `_posts/YYYY-MM-DD-<slug>.md`.
    pub slug: String,
    /// How many recent posts the site feeds carry.
    pub feed_posts: usize,
    /// Stories of this many earlier days are recognised when they continue.
    pub follow_up_days: u32,
    /// Enrich published stories from article pages for every source, not only
    /// those with `enrich = true`.
    pub enrich: bool,
}

impl Default for DigestConfig {
    fn default() -> Self {
        DigestConfig {
            time: "09:00".into(),
            max_stories: 12,
            title: "AI产业日报：{themes}".into(),
            heading: "{date}AI产业要闻：{themes}".into(),
            slug: "ai-daily".into(),
            feed_posts: 20,
            follow_up_days: 7,
            enrich: false,
        }
    }
}

/// `[fetch]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchConfig {
    pub timeout_secs: u64,
    pub max_body_bytes: u64,
    pub concurrency: usize,
    pub per_host_concurrency: usize,
    pub max_redirects: usize,
    /// Defaults to `Tidings/<version> (+<site.base_url>)`.
    pub user_agent: Option<String>,
    /// Let fetches of article pages (and sources added at run time) reach
    /// loopback, private and link-local addresses. Off: an SSRF guard.
    pub allow_private_addresses: bool,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            timeout_secs: 20,
            max_body_bytes: 10 * 1024 * 1024,
            concurrency: 16,
            per_host_concurrency: 2,
            max_redirects: 5,
            user_agent: None,
            allow_private_addresses: false,
        }
    }
}

/// `[schedule]`: crontab expressions, evaluated in the site's timezone, and
/// the bounds of per-source polling.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// When the daemon looks for sources that are due.
    pub fetch: String,
    pub digest: String,
    /// Shortest interval between two fetches of one source.
    pub min_interval_mins: u64,
    /// Longest interval between two fetches of one source.
    pub max_interval_mins: u64,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            fetch: "*/30 * * * *".into(),
            digest: "0 9 * * *".into(),
            min_interval_mins: 5,
            max_interval_mins: 1440,
        }
    }
}

impl ScheduleConfig {
    /// The polling policy's bounds.
    pub fn bounds(&self) -> crate::poll::PollBounds {
        let min = chrono::Duration::minutes(self.min_interval_mins.clamp(1, 100_000) as i64);
        let max = chrono::Duration::minutes(self.max_interval_mins.clamp(1, 100_000) as i64).max(min);
        crate::poll::PollBounds { min, max }
    }
}

/// `[taxonomy]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TaxonomyRef {
    pub file: PathBuf,
}

impl Default for TaxonomyRef {
    fn default() -> Self {
        TaxonomyRef { file: PathBuf::from("taxonomy.toml") }
    }
}

/// `[entities]`: the gazetteer of companies, products, people, places and
/// regulators. Without a file, the one shipped in `config/entities.toml`
/// (compiled in) is used.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct EntitiesRef {
    pub file: Option<PathBuf>,
}

/// `[sources]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourcesRef {
    pub file: PathBuf,
}

impl Default for SourcesRef {
    fn default() -> Self {
        SourcesRef { file: PathBuf::from("../feeds/sources.toml") }
    }
}

/// The source list file (`feeds/sources.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceList {
    #[serde(default)]
    pub source: Vec<SourceConfig>,
}

/// How an item's identity is chosen within its source.
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum IdPolicy {
    /// guid, else canonical link, else a hash of title and content.
    #[default]
    Guid,
    /// canonical link first: for feeds whose guids change between fetches.
    Link,
}

/// One `[[source]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub name: String,
    /// `http(s)://` or `file://` URL, or a plain path relative to the source list.
    pub url: String,
    /// Zone for dates without one; defaults to the site's.
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub id: IdPolicy,
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Poll this often instead of following the source's publishing rate.
    #[serde(default)]
    pub interval_mins: Option<u64>,
    /// `feed` (default) or `html`: a web page read with the selectors below.
    #[serde(default)]
    pub kind: SourceKind,
    /// CSS selector of each item on an HTML page.
    #[serde(default)]
    pub item: Option<String>,
    /// Within an item: the title's element (its text).
    #[serde(default)]
    pub title: Option<String>,
    /// Within an item: the link's element (its `href`; the title's by default).
    #[serde(default)]
    pub link: Option<String>,
    /// Within an item: the date's element (its `datetime` or text).
    #[serde(default)]
    pub date: Option<String>,
    /// chrono format of the date text, when the usual ones do not fit.
    #[serde(default)]
    pub date_format: Option<String>,
    /// Within an item: the summary's element.
    #[serde(default)]
    pub summary: Option<String>,
    /// Within an item: the image's element (its `src`).
    #[serde(default)]
    pub image: Option<String>,
    /// Fetch article pages of published stories that lack an image or text.
    #[serde(default)]
    pub enrich: bool,
    /// Fetch every new item's article page and extract its main text.
    #[serde(default)]
    pub full_text: bool,
    /// A folder name, kept through OPML import and export.
    #[serde(default)]
    pub group: Option<String>,
}

/// What kind of document a source's URL gives.
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    #[default]
    Feed,
    Html,
}

/// The selectors of an HTML list source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlSelectors {
    pub item: String,
    pub title: String,
    pub link: String,
    pub date: Option<String>,
    pub date_format: Option<String>,
    pub summary: Option<String>,
    pub image: Option<String>,
}

fn default_true() -> bool {
    true
}

/// Where a source's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Http(Url),
    File(PathBuf),
}

impl Location {
    /// A URL string for messages and for resolving relative links.
    pub fn as_url(&self) -> String {
        match self {
            Location::Http(u) => u.to_string(),
            Location::File(p) => {
                Url::from_file_path(p).map(|u| u.to_string()).unwrap_or_else(|_| format!("file://{}", p.display()))
            }
        }
    }

    /// Host used for per-host politeness; files share one pseudo-host.
    pub fn host_key(&self) -> String {
        match self {
            Location::Http(u) => u.host_str().unwrap_or("").to_ascii_lowercase(),
            Location::File(_) => String::from("<file>"),
        }
    }

    /// Resolves a configured `url` string, relative paths against `base_dir`.
    pub fn parse(raw: &str, base_dir: &Path) -> Result<Location, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("is empty".into());
        }
        if let Some((scheme, _)) = raw.split_once("://") {
            let url = Url::parse(raw).map_err(|e| format!("is not a valid URL ({e})"))?;
            return match scheme.to_ascii_lowercase().as_str() {
                "http" | "https" => {
                    if url.host_str().is_none_or(str::is_empty) {
                        Err("has no host".into())
                    } else {
                        Ok(Location::Http(url))
                    }
                }
                "file" => url.to_file_path().map(Location::File).map_err(|_| "is not a usable file:// URL".to_string()),
                other => Err(format!("has unsupported scheme `{other}` (use http, https, file or a path)")),
            };
        }
        Ok(Location::File(resolve_path(base_dir, Path::new(raw))))
    }
}

/// `path` against `base` (unless absolute), made absolute, with `.` and `..`
/// folded away so messages show a clean path.
pub fn resolve_path(base: &Path, path: &Path) -> PathBuf {
    let joined = base.join(path);
    let absolute = std::path::absolute(&joined).unwrap_or(joined);
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// A source ready to fetch: configuration with its location and zone resolved.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub location: Location,
    pub timezone: Tz,
    pub id_policy: IdPolicy,
    /// The source's own polling interval, if it sets one.
    pub interval: Option<chrono::Duration>,
    /// Selectors, for a web page read as a list of items.
    pub html: Option<HtmlSelectors>,
    /// Article pages of its published stories may be fetched for images and text.
    pub enrich: bool,
    /// Every new item's article page is fetched for its main text.
    pub full_text: bool,
}

impl Source {
    /// A source with every optional setting at its default.
    pub fn new(name: impl Into<String>, location: Location, timezone: Tz) -> Source {
        Source {
            name: name.into(),
            location,
            timezone,
            id_policy: IdPolicy::Guid,
            interval: None,
            html: None,
            enrich: false,
            full_text: false,
        }
    }
}

/// The taxonomy file: concepts, and tags given by keywords, rules over
/// concepts and examples.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Taxonomy {
    #[serde(default)]
    pub concept: Vec<ConceptConfig>,
    #[serde(default)]
    pub tag: Vec<TagConfig>,
}

/// One `[[concept]]`: a named lexicon that tag rules are written over.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConceptConfig {
    pub name: String,
    /// Words and phrases, Chinese and English, matched as tag keywords are.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Gazetteer entries that also count: by kind and country (an entry
    /// without a country takes its parent's).
    #[serde(default)]
    pub entities: Option<EntitySelector>,
}

/// Which gazetteer entries a concept takes.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EntitySelector {
    /// Kinds taken; empty takes every kind.
    #[serde(default)]
    pub kind: Vec<crate::entities::EntityKind>,
    /// Countries taken (as the gazetteer writes them, `CN`); empty takes all.
    #[serde(default)]
    pub country: Vec<String>,
}

/// One `[[tag]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagConfig {
    pub name: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default = "default_weight")]
    pub weight: f64,
    /// A rule over concepts ([`crate::tag::rule`]) that gives the tag.
    #[serde(default)]
    pub rule: Option<String>,
    /// Headlines (with a lead, if wanted) that have this tag.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Headlines alike in words that do not.
    #[serde(default)]
    pub counter_examples: Vec<String>,
    /// How close to the examples an item must be; see [`crate::tag::example`].
    #[serde(default)]
    pub example_threshold: Option<f64>,
}

fn default_weight() -> f64 {
    1.0
}

/// Everything loaded: config, sources, taxonomy and gazetteer.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub sources: Vec<Source>,
    pub taxonomy: Taxonomy,
    pub entities: crate::entities::Entities,
}

pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

/// Parses a TOML file into `T`, turning syntax and type errors into a problem
/// with file, line and key.
fn parse_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<(T, String), ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::one(path, None, None, format!("cannot read file: {e}")))?;
    match toml::from_str::<T>(&text) {
        Ok(v) => Ok((v, text)),
        Err(e) => {
            let line = e.span().map(|s| line_of(&text, s.start));
            let key = e.span().and_then(|s| key_at(&text, s.start));
            Err(ConfigError::one(path, line, key.as_deref(), e.message().trim().to_string()))
        }
    }
}

/// The `table.key` path around a byte offset, found by scanning the text
/// before it: good enough to point a person at the right place.
pub(crate) fn key_at(text: &str, offset: usize) -> Option<String> {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[line_start..].find('\n').map_or(text.len(), |i| line_start + i);
    let line = text[line_start..line_end].trim();
    let key = line.split_once('=').map(|(k, _)| k.trim().trim_matches('"').to_string());
    let table = before[..line_start].lines().rev().find_map(|l| {
        let l = l.trim();
        l.starts_with('[').then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
    });
    match (table, key) {
        (Some(t), Some(k)) if !k.starts_with('[') => Some(format!("{t}.{k}")),
        (_, Some(k)) if !k.starts_with('[') => Some(k),
        (Some(t), _) => Some(t),
        _ => None,
    }
}

/// Line of `key = …` inside the `index`-th `[[table]]` of `text`, else the
/// table's own line.
fn table_key_line(text: &str, table: &str, index: usize, key: &str) -> Option<usize> {
    let header = format!("[[{table}]]");
    let mut seen = 0;
    let mut in_table = false;
    let mut table_line = None;
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            in_table = t == header && {
                seen += 1;
                seen == index + 1
            };
            if in_table {
                table_line = Some(n + 1);
            }
            continue;
        }
        if in_table && t.split('=').next().is_some_and(|k| k.trim().trim_matches('"') == key) {
            return Some(n + 1);
        }
    }
    table_line
}

/// Line of the first occurrence of `needle` in `text`, for semantic errors.
fn find_line(text: &str, needle: &str) -> Option<usize> {
    text.find(needle).map(|i| line_of(text, i))
}

impl Config {
    /// Reads the main config file and resolves its relative paths.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let (mut config, _text): (Config, String) = parse_toml(path)?;
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let base_dir = if base_dir.as_os_str().is_empty() { PathBuf::from(".") } else { base_dir };
        let base_dir = std::path::absolute(&base_dir).unwrap_or(base_dir);
        if let Some(url) = std::env::var(DATABASE_ENV).ok().filter(|u| !u.trim().is_empty()) {
            config.storage.database = PathBuf::from(url.trim());
        }
        if config.storage.postgres_url().is_none() {
            config.storage.database = resolve_path(&base_dir, &config.storage.database);
        }
        config.output.dir = resolve_path(&base_dir, &config.output.dir);
        config.output.edits_dir = resolve_path(&base_dir, &config.output.edits_dir);
        config.taxonomy.file = resolve_path(&base_dir, &config.taxonomy.file);
        config.entities.file = config.entities.file.as_ref().map(|f| resolve_path(&base_dir, f));
        config.sources.file = resolve_path(&base_dir, &config.sources.file);
        config.base_dir = base_dir;
        config.path = path.to_path_buf();
        Ok(config)
    }

    /// The User-Agent sent with every request.
    pub fn user_agent(&self) -> String {
        self.fetch
            .user_agent
            .clone()
            .unwrap_or_else(|| format!("Tidings/{} (+{})", env!("CARGO_PKG_VERSION"), self.site.base_url))
    }

    /// Semantic checks of the main config; returns every problem found.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let mut out = Vec::new();
        let mut add = |key: &str, needle: &str, message: String| {
            out.push(ConfigProblem {
                file: self.path.clone(),
                line: find_line(&text, needle),
                key: Some(key.to_string()),
                message,
            });
        };
        if self.site.timezone.parse::<Tz>().is_err() {
            add(
                "site.timezone",
                "timezone",
                format!("`{}` is not an IANA timezone name (e.g. \"Asia/Shanghai\")", self.site.timezone),
            );
        }
        match Url::parse(&self.site.base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            Ok(_) => add("site.base_url", "base_url", "must be an absolute http(s) URL".into()),
            Err(e) => {
                add("site.base_url", "base_url", format!("`{}` is not an absolute URL ({e})", self.site.base_url))
            }
        }
        if self.serve.listen.parse::<std::net::SocketAddr>().is_err() {
            add("serve.listen", "listen", format!("`{}` is not an address like 127.0.0.1:8080", self.serve.listen));
        }
        if let Some(hub) = &self.site.websub_hub
            && !Url::parse(hub).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        {
            add("site.websub_hub", "websub_hub", format!("`{hub}` is not an http(s) URL"));
        }
        if parse_hh_mm(&self.digest.time).is_none() {
            add("digest.time", "time", format!("`{}` is not a time of day as HH:MM", self.digest.time));
        }
        if self.digest.max_stories == 0 {
            add("digest.max_stories", "max_stories", "must be at least 1".into());
        }
        let slug = &self.digest.slug;
        if slug.is_empty() || !slug.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            add("digest.slug", "slug", format!("`{slug}` must be non-empty ASCII letters, digits, '-' or '_'"));
        }
        if self.digest.title.trim().is_empty() {
            add("digest.title", "title", "must not be empty".into());
        }
        for (key, value) in [("schedule.fetch", &self.schedule.fetch), ("schedule.digest", &self.schedule.digest)] {
            if let Err(e) = parse_cron(value) {
                add(key, value, format!("`{value}` is not a crontab expression: {e}"));
            }
        }
        let f = &self.fetch;
        for (key, zero) in [
            ("fetch.timeout_secs", f.timeout_secs == 0),
            ("fetch.max_body_bytes", f.max_body_bytes == 0),
            ("fetch.concurrency", f.concurrency == 0),
            ("fetch.per_host_concurrency", f.per_host_concurrency == 0),
        ] {
            if zero {
                let short = key.rsplit('.').next().unwrap_or(key);
                add(key, short, "must be greater than 0".into());
            }
        }
        if let Some(ua) = &f.user_agent
            && (ua.trim().is_empty() || ua.chars().any(char::is_control))
        {
            add("fetch.user_agent", "user_agent", "must be a non-empty single line".into());
        }
        if let Some(token) = &self.serve.preview_token
            && (token.is_empty() || token.0.chars().count() < 16)
        {
            add("serve.preview_token", "preview_token", "must be at least 16 characters (it guards /preview)".into());
        }
        out
    }
}

/// Parses "HH:MM".
pub fn parse_hh_mm(s: &str) -> Option<chrono::NaiveTime> {
    chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()
}

/// Parses a 5-field crontab expression (6 with seconds) with POSIX day numbers.
pub fn parse_cron(expr: &str) -> Result<croner::Cron, croner::errors::CronError> {
    croner::parser::CronParser::builder().seconds(croner::parser::Seconds::Optional).build().parse(expr)
}

/// Reads the source list and resolves every source; problems name the file,
/// the line and the source.
pub fn load_sources(path: &Path, site_tz: Tz) -> Result<Vec<Source>, ConfigError> {
    let (list, text): (SourceList, String) = parse_toml(path)?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    let mut sources = Vec::new();
    if list.source.is_empty() {
        problems.push(ConfigProblem {
            file: path.to_path_buf(),
            line: None,
            key: Some("source".into()),
            message: "the source list is empty: add at least one [[source]] with name and url".into(),
        });
    }
    for (i, s) in list.source.iter().enumerate() {
        let problem = |key: &str, _needle: &str, message: String| ConfigProblem {
            file: path.to_path_buf(),
            line: table_key_line(&text, "source", i, key),
            key: Some(format!("source[{i}].{key}")),
            message,
        };
        if s.name.trim().is_empty() {
            problems.push(problem("name", &s.url, "is empty".into()));
            continue;
        }
        if !seen.insert(s.name.clone()) {
            problems.push(problem("name", &s.name, format!("duplicate source name `{}`", s.name)));
            continue;
        }
        let tz = match &s.timezone {
            None => site_tz,
            Some(z) => match z.parse::<Tz>() {
                Ok(tz) => tz,
                Err(_) => {
                    problems.push(problem(
                        "timezone",
                        z,
                        format!("source `{}`: `{z}` is not an IANA timezone name", s.name),
                    ));
                    continue;
                }
            },
        };
        match Location::parse(&s.url, &base_dir) {
            Ok(location) => {
                if s.enabled {
                    let interval =
                        s.interval_mins.filter(|m| *m > 0).map(|m| chrono::Duration::minutes(m.min(100_000) as i64));
                    let html = match html_selectors(s) {
                        Ok(h) => h,
                        Err((key, msg)) => {
                            let needle = match key {
                                "item" => s.item.clone(),
                                "title" => s.title.clone(),
                                "link" => s.link.clone(),
                                "date" => s.date.clone(),
                                "summary" => s.summary.clone(),
                                "image" => s.image.clone(),
                                _ => None,
                            }
                            .unwrap_or_else(|| s.name.clone());
                            problems.push(problem(key, &needle, format!("source `{}`: {msg}", s.name)));
                            continue;
                        }
                    };
                    sources.push(Source {
                        name: s.name.clone(),
                        location,
                        timezone: tz,
                        id_policy: s.id,
                        interval,
                        html,
                        enrich: s.enrich,
                        full_text: s.full_text,
                    });
                }
            }
            Err(msg) => problems.push(problem("url", &s.url, format!("source `{}`: url `{}` {msg}", s.name, s.url))),
        }
    }
    if problems.is_empty() { Ok(sources) } else { Err(ConfigError { problems }) }
}

/// The selectors of an HTML source, each checked for CSS syntax; `Err` names
/// the key and what is wrong.
fn html_selectors(s: &SourceConfig) -> Result<Option<HtmlSelectors>, (&'static str, String)> {
    let keys = [
        ("item", &s.item),
        ("title", &s.title),
        ("link", &s.link),
        ("date", &s.date),
        ("summary", &s.summary),
        ("image", &s.image),
    ];
    if s.kind == SourceKind::Feed {
        if let Some((key, _)) = keys.iter().find(|(_, v)| v.is_some()) {
            return Err((key, format!("`{key}` is a selector for kind = \"html\" sources")));
        }
        return Ok(None);
    }
    for (key, value) in keys {
        if let Some(v) = value
            && let Err(e) = scraper::Selector::parse(v)
        {
            return Err((key, format!("`{v}` is not a valid CSS selector ({e})")));
        }
    }
    let item = s.item.clone().ok_or(("item", "kind = \"html\" needs an `item` selector".to_string()))?;
    let title = s.title.clone().ok_or(("title", "kind = \"html\" needs a `title` selector".to_string()))?;
    Ok(Some(HtmlSelectors {
        item,
        link: s.link.clone().unwrap_or_else(|| title.clone()),
        title,
        date: s.date.clone(),
        date_format: s.date_format.clone(),
        summary: s.summary.clone(),
        image: s.image.clone(),
    }))
}

/// Reads and checks the taxonomy file.
pub fn load_taxonomy(path: &Path) -> Result<Taxonomy, ConfigError> {
    let (taxonomy, text): (Taxonomy, String) = parse_toml(path)?;
    let mut problems = Vec::new();
    let mut concepts: Vec<&str> = Vec::new();
    for (i, concept) in taxonomy.concept.iter().enumerate() {
        let mut add = |key: &str, message: String| {
            problems.push(ConfigProblem {
                file: path.to_path_buf(),
                line: table_key_line(&text, "concept", i, key),
                key: Some(format!("concept[{i}].{key}")),
                message,
            })
        };
        let name = concept.name.as_str();
        if !crate::tag::rule::is_name(name) {
            add("name", format!("`{name}`: a concept name is letters, digits and _ (e.g. `ai_product`)"));
        } else if concepts.contains(&name) {
            add("name", format!("duplicate concept `{name}`"));
        } else {
            concepts.push(name);
        }
        if concept.keywords.iter().all(|k| crate::fold::fold(k).is_empty()) && concept.entities.is_none() {
            add("keywords", format!("concept `{name}` has no keywords and no entities"));
        }
    }
    let mut seen = HashSet::new();
    for (i, tag) in taxonomy.tag.iter().enumerate() {
        let mut add = |key: &str, message: String| {
            problems.push(ConfigProblem {
                file: path.to_path_buf(),
                line: table_key_line(&text, "tag", i, key),
                key: Some(format!("tag[{i}].{key}")),
                message,
            })
        };
        if tag.name.trim().is_empty() {
            add("name", "is empty".into());
        } else if !seen.insert(tag.name.clone()) {
            add("name", format!("duplicate tag `{}`", tag.name));
        }
        if tag.keywords.iter().all(|k| k.trim().is_empty()) && tag.rule.is_none() && tag.examples.is_empty() {
            add("keywords", format!("tag `{}` has no keywords, rule or examples", tag.name));
        }
        if !(tag.weight.is_finite() && tag.weight > 0.0) {
            add("weight", format!("tag `{}`: weight must be a positive number", tag.name));
        }
        if let Some(rule) = &tag.rule
            && let Err(e) = crate::tag::rule::Rule::parse(rule, &concepts)
        {
            add("rule", format!("tag `{}`: {e}", tag.name));
        }
        if let Some(t) = tag.example_threshold
            && !(t.is_finite() && t > 0.0 && t < 1.0)
        {
            add("example_threshold", format!("tag `{}`: must be between 0 and 1", tag.name));
        }
        if tag.example_threshold.is_some() && tag.examples.is_empty() {
            add("example_threshold", format!("tag `{}` has a threshold but no examples", tag.name));
        }
        if tag.examples.iter().chain(&tag.counter_examples).any(|e| e.trim().is_empty()) {
            add("examples", format!("tag `{}`: an example is empty", tag.name));
        }
    }
    if problems.is_empty() { Ok(taxonomy) } else { Err(ConfigError { problems }) }
}

/// Reads and checks a gazetteer file: every problem with its line and key.
pub fn load_entities(path: &Path) -> Result<crate::entities::Gazetteer, ConfigError> {
    let (file, text): (crate::entities::EntitiesFile, String) = parse_toml(path)?;
    crate::entities::Gazetteer::from_entries(file.entity).map_err(|problems| ConfigError {
        problems: problems
            .into_iter()
            .map(|p| ConfigProblem {
                file: path.to_path_buf(),
                line: table_key_line(&text, "entity", p.index, p.key),
                key: Some(format!("entity[{}].{}", p.index, p.key)),
                message: p.message,
            })
            .collect(),
    })
}

/// Loads config, sources and taxonomy, failing with every problem found.
pub fn load_all(config_path: &Path) -> Result<Loaded, ConfigError> {
    let config = Config::load(config_path)?;
    let mut problems = config.problems();
    let sources = load_sources(&config.sources.file, config.site.tz()).unwrap_or_else(|e| {
        problems.extend(e.problems);
        Vec::new()
    });
    let taxonomy = load_taxonomy(&config.taxonomy.file).unwrap_or_else(|e| {
        problems.extend(e.problems);
        Taxonomy::default()
    });
    let entities = match &config.entities.file {
        None => crate::entities::Entities::Builtin,
        Some(file) => crate::entities::Entities::File(std::sync::Arc::new(load_entities(file).unwrap_or_else(|e| {
            problems.extend(e.problems);
            crate::entities::Gazetteer::default()
        }))),
    };
    if problems.is_empty() { Ok(Loaded { config, sources, taxonomy, entities }) } else { Err(ConfigError { problems }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "t.toml", "[site]\ntitle = \"x\"\n\n[fetch]\ntimeout_secs = 5\nconcurency = 3\n");
        let err = Config::load(&p).unwrap_err();
        let pr = &err.problems[0];
        assert_eq!(pr.line, Some(6));
        assert_eq!(pr.key.as_deref(), Some("fetch.concurency"));
        assert!(pr.message.contains("unknown field"), "{}", pr.message);
    }

    #[test]
    fn wrong_type_is_reported_with_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "t.toml", "[fetch]\nconcurrency = \"many\"\n");
        let err = Config::load(&p).unwrap_err();
        assert_eq!(err.problems[0].line, Some(2));
        assert_eq!(err.problems[0].key.as_deref(), Some("fetch.concurrency"));
    }

    #[test]
    fn semantic_problems_are_all_listed() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "t.toml",
            "[site]\ntimezone = \"Mars/Olympus\"\nbase_url = \"not a url\"\n[digest]\ntime = \"25:99\"\n[schedule]\nfetch = \"every minute\"\n",
        );
        let c = Config::load(&p).unwrap();
        let keys: Vec<_> = c.problems().into_iter().filter_map(|p| p.key).collect();
        assert_eq!(keys, ["site.timezone", "site.base_url", "digest.time", "schedule.fetch"]);
    }

    #[test]
    fn a_preview_token_is_long_never_shown_and_compared_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "t.toml", "[serve]\npreview_token = \"short\"\n");
        let c = Config::load(&p).unwrap();
        let keys: Vec<_> = c.problems().into_iter().filter_map(|p| p.key).collect();
        assert_eq!(keys, ["serve.preview_token"]);
        assert!(!format!("{c:?}").contains("short"), "the token shows in debug output");
        let token = Secret::new("a-long-enough-token");
        assert!(token.matches("a-long-enough-token"));
        assert!(!token.matches("a-long-enough-tokeN") && !token.matches("") && !token.matches("a-long-enough-token "));
    }

    #[test]
    fn taxonomy_mistakes_name_file_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "tax.toml",
            "[[concept]]\nname = \"commerce\"\nkeywords = [\"订单\"]\n\n[[concept]]\nname = \"ai product\"\nkeywords = [\"模型\"]\n\n\
             [[concept]]\nname = \"empty\"\nkeywords = []\n\n\
             [[tag]]\nname = \"商业化落地\"\nrule = \"commerce & comerce\"\n\n\
             [[tag]]\nname = \"人机共生\"\nexample_threshold = 1.5\nexamples = [\"老人和AI聊天\"]\n\n\
             [[tag]]\nname = \"空\"\n",
        );
        let err = load_taxonomy(&p).unwrap_err();
        let got: Vec<(Option<usize>, Option<&str>)> = err.problems.iter().map(|p| (p.line, p.key.as_deref())).collect();
        assert_eq!(
            got,
            [
                (Some(6), Some("concept[1].name")),
                (Some(11), Some("concept[2].keywords")),
                (Some(15), Some("tag[0].rule")),
                (Some(19), Some("tag[1].example_threshold")),
                (Some(22), Some("tag[2].keywords")),
            ],
            "{err:?}"
        );
        assert!(err.problems[2].message.contains("at character 12: unknown concept `comerce`"), "{}", err.problems[2]);
        // The shipped taxonomy is clean.
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/taxonomy.toml");
        let t = load_taxonomy(&shipped).unwrap();
        assert!(t.tag.iter().take(10).all(|tag| !tag.examples.is_empty()), "the sample post's ten tags have examples");
    }

    #[test]
    fn crontab_uses_posix_weekdays() {
        use chrono::TimeZone;
        let cron = parse_cron("0 9 * * 1-5").unwrap();
        // 2026-11-28 is a Saturday: the next run is Monday the 30th.
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let sat = tz.with_ymd_and_hms(2026, 11, 28, 10, 0, 0).unwrap();
        let next = cron.find_next_occurrence(&sat, false).unwrap();
        assert_eq!(next.to_rfc3339(), "2026-11-30T09:00:00+08:00");
    }

    #[test]
    fn sources_resolve_paths_and_reject_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "s.toml",
            "[[source]]\nname = \"a\"\nurl = \"samples/a.xml\"\n\n[[source]]\nname = \"b\"\nurl = \"https://example.com/feed\"\ntimezone = \"UTC\"\n",
        );
        let s = load_sources(&p, Tz::Asia__Shanghai).unwrap();
        assert_eq!(s[0].location, Location::File(dir.path().join("samples/a.xml")));
        assert_eq!(resolve_path(Path::new("/a/config"), Path::new("../data/x.db")), PathBuf::from("/a/data/x.db"));
        assert_eq!(s[1].timezone, Tz::UTC);
        let p = write(
            dir.path(),
            "d.toml",
            "[[source]]\nname = \"a\"\nurl = \"x\"\n[[source]]\nname = \"a\"\nurl = \"ftp://y\"\n",
        );
        let err = load_sources(&p, Tz::UTC).unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert!(err.problems[0].message.contains("duplicate"));
        let p = write(dir.path(), "u.toml", "[[source]]\nname = \"a\"\nurl = \"ftp://y\"\n");
        let err = load_sources(&p, Tz::UTC).unwrap_err();
        assert_eq!(err.problems[0].line, Some(3));
        assert!(err.problems[0].message.contains("unsupported scheme"), "{}", err.problems[0]);
    }

    #[test]
    fn html_selectors_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "s.toml",
            "[[source]]\nname = \"部委\"\nurl = \"http://x.cn/list.html\"\nkind = \"html\"\nitem = \"ul.news li\"\ntitle = \"a.title[\"\n",
        );
        let err = load_sources(&p, Tz::UTC).unwrap_err();
        assert_eq!(err.problems[0].key.as_deref(), Some("source[0].title"));
        assert_eq!(err.problems[0].line, Some(6));
        assert!(err.problems[0].message.contains("not a valid CSS selector"), "{}", err.problems[0]);
        let p = write(dir.path(), "t.toml", "[[source]]\nname = \"a\"\nurl = \"http://x.cn/\"\nitem = \"li\"\n");
        assert!(load_sources(&p, Tz::UTC).unwrap_err().problems[0].message.contains("kind = \"html\""));
        let p = write(
            dir.path(),
            "u.toml",
            "[[source]]\nname = \"a\"\nurl = \"http://x.cn/\"\nkind = \"html\"\nitem = \"li\"\ntitle = \"a\"\n",
        );
        let s = load_sources(&p, Tz::UTC).unwrap();
        assert_eq!(s[0].html.as_ref().unwrap().link, "a");
    }

    #[test]
    fn empty_source_list_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "s.toml", "# nothing\n");
        assert!(load_sources(&p, Tz::UTC).unwrap_err().problems[0].message.contains("empty"));
    }
}
