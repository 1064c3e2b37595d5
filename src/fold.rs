//! Text folding before comparing or matching: Traditional → Simplified
//! with Taiwan/Hong Kong vocabulary (晶片 → 芯片, 軟體 → 软件, 伺服器 →
//! 服务器, 人工智慧 → 人工智能), full-width → half-width (NFKC), lower case,
//! outlet boilerplate dropped, punctuation to spaces. Clustering, entity
//! matching and tagging all see text this way.

use std::sync::LazyLock;

use ferrous_opencc::OpenCC;
use ferrous_opencc::config::BuiltinConfig;
use unicode_normalization::UnicodeNormalization;

/// OpenCC's Taiwan-to-mainland conversion with phrases (`tw2sp`): regional
/// vocabulary, not just characters. Its dictionaries are compiled into the
/// binary; should they fail to load, character conversion alone stands in.
static REGIONAL: LazyLock<Option<OpenCC>> = LazyLock::new(|| match OpenCC::from_config(BuiltinConfig::Tw2sp) {
    Ok(cc) => Some(cc),
    Err(e) => {
        tracing::warn!(error = %e, "OpenCC tw2sp dictionaries did not load: Traditional text is converted by character only");
        None
    }
});

/// Traditional → Simplified. Text without Traditional characters (nearly
/// all mainland text) costs one character-level pass; only text that has
/// them goes through OpenCC's phrase segmentation.
pub fn simplify(text: &str) -> String {
    simplify_and_tell(text).0
}

/// [`simplify`], and whether the text had Traditional characters.
pub fn simplify_and_tell(text: &str) -> (String, bool) {
    if text.is_ascii() {
        return (text.to_string(), false);
    }
    let by_char = fast2s::convert(text);
    if by_char == text {
        return (by_char, false);
    }
    let simplified = match REGIONAL.as_ref() {
        // OpenCC's tables leave a few characters Traditional; the
        // character pass takes the rest.
        Some(cc) => fast2s::convert(&cc.convert(text)),
        None => by_char,
    };
    (simplified, true)
}

/// Words outlets put around headlines that say nothing about the story.
const BOILERPLATE: &[&str] =
    &["原创", "快讯", "独家", "重磅", "首发", "突发", "最新消息", "最新", "热点", "早报", "晚报", "深度", "解读"];

/// Text in one form before anything compares it: NFKC (full-width →
/// half-width) and Simplified characters with mainland vocabulary, case
/// and punctuation kept (figures need `$`, `%` and `,`).
pub fn normalize(text: &str) -> String {
    normalize_and_tell(text).0
}

/// [`normalize`], and whether the text had Traditional characters.
pub fn normalize_and_tell(text: &str) -> (String, bool) {
    let nfkc: String = match nfkc_fast(text) {
        Some(s) => s,
        None => text.nfkc().collect(),
    };
    simplify_and_tell(&nfkc)
}

/// Folds text for matching: same story, same spelling.
pub fn fold(text: &str) -> String {
    fold_normalized(&normalize(text))
}

/// [`fold`] of text already [`normalize`]d.
pub fn fold_normalized(simplified: &str) -> String {
    let mut out = String::with_capacity(simplified.len());
    let mut space = false;
    let mut push = |c: char, out: &mut String| {
        if c.is_ascii_alphanumeric() || is_han(c) || c.is_alphanumeric() || matches!(c, '.' | '+' | '-' | '#') {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        } else {
            space = true;
        }
    };
    for c in simplified.chars() {
        // ASCII and Han, most of the text, have no case to look up.
        if c.is_ascii() || is_han(c) {
            push(c.to_ascii_lowercase(), &mut out);
        } else {
            for l in c.to_lowercase() {
                push(l, &mut out);
            }
        }
    }
    out
}

/// NFKC of text made only of ASCII, common CJK ideographs, CJK
/// punctuation and full-width forms (nearly every Chinese headline),
/// without the general algorithm: full-width forms map to ASCII, the
/// ideographic space to a space, the rest is already normalized.
fn nfkc_fast(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c as u32 {
            0..=0x7F | 0x4E00..=0x9FFF => out.push(c),
            0x3000 => out.push(' '),
            // 〶 and the Hangzhou numerals 〸〹〺 have compatibility forms.
            0x3036 | 0x3038..=0x303A => return None,
            0x3001..=0x303F => out.push(c),
            0xFF01..=0xFF5E => out.push(char::from_u32(c as u32 - 0xFEE0)?),
            _ => return None,
        }
    }
    Some(out)
}

/// A headline without outlet decoration: `【36氪】`/`[独家]` prefixes,
/// `| 机器之心` / `- 量子位` / `_IT之家` suffixes, and words like 原创, 快讯.
pub fn strip_boilerplate(title: &str) -> String {
    let whole = title.trim();
    let mut t = whole;
    // A short trailing " | Outlet", " - Outlet", "_Outlet".
    for sep in [" | ", "｜", " - ", " — ", "_", " – "] {
        if let Some(at) = memchr::memmem::rfind(t.as_bytes(), sep.as_bytes()) {
            let tail = &t[at + sep.len()..];
            if !tail.trim().is_empty() && tail.chars().count() <= 10 && at > 0 {
                t = &t[..at];
            }
        }
    }
    // Prefixes, possibly several and in any order: 快讯｜【36氪】…
    loop {
        let before = t.len();
        t = strip_bracketed(t.trim_start());
        for word in BOILERPLATE {
            if let Some(rest) = t.strip_prefix(word)
                && (rest.is_empty() || rest.starts_with(|c: char| c.is_whitespace() || PREFIX_SEPARATORS.contains(c)))
            {
                t = rest.trim_start_matches(|c: char| c.is_whitespace() || PREFIX_SEPARATORS.contains(c));
            }
        }
        if t.len() == before || t.is_empty() {
            break;
        }
    }
    let t = t.trim();
    if t.is_empty() { whole.to_string() } else { t.to_string() }
}

/// What separates a boilerplate word from the headline: 快讯｜, 重磅！, 原创:
const PREFIX_SEPARATORS: &str = "｜|：:丨!！,，";

/// The text after one bracketed prefix (`【36氪】`, `[独家]`), if it has one.
fn strip_bracketed(t: &str) -> &str {
    let close = match t.chars().next() {
        Some('【') => '】',
        Some('[') => ']',
        Some('［') => '］',
        Some('〔') => '〕',
        _ => return t,
    };
    match t.find(close) {
        Some(end) if t[..end].chars().count() <= 12 => &t[end + close.len_utf8()..],
        _ => t,
    }
}

/// Whether a character is a Han ideograph (CJK unified, extensions, compatibility).
pub fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding() {
        assert_eq!(fold("ＯｐｅｎＡＩ發佈ＧＰＴ－５！"), "openai发布gpt-5");
        assert_eq!(fold("人工智慧產業，AI眼鏡"), "人工智能产业 ai眼镜");
    }

    #[test]
    fn regional_vocabulary_folds_to_mainland_words() {
        for (taiwan, mainland) in [
            ("台積電晶片產能", "台积电芯片产能"),
            ("人工智慧軟體", "人工智能软件"),
            ("伺服器與記憶體", "服务器与内存"),
            ("資料中心網路", "数据中心网络"),
            ("演算法程式碼", "算法代码"),
        ] {
            assert_eq!(fold(taiwan), mainland, "{taiwan}");
        }
        // Simplified text passes unchanged, and so does text without Han.
        assert_eq!(simplify("英伟达发布新芯片"), "英伟达发布新芯片");
        assert_eq!(simplify("NVIDIA unveils a chip"), "NVIDIA unveils a chip");
    }

    #[test]
    fn fast_nfkc_agrees_with_nfkc() {
        for text in [
            "ＯｐｅｎＡＩ發佈ＧＰＴ－５！",
            "智谱　发布，新模型：GLM-4.5（开源）",
            "【36氪】“引号”《书名》",
            "〸〹 ｶﾀｶﾅ ①",
        ] {
            let general: String = text.nfkc().collect();
            if let Some(fast) = nfkc_fast(text) {
                assert_eq!(fast, general, "{text}");
            }
        }
        assert!(nfkc_fast("智谱　发布，新模型：GLM-4.5").is_some());
        assert!(nfkc_fast("〸").is_none());
    }

    #[test]
    fn boilerplate() {
        assert_eq!(strip_boilerplate("【36氪】智谱推出自主智能体"), "智谱推出自主智能体");
        assert_eq!(strip_boilerplate("【快讯】【独家】阿里发布Qwen3"), "阿里发布Qwen3");
        assert_eq!(strip_boilerplate("AI眼镜大会余江启幕 | 机器之心"), "AI眼镜大会余江启幕");
        assert_eq!(strip_boilerplate("原创：大模型价格战"), "大模型价格战");
        assert_eq!(strip_boilerplate("快讯｜【36氪】智谱推出自主智能体"), "智谱推出自主智能体");
        assert_eq!(strip_boilerplate("重磅！【量子位】阿里发布Qwen3｜智东西"), "阿里发布Qwen3");
        assert_eq!(strip_boilerplate("原创 深度求索开源新模型"), "深度求索开源新模型");
        assert_eq!(strip_boilerplate("【36氪】"), "【36氪】");
        assert_eq!(
            strip_boilerplate("GPT-5 - a review of the new model from OpenAI today"),
            "GPT-5 - a review of the new model from OpenAI today"
        );
    }
}
