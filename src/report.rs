//! Human-readable summaries for the command line.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use crate::daily::DailyReport;
use crate::ingest::{IngestReport, SourceOutcome, SourceReport};
use crate::store::SourceState;

/// The stderr lines for one source: its failure, then its warnings, each
/// naming the source and its URL.
pub fn problem_lines(r: &SourceReport) -> Vec<String> {
    let mut out = Vec::new();
    if let SourceOutcome::Failed { error } = &r.outcome {
        out.push(r.line(error));
    }
    out.extend(r.warnings.iter().map(|w| r.line(&format!("warning: {w}"))));
    out
}

/// One short status word and detail for a source's outcome.
pub fn outcome_text(o: &SourceOutcome) -> String {
    match o {
        SourceOutcome::Stored(s) => {
            format!("ok            {} new, {} updated, {} unchanged", s.new, s.updated, s.unchanged)
        }
        SourceOutcome::NotModified => "not modified".to_string(),
        SourceOutcome::Skipped { until } => format!("skipped       asked not to retry before {}", until.to_rfc3339()),
        SourceOutcome::Failed { error } => format!("failed        {error}"),
    }
}

/// Columns a name takes in a terminal: CJK characters take two.
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60 => 2,
            _ => 1,
        })
        .sum()
}

/// The end-of-run summary: one line per source, then totals.
pub fn ingest_summary(report: &IngestReport) -> String {
    let mut s = String::new();
    let width = report.sources.iter().map(|r| display_width(&r.name)).max().unwrap_or(0);
    for r in &report.sources {
        let pad = width.saturating_sub(display_width(&r.name));
        let _ = writeln!(s, "{}{}  {}", r.name, " ".repeat(pad), outcome_text(&r.outcome));
    }
    let (mut ok, mut nm, mut skipped, mut new, mut updated) = (0, 0, 0, 0, 0);
    for r in &report.sources {
        match &r.outcome {
            SourceOutcome::Stored(st) => {
                ok += 1;
                new += st.new;
                updated += st.updated;
            }
            SourceOutcome::NotModified => nm += 1,
            SourceOutcome::Skipped { .. } => skipped += 1,
            SourceOutcome::Failed { .. } => {}
        }
    }
    let _ = writeln!(
        s,
        "{} sources: {ok} ok, {nm} not modified, {skipped} skipped, {} failed; {new} new items, {updated} updated",
        report.sources.len(),
        report.failed()
    );
    s
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| "never".into())
}

/// `tidings sources`: each source with its last status, item count and error.
pub fn sources_table(states: &[SourceState], configured: &[String]) -> String {
    let mut s = String::new();
    for st in states {
        let mark = if configured.contains(&st.name) { "" } else { "  (no longer configured)" };
        let _ = writeln!(s, "{}{mark}\n  url:        {}", st.name, st.url);
        let _ = writeln!(
            s,
            "  status:     {} (last fetch {}, last success {})",
            st.last_status.as_deref().unwrap_or("never fetched"),
            when(st.last_fetch_at),
            when(st.last_success_at)
        );
        let _ = writeln!(s, "  items:      {}", st.item_count);
        if st.consecutive_failures > 0 {
            let _ = writeln!(s, "  failures:   {} in a row", st.consecutive_failures);
        }
        if let Some(e) = &st.last_error {
            let _ = writeln!(s, "  last error: {e}");
        }
        if let Some(t) = st.next_fetch_at {
            let _ = writeln!(s, "  next fetch: {}", when(Some(t)));
        }
        if let Some(t) = st.retry_after_until {
            let _ = writeln!(s, "  server asked not to retry before {}", when(Some(t)));
        }
    }
    s
}

/// `tidings digest`: where the post and feeds went, and what the post holds.
pub fn daily_summary(r: &DailyReport) -> String {
    let mut s = String::new();
    match &r.post {
        None => {
            let _ = writeln!(s, "{}: no new items in the window, no post written", r.date);
        }
        Some(p) => {
            if let Some(path) = &r.published.post {
                let _ = writeln!(s, "post:  {}", path.display());
            }
            let _ = writeln!(s, "title: {}", p.title);
            let _ = writeln!(s, "{} stories from {} items by {} sources", p.stories, p.items, p.sources);
            let _ = writeln!(s, "tags:  {}", p.tags.join(", "));
        }
    }
    for f in &r.published.feeds {
        let _ = writeln!(s, "feed:  {}", f.display());
    }
    for w in &r.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    s
}

/// A digest as a story list: position, id, headline, outlets and tags, for
/// `digest --dry-run` and `edit`; then the post's title and the edits that
/// named nothing.
pub fn story_list(d: &crate::digest::Digest) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{} · {}", d.date, d.title);
    for (i, story) in d.stories.iter().enumerate() {
        let outlets: Vec<&str> = story.sources.iter().map(|x| x.name.as_str()).collect();
        let _ = writeln!(s, "{:>2}. [{}] {}", i + 1, story.id, story.headline);
        let _ = writeln!(
            s,
            "    {} · {}",
            outlets.join(", "),
            if story.tags.is_empty() { "—".to_string() } else { story.tags.join(", ") }
        );
    }
    for w in &d.edit_warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    s
}
