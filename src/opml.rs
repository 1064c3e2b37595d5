//! OPML, the format readers use to move subscriptions around: import (nested
//! outlines become source groups) and export (groups become nested
//! outlines), in the shapes Miniflux, FreshRSS, Inoreader and newsboat write.

use quick_xml::events::{BytesStart, Event};

/// A subscription read from or written to OPML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub name: String,
    pub url: String,
    /// The outline folder it sat in (Miniflux/FreshRSS categories, Inoreader folders).
    pub group: Option<String>,
    pub site: Option<String>,
}

/// Why an OPML file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OpmlError {
    #[error("not OPML: {0}")]
    NotOpml(String),
    #[error("malformed OPML at byte {at}: {message}")]
    Malformed { at: u64, message: String },
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| {
            let k: &str = a.key.as_ref();
            k.eq_ignore_ascii_case(name)
        })
        .map(|a| html_escape::decode_html_entities(&*a.value).trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Reads every outline with an `xmlUrl`, in document order.
pub fn parse(text: &str) -> Result<Vec<Subscription>, OpmlError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out = Vec::new();
    // Folder names of the open outlines that are not feeds.
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut saw_opml = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| OpmlError::Malformed { at: reader.error_position(), message: e.to_string() })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = e.local_name();
                let name: &str = name.as_ref();
                if name.eq_ignore_ascii_case("opml") {
                    saw_opml = true;
                }
                if !name.eq_ignore_ascii_case("outline") {
                    continue;
                }
                let label = attr(e, "title").or_else(|| attr(e, "text"));
                match attr(e, "xmlUrl") {
                    Some(url) => {
                        let group = folders.iter().rev().flatten().next().cloned();
                        out.push(Subscription {
                            name: label.unwrap_or_else(|| url.clone()),
                            url,
                            group,
                            site: attr(e, "htmlUrl"),
                        });
                        if !empty {
                            folders.push(None);
                        }
                    }
                    None if !empty => folders.push(label),
                    None => {}
                }
            }
            Event::End(ref e) => {
                let name = e.local_name();
                let name: &str = name.as_ref();
                if name.eq_ignore_ascii_case("outline") {
                    folders.pop();
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_opml {
        return Err(OpmlError::NotOpml("no <opml> element".into()));
    }
    Ok(out)
}

fn esc(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(s).replace('\n', "&#10;")
}

/// OPML 2.0 of the subscriptions, grouped into folders in first-seen order.
pub fn export(title: &str, subs: &[Subscription]) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n    <title>{}</title>\n  </head>\n  <body>\n",
        esc(title)
    );
    let outline = |sub: &Subscription, indent: &str| {
        let mut line = format!(
            "{indent}<outline type=\"rss\" text=\"{n}\" title=\"{n}\" xmlUrl=\"{u}\"",
            n = esc(&sub.name),
            u = esc(&sub.url)
        );
        if let Some(site) = &sub.site {
            line.push_str(&format!(" htmlUrl=\"{}\"", esc(site)));
        }
        line.push_str("/>\n");
        line
    };
    let mut groups: Vec<&str> = Vec::new();
    for sub in subs {
        if let Some(g) = sub.group.as_deref()
            && !groups.contains(&g)
        {
            groups.push(g);
        }
    }
    for sub in subs.iter().filter(|s| s.group.is_none()) {
        s.push_str(&outline(sub, "    "));
    }
    for g in groups {
        s.push_str(&format!("    <outline text=\"{n}\" title=\"{n}\">\n", n = esc(g)));
        for sub in subs.iter().filter(|s| s.group.as_deref() == Some(g)) {
            s.push_str(&outline(sub, "      "));
        }
        s.push_str("    </outline>\n");
    }
    s.push_str("  </body>\n</opml>\n");
    s
}

/// `[[source]]` tables for new subscriptions, to append to a source list.
pub fn to_toml(subs: &[Subscription]) -> String {
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut out = String::new();
    for sub in subs {
        out.push_str(&format!("\n[[source]]\nname = {}\nurl = {}\n", q(&sub.name), q(&sub.url)));
        if let Some(g) = &sub.group {
            out.push_str(&format!("group = {}\n", q(g)));
        }
    }
    out
}

/// Feed URLs a web page announces with `<link rel="alternate">`.
pub fn discover(html: &str, page_url: &str) -> Vec<String> {
    let base = url::Url::parse(page_url).ok();
    let doc = scraper::Html::parse_document(html);
    let Ok(sel) = scraper::Selector::parse("link[rel~=\"alternate\"][href], a[rel~=\"alternate\"][href]") else {
        return Vec::new();
    };
    let feed_types = [
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/json",
        "application/rdf+xml",
    ];
    doc.select(&sel)
        .filter(|e| e.attr("type").is_some_and(|t| feed_types.iter().any(|f| t.trim().eq_ignore_ascii_case(f))))
        .filter_map(|e| {
            let href = e.attr("href")?;
            match &base {
                Some(b) => b.join(href).ok().map(String::from),
                None => Some(href.to_string()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_outlines_become_groups() {
        let opml = r#"<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>
            <outline text="科技" title="科技"><outline type="rss" text="机器之心" xmlUrl="https://www.jiqizhixin.com/rss" htmlUrl="https://www.jiqizhixin.com/"/>
              <outline text="子目录"><outline text="量子位" xmlUrl="https://www.qbitai.com/feed"/></outline></outline>
            <outline text="Loose" xmlUrl="https://a.example/feed"/></body></opml>"#;
        let subs = parse(opml).unwrap();
        assert_eq!(subs.len(), 3);
        assert_eq!(subs[0].group.as_deref(), Some("科技"));
        assert_eq!(subs[1].group.as_deref(), Some("子目录"));
        assert_eq!(subs[2].group, None);
        let mut again = parse(&export("t", &subs)).unwrap();
        let mut subs = subs;
        again.sort_by(|a, b| a.url.cmp(&b.url));
        subs.sort_by(|a, b| a.url.cmp(&b.url));
        assert_eq!(again, subs);
    }

    #[test]
    fn discovery_finds_alternate_links() {
        let html = r#"<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml"><link rel="stylesheet" href="/s.css"><link rel="alternate" type="text/html" href="/m"></head></html>"#;
        assert_eq!(discover(html, "https://a.example/blog/"), ["https://a.example/feed.xml"]);
        assert!(discover("<html></html>", "https://a.example/").is_empty());
    }

    #[test]
    fn toml_is_valid_whatever_the_names() {
        let subs = vec![Subscription {
            name: "A \"quoted\" \\ name".into(),
            url: "https://a.example/?a=1&b=2".into(),
            group: Some("g".into()),
            site: None,
        }];
        let text = to_toml(&subs);
        let parsed: crate::config::SourceList = toml::from_str(&text).unwrap();
        assert_eq!(parsed.source[0].name, "A \"quoted\" \\ name");
        assert_eq!(parsed.source[0].group.as_deref(), Some("g"));
    }
}
