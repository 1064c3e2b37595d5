//! One contract for storage, run against both backends: every case below
//! runs once on a SQLite file and once on a PostgreSQL database of its own
//! (created for the test on the server at `TIDINGS_TEST_POSTGRES`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`, and dropped after it).
//! Cases speak only through the `Storage` interface, so the same words
//! check both.

mod common;

use std::path::PathBuf;

use common::pg::PgDatabase;

use chrono::{DateTime, Duration, TimeZone, Utc};
use tidings::config::StorageConfig;
use tidings::model::Item;
use tidings::scrape::PageMeta;
use tidings::store::{
    DigestHeld, FetchRecord, ItemPatch, LeaseRequest, Leased, PostRecord, SourceState, Storage, Store, StoryRecord,
};

/// Where a case's data lives; opened as often as the case likes.
enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(PgDatabase),
}

impl Backend {
    fn sqlite() -> Backend {
        Backend::Sqlite(tempfile::tempdir().expect("a temporary folder"))
    }

    fn postgres() -> Backend {
        Backend::Postgres(PgDatabase::create())
    }

    fn config(&self) -> StorageConfig {
        let database = match self {
            Backend::Sqlite(dir) => dir.path().join("db/t.sqlite"),
            Backend::Postgres(db) => PathBuf::from(db.url()),
        };
        StorageConfig { database, busy_timeout_secs: 1 }
    }

    /// A new handle on the same data: another connection, as another
    /// process or node would have.
    fn open(&self) -> Store {
        let store = tidings::store::open(&self.config()).expect("the database opens");
        match (self, &store) {
            (Backend::Sqlite(_), Store::Sqlite(_)) | (Backend::Postgres(_), Store::Postgres(_)) => store,
            _ => panic!("the config selected the other backend"),
        }
    }

    /// A store with sources `a` and `b`.
    fn with_sources(&self) -> Store {
        let mut s = self.open();
        s.sync_sources(&[("a".into(), "http://a/feed".into()), ("b".into(), "http://b/feed".into())]).unwrap();
        s
    }
}

/// Runs each named case on both backends.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $case() { super::$case(&super::Backend::sqlite()); } )*
        }
        mod postgres {
            $( #[test] fn $case() { super::$case(&super::Backend::postgres()); } )*
        }
    };
}

contract!(
    duplicates_update_instead_of_insert_and_keep_first_seen,
    fetch_state_round_trips,
    a_changed_url_starts_the_source_over,
    same_canonical_link_makes_one_item,
    a_batch_commits_together_and_a_failed_write_inside_loses_only_itself,
    reopening_keeps_the_data,
    items_that_only_look_alike_stay_apart,
    the_day_window_and_per_source_counts,
    article_pages_are_remembered_and_replaced,
    a_post_replaces_the_earlier_run_of_its_date,
    sources_are_listed_in_byte_order,
    due_sources_are_leased_to_one_node_at_a_time,
    a_hosts_limit_holds_across_nodes_and_is_shared,
    one_node_writes_a_dates_digest,
    items_of_one_feed_that_are_one_item,
);

const OK: FetchRecord = FetchRecord::Fetched { etag: None, last_modified: None, body_hash: None };

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 4, 1, 0, 0, 0).unwrap()
}

fn item(key: &str, url: Option<&str>, title: &str) -> Item {
    let text = format!("text of {title}");
    Item {
        key: key.into(),
        guid: None,
        url: url.map(str::to_string),
        title: title.into(),
        summary_html: format!("<p>{title}</p>"),
        content_html: None,
        text: text.clone(),
        image: None,
        authors: vec![],
        categories: vec!["人工智能".into()],
        published: None,
        updated: None,
        content_hash: tidings::normalize::content_hash(title, &text),
    }
}

/// Every stored item, oldest first.
fn all_items(s: &Store) -> Vec<tidings::store::StoredItem> {
    s.items_between(Utc.timestamp_opt(0, 0).unwrap(), t0() + Duration::days(3650)).unwrap()
}

fn state<'a>(states: &'a [SourceState], name: &str) -> &'a SourceState {
    states.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no source {name}"))
}

fn duplicates_update_instead_of_insert_and_keep_first_seen(b: &Backend) {
    let mut s = b.with_sources();
    let t1 = t0() + Duration::hours(1);
    let st = s.store_items("a", &[item("guid:1", Some("http://a/1"), "one")], &OK, t0(), None).unwrap();
    assert_eq!((st.new, st.updated, st.unchanged), (1, 0, 0));
    // Same guid, edited title: an update that keeps the first-seen date.
    let st = s.store_items("a", &[item("guid:1", Some("http://a/1"), "one, edited")], &OK, t1, None).unwrap();
    assert_eq!(st.updated, 1);
    // Another source linking the same URL keeps its own item and
    // overwrites nothing of the first's.
    let st = s.store_items("b", &[item("url:http://a/1", Some("http://a/1"), "another title")], &OK, t1, None).unwrap();
    assert_eq!(st.new, 1);
    // Same content re-posted under a new guid in the same source.
    let st = s.store_items("a", &[item("guid:2", None, "one, edited")], &OK, t1, None).unwrap();
    assert_eq!(st.unchanged, 1);
    let items = all_items(&s);
    let got: Vec<(&str, &str, DateTime<Utc>)> =
        items.iter().map(|i| (i.source.as_str(), i.title.as_str(), i.published_at)).collect();
    assert_eq!(got, [("a", "one, edited", t0()), ("b", "another title", t1)]);
    assert_eq!(items[0].categories, ["人工智能"]);
    assert_eq!(items[0].summary_html, "<p>one, edited</p>");
}

fn fetch_state_round_trips(b: &Backend) {
    let mut s = b.with_sources();
    let rec = FetchRecord::Fetched {
        etag: Some("\"v1\"".into()),
        last_modified: Some("Tue, 01 Apr 2025 00:00:00 GMT".into()),
        body_hash: Some("xxh3:abc".into()),
    };
    let next = t0() + Duration::minutes(30);
    s.store_items("a", &[], &rec, t0(), Some(next)).unwrap();
    let retry = t0() + Duration::seconds(120);
    let failed = FetchRecord::Failed { error: "HTTP 429".into(), retry_after: Some(retry) };
    s.record_fetch("b", &failed, t0(), None).unwrap();
    s.record_fetch("b", &failed, t0(), None).unwrap();
    let st = s.source_states().unwrap();
    let a = state(&st, "a");
    assert_eq!(a.etag.as_deref(), Some("\"v1\""));
    assert_eq!(a.body_hash.as_deref(), Some("xxh3:abc"));
    assert_eq!((a.last_status.as_deref(), a.next_fetch_at, a.last_success_at), (Some("ok"), Some(next), Some(t0())));
    let bb = state(&st, "b");
    assert_eq!((bb.consecutive_failures, bb.retry_after_until), (2, Some(retry)));
    assert_eq!(bb.last_error.as_deref(), Some("HTTP 429"));
    // A 304 keeps the validators and clears the failure count.
    s.record_fetch("a", &FetchRecord::NotModified { etag: None, last_modified: None }, t0(), None).unwrap();
    s.record_fetch("b", &FetchRecord::NotModified { etag: None, last_modified: None }, t0(), None).unwrap();
    let st = s.source_states().unwrap();
    assert_eq!(state(&st, "a").etag.as_deref(), Some("\"v1\""));
    assert_eq!(state(&st, "a").last_status.as_deref(), Some("not_modified"));
    assert_eq!((state(&st, "b").consecutive_failures, state(&st, "b").retry_after_until), (0, None));
    // Moving the next poll.
    let later = t0() + Duration::hours(5);
    s.set_next_fetch("b", later).unwrap();
    assert_eq!(state(&s.source_states().unwrap(), "b").next_fetch_at, Some(later));
    // An unknown source is an error, not a silent no-op.
    assert!(s.record_fetch("nope", &OK, t0(), None).is_err());
}

fn a_changed_url_starts_the_source_over(b: &Backend) {
    let mut s = b.with_sources();
    let rec = FetchRecord::Fetched { etag: Some("e".into()), last_modified: None, body_hash: Some("h".into()) };
    s.store_items("a", &[item("guid:1", None, "one")], &rec, t0(), Some(t0() + Duration::hours(1))).unwrap();
    // The same URL again changes nothing.
    s.sync_sources(&[("a".into(), "http://a/feed".into())]).unwrap();
    assert_eq!(state(&s.source_states().unwrap(), "a").etag.as_deref(), Some("e"));
    // A new URL: old validators and schedule mean nothing there; items stay.
    s.sync_sources(&[("a".into(), "http://a/new-feed".into())]).unwrap();
    let st = s.source_states().unwrap();
    let a = state(&st, "a");
    assert_eq!((a.url.as_str(), a.etag.as_deref(), a.body_hash.as_deref()), ("http://a/new-feed", None, None));
    assert_eq!((a.next_fetch_at, a.item_count), (None, 1));
}

fn same_canonical_link_makes_one_item(b: &Backend) {
    let mut s = b.with_sources();
    s.store_items("a", &[item("url:http://a/1", Some("http://a/1"), "one")], &OK, t0(), None).unwrap();
    s.store_items("b", &[item("url:http://b/copy", Some("http://b/copy"), "copy of one")], &OK, t0(), None).unwrap();
    let id = |s: &Store, url: &str| all_items(s).into_iter().find(|i| i.url.as_deref() == Some(url)).unwrap().id;
    let (first, copy) = (id(&s, "http://a/1"), id(&s, "http://b/copy"));
    // The copy's page says its canonical is the first article.
    let patch = ItemPatch { canonical: Some("http://a/1".into()), ..Default::default() };
    assert_eq!(s.enrich_item(copy, &patch).unwrap(), Some(first));
    assert_eq!(all_items(&s).len(), 1);
    // An image fills only an empty slot; a summary and text replace.
    let patch = ItemPatch { image: Some("http://a/og.jpg".into()), ..Default::default() };
    assert_eq!(s.enrich_item(first, &patch).unwrap(), None);
    let patch = ItemPatch {
        image: Some("http://a/other.jpg".into()),
        summary_html: Some("<p>全文</p>".into()),
        text: Some("全文".into()),
        canonical: None,
    };
    s.enrich_item(first, &patch).unwrap();
    let got = all_items(&s).remove(0);
    assert_eq!(
        (got.image.as_deref(), got.summary_html.as_str(), got.text.as_str()),
        (Some("http://a/og.jpg"), "<p>全文</p>", "全文")
    );
}

fn a_batch_commits_together_and_a_failed_write_inside_loses_only_itself(b: &Backend) {
    let mut s = b.with_sources();
    s.begin_batch().unwrap();
    s.store_items("a", &[item("guid:1", Some("https://a/1"), "一")], &OK, t0(), None).unwrap();
    assert!(s.store_items("nope", &[item("guid:2", None, "二")], &OK, t0(), None).is_err());
    s.record_fetch("b", &FetchRecord::NotModified { etag: None, last_modified: None }, t0(), None).unwrap();
    // Another connection sees nothing before the commit.
    let other = b.open();
    assert_eq!(other.item_urls("a").unwrap().len(), 0);
    s.end_batch().unwrap();
    assert_eq!(other.item_urls("a").unwrap(), ["https://a/1"]);
    assert_eq!(state(&other.source_states().unwrap(), "b").last_status.as_deref(), Some("not_modified"));
    // A batch dropped unfinished writes nothing.
    s.begin_batch().unwrap();
    s.store_items("b", &[item("guid:3", Some("https://b/3"), "三")], &OK, t0(), None).unwrap();
    s.abort_batch();
    assert!(other.item_urls("b").unwrap().is_empty());
    // And the store takes writes on their own again.
    s.store_items("b", &[item("guid:3", Some("https://b/3"), "三")], &OK, t0(), None).unwrap();
    assert_eq!(other.item_urls("b").unwrap(), ["https://b/3"]);
}

fn reopening_keeps_the_data(b: &Backend) {
    let mut s = b.with_sources();
    s.store_items("a", &[item("guid:1", Some("https://a/1"), "一")], &OK, t0(), None).unwrap();
    drop(s);
    // Opening again runs no migration twice and loses nothing.
    let s = b.open();
    let st = s.source_states().unwrap();
    assert_eq!(st.len(), 2);
    assert_eq!(state(&st, "a").item_count, 1);
}

fn items_that_only_look_alike_stay_apart(b: &Backend) {
    let mut s = b.with_sources();
    let items = [
        // Two guids linking one page are two items.
        item("guid:x", Some("https://a/page"), "first"),
        item("guid:y", Some("https://a/page"), "second"),
        // One guid, two links: told apart by their keys.
        item("guid:z|url:https://a/p#one", Some("https://a/p#one"), "third"),
        item("guid:z|url:https://a/p#two", Some("https://a/p#two"), "fourth"),
    ];
    let st = s.store_items("a", &items, &OK, t0(), None).unwrap();
    assert_eq!(st.new, 4);
    // The same four again change nothing.
    let st = s.store_items("a", &items, &OK, t0() + Duration::hours(1), None).unwrap();
    assert_eq!((st.new, st.unchanged), (0, 4));
    // A link-only item that later gains a guid is the same item.
    s.store_items("b", &[item("url:https://b/1", Some("https://b/1"), "b one")], &OK, t0(), None).unwrap();
    let st = s.store_items("b", &[item("guid:b1", Some("https://b/1"), "b one")], &OK, t0(), None).unwrap();
    assert_eq!((st.new, st.unchanged), (0, 1));
    assert_eq!(all_items(&s).len(), 5);
}

fn the_day_window_and_per_source_counts(b: &Backend) {
    let mut s = b.with_sources();
    let dated = |key: &str, h: i64| {
        let mut i = item(key, Some(&format!("https://a/{key}")), key);
        i.published = Some(t0() + Duration::hours(h));
        i
    };
    let items = [dated("k1", -1), dated("k2", 0), dated("k3", 23), dated("k4", 24)];
    s.store_items("a", &items, &OK, t0() + Duration::hours(30), None).unwrap();
    let day: Vec<String> =
        s.items_between(t0(), t0() + Duration::days(1)).unwrap().into_iter().map(|i| i.title).collect();
    assert_eq!(day, ["k2", "k3"], "[start, end) by the feed's date, oldest first");
    assert_eq!(s.entries_since("a", t0() + Duration::hours(29)).unwrap(), 4);
    assert_eq!(s.entries_since("a", t0() + Duration::hours(31)).unwrap(), 0);
    assert_eq!(s.entries_since("b", t0()).unwrap(), 0);
    let mut urls = s.item_urls("a").unwrap();
    urls.sort();
    assert_eq!(urls, ["https://a/k1", "https://a/k2", "https://a/k3", "https://a/k4"]);
}

fn article_pages_are_remembered_and_replaced(b: &Backend) {
    let mut s = b.open();
    assert_eq!(s.cached_page("https://a/1").unwrap(), None);
    let meta = PageMeta {
        image: Some("https://a/og.jpg".into()),
        description: Some("描述".into()),
        published: Some(t0()),
        canonical: Some("https://a/1".into()),
        main_html: None,
    };
    s.cache_page("https://a/1", &meta, t0()).unwrap();
    assert_eq!(s.cached_page("https://a/1").unwrap(), Some(meta.clone()));
    let newer = PageMeta { image: None, description: Some("新描述".into()), ..meta };
    s.cache_page("https://a/1", &newer, t0() + Duration::hours(1)).unwrap();
    assert_eq!(s.cached_page("https://a/1").unwrap(), Some(newer));
}

fn post(date: &str, title: &str) -> PostRecord {
    PostRecord {
        date: date.into(),
        slug: format!("{date}-ai-daily"),
        title: title.into(),
        description: "今日要闻".into(),
        tags: vec!["大模型".into(), "国产AI".into()],
        markdown: format!("---\ntitle: {title}\n---\n# {title}\n"),
        html: format!("<h1>{title}</h1>"),
        published_at: t0() + Duration::hours(1),
    }
}

fn story(date: &str, rank: usize, headline: &str, tags: &[&str], item_ids: Vec<i64>) -> StoryRecord {
    StoryRecord {
        post_date: date.into(),
        rank,
        headline: headline.into(),
        html: format!("<h2>{headline}</h2>"),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        published_at: t0() + Duration::hours(1),
        item_ids,
    }
}

fn a_post_replaces_the_earlier_run_of_its_date(b: &Backend) {
    let mut s = b.with_sources();
    s.store_items(
        "a",
        &[item("guid:1", Some("https://a/1"), "一"), item("guid:2", Some("https://a/2"), "二")],
        &OK,
        t0(),
        None,
    )
    .unwrap();
    let ids: Vec<i64> = all_items(&s).iter().map(|i| i.id).collect();
    let d1 = "2025-04-01";
    s.save_post(&post(d1, "first run"), &[story(d1, 1, "旧", &["大模型"], ids.clone())]).unwrap();
    // The digest runs again for the same date: one post, the new stories.
    let stories =
        [story(d1, 1, "甲", &["大模型", "国产AI"], vec![ids[0]]), story(d1, 2, "乙", &["国产AI"], vec![ids[1]])];
    s.save_post(&post(d1, "second run"), &stories).unwrap();
    s.save_post(&post("2025-04-02", "next day"), &[story("2025-04-02", 1, "丙", &["大模型"], vec![])]).unwrap();
    assert_eq!(s.post(d1).unwrap(), Some(post(d1, "second run")));
    assert_eq!(s.post("2025-03-31").unwrap(), None);
    let recent: Vec<String> = s.recent_posts(5).unwrap().into_iter().map(|p| p.date).collect();
    assert_eq!(recent, ["2025-04-02", d1]);
    assert_eq!(s.recent_posts(1).unwrap().len(), 1);
    let between = s.stories_between(d1, "2025-04-02").unwrap();
    let got: Vec<(&str, Vec<i64>, usize)> =
        between.iter().map(|(st, items)| (st.headline.as_str(), st.item_ids.clone(), items.len())).collect();
    assert_eq!(got, [("甲", vec![ids[0]], 1), ("乙", vec![ids[1]], 1)]);
    assert_eq!(between[0].0, StoryRecord { item_ids: vec![ids[0]], ..stories[0].clone() });
    let tagged: Vec<String> = s.stories_with_tag("国产AI", 10).unwrap().into_iter().map(|st| st.headline).collect();
    assert_eq!(tagged, ["甲", "乙"]);
    let tagged: Vec<String> = s.stories_with_tag("大模型", 10).unwrap().into_iter().map(|st| st.headline).collect();
    assert_eq!(tagged, ["丙", "甲"], "newest day first");
    assert_eq!(s.stories_with_tag("大模型", 1).unwrap().len(), 1);
    // Lists without bodies: posts newest first, stories newest day first in post order.
    let heads = s.post_list(5).unwrap();
    let got: Vec<(&str, &str)> = heads.iter().map(|p| (p.date.as_str(), p.title.as_str())).collect();
    assert_eq!(got, [("2025-04-02", "next day"), (d1, "second run")]);
    assert_eq!(heads[1].published_at, post(d1, "second run").published_at);
    assert_eq!(s.post_list(1).unwrap().len(), 1);
    let listed: Vec<String> = s.stories_of_posts(d1, "2025-04-03").unwrap().into_iter().map(|st| st.headline).collect();
    assert_eq!(listed, ["丙", "甲", "乙"]);
    assert!(s.stories_of_posts(d1, "2025-04-03").unwrap().iter().all(|st| st.item_ids.is_empty()));
}

fn sources_are_listed_in_byte_order(b: &Backend) {
    let mut s = b.open();
    let names = ["量子位", "B", "a", "36氪", "機器之心"];
    s.sync_sources(&names.map(|n| (n.to_string(), format!("http://{n}/feed")))).unwrap();
    let got: Vec<String> = s.source_states().unwrap().into_iter().map(|st| st.name).collect();
    let mut want: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    want.sort();
    assert_eq!(got, want);
}

/// Leases for `owner` among `names`, each on a host of its own.
fn lease(
    s: &mut Store,
    owner: &str,
    names: &[String],
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: usize,
) -> Vec<String> {
    let sources = names.iter().map(|n| (n.clone(), format!("{n}.example"))).collect();
    let request = LeaseRequest { owner: owner.into(), sources, now, until, limit, per_host: 10 };
    s.claim_due(&request).unwrap().names
}

fn due_sources_are_leased_to_one_node_at_a_time(b: &Backend) {
    let mut s = b.open();
    let names: Vec<String> = ["s1", "s2", "s3", "s4", "s5"].map(String::from).to_vec();
    s.sync_sources(&names.iter().map(|n| (n.clone(), format!("http://{n}/feed"))).collect::<Vec<_>>()).unwrap();
    let lease_end = t0() + Duration::minutes(10);
    // s4 is not due for an hour; s5 is held off by a Retry-After.
    s.record_fetch("s4", &OK, t0(), Some(t0() + Duration::hours(1))).unwrap();
    let limited = FetchRecord::Failed { error: "HTTP 429".into(), retry_after: Some(t0() + Duration::hours(1)) };
    s.record_fetch("s5", &limited, t0(), Some(t0())).unwrap();
    let first = lease(&mut s, "node-a", &names, t0(), lease_end, 2);
    assert_eq!(first, ["s1", "s2"], "never-fetched sources first, at most the limit");
    // Another node, through another connection, gets what is left.
    let mut other = b.open();
    assert_eq!(lease(&mut other, "node-b", &names, t0(), lease_end, 10), ["s3"]);
    assert!(lease(&mut other, "node-b", &names, t0(), lease_end, 10).is_empty());
    // Only sources named are leased.
    assert!(lease(&mut s, "node-a", &["s4".into()], t0() + Duration::hours(2), lease_end, 10) == ["s4"]);
    // Recording a fetch releases its lease (and moves the next time).
    s.record_fetch("s1", &OK, t0(), Some(t0())).unwrap();
    assert_eq!(lease(&mut other, "node-b", &names, t0(), lease_end, 10), ["s1"]);
    // A node that died loses its leases when they expire...
    let after = lease_end + Duration::seconds(1);
    assert_eq!(lease(&mut other, "node-b", &["s2".into()], after, after + Duration::minutes(10), 10), ["s2"]);
    // ...or at once when it restarts and gives them back.
    assert_eq!(s.release_leases("node-b").unwrap(), 3);
    // Never-fetched first, then the most overdue.
    assert_eq!(lease(&mut s, "node-a", &names, t0(), lease_end, 10), ["s2", "s3", "s1"]);
}

fn a_hosts_limit_holds_across_nodes_and_is_shared(b: &Backend) {
    let mut a = b.open();
    let mut other = b.open();
    let on = |host: &str, names: &[&str]| names.iter().map(|n| (n.to_string(), host.to_string())).collect::<Vec<_>>();
    let mut all = on("slow.example", &["p1", "p2", "p3", "p4", "p5"]);
    all.extend(on("other.example", &["q1", "q2"]));
    a.sync_sources(&all.iter().map(|(n, h)| (n.clone(), format!("http://{h}/{n}"))).collect::<Vec<_>>()).unwrap();
    let until = t0() + Duration::minutes(10);
    let ask = |s: &mut Store, owner: &str, sources: &[(String, String)], limit: usize| -> Leased {
        let request =
            LeaseRequest { owner: owner.into(), sources: sources.to_vec(), now: t0(), until, limit, per_host: 2 };
        s.claim_due(&request).unwrap()
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    // Alone, a node takes each host's whole limit, hosts in turn.
    let first = ask(&mut a, "node-a", &all, 10);
    assert_eq!(sorted(first.names), ["p1", "p2", "q1", "q2"]);
    assert!(first.waiting, "p3–p5 wait for their host");
    // The host is full: another node gets none of it, and is told to wait.
    assert_eq!(ask(&mut other, "node-b", &all, 10), Leased { names: vec![], waiting: true });
    // A slot frees: with two nodes at work, each holds at most one of the host.
    a.record_fetch("p1", &OK, t0(), Some(until)).unwrap();
    assert_eq!(ask(&mut other, "node-b", &all, 10).names, ["p3"]);
    assert_eq!(ask(&mut other, "node-b", &all, 10), Leased { names: vec![], waiting: true });
    a.record_fetch("p2", &OK, t0(), Some(until)).unwrap();
    assert_eq!(ask(&mut a, "node-a", &all, 10).names, ["p4"]);
    assert!(ask(&mut a, "node-a", &all, 10).names.is_empty(), "node-a holds its share");
    // A node with nothing due among its sources stops taking a share...
    other.record_fetch("p3", &OK, t0(), Some(until)).unwrap();
    let none_due = on("other.example", &["q1", "q2"]);
    a.record_fetch("q1", &OK, t0(), Some(until)).unwrap();
    a.record_fetch("q2", &OK, t0(), Some(until)).unwrap();
    assert_eq!(ask(&mut other, "node-b", &none_due, 10), Leased { names: vec![], waiting: false });
    // ...so the one left may use the whole limit again.
    assert_eq!(ask(&mut a, "node-a", &all, 10).names, ["p5"]);
}

fn one_node_writes_a_dates_digest(b: &Backend) {
    let mut a = b.open();
    let mut other = b.open();
    let (tick, until) = (t0(), t0() + Duration::minutes(30));
    let day = "2025-04-02";
    let held = |owner: &str, until| Some(DigestHeld { owner: owner.into(), until });
    assert_eq!(a.claim_digest(day, "node-a", tick, t0(), until).unwrap(), None, "claimed");
    assert_eq!(other.claim_digest(day, "node-b", tick, t0(), until).unwrap(), held("node-a", Some(until)));
    // The holder may ask again; another date, or another tick, is free.
    assert_eq!(a.claim_digest(day, "node-a", tick, t0(), until).unwrap(), None);
    assert_eq!(other.claim_digest("2025-04-03", "node-b", tick, t0(), until).unwrap(), None);
    let next_tick = tick + Duration::minutes(1);
    assert_eq!(other.claim_digest(day, "node-b", next_tick, t0(), until).unwrap(), None);
    // A holder that died lets the tick go when its claim lapses.
    let later = until + Duration::seconds(1);
    let until_b = later + Duration::minutes(30);
    assert_eq!(other.claim_digest(day, "node-b", tick, later, until_b).unwrap(), None);
    assert_eq!(a.claim_digest(day, "node-a", tick, later, later).unwrap(), held("node-b", Some(until_b)));
    // Once written, that tick is done: a node coming late to it skips it.
    other.finish_digest(day, tick, "node-b", later).unwrap();
    let much_later = later + Duration::days(1);
    assert_eq!(a.claim_digest(day, "node-a", tick, much_later, much_later).unwrap(), held("node-b", None));
    assert_eq!(other.claim_digest(day, "node-b", tick, much_later, much_later).unwrap(), held("node-b", None));
    // Finishing names the tick: the other tick's claim is untouched.
    assert_eq!(a.claim_digest(day, "node-a", next_tick, t0(), until).unwrap(), held("node-b", Some(until)));
}

fn items_of_one_feed_that_are_one_item(b: &Backend) {
    let mut s = b.with_sources();
    // Within one fetch: the second item links the first's page, the third
    // repeats the second's content. One item, updated once.
    let items = [
        item("url:https://a/x", Some("https://a/x"), "x one"),
        item("hash:2", Some("https://a/x"), "x two"),
        item("guid:g", None, "x two"),
    ];
    let st = s.store_items("a", &items, &OK, t0(), None).unwrap();
    assert_eq!((st.new, st.updated, st.unchanged), (1, 1, 1));
    let stored = all_items(&s);
    assert_eq!(stored.iter().map(|i| i.title.as_str()).collect::<Vec<_>>(), ["x two"]);
    // Many new items at once, then the same feed again: nothing new.
    let many: Vec<Item> =
        (0..300).map(|i| item(&format!("guid:{i}"), Some(&format!("https://a/{i}")), &format!("第{i}条"))).collect();
    assert_eq!(s.store_items("b", &many, &OK, t0(), None).unwrap().new, 300);
    let st = s.store_items("b", &many, &OK, t0() + Duration::hours(1), None).unwrap();
    assert_eq!((st.new, st.unchanged), (0, 300));
    assert_eq!(state(&s.source_states().unwrap(), "b").item_count, 300);
}

/// What only the shared database has: several nodes at once.
mod several_nodes {
    use super::*;

    #[test]
    fn nodes_starting_together_migrate_once() {
        let db = PgDatabase::create();
        let url = db.url();
        let opened: Vec<bool> = std::thread::scope(|scope| {
            let starts: Vec<_> =
                (0..4).map(|_| scope.spawn(|| tidings::store::PgStore::connect(&url).map(drop).is_ok())).collect();
            starts.into_iter().map(|h| h.join().unwrap_or(false)).collect()
        });
        assert_eq!(opened, [true; 4]);
        let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        let rows = client.query("SELECT version FROM tidings_schema", &[]).unwrap();
        assert_eq!(rows.len(), 1, "one version row");
        let version: i64 = rows[0].get(0);
        assert!(version >= 1);
        // A schema from a newer Tidings is refused, naming the database.
        client.execute("UPDATE tidings_schema SET version = 999", &[]).unwrap();
        let err = tidings::store::PgStore::connect(&url).err().expect("refused");
        assert!(err.to_string().contains("schema version 999"), "{err}");
    }

    #[test]
    fn a_wrong_password_is_not_repeated_in_the_message() {
        let db = PgDatabase::create();
        let mut url = url::Url::parse(&db.url()).unwrap();
        url.set_username("no_such_user").unwrap();
        url.set_password(Some("s3cret")).unwrap();
        let err = tidings::store::PgStore::connect(url.as_str()).err().expect("no such role");
        let shown = err.to_string();
        assert!(shown.contains("no_such_user") && !shown.contains("s3cret"), "{shown}");
    }
}
