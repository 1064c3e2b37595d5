//! Figures as news states them, read the same in every language and
//! notation: 6.9亿美元 = $690 million = US$690M; 50亿元 = 5 billion yuan;
//! 80% = 八成 = 80 percent; 3倍 = 3x; 6月18日 = June 18. Each figure keeps
//! its unit and currency, so 6.9亿美元 and 6.9亿元 differ. Clustering uses
//! them as evidence (the same figures across languages) and as a veto (the
//! same kind of figure, other values: other news).

use std::fmt;

/// What a figure counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unit {
    Cny,
    Usd,
    Hkd,
    Twd,
    Eur,
    Jpy,
    Percent,
    /// A multiple: 3倍, 3x, threefold.
    Times,
    /// A day of the year, as `month * 100 + day`.
    Date,
    /// A number with no unit we read (49克, 92.7分, 1,000 units).
    Plain,
}

impl Unit {
    /// Whether the figure is an amount of money.
    pub fn is_money(self) -> bool {
        matches!(self, Unit::Cny | Unit::Usd | Unit::Hkd | Unit::Twd | Unit::Eur | Unit::Jpy)
    }
}

/// One figure: a value in its unit's base (yuan, dollars, percent points).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figure {
    pub value: f64,
    pub unit: Unit,
}

impl Figure {
    /// Whether two figures state the same thing: amounts, shares and
    /// multiples within 1% (rounding across notations); dates and plain
    /// numbers exactly (June 18 is not June 24, an RTX 4090 not a 4080).
    pub fn same(&self, other: &Figure) -> bool {
        self.unit == other.unit && {
            let (a, b) = (self.value, other.value);
            match self.unit {
                Unit::Date | Unit::Plain => a == b,
                _ => (a - b).abs() <= 0.01 * a.abs().max(b.abs()) + f64::EPSILON,
            }
        }
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.value;
        let scaled = |v: f64| -> String {
            let (n, suffix) = if v.abs() >= 1e9 {
                (v / 1e9, "B")
            } else if v.abs() >= 1e6 {
                (v / 1e6, "M")
            } else if v.abs() >= 1e3 {
                (v / 1e3, "K")
            } else {
                (v, "")
            };
            let s = format!("{n:.2}");
            format!("{}{suffix}", s.trim_end_matches('0').trim_end_matches('.'))
        };
        match self.unit {
            Unit::Cny => write!(f, "CNY {}", scaled(v)),
            Unit::Usd => write!(f, "USD {}", scaled(v)),
            Unit::Hkd => write!(f, "HKD {}", scaled(v)),
            Unit::Twd => write!(f, "TWD {}", scaled(v)),
            Unit::Eur => write!(f, "EUR {}", scaled(v)),
            Unit::Jpy => write!(f, "JPY {}", scaled(v)),
            Unit::Percent => write!(f, "{}%", scaled(v)),
            Unit::Times => write!(f, "{}x", scaled(v)),
            Unit::Date => write!(f, "{:02}-{:02}", (v as i64) / 100, (v as i64) % 100),
            Unit::Plain => write!(f, "{v}"),
        }
    }
}

/// Multipliers after a number, longest first where one is a prefix of another.
const SCALES: &[(&str, f64)] = &[
    ("万亿", 1e12),
    ("千亿", 1e11),
    ("百亿", 1e10),
    ("十亿", 1e9),
    ("亿", 1e8),
    ("千万", 1e7),
    ("百万", 1e6),
    ("万", 1e4),
    ("trillion", 1e12),
    ("billion", 1e9),
    ("million", 1e6),
    ("bn", 1e9),
    ("b", 1e9),
    ("mn", 1e6),
    ("m", 1e6),
    ("k", 1e3),
    ("thousand", 1e3),
];

/// Currency words after a number (after any multiplier).
const CURRENCY_AFTER: &[(&str, Unit)] = &[
    ("美元", Unit::Usd),
    ("美金", Unit::Usd),
    ("港元", Unit::Hkd),
    ("港币", Unit::Hkd),
    ("新台币", Unit::Twd),
    ("台币", Unit::Twd),
    ("欧元", Unit::Eur),
    ("日元", Unit::Jpy),
    ("人民币", Unit::Cny),
    ("元", Unit::Cny),
    ("块", Unit::Cny),
    ("us dollars", Unit::Usd),
    ("dollars", Unit::Usd),
    ("usd", Unit::Usd),
    ("yuan", Unit::Cny),
    ("rmb", Unit::Cny),
    ("cny", Unit::Cny),
    ("hkd", Unit::Hkd),
    ("euros", Unit::Eur),
    ("euro", Unit::Eur),
    ("yen", Unit::Jpy),
];

/// Currency marks before a number.
const CURRENCY_BEFORE: &[(&str, Unit)] = &[
    ("us$", Unit::Usd),
    ("hk$", Unit::Hkd),
    ("nt$", Unit::Twd),
    ("rmb", Unit::Cny),
    ("cny", Unit::Cny),
    ("usd", Unit::Usd),
    ("$", Unit::Usd),
    ("¥", Unit::Cny),
    ("€", Unit::Eur),
    ("人民币", Unit::Cny),
    ("新台币", Unit::Twd),
    ("台币", Unit::Twd),
    ("港币", Unit::Hkd),
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Chinese numerals, for 八成, 三倍, 百分之八十, 五十亿.
fn chinese_digit(c: char) -> Option<u32> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

/// A Chinese numeral (十, 二十五, 一百, 八) at the start of `s`, with its length in bytes.
fn chinese_number(s: &str) -> Option<(f64, usize)> {
    let (mut total, mut current, mut used, mut any) = (0u32, 0u32, 0usize, false);
    for c in s.chars() {
        if let Some(d) = chinese_digit(c) {
            current = d;
        } else {
            let scale = match c {
                '十' => 10,
                '百' => 100,
                '千' => 1000,
                _ => break,
            };
            // A bare 十, 百 or 千 counts one of it (百万 is a million).
            let count = if current == 0 { 1 } else { current };
            total = total.checked_add(count.checked_mul(scale)?)?;
            current = 0;
        }
        any = true;
        used += c.len_utf8();
    }
    any.then(|| (f64::from(total.checked_add(current).unwrap_or(total)), used))
}

/// An Arabic number (1,234.5) at the start of `s`, with its length in bytes.
fn arabic_number(s: &str) -> Option<(f64, usize)> {
    let b = s.as_bytes();
    let mut end = 0;
    let mut digits = String::new();
    while end < b.len() {
        let c = b[end];
        if c.is_ascii_digit() {
            digits.push(c as char);
        } else if c == b'.' && end + 1 < b.len() && b[end + 1].is_ascii_digit() && !digits.contains('.') {
            digits.push('.');
        } else if c == b','
            && end + 3 < b.len()
            && b[end + 1..end + 4].iter().all(u8::is_ascii_digit)
            && b.get(end + 4).is_none_or(|d| !d.is_ascii_digit())
            && !digits.is_empty()
        {
            // A thousands separator: 1,234 (never a decimal comma here).
        } else {
            break;
        }
        end += 1;
    }
    digits.parse().ok().map(|v| (v, end))
}

/// Skips spaces.
fn skip_spaces(s: &str) -> &str {
    s.trim_start_matches([' ', '\u{a0}'])
}

/// Whether `word` starts `s` and is not the start of a longer Latin word.
fn starts_word(s: &str, word: &str) -> bool {
    s.starts_with(word)
        && (!word.ends_with(|c: char| c.is_ascii_alphabetic())
            || !s[word.len()..].starts_with(|c: char| c.is_ascii_alphabetic()))
}

/// Reads the figures of a text, in order of appearance, each once.
pub fn extract(text: &str) -> Vec<Figure> {
    extract_normalized(&crate::fold::normalize(text))
}

/// [`extract`] for text already [`crate::fold::normalize`]d.
pub fn extract_normalized(text: &str) -> Vec<Figure> {
    // Most text states no figure: no digit, no Chinese numeral.
    if !text.chars().any(|c| c.is_ascii_digit() || chinese_digit(c).is_some() || matches!(c, '十' | '百')) {
        return Vec::new();
    }
    let prepared = text.to_lowercase();
    let s = prepared.as_str();
    let mut out: Vec<Figure> = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        let Some(c) = rest.chars().next() else { break };
        // A number starts here: Arabic digits, or a Chinese numeral that a
        // unit follows.
        let prev = s[..i].chars().next_back();
        let after_word = prev.is_some_and(|p| p.is_ascii_alphanumeric() || p == '.' || p == '-')
            && !CURRENCY_BEFORE.iter().any(|(mark, _)| s[..i].ends_with(mark));
        let parsed = if c.is_ascii_digit() && !after_word {
            arabic_number(rest)
        } else if (chinese_digit(c).is_some() || matches!(c, '十' | '百'))
            // 数十亿, 几百万, 上千: vague, not a figure.
            && !prev.is_some_and(|p| matches!(p, '数' | '几' | '上' | '近' | '逾'))
        {
            chinese_number(rest).filter(|(_, len)| {
                let tail = &rest[*len..];
                ["成", "倍", "亿", "万", "元", "美元", "%"].iter().any(|u| tail.starts_with(u))
            })
        } else {
            None
        };
        let Some((number, len)) = parsed else {
            if let Some(f) = percent_words(rest) {
                out.push(f.0);
                i += f.1;
                continue;
            }
            i += c.len_utf8();
            continue;
        };
        let (figure, used) = read_figure(s, i, number, len);
        if let Some(f) = figure
            && !out.iter().any(|o| o.same(&f))
        {
            out.push(f);
        }
        i += used.max(c.len_utf8());
    }
    out
}

/// 百分之八十 / 百分之 80.
fn percent_words(s: &str) -> Option<(Figure, usize)> {
    let after = s.strip_prefix("百分之")?;
    let rest = skip_spaces(after);
    let (n, len) = arabic_number(rest).or_else(|| chinese_number(rest))?;
    Some((Figure { value: n, unit: Unit::Percent }, "百分之".len() + (after.len() - rest.len()) + len))
}

/// What follows the number at `start` (`len` bytes) makes it a figure.
fn read_figure(s: &str, start: usize, number: f64, len: usize) -> (Option<Figure>, usize) {
    let before = &s[..start];
    let before_trim = before.trim_end_matches([' ', '\u{a0}']);
    let mut currency = CURRENCY_BEFORE.iter().find(|(mark, _)| before_trim.ends_with(mark)).map(|(_, u)| *u);
    let mut pos = start + len;
    let mut value = number;
    let tail = |pos: usize| skip_spaces(&s[pos..]);
    let offset = |pos: usize| s.len() - tail(pos).len();

    // Dates: 6月18日, june 18, 18 june.
    if number.fract() == 0.0 && (1.0..=12.0).contains(&number) && s[pos..].starts_with('月') {
        let after = &s[pos + '月'.len_utf8()..];
        if let Some((day, dlen)) = arabic_number(after).or_else(|| chinese_number(after))
            && (1.0..=31.0).contains(&day)
            && let Some(mark) = after[dlen..].chars().next().filter(|c| matches!(c, '日' | '号'))
        {
            let used = pos + '月'.len_utf8() + dlen + mark.len_utf8() - start;
            return (Some(Figure { value: number * 100.0 + day, unit: Unit::Date }), used);
        }
    }
    if number.fract() == 0.0 && (1.0..=31.0).contains(&number) {
        let prev_word = before_trim.trim_end_matches('.').rsplit([' ', '.']).next().unwrap_or("");
        if let Some(m) = month_of(prev_word) {
            return (Some(Figure { value: f64::from(m) * 100.0 + number, unit: Unit::Date }), len);
        }
        let next = tail(pos);
        if let Some(m) = month_of(next.split([' ', ',', '.']).next().unwrap_or("")) {
            let word = next.split([' ', ',', '.']).next().unwrap_or("").len();
            return (
                Some(Figure { value: f64::from(m) * 100.0 + number, unit: Unit::Date }),
                offset(pos) + word - start,
            );
        }
    }

    // Percent and multiples.
    let t = tail(pos);
    for (mark, unit, factor) in [
        ("%", Unit::Percent, 1.0),
        ("percent", Unit::Percent, 1.0),
        ("per cent", Unit::Percent, 1.0),
        ("个百分点", Unit::Percent, 1.0),
        ("成", Unit::Percent, 10.0),
        ("倍", Unit::Times, 1.0),
        ("x", Unit::Times, 1.0),
        ("times", Unit::Times, 1.0),
        ("-fold", Unit::Times, 1.0),
        ("fold", Unit::Times, 1.0),
    ] {
        if starts_word(t, mark) && !(mark == "成" && number > 10.0) {
            let used = offset(pos) + mark.len() - start;
            return (Some(Figure { value: number * factor, unit }), used);
        }
    }

    // Scale words, possibly two (亿 then 美元; million then yuan).
    for (word, scale) in SCALES {
        let t = tail(pos);
        // Single Latin letters (m, b, k) only glued to the number: 690m, 5b.
        let glued = word.len() <= 2 && word.is_ascii();
        if (glued
            && s[pos..].starts_with(word)
            && !s[pos + word.len()..].starts_with(|c: char| c.is_ascii_alphabetic()))
            || (!glued && starts_word(t, word))
        {
            value *= scale;
            pos = if glued { pos + word.len() } else { offset(pos) + word.len() };
            break;
        }
    }
    // A trailing currency word.
    if let Some((word, unit)) = CURRENCY_AFTER.iter().find(|(w, _)| starts_word(tail(pos), w)) {
        // 元 after 新台币300亿 is the Taiwan dollar's 元, not the renminbi.
        if currency.is_none() || !matches!(*word, "元" | "块") {
            currency = Some(*unit);
        }
        pos = offset(pos) + word.len();
    }
    let used = pos - start;
    let unit = currency.unwrap_or(Unit::Plain);
    // Bare years (2025) and single digits say nothing about the story.
    let year = unit == Unit::Plain && value.fract() == 0.0 && (1900.0..=2100.0).contains(&value) && len == 4;
    if year {
        return (None, used);
    }
    // Scaled amounts round to three digits (6.9亿 and 690 million agree);
    // a plain number stays as written.
    let value = if unit == Unit::Plain && value == number { value } else { round3(value) };
    (Some(Figure { value, unit }), used)
}

fn month_of(word: &str) -> Option<u32> {
    if word.len() < 3 {
        return None;
    }
    MONTHS.iter().position(|m| m.starts_with(word) || word == &m[..3]).map(|i| i as u32 + 1)
}

/// Rounds to three significant digits: 6.9亿 and 690 million agree.
fn round3(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let magnitude = v.abs().log10().floor();
    let factor = 10f64.powf(2.0 - magnitude);
    (v * factor).round() / factor
}

/// Whether the headlines of two items state different figures of one kind
/// that neither item shares: 80亿元 against 39亿元 is other news; $690
/// million against 50亿元 is not a contradiction, only another currency.
pub fn conflict(title_a: &[Figure], all_a: &[Figure], title_b: &[Figure], all_b: &[Figure]) -> bool {
    conflict_where(title_a, all_a, title_b, all_b, |_| true)
}

/// [`conflict`] over figures with a unit only: plain numbers (49克, 31个,
/// 180 cm) count different things, so two of them are no contradiction.
/// What keeps reports in different languages apart.
pub fn conflict_with_units(title_a: &[Figure], all_a: &[Figure], title_b: &[Figure], all_b: &[Figure]) -> bool {
    conflict_where(title_a, all_a, title_b, all_b, |u| u != Unit::Plain)
}

fn conflict_where(
    title_a: &[Figure],
    all_a: &[Figure],
    title_b: &[Figure],
    all_b: &[Figure],
    counts: impl Fn(Unit) -> bool,
) -> bool {
    let comparable = title_a.iter().any(|x| counts(x.unit) && title_b.iter().any(|y| x.unit == y.unit));
    if !comparable {
        return false;
    }
    let shared = title_a.iter().any(|x| all_b.iter().any(|y| x.same(y)))
        || title_b.iter().any(|x| all_a.iter().any(|y| x.same(y)));
    !shared
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Vec<String> {
        extract(s).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn money_in_every_notation() {
        assert_eq!(read("百川智能完成6.9亿美元融资"), ["USD 690M"]);
        assert_eq!(read("Baichuan AI raises $690 million"), ["USD 690M"]);
        assert_eq!(read("raised US$690M in a round"), ["USD 690M"]);
        assert_eq!(read("US$ 690 million"), ["USD 690M"]);
        assert_eq!(read("完成50亿元融资"), ["CNY 5B"]);
        assert_eq!(read("a 5 billion yuan round"), ["CNY 5B"]);
        assert_eq!(read("RMB5bn"), ["CNY 5B"]);
        assert_eq!(read("募資50億元"), ["CNY 5B"]);
        assert_eq!(read("6.9亿元"), ["CNY 690M"]);
        assert_ne!(extract("6.9亿美元")[0], extract("6.9亿元")[0]);
        assert_eq!(read("五十亿元"), ["CNY 5B"]);
        assert_eq!(read("1,000万元"), ["CNY 10M"]);
        assert_eq!(read("557万美元"), ["USD 5.57M"]);
        assert_eq!(read("$5.57 million"), ["USD 5.57M"]);
        assert_eq!(read("新台幣300億元"), ["TWD 30B"]);
        assert_eq!(read("NT$30 billion"), ["TWD 30B"]);
    }

    #[test]
    fn shares_multiples_and_dates() {
        assert_eq!(read("API降价80%"), ["80%"]);
        assert_eq!(read("豆包大模型API降价八成"), ["80%"]);
        assert_eq!(read("cuts prices by 80 percent"), ["80%"]);
        assert_eq!(read("百分之八十"), ["80%"]);
        assert_eq!(read("速度提升3倍"), ["3x"]);
        assert_eq!(read("3x faster"), ["3x"]);
        assert_eq!(read("两倍"), ["2x"]);
        assert_eq!(read("百分之 80"), ["80%"]);
        assert_eq!(read("百万美元"), ["USD 1M"]);
        assert_eq!(read("数十亿元融资"), Vec::<String>::new(), "vague");
        assert_eq!(read("1,2345 and 100，2025"), ["1", "2345", "100"]);
        assert_eq!(read("6月18日至6月20日"), ["06-18", "06-20"]);
        assert!(!extract("6月18日")[0].same(&extract("June 24")[0]));
        assert!(!extract("RTX 4090")[0].same(&extract("RTX 4080")[0]));
        assert_eq!(read("6月18日发布"), ["06-18"]);
        assert_eq!(read("on June 18"), ["06-18"]);
        assert_eq!(read("18 June"), ["06-18"]);
        assert_eq!(read("Jun. 18"), ["06-18"]);
    }

    #[test]
    fn plain_numbers_and_what_is_no_figure() {
        assert_eq!(read("Rokid发布49克AR眼镜"), ["49"]);
        assert_eq!(read("49-gram AR glasses"), ["49"]);
        assert_eq!(read("Qwen2.5-Omni得分92.7"), ["92.7"]);
        assert_eq!(read("2025中国AI眼镜大会"), Vec::<String>::new());
        assert_eq!(read("GPT-4.5 and H20 and RTX 4090"), ["4090"]);
        assert_eq!(read("一体机与一站式"), Vec::<String>::new());
        assert_eq!(read("mass market 5 models"), ["5"]);
    }

    #[test]
    fn conflicts_need_one_kind_of_figure() {
        let f = |s: &str| extract(s);
        let (a, b) = (f("芯片企业A完成80亿元融资"), f("芯片企业B完成39亿元融资"));
        assert!(conflict(&a, &a, &b, &b));
        let (usd, cny) = (f("raises $690 million"), f("完成50亿元融资"));
        assert!(!conflict(&usd, &usd, &cny, &cny), "another currency is no contradiction");
        let (x, y) = (f("降价80%"), f("cuts prices by 80 percent"));
        assert!(!conflict(&x, &x, &y, &y));
        let (g, h) = (f("49克AR眼镜"), f("31个自由度的机器人"));
        assert!(
            conflict(&g, &g, &h, &h) && !conflict_with_units(&g, &g, &h, &h),
            "plain numbers count different things"
        );
    }
}
