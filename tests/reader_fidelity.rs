//! Items read the way mature readers read them, from feed bytes through
//! decoding, parsing and normalizing (`tidings::ingest::process`). Each test
//! is named after a defect class of the reader-fidelity issue; the cases
//! follow the specs (RSS 2.0, RFC 4287 §3.1 text constructs, JSON Feed 1.1)
//! and shapes seen in real feeds.

use chrono::Utc;
use tidings::config::{Location, Source};
use tidings::fetch::Fetched;
use tidings::ingest::{Processed, process};
use tidings::model::Item;
use tidings::store::{FetchRecord, SqliteStore, Storage};

fn items(body: &str) -> Vec<Item> {
    let source = Source::new("fidelity", Location::File("feed.xml".into()), chrono_tz::UTC);
    let fetched = Fetched::from_bytes(body.as_bytes().to_vec(), "https://example.org/feed/");
    match process(&source, &fetched, Utc::now()) {
        Ok(Processed { items, .. }) => items,
        Err(e) => panic!("{e}"),
    }
}

fn rss(items_xml: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><link>https://example.org/</link>{items_xml}</channel></rss>"
    )
}

fn atom(entries: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title><id>urn:t</id>{entries}</feed>"
    )
}

#[test]
fn inline_markup_adds_no_spaces() {
    let got = items(&rss("<item><title>a</title><link>https://example.org/1</link>\
         <description>AT&amp;amp;T bought &lt;b&gt;by SBC&lt;/b&gt;!</description></item>\
         <item><title>b</title><link>https://example.org/2</link>\
         <description><![CDATA[据<a href=\"https://x.cn\">机器之心</a>报道，<b>阿里</b>发布<span>新</span>模型。<p>第二段</p>]]></description></item>"));
    assert_eq!(got[0].text, "AT&T bought by SBC!");
    assert_eq!(got[1].text, "据机器之心报道，阿里发布新模型。\n第二段");
    let got = items(&atom(
        "<entry><id>urn:1</id><title>x</title><updated>2025-04-01T00:00:00Z</updated>\
         <content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\">Open<em>AI</em>的<strong>GPT</strong>\n模型</div></content></entry>",
    ));
    assert_eq!(got[0].text, "OpenAI的GPT 模型");
}

#[test]
fn escaped_markup_in_titles_is_text() {
    // RSS titles are text with entities.
    let got = items(&rss("<item><title>&lt;/example&gt;</title><link>https://example.org/1</link></item>\
         <item><title>Vec&lt;T&gt; in Rust</title><link>https://example.org/2</link></item>\
         <item><title>Why &lt;script&gt; tags block rendering</title><link>https://example.org/3</link></item>\
         <item><title><![CDATA[<b>粗体</b>标题 &amp; 更多]]></title><link>https://example.org/4</link></item>\
         <item><title>AT&amp;amp;T 发布白皮书</title><link>https://example.org/5</link></item>"));
    let titles: Vec<&str> = got.iter().map(|i| i.title.as_str()).collect();
    assert_eq!(
        titles,
        ["</example>", "Vec<T> in Rust", "Why <script> tags block rendering", "粗体标题 & 更多", "AT&T 发布白皮书"]
    );
    // Atom: text is text (never decoded twice), html is escaped HTML, xhtml is markup.
    let got = items(&atom(
        "<entry><id>urn:1</id><title type=\"text\">History of the &lt;blink&gt; tag &amp;#39;</title><updated>2025-04-01T00:00:00Z</updated></entry>\
         <entry><id>urn:2</id><title type=\"html\">&lt;em&gt;Vec&amp;lt;T&amp;gt;&lt;/em&gt; explained</title><updated>2025-04-01T00:00:00Z</updated></entry>\
         <entry><id>urn:3</id><title type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\"><b>Bold</b> move</div></title><updated>2025-04-01T00:00:00Z</updated></entry>\
         <entry><id>urn:4</id><title>x</title><summary type=\"text\">a &lt; b &amp;&amp; c &gt; d, &lt;p&gt; is text</summary><updated>2025-04-01T00:00:00Z</updated></entry>",
    ));
    let titles: Vec<&str> = got.iter().map(|i| i.title.as_str()).collect();
    assert_eq!(titles[..3], ["History of the <blink> tag &#39;", "Vec<T> explained", "Bold move"]);
    assert_eq!(got[3].text, "a < b && c > d, <p> is text", "a text summary is shown as text");
    // JSON Feed titles are plain text.
    let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[
        {"id":"1","url":"https://example.org/j","title":"Option<Box<T>> & friends","content_text":"x"}]}"#;
    assert_eq!(items(json)[0].title, "Option<Box<T>> & friends");
}

#[test]
fn different_items_are_not_merged() {
    let feed = rss(
        // One guid, two links: two items.
        "<item><title>第一条</title><link>https://example.org/a</link><guid isPermaLink=\"false\">same</guid></item>\
         <item><title>第二条</title><link>https://example.org/b</link><guid isPermaLink=\"false\">same</guid></item>\
         <item><title>One</title><link>https://example.org/news.html#one</link></item>\
         <item><title>Two</title><link>https://example.org/news.html#two</link></item>\
         <item><title>Lone</title><link>https://example.org/lone.html#top</link></item>\
         <item><enclosure url=\"https://cdn.example.org/ep/42.mp3\" type=\"audio/mpeg\" length=\"1\"/></item>\
         <item><guid isPermaLink=\"false\">tag:example.org,2025:only-an-id</guid></item>\
         <item><title>第一条</title><link>https://example.org/a</link><guid isPermaLink=\"false\">same</guid></item>\
         <item><title>直播第一段</title><link>https://example.org/live</link><guid isPermaLink=\"false\">live-1</guid></item>\
         <item><title>直播第二段</title><link>https://example.org/live</link><guid isPermaLink=\"false\">live-2</guid></item>",
    );
    let got = items(&feed);
    let keys: Vec<&str> = got.iter().map(|i| i.key.as_str()).collect();
    let urls: Vec<Option<&str>> = got.iter().map(|i| i.url.as_deref()).collect();
    assert_eq!(got.len(), 10, "{keys:?}");
    assert_eq!(keys[0], "guid:same", "the first keeps the key stored before");
    assert_ne!(keys[1], keys[0]);
    assert_eq!(keys[7], keys[0], "an exact repeat is the same item");
    // Anchors into one page tell items apart; a lone anchor is dropped.
    assert_eq!(
        urls[2..5],
        [
            Some("https://example.org/news.html#one"),
            Some("https://example.org/news.html#two"),
            Some("https://example.org/lone.html"),
        ]
    );
    // Nothing but an enclosure, or an id: kept, with a fallback title.
    assert_eq!(got[5].title, "cdn.example.org/ep/42.mp3");
    assert_eq!(got[6].title, "tag:example.org,2025:only-an-id");
    // And the store keeps every one of them.
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("t.sqlite"), std::time::Duration::from_secs(1)).unwrap();
    store.sync_sources(&[("fidelity".into(), "https://example.org/feed/".into())]).unwrap();
    let record = FetchRecord::Fetched { etag: None, last_modified: None, body_hash: None };
    let stats = store.store_items("fidelity", &got, &record, Utc::now(), None).unwrap();
    // Two guids linking one page are two items too.
    assert_eq!(stats.new, 9, "{stats:?}");
}

#[test]
fn dates_that_fell_back_to_the_fetch_time() {
    let feed = rss(
        "<item><title>a</title><link>https://example.org/1</link><pubDate>Fri, 31 Mar 2023 20:19:00 America/Los_Angeles</pubDate></item>\
         <item><title>b</title><link>https://example.org/2</link><pubDate>Di, 23 Jan 2018 12:00:00 +0100</pubDate></item>\
         <item><title>c</title><link>https://example.org/3</link><pubDate>Tue Mar 31 2023 20:19:00 GMT+0000 (Coordinated Universal Time)</pubDate></item>\
         <item><title>d</title><link>https://example.org/4</link><pubDate>16th March 2023</pubDate></item>\
         <item><title>e</title><link>https://example.org/5</link><pubDate>Sat, 11 04 2020 10:00:00 GMT</pubDate></item>\
         <item><title>f</title><link>https://example.org/6</link><pubDate>1680294000</pubDate></item>\
         <item><title>g</title><link>https://example.org/7</link><pubDate>sometime last spring</pubDate></item>\
         <item><title>h</title><link>https://example.org/8</link><pubDate>Wed, 01 Jan 2125 00:00:00 GMT</pubDate></item>",
    );
    let source = Source::new("fidelity", Location::File("feed.xml".into()), chrono_tz::UTC);
    let fetched = Fetched::from_bytes(feed.into_bytes(), "https://example.org/feed/");
    let processed = process(&source, &fetched, Utc::now()).unwrap();
    let dates: Vec<Option<String>> =
        processed.items.iter().map(|i| i.published.map(|d| d.format("%Y-%m-%d %H:%M").to_string())).collect();
    let want = [
        Some("2023-04-01 03:19"),
        Some("2018-01-23 11:00"),
        Some("2023-03-31 20:19"),
        Some("2023-03-16 00:00"),
        Some("2020-04-11 10:00"),
        Some("2023-03-31 20:20"),
        None,
        None,
    ];
    assert_eq!(dates, want.map(|d| d.map(String::from)));
    // The unreadable one is named once, with its string; the future one is not believed.
    let named: Vec<&String> = processed.warnings.iter().filter(|w| w.contains("could not be read")).collect();
    assert_eq!(named.len(), 1, "{:?}", processed.warnings);
    assert!(named[0].contains("\"sometime last spring\""), "{}", named[0]);
}

#[test]
fn a_whole_feed_is_not_lost_for_one_stray_end_tag() {
    let feed = atom(
        "<entry><id>urn:1</id><title>One</title><updated>2025-04-01T00:00:00Z</updated>\
         <content type=\"html\">&lt;p&gt;first&lt;/p&gt;</content></content></entry>\
         <entry><id>urn:2</id><title>Two</title><updated>2025-04-01T00:00:00Z</updated><summary>second</summary></entry>",
    );
    let source = Source::new("fidelity", Location::File("feed.xml".into()), chrono_tz::UTC);
    let processed = process(&source, &Fetched::from_bytes(feed.into_bytes(), "https://example.org/feed/"), Utc::now())
        .expect("recovered, as readers do");
    let titles: Vec<&str> = processed.items.iter().map(|i| i.title.as_str()).collect();
    assert_eq!(titles, ["One", "Two"]);
    assert_eq!(processed.items[0].text, "first");
    assert!(
        processed.warnings.iter().any(|w| w.contains("end tag(s) closing nothing open")),
        "{:?}",
        processed.warnings
    );
    // JSON: an empty document says so; JSON Feed 1.0 over http, and an
    // unversioned document with items, are read.
    let read = |body: &str| {
        process(&source, &Fetched::from_bytes(body.as_bytes().to_vec(), "https://example.org/f"), Utc::now())
    };
    for body in ["null", "[]", " null\n"] {
        let err = read(body).unwrap_err();
        assert!(err.contains("an empty JSON document"), "{body}: {err}");
    }
    for version in
        ["https://jsonfeed.org/version/1", "http://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1"]
    {
        let body = format!(
            r#"{{"version":"{version}","title":"t","items":[{{"id":"1","title":"x","url":"https://example.org/1"}}]}}"#
        );
        assert_eq!(read(&body).unwrap().items.len(), 1, "{version}");
    }
    let unversioned = read(r#"{"title":"t","items":[{"id":"1","title":"x","url":"https://example.org/1"}]}"#).unwrap();
    assert_eq!(unversioned.items.len(), 1);
    assert!(
        unversioned.warnings.iter().any(|w| w.contains("without a JSON Feed version")),
        "{:?}",
        unversioned.warnings
    );
}

#[test]
fn authors() {
    // The feed's author stands for entries without one; markup is dropped;
    // both e-mail forms give the name; repeats are one author.
    let got = items(&atom(
        "<author><name>Feed <b>Desk</b></name></author>\
         <entry><id>urn:1</id><title>a</title><updated>2025-04-01T00:00:00Z</updated></entry>\
         <entry><id>urn:2</id><title>b</title><updated>2025-04-01T00:00:00Z</updated>\
         <author><name>Jane Doe</name></author><author><name>Jane Doe</name></author></entry>",
    ));
    assert_eq!(got[0].authors, ["Feed Desk"]);
    assert_eq!(got[1].authors, ["Jane Doe"]);
    let got = items(
        "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
         xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\" \
         xmlns:googleplay=\"http://www.google.com/schemas/play-podcasts/1.0\" \
         xmlns:media=\"http://search.yahoo.com/mrss/\"><channel><title>t</title>\
         <managingEditor>desk@example.org (News Desk)</managingEditor>\
         <item><title>1</title><link>https://example.org/1</link><author>me@example.com (Jane Doe)</author></item>\
         <item><title>2</title><link>https://example.org/2</link><dc:creator>Jane Doe (me@example.com)</dc:creator></item>\
         <item><title>3</title><link>https://example.org/3</link><itunes:author>Pod Host</itunes:author></item>\
         <item><title>4</title><link>https://example.org/4</link><googleplay:author>Play Host</googleplay:author></item>\
         <item><title>5</title><link>https://example.org/5</link>\
         <category>AI</category><category> </category><category>AI</category><media:category>机器人</media:category>\
         <itunes:summary>只有节目简介</itunes:summary></item>\
         <item><title>6</title><link>https://example.org/6</link><googleplay:description>Play 简介</googleplay:description></item>\
         </channel></rss>",
    );
    let authors: Vec<&[String]> = got.iter().map(|i| i.authors.as_slice()).collect();
    assert_eq!(authors[..5], [["Jane Doe"], ["Jane Doe"], ["Pod Host"], ["Play Host"], ["News Desk"]]);
    // Smaller ones: blank and repeated categories dropped, media:category
    // read; iTunes and Google Play descriptions stand in for missing text.
    assert_eq!(got[4].categories, ["AI", "机器人"]);
    assert_eq!(got[4].text, "只有节目简介");
    assert_eq!(got[5].text, "Play 简介");
    let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"t","authors":[{"name":"JSON Desk"}],
        "items":[{"id":"1","url":"https://example.org/j1","title":"x"},
                 {"id":"2","url":"https://example.org/j2","title":"y","authors":[{"name":"Ann"},{"name":"Ann"}]}]}"#;
    let got = items(json);
    assert_eq!(got[0].authors, ["JSON Desk"]);
    assert_eq!(got[1].authors, ["Ann"]);
}

#[test]
fn links() {
    let got = items(
        "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:feedburner=\"http://rssnamespace.org/feedburner/ext/1.0\">\
         <channel><title>t</title><link>https://example.org/</link>\
         <item><title>1</title><link>http://example.org/here.pl?r123</link></item>\
         <item><title>2</title><link>http://cms.example.cn/view?id=1&amp;from=a</link></item>\
         <item><title>3</title><link>http://cms.example.cn/view?id=1&amp;from=b</link></item>\
         <item><title>4</title><link>https://example.org/a?utm_source=rss&amp;id=7&amp;ref=example.org</link></item>\
         <item><title>5</title><link>http://feeds.feedburner.com/~r/x/~3/abc/</link>\
         <feedburner:origLink>https://blog.example.org/2025/04/real-post.html</feedburner:origLink></item>\
         </channel></rss>",
    );
    let urls: Vec<&str> = got.iter().filter_map(|i| i.url.as_deref()).collect();
    assert_eq!(
        urls,
        [
            "http://example.org/here.pl?r123",
            "http://cms.example.cn/view?id=1&from=a",
            "http://cms.example.cn/view?id=1&from=b",
            "https://example.org/a?id=7",
            "https://blog.example.org/2025/04/real-post.html",
        ]
    );
}

#[test]
fn atom_0_3_base64_content_is_decoded() {
    let feed = "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><title>t</title>\
        <entry><title mode=\"base64\">5Lit5paH5qCH6aKY</title><link rel=\"alternate\" href=\"https://example.org/1\"/>\
        <content type=\"text/html\" mode=\"base64\">\n\
        c2FmZTxzY3JpcHQgdHlwZT0idGV4dC9qYXZhc2NyaXB0Ij5sb2NhdGlvbi5ocmVmPSdodHRwOi8n\n\
        KycvZXhhbXBsZS5jb20vJzs8L3NjcmlwdD4gZGVzY3JpcHRpb24=\n</content></entry></feed>";
    let got = items(feed);
    assert_eq!(got[0].title, "中文标题");
    assert_eq!(got[0].text, "safe description", "decoded, then sanitized");
    assert!(!got[0].summary_html.contains("<script") && !got[0].summary_html.contains("location"));
}
