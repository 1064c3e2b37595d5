//! The ingest run: every source fetched concurrently (bounded overall and per
//! host), decoded, parsed and normalized off the async threads, and stored by
//! one writer, one transaction per source.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Offset, Utc};
use tokio::sync::{Semaphore, mpsc};

use crate::config::{Config, Location, Source};
use crate::decode;
use crate::enrich;
use crate::fetch::{FetchOutcome, Fetched, Fetcher, Validators};
use crate::model::Item;
use crate::normalize;
use crate::parse;
use crate::poll;
use crate::scrape;
use crate::store::{FetchRecord, LeaseRequest, Leased, SourceState, Storage, StoreError, StoreStats};
use crate::timespan;

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

/// Fetched bytes after decode, parse and normalize.
#[derive(Debug, Clone)]
pub struct Processed {
    pub items: Vec<Item>,
    /// Problems that did not stop the source.
    pub warnings: Vec<String>,
    /// The feed's `<ttl>`, for the polling policy.
    pub ttl_minutes: Option<u32>,
}

/// How a run chooses and times its fetches.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions<'a> {
    /// Fetch only the source with this name.
    pub only: Option<&'a str>,
    /// The run's clock; `None` reads the system clock. Tests pass a fixed time.
    pub now: Option<DateTime<Utc>>,
    /// Fetch only sources whose polling time has come (the daemon), leasing
    /// them so that no other node sharing the database fetches them too; a
    /// manual run fetches every source. A server's Retry-After is honoured
    /// either way.
    pub only_due: bool,
    /// This node's name in its leases; `None` is [`node_id`].
    pub node: Option<&'a str>,
}

enum Message {
    Items { source: Source, processed: Processed, record: FetchRecord, max_age: Option<u64>, started: Instant },
    Record { source: Source, record: FetchRecord, max_age: Option<u64>, started: Instant },
    Skipped { source: Source, until: DateTime<Utc> },
}

/// Hash of a fetched body, to know it again.
fn body_hash(body: &[u8]) -> String {
    // Not a defence against anyone: a source that forges a collision only
    // keeps its own feed from updating. XXH3 reads a body at memory speed
    // (SHA-256 was a tenth of an unchanged refetch's time).
    format!("xxh3:{:032x}", xxhash_rust::xxh3::xxh3_128(body))
}

/// Decodes, parses and normalizes fetched bytes: the pure middle of ingest.
pub fn process(source: &Source, fetched: &Fetched, now: DateTime<Utc>) -> Result<Processed, String> {
    let tld = tld_hint(source);
    let decoded = decode::decode(&fetched.body, fetched.content_type.as_deref(), tld.as_deref().map(str::as_bytes));
    let mut warnings = Vec::new();
    if decoded.had_errors {
        warnings.push(format!("some bytes were not valid {} and were replaced", decoded.encoding.name()));
    }
    let text = decode::declare_utf8(&decoded.text);
    let feed = match &source.html {
        Some(selectors) => {
            scrape::list_page(&text, &fetched.final_url, selectors, source.timezone, now).map_err(|e| e.to_string())?
        }
        None => parse::parse(&text, Some(&fetched.final_url), source.timezone).map_err(|e| e.to_string())?,
    };
    if !feed.repairs.is_empty() {
        warnings.push(format!("feed needed repairs: {}", feed.repairs.join(", ")));
    }
    let ttl_minutes = feed.ttl_minutes;
    let unparsed: Vec<&str> = feed.items.iter().filter_map(|i| i.unparsed_date.as_deref()).collect();
    if let Some(first) = unparsed.first() {
        warnings.push(format!(
            "{} date(s) could not be read (first: {first:?}); those items take the time they were first seen",
            unparsed.len()
        ));
    }
    let ctx = normalize::Context::for_feed(&feed, &fetched.final_url, source.id_policy, now);
    let raw_count = feed.items.len();
    let items = normalize::normalize_feed(feed, &ctx);
    if raw_count == 0 {
        warnings.push("feed has no items".into());
    } else if items.len() < raw_count {
        warnings.push(format!("{} item(s) without title, text or link skipped", raw_count - items.len()));
    }
    Ok(Processed { items, warnings, ttl_minutes })
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

/// Fetches the chosen sources, storing what they hold and when to ask each
/// again. `progress` sees each source's report as it completes.
pub async fn run<S>(
    config: &Config,
    sources: &[Source],
    mut store: S,
    options: RunOptions<'_>,
    progress: Box<dyn FnMut(&SourceReport) + Send>,
) -> Result<(IngestReport, S), IngestError>
where
    S: Storage + Send + 'static,
{
    let selected: Vec<Source> = match options.only {
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
    let mut store_urls: HashMap<String, HashSet<String>> = HashMap::new();
    for s in sources.iter().filter(|s| s.full_text) {
        store_urls.insert(s.name.clone(), store.item_urls(&s.name)?.into_iter().collect());
    }
    let candidates: Vec<(Source, SourceState)> = selected
        .into_iter()
        .map(|s| {
            let state = states.get(&s.name).cloned().unwrap_or_default();
            (s, state)
        })
        .collect();

    let fetcher = Fetcher::new(&config.fetch, &config.user_agent())?;
    // Article pages come from feed content: fetched behind the SSRF guard,
    // by a client of their own (built only when some source needs it).
    let pages = match candidates.iter().any(|(s, _)| s.full_text) {
        true => Some(Fetcher::for_untrusted(&config.fetch, &config.user_agent())?),
        false => None,
    };
    let (tx, rx) = mpsc::channel::<ToWriter>(16);
    let clock = Clock { fixed: options.now };
    let bounds = config.schedule.bounds();
    let failures: HashMap<String, u32> = states.values().map(|s| (s.name.clone(), s.consecutive_failures)).collect();
    let writer = tokio::task::spawn_blocking(move || write_loop(store, rx, progress, clock, bounds, failures));

    let mut work = Dispatch {
        global: Arc::new(Semaphore::new(config.fetch.concurrency.max(1))),
        hosts: HashMap::new(),
        per_host: config.fetch.per_host_concurrency.max(1),
        fetcher,
        pages,
        store_urls,
        tx: tx.clone(),
        clock,
        tasks: tokio::task::JoinSet::new(),
        running: HashMap::new(),
    };
    if options.only_due {
        // Due sources are leased a few at a time as the work goes on, so
        // that daemons sharing a database share the fetching too.
        let full_text = candidates.iter().any(|(s, _)| s.full_text);
        let plan = ClaimPlan::new(config, options.node, full_text);
        // Every source of the round, those in hand included: the store maps
        // leases to hosts through this list to count what each host has.
        let sources: Vec<(String, String)> =
            candidates.iter().map(|(s, _)| (s.name.clone(), s.location.host_key())).collect();
        let mut by_name: HashMap<String, (Source, SourceState)> =
            candidates.into_iter().map(|c| (c.0.name.clone(), c)).collect();
        let mut waited = Duration::ZERO;
        loop {
            let at = clock.now();
            let room = plan.chunk.saturating_sub(work.tasks.len());
            let (reply, answer) = tokio::sync::oneshot::channel();
            let request = LeaseRequest {
                owner: plan.owner.clone(),
                sources: sources.clone(),
                now: at,
                until: at.checked_add_signed(plan.lease).unwrap_or(at),
                limit: room,
                per_host: plan.per_host,
            };
            if tx.send(ToWriter::Claim(Claim { request, reply })).await.is_err() {
                break;
            }
            let leased = match answer.await {
                Ok(Ok(leased)) => leased,
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "leasing due sources failed; this round fetches no more");
                    break;
                }
                Err(_) => break,
            };
            for name in &leased.names {
                if let Some((source, state)) = by_name.remove(name) {
                    work.spawn(source, state);
                }
            }
            if work.tasks.is_empty() {
                // Due sources wait for hosts that other nodes are fetching
                // from: ask again shortly, for a while; what is left then
                // goes to the next round (or to the other nodes).
                if !leased.waiting || waited >= plan.patience {
                    break;
                }
                tokio::time::sleep(LEASE_RETRY).await;
                waited = waited.saturating_add(LEASE_RETRY);
                continue;
            }
            waited = Duration::ZERO;
            // More is leased when half the work in hand is done: leases are
            // taken close to the work, and other nodes find what is left.
            let low = work.tasks.len() / 2;
            while work.tasks.len() > low {
                work.settle_one().await;
            }
        }
    } else {
        for (source, state) in candidates {
            work.spawn(source, state);
        }
    }
    while !work.tasks.is_empty() {
        work.settle_one().await;
    }
    drop(work);
    drop(tx);
    let (report, store) = writer.await.map_err(|e| {
        IngestError::Worker(format!("{} (sources written before it stay committed)", join_error_message(e)))
    })?;
    Ok((report, store))
}

/// How a round of due sources is leased.
struct ClaimPlan {
    owner: String,
    /// Sources leased at a time.
    chunk: usize,
    /// How long a lease lasts: long enough for its chunk to be fetched at
    /// the longest timeout.
    lease: chrono::Duration,
    /// Most sources of one host leased at once, by all nodes together.
    per_host: usize,
    /// How long a node with nothing in hand waits for busy hosts.
    patience: Duration,
}

/// How often a node with nothing in hand asks again for busy hosts' sources.
const LEASE_RETRY: Duration = Duration::from_millis(100);

impl ClaimPlan {
    fn new(config: &Config, node: Option<&str>, full_text: bool) -> ClaimPlan {
        let concurrency = config.fetch.concurrency.max(1);
        let chunk = concurrency.saturating_mul(2).max(4);
        // A node never holds more of one host than the host's limit, so
        // its chunk is fetched `concurrency` at a time; a full-text source
        // also reads its article pages, one after another, in its slot.
        let rounds = u64::try_from(chunk.div_ceil(concurrency)).unwrap_or(u64::MAX);
        let requests = if full_text { FULL_TEXT_PER_RUN.saturating_add(1) } else { 1 };
        let per_source =
            config.fetch.timeout_secs.saturating_add(5).saturating_mul(u64::try_from(requests).unwrap_or(u64::MAX));
        let secs = per_source.saturating_mul(rounds).saturating_add(60);
        let lease = chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX).min(86_400));
        let patience = Duration::from_secs(config.fetch.timeout_secs.saturating_add(5));
        let per_host = config.fetch.per_host_concurrency.max(1);
        ClaimPlan { owner: node.map_or_else(node_id, str::to_string), chunk, lease, per_host, patience }
    }
}

/// Names this node among those sharing a database (`TIDINGS_NODE_ID`).
pub const NODE_ENV: &str = "TIDINGS_NODE_ID";

/// This node's name among those sharing a database: `TIDINGS_NODE_ID`, else
/// the host name. It stays the same across restarts, so that a restarted
/// daemon takes back its own leases at once.
pub fn node_id() -> String {
    std::env::var(NODE_ENV)
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into())
}

/// A request to the writer for leases on due sources.
struct Claim {
    request: LeaseRequest,
    reply: tokio::sync::oneshot::Sender<Result<Leased, StoreError>>,
}

/// What the writer is sent: a fetch's result, or a lease request.
// Results are the traffic, sent by value as before; lease requests are few.
#[allow(clippy::large_enum_variant)]
enum ToWriter {
    Result(Message),
    Claim(Claim),
}

/// The fetch tasks of a run and what they share.
struct Dispatch {
    global: Arc<Semaphore>,
    hosts: HashMap<String, Arc<Semaphore>>,
    per_host: usize,
    fetcher: Fetcher,
    pages: Option<Fetcher>,
    store_urls: HashMap<String, HashSet<String>>,
    tx: mpsc::Sender<ToWriter>,
    clock: Clock,
    tasks: tokio::task::JoinSet<()>,
    running: HashMap<tokio::task::Id, Source>,
}

impl Dispatch {
    fn spawn(&mut self, source: Source, state: SourceState) {
        // Articles of full-text sources already stored are not fetched again.
        let known: Arc<HashSet<String>> = Arc::new(if source.full_text {
            self.store_urls.get(&source.name).cloned().unwrap_or_default()
        } else {
            HashSet::new()
        });
        let per_host = self.per_host;
        let host =
            self.hosts.entry(source.location.host_key()).or_insert_with(|| Arc::new(Semaphore::new(per_host))).clone();
        let (global, fetcher, pages, tx) =
            (self.global.clone(), self.fetcher.clone(), self.pages.clone(), self.tx.clone());
        let clock = self.clock;
        let task_source = source.clone();
        let task = self.tasks.spawn(async move {
            // The permit is held until the writer has the result: fetched
            // and parsed feeds waiting for the database stay bounded (the
            // writer is the slower side; without this a daemon with 1,000
            // sources held most of them in memory at once).
            let _permit = global.acquire().await;
            let msg = fetch_one(source, state, &known, (&fetcher, pages.as_ref()), &host, clock).await;
            let _ = tx.send(ToWriter::Result(msg)).await;
        });
        self.running.insert(task.id(), task_source);
    }

    /// Waits for one task. A fetch that panics fails its own source; the
    /// writer records it as any other failure, with back-off.
    async fn settle_one(&mut self) {
        match self.tasks.join_next_with_id().await {
            Some(Ok((id, ()))) => {
                self.running.remove(&id);
            }
            Some(Err(e)) => {
                if let Some(source) = self.running.remove(&e.id()) {
                    let error = format!("internal error while fetching: {}", join_error_message(e));
                    let record = FetchRecord::Failed { error, retry_after: None };
                    let msg = Message::Record { source, record, max_age: None, started: Instant::now() };
                    let _ = self.tx.send(ToWriter::Result(msg)).await;
                }
            }
            None => {}
        }
    }
}

/// What a panicking task said, or why it stopped.
fn join_error_message(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => panic_message(payload.as_ref()),
        Err(e) => e.to_string(),
    }
}

/// The text a panic carried.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic without a message".into())
}

/// The run's notion of "now": fixed in tests, the system clock otherwise.
#[derive(Debug, Clone, Copy)]
struct Clock {
    fixed: Option<DateTime<Utc>>,
}

impl Clock {
    fn now(&self) -> DateTime<Utc> {
        self.fixed.unwrap_or_else(Utc::now)
    }
}

async fn fetch_one(
    source: Source,
    state: SourceState,
    known: &HashSet<String>,
    (fetcher, pages): (&Fetcher, Option<&Fetcher>),
    host: &Semaphore,
    clock: Clock,
) -> Message {
    if let Some(until) = state.retry_after_until.filter(|t| *t > clock.now()) {
        return Message::Skipped { source, until };
    }
    // Closed semaphores never happen here; a failed acquire just means "go on".
    let _h = host.acquire().await;
    let started = Instant::now();
    let validators = Validators { etag: state.etag.clone(), last_modified: state.last_modified.clone() };
    match fetcher.fetch(&source.location, &validators).await {
        Ok(FetchOutcome::NotModified { etag, last_modified, max_age }) => {
            Message::Record { source, record: FetchRecord::NotModified { etag, last_modified }, max_age, started }
        }
        Ok(FetchOutcome::Modified(fetched)) => {
            // The same body as last stored: unchanged, as a 304 would say,
            // without decoding, parsing or normalizing any of it.
            let body_hash = body_hash(&fetched.body);
            if state.body_hash.as_deref() == Some(body_hash.as_str()) {
                let record = FetchRecord::NotModified { etag: fetched.etag, last_modified: fetched.last_modified };
                return Message::Record { source, record, max_age: fetched.max_age, started };
            }
            let src = source.clone();
            let at = clock.now();
            let done = tokio::task::spawn_blocking(move || {
                let out = process(&src, &fetched, at);
                (out, fetched.etag, fetched.last_modified, fetched.max_age)
            })
            .await;
            match done {
                Ok((Ok(mut processed), etag, last_modified, max_age)) => {
                    if source.full_text
                        && let Some(pages) = pages
                    {
                        full_text(&source, &mut processed, known, pages, clock).await;
                    }
                    Message::Items {
                        source,
                        processed,
                        record: FetchRecord::Fetched { etag, last_modified, body_hash: Some(body_hash) },
                        max_age,
                        started,
                    }
                }
                Ok((Err(error), _, _, max_age)) => Message::Record {
                    source,
                    record: FetchRecord::Failed { error, retry_after: None },
                    max_age,
                    started,
                },
                Err(e) => Message::Record {
                    source,
                    record: FetchRecord::Failed {
                        error: format!("internal error while processing: {}", join_error_message(e)),
                        retry_after: None,
                    },
                    max_age: None,
                    started,
                },
            }
        }
        Err(e) => Message::Record {
            source,
            record: FetchRecord::Failed {
                error: e.to_string(),
                retry_after: e.retry_after().map(|d| timespan::later(clock.now(), d)),
            },
            max_age: None,
            started,
        },
    }
}

/// Most article pages fetched for one full-text source in one run.
const FULL_TEXT_PER_RUN: usize = 10;

/// Fetches the article pages of a full-text source's new, thin items (the
/// source's host permit is still held: same politeness as its feed).
async fn full_text(
    source: &Source,
    processed: &mut Processed,
    known: &HashSet<String>,
    fetcher: &Fetcher,
    clock: Clock,
) {
    let mut budget = FULL_TEXT_PER_RUN;
    for item in processed.items.iter_mut() {
        let Some(url) = item.url.clone() else { continue };
        if budget == 0 || known.contains(&url) || item.text.chars().count() >= 200 {
            continue;
        }
        budget -= 1;
        match enrich::fetch_page(fetcher, &url, source.timezone, true).await {
            Ok(meta) => enrich::apply(item, &meta, &url, clock.now()),
            Err(e) => processed.warnings.push(format!("full text of {url}: {e}")),
        }
    }
}

/// How long the publisher says its feed stays fresh.
#[derive(Debug, Clone, Copy, Default)]
struct Freshness {
    ttl_minutes: Option<u32>,
    max_age: Option<u64>,
}

/// When to fetch `source` next, after `record` at `at`.
fn schedule<S: Storage>(
    store: &S,
    source: &Source,
    record: &FetchRecord,
    failures_before: u32,
    fresh: Freshness,
    at: DateTime<Utc>,
    bounds: poll::PollBounds,
) -> DateTime<Utc> {
    let week_ago = at.checked_sub_signed(chrono::TimeDelta::days(7)).unwrap_or(at);
    let entries = store.entries_since(&source.name, week_ago).unwrap_or(0);
    let (failures, retry_after) = match record {
        FetchRecord::Failed { retry_after, .. } => (failures_before + 1, *retry_after),
        _ => (0, None),
    };
    let input = poll::PollInput {
        source: &source.name,
        entries_last_week: entries,
        consecutive_failures: failures,
        configured: source.interval,
        ttl: fresh.ttl_minutes.map(|m| timespan::minutes(u64::from(m))),
        max_age: fresh.max_age.map(timespan::seconds),
        retry_after,
    };
    poll::next_fetch(&input, bounds, at)
}

/// Writes what the fetch tasks send, in batches; `failures` are each
/// source's consecutive failures before this run.
fn write_loop<S: Storage>(
    mut store: S,
    mut rx: mpsc::Receiver<ToWriter>,
    mut progress: Box<dyn FnMut(&SourceReport) + Send>,
    clock: Clock,
    bounds: poll::PollBounds,
    failures: HashMap<String, u32>,
) -> (IngestReport, S) {
    let mut report = IngestReport::default();
    let mut held: Option<Claim> = None;
    while let Some(first) = held.take().map(ToWriter::Claim).or_else(|| rx.blocking_recv()) {
        let first = match first {
            // Leases are committed at once, outside any batch: other nodes
            // must see them before this one fetches.
            ToWriter::Claim(claim) => {
                let claimed = store.claim_due(&claim.request);
                let _ = claim.reply.send(claimed);
                continue;
            }
            ToWriter::Result(msg) => msg,
        };
        // Whatever else is already waiting commits with it: one commit for
        // many sources when they finish together (a loopback run of 1,000
        // sources, a run of 304s), still one per source when they trickle in.
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH
            && let Ok(more) = rx.try_recv()
        {
            match more {
                ToWriter::Result(msg) => batch.push(msg),
                ToWriter::Claim(claim) => {
                    held = Some(claim);
                    break;
                }
            }
        }
        let batched = batch.len() > 1 && store.begin_batch().is_ok();
        let mut reports: Vec<SourceReport> =
            batch.iter().map(|msg| apply_isolated(&mut store, msg, &failures, clock, bounds)).collect();
        if batched && let Err(e) = store.end_batch() {
            // Nothing of the batch was written. Each source is written again
            // on its own, so that all that can be committed is.
            store.abort_batch();
            tracing::warn!(error = %e, sources = batch.len(), "committing a batch failed; writing its sources one by one");
            reports = batch.iter().map(|msg| apply_isolated(&mut store, msg, &failures, clock, bounds)).collect();
        }
        for r in reports {
            log_fetch(&r);
            if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| progress(&r))) {
                tracing::error!(source = %r.name, error = %panic_message(panic.as_ref()), "progress report failed");
            }
            report.sources.push(r);
        }
    }
    report.sources.sort_by(|a, b| a.name.cmp(&b.name));
    (report, store)
}

/// Most fetch results committed together.
const MAX_BATCH: usize = 64;

/// [`apply`], with a panic kept inside its source: whatever the source's
/// write had begun is rolled back, the source is recorded as failed with
/// the reason and backs off like any failure, and the batch goes on.
fn apply_isolated<S: Storage>(
    store: &mut S,
    msg: &Message,
    failures: &HashMap<String, u32>,
    clock: Clock,
    bounds: poll::PollBounds,
) -> SourceReport {
    let panic =
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| apply(store, msg, failures, clock, bounds))) {
            Ok(report) => return report,
            Err(panic) => panic,
        };
    let source = msg.source();
    let error = format!("internal error while processing: {}", panic_message(panic.as_ref()));
    let at = clock.now();
    // The schedule itself may be what panicked: back off from the bounds alone.
    let input = poll::PollInput {
        source: &source.name,
        consecutive_failures: failures.get(&source.name).copied().unwrap_or(0).saturating_add(1),
        ..Default::default()
    };
    let next = poll::next_fetch(&input, bounds, at);
    let record = FetchRecord::Failed { error: error.clone(), retry_after: None };
    let recorded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.record_fetch(&source.name, &record, at, Some(next))
    }));
    let error = match recorded {
        Ok(Ok(())) => error,
        Ok(Err(e)) => format!("{error}; recording the failure failed too: {e}"),
        Err(p) => format!("{error}; recording the failure failed too: {}", panic_message(p.as_ref())),
    };
    SourceReport {
        name: source.name.clone(),
        url: source.location.as_url(),
        outcome: SourceOutcome::Failed { error },
        warnings: vec![],
        elapsed: msg.started().map(|s| s.elapsed()).unwrap_or_default(),
    }
}

impl Message {
    fn source(&self) -> &Source {
        match self {
            Message::Items { source, .. } | Message::Record { source, .. } | Message::Skipped { source, .. } => source,
        }
    }

    fn started(&self) -> Option<Instant> {
        match self {
            Message::Items { started, .. } | Message::Record { started, .. } => Some(*started),
            Message::Skipped { .. } => None,
        }
    }
}

/// Stores one fetch result and says how it went.
fn apply<S: Storage>(
    store: &mut S,
    msg: &Message,
    failures: &HashMap<String, u32>,
    clock: Clock,
    bounds: poll::PollBounds,
) -> SourceReport {
    let at = clock.now();
    match msg {
        Message::Skipped { source, until } => SourceReport {
            url: source.location.as_url(),
            name: source.name.clone(),
            outcome: SourceOutcome::Skipped { until: *until },
            warnings: vec![],
            elapsed: Duration::ZERO,
        },
        Message::Items { source, processed, record, max_age, started } => {
            let before = failures.get(&source.name).copied().unwrap_or(0);
            let fresh = Freshness { ttl_minutes: processed.ttl_minutes, max_age: *max_age };
            let next = schedule(store, source, record, before, fresh, at, bounds);
            let outcome = match store.store_items(&source.name, &processed.items, record, at, Some(next)) {
                Ok(stats) => SourceOutcome::Stored(stats),
                Err(e) => SourceOutcome::Failed { error: e.to_string() },
            };
            SourceReport {
                url: source.location.as_url(),
                name: source.name.clone(),
                outcome,
                warnings: processed.warnings.iter().cloned().chain(max_age_warning(*max_age)).collect(),
                elapsed: started.elapsed(),
            }
        }
        Message::Record { source, record, max_age, started } => {
            let before = failures.get(&source.name).copied().unwrap_or(0);
            let fresh = Freshness { ttl_minutes: None, max_age: *max_age };
            let next = schedule(store, source, record, before, fresh, at, bounds);
            let mut outcome = match record {
                FetchRecord::Failed { error, .. } => SourceOutcome::Failed { error: error.clone() },
                _ => SourceOutcome::NotModified,
            };
            if let Err(e) = store.record_fetch(&source.name, record, at, Some(next)) {
                outcome = SourceOutcome::Failed { error: e.to_string() };
            }
            SourceReport {
                url: source.location.as_url(),
                name: source.name.clone(),
                outcome,
                warnings: max_age_warning(*max_age).into_iter().collect(),
                elapsed: started.elapsed(),
            }
        }
    }
}

/// A word for the operator when a server asks to be left alone for longer
/// than any outside span is taken to mean.
fn max_age_warning(max_age: Option<u64>) -> Option<String> {
    let secs = max_age?;
    (secs > timespan::longest().num_seconds().unsigned_abs()).then(|| {
        format!("Cache-Control max-age of {secs} s is longer than a year; polled at the schedule's maximum interval")
    })
}

/// One structured log line per fetch: source, status, time taken, new items.
fn log_fetch(r: &SourceReport) {
    let ms = r.elapsed.as_millis() as u64;
    match &r.outcome {
        SourceOutcome::Stored(st) => {
            tracing::info!(source = %r.name, status = "ok", ms, new = st.new, updated = st.updated, "fetched")
        }
        SourceOutcome::NotModified => tracing::info!(source = %r.name, status = "not_modified", ms, new = 0, "fetched"),
        SourceOutcome::Skipped { until } => {
            tracing::info!(source = %r.name, status = "skipped", until = %until.to_rfc3339(), "fetched")
        }
        SourceOutcome::Failed { error } => {
            tracing::warn!(source = %r.name, url = %r.url, status = "failed", ms, error = %error, "fetched")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scrape::PageMeta;
    use crate::store::{ItemPatch, PostRecord, SqliteStore, StoredItem, StoryRecord};
    use chrono::TimeZone;

    /// A real SQLite store that panics while storing one named source, and
    /// can fail its next batch commits (rolling them back, as a full disk would).
    struct Faulty {
        inner: SqliteStore,
        panic_on: &'static str,
        failing_commits: usize,
        batches: usize,
    }

    impl Storage for Faulty {
        fn sync_sources(&mut self, sources: &[(String, String)]) -> Result<(), StoreError> {
            self.inner.sync_sources(sources)
        }
        fn source_states(&self) -> Result<Vec<SourceState>, StoreError> {
            self.inner.source_states()
        }
        fn record_fetch(
            &mut self,
            source: &str,
            record: &FetchRecord,
            at: DateTime<Utc>,
            next: Option<DateTime<Utc>>,
        ) -> Result<(), StoreError> {
            self.inner.record_fetch(source, record, at, next)
        }
        fn store_items(
            &mut self,
            source: &str,
            items: &[Item],
            record: &FetchRecord,
            at: DateTime<Utc>,
            next: Option<DateTime<Utc>>,
        ) -> Result<StoreStats, StoreError> {
            assert_ne!(source, self.panic_on, "injected fault");
            self.inner.store_items(source, items, record, at, next)
        }
        fn begin_batch(&mut self) -> Result<(), StoreError> {
            self.batches += 1;
            self.inner.begin_batch()
        }
        fn end_batch(&mut self) -> Result<(), StoreError> {
            if self.failing_commits > 0 {
                self.failing_commits -= 1;
                self.inner.abort_batch();
                return Err(StoreError::Locked { path: "injected".into(), waited_secs: 0 });
            }
            self.inner.end_batch()
        }
        fn abort_batch(&mut self) {
            self.inner.abort_batch()
        }
        fn item_urls(&self, source: &str) -> Result<Vec<String>, StoreError> {
            self.inner.item_urls(source)
        }
        fn cached_page(&self, url: &str) -> Result<Option<PageMeta>, StoreError> {
            self.inner.cached_page(url)
        }
        fn cache_page(&mut self, url: &str, meta: &PageMeta, at: DateTime<Utc>) -> Result<(), StoreError> {
            self.inner.cache_page(url, meta, at)
        }
        fn enrich_item(&mut self, id: i64, patch: &ItemPatch) -> Result<Option<i64>, StoreError> {
            self.inner.enrich_item(id, patch)
        }
        fn claim_due(&mut self, request: &LeaseRequest) -> Result<Leased, StoreError> {
            self.inner.claim_due(request)
        }
        fn release_leases(&mut self, owner: &str) -> Result<u64, StoreError> {
            self.inner.release_leases(owner)
        }
        fn claim_digest(
            &mut self,
            date: &str,
            owner: &str,
            tick: DateTime<Utc>,
            now: DateTime<Utc>,
            until: DateTime<Utc>,
        ) -> Result<Option<crate::store::DigestHeld>, StoreError> {
            self.inner.claim_digest(date, owner, tick, now, until)
        }
        fn finish_digest(
            &mut self,
            date: &str,
            tick: DateTime<Utc>,
            owner: &str,
            at: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            self.inner.finish_digest(date, tick, owner, at)
        }
        fn set_next_fetch(&mut self, source: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
            self.inner.set_next_fetch(source, at)
        }
        fn entries_since(&self, source: &str, since: DateTime<Utc>) -> Result<u64, StoreError> {
            self.inner.entries_since(source, since)
        }
        fn items_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Vec<StoredItem>, StoreError> {
            self.inner.items_between(start, end)
        }
        fn stories_between(&self, from: &str, before: &str) -> Result<Vec<(StoryRecord, Vec<StoredItem>)>, StoreError> {
            self.inner.stories_between(from, before)
        }
        fn save_post(&mut self, post: &PostRecord, stories: &[StoryRecord]) -> Result<(), StoreError> {
            self.inner.save_post(post, stories)
        }
        fn publication_version(&self) -> Result<i64, StoreError> {
            self.inner.publication_version()
        }
        fn post(&self, date: &str) -> Result<Option<PostRecord>, StoreError> {
            self.inner.post(date)
        }
        fn recent_posts(&self, limit: usize) -> Result<Vec<PostRecord>, StoreError> {
            self.inner.recent_posts(limit)
        }
        fn stories_with_tag(&self, tag: &str, limit: usize) -> Result<Vec<StoryRecord>, StoreError> {
            self.inner.stories_with_tag(tag, limit)
        }
        fn post_list(&self, limit: usize) -> Result<Vec<crate::store::PostHead>, StoreError> {
            self.inner.post_list(limit)
        }
        fn stories_of_posts(&self, from: &str, before: &str) -> Result<Vec<StoryRecord>, StoreError> {
            self.inner.stories_of_posts(from, before)
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 4, 2, 0, 0, 0).unwrap()
    }

    fn source(name: &str) -> Source {
        let url = url::Url::parse(&format!("https://{name}.example/feed")).unwrap();
        Source::new(name, Location::Http(url), chrono_tz::Asia::Shanghai)
    }

    /// A fetched feed of two items for `name`.
    fn items_of(name: &str) -> Message {
        let s = source(name);
        let feed = format!(
            "<rss version=\"2.0\"><channel><title>{name}</title>\
             <item><title>{name} 发布新模型</title><link>https://{name}.example/1</link></item>\
             <item><title>{name} 完成融资</title><link>https://{name}.example/2</link></item></channel></rss>"
        );
        let fetched = Fetched::from_bytes(feed.into_bytes(), s.location.as_url());
        let processed = process(&s, &fetched, now()).unwrap();
        let record = FetchRecord::Fetched { etag: None, last_modified: None, body_hash: None };
        Message::Items { source: s, processed, record, max_age: None, started: Instant::now() }
    }

    /// Runs the writer over `messages`, all waiting at once: one batch.
    fn write_all(store: Faulty, messages: Vec<Message>) -> (HashMap<String, SourceOutcome>, Faulty) {
        let names: Vec<(String, String)> =
            messages.iter().map(|m| (m.source().name.clone(), m.source().location.as_url())).collect();
        let mut store = store;
        store.sync_sources(&names).unwrap();
        let (tx, rx) = mpsc::channel(messages.len());
        for m in messages {
            tx.try_send(ToWriter::Result(m)).ok().unwrap();
        }
        drop(tx);
        let clock = Clock { fixed: Some(now()) };
        let failures = store.source_states().unwrap().into_iter().map(|s| (s.name, s.consecutive_failures)).collect();
        let (report, store) = write_loop(store, rx, Box::new(|_| {}), clock, poll::PollBounds::default(), failures);
        (report.sources.into_iter().map(|r| (r.name, r.outcome)).collect(), store)
    }

    fn faulty(dir: &tempfile::TempDir, panic_on: &'static str, failing_commits: usize) -> Faulty {
        let inner = SqliteStore::open(&dir.path().join("t.sqlite"), Duration::from_secs(1)).unwrap();
        Faulty { inner, panic_on, failing_commits, batches: 0 }
    }

    #[test]
    fn a_panic_stays_inside_its_source() {
        let dir = tempfile::tempdir().unwrap();
        let messages = vec![items_of("alpha"), items_of("boom"), items_of("gamma")];
        let (out, store) = write_all(faulty(&dir, "boom", 0), messages);
        assert_eq!(store.batches, 1, "the three wrote as one batch");
        assert!(matches!(out["alpha"], SourceOutcome::Stored(StoreStats { new: 2, .. })), "{out:?}");
        assert!(matches!(out["gamma"], SourceOutcome::Stored(StoreStats { new: 2, .. })), "{out:?}");
        let SourceOutcome::Failed { error } = &out["boom"] else { panic!("{out:?}") };
        assert!(error.starts_with("internal error while processing: ") && error.contains("injected fault"), "{error}");

        let states: HashMap<String, SourceState> =
            store.source_states().unwrap().into_iter().map(|s| (s.name.clone(), s)).collect();
        assert_eq!(states["alpha"].item_count, 2);
        assert_eq!(states["gamma"].item_count, 2);
        let boom = &states["boom"];
        assert_eq!((boom.item_count, boom.consecutive_failures), (0, 1));
        assert_eq!(boom.last_status.as_deref(), Some("failed"));
        assert!(boom.last_error.as_deref().is_some_and(|e| e.contains("injected fault")));
        // The first back-off: the schedule's minimum, plus jitter.
        let wait = boom.next_fetch_at.unwrap() - now();
        assert!(wait >= chrono::TimeDelta::minutes(5) && wait <= chrono::TimeDelta::minutes(6), "{wait}");
    }

    #[test]
    fn a_failed_batch_commit_still_commits_what_it_can() {
        let dir = tempfile::tempdir().unwrap();
        let messages = vec![items_of("alpha"), items_of("beta"), items_of("gamma")];
        let (out, store) = write_all(faulty(&dir, "none", 1), messages);
        assert_eq!(store.batches, 1);
        for name in ["alpha", "beta", "gamma"] {
            assert!(matches!(out[name], SourceOutcome::Stored(StoreStats { new: 2, .. })), "{name}: {out:?}");
        }
        let counts: Vec<u64> = store.source_states().unwrap().iter().map(|s| s.item_count).collect();
        assert_eq!(counts, [2, 2, 2]);
    }

    #[test]
    fn extreme_freshness_headers_schedule_within_the_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let mut messages = Vec::new();
        for (name, max_age, ttl) in [
            ("max", Some(u64::MAX), None),
            ("huge", Some(99_999_999_999_999_999), Some(u32::MAX)),
            ("zero", Some(0), Some(0)),
        ] {
            let Message::Items { source, mut processed, record, started, .. } = items_of(name) else { unreachable!() };
            processed.ttl_minutes = ttl;
            messages.push(Message::Items { source, processed, record, max_age, started });
        }
        let (out, store) = write_all(faulty(&dir, "none", 0), messages);
        assert!(out.values().all(|o| matches!(o, SourceOutcome::Stored(_))), "{out:?}");
        for state in store.source_states().unwrap() {
            let wait = state.next_fetch_at.unwrap() - now();
            let day = chrono::TimeDelta::hours(24);
            if state.name == "zero" {
                assert!(wait <= day + day / 10, "{}: {wait}", state.name);
            } else {
                assert!(wait >= day && wait <= day + day / 10, "{}: {wait}", state.name);
            }
        }
        let warned = max_age_warning(Some(u64::MAX)).unwrap();
        assert!(warned.contains("18446744073709551615 s is longer than a year"), "{warned}");
        assert_eq!(max_age_warning(Some(31_536_000)), None, "a year is a plausible max-age");
    }
}
