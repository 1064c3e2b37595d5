//! Dates as real feeds write them: RFC 3339, RFC 822 and its broken variants,
//! `2025-04-02 08:30:00`, `2025年4月2日 08:30`. A date without a zone is taken
//! in the source's zone; `CST` means China Standard Time when the source's
//! zone is at +08:00, US Central otherwise.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::timespan::{self, Unit};

/// Parses a feed date; `None` when nothing sensible can be read.
pub fn parse_date(input: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let s = input.trim();
    if s.is_empty() || s.len() > 100 {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    // Unix time, in seconds or milliseconds (pages and APIs write both).
    if matches!(s.len(), 9 | 10 | 12 | 13) && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok().and_then(timespan::from_unix);
    }
    // The common RSS form with a numeric offset ("…08:00:00 +0800") means
    // the same to chrono as to us; named zones (CST!) need our reading.
    let numeric_zone = s
        .rsplit(' ')
        .next()
        .is_some_and(|z| z.len() == 5 && z.starts_with(['+', '-']) && z[1..].bytes().all(|b| b.is_ascii_digit()));
    if numeric_zone && let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.with_timezone(&Utc));
    }
    parse_tokens(s, tz)
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/// Month names and abbreviations of German, French and Spanish that English
/// prefixes do not already read, accents folded (`mär`, `févr`, `déc`).
const OTHER_MONTHS: [(&str, u32); 22] = [
    ("ene", 1),
    ("janv", 1),
    ("fev", 2),
    ("mär", 3),
    ("mrz", 3),
    ("avr", 4),
    ("abr", 4),
    ("mai", 5),
    ("juin", 6),
    ("juil", 7),
    ("aou", 8),
    ("ago", 8),
    ("set", 9),
    ("okt", 10),
    ("dez", 12),
    ("dic", 12),
    ("dec", 12),
    ("marz", 3),
    ("mars", 3),
    ("juni", 6),
    ("juli", 7),
    ("mayo", 5),
];

/// Folds the accents of Western month and day names (`févr` → `fevr`).
fn unaccent(w: &str) -> String {
    w.chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'É' => 'e',
            'û' | 'ù' => 'u',
            'á' | 'à' => 'a',
            'í' => 'i',
            'ó' => 'o',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

fn month_of(word: &str) -> Option<u32> {
    let w = word.to_lowercase();
    if w.chars().count() < 3 || !w.chars().all(char::is_alphabetic) {
        return None;
    }
    let folded = unaccent(&w);
    if let Some((_, m)) = OTHER_MONTHS.iter().find(|(name, _)| w.starts_with(name) || folded.starts_with(name)) {
        return Some(*m);
    }
    MONTHS.iter().position(|m| folded.starts_with(m)).map(|i| i as u32 + 1)
}

/// Weekday names in English, German, French and Spanish (and Chinese).
fn is_weekday(word: &str) -> bool {
    let w = unaccent(&word.to_lowercase());
    const TWO: [&str; 7] = ["mo", "di", "mi", "do", "fr", "sa", "so"];
    const PREFIX: [&str; 21] = [
        "mon", "tue", "wed", "thu", "fri", "sat", "sun", "die", "mit", "don", "fre", "sam", "son", "lun", "mer", "jeu",
        "ven", "dim", "mie", "jue", "vie",
    ];
    TWO.contains(&w.as_str())
        || (w.len() >= 3 && PREFIX.iter().any(|d| w.starts_with(d)))
        || ["星期", "周"].iter().any(|d| word.starts_with(d))
}

/// An IANA zone written where an offset belongs (`America/Los_Angeles`).
fn iana_zone(s: &str) -> Option<(String, Tz)> {
    s.split_whitespace().find_map(|w| {
        let w = w.trim_matches(|c: char| c == '(' || c == ')' || c == ',');
        (w.contains('/') && w.starts_with(|c: char| c.is_ascii_uppercase()))
            .then(|| w.parse::<Tz>().ok().map(|tz| (w.to_string(), tz)))
            .flatten()
    })
}

/// Offset in seconds east of UTC for a zone abbreviation.
fn named_zone(word: &str, tz: Tz) -> Option<i32> {
    let h = 3600;
    Some(match word.to_ascii_uppercase().as_str() {
        "Z" | "UT" | "UTC" | "GMT" | "WET" => 0,
        "CST" => {
            // China Standard Time for Chinese sources, US Central otherwise.
            let probe = Utc::now().with_timezone(&tz).offset().fix().local_minus_utc();
            if probe == 8 * h { 8 * h } else { -6 * h }
        }
        "BJT" | "CCT" | "HKT" | "SGT" | "AWST" | "PHT" => 8 * h,
        "JST" | "KST" => 9 * h,
        "IST" => 5 * h + 1800,
        "EST" => -5 * h,
        "EDT" => -4 * h,
        "CDT" => -5 * h,
        "MST" => -7 * h,
        "MDT" => -6 * h,
        "PST" => -8 * h,
        "PDT" => -7 * h,
        "BST" | "CET" | "MET" => h,
        "CEST" | "MEST" | "EET" => 2 * h,
        "EEST" | "MSK" => 3 * h,
        "AEST" => 10 * h,
        "AEDT" => 11 * h,
        _ => return None,
    })
}

/// `+0800`, `+08:00`, `+08`, `GMT+8`, `UTC+08:00`.
fn numeric_zone(word: &str) -> Option<i32> {
    let w = word.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let (sign, rest) = match w.as_bytes().first()? {
        b'+' => (1, &w[1..]),
        b'-' => (-1, &w[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (hh, mm) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        3 => (digits[..1].parse::<i32>().ok()?, digits[1..].parse::<i32>().ok()?),
        4 => (digits[..2].parse::<i32>().ok()?, digits[2..].parse::<i32>().ok()?),
        _ => return None,
    };
    if hh > 14 || mm > 59 {
        return None;
    }
    Some(sign * (hh * 3600 + mm * 60))
}

fn parse_time(word: &str) -> Option<(NaiveTime, Option<i32>)> {
    // A time may carry its zone glued on: 08:30:00+08:00, 08:30:00Z, 08:30:00.123
    let zone_at = word.find(['+', 'Z', 'z']).or_else(|| word.rfind('-').filter(|&i| i > 0));
    let (clock, zone) = match zone_at {
        Some(i) => (&word[..i], Some(&word[i..])),
        None => (word, None),
    };
    let clock = clock.split('.').next()?;
    let parts: Vec<&str> = clock.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let h: u32 = parts[0].parse().ok()?;
    let m: u32 = parts[1].parse().ok()?;
    let s: u32 = parts.get(2).map_or(Some(0), |p| p.parse().ok())?;
    let t = NaiveTime::from_hms_opt(h, m, s.min(59))?;
    let offset = match zone {
        None => None,
        Some(z) if z.eq_ignore_ascii_case("z") => Some(0),
        Some(z) => Some(numeric_zone(z)?),
    };
    Some((t, offset))
}

/// Splits into words, turning Chinese and ISO date punctuation into spaces so
/// that every layout reduces to a few numbers, a month name and a zone.
fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(std::mem::take(cur));
        }
    };
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '年' | '月' | '日' | '号' | ',' | '，' | '/' | ' ' | '\t' | '\u{3000}' => flush(&mut cur, &mut out),
            '时' | '点' => cur.push(':'),
            '分' => {}
            '秒' => {}
            'T' if i > 0 && chars[i - 1].is_ascii_digit() && chars.get(i + 1).is_some_and(char::is_ascii_digit) => {
                flush(&mut cur, &mut out)
            }
            _ => cur.push(c),
        }
    }
    flush(&mut cur, &mut out);
    // A date written with dashes or dots (2025-04-02, 2025.04.02) becomes three numbers.
    let mut split = Vec::new();
    for t in out {
        let sep = if t.contains(':') { None } else { ['-', '.'].into_iter().find(|s| t.matches(*s).count() == 2) };
        match sep {
            Some(sep) if t.split(sep).all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric())) => {
                split.extend(t.split(sep).map(str::to_string))
            }
            _ => split.push(t),
        }
    }
    // "上午/下午" markers: handled by the caller through a flag.
    split
}

fn parse_tokens(s: &str, tz: Tz) -> Option<DateTime<Utc>> {
    // JavaScript's Date.toString(): `… GMT+0000 (Coordinated Universal Time)`.
    let s = match s.find('(') {
        Some(i) if s.ends_with(')') => s[..i].trim_end(),
        _ => s,
    };
    // A zone name where the offset belongs: read in that zone.
    let (s, tz, named) = match iana_zone(s) {
        Some((name, zone)) => (s.replace(&name, " "), zone, true),
        None => (s.to_string(), tz, false),
    };
    let s = s.as_str();
    let afternoon = s.contains("下午") || s.contains("晚上");
    let cleaned = s.replace("上午", " ").replace("下午", " ").replace("晚上", " ");
    let toks = tokens(&cleaned);
    let mut numbers: Vec<&str> = Vec::new();
    let mut month_name = None;
    let mut time = None;
    let mut offset: Option<i32> = None;
    let mut pm = afternoon;
    let weekday_first = toks.first().is_some_and(|t| is_weekday(t) && month_of(t).is_none());
    for t in &toks {
        let t = t.as_str();
        // Abbreviations end in a dot: `janv.`, `mar.`.
        let t = if t.len() > 1 && t.ends_with('.') && t[..t.len() - 1].chars().all(char::is_alphabetic) {
            &t[..t.len() - 1]
        } else {
            t
        };
        // Ordinals: 16th, 1st, 2nd, 3rd (and French 1er).
        let t = match t.find(|c: char| !c.is_ascii_digit()) {
            Some(i) if i > 0 && i <= 2 && matches!(&t[i..], "st" | "nd" | "rd" | "th" | "er" | "e" | ".") => &t[..i],
            _ => t,
        };
        if t.chars().all(|c| c.is_ascii_digit()) {
            numbers.push(t);
        } else if t.contains(':') && t.starts_with(|c: char| c.is_ascii_digit()) {
            let (tm, off) = parse_time(t)?;
            time = Some(tm);
            if off.is_some() {
                offset = off;
            }
        } else if let Some(m) = month_of(t) {
            month_name = Some(m);
        } else if is_weekday(t) {
        } else if t.eq_ignore_ascii_case("pm") {
            pm = true;
        } else if t.eq_ignore_ascii_case("am") {
        } else if let Some(o) = numeric_zone(t).or_else(|| named_zone(t, tz)) {
            offset = Some(o);
        } else if let Some(o) = t
            .to_ascii_uppercase()
            .strip_prefix("GMT")
            .or_else(|| t.to_ascii_uppercase().strip_prefix("UTC").map(|_| ""))
            .and_then(|rest| if rest.is_empty() { Some(0) } else { numeric_zone(rest) })
        {
            offset = Some(o);
        } else {
            return None;
        }
    }
    let (y, m, d) = match (month_name, numbers.as_slice()) {
        // RFC 822: 02 Apr 2025 / Apr 02 2025
        (Some(m), [a, b]) => {
            let (day, year) = if a.len() == 4 { (b, a) } else { (a, b) };
            (year_of(year)?, m, day.parse().ok()?)
        }
        // ISO and Chinese: 2025 04 02
        (None, [a, b, c]) if a.len() == 4 => (year_of(a)?, b.parse().ok()?, c.parse().ok()?),
        // Day first after an RFC 822 weekday (`Sat, 11 04 2020` is 11 April)
        // or when the first number cannot be a month; else US: 04 02 2025.
        (None, [a, b, c]) if c.len() == 4 => {
            let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
            if weekday_first || a > 12 { (year_of(c)?, b, a) } else { (year_of(c)?, a, b) }
        }
        // 20250402
        (None, [a]) if a.len() == 8 => (year_of(&a[..4])?, a[4..6].parse().ok()?, a[6..].parse().ok()?),
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(y, m, d)?;
    let mut time = time.unwrap_or(NaiveTime::MIN);
    if pm && time < NaiveTime::from_hms_opt(12, 0, 0)? {
        time += chrono::Duration::hours(12);
    }
    let naive = NaiveDateTime::new(date, time);
    match offset {
        Some(o) if !named => {
            FixedOffset::east_opt(o)?.from_local_datetime(&naive).single().map(|d| d.with_timezone(&Utc))
        }
        _ => tz.from_local_datetime(&naive).earliest().map(|d| d.with_timezone(&Utc)),
    }
}

fn year_of(s: &str) -> Option<i32> {
    let y: i32 = s.parse().ok()?;
    match s.len() {
        2 => Some(if y < 70 { 2000 + y } else { 1900 + y }),
        4 => Some(y),
        _ => None,
    }
}

/// Dates web pages write relative to when they are read: 刚刚, 3小时前,
/// 30分钟前, 昨天 14:30, 前天, "04-02 08:30" without a year, "2 hours ago".
/// Falls back to [`parse_date`].
pub fn parse_page_date(input: &str, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let s = input.trim();
    if s.is_empty() {
        return None;
    }
    if s == "刚刚" || s.eq_ignore_ascii_case("just now") {
        return Some(now);
    }
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 {
        // A count too long for a u64 is still a count: of an absurd age.
        let n = s[..digits].parse::<u64>().unwrap_or(u64::MAX);
        let rest = s[digits..].trim().to_ascii_lowercase();
        let unit = match rest.as_str() {
            r if r.starts_with("秒") || r.starts_with("sec") => Some(Unit::Seconds),
            r if r.starts_with("分钟") || r.starts_with("min") => Some(Unit::Minutes),
            r if r.starts_with("小时") || r.starts_with("个小时") || r.starts_with("hour") => Some(Unit::Hours),
            r if r.starts_with("天") || r.starts_with("day") => Some(Unit::Days),
            _ => None,
        };
        if let Some(unit) = unit
            && (rest.contains('前') || rest.contains("ago"))
        {
            return timespan::ago(now, n, unit);
        }
    }
    // Today in the source's zone; checked, as `with_timezone` panics at the
    // ends of chrono's range.
    let offset = tz.offset_from_utc_datetime(&now.naive_utc()).fix();
    let today = now.naive_utc().checked_add_offset(offset)?.date();
    for (word, days_back) in [("今天", 0), ("昨天", 1), ("前天", 2)] {
        if let Some(rest) = s.strip_prefix(word) {
            let day = today.checked_sub_days(chrono::Days::new(days_back))?;
            let time = parse_time(rest.trim()).map(|(t, _)| t).unwrap_or(NaiveTime::MIN);
            return tz.from_local_datetime(&day.and_time(time)).earliest().map(|d| d.with_timezone(&Utc));
        }
    }
    if let Some(d) = parse_date(s, tz) {
        return Some(d);
    }
    // A month and day without a year: this year, unless that is in the future.
    let with_year = format!("{}-{}", today.year(), s.replace('月', "-").replace('日', " ").replace('/', "-"));
    let this_year = parse_date(&with_year, tz)?;
    if this_year > timespan::later(now, chrono::TimeDelta::days(1)) {
        let last = format!("{}-{}", today.year() - 1, s.replace('月', "-").replace('日', " ").replace('/', "-"));
        return parse_date(&last, tz);
    }
    Some(this_year)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(s: &str) -> Option<String> {
        parse_date(s, Tz::Asia__Shanghai).map(|d| d.to_rfc3339())
    }

    #[test]
    fn formats_real_feeds_use() {
        let want = Some("2025-04-02T00:30:00+00:00".to_string());
        for s in [
            "Wed, 02 Apr 2025 08:30:00 +0800",
            "Wed, 2 Apr 2025 8:30:00 +0800",
            "Wed, 02 Apr 2025 08:30:00 CST",
            "Wed, 02 Apr 2025 08:30:00",
            "Thu, 02 Apr 2025 08:30:00 +0800", // wrong weekday
            "02 Apr 2025 08:30 +08:00",
            "2 April 2025 08:30:00 GMT+8",
            "2025-04-02 08:30:00",
            "2025-04-02T08:30:00",
            "2025-04-02T08:30:00+08:00",
            "2025-04-02T00:30:00Z",
            "2025-04-02 08:30:00 +0800",
            "2025-04-02T08:30:00.000+0800",
            "2025年4月2日 08:30",
            "2025年04月02日 08:30:00",
            "2025/04/02 08:30",
            "2025.04.02 08:30",
            "2025-04-02 上午8:30",
            "Wed, 02 Apr 2025 00:30:00 GMT",
            "Wed, 01 Apr 2025 20:30:00 EDT",
        ] {
            assert_eq!(sh(s), want, "{s}");
        }
    }

    #[test]
    fn dates_that_fell_back_to_the_fetch_time() {
        let utc = |s: &str| parse_date(s, Tz::UTC).map(|d| d.to_rfc3339());
        let cases = [
            // A zone name where the offset belongs (PDT on that day).
            ("Fri, 31 Mar 2023 20:19:00 America/Los_Angeles", "2023-04-01T03:19:00+00:00"),
            ("2023-03-31 20:19:00 Asia/Shanghai", "2023-03-31T12:19:00+00:00"),
            // German, French and Spanish day and month names.
            ("Di, 23 Jan 2018 12:00:00 +0100", "2018-01-23T11:00:00+00:00"),
            ("Mi, 14 Mär 2018 12:00:00 +0100", "2018-03-14T11:00:00+00:00"),
            ("Dienstag, 23. Oktober 2018 12:00:00 +0200", "2018-10-23T10:00:00+00:00"),
            ("mar., 23 janv. 2018 12:00:00 +0100", "2018-01-23T11:00:00+00:00"),
            ("jeu., 1er févr. 2018 08:00:00 +0100", "2018-02-01T07:00:00+00:00"),
            ("mié, 07 dic 2022 10:00:00 +0100", "2022-12-07T09:00:00+00:00"),
            ("Lunes, 3 Enero 2022 10:00:00 GMT", "2022-01-03T10:00:00+00:00"),
            // Unix time, seconds and milliseconds.
            ("1680294000", "2023-03-31T20:20:00+00:00"),
            ("1680294000000", "2023-03-31T20:20:00+00:00"),
            // JavaScript's Date.toString().
            ("Tue Mar 31 2023 20:19:00 GMT+0000 (Coordinated Universal Time)", "2023-03-31T20:19:00+00:00"),
            ("Fri Mar 31 2023 22:19:00 GMT+0200 (Mitteleuropäische Sommerzeit)", "2023-03-31T20:19:00+00:00"),
            // Ordinals.
            ("16th March 2023", "2023-03-16T00:00:00+00:00"),
            ("March 1st, 2023 09:00", "2023-03-01T09:00:00+00:00"),
            // A weekday does not flip day and month, even a wrong one.
            ("Sat, 11 04 2020 10:00:00 GMT", "2020-04-11T10:00:00+00:00"),
            ("13/04/2020", "2020-04-13T00:00:00+00:00"),
        ];
        for (s, want) in cases {
            assert_eq!(utc(s).as_deref(), Some(want), "{s}");
        }
        assert_eq!(
            utc("04/02/2025").as_deref(),
            Some("2025-04-02T00:00:00+00:00"),
            "US order when nothing says otherwise"
        );
        assert_eq!(utc("not a date at all"), None);
    }

    #[test]
    fn cst_outside_china_is_us_central() {
        let d = parse_date("Wed, 02 Apr 2025 08:30:00 CST", Tz::America__Chicago).unwrap();
        assert_eq!(d.to_rfc3339(), "2025-04-02T14:30:00+00:00");
    }

    #[test]
    fn afternoon_and_date_only() {
        assert_eq!(sh("2025年4月2日 下午3:05"), Some("2025-04-02T07:05:00+00:00".into()));
        assert_eq!(sh("2025-04-02"), Some("2025-04-01T16:00:00+00:00".into()));
        assert_eq!(sh("Apr 2, 2025 3:05 PM"), Some("2025-04-02T07:05:00+00:00".into()));
    }

    #[test]
    fn page_dates_relative_to_now() {
        let now = Utc.with_ymd_and_hms(2025, 4, 2, 4, 0, 0).unwrap(); // 12:00 in Shanghai
        let p = |s: &str| parse_page_date(s, Tz::Asia__Shanghai, now).map(|d| d.to_rfc3339());
        assert_eq!(p("刚刚"), Some(now.to_rfc3339()));
        assert_eq!(p("3小时前"), Some("2025-04-02T01:00:00+00:00".into()));
        assert_eq!(p("30分钟前"), Some("2025-04-02T03:30:00+00:00".into()));
        assert_eq!(p("2 hours ago"), Some("2025-04-02T02:00:00+00:00".into()));
        assert_eq!(p("昨天 14:30"), Some("2025-04-01T06:30:00+00:00".into()));
        assert_eq!(p("04-01 15:20"), Some("2025-04-01T07:20:00+00:00".into()));
        assert_eq!(p("4月1日 15:20"), Some("2025-04-01T07:20:00+00:00".into()));
        assert_eq!(p("12-31 23:00"), Some("2024-12-31T15:00:00+00:00".into()));
        assert_eq!(p("2025年4月1日 08:30"), Some("2025-04-01T00:30:00+00:00".into()));
        assert_eq!(p("yesterday-ish"), None);
    }

    #[test]
    fn extreme_numbers_are_no_date_and_no_panic() {
        let now = Utc.with_ymd_and_hms(2025, 4, 2, 4, 0, 0).unwrap();
        let p = |s: &str| parse_page_date(s, Tz::Asia__Shanghai, now);
        for s in [
            "99999999天前",
            "9223372036854775807秒前",
            "18446744073709551615 days ago",
            "1000000000000000000000000000000 hours ago",
            "106751991167300天前",
            "30000天前",
        ] {
            assert_eq!(p(s), None, "{s}");
        }
        // Unix time, seconds and milliseconds; out of the calendar is no date.
        assert_eq!(sh("1743553800"), Some("2025-04-02T00:30:00+00:00".into()));
        assert_eq!(sh("1743553800000"), Some("2025-04-02T00:30:00+00:00".into()));
        assert_eq!(p("1743553800"), Some(Utc.with_ymd_and_hms(2025, 4, 2, 0, 30, 0).unwrap()));
        assert_eq!(sh("99999-01-01T00:00:00Z"), None);
        assert_eq!(sh("Sat, 01 Jan 99999 00:00:00 +0000"), None);
        // Near the end of chrono's range, relative words do not overflow.
        let end = DateTime::<Utc>::MAX_UTC;
        let _ = parse_page_date("12-31 23:00", Tz::Asia__Shanghai, end);
        let _ = parse_page_date("前天", Tz::Asia__Shanghai, DateTime::<Utc>::MIN_UTC);
        assert_eq!(parse_page_date("3小时前", Tz::UTC, DateTime::<Utc>::MIN_UTC), None);
    }

    #[test]
    fn garbage_is_none() {
        for s in ["", "yesterday", "2025-13-45 10:00", "Wed, 32 Apr 2025", "not a date at all", "12:00"] {
            assert_eq!(sh(s), None, "{s}");
        }
    }
}
