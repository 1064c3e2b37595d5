//! Properties that must hold for any input: canonical URLs and sanitized
//! HTML are fixed points, and the post's front matter is valid YAML that
//! gives back the text that went in.

use proptest::prelude::*;
use saphyr::{LoadableYamlNode, Yaml};
use tidings::normalize::Sanitizer;
use tidings::normalize::url::canonical_url;
use tidings::render::{yaml_quoted, yaml_scalar};

fn url_strategy() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["http", "https", "HTTP", "hTTps"]),
        "[a-zA-Z0-9-]{1,12}",
        prop::sample::select(vec![".cn", ".com", ".COM", ".org.cn"]),
        prop::option::of(1u16..65535),
        prop::collection::vec("[a-zA-Z0-9%._~!$&'()*+,;=:@中文-]{0,8}", 0..4),
        prop::collection::vec(
            (
                prop::sample::select(vec!["utm_source", "spm", "from", "id", "a", "Z", "page", "utm_x"]),
                "[a-z0-9%+]{0,6}",
            ),
            0..5,
        ),
        prop::option::of("[a-z0-9]{0,6}"),
    )
        .prop_map(|(scheme, host, tld, port, path, query, frag)| {
            let mut u = format!("{scheme}://{host}{tld}");
            if let Some(p) = port {
                u.push_str(&format!(":{p}"));
            }
            u.push('/');
            u.push_str(&path.join("/"));
            if !query.is_empty() {
                u.push('?');
                u.push_str(&query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"));
            }
            if let Some(f) = frag {
                u.push('#');
                u.push_str(&f);
            }
            u
        })
}

fn html_strategy() -> impl Strategy<Value = String> {
    let tokens = vec![
        "<p>",
        "</p>",
        "<b>",
        "</b>",
        "<div>",
        "</div>",
        "<ul><li>",
        "</li></ul>",
        "<a href=\"javascript:x()\">",
        "</a>",
        "<a href=\"/rel\">",
        "<img src=\"x.png\" onerror=\"y()\">",
        "<script>",
        "</script>",
        "<style>p{}</style>",
        "<iframe src=\"http://e\">",
        "text",
        "中文内容",
        "&amp;",
        "&lt;",
        "&nbsp;",
        "<",
        ">",
        "\"",
        "'",
        "<br>",
        "<!-- c -->",
        "<table><tr><td>",
        "</td></tr></table>",
        "<svg onload=x>",
        "<math>",
        "<img src=\"data:x\">",
    ];
    prop::collection::vec(prop::sample::select(tokens), 0..40).prop_map(|v| v.concat())
}

/// The first live thing in sanitized HTML: a dangerous element, an event
/// handler attribute or a script URL inside a tag (escaped text is inert).
fn live_markup(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>').unwrap_or(after.len());
        let tag = &after[..end];
        let name: String = tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        if ["script", "style", "iframe", "svg", "math", "object", "embed", "form"].contains(&name.as_str()) {
            return Some(format!("<{name}>"));
        }
        for attr in tag.split_whitespace().skip(1) {
            let (key, value) = attr.split_once('=').unwrap_or((attr, ""));
            let value = value.trim_matches(['"', '\'']).trim();
            if key.starts_with("on") || value.starts_with("javascript:") || value.starts_with("data:") {
                return Some(attr.to_string());
            }
        }
        rest = &after[end.min(after.len())..];
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn canonical_url_is_idempotent(u in url_strategy()) {
        if let Some(c) = canonical_url(&u, None) {
            prop_assert_eq!(canonical_url(&c, None), Some(c.clone()));
            prop_assert!(!c.contains("utm_") && !c.contains('#'));
        }
    }

    #[test]
    fn sanitizing_is_idempotent_and_leaves_nothing_live(h in html_strategy()) {
        let base = url::Url::parse("https://example.cn/a/").unwrap();
        let s = Sanitizer::new(Some(&base));
        let once = s.clean(&h);
        let twice = s.clean(&once);
        prop_assert_eq!(&once, &twice);
        if let Some(live) = live_markup(&once) {
            prop_assert!(false, "{} in {}", live, once);
        }
    }

    #[test]
    fn front_matter_is_valid_yaml_and_keeps_the_text(title in "\\PC{0,40}", description in "\\PC{0,80}", any in ".{0,20}") {
        let tags = [any.clone(), "AI眼镜".to_string()];
        let items: Vec<String> = tags.iter().map(|t| yaml_quoted(t)).collect();
        let yaml = format!(
            "layout: post\ntitle: {}\ndate: 2025-04-02 09:00\ndescription: {}\ntags: [{}]\n",
            yaml_scalar(&title), yaml_quoted(&description), items.join(",")
        );
        let docs = Yaml::load_from_str(&yaml);
        prop_assert!(docs.is_ok(), "invalid YAML:\n{}", yaml);
        let docs = docs.unwrap();
        let doc = &docs[0];
        let unliquid = |s: &str| s.replace("{{", "{\u{200b}{").replace("{%", "{\u{200b}%");
        let got_title = doc["title"].as_str().map(str::to_string).or_else(|| {
            // An empty or numeric-looking title reads back as another type only when unquoted.
            doc["title"].is_null().then(String::new)
        });
        prop_assert_eq!(got_title.unwrap_or_default(), unliquid(&title));
        prop_assert_eq!(doc["description"].as_str().unwrap_or(""), unliquid(&description));
        prop_assert_eq!(doc["tags"][0].as_str().unwrap_or(""), unliquid(&any));
    }
}

/// Instants from chrono's first to its last, with the edges themselves
/// and today's neighbourhood weighted in.
fn instant_strategy() -> impl Strategy<Value = chrono::DateTime<chrono::Utc>> {
    use chrono::{DateTime, Utc};
    let (min, max) = (DateTime::<Utc>::MIN_UTC.timestamp(), DateTime::<Utc>::MAX_UTC.timestamp());
    prop_oneof![
        Just(DateTime::<Utc>::MIN_UTC),
        Just(DateTime::<Utc>::MAX_UTC),
        (min..=max).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)),
        (1_700_000_000i64..1_900_000_000).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap_or_default()),
    ]
}

/// Numbers as servers and pages write them: every width up to 40 digits,
/// the integer edges, signs and exponents.
fn number_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "[0-9]{1,40}",
        "-[0-9]{1,30}",
        prop::sample::select(vec![
            "18446744073709551615",
            "18446744073709551616",
            "9223372036854775807",
            "-9223372036854775808",
            "1000000000000000000000000000000",
            "99999999999",
            "1e30",
            "0",
        ])
        .prop_map(String::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Header → schedule: any Cache-Control max-age, Retry-After, `<ttl>` and
    /// failure count, at any instant, gives a next fetch time without
    /// panicking; from a sane "now" it lies between now and the longest wait
    /// the policy allows (its maximum plus jitter, or a week's Retry-After).
    #[test]
    fn any_freshness_header_schedules_within_the_bounds(
        max_age in number_strategy(),
        retry in number_strategy(),
        ttl in number_strategy(),
        failures in any::<u32>(),
        entries in any::<u64>(),
        now in instant_strategy(),
    ) {
        use tidings::{fetch, poll, timespan};
        let bounds = poll::PollBounds::default();
        let retry_after = fetch::parse_retry_after(&retry, now);
        if let Some(r) = retry_after {
            prop_assert!(r >= now);
            prop_assert!(r <= timespan::later(now, chrono::TimeDelta::days(7)));
        }
        let input = poll::PollInput {
            source: "s",
            entries_last_week: entries,
            consecutive_failures: failures,
            configured: None,
            ttl: timespan::parse_delta_seconds(&ttl).map(timespan::minutes),
            max_age: fetch::max_age(&format!("public, max-age={max_age}")).map(timespan::seconds),
            retry_after,
        };
        let next = poll::next_fetch(&input, bounds, now);
        prop_assert!(next >= now);
        if timespan::sane(now) {
            let longest = (bounds.max + bounds.max / 10).max(chrono::TimeDelta::days(7));
            prop_assert!(next - now <= longest, "{} after {now}", next - now);
        }
    }

    /// Relative and absolute page dates: any count of any unit, at any
    /// instant, is no date or a date in the sane calendar, never after now.
    #[test]
    fn any_page_date_is_no_date_or_a_sane_one(
        n in number_strategy(),
        unit in prop::sample::select(vec!["秒前", "分钟前", "小时前", "个小时前", "天前", " days ago", " hours ago", " sec ago", ""]),
        now in instant_strategy(),
    ) {
        use tidings::parse::dates::{parse_date, parse_page_date};
        let text = format!("{n}{unit}");
        let tz = chrono_tz::Asia::Shanghai;
        if let Some(d) = parse_page_date(&text, tz, now)
            && !unit.is_empty()
        {
            prop_assert!(tidings::timespan::sane(d) && d <= now, "{text} at {now}: {d}");
        }
        let _ = parse_date(&text, tz);
        for year in ["0000", "0001", "9999"] {
            let _ = parse_page_date(&format!("{year}-01-01 00:00"), tz, now);
        }
        let _ = parse_page_date("12-31 23:59", tz, now);
        let _ = parse_page_date("昨天 23:59", tz, now);
    }
}
