//! Web pages instead of feeds, with the scraper crate: list pages read with a
//! source's CSS selectors into a [`RawFeed`] (so nothing downstream knows the
//! difference), article pages read for their Open Graph facts, and a
//! readability-style extraction of an article's main text.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use scraper::{ElementRef, Html, Selector};
use url::Url;

use crate::config::HtmlSelectors;
use crate::model::{FeedFormat, RawFeed, RawItem};
use crate::parse::dates::parse_page_date;

/// Why a list page gave no items.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScrapeError {
    #[error("item selector '{selector}' matched 0 elements on {url}")]
    NoItems { selector: String, url: String },
    #[error("selector '{selector}' is not valid CSS: {message}")]
    BadSelector { selector: String, message: String },
}

fn selector(s: &str) -> Result<Selector, ScrapeError> {
    Selector::parse(s).map_err(|e| ScrapeError::BadSelector { selector: s.to_string(), message: e.to_string() })
}

fn text_of(e: ElementRef<'_>) -> String {
    e.text().collect::<Vec<_>>().join(" ").split_whitespace().collect::<Vec<_>>().join(" ")
}

fn resolve(base: &Url, href: &str) -> Option<String> {
    base.join(href.trim()).ok().map(String::from)
}

/// Reads a list page into items with the source's selectors. `now` anchors
/// relative dates ("3小时前").
pub fn list_page(
    html: &str,
    page_url: &str,
    sel: &HtmlSelectors,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<RawFeed, ScrapeError> {
    let base = Url::parse(page_url).unwrap_or_else(|_| Url::parse("http://localhost/").expect("a fixed valid URL"));
    let doc = Html::parse_document(html);
    let item_sel = selector(&sel.item)?;
    let title_sel = selector(&sel.title)?;
    let link_sel = selector(&sel.link)?;
    let date_sel = sel.date.as_deref().map(selector).transpose()?;
    let summary_sel = sel.summary.as_deref().map(selector).transpose()?;
    let image_sel = sel.image.as_deref().map(selector).transpose()?;
    let a_sel = selector("a[href]")?;

    let elements: Vec<ElementRef<'_>> = doc.select(&item_sel).collect();
    if elements.is_empty() {
        return Err(ScrapeError::NoItems { selector: sel.item.clone(), url: page_url.to_string() });
    }
    let page_title = selector("title").ok().and_then(|t| doc.select(&t).next()).map(text_of);
    let items = elements
        .into_iter()
        .filter_map(|el| {
            let title = el.select(&title_sel).next().map(text_of).filter(|t| !t.is_empty());
            let link = el
                .select(&link_sel)
                .next()
                .and_then(|l| {
                    l.attr("href")
                        .map(str::to_string)
                        .or_else(|| l.select(&a_sel).next().and_then(|a| a.attr("href")).map(str::to_string))
                })
                .or_else(|| el.attr("href").map(str::to_string))
                .and_then(|h| resolve(&base, &h));
            if title.is_none() && link.is_none() {
                return None;
            }
            let published = date_sel.as_ref().and_then(|ds| el.select(ds).next()).and_then(|d| {
                let raw = d.attr("datetime").map(str::to_string).unwrap_or_else(|| text_of(d));
                sel.date_format
                    .as_deref()
                    .and_then(|f| parse_with_format(&raw, f, tz))
                    .or_else(|| parse_page_date(&raw, tz, now))
            });
            let summary = summary_sel
                .as_ref()
                .and_then(|ss| el.select(ss).next())
                .map(text_of)
                .filter(|s| !s.is_empty())
                .map(|s| format!("<p>{}</p>", html_escape::encode_text(&s)));
            let image = image_sel
                .as_ref()
                .and_then(|is| el.select(is).next())
                .and_then(|i| i.attr("src").or_else(|| i.attr("data-src")).or_else(|| i.attr("data-original")))
                .and_then(|src| resolve(&base, src));
            Some(RawItem {
                guid: None,
                title,
                title_is_html: false,
                link,
                published,
                updated: None,
                authors: vec![],
                summary,
                content: None,
                categories: vec![],
                image,
                enclosure: None,
                unparsed_date: None,
            })
        })
        .collect();
    Ok(RawFeed {
        format: FeedFormat::Html,
        title: page_title,
        link: Some(base.to_string()),
        items,
        repairs: vec![],
        ttl_minutes: None,
        authors: vec![],
    })
}

/// A date read with an explicit chrono format (date and time, or date only).
fn parse_with_format(raw: &str, format: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    let naive = NaiveDateTime::parse_from_str(raw, format)
        .ok()
        .or_else(|| NaiveDate::parse_from_str(raw, format).ok().map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default()))?;
    tz.from_local_datetime(&naive).earliest().map(|d| d.with_timezone(&Utc))
}

/// What an article page says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageMeta {
    pub image: Option<String>,
    pub description: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub canonical: Option<String>,
    /// The main text, as sanitized-ready HTML paragraphs, when extracted.
    pub main_html: Option<String>,
}

fn meta_content(doc: &Html, attr: &str, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        let sel = Selector::parse(&format!("meta[{attr}=\"{n}\"]")).ok()?;
        doc.select(&sel)
            .next()
            .and_then(|m| m.attr("content"))
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
    })
}

/// Reads an article page: `og:image`, `og:description`/`description`,
/// `article:published_time`, `<link rel=canonical>`, and optionally the main text.
pub fn article_page(html: &str, page_url: &str, tz: Tz, main_text: bool) -> PageMeta {
    let base = Url::parse(page_url).ok();
    let doc = Html::parse_document(html);
    let abs = |s: String| match &base {
        Some(b) => resolve(b, &s),
        None => Some(s),
    };
    let image = meta_content(&doc, "property", &["og:image", "og:image:url", "og:image:secure_url"])
        .or_else(|| meta_content(&doc, "name", &["twitter:image", "twitter:image:src"]))
        .and_then(abs);
    let description = meta_content(&doc, "property", &["og:description"])
        .or_else(|| meta_content(&doc, "name", &["description", "twitter:description"]));
    let published = meta_content(&doc, "property", &["article:published_time", "og:article:published_time"])
        .or_else(|| meta_content(&doc, "name", &["pubdate", "publishdate", "PubDate"]))
        .and_then(|d| crate::parse::dates::parse_date(&d, tz));
    let canonical = Selector::parse("link[rel=\"canonical\"]")
        .ok()
        .and_then(|s| doc.select(&s).next().and_then(|l| l.attr("href")).map(str::to_string))
        .or_else(|| meta_content(&doc, "property", &["og:url"]))
        .and_then(abs);
    let main_html = main_text.then(|| main_text_html(&doc)).flatten();
    PageMeta { image, description, published, canonical, main_html }
}

const POSITIVE: &[&str] = &["article", "content", "post", "entry", "main", "body", "text", "detail", "story", "正文"];
const NEGATIVE: &[&str] = &[
    "comment",
    "sidebar",
    "side",
    "footer",
    "nav",
    "menu",
    "header",
    "ad",
    "banner",
    "share",
    "related",
    "hot",
    "recommend",
    "copyright",
    "breadcrumb",
    "widget",
    "social",
    "promo",
];

/// Readability-style: the element whose paragraphs hold the most text, with
/// link-heavy and boilerplate-named blocks marked down; its paragraphs as HTML.
fn main_text_html(doc: &Html) -> Option<String> {
    let p_sel = Selector::parse("p").ok()?;
    let a_sel = Selector::parse("a").ok()?;
    let cand_sel = Selector::parse("article, main, section, div, td").ok()?;
    let mut best: Option<(f64, ElementRef<'_>)> = None;
    for el in doc.select(&cand_sel) {
        let names = format!("{} {}", el.attr("class").unwrap_or(""), el.attr("id").unwrap_or("")).to_ascii_lowercase();
        // Paragraphs directly in this element (not in nested candidates) count fully.
        let mut text_len = 0usize;
        let mut paragraphs = 0usize;
        for p in el.select(&p_sel) {
            let t = text_of(p);
            let n = t.chars().count();
            if n >= 20 {
                text_len += n;
                paragraphs += 1;
            }
        }
        if paragraphs == 0 {
            continue;
        }
        let all_text = text_of(el).chars().count().max(1);
        let link_text: usize = el.select(&a_sel).map(|a| text_of(a).chars().count()).sum();
        let link_density = link_text as f64 / all_text as f64;
        let mut score = text_len as f64 * (1.0 - link_density);
        if el.value().name() == "article" || names.split(|c: char| !c.is_alphanumeric()).any(|w| POSITIVE.contains(&w))
        {
            score *= 1.25;
        }
        if names.split(|c: char| !c.is_alphanumeric()).any(|w| NEGATIVE.contains(&w)) {
            score *= 0.2;
        }
        // Prefer the tightest container: a parent holding only this block adds noise.
        score -= (all_text.saturating_sub(text_len)) as f64 * 0.3;
        if best.as_ref().is_none_or(|(b, _)| score > *b) {
            best = Some((score, el));
        }
    }
    let (_, el) = best?;
    let paras: Vec<String> = el
        .select(&p_sel)
        .map(text_of)
        .filter(|t| t.chars().count() >= 2)
        .map(|t| format!("<p>{}</p>", html_escape::encode_text(&t)))
        .collect();
    (!paras.is_empty()).then(|| paras.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel() -> HtmlSelectors {
        HtmlSelectors {
            item: "ul.news li".into(),
            title: "a.title".into(),
            link: "a.title".into(),
            date: Some("span.date".into()),
            date_format: None,
            summary: Some("p.summary".into()),
            image: Some("img".into()),
        }
    }

    const PAGE: &str = r#"<html><head><title>新闻</title></head><body>
        <ul class="links"><li><a class="title" href="/x">not news</a></li></ul>
        <ul class="news">
          <li><a class="title" href="a/1.html"> 第一条 新闻 </a><span class="date">2025年4月2日 08:30</span><p class="summary">摘要</p><img src="/i/1.png"></li>
          <li><a class="title" href="https://other.cn/2">第二条</a><span class="date">3小时前</span></li>
        </ul></body></html>"#;

    #[test]
    fn list_items_with_resolved_links_and_dates() {
        let now = Utc.with_ymd_and_hms(2025, 4, 2, 4, 0, 0).unwrap();
        let f = list_page(PAGE, "http://gov.cn/news/list.html", &sel(), Tz::Asia__Shanghai, now).unwrap();
        assert_eq!(f.items.len(), 2);
        let a = &f.items[0];
        assert_eq!(a.title.as_deref(), Some("第一条 新闻"));
        assert_eq!(a.link.as_deref(), Some("http://gov.cn/news/a/1.html"));
        assert_eq!(a.published.unwrap().to_rfc3339(), "2025-04-02T00:30:00+00:00");
        assert_eq!(a.summary.as_deref(), Some("<p>摘要</p>"));
        assert_eq!(a.image.as_deref(), Some("http://gov.cn/i/1.png"));
        assert_eq!(f.items[1].published, Some(now - chrono::Duration::hours(3)));
    }

    #[test]
    fn a_selector_that_matches_nothing_is_an_error() {
        let mut s = sel();
        s.item = ".news-list li".into();
        let err = list_page(PAGE, "http://gov.cn/l.html", &s, Tz::UTC, Utc::now()).unwrap_err();
        assert_eq!(err.to_string(), "item selector '.news-list li' matched 0 elements on http://gov.cn/l.html");
    }

    #[test]
    fn explicit_date_format() {
        let mut s = sel();
        s.date_format = Some("%Y/%m/%d".into());
        let page =
            r#"<ul class="news"><li><a class="title" href="x">t</a><span class="date">2025/04/02</span></li></ul>"#;
        let f = list_page(page, "http://a.cn/", &s, Tz::UTC, Utc::now()).unwrap();
        assert_eq!(f.items[0].published.unwrap().to_rfc3339(), "2025-04-02T00:00:00+00:00");
    }

    #[test]
    fn article_meta_and_main_text() {
        let page = r#"<html><head>
            <meta property="og:image" content="/img/cover.jpg"><meta name="description" content="页面描述">
            <meta property="article:published_time" content="2025-04-01T10:30:00+08:00">
            <link rel="canonical" href="https://www.gov.cn/art/1.html"></head><body>
            <div class="nav"><a href="/">首页</a><a href="/a">新闻</a></div>
            <div class="article-content"><p>第一段正文，讲述了人工智能芯片公司发布新一代产品的详细情况。</p><p>第二段正文，介绍了产品的性能指标和量产计划安排。</p></div>
            <div class="sidebar"><p><a href="/h">热门文章一则很长很长的标题用于测试链接密度</a></p></div></body></html>"#;
        let m = article_page(page, "https://www.gov.cn/art/1.html?from=rss", Tz::Asia__Shanghai, true);
        assert_eq!(m.image.as_deref(), Some("https://www.gov.cn/img/cover.jpg"));
        assert_eq!(m.description.as_deref(), Some("页面描述"));
        assert_eq!(m.published.unwrap().to_rfc3339(), "2025-04-01T02:30:00+00:00");
        assert_eq!(m.canonical.as_deref(), Some("https://www.gov.cn/art/1.html"));
        let main = m.main_html.unwrap();
        assert!(main.contains("第一段正文") && main.contains("第二段正文"), "{main}");
        assert!(!main.contains("热门文章"), "{main}");
    }
}
