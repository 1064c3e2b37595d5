//! `tidings serve`: the long-lived service. Runs the fetch and digest
//! schedules (crontab syntax, in the site's timezone), serves the output over
//! HTTP, reloads its configuration on SIGHUP or when the files change, and
//! shuts down cleanly on SIGINT/SIGTERM.
//!
//! A fetch and a digest never run at once: both take the work lock; a fetch
//! tick that finds it taken is skipped, a digest waits for it. A digest missed
//! while the service was down is made up at start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard, watch};

use crate::config::{self, ConfigError, Loaded, parse_cron};
use crate::daily;
use crate::ingest::{self, RunOptions};
use crate::metrics::Metrics;
use crate::poll;
use crate::serve::{self, Shared};
use crate::store::{Storage, Store, StoreError};

/// What stops the service from starting.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("invalid listen address `{0}`")]
    Listen(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

/// How the service is started.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub config_path: PathBuf,
    /// Overrides `serve.listen`.
    pub listen: Option<String>,
}

fn open_store(loaded: &Loaded) -> Result<Store, StoreError> {
    crate::store::open(&loaded.config.storage)
}

/// Runs the service until SIGINT or SIGTERM.
pub async fn serve(options: ServeOptions) -> Result<(), DaemonError> {
    let loaded = config::load_all(&options.config_path)?;
    let listen_text = options.listen.clone().unwrap_or_else(|| loaded.config.serve.listen.clone());
    let addr: SocketAddr = listen_text.parse().map_err(|_| DaemonError::Listen(listen_text.clone()))?;
    let mut writer = open_store(&loaded)?;
    // What this node was fetching when it stopped is its own to fetch again.
    let released = writer.release_leases(&ingest::node_id())?;
    if released > 0 {
        tracing::info!(sources = released, node = %ingest::node_id(), "took back this node's leases from before the restart");
    }
    spread_overdue(&mut writer, &loaded, Utc::now())?;
    drop(writer);
    let shared = Arc::new(Shared {
        store: Mutex::new(open_store(&loaded)?),
        loaded: RwLock::new(Arc::new(loaded)),
        metrics: Metrics::default(),
        last_digest_run: Mutex::new(None),
        started_at: Utc::now(),
        files: Mutex::default(),
        mirrored: Mutex::default(),
    });
    let shared_database = shared.store.lock().is_ok_and(|s| matches!(*s, Store::Postgres(_)));

    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup()).map_err(DaemonError::Signals)?;
    let mut term = signal(SignalKind::terminate()).map_err(DaemonError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DaemonError::Signals)?;

    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| DaemonError::Bind { addr, source })?;
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let app = serve::router(shared.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.wait_for(|stop| *stop).await;
            })
            .await;
    });
    tracing::info!(%addr, "listening");

    let work = Arc::new(AsyncMutex::new(()));
    let mut jobs = tokio::task::JoinSet::new();
    if let Some((date, tick)) = missed_digest(&shared, Utc::now()) {
        tracing::info!(%date, "making up a missed digest");
        jobs.spawn(digest_job(shared.clone(), work.clone(), date, tick));
    }
    let mut watched = watched_files(&shared.config());
    loop {
        let cfg = shared.config();
        let tz = cfg.config.site.tz();
        let now = Utc::now();
        let next_fetch = next_occurrence(&cfg.config.schedule.fetch, now, tz);
        let next_digest = next_occurrence(&cfg.config.schedule.digest, now, tz);
        // Wake for the next tick, and every two seconds to notice edited files.
        let wake = [next_fetch, next_digest].into_iter().flatten().min().unwrap_or(now + chrono::Duration::hours(1));
        let sleep = (wake - now).to_std().unwrap_or_default().min(Duration::from_secs(2));
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {
                let now = Utc::now();
                if let Some(d) = next_digest.filter(|d| *d <= now) {
                    let date = d.with_timezone(&tz).date_naive();
                    jobs.spawn(digest_job(shared.clone(), work.clone(), date, d));
                } else if next_fetch.is_some_and(|f| f <= now) {
                    match work.clone().try_lock_owned() {
                        Ok(guard) => {
                            jobs.spawn(fetch_job(shared.clone(), guard));
                        }
                        Err(_) => tracing::info!("fetch tick skipped: the previous run is still going"),
                    }
                }
                if shared_database && let Ok(guard) = work.clone().try_lock_owned() {
                    jobs.spawn(mirror_job(shared.clone(), guard));
                }
                let now_watched = watched_files(&shared.config());
                if now_watched != watched {
                    reload(&shared, &options.config_path, "files changed");
                    watched = watched_files(&shared.config());
                }
            }
            _ = hup.recv() => {
                reload(&shared, &options.config_path, "SIGHUP");
                watched = watched_files(&shared.config());
            }
            _ = term.recv() => { tracing::info!("SIGTERM: shutting down"); break; }
            _ = int.recv() => { tracing::info!("SIGINT: shutting down"); break; }
            Some(done) = jobs.join_next(), if !jobs.is_empty() => {
                if let Err(e) = done {
                    tracing::error!(error = %e, "job failed");
                }
            }
        }
    }

    // Stop taking work; let what runs finish within a bound; committed data stays either way.
    let bound = Duration::from_secs(shared.config().config.fetch.timeout_secs.saturating_add(10));
    let drained = tokio::time::timeout(bound, async { while jobs.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!("jobs still running after {}s: stopped", bound.as_secs());
        jobs.abort_all();
    }
    let _ = stop_tx.send(true);
    let _ = server.await;
    tracing::info!("stopped");
    Ok(())
}

/// On a shared database, brings this node's output files up to the posts
/// another node (or this one) saved: every node serves the same feeds.
async fn mirror_job(shared: Arc<Shared>, _guard: OwnedMutexGuard<()>) {
    let s = shared.clone();
    let mirrored = tokio::task::spawn_blocking(move || -> Result<Option<i64>, String> {
        let store = s.store.lock().map_err(|_| "database handle poisoned".to_string())?;
        let version = store.publication_version().map_err(|e| e.to_string())?;
        let seen = s.mirrored.lock().map(|m| *m).unwrap_or(None);
        if version == 0 || seen == Some(version) {
            return Ok(None);
        }
        let loaded = s.config();
        crate::publish::mirror(&loaded.config, &loaded.taxonomy, &*store).map_err(|e| e.to_string())?;
        if let Ok(mut m) = s.mirrored.lock() {
            *m = Some(version);
        }
        Ok(Some(version))
    })
    .await;
    match mirrored {
        Ok(Ok(Some(version))) => tracing::info!(version, "output brought up to the database"),
        Ok(Ok(None)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "bringing the output up to the database failed"),
        Err(e) => tracing::warn!(error = %e, "bringing the output up to the database failed"),
    }
}

/// The next time a crontab expression fires after `now`, in `tz`.
fn next_occurrence(expr: &str, now: DateTime<Utc>, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let cron = parse_cron(expr).ok()?;
    cron.find_next_occurrence(&now.with_timezone(&tz), false).ok().map(|d| d.with_timezone(&Utc))
}

/// The day whose scheduled digest passed without a post in the last day,
/// if any: after a longer outage only the latest is made up.
fn missed_digest(shared: &Shared, now: DateTime<Utc>) -> Option<(NaiveDate, DateTime<Utc>)> {
    let cfg = shared.config();
    let tz = cfg.config.site.tz();
    let cron = parse_cron(&cfg.config.schedule.digest).ok()?;
    let prev = cron.find_previous_occurrence(&now.with_timezone(&tz), false).ok()?;
    if now - prev.with_timezone(&Utc) > chrono::Duration::hours(26) {
        return None;
    }
    let date = prev.date_naive();
    let has_post = shared.store.lock().ok()?.post(&date.format("%Y-%m-%d").to_string()).ok()?.is_some();
    // The missed tick itself: nodes starting together claim the same one.
    (!has_post).then_some((date, prev.with_timezone(&Utc)))
}

/// Sources that became due while the service was down are spread over the
/// next fetch interval instead of all being asked at the first tick.
fn spread_overdue(store: &mut Store, loaded: &Loaded, now: DateTime<Utc>) -> Result<(), StoreError> {
    let tz = loaded.config.site.tz();
    let fetch = &loaded.config.schedule.fetch;
    let spread = next_occurrence(fetch, now, tz)
        .and_then(|a| next_occurrence(fetch, a, tz))
        .map_or(chrono::Duration::minutes(30), |b| b - now)
        .clamp(chrono::Duration::seconds(1), chrono::Duration::hours(1));
    for state in store.source_states()? {
        if state.next_fetch_at.is_some_and(|t| t < now) {
            let at = now + poll::jitter(&state.name, spread * 10);
            store.set_next_fetch(&state.name, at)?;
        }
    }
    Ok(())
}

/// Modification times of the config, source list and taxonomy.
fn watched_files(loaded: &Loaded) -> Vec<Option<SystemTime>> {
    let c = &loaded.config;
    [
        Some(c.path.as_path()),
        Some(c.sources.file.as_path()),
        Some(c.taxonomy.file.as_path()),
        c.entities.file.as_deref(),
    ]
    .iter()
    .flatten()
    .map(|p: &&Path| std::fs::metadata(p).and_then(|m| m.modified()).ok())
    .collect()
}

/// Loads the configuration again; a bad one is reported and the old kept.
fn reload(shared: &Shared, path: &Path, why: &str) {
    match config::load_all(path) {
        Ok(new) => {
            if let Ok(mut l) = shared.loaded.write() {
                *l = Arc::new(new);
            }
            tracing::info!(reason = why, "configuration reloaded");
        }
        Err(e) => tracing::error!(reason = why, error = %e, "configuration not reloaded; keeping the previous one"),
    }
}

/// The database, or a logged error naming the job that wanted it.
fn open_for(loaded: &Loaded, job: &str) -> Option<Store> {
    open_store(loaded).map_err(|e| tracing::error!(job, error = %e, "cannot open the database")).ok()
}

/// Each fetch's report, counted in the metrics.
fn count_fetches(shared: &Arc<Shared>) -> Box<dyn FnMut(&ingest::SourceReport) + Send> {
    let s = shared.clone();
    Box::new(move |r: &ingest::SourceReport| s.metrics.record_fetch(r))
}

/// A fetch round: the sources whose time has come.
async fn fetch_job(shared: Arc<Shared>, _guard: OwnedMutexGuard<()>) {
    let loaded = shared.config();
    let Some(store) = open_for(&loaded, "fetch") else { return };
    let options = RunOptions { only_due: true, ..Default::default() };
    if let Err(e) = ingest::run(&loaded.config, &loaded.sources, store, options, count_fetches(&shared)).await {
        tracing::error!(error = %e, "fetch round failed");
    }
}

/// The digest for `date`: waits for a fetch in flight, fetches every source,
/// then writes the post and feeds.
async fn digest_job(shared: Arc<Shared>, work: Arc<AsyncMutex<()>>, date: NaiveDate, tick: DateTime<Utc>) {
    let guard = work.lock().await;
    let loaded = shared.config();
    let Some(mut store) = open_for(&loaded, "digest") else { return };
    // One node writes a date's digest; the others skip it, and try again
    // when the holder's claim lapses (it may have died mid-digest).
    let (owner, day) = (ingest::node_id(), date.format("%Y-%m-%d").to_string());
    let now = Utc::now();
    match store.claim_digest(&day, &owner, tick, now, now + DIGEST_CLAIM) {
        Ok(None) => {}
        Ok(Some(held)) => {
            tracing::info!(%date, tick = %tick.to_rfc3339(), holder = %held.owner, "digest: another node has this date");
            // The cluster has this tick in hand: not overdue here.
            if let Ok(mut last) = shared.last_digest_run.lock() {
                *last = Some(Utc::now());
            }
            if let Some(until) = held.until.filter(|u| *u - now < chrono::Duration::hours(6)) {
                let wait = (until - now).to_std().unwrap_or_default() + Duration::from_secs(5);
                drop(guard);
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    digest_job_again(shared, work, date, tick).await;
                });
            }
            return;
        }
        Err(e) => {
            tracing::error!(%date, error = %e, "digest: cannot claim the date");
            return;
        }
    }
    // Before the digest, the latest of every source; on a shared database
    // only what is due, by lease, so that no source is fetched twice.
    let options = RunOptions { only_due: matches!(store, Store::Postgres(_)), ..Default::default() };
    let fetched = ingest::run(&loaded.config, &loaded.sources, store, options, count_fetches(&shared)).await;
    let store = match fetched {
        Ok((_, store)) => store,
        Err(e) => {
            tracing::error!(error = %e, "digest: fetch failed; digesting what is stored");
            let Some(store) = open_for(&loaded, "digest") else { return };
            store
        }
    };
    let mut store = store;
    let fetcher = crate::fetch::Fetcher::for_untrusted(&loaded.config.fetch, &loaded.config.user_agent()).ok();
    match daily::run(&loaded, &mut store, date, fetcher.as_ref()).await {
        Ok(report) => {
            if let Err(e) = store.finish_digest(&day, tick, &owner, Utc::now()) {
                tracing::error!(%date, error = %e, "digest: written, but not marked done");
            }
            let stories = report.post.as_ref().map_or(0, |p| p.stories);
            tracing::info!(%date, tick = %tick.to_rfc3339(), stories, written = report.post.is_some(), "digest");
            shared.metrics.record_digest(stories, Utc::now().timestamp());
            if let Ok(mut last) = shared.last_digest_run.lock() {
                *last = Some(Utc::now());
            }
            if report.post.is_some()
                && let Some(hub) = loaded.config.site.websub_hub.clone()
            {
                websub_ping(&loaded, &hub).await;
            }
        }
        Err(e) => tracing::error!(%date, error = %e, "digest failed"),
    }
}

/// [`digest_job`] once more, later (boxed: it calls itself).
fn digest_job_again(
    shared: Arc<Shared>,
    work: Arc<AsyncMutex<()>>,
    date: NaiveDate,
    tick: DateTime<Utc>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    Box::pin(digest_job(shared, work, date, tick))
}

/// How long a node's claim on a date's digest lasts before another node
/// may take the date over.
const DIGEST_CLAIM: chrono::Duration = chrono::Duration::minutes(30);

/// Tells a WebSub hub that the feeds changed.
async fn websub_ping(loaded: &Loaded, hub: &str) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Ok(client) =
        reqwest::Client::builder().user_agent(loaded.config.user_agent()).timeout(Duration::from_secs(10)).build()
    else {
        return;
    };
    let base = crate::render::post_url(&loaded.config.site.base_url, "").trim_end_matches("posts/").to_string();
    for feed in ["feed.xml", "atom.xml", "feed.json"] {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("hub.mode", "publish")
            .append_pair("hub.url", &format!("{base}{feed}"))
            .finish();
        let sent = client
            .post(hub)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => tracing::info!(hub, feed, "WebSub hub notified"),
            Ok(r) => tracing::warn!(hub, feed, status = r.status().as_u16(), "WebSub hub refused the ping"),
            Err(e) => tracing::warn!(hub, feed, error = %e, "WebSub ping failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_runs_in_the_site_timezone() {
        let now = DateTime::parse_from_rfc3339("2025-04-02T00:30:00Z").unwrap().with_timezone(&Utc);
        let next = next_occurrence("0 9 * * *", now, chrono_tz::Asia::Shanghai).unwrap();
        assert_eq!(next.to_rfc3339(), "2025-04-02T01:00:00+00:00");
        let next = next_occurrence("*/5 * * * * *", now, chrono_tz::UTC).unwrap();
        assert_eq!(next.to_rfc3339(), "2025-04-02T00:30:05+00:00");
    }
}
