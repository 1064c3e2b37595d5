//! Extractive summaries: the most informative sentences of a story's best
//! source, and key facts (list items, sentences with figures) from all of them.

use std::collections::HashSet;

use crate::fold::{fold, is_han};

/// Splits text into sentences on 。！？.!? (not inside figures like 4.5 or
/// 108.22), keeping closing quotes with their sentence; every line break ends
/// a sentence too.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let chars: Vec<char> = line.chars().collect();
        let mut cur = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            cur.push(c);
            let ends = match c {
                '。' | '！' | '？' | '!' | '?' | '；' => true,
                '.' => {
                    let prev_digit = i > 0 && chars[i - 1].is_ascii_digit();
                    let next = chars.get(i + 1).copied();
                    let next_digit = next.is_some_and(|n| n.is_ascii_digit());
                    !(prev_digit && next_digit) && next.is_none_or(|n| n.is_whitespace())
                }
                _ => false,
            };
            if ends {
                while let Some(&q) = chars.get(i + 1) {
                    if matches!(q, '”' | '’' | '"' | '\'' | '」' | '』' | '）' | ')') {
                        cur.push(q);
                        i += 1;
                    } else {
                        break;
                    }
                }
                push_sentence(&mut out, &mut cur);
            }
            i += 1;
        }
        push_sentence(&mut out, &mut cur);
    }
    out
}

fn push_sentence(out: &mut Vec<String>, cur: &mut String) {
    let s = cur.trim();
    if !s.is_empty() {
        out.push(s.to_string());
    }
    cur.clear();
}

/// Drops an outlet's dateline from the start of a text: "IT之家 4 月 1 日消息，",
/// "36氪获悉，", "据新华社报道，".
pub fn strip_dateline(text: &str) -> &str {
    let head: String = text.chars().take(30).collect();
    for marker in ["消息，", "消息,", "获悉，", "获悉,", "讯，", "报道，", "电，"] {
        if let Some(at) = head.find(marker) {
            let before = &head[..at];
            // Only a short lead-in without its own sentence break.
            if before.chars().count() <= 20 && !before.contains(['。', '，', ',']) {
                return text[at + marker.len()..].trim_start();
            }
        }
    }
    text
}

/// Terms of a text for scoring: Han bigrams and Latin words, folded.
pub fn terms(text: &str) -> HashSet<String> {
    let folded = fold(text);
    let mut out = HashSet::new();
    for run in folded.split(' ') {
        let chars: Vec<char> = run.chars().collect();
        let mut word = String::new();
        for (i, &c) in chars.iter().enumerate() {
            if is_han(c) {
                if !word.is_empty() {
                    out.insert(std::mem::take(&mut word));
                }
                if let Some(&n) = chars.get(i + 1).filter(|n| is_han(**n)) {
                    out.insert([c, n].iter().collect());
                }
            } else {
                word.push(c);
            }
        }
        if word.chars().count() > 1 || word.chars().any(|c| c.is_ascii_digit()) {
            out.insert(word);
        }
    }
    out
}

/// Whether a line reads as a list entry rather than a sentence of prose.
pub fn is_list_like(line: &str) -> bool {
    let n = line.chars().count();
    n > 0 && n <= 60 && !line.ends_with(['。', '！', '？', '.', '!', '?', '：', ':'])
}

/// The summary: up to `max_chars` of the best sentences of `text`, in their
/// original order, scored by how many of the story's items share their terms.
pub fn summarize(text: &str, corroboration: &dyn Fn(&str) -> usize, max_chars: usize) -> String {
    let body = strip_dateline(text);
    let prose: Vec<String> = body
        .lines()
        .filter(|l| !is_list_like(l.trim()))
        .flat_map(sentences)
        // A sentence ending in a colon introduces a list; it says nothing alone.
        .filter(|s| s.chars().count() >= 8 && !s.ends_with(['：', ':']))
        .collect();
    let candidates = if prose.is_empty() { sentences(body) } else { prose };
    if candidates.is_empty() {
        return String::new();
    }
    let scored: Vec<(usize, f64)> = candidates
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let t = terms(s);
            let support: usize = t.iter().map(|term| corroboration(term).saturating_sub(1)).sum();
            let len = s.chars().count().max(1) as f64;
            // Lead sentences carry the news; corroborated terms carry the story.
            let position = 1.0 / (1.0 + i as f64);
            (i, support as f64 / len.sqrt() + 2.0 * position)
        })
        .collect();
    // The lead sentence carries the news: always kept, then the best of the rest.
    let mut order: Vec<(usize, f64)> = scored.into_iter().skip(1).collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut chosen: Vec<usize> = vec![0];
    let mut used = candidates[0].chars().count();
    for (i, _) in order {
        let len = candidates[i].chars().count();
        if chosen.is_empty() || used + len <= max_chars {
            chosen.push(i);
            used += len;
        }
        if used >= max_chars {
            break;
        }
    }
    chosen.sort_unstable();
    chosen.iter().map(|&i| candidates[i].as_str()).collect::<Vec<_>>().join("")
}

/// Text of each `<li>` in sanitized HTML.
pub fn list_items(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<li") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else { break };
        let inner = &after[open_end + 1..];
        let end = inner.find("</li>").unwrap_or(inner.len());
        let text = crate::normalize::html::to_text(&inner[..end]).replace('\n', " ");
        if !text.trim().is_empty() {
            out.push(text.trim().to_string());
        }
        rest = &inner[end..];
    }
    out
}

/// Key facts: list entries of the sources (the best source first), else
/// sentences with figures; none that the summary already says, no two alike.
pub fn key_facts(sources: &[(&str, &str)], summary: &str, max: usize) -> Vec<String> {
    let summary_terms = terms(summary);
    let mut facts: Vec<String> = Vec::new();
    let mut fact_terms: Vec<HashSet<String>> = Vec::new();
    let mut consider = |line: &str, facts: &mut Vec<String>| {
        let line = line.trim().trim_end_matches(['；', ';', '，', ',']).trim();
        let n = line.chars().count();
        if !(4..=90).contains(&n) || summary.contains(line) {
            return;
        }
        let t = terms(line);
        let overlap = |other: &HashSet<String>| {
            let shared = t.intersection(other).count() as f64;
            shared / (t.len().min(other.len()).max(1) as f64)
        };
        if overlap(&summary_terms) > 0.8 || fact_terms.iter().any(|o| overlap(o) > 0.45) {
            return;
        }
        fact_terms.push(t);
        facts.push(line.to_string());
    };
    for (html, _) in sources {
        for li in list_items(html) {
            if facts.len() < max {
                consider(&li, &mut facts);
            }
        }
    }
    if facts.is_empty() {
        for (_, text) in sources {
            for s in sentences(strip_dateline(text)) {
                let has_figure = s.chars().any(|c| c.is_ascii_digit());
                if has_figure && facts.len() < max {
                    consider(&s, &mut facts);
                }
            }
        }
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_keep_quotes_and_figures() {
        let s = sentences("他说：“三年内70%岗位将被取代。”阿里7B模型以92.7分超过GPT-4.5。Really? Yes.");
        assert_eq!(s, ["他说：“三年内70%岗位将被取代。”", "阿里7B模型以92.7分超过GPT-4.5。", "Really?", "Yes."]);
    }

    #[test]
    fn datelines_dropped() {
        assert_eq!(strip_dateline("IT之家 4 月 1 日消息，长沙团队发布平台。"), "长沙团队发布平台。");
        assert_eq!(strip_dateline("36氪获悉，智谱完成融资。"), "智谱完成融资。");
        assert_eq!(strip_dateline("会上，消息人士称，……"), "会上，消息人士称，……");
    }

    #[test]
    fn summary_prefers_corroborated_lead_sentences() {
        let text = "余江AI眼镜大会开幕。天气晴朗，会场外排起长队，大家都很开心也很期待。会上发布了三项成果：\nRokid发布49克AR眼镜。";
        let corroborated = ["余江", "眼镜", "rokid", "49"];
        let score = |t: &str| if corroborated.iter().any(|c| t.contains(c)) { 3 } else { 1 };
        let s = summarize(text, &score, 30);
        assert_eq!(s, "余江AI眼镜大会开幕。Rokid发布49克AR眼镜。");
    }

    #[test]
    fn facts_from_lists_then_figures() {
        let html = "<p>x</p><ul><li>规划千亩产业园，设立5亿产业资金</li><li>实施人才培育计划</li></ul>";
        let facts = key_facts(&[(html, "x")], "", 5);
        assert_eq!(facts, ["规划千亩产业园，设立5亿产业资金", "实施人才培育计划"]);
        let facts = key_facts(&[("<p>t</p>", "收入达108.22亿元。天气很好。")], "", 5);
        assert_eq!(facts, ["收入达108.22亿元。"]);
    }
}
