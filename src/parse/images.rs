//! Item images feed-rs leaves out: a lone `media:thumbnail`, `itunes:image`,
//! an Atom `link rel="enclosure"`, a JSON Feed `image`. Found by a light scan
//! of the document, one list entry per item in document order.

use quick_xml::events::{BytesStart, Event};

/// Image candidates of each `<item>`/`<entry>`, in document order; `None` for
/// an item without one.
pub fn xml_item_images(text: &str) -> Vec<Option<String>> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out = Vec::new();
    // (depth of the open item, best candidate so far with its rank)
    let mut current: Option<(usize, Option<(u8, String)>)> = None;
    let mut depth = 0usize;
    loop {
        let (event, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(e)) => {
                let is_item = matches!(e.local_name().as_ref(), "item" | "entry");
                if is_item && current.as_ref().is_some_and(|(d, _)| *d == depth) {
                    let (_, best) = current.take().unwrap_or((0, None));
                    out.push(best.map(|(_, u)| u));
                }
                depth = depth.saturating_sub(1);
                continue;
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => continue,
        };
        if !empty {
            depth += 1;
        }
        let local = event.local_name();
        if matches!(local.as_ref(), "item" | "entry") && current.is_none() && !empty {
            current = Some((depth, None));
            continue;
        }
        if let Some((_, best)) = current.as_mut()
            && let Some((rank, url)) = candidate(&event)
            && best.as_ref().is_none_or(|(r, _)| rank < *r)
        {
            *best = Some((rank, url));
        }
    }
    out
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|v| v.trim().to_string()))
        .filter(|v| !v.is_empty())
}

/// A ranked image candidate (lower is better) from one element.
fn candidate(e: &BytesStart<'_>) -> Option<(u8, String)> {
    let name = e.name();
    let full: &str = name.as_ref();
    let (prefix, local) = full.split_once(':').unwrap_or(("", full));
    let is_image_type = |e: &BytesStart<'_>| attr(e, "type").is_some_and(|t| t.starts_with("image/"));
    match (prefix, local) {
        ("", "enclosure") if is_image_type(e) => Some((0, attr(e, "url")?)),
        ("media", "content") if is_image_type(e) || attr(e, "medium").as_deref() == Some("image") => {
            Some((1, attr(e, "url")?))
        }
        ("media", "thumbnail") => Some((2, attr(e, "url")?)),
        ("itunes", "image") => Some((3, attr(e, "href")?)),
        (_, "link") if attr(e, "rel").as_deref() == Some("enclosure") && is_image_type(e) => {
            Some((4, attr(e, "href")?))
        }
        _ => None,
    }
}

/// `image` (else `banner_image`) of each JSON Feed item.
pub fn json_item_images(text: &str) -> Vec<Option<String>> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else { return Vec::new() };
    let Some(items) = v.get("items").and_then(|i| i.as_array()) else { return Vec::new() };
    items
        .iter()
        .map(|i| {
            ["image", "banner_image"]
                .iter()
                .find_map(|k| i.get(*k).and_then(|v| v.as_str()).map(str::trim).filter(|s| !s.is_empty()))
                .map(str::to_string)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_and_itunes_images_per_item() {
        let xml = r#"<rss xmlns:media="m" xmlns:itunes="i"><channel><itunes:image href="chan.jpg"/>
            <item><media:thumbnail url="a.jpg"/></item>
            <item><enclosure url="ep.mp3" type="audio/mpeg"/><itunes:image href="ep.jpg"/></item>
            <item><title>none</title></item>
            <item><media:thumbnail url="t.jpg"/><enclosure url="e.png" type="image/png"/></item>
            </channel></rss>"#;
        assert_eq!(xml_item_images(xml), [Some("a.jpg".into()), Some("ep.jpg".into()), None, Some("e.png".into())]);
    }

    #[test]
    fn json_images() {
        let j = r#"{"items":[{"image":"a.png"},{"banner_image":"b.png"},{}]}"#;
        assert_eq!(json_item_images(j), [Some("a.png".into()), Some("b.png".into()), None]);
    }
}
