//! Canonical article URLs: one spelling per article, so the same link from
//! two fetches or two feeds is recognised as the same.

use url::Url;

/// Query parameters that only track the reader, never select the content.
const TRACKING_EXACT: &[&str] = &[
    "spm",
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
    "_ga",
    "__twitter_impression",
    "cmpid",
];
const TRACKING_PREFIX: &[&str] = &["utm_", "pk_", "mtm_", "hmsr", "hmpl", "hmcu", "hmkw", "hmci"];

/// Parameters that may select content (`?ref=v2`, a CMS's `?from=…`) and
/// are dropped only when their value names the feed's own host or a known
/// tracker.
const REFERRER_LIKE: &[&str] = &["from", "source", "ref", "scene", "src"];
/// Values of [`REFERRER_LIKE`] parameters that name where the reader came from.
const TRACKER_VALUES: &[&str] = &[
    "list",
    "index",
    "search",
    "related",
    "recommend",
    "push",
    "banner",
    "nav",
    "rss",
    "feed",
    "feeds",
    "feedburner",
    "feedly",
    "atom",
    "timeline",
    "groupmessage",
    "singlemessage",
    "share",
    "copy_link",
    "weixin",
    "wechat",
    "weibo",
    "twitter",
    "facebook",
    "linkedin",
    "toutiao",
    "newsapp",
    "app",
    "qq",
    "email",
    "newsletter",
    "homepage",
    "home",
    "hn",
    "reddit",
    "rss_feed",
    "rssfeed",
];

fn is_tracking(name: &str, value: &str, hosts: &[&str]) -> bool {
    let n = name.to_ascii_lowercase();
    if TRACKING_EXACT.contains(&n.as_str()) || TRACKING_PREFIX.iter().any(|p| n.starts_with(p)) {
        return true;
    }
    if REFERRER_LIKE.contains(&n.as_str()) {
        let v = value.to_ascii_lowercase();
        let v = v.trim_start_matches("www.");
        return TRACKER_VALUES.contains(&v)
            || (!v.is_empty()
                && hosts.iter().any(|h| v == *h || v.starts_with(&format!("{h}/")) || v.ends_with(&format!(".{h}"))));
    }
    false
}

/// The `#fragment` of a web link, when it has a non-empty one.
pub fn fragment(raw: &str, base: Option<&Url>) -> Option<String> {
    let url = Url::options().base_url(base).parse(raw.trim()).ok()?;
    url.fragment().filter(|f| !f.is_empty()).map(str::to_string)
}

/// Resolves `raw` against `base` and canonicalizes it: http(s) only, lower-case
/// scheme and host, default port and fragment dropped, tracking parameters
/// removed (`ref`-like ones only when their value names the feed's or the
/// link's host or a known tracker), the rest of the query kept byte for byte
/// and in order (`?r123` stays `?r123`). `None` for anything that is not a
/// web link (`javascript:`, `data:`, garbage).
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
    if let Some(query) = url.query().map(str::to_string) {
        let own =
            |u: Option<&Url>| u.and_then(Url::host_str).map(|h| h.trim_start_matches("www.").to_ascii_lowercase());
        let (link_host, feed_host) = (own(Some(&url)), own(base));
        let hosts: Vec<&str> = [link_host.as_deref(), feed_host.as_deref()].into_iter().flatten().collect();
        let kept: Vec<&str> = query
            .split('&')
            .filter(|part| {
                let (k, v) = part.split_once('=').unwrap_or((part, ""));
                let decode = |s: &str| url::form_urlencoded::parse(s.as_bytes()).next().map(|(k, _)| k.into_owned());
                let (k, v) = (decode(k).unwrap_or_default(), decode(v).unwrap_or_default());
                !part.is_empty() && !is_tracking(&k, &v, &hosts)
            })
            .collect();
        url.set_query((!kept.is_empty()).then(|| kept.join("&")).as_deref());
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
    fn tracking_removed_order_kept_fragment_dropped() {
        assert_eq!(
            canonical_url("HTTPS://WWW.Example.COM:443/a/b?utm_source=rss&z=1&spm=a.b&a=2&from=timeline#top", None)
                .as_deref(),
            Some("https://www.example.com/a/b?z=1&a=2")
        );
        assert_eq!(canonical_url("http://x.cn/p?utm_medium=feed", None).as_deref(), Some("http://x.cn/p"));
    }

    #[test]
    fn links_keep_what_selects_content() {
        let feed = Url::parse("https://news.example.org/feed/").unwrap();
        let c = |s: &str| canonical_url(s, Some(&feed));
        // A key without `=` keeps its form; other keys round-trip byte for byte.
        assert_eq!(c("http://x.org/here.pl?r123").as_deref(), Some("http://x.org/here.pl?r123"));
        assert_eq!(c("http://x.org/p?b=%E4%B8%AD&a=1+2").as_deref(), Some("http://x.org/p?b=%E4%B8%AD&a=1+2"));
        // A CMS's `from` or a `ref` that selects content is no tracker…
        assert_ne!(c("http://cms.cn/view?id=1&from=a"), c("http://cms.cn/view?id=1&from=b"));
        assert_eq!(c("http://x.org/doc?ref=v2").as_deref(), Some("http://x.org/doc?ref=v2"));
        // …but one naming the feed's host, the link's own, or a known tracker is.
        assert_eq!(c("http://x.org/a?id=1&ref=news.example.org").as_deref(), Some("http://x.org/a?id=1"));
        assert_eq!(c("http://x.org/a?id=1&source=x.org").as_deref(), Some("http://x.org/a?id=1"));
        assert_eq!(c("http://x.org/a?from=timeline&id=1&scene=rss").as_deref(), Some("http://x.org/a?id=1"));
        assert_eq!(c("http://x.org/a?ref=box.org").as_deref(), Some("http://x.org/a?ref=box.org"));
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
