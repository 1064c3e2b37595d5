//! Our own streaming reader for XML feeds (RSS 0.9x/1.0/2.0, Atom 0.3/1.0) on
//! quick-xml: one pass, no tree, field text sliced straight out of the input.
//!
//! It exists because feed-rs, on real feeds, invents ids for items without a
//! guid, drops RSS 1.0 items without a link, ignores `dc:title`, lone
//! `media:thumbnail`s, Atom 0.3 and inline XHTML, and reads `CST` as US time.

use chrono_tz::Tz;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use url::Url;

use super::ParseError;
use super::dates::parse_date;
use crate::model::{FeedFormat, RawFeed, RawItem};

/// Namespaces we read, by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    /// No namespace, or an RSS one (RSS 2.0 is unnamespaced; 1.0 and 0.90 are not).
    Rss,
    Atom,
    Dc,
    DcTerms,
    Content,
    Media,
    Itunes,
    Rdf,
    /// RSS 1.0's syndication module: `sy:updatePeriod`, `sy:updateFrequency`.
    Sy,
    /// Google Play podcasts: `googleplay:author`, `googleplay:description`.
    GooglePlay,
    /// FeedBurner: `feedburner:origLink`, the article behind its redirect.
    FeedBurner,
    Other,
}

fn ns_of(r: &ResolveResult<'_>) -> Ns {
    match r {
        ResolveResult::Unbound => Ns::Rss,
        ResolveResult::Unknown(_) => Ns::Other,
        ResolveResult::Bound(ns) => match ns.as_ref().trim_end_matches('/') {
            "http://www.w3.org/2005/Atom" | "http://purl.org/atom/ns#" => Ns::Atom,
            "http://purl.org/rss/1.0"
            | "http://my.netscape.com/rdf/simple/0.9"
            | "http://backend.userland.com/rss2"
            | "http://backend.userland.com/rss"
            | "http://purl.org/net/rss1.1#" => Ns::Rss,
            "http://purl.org/dc/elements/1.1" => Ns::Dc,
            "http://purl.org/dc/terms" => Ns::DcTerms,
            "http://purl.org/rss/1.0/modules/content" => Ns::Content,
            "http://search.yahoo.com/mrss" | "http://video.search.yahoo.com/mrss" => Ns::Media,
            "http://www.itunes.com/dtds/podcast-1.0.dtd" => Ns::Itunes,
            "http://www.w3.org/1999/02/22-rdf-syntax-ns#" => Ns::Rdf,
            "http://purl.org/rss/1.0/modules/syndication" => Ns::Sy,
            "http://www.google.com/schemas/play-podcasts/1.0" => Ns::GooglePlay,
            "http://rssnamespace.org/feedburner/ext/1.0" => Ns::FeedBurner,
            _ => Ns::Other,
        },
    }
}

/// How the text of a captured element is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextKind {
    /// Escaped or CDATA text that is HTML once decoded (RSS description, Atom type="html").
    Html,
    /// Plain text (Atom type="text").
    Text,
    /// An RSS title: plain text with entities, unless it carries markup of
    /// its own (tags in CDATA, or child elements), which makes it HTML.
    TextOrMarkup,
    /// Inline XHTML markup (Atom type="xhtml").
    Xhtml,
}

/// Which field a captured element fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Title,
    AltTitle,
    Link,
    /// `feedburner:origLink`: wins over the redirect link.
    OrigLink,
    Guid {
        permalink: bool,
    },
    Published,
    Updated,
    Author,
    Summary,
    AltSummary,
    Content,
    Category,
    ChannelTitle,
    ChannelLink,
    /// The feed's author: entries without one of their own take it.
    ChannelAuthor,
    ChannelTtl,
    UpdatePeriod,
    UpdateFrequency,
}

/// The few element names whose children are read differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Channel,
    Feed,
    Author,
    Contributor,
    Image,
    Other,
}

impl Tag {
    fn of(local: &str) -> Tag {
        match local {
            "channel" => Tag::Channel,
            "feed" => Tag::Feed,
            "author" => Tag::Author,
            "contributor" => Tag::Contributor,
            "image" => Tag::Image,
            _ => Tag::Other,
        }
    }
}

struct Capture {
    depth: usize,
    field: Field,
    kind: TextKind,
    start: usize,
}

#[derive(Default)]
struct ItemBuilder {
    item: RawItem,
    depth: usize,
    alt_title: Option<String>,
    alt_summary: Option<String>,
    about: Option<String>,
    /// Best image so far and its rank (lower is better).
    image: Option<(u8, String)>,
    link_rank: u8,
    /// A `feedburner:origLink` was read: no other link replaces it.
    orig_link: bool,
}

impl ItemBuilder {
    fn offer_image(&mut self, rank: u8, url: Option<String>) {
        if let Some(url) = url.filter(|u| !u.trim().is_empty())
            && self.image.as_ref().is_none_or(|(r, _)| rank < *r)
        {
            self.image = Some((rank, url.trim().to_string()));
        }
    }

    fn finish(mut self) -> RawItem {
        if self.item.title.is_none() {
            self.item.title = self.alt_title;
        }
        if self.item.summary.is_none() {
            self.item.summary = self.alt_summary;
        }
        if self.item.link.is_none() {
            self.item.link = self.about.clone();
        }
        if self.item.guid.is_none() {
            // RSS 1.0: rdf:about is the item's identity.
            self.item.guid = self.about;
        }
        if self.item.published.is_none() {
            self.item.published = self.item.updated;
        }
        self.item.image = self.image.map(|(_, u)| u);
        self.item
    }
}

/// Parses an XML feed document.
pub fn parse_xml(text: &str, base: Option<&str>, tz: Tz) -> Result<RawFeed, ParseError> {
    let mut reader = quick_xml::NsReader::from_str(text);
    reader.config_mut().check_end_names = true;
    let doc_base = base.and_then(|b| Url::parse(b).ok());
    let mut feed = RawFeed::default();
    let (mut update_period, mut update_frequency) = (None, None);
    let mut root_seen = false;
    let mut depth = 0usize;
    let mut bases: Vec<(usize, Url)> = Vec::new();
    let mut item: Option<ItemBuilder> = None;
    let mut capture: Option<Capture> = None;
    // Whether the captured element is Atom 0.3 `mode="base64"`.
    let mut base64_capture = false;
    // Parent element (ns, local name) of the current position, by depth.
    let mut parents: Vec<(Ns, Tag)> = Vec::new();
    let mut in_channel_image = false;
    // An Atom document without its namespace: unbound names are Atom's.
    let mut unbound_is_atom = false;

    loop {
        let before = reader.buffer_position() as usize;
        // Only start tags need their namespace: resolving every event (end
        // tags, text) was a tenth of parse time.
        let read = reader.read_event();
        let event = match read {
            Ok(event) => event,
            Err(e) => {
                let pos = reader.error_position() as usize;
                let (line, column) = super::line_col(text, pos);
                return Err(ParseError::MalformedXml { line, column, message: e.to_string() });
            }
        };
        let ns_result = match &event {
            Event::Start(e) | Event::Empty(e) => reader.resolver().resolve_element(e.name()).0,
            _ => ResolveResult::Unbound,
        };
        let ns = match ns_of(&ns_result) {
            Ns::Rss if unbound_is_atom && matches!(ns_result, ResolveResult::Unbound) => Ns::Atom,
            other => other,
        };
        let root_uri = match (&ns_result, root_seen) {
            (ResolveResult::Bound(uri), false) => Some(uri.as_ref().to_string()),
            _ => None,
        };
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let local_name = e.local_name();
                let local: &str = local_name.as_ref();
                if !root_seen {
                    root_seen = true;
                    if let (Ns::Other, Some(uri)) = (ns, root_uri) {
                        let role = match local {
                            "rss" => Some(Ns::Rss),
                            "feed" => Some(Ns::Atom),
                            _ => None,
                        };
                        // A root <rss> or <feed> in a namespace we do not know: read
                        // the document again with that namespace declared as the
                        // one the root's name implies.
                        let tag = &text[before..after];
                        if let Some(role) = role
                            && tag.contains(uri.as_str())
                        {
                            let fixed = format!(
                                "{}{}{}",
                                &text[..before],
                                tag.replacen(uri.as_str(), adopted_uri(role), 1),
                                &text[after..]
                            );
                            return parse_xml(&fixed, base, tz);
                        }
                    }
                    feed.format = match (ns, local) {
                        (Ns::Rss, "rss") => match attr(e, "version").as_deref() {
                            Some("0.91" | "0.92" | "0.90") => FeedFormat::Rss0,
                            _ => FeedFormat::Rss2,
                        },
                        (Ns::Rdf, "RDF") => FeedFormat::Rss1,
                        (Ns::Atom, "feed" | "entry") => FeedFormat::Atom,
                        (Ns::Rss, "feed") => {
                            unbound_is_atom = true;
                            FeedFormat::Atom
                        }
                        _ => {
                            return Err(ParseError::NotAFeed(format!(
                                "root element <{}> is not rss, rdf:RDF or feed",
                                qname(e)
                            )));
                        }
                    };
                }
                let depth_now = depth + 1;
                if !empty {
                    depth = depth_now;
                }
                if let Some(b) = attr(e, "xml:base") {
                    let parent = bases.last().map(|(_, u)| u.clone()).or_else(|| doc_base.clone());
                    if let Ok(u) = Url::options().base_url(parent.as_ref()).parse(&b) {
                        if empty {
                            // applies to nothing inside
                        } else {
                            bases.push((depth_now, u));
                        }
                    }
                }
                if capture.is_some() {
                    continue;
                }
                let base: Option<&Url> = bases.last().map(|(_, u)| u).or(doc_base.as_ref());
                let parent = parents.last().copied();
                if !empty {
                    parents.push((ns, Tag::of(local)));
                }

                // Items start.
                let is_item = match (ns, local) {
                    (Ns::Rss, "item") => true,
                    (Ns::Atom, "entry") => true,
                    (Ns::Rss, "entry") if depth_now == 1 => {
                        // An Atom entry document without its namespace.
                        unbound_is_atom = true;
                        true
                    }
                    _ => false,
                };
                if is_item && item.is_none() {
                    if empty {
                        continue;
                    }
                    let mut b = ItemBuilder { depth: depth_now, link_rank: u8::MAX, ..Default::default() };
                    b.about = attr(e, "rdf:about").or_else(|| attr(e, "about")).map(|a| resolve(&a, base));
                    item = Some(b);
                    continue;
                }

                if let Some(it) = item.as_mut() {
                    let direct = depth_now == it.depth + 1;
                    // Media and iTunes images may sit anywhere inside the item (media:group).
                    match (ns, local) {
                        (Ns::Rss, "enclosure") if direct => {
                            let url = attr(e, "url").map(|u| resolve(&u, base));
                            if it.item.enclosure.is_none() {
                                it.item.enclosure.clone_from(&url);
                            }
                            let is_image = attr(e, "type").map_or_else(
                                || url.as_deref().is_some_and(super::looks_like_image_url),
                                |t| t.starts_with("image/"),
                            );
                            if is_image {
                                it.offer_image(0, url);
                            }
                        }
                        (Ns::Media, "content") => {
                            let is_image = attr(e, "medium").as_deref() == Some("image")
                                || attr(e, "type").is_some_and(|t| t.starts_with("image/"))
                                || (attr(e, "type").is_none()
                                    && attr(e, "url").as_deref().is_some_and(super::looks_like_image_url));
                            if is_image {
                                it.offer_image(1, attr(e, "url").map(|u| resolve(&u, base)));
                            }
                        }
                        (Ns::Media, "thumbnail") => it.offer_image(2, attr(e, "url").map(|u| resolve(&u, base))),
                        (Ns::Itunes, "image") => it.offer_image(3, attr(e, "href").map(|u| resolve(&u, base))),
                        (Ns::Atom, "link") if direct => {
                            let rel = attr(e, "rel").unwrap_or_else(|| "alternate".into());
                            let href = attr(e, "href").map(|h| resolve(&h, base));
                            let ty = attr(e, "type");
                            if rel == "alternate" {
                                // Prefer an HTML alternate over other types.
                                let rank = if ty.as_deref().is_none_or(|t| t.contains("html")) { 0 } else { 1 };
                                if rank < it.link_rank && href.is_some() {
                                    it.item.link = href;
                                    it.link_rank = rank;
                                }
                            } else if rel == "enclosure" {
                                if it.item.enclosure.is_none() {
                                    it.item.enclosure.clone_from(&href);
                                }
                                if ty.as_deref().is_some_and(|t| t.starts_with("image/")) {
                                    it.offer_image(4, href);
                                }
                            }
                        }
                        (Ns::Atom, "category") if direct => {
                            if let Some(c) = attr(e, "label").or_else(|| attr(e, "term")) {
                                it.item.categories.push(c);
                            }
                        }
                        _ => {}
                    }
                    if empty {
                        continue;
                    }
                    let author_child = !direct
                        && depth_now == it.depth + 2
                        && parent.as_ref().is_some_and(|(pns, tag)| {
                            *pns == Ns::Atom && matches!(tag, Tag::Author | Tag::Contributor)
                        });
                    let field = if author_child {
                        match (ns, local) {
                            (Ns::Atom, "name") => Some(Field::Author),
                            _ => None,
                        }
                    } else if direct {
                        item_field(ns, local, e)
                    } else {
                        match (ns, local) {
                            (Ns::Media, "title") => Some(Field::AltTitle),
                            (Ns::Media, "description") => Some(Field::AltSummary),
                            _ => None,
                        }
                    };
                    if let Some(field) = field {
                        base64_capture = ns == Ns::Atom && attr(e, "mode").as_deref() == Some("base64");
                        capture = Some(Capture {
                            depth: depth_now,
                            field,
                            kind: text_kind(ns, local, e, field),
                            start: after,
                        });
                    }
                    continue;
                }

                // Channel level: the feed's own title and link.
                let channel_parent = parent
                    .as_ref()
                    .is_some_and(|(pns, tag)| matches!((pns, tag), (Ns::Rss, Tag::Channel) | (Ns::Atom, Tag::Feed)));
                if local == "image" && ns == Ns::Rss {
                    in_channel_image = !empty;
                }
                // The feed's own author: Atom's <feed><author><name>.
                if item.is_none()
                    && !empty
                    && (ns, local) == (Ns::Atom, "name")
                    && parent.as_ref().is_some_and(|(pns, tag)| *pns == Ns::Atom && *tag == Tag::Author)
                {
                    capture = Some(Capture {
                        depth: depth_now,
                        field: Field::ChannelAuthor,
                        kind: TextKind::Text,
                        start: after,
                    });
                }
                if channel_parent && !in_channel_image {
                    match (ns, local) {
                        (Ns::Rss, "managingEditor")
                        | (Ns::Dc, "creator")
                        | (Ns::Itunes, "author")
                        | (Ns::GooglePlay, "author")
                            if !empty =>
                        {
                            capture = Some(Capture {
                                depth: depth_now,
                                field: Field::ChannelAuthor,
                                kind: TextKind::Text,
                                start: after,
                            });
                        }
                        (Ns::Rss | Ns::Atom, "title") if !empty => {
                            capture = Some(Capture {
                                depth: depth_now,
                                field: Field::ChannelTitle,
                                kind: TextKind::Text,
                                start: after,
                            });
                        }
                        (Ns::Rss, "link") if !empty => {
                            capture = Some(Capture {
                                depth: depth_now,
                                field: Field::ChannelLink,
                                kind: TextKind::Text,
                                start: after,
                            });
                        }
                        (Ns::Rss, "ttl") | (Ns::Sy, "updatePeriod" | "updateFrequency") if !empty => {
                            let field = match local {
                                "ttl" => Field::ChannelTtl,
                                "updatePeriod" => Field::UpdatePeriod,
                                _ => Field::UpdateFrequency,
                            };
                            capture = Some(Capture { depth: depth_now, field, kind: TextKind::Text, start: after });
                        }
                        (Ns::Atom, "link") => {
                            let rel = attr(e, "rel").unwrap_or_else(|| "alternate".into());
                            if rel == "alternate" && feed.link.is_none() {
                                feed.link = attr(e, "href").map(|h| resolve(&h, base));
                            }
                        }
                        _ => {}
                    }
                }
            }
            Event::End(_) => {
                let closing = depth;
                depth = depth.saturating_sub(1);
                while bases.last().is_some_and(|(d, _)| *d >= closing) {
                    bases.pop();
                }
                if let Some(c) = capture.as_ref() {
                    if c.depth != closing {
                        continue;
                    }
                    let raw = &text[c.start..before];
                    let kind = match c.kind {
                        TextKind::TextOrMarkup if carries_markup(raw) => TextKind::Html,
                        TextKind::TextOrMarkup => TextKind::Text,
                        k => k,
                    };
                    let mut value = if std::mem::take(&mut base64_capture) {
                        decode_base64(raw).unwrap_or_else(|| field_value(raw, kind))
                    } else {
                        field_value(raw, kind)
                    };
                    if c.kind == TextKind::TextOrMarkup && kind == TextKind::Text && value.contains('&') {
                        // RSS titles are text with entities, and publishers
                        // often escape them twice (`AT&amp;amp;T`): decoded
                        // again, as text (`&amp;lt;` gives `<`, shown as is).
                        value = html_escape::decode_html_entities(&value).into_owned();
                    }
                    let field = c.field;
                    capture = None;
                    let base: Option<&Url> = bases.last().map(|(_, u)| u).or(doc_base.as_ref());
                    match field {
                        Field::ChannelTitle => {
                            if feed.title.is_none() {
                                feed.title = Some(value.trim().to_string());
                            }
                        }
                        Field::ChannelLink => {
                            if feed.link.is_none() && !value.trim().is_empty() {
                                feed.link = Some(resolve(value.trim(), base));
                            }
                        }
                        Field::ChannelAuthor => {
                            if !value.trim().is_empty() {
                                feed.authors.push(value.trim().to_string());
                            }
                        }
                        Field::ChannelTtl => feed.ttl_minutes = minutes_of(&value),
                        Field::UpdatePeriod => update_period = period_minutes(&value),
                        Field::UpdateFrequency => update_frequency = minutes_of(&value),
                        _ => {
                            if let Some(it) = item.as_mut() {
                                apply(it, field, kind, value, base, tz);
                            }
                        }
                    }
                    parents.pop();
                    continue;
                }
                parents.pop();
                if item.as_ref().is_some_and(|it| it.depth == closing)
                    && let Some(done) = item.take()
                {
                    feed.items.push(done.finish());
                }
                if in_channel_image && parents.last().is_none_or(|(_, tag)| *tag != Tag::Image) {
                    in_channel_image = false;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !root_seen {
        return Err(ParseError::NotAFeed("no XML root element".into()));
    }
    if depth > 0 {
        let (line, column) = super::line_col(text, text.len());
        return Err(ParseError::MalformedXml {
            line,
            column,
            message: format!("unexpected end of input ({depth} element(s) left open)"),
        });
    }
    if feed.ttl_minutes.is_none() && (update_period.is_some() || update_frequency.is_some()) {
        // The module's defaults: daily, once.
        let period = update_period.unwrap_or(24 * 60);
        feed.ttl_minutes = update_frequency.filter(|f| *f > 0).map_or(Some(period), |f| period.checked_div(f));
    }
    Ok(feed)
}

/// A count of minutes as a feed writes it (`<ttl>`, `sy:updateFrequency`):
/// digits, saturating rather than failing when too large.
fn minutes_of(value: &str) -> Option<u32> {
    crate::timespan::parse_delta_seconds(value).map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// Minutes in an `sy:updatePeriod`.
fn period_minutes(value: &str) -> Option<u32> {
    Some(match value.trim().to_ascii_lowercase().as_str() {
        "hourly" => 60,
        "daily" => 24 * 60,
        "weekly" => 7 * 24 * 60,
        "monthly" => 30 * 24 * 60,
        "yearly" => 365 * 24 * 60,
        _ => return None,
    })
}

/// The field an element directly inside an item fills.
fn item_field(ns: Ns, local: &str, e: &BytesStart<'_>) -> Option<Field> {
    Some(match (ns, local) {
        (Ns::Rss | Ns::Atom, "title") => Field::Title,
        (Ns::Dc, "title") => Field::AltTitle,
        (Ns::Rss, "link") => Field::Link,
        (Ns::FeedBurner, "origLink") => Field::OrigLink,
        (Ns::Rss, "guid") => {
            Field::Guid { permalink: attr(e, "isPermaLink").is_none_or(|v| !v.eq_ignore_ascii_case("false")) }
        }
        (Ns::Atom, "id") => Field::Guid { permalink: false },
        (Ns::Rss, "pubDate")
        | (Ns::Dc, "date")
        | (Ns::Atom, "published" | "issued")
        | (Ns::DcTerms, "created" | "issued") => Field::Published,
        (Ns::Atom, "updated" | "modified") | (Ns::DcTerms, "modified") => Field::Updated,
        (Ns::Rss, "author") | (Ns::Dc, "creator") | (Ns::Itunes, "author") | (Ns::GooglePlay, "author") => {
            Field::Author
        }
        (Ns::Rss, "description") | (Ns::Atom, "summary") => Field::Summary,
        (Ns::Dc, "description")
        | (Ns::Itunes, "summary" | "subtitle")
        | (Ns::GooglePlay, "description")
        | (Ns::Media, "description") => Field::AltSummary,
        (Ns::Media, "category") => Field::Category,
        (Ns::Content, "encoded") | (Ns::Atom, "content") => Field::Content,
        (Ns::Rss, "category") | (Ns::Dc, "subject") => Field::Category,
        (Ns::Media, "title") => Field::AltTitle,
        _ => return None,
    })
}

/// How an element's text is to be read, from its `type` (and Atom 0.3 `mode`).
fn text_kind(ns: Ns, local: &str, e: &BytesStart<'_>, field: Field) -> TextKind {
    if ns == Ns::Atom {
        let ty = attr(e, "type").unwrap_or_default().to_ascii_lowercase();
        let mode = attr(e, "mode").unwrap_or_default();
        return match ty.as_str() {
            "xhtml" | "application/xhtml+xml" if mode != "escaped" => TextKind::Xhtml,
            "html" | "text/html" | "xhtml" | "application/xhtml+xml" => TextKind::Html,
            "" if mode == "escaped" && !matches!(field, Field::Title) => TextKind::Html,
            _ if local == "content" && ty.ends_with("xml") => TextKind::Xhtml,
            _ => TextKind::Text,
        };
    }
    match field {
        Field::Summary | Field::AltSummary | Field::Content => TextKind::Html,
        Field::Title => TextKind::TextOrMarkup,
        _ => TextKind::Text,
    }
}

/// Atom 0.3 `mode="base64"` text: the decoded UTF-8, when it is that.
fn decode_base64(raw: &str) -> Option<String> {
    use base64::Engine;
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(compact).ok()?;
    String::from_utf8(bytes).ok()
}

/// Whether raw element text carries markup of its own: a tag inside CDATA,
/// or a child element; not `&lt;` entities, which are text.
fn carries_markup(raw: &str) -> bool {
    let tag_at = |s: &str| {
        let b = s.as_bytes();
        b.first() == Some(&b'<') && b.get(1).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'/')
    };
    let mut rest = raw;
    while let Some(i) = rest.find('<') {
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("<![CDATA[") {
            let end = after.find("]]>").unwrap_or(after.len());
            if after[..end].match_indices('<').any(|(j, _)| tag_at(&after[j..end])) {
                return true;
            }
            rest = after.get(end + 3..).unwrap_or("");
        } else if let Some(after) = tail.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |e| &after[e + 3..]);
        } else if tag_at(tail) {
            return true;
        } else {
            rest = &tail[1..];
        }
    }
    false
}

/// Text of a captured element: CDATA kept literally, entities decoded
/// elsewhere, comments dropped; XHTML kept as markup.
fn field_value(raw: &str, kind: TextKind) -> String {
    if kind == TextKind::Xhtml {
        return strip_xhtml_div(raw).to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while !rest.is_empty() {
        if let Some(i) = memchr::memchr2(b'<', b'&', rest.as_bytes()) {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("<![CDATA[") {
                let end = memchr::memmem::find(after.as_bytes(), b"]]>").unwrap_or(after.len());
                out.push_str(&after[..end]);
                rest = after.get(end + 3..).unwrap_or("");
            } else if let Some(after) = tail.strip_prefix("<!--") {
                rest = after.find("-->").map_or("", |e| &after[e + 3..]);
            } else if let Some(after_amp) = tail.strip_prefix('&') {
                let end = memchr::memchr(b';', &after_amp.as_bytes()[..after_amp.len().min(32)]).map(|e| e + 2);
                match end {
                    Some(end) => {
                        // XML's own five entities are most of them (escaped HTML); others go to the HTML table.
                        match &tail[..end] {
                            "&lt;" => out.push('<'),
                            "&gt;" => out.push('>'),
                            "&amp;" => out.push('&'),
                            "&quot;" => out.push('"'),
                            "&apos;" => out.push('\''),
                            entity => out.push_str(&html_escape::decode_html_entities(entity)),
                        }
                        rest = &tail[end..];
                    }
                    None => {
                        out.push('&');
                        rest = &tail[1..];
                    }
                }
            } else {
                // Markup inside a text element (e.g. <b> in an RSS title): kept as is.
                out.push('<');
                rest = &tail[1..];
            }
        } else {
            out.push_str(rest);
            rest = "";
        }
    }
    out
}

/// The content of the wrapping `<div>` Atom requires around inline XHTML.
fn strip_xhtml_div(inner: &str) -> &str {
    let t = inner.trim();
    if t.starts_with("<div")
        && let Some(open_end) = t.find('>')
        && let Some(close) = t.rfind("</div>")
        && close > open_end
    {
        return &t[open_end + 1..close];
    }
    t
}

fn apply(it: &mut ItemBuilder, field: Field, kind: TextKind, value: String, base: Option<&Url>, tz: Tz) {
    let trimmed = value.trim();
    match field {
        Field::Title => {
            if it.item.title.is_none() {
                it.item.title_is_html = kind != TextKind::Text;
                it.item.title = Some(value);
            }
        }
        Field::AltTitle => {
            if it.alt_title.is_none() && !trimmed.is_empty() {
                it.alt_title = Some(value);
            }
        }
        Field::Link => {
            if !trimmed.is_empty() && it.link_rank > 0 && !it.orig_link {
                it.item.link = Some(resolve(trimmed, base));
                it.link_rank = 0;
            }
        }
        Field::OrigLink => {
            if !trimmed.is_empty() {
                it.item.link = Some(resolve(trimmed, base));
                it.link_rank = 0;
                it.orig_link = true;
            }
        }
        Field::Guid { permalink } => {
            if !trimmed.is_empty() && it.item.guid.is_none() {
                it.item.guid = Some(trimmed.to_string());
                let is_web = trimmed.starts_with("http://") || trimmed.starts_with("https://");
                if permalink && is_web && it.item.link.is_none() {
                    it.item.link = Some(trimmed.to_string());
                    it.link_rank = 2;
                }
            }
        }
        Field::Published | Field::Updated => {
            let slot = if field == Field::Published { &mut it.item.published } else { &mut it.item.updated };
            if slot.is_none() && !trimmed.is_empty() {
                *slot = parse_date(trimmed, tz);
                if slot.is_none() && it.item.unparsed_date.is_none() {
                    it.item.unparsed_date = Some(trimmed.chars().take(80).collect());
                }
            }
        }
        Field::Author => {
            // Read as names (and repeats dropped) when normalized.
            if !trimmed.is_empty() {
                it.item.authors.push(trimmed.to_string());
            }
        }
        Field::Summary => {
            if it.item.summary.is_none() && !trimmed.is_empty() {
                it.item.summary = Some(as_html(value, kind));
            }
        }
        Field::AltSummary => {
            if it.alt_summary.is_none() && !trimmed.is_empty() {
                it.alt_summary = Some(as_html(value, kind));
            }
        }
        Field::Content => {
            if it.item.content.is_none() && !trimmed.is_empty() {
                it.item.content = Some(as_html(value, kind));
            }
        }
        Field::Category => {
            if !trimmed.is_empty() {
                it.item.categories.push(trimmed.to_string());
            }
        }
        Field::ChannelTitle
        | Field::ChannelLink
        | Field::ChannelAuthor
        | Field::ChannelTtl
        | Field::UpdatePeriod
        | Field::UpdateFrequency => {}
    }
}

/// Summaries and content are kept as HTML: plain text (Atom `type="text"`)
/// is escaped, so that `a < b` is shown as written, not parsed.
fn as_html(value: String, kind: TextKind) -> String {
    match kind {
        TextKind::Text => html_escape::encode_text(&value).into_owned(),
        _ => value,
    }
}

fn resolve(href: &str, base: Option<&Url>) -> String {
    let href = href.trim();
    if crate::normalize::url::garbled_scheme(href) || already_serialized(href) {
        return href.to_string();
    }
    match base {
        Some(b) => Url::options().base_url(Some(b)).parse(href).map(String::from).unwrap_or_else(|_| href.to_string()),
        None => href.to_string(),
    }
}

/// Whether an absolute http(s) URL is already exactly as the `url` crate
/// would write it (lower-case host, no port, a path, nothing to escape or
/// to collapse): most feed links are, and parsing them is a real cost.
fn already_serialized(href: &str) -> bool {
    let Some(rest) = href.strip_prefix("https://").or_else(|| href.strip_prefix("http://")) else { return false };
    let Some(slash) = rest.find('/') else { return false };
    let host = &rest[..slash];
    let path = &rest[slash..];
    let host_ok = !host.is_empty()
        && !host.starts_with(['.', '-'])
        && host.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && !host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let path_ok =
        path.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&b) || b == b'%')
            && !path.contains("/./")
            && !path.contains("/../")
            && !path.ends_with("/.")
            && !path.ends_with("/..")
            && !path.contains("//")
            && !path.contains('%');
    host_ok && path_ok
}

fn adopted_uri(role: Ns) -> &'static str {
    match role {
        Ns::Atom => "http://www.w3.org/2005/Atom",
        _ => "http://purl.org/rss/1.0/",
    }
}

fn qname(e: &BytesStart<'_>) -> String {
    let n = e.name();
    let s: &str = n.as_ref();
    s.to_string()
}

/// An attribute's value by qualified name, entities decoded.
fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    // Most elements have few attributes and not this one: a substring test
    // is far cheaper than parsing them.
    memchr::memmem::find(e.attributes_raw().as_bytes(), name.as_bytes())?;
    e.attributes()
        .flatten()
        .find(|a| {
            let k: &str = a.key.as_ref();
            k == name
        })
        .map(|a| html_escape::decode_html_entities(&*a.value).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SH: Tz = Tz::Asia__Shanghai;

    #[test]
    fn simple_links_skip_parsing_but_read_the_same() {
        let base = Url::parse("https://example.cn/feed/").ok();
        for href in [
            "https://example.cn/a/1.html?utm_source=rss&x=1#top",
            "http://news.example.cn/2025/04/01/story",
            "https://EXAMPLE.cn/a",
            "https://example.cn:443/a",
            "https://example.cn",
            "https://example.cn/a/../b",
            "https://example.cn/a b",
            "https://example.cn/中文",
            "https://127.0.0.1/a",
            "https://example.cn/%7Ea",
            "relative/path",
        ] {
            let parsed = Url::options()
                .base_url(base.as_ref())
                .parse(href)
                .map(String::from)
                .unwrap_or_else(|_| href.to_string());
            assert_eq!(resolve(href, base.as_ref()), parsed, "{href}");
        }
        assert!(already_serialized("https://example.cn/a/1.html?utm_source=rss"));
        assert!(!already_serialized("https://example.cn:8080/a"));
    }

    #[test]
    fn ttl_and_syndication_module_of_any_size() {
        let ttl = |channel: &str| {
            let doc = format!(
                r#"<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>t</title>{channel}<item><title>x</title></item></channel></rss>"#
            );
            parse_xml(&doc, None, SH).unwrap().ttl_minutes
        };
        assert_eq!(ttl("<ttl>99999999999999999999999999999</ttl>"), Some(u32::MAX));
        assert_eq!(ttl("<ttl>-5</ttl>"), None);
        assert_eq!(
            ttl("<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>"),
            Some(30)
        );
        assert_eq!(ttl("<sy:updatePeriod>weekly</sy:updatePeriod>"), Some(7 * 24 * 60));
        assert_eq!(ttl("<sy:updateFrequency>4</sy:updateFrequency>"), Some(6 * 60), "daily by default");
        assert_eq!(
            ttl("<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>0</sy:updateFrequency>"),
            Some(60)
        );
        assert_eq!(
            ttl(
                "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>18446744073709551616</sy:updateFrequency>"
            ),
            Some(0)
        );
        assert_eq!(ttl("<sy:updatePeriod>sometimes</sy:updatePeriod>"), None);
        assert_eq!(ttl("<ttl>90</ttl><sy:updatePeriod>yearly</sy:updatePeriod>"), Some(90), "ttl wins");
    }

    #[test]
    fn rss2_fields() {
        let f = parse_xml(
            r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:media="http://search.yahoo.com/mrss/">
            <channel><title>频道</title><link>https://x.cn/</link><ttl>90</ttl><image><title>logo</title><url>https://x.cn/l.png</url></image>
            <item><title><![CDATA[标题 <一>]]></title><link>https://x.cn/1</link><guid isPermaLink="false">id-1</guid>
              <pubDate>Wed, 02 Apr 2025 08:30:00 CST</pubDate><dc:creator>记者</dc:creator>
              <description>&lt;p&gt;摘要&amp;amp;&lt;/p&gt;</description><content:encoded><![CDATA[<p>正文</p>]]></content:encoded>
              <category>AI</category><media:group><media:thumbnail url="/t.jpg"/></media:group></item>
            <item><dc:title>只有 dc:title</dc:title><guid>https://x.cn/2</guid></item>
            </channel></rss>"#,
            Some("https://x.cn/feed"),
            SH,
        )
        .unwrap();
        assert_eq!(f.title.as_deref(), Some("频道"));
        assert_eq!(f.link.as_deref(), Some("https://x.cn/"));
        assert_eq!(f.ttl_minutes, Some(90));
        let a = &f.items[0];
        assert_eq!(a.title.as_deref(), Some("标题 <一>"));
        assert_eq!(a.guid.as_deref(), Some("id-1"));
        assert_eq!(a.published.unwrap().to_rfc3339(), "2025-04-02T00:30:00+00:00");
        assert_eq!(a.authors, ["记者"]);
        assert_eq!(a.summary.as_deref(), Some("<p>摘要&amp;</p>"));
        assert_eq!(a.content.as_deref(), Some("<p>正文</p>"));
        assert_eq!(a.image.as_deref(), Some("https://x.cn/t.jpg"));
        let b = &f.items[1];
        assert_eq!(b.title.as_deref(), Some("只有 dc:title"));
        assert_eq!(b.link.as_deref(), Some("https://x.cn/2"));
    }

    #[test]
    fn atom_with_xml_base_xhtml_and_authors() {
        let f = parse_xml(
            r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://a.org/blog/"><title>T</title>
            <link rel="self" href="feed.xml"/><link href="/"/>
            <entry><title type="html">A &amp;lt;b&amp;gt;</title><link rel="alternate" href="p/1"/><id>urn:1</id>
              <updated>2025-04-02T00:00:00Z</updated><author><name>Ann</name></author>
              <source><title>not mine</title></source>
              <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>x <img src="i.png"/></p></div></content></entry></feed>"#,
            None,
            SH,
        )
        .unwrap();
        assert_eq!(f.link.as_deref(), Some("https://a.org/"));
        let e = &f.items[0];
        assert_eq!(e.title.as_deref(), Some("A &lt;b&gt;"));
        assert_eq!(e.link.as_deref(), Some("https://a.org/blog/p/1"));
        assert_eq!(e.authors, ["Ann"]);
        assert_eq!(e.published, e.updated);
        assert_eq!(e.content.as_deref(), Some("<p>x <img src=\"i.png\"/></p>"));
    }

    #[test]
    fn rss1_item_without_link_uses_rdf_about() {
        let f = parse_xml(
            r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>c</title></channel>
            <item rdf:about="http://example.com/1"><title>Example title</title></item></rdf:RDF>"#,
            None,
            SH,
        )
        .unwrap();
        assert_eq!(f.format, FeedFormat::Rss1);
        assert_eq!(f.items[0].link.as_deref(), Some("http://example.com/1"));
    }

    #[test]
    fn truncated_document_is_an_error_with_position() {
        let err = parse_xml("<rss version=\"2.0\"><channel>\n<item><title>x</title>\n", None, SH).unwrap_err();
        assert!(matches!(err, ParseError::MalformedXml { line: 3, .. }), "{err:?}");
    }
}
