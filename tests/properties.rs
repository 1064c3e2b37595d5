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
