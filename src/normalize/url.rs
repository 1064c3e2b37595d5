//! Canonical article URLs: one spelling per article, so the same link from
//! two fetches or two feeds is recognised as the same.

use url::Url;

/// Query parameters that only track the reader, never select the content.
const TRACKING_EXACT: &[&str] = &[
    "spm",
    "from",
    "source",
    "scm",
    "fbclid",
    "gclid",
    "yclid",
    "msclkid",
    "dclid",
    "mc_cid",
    "mc_eid",
    "_hsenc",
    "_hsmi",
    "igshid",
    "ref",
    "ref_src",
    "ref_url",
    "share_token",
    "sharesource",
    "share_medium",
    "isappinstalled",
    "wfr",
    "wxfrom",
    "chksm",
    "mpshare",
    "scene",
    "_ga",
    "__twitter_impression",
    "cmpid",
];
const TRACKING_PREFIX: &[&str] = &["utm_", "pk_", "mtm_", "hmsr", "hmpl", "hmcu", "hmkw", "hmci"];

fn is_tracking(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    TRACKING_EXACT.contains(&n.as_str()) || TRACKING_PREFIX.iter().any(|p| n.starts_with(p))
}

/// The `#fragment` of a web link, when it has a non-empty one.
pub fn fragment(raw: &str, base: Option<&Url>) -> Option<String> {
    let url = Url::options().base_url(base).parse(raw.trim()).ok()?;
    url.fragment().filter(|f| !f.is_empty()).map(str::to_string)
}

/// Resolves `raw` against `base` and canonicalizes it: http(s) only, lower-case
/// scheme and host, default port and fragment dropped, tracking parameters
/// removed, remaining query sorted. `None` for anything that is not a web link
/// (`javascript:`, `data:`, garbage).
pub fn canonical_url(raw: &str, base: Option<&Url>) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 4096 || garbled_scheme(raw) {
        return None;
    }
    let mut url = Url::options().base_url(base).parse(raw).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    url.set_fragment(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    if url.query().is_some() {
        let mut pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !k.is_empty() && !is_tracking(k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        pairs.sort();
        if pairs.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
    }
    Some(url.into())
}

/// "ht!tp://x": meant as an absolute URL, but no scheme is spelled that way.
/// (As a relative path it would resolve to nonsense on the feed's host.)
pub fn garbled_scheme(raw: &str) -> bool {
    match raw.find("://") {
        Some(at) => {
            let scheme = &raw[..at];
            scheme.is_empty()
                || !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

/// An absolute http(s) URL for an image or link inside content (no tracking
/// clean-up: image URLs are often signed).
pub fn absolute_url(raw: &str, base: Option<&Url>) -> Option<String> {
    let url = Url::options().base_url(base).parse(raw.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_removed_query_sorted_fragment_dropped() {
        assert_eq!(
            canonical_url("HTTPS://WWW.Example.COM:443/a/b?utm_source=rss&z=1&spm=a.b&a=2&from=timeline#top", None)
                .as_deref(),
            Some("https://www.example.com/a/b?a=2&z=1")
        );
        assert_eq!(canonical_url("http://x.cn/p?utm_medium=feed", None).as_deref(), Some("http://x.cn/p"));
    }

    #[test]
    fn relative_links_resolve_against_the_base() {
        let base = Url::parse("https://www.qbitai.com/feed/").unwrap();
        assert_eq!(
            canonical_url("../2025/04/1.html", Some(&base)).as_deref(),
            Some("https://www.qbitai.com/2025/04/1.html")
        );
        assert_eq!(canonical_url("//cdn.x.com/a", Some(&base)).as_deref(), Some("https://cdn.x.com/a"));
    }

    #[test]
    fn non_web_links_rejected() {
        for s in
            ["javascript:alert(1)", "data:text/html,hi", "mailto:a@b", "", "   ", "http://", "::::", "ht!tp::://??"]
        {
            assert_eq!(canonical_url(s, None), None, "{s}");
        }
    }
}
