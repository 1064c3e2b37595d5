//! Counters for `/metrics`, in the Prometheus text format.

use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ingest::{SourceOutcome, SourceReport};

/// Upper bounds of the fetch latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// What the daemon has done since it started.
#[derive(Default)]
pub struct Metrics {
    fetch_ok: AtomicU64,
    fetch_not_modified: AtomicU64,
    fetch_failed: AtomicU64,
    fetch_skipped: AtomicU64,
    items_new: AtomicU64,
    items_updated: AtomicU64,
    digests: AtomicU64,
    last_digest_stories: AtomicU64,
    last_digest_unix: AtomicU64,
    latency: Mutex<Histogram>,
    http_200: AtomicU64,
    http_304: AtomicU64,
    http_404: AtomicU64,
    http_other: AtomicU64,
}

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Metrics {
    /// Counts one source's fetch.
    pub fn record_fetch(&self, r: &SourceReport) {
        match &r.outcome {
            SourceOutcome::Stored(st) => {
                self.fetch_ok.fetch_add(1, Ordering::Relaxed);
                self.items_new.fetch_add(st.new as u64, Ordering::Relaxed);
                self.items_updated.fetch_add(st.updated as u64, Ordering::Relaxed);
            }
            SourceOutcome::NotModified => {
                self.fetch_not_modified.fetch_add(1, Ordering::Relaxed);
            }
            SourceOutcome::Failed { .. } => {
                self.fetch_failed.fetch_add(1, Ordering::Relaxed);
            }
            SourceOutcome::Skipped { .. } => {
                self.fetch_skipped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        let secs = r.elapsed.as_secs_f64();
        if let Ok(mut h) = self.latency.lock() {
            for (i, bound) in BUCKETS.iter().enumerate() {
                if secs <= *bound {
                    h.counts[i] += 1;
                }
            }
            h.sum += secs;
            h.count += 1;
        }
    }

    /// Counts an HTTP response the server sent.
    pub fn record_http(&self, status: u16) {
        let counter = match status {
            200 => &self.http_200,
            304 => &self.http_304,
            404 => &self.http_404,
            _ => &self.http_other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a digest run.
    pub fn record_digest(&self, stories: usize, at_unix: i64) {
        self.digests.fetch_add(1, Ordering::Relaxed);
        self.last_digest_stories.store(stories as u64, Ordering::Relaxed);
        self.last_digest_unix.store(at_unix.max(0) as u64, Ordering::Relaxed);
    }

    /// The Prometheus exposition.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        s.push_str("# HELP tidings_fetches_total Source fetches by outcome.\n# TYPE tidings_fetches_total counter\n");
        for (outcome, v) in [
            ("ok", &self.fetch_ok),
            ("not_modified", &self.fetch_not_modified),
            ("failed", &self.fetch_failed),
            ("skipped", &self.fetch_skipped),
        ] {
            let _ = writeln!(s, "tidings_fetches_total{{outcome=\"{outcome}\"}} {}", get(v));
        }
        let _ = writeln!(
            s,
            "# HELP tidings_items_ingested_total Items stored, new or updated.\n# TYPE tidings_items_ingested_total counter\n\
             tidings_items_ingested_total{{kind=\"new\"}} {}\ntidings_items_ingested_total{{kind=\"updated\"}} {}",
            get(&self.items_new),
            get(&self.items_updated)
        );
        let _ = writeln!(
            s,
            "# HELP tidings_digests_total Digest runs.\n# TYPE tidings_digests_total counter\ntidings_digests_total {}",
            get(&self.digests)
        );
        let _ = writeln!(
            s,
            "# HELP tidings_stories Stories in the last digest.\n# TYPE tidings_stories gauge\ntidings_stories {}",
            get(&self.last_digest_stories)
        );
        let _ = writeln!(
            s,
            "# HELP tidings_last_digest_timestamp_seconds When the last digest ran.\n\
             # TYPE tidings_last_digest_timestamp_seconds gauge\ntidings_last_digest_timestamp_seconds {}",
            get(&self.last_digest_unix)
        );
        s.push_str("# HELP tidings_http_responses_total Responses served, by status.\n# TYPE tidings_http_responses_total counter\n");
        for (status, v) in
            [("200", &self.http_200), ("304", &self.http_304), ("404", &self.http_404), ("other", &self.http_other)]
        {
            let _ = writeln!(s, "tidings_http_responses_total{{status=\"{status}\"}} {}", get(v));
        }
        s.push_str(
            "# HELP tidings_fetch_duration_seconds Time to fetch and store one source.\n\
             # TYPE tidings_fetch_duration_seconds histogram\n",
        );
        if let Ok(h) = self.latency.lock() {
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(s, "tidings_fetch_duration_seconds_bucket{{le=\"{bound}\"}} {}", h.counts[i]);
            }
            let _ = writeln!(s, "tidings_fetch_duration_seconds_bucket{{le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(s, "tidings_fetch_duration_seconds_sum {}", h.sum);
            let _ = writeln!(s, "tidings_fetch_duration_seconds_count {}", h.count);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreStats;
    use std::time::Duration;

    #[test]
    fn counts_and_histogram() {
        let m = Metrics::default();
        let report = |outcome, ms| SourceReport {
            name: "s".into(),
            url: "u".into(),
            outcome,
            warnings: vec![],
            elapsed: Duration::from_millis(ms),
        };
        m.record_fetch(&report(SourceOutcome::Stored(StoreStats { new: 3, updated: 1, unchanged: 0 }), 80));
        m.record_fetch(&report(SourceOutcome::NotModified, 20));
        m.record_fetch(&report(SourceOutcome::Failed { error: "x".into() }, 3000));
        m.record_digest(6, 1_743_555_600);
        let text = m.render();
        for line in [
            "tidings_fetches_total{outcome=\"ok\"} 1",
            "tidings_fetches_total{outcome=\"not_modified\"} 1",
            "tidings_fetches_total{outcome=\"failed\"} 1",
            "tidings_items_ingested_total{kind=\"new\"} 3",
            "tidings_stories 6",
            "tidings_last_digest_timestamp_seconds 1743555600",
            "tidings_fetch_duration_seconds_bucket{le=\"0.05\"} 1",
            "tidings_fetch_duration_seconds_bucket{le=\"0.1\"} 2",
            "tidings_fetch_duration_seconds_bucket{le=\"5\"} 3",
            "tidings_fetch_duration_seconds_count 3",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
    }
}
