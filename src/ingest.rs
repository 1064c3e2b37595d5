//! The ingest run: every source fetched concurrently (bounded overall and per
//! host), decoded, parsed and normalized off the async threads, and stored by
//! one writer, one transaction per source.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Offset, Utc};
use tokio::sync::{Semaphore, mpsc};

use crate::config::{Config, Location, Source};
use crate::decode;
use crate::fetch::{FetchOutcome, Fetched, Fetcher, Validators};
use crate::model::Item;
use crate::normalize;
use crate::parse;
use crate::store::{FetchRecord, SourceState, Storage, StoreError, StoreStats};

/// What became of one source in a run.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceOutcome {
    /// Fetched and stored: counts of new, updated and unchanged items.
    Stored(StoreStats),
    NotModified,
    /// Not asked: the server's Retry-After (or back-off) has not passed.
    Skipped {
        until: DateTime<Utc>,
    },
    Failed {
        error: String,
    },
}

/// One source's line in the run's summary.
#[derive(Debug, Clone)]
pub struct SourceReport {
    pub name: String,
    pub url: String,
    pub outcome: SourceOutcome,
    /// Problems that did not stop the source (repairs, undecodable bytes).
    pub warnings: Vec<String>,
    pub elapsed: Duration,
}

impl SourceReport {
    /// `source NAME (URL): MESSAGE`, the shape of every per-source log line.
    pub fn line(&self, message: &str) -> String {
        format!("source {} ({}): {message}", self.name, self.url)
    }
}

/// The summary of a whole run.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    pub sources: Vec<SourceReport>,
}

impl IngestReport {
    /// Items newly stored across all sources.
    pub fn new_items(&self) -> usize {
        self.sources.iter().map(|s| if let SourceOutcome::Stored(st) = &s.outcome { st.new } else { 0 }).sum()
    }

    /// Sources whose fetch failed.
    pub fn failed(&self) -> usize {
        self.sources.iter().filter(|s| matches!(s.outcome, SourceOutcome::Failed { .. })).count()
    }
}

/// Errors that stop the whole run (per-source problems never do).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("no configured source is named `{0}`")]
    UnknownSource(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Fetch(#[from] crate::fetch::FetchError),
    #[error("ingest worker failed: {0}")]
    Worker(String),
}

/// Result of processing fetched bytes, ready for the writer.
struct Processed {
    items: Vec<Item>,
    warnings: Vec<String>,
}

enum Message {
    Items { source: Source, processed: Processed, record: FetchRecord, at: DateTime<Utc>, started: Instant },
    Record { source: Source, record: FetchRecord, at: DateTime<Utc>, started: Instant, warnings: Vec<String> },
    Skipped { source: Source, until: DateTime<Utc> },
}

/// Decodes, parses and normalizes fetched bytes: the pure middle of ingest.
pub fn process(source: &Source, fetched: &Fetched, now: DateTime<Utc>) -> Result<(Vec<Item>, Vec<String>), String> {
    let tld = tld_hint(source);
    let decoded = decode::decode(&fetched.body, fetched.content_type.as_deref(), tld.as_deref().map(str::as_bytes));
    let mut warnings = Vec::new();
    if decoded.had_errors {
        warnings.push(format!("some bytes were not valid {} and were replaced", decoded.encoding.name()));
    }
    let text = decode::declare_utf8(&decoded.text);
    let feed = parse::parse(&text, Some(&fetched.final_url), source.timezone).map_err(|e| e.to_string())?;
    if !feed.repairs.is_empty() {
        warnings.push(format!("feed needed repairs: {}", feed.repairs.join(", ")));
    }
    let ctx = normalize::Context::for_feed(&feed, &fetched.final_url, source.id_policy, now);
    let raw_count = feed.items.len();
    let items = normalize::normalize_feed(feed, &ctx);
    if raw_count == 0 {
        warnings.push("feed has no items".into());
    } else if items.len() < raw_count {
        warnings.push(format!("{} item(s) without title, text or link skipped", raw_count - items.len()));
    }
    Ok((items, warnings))
}

/// A country hint for charset detection: the host's TLD, or `cn` for a
/// local file of a source in China's timezone.
fn tld_hint(source: &Source) -> Option<String> {
    match &source.location {
        Location::Http(u) => u.host_str().and_then(|h| h.rsplit('.').next()).map(str::to_ascii_lowercase),
        Location::File(_) => {
            let off = Utc::now().with_timezone(&source.timezone).offset().fix().local_minus_utc();
            (off == 8 * 3600).then(|| "cn".to_string())
        }
    }
}

/// Fetches `sources` (all when `only` is `None`), storing what they hold.
/// `progress` sees each source's report as it completes.
pub async fn run<S>(
    config: &Config,
    sources: &[Source],
    mut store: S,
    only: Option<&str>,
    progress: Box<dyn FnMut(&SourceReport) + Send>,
) -> Result<(IngestReport, S), IngestError>
where
    S: Storage + Send + 'static,
{
    let selected: Vec<Source> = match only {
        Some(name) => {
            let s = sources.iter().find(|s| s.name == name).ok_or_else(|| IngestError::UnknownSource(name.into()))?;
            vec![s.clone()]
        }
        None => sources.to_vec(),
    };
    let pairs: Vec<(String, String)> = sources.iter().map(|s| (s.name.clone(), s.location.as_url())).collect();
    store.sync_sources(&pairs)?;
    let states: HashMap<String, SourceState> =
        store.source_states()?.into_iter().map(|s| (s.name.clone(), s)).collect();

    let fetcher = Fetcher::new(&config.fetch, &config.user_agent())?;
    let global = Arc::new(Semaphore::new(config.fetch.concurrency.max(1)));
    let mut hosts: HashMap<String, Arc<Semaphore>> = HashMap::new();
    let (tx, rx) = mpsc::channel::<Message>(64);

    let writer = tokio::task::spawn_blocking(move || write_loop(store, rx, progress));

    let mut tasks = tokio::task::JoinSet::new();
    for source in selected {
        let state = states.get(&source.name).cloned().unwrap_or_default();
        let host = hosts
            .entry(source.location.host_key())
            .or_insert_with(|| Arc::new(Semaphore::new(config.fetch.per_host_concurrency.max(1))))
            .clone();
        let (global, fetcher, tx) = (global.clone(), fetcher.clone(), tx.clone());
        tasks.spawn(async move {
            let msg = fetch_one(source, state, &fetcher, &global, &host).await;
            let _ = tx.send(msg).await;
        });
    }
    drop(tx);
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined {
            return Err(IngestError::Worker(e.to_string()));
        }
    }
    let (report, store) = writer.await.map_err(|e| IngestError::Worker(e.to_string()))?;
    Ok((report, store))
}

async fn fetch_one(
    source: Source,
    state: SourceState,
    fetcher: &Fetcher,
    global: &Semaphore,
    host: &Semaphore,
) -> Message {
    let now = Utc::now();
    if let Some(until) = state.next_fetch_at.filter(|t| *t > now) {
        return Message::Skipped { source, until };
    }
    // Closed semaphores never happen here; a failed acquire just means "go on".
    let _g = global.acquire().await;
    let _h = host.acquire().await;
    let started = Instant::now();
    let validators = Validators { etag: state.etag.clone(), last_modified: state.last_modified.clone() };
    match fetcher.fetch(&source.location, &validators).await {
        Ok(FetchOutcome::NotModified { etag, last_modified }) => Message::Record {
            source,
            record: FetchRecord::NotModified { etag, last_modified },
            at: Utc::now(),
            started,
            warnings: vec![],
        },
        Ok(FetchOutcome::Modified(fetched)) => {
            let src = source.clone();
            let at = Utc::now();
            let done = tokio::task::spawn_blocking(move || {
                let out = process(&src, &fetched, at);
                (out, fetched.etag, fetched.last_modified)
            })
            .await;
            match done {
                Ok((Ok((items, warnings)), etag, last_modified)) => Message::Items {
                    source,
                    processed: Processed { items, warnings },
                    record: FetchRecord::Fetched { etag, last_modified },
                    at,
                    started,
                },
                Ok((Err(error), _, _)) => Message::Record {
                    source,
                    record: FetchRecord::Failed { error, retry_after: None },
                    at,
                    started,
                    warnings: vec![],
                },
                Err(e) => Message::Record {
                    source,
                    record: FetchRecord::Failed { error: format!("processing crashed: {e}"), retry_after: None },
                    at,
                    started,
                    warnings: vec![],
                },
            }
        }
        Err(e) => Message::Record {
            source,
            record: FetchRecord::Failed { error: e.to_string(), retry_after: e.retry_after() },
            at: Utc::now(),
            started,
            warnings: vec![],
        },
    }
}

fn write_loop<S: Storage>(
    mut store: S,
    mut rx: mpsc::Receiver<Message>,
    mut progress: Box<dyn FnMut(&SourceReport) + Send>,
) -> (IngestReport, S) {
    let mut report = IngestReport::default();
    while let Some(msg) = rx.blocking_recv() {
        let r = match msg {
            Message::Skipped { source, until } => SourceReport {
                url: source.location.as_url(),
                name: source.name,
                outcome: SourceOutcome::Skipped { until },
                warnings: vec![],
                elapsed: Duration::ZERO,
            },
            Message::Items { source, processed, record, at, started } => {
                let outcome = match store.store_items(&source.name, &processed.items, &record, at) {
                    Ok(stats) => SourceOutcome::Stored(stats),
                    Err(e) => SourceOutcome::Failed { error: e.to_string() },
                };
                SourceReport {
                    url: source.location.as_url(),
                    name: source.name,
                    outcome,
                    warnings: processed.warnings,
                    elapsed: started.elapsed(),
                }
            }
            Message::Record { source, record, at, started, warnings } => {
                let mut outcome = match &record {
                    FetchRecord::Failed { error, .. } => SourceOutcome::Failed { error: error.clone() },
                    _ => SourceOutcome::NotModified,
                };
                if let Err(e) = store.record_fetch(&source.name, &record, at) {
                    outcome = SourceOutcome::Failed { error: e.to_string() };
                }
                SourceReport {
                    url: source.location.as_url(),
                    name: source.name,
                    outcome,
                    warnings,
                    elapsed: started.elapsed(),
                }
            }
        };
        progress(&r);
        report.sources.push(r);
    }
    report.sources.sort_by(|a, b| a.name.cmp(&b.name));
    (report, store)
}
