//! Repairs for the ways real feeds break XML that readers still accept: bare
//! `&`, stray control characters, DOCTYPEs (dropped; their entities are
//! never expanded), and end tags that close nothing open (dropped) or skip
//! elements left open (which are closed first).

/// Repaired text and what was repaired (empty when nothing was).
pub struct Repaired {
    pub text: String,
    pub fixes: Vec<String>,
}

/// Applies every repair; CDATA sections and comments are left as they are.
pub fn repair(text: &str) -> Repaired {
    let mut fixes = Vec::new();
    let mut out = String::with_capacity(text.len() + 64);
    let mut controls = 0usize;
    let mut amps = 0usize;
    let mut doctype = false;
    let mut open: Vec<String> = Vec::new();
    let (mut stray, mut unclosed) = (0usize, 0usize);
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let end = after.find("]]>").map_or(after.len(), |e| e + 3);
            out.push_str("<![CDATA[");
            let body = &after[..end];
            controls += push_without_controls(&mut out, body);
            rest = &after[end..];
        } else if rest.starts_with("<!--") {
            let end = rest.find("-->").map_or(rest.len(), |e| e + 3);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else if rest.len() >= 9 && rest.as_bytes()[..9].eq_ignore_ascii_case(b"<!DOCTYPE") {
            rest = &rest[doctype_end(rest)..];
            doctype = true;
        } else if let Some(tag) = element_tag(rest) {
            match tag {
                Tag::Open(name) => {
                    out.push_str(&rest[..tag_len(rest)]);
                    open.push(name);
                }
                Tag::Close(name) => match open.iter().rposition(|n| *n == name) {
                    Some(at) => {
                        // Elements left open inside are closed first.
                        for inner in open.drain(at + 1..).rev() {
                            out.push_str(&format!("</{inner}>"));
                            unclosed += 1;
                        }
                        open.pop();
                        out.push_str(&rest[..tag_len(rest)]);
                    }
                    None => stray += 1,
                },
                Tag::Other => out.push_str(&rest[..tag_len(rest)]),
            }
            rest = &rest[tag_len(rest)..];
        } else if rest.starts_with('&') {
            if is_reference(&rest[1..]) {
                out.push('&');
            } else {
                out.push_str("&amp;");
                amps += 1;
            }
            rest = &rest[1..];
        } else {
            let first = rest.chars().next().map_or(1, char::len_utf8);
            let next = rest[first..].find(['<', '&']).map_or(rest.len(), |i| i + first);
            controls += push_without_controls(&mut out, &rest[..next]);
            rest = &rest[next..];
        }
    }
    if doctype {
        fixes.push("dropped DOCTYPE".to_string());
    }
    if amps > 0 {
        fixes.push(format!("escaped {amps} bare '&'"));
    }
    if controls > 0 {
        fixes.push(format!("removed {controls} control characters"));
    }
    if stray > 0 {
        fixes.push(format!("dropped {stray} end tag(s) closing nothing open"));
    }
    if unclosed > 0 {
        fixes.push(format!("closed {unclosed} element(s) left open"));
    }
    Repaired { text: out, fixes }
}

/// A tag at the start of text, as the repair sees it.
enum Tag {
    Open(String),
    Close(String),
    /// Self-closing, or a processing instruction.
    Other,
}

/// Length of the tag at the start of `s`, up to its `>` (quotes respected).
fn tag_len(s: &str) -> usize {
    let mut quote: Option<u8> = None;
    for (i, b) in s.bytes().enumerate().skip(1) {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return i + 1,
            _ => {}
        }
    }
    s.len()
}

/// The element tag at the start of `s`, when it is one (`<name …>`,
/// `</name>`, `<name/>`, `<?pi?>`); `None` for anything else, which is left
/// to the parser.
fn element_tag(s: &str) -> Option<Tag> {
    let rest = s.strip_prefix('<')?;
    if rest.starts_with('?') {
        return Some(Tag::Other);
    }
    let (closing, rest) = match rest.strip_prefix('/') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let name_len = rest
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || matches!(c, ':' | '_' | '-' | '.')))
        .map_or(rest.len(), |(i, _)| i);
    if name_len == 0 || !rest.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        return None;
    }
    let name = rest[..name_len].to_string();
    let len = tag_len(s);
    if !s[..len].ends_with('>') {
        return None;
    }
    Some(if closing {
        Tag::Close(name)
    } else if s[..len].ends_with("/>") {
        Tag::Other
    } else {
        Tag::Open(name)
    })
}

fn push_without_controls(out: &mut String, s: &str) -> usize {
    let mut n = 0;
    for c in s.chars() {
        if (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}' {
            n += 1;
        } else {
            out.push(c);
        }
    }
    n
}

/// End of a DOCTYPE, including an internal subset in brackets.
fn doctype_end(s: &str) -> usize {
    let mut depth = 0i32;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'[' => depth += 1,
            b']' => depth -= 1,
            b'>' if depth <= 0 => return i + 1,
            _ => {}
        }
    }
    s.len()
}

/// Whether text after `&` is a complete entity or character reference.
fn is_reference(s: &str) -> bool {
    let Some(end) = s.bytes().take(32).position(|b| b == b';') else { return false };
    let name = &s[..end];
    if let Some(num) = name.strip_prefix('#') {
        return if let Some(hex) = num.strip_prefix(['x', 'X']) {
            !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit())
        } else {
            !num.is_empty() && num.chars().all(|c| c.is_ascii_digit())
        };
    }
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stray_end_tags_dropped_and_skipped_ones_closed() {
        let r = repair("<feed><entry><title>a</title><content>x</content></content></entry><entry><b>y</entry></feed>");
        assert_eq!(r.text, "<feed><entry><title>a</title><content>x</content></entry><entry><b>y</b></entry></feed>");
        assert_eq!(r.fixes, ["dropped 1 end tag(s) closing nothing open", "closed 1 element(s) left open"]);
        let ok = "<?xml version=\"1.0\"?><rss a=\"x>y\"><i/><t>1 &lt; 2</t></rss>";
        assert_eq!(repair(ok).text, ok);
        assert!(repair(ok).fixes.is_empty());
    }

    #[test]
    fn bare_ampersands_escaped_outside_cdata_only() {
        let r = repair("<t>AT&T &amp; R&D &#169; &#x4e2d; a=1&b=2</t><![CDATA[x & y]]>");
        assert_eq!(r.text, "<t>AT&amp;T &amp; R&amp;D &#169; &#x4e2d; a=1&amp;b=2</t><![CDATA[x & y]]>");
        assert_eq!(r.fixes, ["escaped 3 bare '&'"]);
    }

    #[test]
    fn text_starting_with_a_multibyte_character() {
        // Found by the fuzzer: the text run after a tag began with a 3-byte character.
        let r = repair("<title>\u{FFFD}\u{FFFD}</title>R&D");
        assert_eq!(r.text, "<title>\u{FFFD}\u{FFFD}</title>R&amp;D");
        let r = repair("\u{FFFD}\u{FFFD}</title>R&D");
        assert_eq!(r.text, "\u{FFFD}\u{FFFD}R&amp;D", "an end tag closing nothing is dropped");
    }

    #[test]
    fn multibyte_text_is_safe() {
        let r = repair("<title>雷峰网</title><!doctype x><t>量子位 & 机器之心</t>");
        assert_eq!(r.text, "<title>雷峰网</title><t>量子位 &amp; 机器之心</t>");
    }

    #[test]
    fn controls_and_doctype_removed() {
        let r = repair("<!DOCTYPE x [<!ENTITY a \"b\">]><t>a\u{b}b\u{1f}</t>");
        assert_eq!(r.text, "<t>ab</t>");
        assert_eq!(r.fixes.len(), 2);
    }
}
