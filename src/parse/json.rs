//! JSON Feed 1.0 and 1.1.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use super::ParseError;
use super::dates::parse_date;
use crate::model::{FeedFormat, RawFeed, RawItem};
use crate::timespan;

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// A date as RFC 3339 text, as the spec asks, or as the Unix time some
/// generators write instead (checked: any JSON number may stand there).
fn date(v: &Value, key: &str, tz: Tz) -> Option<DateTime<Utc>> {
    match v.get(key)? {
        Value::String(s) => parse_date(s, tz),
        Value::Number(n) => timespan::from_json_number(n),
        _ => None,
    }
}

/// A JSON body that is no object (`null`, `[]`, a number): what it is, as
/// an error; `None` for anything else.
pub fn not_a_feed(doc: &str) -> Option<ParseError> {
    if !doc.starts_with(['[', 'n', 't', 'f', '"', '-']) && !doc.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let v: Value = serde_json::from_str(doc).ok()?;
    Some(ParseError::NotAFeed(match v {
        Value::Null => "an empty JSON document (`null`)".into(),
        Value::Array(a) if a.is_empty() => "an empty JSON document (`[]`)".into(),
        Value::Array(_) => "a JSON array, not a JSON Feed".into(),
        _ => "a JSON value, not a JSON Feed".into(),
    }))
}

/// Parses a JSON Feed document: versions 1 and 1.1, over http or https;
/// a document with no version but an `items` array is read too, and says so.
pub fn parse_json(doc: &str, tz: Tz) -> Result<RawFeed, ParseError> {
    let v: Value = serde_json::from_str(doc).map_err(|e| ParseError::Json(e.to_string()))?;
    let version = text(&v, "version").unwrap_or_default();
    let known = ["https://jsonfeed.org/version/", "http://jsonfeed.org/version/"]
        .iter()
        .any(|p| version.trim_end_matches('/').starts_with(p.trim_end_matches('/')) && version.len() > p.len());
    let has_items = v.get("items").is_some_and(Value::is_array);
    let mut repairs = Vec::new();
    if !known {
        if version.is_empty() && has_items {
            repairs.push("JSON document without a JSON Feed version, read as JSON Feed".to_string());
        } else {
            return Err(ParseError::NotAFeed(format!("a JSON document without a JSON Feed version (`{version}`)")));
        }
    }
    let items = v.get("items").and_then(Value::as_array).ok_or_else(|| ParseError::Json("no `items` array".into()))?;
    let top = v.get("authors").and_then(Value::as_array).into_iter().flatten().chain(v.get("author"));
    let feed_authors: Vec<String> = top.filter_map(|a| text(a, "name")).collect();
    let items = items
        .iter()
        .map(|i| {
            let mut authors: Vec<String> = i
                .get("authors")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|p| text(p, "name")).collect())
                .unwrap_or_default();
            if let Some(a) = i.get("author").and_then(|a| text(a, "name")) {
                authors.push(a);
            }
            let content_html = text(i, "content_html");
            let content_text = text(i, "content_text").map(|t| {
                // Plain text becomes HTML paragraphs, escaped.
                t.split("\n\n").map(|p| format!("<p>{}</p>", html_escape::encode_text(p.trim()))).collect::<String>()
            });
            RawItem {
                guid: i.get("id").and_then(|id| match id {
                    Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                }),
                title: text(i, "title"),
                title_is_html: false,
                link: text(i, "url").or_else(|| text(i, "external_url")),
                published: date(i, "date_published", tz),
                updated: date(i, "date_modified", tz),
                authors,
                summary: text(i, "summary").map(|s| html_escape::encode_text(&s).into_owned()),
                content: content_html.or(content_text),
                categories: i
                    .get("tags")
                    .and_then(Value::as_array)
                    .map(|t| {
                        t.iter()
                            .filter_map(|x| x.as_str().map(|s| s.trim().to_string()))
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                image: text(i, "image").or_else(|| text(i, "banner_image")),
                unparsed_date: ["date_published", "date_modified"].iter().find_map(|k| {
                    let raw = i.get(*k)?;
                    date(i, k, tz).is_none().then(|| raw.to_string().trim_matches('"').chars().take(80).collect())
                }),
                enclosure: i
                    .get("attachments")
                    .and_then(Value::as_array)
                    .and_then(|a| a.iter().find_map(|x| text(x, "url"))),
            }
        })
        .map(|mut item| {
            if item.published.is_none() {
                item.published = item.updated;
            }
            item
        })
        .collect();
    Ok(RawFeed {
        format: FeedFormat::Json,
        title: text(&v, "title"),
        link: text(&v, "home_page_url"),
        items,
        repairs,
        ttl_minutes: None,
        authors: feed_authors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn published(date: &str) -> Option<DateTime<Utc>> {
        let doc = format!(
            r#"{{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[{{"id":"1","title":"x","date_published":{date}}}]}}"#
        );
        parse_json(&doc, Tz::Asia__Shanghai).unwrap().items[0].published
    }

    #[test]
    fn dates_as_text_or_unix_numbers_of_any_size() {
        let want = Some(Utc.with_ymd_and_hms(2025, 4, 2, 0, 30, 0).unwrap());
        assert_eq!(published(r#""2025-04-02T08:30:00+08:00""#), want);
        assert_eq!(published("1743553800"), want);
        assert_eq!(published("1743553800000"), want);
        for extreme in ["1e300", "-1e300", "18446744073709551615", "-9223372036854775808", "1e30", "null", "[]"] {
            assert_eq!(published(extreme), None, "{extreme}");
        }
    }
}
