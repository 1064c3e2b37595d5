//! Getting a source's bytes: HTTP(S) with conditional GET, a timeout, a body
//! cap and bounded redirects, or a local file.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};

use crate::config::{FetchConfig, Location};
use crate::timespan;

/// Bytes fetched from a source, with what the server said about them.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
    /// The URL after redirects; relative links resolve against it.
    pub final_url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Cache-Control max-age, in seconds.
    pub max_age: Option<u64>,
}

impl Fetched {
    /// Bytes as if fetched from `url`, without HTTP metadata (local files,
    /// tests, fuzzing).
    pub fn from_bytes(body: Vec<u8>, url: impl Into<String>) -> Fetched {
        Fetched { body, content_type: None, final_url: url.into(), etag: None, last_modified: None, max_age: None }
    }
}

/// What a fetch produced.
#[derive(Debug, Clone)]
pub enum FetchOutcome {
    Modified(Fetched),
    /// 304: nothing to parse.
    NotModified {
        etag: Option<String>,
        last_modified: Option<String>,
        max_age: Option<u64>,
    },
}

/// Validators from the previous fetch, sent back for a conditional GET.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("timed out after {0}s")]
    Timeout(u64),
    #[error("HTTP {status}{}", retry_after.map(|r| format!(" (retry after {}s)", r.num_seconds())).unwrap_or_default())]
    Status { status: u16, retry_after: Option<chrono::Duration> },
    #[error("body larger than max_body_bytes ({limit} bytes): cut off")]
    TooLarge { limit: u64 },
    #[error("too many redirects (more than {0})")]
    TooManyRedirects(usize),
    #[error("TLS error: {0}")]
    Tls(String),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("HTTP error: {0}")]
    Http(String),
    #[error("cannot read {path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("cannot build HTTP client: {0}")]
    Client(String),
    #[error("blocked: {0} (set fetch.allow_private_addresses to allow)")]
    Blocked(String),
}

impl FetchError {
    /// When the server asked not to be asked again before a time.
    pub fn retry_after(&self) -> Option<chrono::Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// A configured HTTP client plus file access, shared by all fetches.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
    max_body: u64,
    max_redirects: usize,
    /// Refuse loopback, private, link-local and metadata addresses.
    guarded: bool,
}

/// Whether an address is one a fetch of untrusted URLs must not reach:
/// loopback, private, link-local (cloud metadata at 169.254.169.254),
/// carrier-grade NAT, unspecified, multicast, broadcast, unique-local.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Why a URL's host is refused before connecting, if it is.
fn blocked_host(url: &reqwest::Url) -> Option<String> {
    match url.host() {
        Some(url::Host::Ipv4(ip)) if is_internal(IpAddr::V4(ip)) => Some(format!("{ip} is an internal address")),
        Some(url::Host::Ipv6(ip)) if is_internal(IpAddr::V6(ip)) => Some(format!("{ip} is an internal address")),
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") || d.ends_with(".localhost") => {
            Some(format!("{d} is a loopback name"))
        }
        _ => None,
    }
}

/// DNS that drops internal addresses, so a name cannot smuggle a request to
/// one (the check is made on the resolved address, for every connection,
/// redirects included).
struct GuardedResolver;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<std::net::SocketAddr> = addrs.iter().copied().filter(|a| !is_internal(a.ip())).collect();
            if allowed.is_empty() {
                let shown = addrs.first().map(|a| a.ip().to_string()).unwrap_or_default();
                return Err(format!("blocked: {host} resolves to internal address {shown}").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl Fetcher {
    /// Builds the client: rustls (ring), gzip/deflate/brotli, the configured
    /// timeout, redirect limit and User-Agent. For the operator's own sources.
    pub fn new(cfg: &FetchConfig, user_agent: &str) -> Result<Fetcher, FetchError> {
        Self::build(cfg, user_agent, false)
    }

    /// A fetcher for URLs that come from feed content or from users (article
    /// pages, sources added at run time): internal addresses are refused
    /// unless `fetch.allow_private_addresses` is set.
    pub fn for_untrusted(cfg: &FetchConfig, user_agent: &str) -> Result<Fetcher, FetchError> {
        Self::build(cfg, user_agent, !cfg.allow_private_addresses)
    }

    fn build(cfg: &FetchConfig, user_agent: &str, guarded: bool) -> Result<Fetcher, FetchError> {
        // Installing twice is harmless: the first provider stays.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let timeout = Duration::from_secs(cfg.timeout_secs.max(1));
        let max_redirects = cfg.max_redirects;
        let redirect = if guarded {
            reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() > max_redirects {
                    attempt.error(format!("too many redirects (more than {max_redirects})"))
                } else if let Some(why) = blocked_host(attempt.url()) {
                    attempt.error(format!("blocked: redirect to {why}"))
                } else {
                    attempt.follow()
                }
            })
        } else {
            reqwest::redirect::Policy::limited(max_redirects)
        };
        let mut builder = reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(redirect)
            .gzip(true)
            .deflate(true)
            .brotli(true)
            .pool_idle_timeout(Duration::from_secs(30));
        if guarded {
            builder = builder.dns_resolver(std::sync::Arc::new(GuardedResolver));
        }
        let client = builder.build().map_err(|e| FetchError::Client(e.to_string()))?;
        Ok(Fetcher { client, timeout, max_body: cfg.max_body_bytes, max_redirects, guarded })
    }

    /// Fetches a location; HTTP sources send `validators` for a conditional GET.
    pub async fn fetch(&self, location: &Location, validators: &Validators) -> Result<FetchOutcome, FetchError> {
        match location {
            Location::File(_) if self.guarded => Err(FetchError::Blocked("local files".into())),
            Location::File(path) => self.read_file(path).await,
            Location::Http(url) => {
                if self.guarded
                    && let Some(why) = blocked_host(url)
                {
                    return Err(FetchError::Blocked(why));
                }
                let work = self.get(url.as_str(), validators);
                // reqwest's timeout covers the whole exchange; this guards the body loop too.
                match tokio::time::timeout(self.timeout + Duration::from_secs(1), work).await {
                    Ok(r) => r,
                    Err(_) => Err(FetchError::Timeout(self.timeout.as_secs())),
                }
            }
        }
    }

    async fn read_file(&self, path: &std::path::Path) -> Result<FetchOutcome, FetchError> {
        use tokio::io::AsyncReadExt;
        let file_err = |source| FetchError::File { path: path.to_path_buf(), source };
        let file = tokio::fs::File::open(path).await.map_err(file_err)?;
        let mut body = Vec::new();
        let read = file.take(self.max_body + 1).read_to_end(&mut body).await.map_err(file_err)?;
        if read as u64 > self.max_body {
            return Err(FetchError::TooLarge { limit: self.max_body });
        }
        let final_url = url::Url::from_file_path(path).map(String::from).unwrap_or_else(|_| path.display().to_string());
        Ok(FetchOutcome::Modified(Fetched::from_bytes(body, final_url)))
    }

    async fn get(&self, url: &str, validators: &Validators) -> Result<FetchOutcome, FetchError> {
        let mut req = self.client.get(url).header(
            header::ACCEPT,
            "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8",
        );
        if let Some(etag) = &validators.etag {
            req = req.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &validators.last_modified {
            req = req.header(header::IF_MODIFIED_SINCE, lm);
        }
        let mut resp = req.send().await.map_err(|e| self.classify(e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let etag = header_str(&headers, header::ETAG);
        let last_modified = header_str(&headers, header::LAST_MODIFIED);
        let max_age = header_str(&headers, header::CACHE_CONTROL).and_then(|v| max_age(&v));
        if status == StatusCode::NOT_MODIFIED {
            return Ok(FetchOutcome::NotModified { etag, last_modified, max_age });
        }
        if !status.is_success() {
            let retry_after = matches!(status.as_u16(), 429 | 503)
                .then(|| header_str(&headers, header::RETRY_AFTER))
                .flatten()
                .and_then(|v| {
                    let now = Utc::now();
                    parse_retry_after(&v, now).map(|at| at - now)
                });
            return Err(FetchError::Status { status: status.as_u16(), retry_after });
        }
        if resp.content_length().is_some_and(|n| n > self.max_body) {
            return Err(FetchError::TooLarge { limit: self.max_body });
        }
        let final_url = resp.url().to_string();
        // Sized once from Content-Length (already checked against the
        // limit, and capped: a server may announce more than it sends).
        let announced = resp.content_length().and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
        let mut body = Vec::with_capacity(announced.min(PREALLOCATE_MAX));
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.classify(e))? {
            if body.len() as u64 + chunk.len() as u64 > self.max_body {
                return Err(FetchError::TooLarge { limit: self.max_body });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(FetchOutcome::Modified(Fetched {
            body,
            content_type: header_str(&headers, header::CONTENT_TYPE),
            final_url,
            etag,
            last_modified,
            max_age,
        }))
    }

    fn classify(&self, e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            return FetchError::Timeout(self.timeout.as_secs());
        }
        let chain = error_chain(&e);
        if let Some(at) = chain.find("blocked: ") {
            let why = chain[at + 9..].split(" (set fetch").next().unwrap_or("").to_string();
            return FetchError::Blocked(why);
        }
        if e.is_redirect() {
            return FetchError::TooManyRedirects(self.max_redirects);
        }
        let lower = chain.to_ascii_lowercase();
        let rustls_error = {
            let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            let mut found = false;
            while let Some(err) = cur {
                let inner_io = err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
                if err.is::<rustls::Error>() || inner_io.is_some_and(|i| i.is::<rustls::Error>()) {
                    found = true;
                    break;
                }
                cur = err.source();
            }
            found
        };
        let tls_words = ["certificate", "tls", "handshake", "corrupt message", "alert received", "peer sent no"];
        if rustls_error || tls_words.iter().any(|w| lower.contains(w)) {
            return FetchError::Tls(chain);
        }
        if e.is_connect() {
            return FetchError::Connect(chain);
        }
        FetchError::Http(chain)
    }
}

/// The innermost causes of an error, joined: reqwest's own message alone
/// ("error sending request") says too little.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let m = s.to_string();
        if !parts.iter().any(|p| p.contains(&m)) {
            parts.push(m);
        }
        cur = s.source();
    }
    parts.join(": ")
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// `max-age` of a Cache-Control value (`s-maxage` wins for shared caches
/// like us). Counts too large for a u64 saturate, as RFC 9111 asks.
pub fn max_age(value: &str) -> Option<u64> {
    let mut found = None;
    for part in value.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else { continue };
        let secs = timespan::parse_delta_seconds(v.trim().trim_matches('"'));
        match k.trim().to_ascii_lowercase().as_str() {
            "s-maxage" => return secs,
            "max-age" => found = secs,
            _ => {}
        }
    }
    found
}

/// The most a body buffer is sized ahead of the bytes that arrive.
const PREALLOCATE_MAX: usize = 4 << 20;

/// The longest a server's Retry-After is obeyed.
const RETRY_AFTER_CAP: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// `Retry-After` as seconds or an HTTP date, from `now` to a week ahead. A
/// negative count or a date in the past means now.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let value = value.trim();
    let cap = timespan::later(now, RETRY_AFTER_CAP);
    let at = if let Some(secs) = timespan::parse_delta_seconds(value) {
        timespan::later(now, timespan::seconds(secs))
    } else if value.strip_prefix('-').and_then(timespan::parse_delta_seconds).is_some() {
        now
    } else {
        DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc)
    };
    Some(at.clamp(now, cap))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = Utc.with_ymd_and_hms(2025, 4, 2, 0, 0, 0).unwrap();
        assert_eq!(parse_retry_after("120", now), Some(now + chrono::Duration::seconds(120)));
        assert_eq!(
            parse_retry_after("Wed, 02 Apr 2025 01:00:00 GMT", now),
            Some(Utc.with_ymd_and_hms(2025, 4, 2, 1, 0, 0).unwrap())
        );
        assert_eq!(parse_retry_after("999999999", now), Some(now + chrono::Duration::days(7)));
        assert_eq!(parse_retry_after("soon", now), None);
        let week = Some(now + chrono::Duration::days(7));
        for huge in ["99999999999", "18446744073709551615", "1000000000000000000000000000000"] {
            assert_eq!(parse_retry_after(huge, now), week, "{huge}");
        }
        assert_eq!(parse_retry_after("-5", now), Some(now));
        assert_eq!(parse_retry_after("-99999999999999999999", now), Some(now));
        assert_eq!(parse_retry_after("02 Apr 1975 01:00:00 GMT", now), Some(now), "a past date");
        assert_eq!(parse_retry_after("31 Dec 9999 23:59:59 GMT", now), week);
        assert_eq!(parse_retry_after("01 Jan 99999 00:00:00 GMT", now), week);
        // Near the end of time nothing overflows.
        let end = DateTime::<Utc>::MAX_UTC;
        assert_eq!(parse_retry_after("99999999999", end), Some(end));
    }

    #[test]
    fn internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "100.128.0.1"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn guarded_fetcher_refuses_internal_targets() {
        let cfg = FetchConfig::default();
        let f = Fetcher::for_untrusted(&cfg, "t").unwrap();
        for url in
            ["http://127.0.0.1:9/x", "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://localhost:9/"]
        {
            let loc = Location::Http(url.parse().unwrap());
            match f.fetch(&loc, &Validators::default()).await {
                Err(FetchError::Blocked(_)) => {}
                other => panic!("{url}: {other:?}"),
            }
        }
        let allowed = FetchConfig { allow_private_addresses: true, ..FetchConfig::default() };
        let f = Fetcher::for_untrusted(&allowed, "t").unwrap();
        let loc = Location::Http("http://127.0.0.1:9/x".parse().unwrap());
        assert!(!matches!(f.fetch(&loc, &Validators::default()).await, Err(FetchError::Blocked(_))));
    }

    #[test]
    fn cache_control_max_age() {
        assert_eq!(max_age("public, max-age=600"), Some(600));
        assert_eq!(max_age("max-age=600, s-maxage=60"), Some(60));
        assert_eq!(max_age("no-cache"), None);
    }
}
