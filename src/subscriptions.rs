//! Changing the source list from the command line: OPML import and export,
//! and adding a source from a web page URL by finding its feed.

use std::path::Path;

use crate::config::{Config, SourceList};
use crate::decode;
use crate::fetch::{FetchOutcome, Fetcher, Validators};
use crate::opml::{self, Subscription};
use crate::parse;
use crate::publish::{PublishError, write_atomic};

/// What changing the source list failed on.
#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error(transparent)]
    Opml(#[from] opml::OpmlError),
    #[error(transparent)]
    Write(#[from] PublishError),
    #[error("no feed found at {url}: {reason}")]
    NoFeed { url: String, reason: String },
    #[error("{url} is already a source, named `{name}`")]
    Duplicate { url: String, name: String },
}

/// The outcome of an import.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub added: Vec<Subscription>,
    /// Skipped subscriptions and why.
    pub skipped: Vec<(Subscription, String)>,
}

/// A URL compared loosely: scheme-less, lower-case host, no trailing slash.
fn same_feed_key(url: &str) -> String {
    let u = url.trim().trim_end_matches('/');
    let u = u.split_once("://").map_or(u, |(_, rest)| rest);
    match u.split_once('/') {
        Some((host, path)) => format!("{}/{path}", host.to_ascii_lowercase()),
        None => u.to_ascii_lowercase(),
    }
}

fn read_list(path: &Path) -> Result<(String, SourceList), SubscriptionError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| SubscriptionError::Read { path: path.display().to_string(), source })?;
    let list: SourceList = toml::from_str(&text).map_err(|e| SubscriptionError::Invalid {
        path: path.display().to_string(),
        message: e.message().to_string(),
    })?;
    Ok((text, list))
}

/// Adds the OPML file's subscriptions to the source list; duplicates (by
/// feed URL, or a name already taken) are skipped and reported.
pub fn import(sources_file: &Path, opml_text: &str) -> Result<ImportReport, SubscriptionError> {
    let (text, list) = read_list(sources_file)?;
    let mut urls: Vec<String> = list.source.iter().map(|s| same_feed_key(&s.url)).collect();
    let mut names: Vec<String> = list.source.iter().map(|s| s.name.clone()).collect();
    let mut report = ImportReport::default();
    for sub in opml::parse(opml_text)? {
        let key = same_feed_key(&sub.url);
        if let Some(i) = urls.iter().position(|u| *u == key) {
            let reason = format!("already a source, named `{}`", names[i]);
            report.skipped.push((sub, reason));
            continue;
        }
        if names.contains(&sub.name) {
            report.skipped.push((sub.clone(), format!("the name `{}` is taken by another source", sub.name)));
            continue;
        }
        urls.push(key);
        names.push(sub.name.clone());
        report.added.push(sub);
    }
    if !report.added.is_empty() {
        let mut new_text = text;
        new_text.push_str(&opml::to_toml(&report.added));
        write_atomic(sources_file, new_text.as_bytes())?;
    }
    Ok(report)
}

/// The source list as OPML 2.0.
pub fn export(config: &Config) -> Result<String, SubscriptionError> {
    let (_, list) = read_list(&config.sources.file)?;
    let subs: Vec<Subscription> = list
        .source
        .iter()
        .map(|s| Subscription { name: s.name.clone(), url: s.url.clone(), group: s.group.clone(), site: None })
        .collect();
    Ok(opml::export(&config.site.title, &subs))
}

/// Fetches a URL: a feed is added as it is; a web page is searched for
/// `<link rel="alternate">` feeds and the first that reads is added. The
/// fetch is made behind the SSRF guard: the URL comes from a person.
pub async fn add(
    config: &Config,
    url: &str,
    name: Option<&str>,
    group: Option<&str>,
) -> Result<Subscription, SubscriptionError> {
    let (text, list) = read_list(&config.sources.file)?;
    let fetcher = Fetcher::for_untrusted(&config.fetch, &config.user_agent())
        .map_err(|e| SubscriptionError::NoFeed { url: url.into(), reason: e.to_string() })?;
    let (feed_url, title) = find_feed(&fetcher, url, config).await?;
    if let Some(existing) = list.source.iter().find(|s| same_feed_key(&s.url) == same_feed_key(&feed_url)) {
        return Err(SubscriptionError::Duplicate { url: feed_url, name: existing.name.clone() });
    }
    let host = url::Url::parse(&feed_url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    let mut name = name.map(str::to_string).or(title).filter(|n| !n.trim().is_empty()).unwrap_or(host);
    let base = name.clone();
    let mut n = 2;
    while list.source.iter().any(|s| s.name == name) {
        name = format!("{base} ({n})");
        n += 1;
    }
    let sub = Subscription { name, url: feed_url, group: group.map(str::to_string), site: None };
    let mut new_text = text;
    new_text.push_str(&opml::to_toml(std::slice::from_ref(&sub)));
    write_atomic(&config.sources.file, new_text.as_bytes())?;
    Ok(sub)
}

async fn fetch_text(fetcher: &Fetcher, url: &str) -> Result<(String, String), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    match fetcher.fetch(&crate::config::Location::Http(parsed), &Validators::default()).await {
        Ok(FetchOutcome::Modified(f)) => {
            let d = decode::decode(&f.body, f.content_type.as_deref(), None);
            Ok((decode::declare_utf8(&d.text).into_owned(), f.final_url))
        }
        Ok(FetchOutcome::NotModified { .. }) => Err("unexpected 304".into()),
        Err(e) => Err(e.to_string()),
    }
}

async fn find_feed(
    fetcher: &Fetcher,
    url: &str,
    config: &Config,
) -> Result<(String, Option<String>), SubscriptionError> {
    let tz = config.site.tz();
    let no_feed = |reason: String| SubscriptionError::NoFeed { url: url.to_string(), reason };
    let (text, final_url) = fetch_text(fetcher, url).await.map_err(no_feed)?;
    if let Ok(feed) = parse::parse(&text, Some(&final_url), tz) {
        return Ok((final_url, feed.title));
    }
    let candidates = opml::discover(&text, &final_url);
    if candidates.is_empty() {
        return Err(no_feed("the page announces no feed (no <link rel=\"alternate\"> of a feed type)".into()));
    }
    let mut last = String::new();
    for candidate in candidates {
        match fetch_text(fetcher, &candidate).await {
            Ok((t, u)) => match parse::parse(&t, Some(&u), tz) {
                Ok(feed) => return Ok((u, feed.title)),
                Err(e) => last = format!("{candidate}: {e}"),
            },
            Err(e) => last = format!("{candidate}: {e}"),
        }
    }
    Err(no_feed(format!("the announced feeds do not read ({last})")))
}
