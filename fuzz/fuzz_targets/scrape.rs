//! Any bytes as an HTML list page and as an article page.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::config::HtmlSelectors;

fuzz_target!(|data: &[u8]| {
    let text = tidings::decode::decode(data, None, Some(b"cn")).text;
    let selectors = HtmlSelectors {
        item: "ul.news li, div.row, tr".into(),
        title: "a".into(),
        link: "a".into(),
        date: Some("span, em, td.when".into()),
        date_format: None,
        summary: Some("p".into()),
        image: Some("img".into()),
    };
    let now = chrono::DateTime::from_timestamp(1_743_555_600, 0).unwrap();
    let _ = tidings::scrape::list_page(&text, "http://fuzz.example/list.html", &selectors, chrono_tz::Asia::Shanghai, now);
    let _ = tidings::scrape::article_page(&text, "http://fuzz.example/a.html", chrono_tz::Asia::Shanghai, true);
});
