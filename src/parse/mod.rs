//! Decoded text to [`RawFeed`]: RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and JSON Feed
//! through feed-rs, with our own date parser, no invented ids, and a lenient
//! second pass for feeds that strict parsers reject but readers accept.

pub mod dates;
pub mod images;
pub mod lenient;

use chrono_tz::Tz;
use feed_rs::model::{Entry, Feed, FeedType, MediaObject};

use crate::model::{FeedFormat, RawFeed, RawItem};

/// Why a document could not be read as a feed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty document")]
    Empty,
    #[error("malformed XML at line {line}, column {column}: {message}")]
    MalformedXml { line: usize, column: usize, message: String },
    #[error("not a feed: {0}")]
    NotAFeed(String),
    #[error("malformed JSON Feed: {0}")]
    Json(String),
}

/// Parses decoded (UTF-8) feed text. `base` resolves relative links; `tz` is
/// the zone of dates written without one.
pub fn parse(text: &str, base: Option<&str>, tz: Tz) -> Result<RawFeed, ParseError> {
    let trimmed = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if trimmed.is_empty() {
        return Err(ParseError::Empty);
    }
    if trimmed.starts_with('{') {
        let mut feed = run_feed_rs(trimmed, base, tz).map_err(|e| ParseError::Json(e.to_string()))?;
        fill_images(&mut feed, || images::json_item_images(trimmed));
        return Ok(feed);
    }
    let upgraded = upgrade_atom03(trimmed);
    let text = upgraded.as_deref().unwrap_or(trimmed);
    let (mut feed, used) = match run_feed_rs(text, base, tz) {
        Ok(feed) => (feed, text.to_string()),
        Err(first_err) => {
            let repaired = lenient::repair(text);
            match run_feed_rs(&repaired.text, base, tz) {
                Ok(mut feed) if !repaired.fixes.is_empty() => {
                    feed.repairs = repaired.fixes;
                    (feed, repaired.text)
                }
                _ => return Err(explain(trimmed, &repaired.text, &first_err)),
            }
        }
    };
    if upgraded.is_some() {
        feed.repairs.push("read Atom 0.3 as Atom 1.0".into());
    }
    let may_have_more = ["thumbnail", "itunes:image", "enclosure"].iter().any(|k| used.contains(k));
    if may_have_more {
        fill_images(&mut feed, || images::xml_item_images(&used));
    }
    Ok(feed)
}

/// Gives items without an image the one a document scan finds, when the scan
/// sees the same items feed-rs did.
fn fill_images(feed: &mut RawFeed, scan: impl FnOnce() -> Vec<Option<String>>) {
    if feed.items.iter().all(|i| i.image.is_some()) {
        return;
    }
    let found = scan();
    if found.len() != feed.items.len() {
        return;
    }
    for (item, image) in feed.items.iter_mut().zip(found) {
        if item.image.is_none() {
            item.image = image;
        }
    }
}

/// Atom 0.3 spelled as Atom 1.0 (namespace, `issued`/`modified`, escaped
/// content), which feed-rs reads; `None` for any other document.
fn upgrade_atom03(text: &str) -> Option<String> {
    let head_end = (0..=text.len().min(2048)).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    if !text[..head_end].contains("http://purl.org/atom/ns#") {
        return None;
    }
    let mut out = text.replace("http://purl.org/atom/ns#", "http://www.w3.org/2005/Atom");
    for (old, new) in [
        ("<issued>", "<published>"),
        ("</issued>", "</published>"),
        ("<modified>", "<updated>"),
        ("</modified>", "</updated>"),
        (" mode=\"escaped\"", ""),
        (" type=\"text/html\"", " type=\"html\""),
        (" type=\"text/plain\"", " type=\"text\""),
    ] {
        out = out.replace(old, new);
    }
    Some(out)
}

fn run_feed_rs(text: &str, base: Option<&str>, tz: Tz) -> Result<RawFeed, feed_rs::parser::ParseFeedError> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(base)
        // An empty id marks "the publisher gave none": identity is ours to decide.
        .id_generator(|_, _, _| String::new())
        .timestamp_parser(move |s| dates::parse_date(s, tz))
        .build();
    parser.parse(text.as_bytes()).map(from_feed_rs)
}

/// Turns a parse failure into a specific message: where the XML breaks, or
/// what the document is instead of a feed.
fn explain(original: &str, repaired: &str, err: &feed_rs::parser::ParseFeedError) -> ParseError {
    // An HTML page (an error page, a login wall) is rarely well-formed XML:
    // say what it is before saying where it breaks.
    if looks_like_html(original) {
        return match html_title(original) {
            Some(t) => ParseError::NotAFeed(format!("an HTML page titled \"{t}\"")),
            None => ParseError::NotAFeed("an HTML page".into()),
        };
    }
    if let Some((line, column, message)) = first_xml_error(repaired) {
        return ParseError::MalformedXml { line, column, message };
    }
    let root = root_element(original);
    match root {
        Some(r) => ParseError::NotAFeed(format!("root element <{r}> is not rss, rdf:RDF or feed ({err})")),
        None => ParseError::NotAFeed(format!("no XML root element ({err})")),
    }
}

fn looks_like_html(text: &str) -> bool {
    let head: String = text.chars().take(512).collect::<String>().to_ascii_lowercase();
    head.contains("<!doctype html") || head.contains("<html")
}

fn html_title(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = lower[start..].find('>')? + start + 1;
    let end = lower[open_end..].find("</title")? + open_end;
    let t =
        html_escape::decode_html_entities(text[open_end..end].trim()).split_whitespace().collect::<Vec<_>>().join(" ");
    (!t.is_empty()).then(|| t.chars().take(120).collect())
}

/// The first well-formedness error and its line and column, if any.
fn first_xml_error(text: &str) -> Option<(usize, usize, String)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut depth = 0i64;
    loop {
        match reader.read_event() {
            Ok(Event::Start(_)) => depth += 1,
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Eof) => {
                if depth > 0 {
                    let (l, c) = line_col(text, text.len());
                    return Some((l, c, format!("unexpected end of input ({depth} element(s) left open)")));
                }
                return None;
            }
            Ok(_) => {}
            Err(e) => {
                let pos = reader.error_position() as usize;
                let (l, c) = line_col(text, pos);
                return Some((l, c, e.to_string()));
            }
        }
    }
}

fn line_col(text: &str, byte: usize) -> (usize, usize) {
    let upto = &text[..floor_char_boundary(text, byte)];
    let line = upto.matches('\n').count() + 1;
    let col = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn root_element(text: &str) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                return Some(e.name().as_ref().to_string());
            }
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

fn from_feed_rs(feed: Feed) -> RawFeed {
    let format = match feed.feed_type {
        FeedType::Atom => FeedFormat::Atom,
        FeedType::JSON => FeedFormat::Json,
        FeedType::RSS0 => FeedFormat::Rss0,
        FeedType::RSS1 => FeedFormat::Rss1,
        FeedType::RSS2 => FeedFormat::Rss2,
    };
    RawFeed {
        format,
        title: feed.title.map(|t| t.content),
        link: pick_link(&feed.links),
        items: feed.entries.into_iter().map(from_entry).collect(),
        repairs: Vec::new(),
    }
}

fn pick_link(links: &[feed_rs::model::Link]) -> Option<String> {
    links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| links.iter().find(|l| !matches!(l.rel.as_deref(), Some("self" | "enclosure"))))
        .map(|l| l.href.trim().to_string())
        .filter(|h| !h.is_empty())
}

fn from_entry(e: Entry) -> RawItem {
    let image = e.media.iter().find_map(media_image);
    let (title, title_is_html) = match e.title {
        Some(t) => {
            let html = t.content_type.subty() == "html" || t.content_type.subty() == "xhtml";
            (Some(t.content), html)
        }
        None => (None, false),
    };
    RawItem {
        guid: Some(e.id.trim().to_string()).filter(|s| !s.is_empty()),
        title,
        title_is_html,
        link: pick_link(&e.links),
        published: e.published.or(e.updated),
        updated: e.updated,
        authors: e
            .authors
            .into_iter()
            .filter_map(|p| p.name.or(p.email))
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect(),
        summary: e.summary.map(|t| t.content).filter(|s| !s.trim().is_empty()),
        content: e.content.and_then(|c| c.body).filter(|s| !s.trim().is_empty()),
        categories: e
            .categories
            .into_iter()
            .map(|c| c.label.unwrap_or(c.term).trim().to_string())
            .filter(|c| !c.is_empty())
            .collect(),
        image,
    }
}

fn media_image(m: &MediaObject) -> Option<String> {
    let from_content = m.content.iter().find_map(|c| {
        let url = c.url.as_ref()?;
        let is_image = match &c.content_type {
            Some(t) => t.ty() == "image",
            None => looks_like_image_url(url.as_str()),
        };
        is_image.then(|| url.to_string())
    });
    from_content.or_else(|| m.thumbnails.first().map(|t| t.image.uri.clone()))
}

fn looks_like_image_url(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or("").to_ascii_lowercase();
    [".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".svg"].iter().any(|e| path.ends_with(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SH: Tz = Tz::Asia__Shanghai;

    #[test]
    fn rss_without_guid_gets_no_invented_id() {
        let f = parse(
            "<rss version=\"2.0\"><channel><title>t</title><item><title>a</title><link>http://x/1</link></item><item><title>b</title></item></channel></rss>",
            None,
            SH,
        )
        .unwrap();
        assert_eq!(f.items.len(), 2);
        assert!(f.items.iter().all(|i| i.guid.is_none()));
    }

    #[test]
    fn lenient_pass_recovers_and_says_so() {
        let f = parse("<rss><channel><item><title>AT&T 与 R&D</title><pubDate>2025-04-02 08:30:00</pubDate></item></channel></rss>", None, SH).unwrap();
        assert_eq!(f.items[0].title.as_deref(), Some("AT&T 与 R&D"));
        assert_eq!(f.items[0].published.unwrap().to_rfc3339(), "2025-04-02T00:30:00+00:00");
        assert_eq!(f.repairs.len(), 2, "{:?}", f.repairs);
    }

    #[test]
    fn truncated_xml_names_the_line() {
        let err = parse("<rss version=\"2.0\">\n<channel>\n<item><title>x</title>\n<desc", None, SH).unwrap_err();
        match err {
            ParseError::MalformedXml { line, .. } => assert_eq!(line, 4),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn html_page_is_not_a_feed() {
        let err =
            parse("<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>x</body></html>", None, SH)
                .unwrap_err();
        assert_eq!(err.to_string(), "not a feed: an HTML page titled \"502 Bad Gateway\"");
    }

    #[test]
    fn image_from_enclosure() {
        let f = parse(
            "<rss version=\"2.0\"><channel><item><title>a</title><enclosure url=\"http://x/a.jpg\" type=\"image/jpeg\" length=\"1\"/></item></channel></rss>",
            None,
            SH,
        )
        .unwrap();
        assert_eq!(f.items[0].image.as_deref(), Some("http://x/a.jpg"));
    }
}
