//! Decoded text to [`RawFeed`]: RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 by our own
//! streaming reader ([`xml`]), JSON Feed 1.0/1.1 ([`json`]); our own date
//! parser; no invented ids; and a lenient second pass for feeds that strict
//! parsers reject but readers accept.

pub mod dates;
pub mod json;
pub mod lenient;
pub mod xml;

use chrono_tz::Tz;

use crate::model::RawFeed;

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
        return json::parse_json(trimmed, tz);
    }
    if let Some(err) = json::not_a_feed(trimmed) {
        return Err(err);
    }
    let first_err = match xml::parse_xml(trimmed, base, tz) {
        Ok(feed) => return Ok(feed),
        Err(e) => e,
    };
    if looks_like_html(trimmed) {
        return Err(explain_html(trimmed));
    }
    let repaired = lenient::repair(trimmed);
    if !repaired.fixes.is_empty()
        && let Ok(mut feed) = xml::parse_xml(&repaired.text, base, tz)
    {
        feed.repairs = repaired.fixes;
        return Ok(feed);
    }
    Err(first_err)
}

/// "Not a feed", naming the HTML page's title: an error page or a login wall.
fn explain_html(text: &str) -> ParseError {
    match html_title(text) {
        Some(t) => ParseError::NotAFeed(format!("an HTML page titled \"{t}\"")),
        None => ParseError::NotAFeed("an HTML page".into()),
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

pub(crate) fn line_col(text: &str, byte: usize) -> (usize, usize) {
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

pub(crate) fn looks_like_image_url(url: &str) -> bool {
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
        assert_eq!(f.repairs, ["escaped 2 bare '&'"]);
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
