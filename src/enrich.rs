//! Article pages as a second source of facts: for the stories a digest will
//! publish that lack an image or text, and for every new item of a
//! `full_text` source, fetch the article once (same politeness, timeout and
//! size cap as feeds; results cached in the database) and take its Open Graph
//! image, description, published time, canonical link and main text.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use url::Url;

use crate::config::Location;
use crate::decode;
use crate::fetch::{FetchOutcome, Fetcher, Validators};
use crate::model::Item;
use crate::normalize::{self, Sanitizer, html};
use crate::scrape::{self, PageMeta};

/// Fetches and reads an article page.
pub async fn fetch_page(fetcher: &Fetcher, url: &str, tz: Tz, main_text: bool) -> Result<PageMeta, String> {
    let parsed = Url::parse(url).map_err(|e| format!("bad URL {url}: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("not a web page: {url}"));
    }
    match fetcher.fetch(&Location::Http(parsed), &Validators::default()).await.map_err(|e| e.to_string())? {
        FetchOutcome::Modified(f) => {
            let tld = f
                .final_url
                .parse::<Url>()
                .ok()
                .and_then(|u| u.host_str().and_then(|h| h.rsplit('.').next()).map(str::to_string));
            let text = decode::decode(&f.body, f.content_type.as_deref(), tld.as_deref().map(str::as_bytes)).text;
            Ok(scrape::article_page(&text, &f.final_url, tz, main_text))
        }
        FetchOutcome::NotModified { .. } => Err("unexpected 304".into()),
    }
}

/// Puts what an article page says into an item: its main text when the item
/// had little, its image when it had none, its description when its summary
/// is short, its canonical link.
pub fn apply(item: &mut Item, meta: &PageMeta, page_url: &str, now: DateTime<Utc>) {
    let base = Url::parse(page_url).ok();
    let sanitizer = Sanitizer::new(base.as_ref());
    if let Some(main) = &meta.main_html
        && item.text.chars().count() < main.chars().count() / 2
    {
        let clean = sanitizer.clean(main);
        item.text = html::to_text(&clean);
        item.content_html = Some(clean);
    }
    if item.image.is_none() {
        item.image = meta.image.clone();
    }
    if let Some(d) = &meta.description
        && short(&item.text)
    {
        let clean = sanitizer.clean(&format!("<p>{}</p>", html_escape::encode_text(d)));
        item.text = html::to_text(&clean);
        item.summary_html = clean;
    }
    if item.published.is_none() {
        item.published = meta.published.filter(|d| *d <= now);
    }
    if let Some(c) = meta.canonical.as_deref().and_then(|c| normalize::url::canonical_url(c, base.as_ref())) {
        item.url = Some(c);
    }
    item.content_hash = normalize::content_hash(&item.title, &item.text);
}

/// Whether an item's text is too thin to summarize.
pub fn short(text: &str) -> bool {
    text.chars().count() < 60
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> Item {
        Item {
            key: "url:https://a.cn/1".into(),
            guid: None,
            url: Some("https://a.cn/1?from=rss".into()),
            title: "标题".into(),
            summary_html: String::new(),
            content_html: None,
            text: "短".into(),
            image: None,
            authors: vec![],
            categories: vec![],
            published: None,
            updated: None,
            content_hash: String::new(),
        }
    }

    #[test]
    fn page_facts_fill_what_the_item_lacks() {
        let mut i = item();
        let meta = PageMeta {
            image: Some("https://a.cn/og.jpg".into()),
            description: Some("页面描述比较长的一句话，用来替代过短的摘要，让摘要有足够的内容可以阅读和理解。".into()),
            published: Some(Utc::now() - chrono::Duration::hours(1)),
            canonical: Some("https://a.cn/article/1".into()),
            main_html: None,
        };
        apply(&mut i, &meta, "https://a.cn/1", Utc::now());
        assert_eq!(i.image.as_deref(), Some("https://a.cn/og.jpg"));
        assert!(i.text.starts_with("页面描述"));
        assert_eq!(i.url.as_deref(), Some("https://a.cn/article/1"));
        assert!(i.published.is_some());
        // An image the item already had stays.
        let mut j = item();
        j.image = Some("https://a.cn/own.jpg".into());
        apply(&mut j, &meta, "https://a.cn/1", Utc::now());
        assert_eq!(j.image.as_deref(), Some("https://a.cn/own.jpg"));
    }

    #[test]
    fn main_text_replaces_a_title_only_item() {
        let mut i = item();
        let meta = PageMeta {
            main_html: Some("<p>第一段完整的正文内容。</p><p>第二段完整的正文内容。</p><script>x()</script>".into()),
            ..Default::default()
        };
        apply(&mut i, &meta, "https://a.cn/1", Utc::now());
        assert_eq!(i.text, "第一段完整的正文内容。\n第二段完整的正文内容。");
        assert!(!i.content_html.unwrap().contains("script"));
    }
}
