//! Bytes to UTF-8 text. The charset comes from, in order: a byte-order mark,
//! the HTTP `Content-Type` charset, the XML declaration (or an HTML
//! `<meta charset>`), then statistical detection. A declared charset that
//! the bytes contradict (they do not decode cleanly) is passed over, so a
//! GBK feed served as `charset=utf-8` still reads right.

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// Where the charset came from, for diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharsetSource {
    Bom,
    HttpHeader,
    XmlDeclaration,
    HtmlMeta,
    Utf8Valid,
    Detected,
}

/// UTF-8 text with the charset it was decoded from.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub text: String,
    pub encoding: &'static Encoding,
    pub source: CharsetSource,
    /// True when some bytes could not be decoded and were replaced.
    pub had_errors: bool,
}

/// Charset named by a `Content-Type` header value.
pub fn charset_from_content_type(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| Encoding::for_label(v.trim().trim_matches(['"', '\'']).as_bytes()))?
    })
}

/// The `encoding` of an XML declaration at the start of ASCII-compatible bytes.
fn xml_declared(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(512)];
    let start = head.windows(5).position(|w| w == b"<?xml")?;
    let end = head[start..].windows(2).position(|w| w == b"?>")? + start;
    let decl = &head[start..end];
    let at = find_ci(decl, b"encoding")?;
    let rest = &decl[at + 8..];
    let q = rest.iter().position(|&b| b == b'"' || b == b'\'')?;
    let quote = rest[q];
    let value = &rest[q + 1..];
    let close = value.iter().position(|&b| b == quote)?;
    Encoding::for_label(&value[..close])
}

/// The charset of an HTML `<meta charset>` or `<meta http-equiv content>`.
fn html_meta(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(4096)];
    let mut from = 0;
    while let Some(i) = find_ci(&head[from..], b"charset") {
        let at = from + i + 7;
        let rest = &head[at..];
        let rest = rest.strip_prefix(b"=").or_else(|| {
            let t = rest.iter().position(|b| !b.is_ascii_whitespace())?;
            rest[t..].strip_prefix(b"=")
        });
        if let Some(rest) = rest {
            let value: Vec<u8> = rest
                .iter()
                .skip_while(|b| b.is_ascii_whitespace() || **b == b'"' || **b == b'\'')
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-' || **b == b'_')
                .copied()
                .collect();
            if let Some(e) = Encoding::for_label(&value) {
                return Some(e);
            }
        }
        from = at;
    }
    None
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
}

/// UTF-16 without a BOM betrays itself by `<` followed or preceded by a NUL.
fn utf16_sniff(bytes: &[u8]) -> Option<&'static Encoding> {
    match bytes {
        [b'<', 0, b'?' | b'r' | b'f' | b'R', 0, ..] => Some(UTF_16LE),
        [0, b'<', 0, b'?' | b'r' | b'f' | b'R', ..] => Some(UTF_16BE),
        _ => None,
    }
}

fn strict(encoding: &'static Encoding, bytes: &[u8]) -> Option<String> {
    encoding.decode_without_bom_handling_and_without_replacement(bytes).map(|c| c.into_owned())
}

/// Decodes feed or page bytes to UTF-8; `tld` (e.g. `b"cn"`) hints detection.
pub fn decode(bytes: &[u8], content_type: Option<&str>, tld: Option<&[u8]>) -> Decoded {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
        return Decoded { text: text.into_owned(), encoding, source: CharsetSource::Bom, had_errors };
    }
    let header = content_type.and_then(charset_from_content_type);
    let in_doc = utf16_sniff(bytes)
        .map(|e| (e, CharsetSource::XmlDeclaration))
        .or_else(|| xml_declared(bytes).map(|e| (e, CharsetSource::XmlDeclaration)))
        .or_else(|| html_meta(bytes).map(|e| (e, CharsetSource::HtmlMeta)));
    // A UTF-16 label inside an ASCII-compatible document is a lie.
    let in_doc = in_doc.filter(|(e, _)| utf16_sniff(bytes).is_some() || (*e != UTF_16LE && *e != UTF_16BE));

    let mut candidates: Vec<(&'static Encoding, CharsetSource)> = Vec::new();
    if let Some(h) = header {
        // Servers label everything ISO-8859-1/windows-1252 by default; a
        // document that says otherwise knows better.
        if h == WINDOWS_1252 && in_doc.is_some_and(|(e, _)| e != h) {
            candidates.extend(in_doc);
        }
        candidates.push((h, CharsetSource::HttpHeader));
    }
    candidates.extend(in_doc);
    for (encoding, source) in candidates {
        if let Some(text) = strict(encoding, bytes) {
            return Decoded { text, encoding, source, had_errors: false };
        }
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Decoded {
            text: text.to_string(),
            encoding: UTF_8,
            source: CharsetSource::Utf8Valid,
            had_errors: false,
        };
    }
    // UTF-8 with a few stray bytes is still UTF-8: guessing another charset
    // would garble every Chinese character to save a handful.
    let lossy = String::from_utf8_lossy(bytes);
    let bad = lossy.chars().filter(|c| *c == '\u{FFFD}').count();
    let multibyte = lossy.chars().filter(|c| !c.is_ascii() && *c != '\u{FFFD}').count();
    if bad > 0 && multibyte >= 3 * bad {
        return Decoded {
            text: lossy.into_owned(),
            encoding: UTF_8,
            source: CharsetSource::Utf8Valid,
            had_errors: true,
        };
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let encoding = detector.guess(tld, chardetng::Utf8Detection::Allow);
    let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
    Decoded { text: text.into_owned(), encoding, source: CharsetSource::Detected, had_errors }
}

/// Rewrites the XML declaration of already-decoded text so that it no longer
/// names another encoding (parsers would otherwise decode twice).
pub fn declare_utf8(text: &str) -> std::borrow::Cow<'_, str> {
    let mut head_end = text.len().min(512);
    while !text.is_char_boundary(head_end) {
        head_end -= 1;
    }
    let Some(start) = text[..head_end].find("<?xml") else { return text.into() };
    let Some(end) = text[start..].find("?>").map(|e| e + start) else { return text.into() };
    let decl = &text[start..end];
    let Some(at) = decl.find("encoding") else { return text.into() };
    let rest = &decl[at..];
    let Some(q) = rest.find(['"', '\'']) else { return text.into() };
    let quote = &rest[q..q + 1];
    let Some(close) = rest[q + 1..].find(quote) else { return text.into() };
    let (a, b) = (start + at, start + at + q + 1 + close + 1);
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..a]);
    out.push_str("encoding=\"utf-8\"");
    out.push_str(&text[b..]);
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(s: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(s).0.into_owned()
    }

    const TITLE: &str = "朱镕基与人工智能大会"; // 镕 is in GBK, not GB2312

    #[test]
    fn gbk_with_only_an_xml_declaration() {
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"gb2312\"?><rss><title>".to_vec();
        bytes.extend(gbk(TITLE));
        let d = decode(&bytes, Some("text/xml"), None);
        assert!(d.text.contains(TITLE));
        assert_eq!(d.source, CharsetSource::XmlDeclaration);
    }

    #[test]
    fn header_lying_utf8_is_overruled() {
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"gbk\"?><rss>".to_vec();
        bytes.extend(gbk(TITLE));
        let d = decode(&bytes, Some("application/rss+xml; charset=UTF-8"), None);
        assert!(d.text.contains(TITLE));
    }

    #[test]
    fn latin1_header_yields_to_the_document() {
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"gb18030\"?><rss>".to_vec();
        bytes.extend(gbk(TITLE));
        let d = decode(&bytes, Some("text/xml; charset=iso-8859-1"), None);
        assert!(d.text.contains(TITLE), "{}", d.text);
    }

    #[test]
    fn undeclared_gbk_is_detected() {
        let mut bytes = b"<?xml version=\"1.0\"?><rss><channel><title>".to_vec();
        bytes.extend(gbk("机器之心：人工智能产业的最新动态与深度报道，大模型与智能体的商业化落地"));
        let d = decode(&bytes, None, Some(b"cn"));
        assert_eq!(d.source, CharsetSource::Detected);
        assert!(d.text.contains("机器之心"), "{}", d.text);
    }

    #[test]
    fn utf8_with_stray_bytes_stays_utf8() {
        let mut bytes =
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss>人工智能产业大会在上海开幕，".as_bytes().to_vec();
        bytes.push(0xFF);
        bytes.extend("多家企业发布大模型新品".as_bytes());
        let d = decode(&bytes, None, Some(b"cn"));
        assert!(d.had_errors);
        assert!(
            d.text.contains("人工智能产业大会在上海开幕") && d.text.contains("多家企业发布大模型新品"),
            "{}",
            d.text
        );
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let s = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss>量子位</rss>";
        let mut le: Vec<u8> = vec![0xFF, 0xFE];
        le.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
        assert!(decode(&le, None, None).text.contains("量子位"));
        let be: Vec<u8> = s.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert!(decode(&be, None, None).text.contains("量子位"));
    }

    #[test]
    fn big5_by_declaration() {
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"big5\"?><rss>".to_vec();
        bytes.extend(encoding_rs::BIG5.encode("人工智慧產業").0.iter());
        assert!(decode(&bytes, None, None).text.contains("人工智慧產業"));
    }

    #[test]
    fn html_meta_charset() {
        let mut bytes =
            b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\"></head><body>"
                .to_vec();
        bytes.extend(gbk("新闻列表"));
        let d = decode(&bytes, None, None);
        assert_eq!(d.source, CharsetSource::HtmlMeta);
        assert!(d.text.contains("新闻列表"));
    }

    #[test]
    fn declaration_rewritten_to_utf8() {
        let t = "<?xml version=\"1.0\" encoding='GB2312' standalone=\"yes\"?><rss/>";
        assert_eq!(declare_utf8(t), "<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?><rss/>");
        assert_eq!(declare_utf8("<rss/>"), "<rss/>");
        let long = format!("<?xml version=\"1.0\"?>{}", "技".repeat(400));
        assert_eq!(declare_utf8(&long), long);
    }
}
