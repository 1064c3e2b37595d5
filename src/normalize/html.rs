//! Item HTML made safe (ammonia) and turned into plain text for matching.

use std::collections::HashSet;

use url::Url;

/// A sanitizer for one feed: relative URLs become absolute against its base.
pub struct Sanitizer {
    builder: ammonia::Builder<'static>,
}

impl Sanitizer {
    /// Builds a sanitizer; `base` (when http(s)) absolutizes relative URLs,
    /// which are dropped otherwise.
    pub fn new(base: Option<&Url>) -> Sanitizer {
        let mut builder = ammonia::Builder::default();
        builder
            .url_schemes(HashSet::from(["http", "https", "mailto"]))
            .link_rel(Some("noopener noreferrer"))
            .add_tags(["img", "figure", "figcaption", "picture", "source"])
            .add_tag_attributes("img", ["src", "alt", "title", "width", "height"])
            .add_tag_attributes("source", ["srcset", "type"])
            .strip_comments(true);
        match base {
            Some(b) if matches!(b.scheme(), "http" | "https") => {
                builder.url_relative(ammonia::UrlRelative::RewriteWithBase(b.clone()));
            }
            _ => {
                builder.url_relative(ammonia::UrlRelative::Deny);
            }
        }
        Sanitizer { builder }
    }

    /// Sanitized HTML: no script, style, iframe, event handlers or
    /// `javascript:` URLs. Input is bounded first: at most [`MAX_HTML_BYTES`]
    /// and [`MAX_DEPTH`] levels of nesting (the HTML parser's cost grows with
    /// the square of the depth).
    pub fn clean(&self, html: &str) -> String {
        let mut end = html.len().min(MAX_HTML_BYTES);
        while !html.is_char_boundary(end) {
            end -= 1;
        }
        let html = &html[..end];
        // Text without markup, entities or no-break spaces comes out of the
        // sanitizer unchanged: no need to parse it.
        if !html.contains(['<', '>', '&', '\u{a0}', '\0', '\r']) {
            return html.trim().to_string();
        }
        let bounded = limit_depth(html, MAX_DEPTH);
        let once = self.builder.clean(&bounded).to_string();
        // The parser's repairs can leave a link inside a link, which parses
        // differently when read again: clean such output once more, so that
        // what is stored reads back as itself.
        if nested_anchor(&once) {
            return self.builder.clean(&once).to_string().trim().to_string();
        }
        once.trim().to_string()
    }
}

/// Whether an `<a>` opens inside another in serialized HTML.
fn nested_anchor(html: &str) -> bool {
    let bytes = html.as_bytes();
    let mut open = 0usize;
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'<', &bytes[from..]).map(|i| from + i) {
        let rest = &bytes[i + 1..];
        let is_a = |r: &[u8]| {
            r.first().is_some_and(|c| c.eq_ignore_ascii_case(&b'a'))
                && r.get(1).is_some_and(|c| *c == b'>' || c.is_ascii_whitespace())
        };
        if is_a(rest) {
            if open > 0 {
                return true;
            }
            open += 1;
        } else if rest.first() == Some(&b'/') && is_a(&rest[1..]) {
            open = open.saturating_sub(1);
        }
        from = i + 1;
    }
    false
}

/// Most bytes of one HTML field that are kept.
pub const MAX_HTML_BYTES: usize = 512 * 1024;
/// Deepest element nesting kept; deeper tags are dropped, their text kept.
pub const MAX_DEPTH: usize = 64;

const VOID: &[&str] =
    &["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr", "param"];

/// Drops the tags nested deeper than `max` (keeping their text).
pub fn limit_depth(html: &str, max: usize) -> std::borrow::Cow<'_, str> {
    // Nesting deeper than `max` needs more than `max` tags: most fragments
    // have fewer and need no scan.
    if html.bytes().filter(|&b| b == b'<').nth(max).is_none() {
        return html.into();
    }
    let mut depth = 0usize;
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    let bytes = html.as_bytes();
    while let Some(off) = html[i..].find('<') {
        let start = i + off;
        let Some(len) = html[start..].find('>') else { break };
        let end = start + len + 1;
        let tag = &html[start + 1..end - 1];
        let closing = tag.starts_with('/');
        let name: String = tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        let is_element =
            !name.is_empty() && bytes.get(start + 1).is_some_and(|b| b.is_ascii_alphabetic() || *b == b'/');
        let mut drop = false;
        if is_element && !VOID.contains(&name.to_ascii_lowercase().as_str()) && !tag.ends_with('/') {
            if closing {
                drop = depth > max;
                depth = depth.saturating_sub(1);
            } else {
                depth += 1;
                drop = depth > max;
            }
        }
        if drop {
            let o = out.get_or_insert_with(|| String::with_capacity(html.len()));
            o.push_str(&html[copied..start]);
            copied = end;
        }
        i = end;
    }
    match out {
        None => html.into(),
        Some(mut o) => {
            o.push_str(&html[copied..]);
            o.into()
        }
    }
}

const BLOCK_TAGS: &[&str] = &[
    "p",
    "br",
    "div",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
    "blockquote",
    "pre",
    "section",
    "article",
    "figure",
    "figcaption",
    "hr",
    "dd",
    "dt",
    "dl",
    "td",
    "th",
    "caption",
    "header",
    "footer",
    "aside",
    "nav",
    "main",
    "address",
    "details",
    "summary",
];

/// Plain text of an HTML fragment: tags dropped, entities decoded, one line
/// per block, whitespace folded within lines. Inline elements (a, b, span,
/// …) add no space: `据<a>机器之心</a>报道` reads `据机器之心报道`; a line break
/// of the source between two Chinese characters is no space either.
pub fn to_text(html: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut rest = html;
    let mut skip_until: Option<String> = None;
    while !rest.is_empty() {
        if let Some(i) = rest.find('<') {
            if skip_until.is_none() {
                push_text(&mut cur, &rest[..i]);
            }
            let after = &rest[i + 1..];
            // An unclosed `<` runs to the end of the text.
            let (tag, end) = match after.find('>') {
                Some(e) => (&after[..e], e + 1),
                None => (after, after.len()),
            };
            let closing = tag.starts_with('/');
            let bare = tag.trim_start_matches('/');
            let name_len = bare.bytes().take_while(u8::is_ascii_alphanumeric).count();
            let mut name_buf = [0u8; 16];
            let name: &str = if name_len <= name_buf.len() {
                name_buf[..name_len].copy_from_slice(&bare.as_bytes()[..name_len]);
                name_buf[..name_len].make_ascii_lowercase();
                std::str::from_utf8(&name_buf[..name_len]).unwrap_or("")
            } else {
                // No tag we act on has a name this long.
                ""
            };
            if let Some(until) = &skip_until {
                if closing && name == until {
                    skip_until = None;
                }
            } else if !closing && matches!(name, "script" | "style" | "noscript" | "template") {
                skip_until = Some(name.to_string());
            } else if BLOCK_TAGS.contains(&name) {
                flush_line(&mut cur, &mut lines);
            }
            rest = &after[end..];
        } else {
            if skip_until.is_none() {
                push_text(&mut cur, rest);
            }
            rest = "";
        }
    }
    flush_line(&mut cur, &mut lines);
    lines.join("\n")
}

fn push_text(cur: &mut String, raw: &str) {
    cur.push_str(&html_escape::decode_html_entities(raw));
}

/// Whether a line break between `a` and `b` is no word break: Chinese text
/// wraps anywhere (CSS Text's segment break rule for wide characters).
fn wide(c: char) -> bool {
    crate::fold::is_han(c) || matches!(c as u32, 0x3000..=0x303F | 0xFF00..=0xFFEF)
}

fn flush_line(cur: &mut String, lines: &mut Vec<String>) {
    if cur.contains('\n') {
        // Source line breaks between wide characters are dropped.
        let chars: Vec<char> = cur.chars().collect();
        let mut kept = String::with_capacity(cur.len());
        let mut i = 0;
        while i < chars.len() {
            if chars[i].is_whitespace() {
                let start = i;
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                let run = &chars[start..i];
                let between_wide = start > 0 && i < chars.len() && wide(chars[start - 1]) && wide(chars[i]);
                if !(between_wide && run.contains(&'\n') && run.iter().all(|c| matches!(c, '\n' | '\r' | '\t' | ' '))) {
                    kept.extend(run);
                }
            } else {
                kept.push(chars[i]);
                i += 1;
            }
        }
        *cur = kept;
    }
    let line = fold_whitespace(cur);
    if !line.is_empty() {
        lines.push(line);
    }
    cur.clear();
}

/// Collapses runs of whitespace (and drops control characters) to single
/// spaces; trims.
pub fn fold_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    // Runs of ordinary characters are copied whole; only whitespace and
    // control characters are looked at one by one.
    let keep = |out: &mut String, run: &str, space: &mut bool| {
        if !run.is_empty() {
            if *space && !out.is_empty() {
                out.push(' ');
            }
            *space = false;
            out.push_str(run);
        }
    };
    let bytes = s.as_bytes();
    let (mut i, mut run) = (0, 0);
    while i < bytes.len() {
        let b = bytes[i];
        let (len, kind) = if b < 0x80 {
            let kind = match b {
                b'\t' | b'\n' | b'\r' | b' ' => Some(true),
                // Stray control characters are noise, not word breaks.
                0..=0x1f | 0x7f => Some(false),
                _ => None,
            };
            (1, kind)
        } else if b >= 0xc3 && !matches!(b, 0xe1 | 0xe2 | 0xe3 | 0xef) {
            // Lead bytes of ranges with no whitespace or control
            // characters (U+00C0–U+0FFF, U+4000–U+EFFF, beyond U+FFFF):
            // Chinese text goes by three bytes at a time, undecoded.
            (utf8_len(b), None)
        } else {
            let c = s[i..].chars().next().unwrap_or(' ');
            let kind = if c.is_control() {
                Some(false)
            } else if c.is_whitespace() || c == '\u{200b}' || c == '\u{feff}' {
                Some(true)
            } else {
                None
            };
            (c.len_utf8(), kind)
        };
        if let Some(is_space) = kind {
            keep(&mut out, &s[run..i], &mut space);
            if is_space {
                space = true;
            }
            run = i + len;
        }
        i += len;
    }
    keep(&mut out, &s[run..], &mut space);
    out
}

/// The length of the UTF-8 sequence a lead byte starts.
pub(crate) fn utf8_len(lead: u8) -> usize {
    match lead {
        0xf0.. => 4,
        0xe0.. => 3,
        0xc0.. => 2,
        _ => 1,
    }
}

/// A title as a reader shows it, whitespace folded: HTML (`is_html`) has
/// its markup dropped and entities decoded; text is shown as written, so
/// `Vec<T>` and `</example>` stay, and `&#39;` in text is not decoded again.
pub fn title_text(raw: &str, is_html: bool) -> String {
    if is_html { fold_whitespace(&to_text(raw).replace('\n', " ")) } else { fold_whitespace(raw) }
}

/// The `src` of the first `<img>` in sanitized HTML.
pub fn first_image(html: &str) -> Option<String> {
    let mut from = 0;
    while let Some(i) = html[from..].find("<img") {
        let start = from + i;
        let end = html[start..].find('>').map_or(html.len(), |e| start + e);
        let tag = &html[start..end];
        if let Some(s) = tag.find(" src=\"") {
            let v = &tag[s + 6..];
            if let Some(close) = v.find('"') {
                let src = html_escape::decode_html_entities(&v[..close]).trim().to_string();
                if !src.is_empty() {
                    return Some(src);
                }
            }
        }
        from = end;
    }
    None
}

#[cfg(test)]
mod tests {
    /// The first, character-at-a-time fold: the fast one must agree.
    fn fold_whitespace_oracle(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut space = false;
        for c in s.chars() {
            if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
            } else if c.is_whitespace() || c == '\u{200b}' || c == '\u{feff}' {
                space = !out.is_empty();
            } else {
                if space {
                    out.push(' ');
                    space = false;
                }
                out.push(c);
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn folding_whitespace_agrees_with_the_first_fold(
            s in "(\\PC|[ \t\r\n\u{0}-\u{1f}\u{7f}-\u{a0}\u{2000}-\u{200b}\u{3000}\u{feff}\u{85}])*"
        ) {
            proptest::prop_assert_eq!(fold_whitespace(&s), fold_whitespace_oracle(&s));
        }
    }

    #[test]
    fn folding_whitespace_by_hand() {
        for s in ["", "  a  b ", "\u{3000}标题\u{3000}正文\u{200b}", "a\u{1}b\u{85}c\u{a0}d", "x\r\n\ty", "\u{feff}ab"]
        {
            assert_eq!(fold_whitespace(s), fold_whitespace_oracle(s), "{s:?}");
        }
    }

    use super::*;

    #[test]
    fn a_link_left_inside_a_link_is_cleaned_until_it_reads_back_as_itself() {
        let s = Sanitizer::new(None);
        let once = s.clean("<a href=\"/x\"><div><ul><li>text<ul><li><a href=\"/y\">y");
        assert!(!nested_anchor(&once), "{once}");
        assert_eq!(s.clean(&once), once);
        assert!(nested_anchor("<a href=x><b><a>y</a></b></a>") && !nested_anchor("<a>1</a><a>2</a><abbr>"));
    }

    #[test]
    fn plain_text_skips_the_parser_and_reads_the_same() {
        let s = Sanitizer::new(None);
        for text in ["  智谱发布 \"GLM-4.5\"，it's 'quoted'  ", "第二段\n第三行\t制表", "plain", ""] {
            let parsed = s.builder.clean(text).to_string().trim().to_string();
            assert_eq!(s.clean(text), parsed, "{text:?}");
        }
        assert_eq!(s.clean("a &amp; b"), "a &amp; b");
        assert_eq!(s.clean("x <script>alert(1)</script>"), "x");
    }

    #[test]
    fn nothing_live_survives() {
        let s = Sanitizer::new(Some(&Url::parse("https://x.cn/a/").unwrap()));
        let out = s.clean(
            "<p onclick=\"x()\">hi<script>alert(1)</script><style>p{}</style><iframe src=\"http://e\"></iframe>\
             <a href=\"javascript:alert(1)\">j</a><img src=\"i.png\" onerror=\"x()\"><a href=\"/p\">p</a></p>",
        );
        for bad in ["script", "style", "iframe", "onclick", "onerror", "javascript:", "alert"] {
            assert!(!out.contains(bad), "{bad} in {out}");
        }
        assert!(out.contains("src=\"https://x.cn/a/i.png\""), "{out}");
        assert!(out.contains("href=\"https://x.cn/p\""), "{out}");
    }

    #[test]
    fn deep_nesting_is_flattened_text_kept() {
        let deep = format!("{}core{}", "<div>".repeat(1000), "</div>".repeat(1000));
        let flat = limit_depth(&deep, 3);
        assert_eq!(flat, "<div><div><div>core</div></div></div>");
        let s = Sanitizer::new(None);
        let start = std::time::Instant::now();
        let out = s.clean(&format!("{}x{}", "<div>".repeat(50_000), "</div>".repeat(50_000)));
        assert!(out.contains('x'));
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "took {:?}", start.elapsed());
    }

    #[test]
    fn text_has_one_line_per_block_and_decoded_entities() {
        let t = to_text("<p>第一段&nbsp;内容 &amp; 更多</p><ul><li>一</li><li>二</li></ul><script>x</script>尾");
        assert_eq!(t, "第一段 内容 & 更多\n一\n二\n尾");
    }

    #[test]
    fn an_unclosed_tag_before_a_multibyte_character() {
        // Found by the fuzzer: `<` then a 3-byte character and no `>`.
        assert_eq!(to_text("前<中"), "前");
        assert_eq!(title_text("a <b中", true), "a");
    }

    #[test]
    fn titles_decoded_and_folded() {
        assert_eq!(title_text("  AI&nbsp;眼镜 &mdash; 大会 开幕 ", true), "AI 眼镜 — 大会 开幕");
        assert_eq!(title_text("<b>粗体</b> 标题", true), "粗体 标题");
        assert_eq!(title_text("a < b and c > d", false), "a < b and c > d");
    }

    #[test]
    fn escaped_markup_in_titles_is_text() {
        for t in ["</example>", "Vec<T>", "Why <script> tags block rendering", "&#39; is an entity"] {
            assert_eq!(title_text(t, false), t);
        }
        assert_eq!(title_text(" Vec<T>\n  and   more ", false), "Vec<T> and more");
    }

    #[test]
    fn inline_markup_adds_no_spaces() {
        assert_eq!(to_text("AT&amp;T bought <b>by SBC</b>!"), "AT&T bought by SBC!");
        assert_eq!(
            to_text("据<a href=\"x\">机器之心</a>报道，<b>阿里</b>发布新模型。"),
            "据机器之心报道，阿里发布新模型。"
        );
        assert_eq!(to_text("<span>Open</span><em>AI</em> <code>gpt-5</code>"), "OpenAI gpt-5");
        // Blocks still break lines; a source line break inside Chinese is no space.
        assert_eq!(to_text("<p>第一段</p><p>第二段</p>一<br>二"), "第一段\n第二段\n一\n二");
        assert_eq!(to_text("<table><tr><td>甲</td><td>乙</td></tr></table>"), "甲\n乙");
        assert_eq!(to_text("阿里巴巴\n发布新模型，\nand English\nwords"), "阿里巴巴发布新模型， and English words");
    }

    #[test]
    fn first_image_found() {
        assert_eq!(
            first_image("<p>x<img alt=\"a\" src=\"https://x/a.jpg?w=1&amp;h=2\"></p>").as_deref(),
            Some("https://x/a.jpg?w=1&h=2")
        );
        assert_eq!(first_image("<p>none</p>"), None);
    }
}
