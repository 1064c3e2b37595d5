//! `tidings digest` end to end on the offline demo's sample feeds: the post
//! has the sample's shape and its six stories, each once with every outlet;
//! the feeds parse and follow the validator's rules; reruns are byte-identical;
//! a later day does not repeat what was published; an empty day writes nothing.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use saphyr::{LoadableYamlNode, Yaml};

mod common;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A demo setup in a temporary folder: the sample feeds by absolute path,
/// the default taxonomy, database and output inside the folder.
fn setup(extra_sources: &[(&str, &Path)]) -> (tempfile::TempDir, PathBuf) {
    setup_with(extra_sources, "")
}

/// As [`setup`], with more `[[source]]` tables appended verbatim.
fn setup_with(extra_sources: &[(&str, &Path)], extra_toml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let mut sources = common::demo_sources_toml();
    for (name, path) in extra_sources {
        sources.push_str(&format!("[[source]]\nname = \"{name}\"\nurl = \"{}\"\n\n", path.display()));
    }
    sources.push_str(extra_toml);
    std::fs::write(dir.path().join("sources.toml"), sources).unwrap();
    let config = format!(
        "[site]\ntitle = \"Tidings\"\ndescription = \"AI 产业日报\"\nbase_url = \"https://news.example.org/\"\ntimezone = \"Asia/Shanghai\"\n\n\
         [storage]\ndatabase = \"db/t.sqlite\"\n\n[output]\ndir = \"site\"\n\n\
         [fetch]\nallow_private_addresses = true\n\n\
         [taxonomy]\nfile = \"{}\"\n\n[sources]\nfile = \"sources.toml\"\n",
        repo().join("config/taxonomy.toml").display()
    );
    let path = dir.path().join("tidings.toml");
    std::fs::write(&path, config).unwrap();
    (dir, path)
}

fn tidings(config: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tidings")).arg("--config").arg(config).args(args).output().unwrap();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "tidings {args:?} failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

/// Ground truth from `feeds/samples/README.md`: title → class (S1…S6, noise, outside).
fn ground_truth() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(repo().join("feeds/samples/README.md")).unwrap();
    text.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells.len() == 8 && cells[1].parse::<u32>().is_ok()).then(|| (cells[3].to_string(), cells[6].to_string()))
        })
        .collect()
}

/// Title → canonical URL of every stored item.
fn item_urls(db: &Path) -> BTreeMap<String, String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT title, url FROM items").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

/// The post's story sections, each without its `{#story-<id>}` anchor.
fn sections(post: &str) -> Vec<String> {
    post.split("\n## ").skip(1).map(without_anchor).collect()
}

/// A section with the anchor after its headline taken out.
fn without_anchor(section: &str) -> String {
    let (first, rest) = section.split_once('\n').unwrap_or((section, ""));
    let headline = first.rfind(" {#story-").map_or(first, |i| &first[..i]);
    format!("{headline}\n{rest}")
}

fn front_matter(post: &str) -> (Vec<String>, Yaml<'static>) {
    let rest = post.strip_prefix("---\n").expect("front matter opens the post");
    let end = rest.find("\n---\n").expect("front matter closes");
    let yaml = &rest[..end];
    let keys = yaml.lines().map(|l| l.split(':').next().unwrap().to_string()).collect();
    let docs = Yaml::load_from_str(yaml).expect("front matter is valid YAML");
    let doc = docs.into_iter().next().unwrap();
    (keys, doc)
}

#[test]
fn demo_post_has_the_samples_shape_and_six_merged_stories() {
    let (dir, config) = setup(&[]);
    let (stdout, _) = tidings(&config, &["digest", "--date", "2025-04-02"]);
    let post_path = dir.path().join("site/_posts/2025-04-02-ai-daily.md");
    assert!(stdout.contains(&post_path.display().to_string()), "{stdout}");
    let post = std::fs::read_to_string(&post_path).unwrap();

    // Front matter: the sample's keys in the sample's order, valid YAML.
    let (keys, fm) = front_matter(&post);
    assert_eq!(keys, ["layout", "title", "date", "description", "tags"]);
    assert_eq!(fm["layout"].as_str(), Some("post"));
    assert!(!fm["title"].as_str().unwrap().trim().is_empty());
    assert_eq!(fm["date"].as_str(), Some("2025-04-02 09:00"));
    let description = fm["description"].as_str().unwrap();
    assert!(!description.is_empty() && description.chars().count() <= 200, "{description}");
    let taxonomy = std::fs::read_to_string(repo().join("config/taxonomy.toml")).unwrap();
    let tags: Vec<&str> = fm["tags"].as_vec().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert!(tags.len() >= 5, "{tags:?}");
    for t in &tags {
        assert!(taxonomy.contains(&format!("name = \"{t}\"")), "tag {t} is not in the taxonomy");
    }
    // The body: an H1, then one section per story.
    let body = &post[post.find("\n---\n").unwrap() + 5..];
    assert!(body.trim_start().starts_with("# "), "no H1");

    let truth = ground_truth();
    let urls = item_urls(&dir.path().join("db/t.sqlite"));
    let secs = sections(&post);
    assert!(secs.len() >= 6 && secs.len() <= 12);
    for story in ["S1", "S2", "S3", "S4", "S5", "S6"] {
        let members: Vec<&String> = truth.iter().filter(|(_, c)| *c == story).map(|(t, _)| t).collect();
        let links: Vec<&String> =
            members.iter().map(|t| urls.get(*t).unwrap_or_else(|| panic!("{t} not stored"))).collect();
        let holding: Vec<&String> = secs.iter().filter(|s| links.iter().any(|l| s.contains(l.as_str()))).collect();
        assert_eq!(holding.len(), 1, "{story} appears in {} sections", holding.len());
        let sec = holding[0];
        for l in &links {
            assert!(sec.contains(l.as_str()), "{story}: {l} missing from its section");
        }
        // Nothing of another story or of the noise in it.
        for (title, class) in &truth {
            if class != story
                && let Some(u) = urls.get(title)
            {
                assert!(!sec.contains(&format!("({u})")), "{story} holds {title} ({class})");
            }
        }
        // Told in English and Traditional Chinese too, the story is shown
        // once, headed in the site's language (zh-CN).
        let headline = sec.lines().next().unwrap_or("");
        assert_eq!(
            tidings::cluster::evidence::Script::of(headline),
            tidings::cluster::evidence::Script::Simplified,
            "{story}: {headline}"
        );
        assert!(sec.contains("\n来源："), "{story}: no sources line");
        assert!(sec.contains("\n标签："), "{story}: no tags line");
    }
    // Images of the four lead items, in the `![alt](url "alt")` form.
    for image in [
        "https://s.coze.cn/t/WuAHfpzjCBE/",
        "https://s.coze.cn/t/Bir0GMSWo14/",
        "https://s.coze.cn/t/iLSycrMj91Y/",
        "https://s.coze.cn/t/oM_OAXmmsMk/",
    ] {
        assert!(post.contains(&format!("]({image} \"")), "image {image} missing");
    }
    // Items outside the window are not in the post.
    for (title, class) in &truth {
        if class == "outside" {
            assert!(!post.contains(urls[title].as_str()), "{title} is outside the window");
        }
    }
}

#[test]
fn rerun_is_byte_identical_and_feeds_follow_the_rules() {
    let (dir, config) = setup(&[]);
    tidings(&config, &["digest", "--date", "2025-04-02"]);
    let site = dir.path().join("site");
    let snapshot = |site: &Path| -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![site.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.insert(p.clone(), std::fs::read(&p).unwrap());
                }
            }
        }
        out
    };
    let first = snapshot(&site);
    tidings(&config, &["digest", "--date", "2025-04-02", "--no-fetch"]);
    tidings(&config, &["digest", "--date", "2025-04-02"]);
    assert_eq!(snapshot(&site), first, "a rerun changed the output");
    assert_eq!(std::fs::read_dir(site.join("_posts")).unwrap().count(), 1);

    let base = "https://news.example.org/";
    // RSS 2.0: parses, one item per post, RFC 822 dates, absolute links, rel=self.
    let rss_text = std::fs::read_to_string(site.join("feed.xml")).unwrap();
    let channel = rss::Channel::read_from(rss_text.as_bytes()).unwrap();
    assert_eq!(channel.items.len(), 1);
    assert!(
        rss_text.contains(&format!("<atom:link href=\"{base}feed.xml\" rel=\"self\" type=\"application/rss+xml\"/>"))
    );
    for item in &channel.items {
        assert!(item.link.as_deref().unwrap().starts_with(base));
        chrono::DateTime::parse_from_rfc2822(item.pub_date.as_deref().unwrap()).expect("RFC 822 pubDate");
        assert!(item.description.as_deref().unwrap().contains("<h2 id=\"story-"));
    }
    chrono::DateTime::parse_from_rfc2822(channel.last_build_date.as_deref().unwrap()).unwrap();
    // Atom 1.0: parses, rel=self, entries with ids, RFC 3339 dates.
    let atom_text = std::fs::read_to_string(site.join("atom.xml")).unwrap();
    let feed = atom_syndication::Feed::read_from(atom_text.as_bytes()).unwrap();
    assert!(feed.links.iter().any(|l| l.rel == "self" && l.href == format!("{base}atom.xml")));
    assert_eq!(feed.entries.len(), 1);
    assert_eq!(feed.entries[0].id, format!("{base}posts/2025-04-02"));
    // JSON Feed 1.1.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(site.join("feed.json")).unwrap()).unwrap();
    assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(json["items"].as_array().unwrap().len(), 1);
    // Our own reader takes all three.
    for name in ["feed.xml", "atom.xml", "feed.json"] {
        let text = std::fs::read_to_string(site.join(name)).unwrap();
        let parsed = tidings::parse::parse(&text, Some(base), chrono_tz::UTC).unwrap();
        assert_eq!(parsed.items.len(), 1, "{name}");
    }
    // A per-tag feed holds the story with every source link.
    let tag_text = std::fs::read_to_string(site.join("tags/AI眼镜.xml")).unwrap();
    let tag_channel = rss::Channel::read_from(tag_text.as_bytes()).unwrap();
    let glasses =
        tag_channel.items.iter().find(|i| i.title.as_deref().unwrap().contains("余江")).expect("AI眼镜 story");
    let html = glasses.description.as_deref().unwrap();
    // Four mainland outlets, TechNode in English and 數位時代 in Traditional Chinese.
    assert_eq!(html.matches("<a href=").count(), 6, "{html}");
    let guids: HashSet<&str> = tag_channel.items.iter().map(|i| i.guid.as_ref().unwrap().value.as_str()).collect();
    assert_eq!(guids.len(), tag_channel.items.len(), "duplicate guids");
    assert!(tag_text.contains("rel=\"self\""));
}

#[test]
fn a_later_day_does_not_repeat_and_marks_follow_ups() {
    let dir2 = tempfile::tempdir().unwrap();
    let next_day = dir2.path().join("next-day.xml");
    std::fs::write(
        &next_day,
        r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>极客公园</title><link>https://www.geekpark.net/</link>
<item><title>余江AI眼镜大会闭幕：三天签约项目超30个，Rokid 49克AR眼镜订单火爆</title>
<link>https://www.geekpark.net/news/350001</link><pubDate>Wed, 02 Apr 2025 18:00:00 +0800</pubDate>
<description>为期两天的2025中国AI眼镜产业发展大会在江西余江闭幕。大会期间签约项目超30个，Rokid展出的49克超轻AR眼镜订单火爆，雅视集团与华为合作的智能眼镜同步亮相。余江眼镜产业2024年主营业务收入108.22亿元。</description></item>
<item><title>某地发布算力券政策，最高补贴500万元</title>
<link>https://www.geekpark.net/news/350002</link><pubDate>Wed, 02 Apr 2025 20:00:00 +0800</pubDate>
<description>某市发布算力券实施细则，对采购智能算力的中小企业给予最高500万元补贴。</description></item>
</channel></rss>"#,
    )
    .unwrap();
    let (dir, config) = setup(&[("极客公园", &next_day)]);
    tidings(&config, &["digest", "--date", "2025-04-02"]);
    let day2 = std::fs::read_to_string(dir.path().join("site/_posts/2025-04-02-ai-daily.md")).unwrap();
    tidings(&config, &["digest", "--date", "2025-04-03", "--no-fetch"]);
    let post = std::fs::read_to_string(dir.path().join("site/_posts/2025-04-03-ai-daily.md")).unwrap();
    let secs = sections(&post);
    // The 2 April items published the day before are not told again.
    for sec in &secs {
        for link in day2.lines().filter(|l| l.starts_with("来源：")).flat_map(|l| l.split("](").skip(1)) {
            let url = &link[..link.find(')').unwrap()];
            assert!(!sec.contains(url), "repeated {url}");
        }
    }
    // The continuing story comes back only as a follow-up that says so.
    let follow = secs.iter().find(|s| s.contains("geekpark.net/news/350001")).expect("follow-up present");
    assert!(follow.starts_with("后续："), "{follow}");
    assert!(follow.contains("此前见 [2025-04-02 日报](https://news.example.org/posts/2025-04-02)"), "{follow}");
    let other = secs.iter().find(|s| s.contains("geekpark.net/news/350002")).unwrap();
    assert!(!other.starts_with("后续："));
    // Both days are in the feeds, newest first.
    let channel = rss::Channel::read_from(std::fs::read(dir.path().join("site/feed.xml")).unwrap().as_slice()).unwrap();
    let links: Vec<&str> = channel.items.iter().map(|i| i.link.as_deref().unwrap()).collect();
    assert_eq!(links, ["https://news.example.org/posts/2025-04-03", "https://news.example.org/posts/2025-04-02"]);
}

#[test]
fn a_day_without_items_writes_no_post_and_says_so() {
    let (dir, config) = setup(&[]);
    let (stdout, _) = tidings(&config, &["digest", "--date", "2024-01-01"]);
    assert!(stdout.contains("2024-01-01: no new items in the window, no post written"), "{stdout}");
    assert!(!dir.path().join("site/_posts").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_source_joins_the_right_stories_and_enrichment_brings_images() {
    let server = common::start(std::time::Duration::ZERO).await;
    let list = server.url("/html/list-utf8.html");
    let extra = format!(
        "[[source]]\nname = \"某省工信厅\"\nurl = \"{list}\"\nkind = \"html\"\nitem = \"ul.news li\"\ntitle = \"a.title\"\n\
         date = \"span.date\"\ndate_format = \"%Y年%m月%d日 %H:%M\"\nsummary = \"p.summary\"\nenrich = true\n"
    );
    let (dir, config) = setup_with(&[], &extra);
    let cfg = config.clone();
    // The binary runs in a blocking task: the fixture server lives on this runtime.
    tokio::task::spawn_blocking(move || tidings(&cfg, &["digest", "--date", "2025-04-02"])).await.unwrap();
    let post = std::fs::read_to_string(dir.path().join("site/_posts/2025-04-02-ai-daily.md")).unwrap();
    let secs = sections(&post);
    // The list page's 余江 item sits in the AI眼镜 story, beside the feeds' reports.
    let glasses = secs.iter().find(|s| s.contains("jiqizhixin.com/articles/2025-04-01-3")).expect("S1");
    assert!(glasses.contains("[某省工信厅]("), "{glasses}");
    // Its 朱啸虎 item joins that story too; the story had no image, its article page has one.
    let zhu = secs.iter().find(|s| s.contains("[某省工信厅](") && s.contains("朱啸虎")).expect("S6 with the HTML item");
    assert!(zhu.contains("](https://s.coze.cn/t/ZhuXiaohu2025/ \""), "{zhu}");
    // Enrichment took the page's canonical link for the item it read.
    assert!(zhu.contains("https://news.example.com.cn/2025/04/01/zhu-xiaohu.html"), "{zhu}");
    // The 朱啸虎 story and the AI眼镜 story each appear once.
    assert_eq!(secs.iter().filter(|s| s.contains("朱啸虎")).count(), 1);
    assert_eq!(secs.iter().filter(|s| s.contains("余江")).count(), 1);
    // Pages are read once: a rerun takes them from the cache.
    let hits = server.hits("/html/articles/zhu-xiaohu.html");
    let cfg = config.clone();
    tokio::task::spawn_blocking(move || tidings(&cfg, &["digest", "--date", "2025-04-02"])).await.unwrap();
    assert_eq!(server.hits("/html/articles/zhu-xiaohu.html"), hits);
}

/// `tidings explain` on the demo day: the English and Traditional reports
/// are in their Chinese stories with the evidence named, near pairs kept
/// apart carry their reason, and item links narrow the output.
#[test]
fn explain_shows_what_joined_and_what_was_kept_apart() {
    let (dir, config) = setup(&[]);
    tidings(&config, &["digest", "--date", "2025-04-02"]);
    let (all, _) = tidings(&config, &["explain", "--date", "2025-04-02"]);
    assert!(all.starts_with("2025-04-02: "), "{all}");
    let glasses = "Chinese eyewear hub Yujiang bets on AI glasses as industry conference opens";
    let story = all.split("\nstory ").find(|s| s.contains(glasses)).expect("the English S1 report");
    // `story <id> of 6 report(s)`: the id the post shows, ten hex digits.
    let (id, rest) = story.split_once(' ').expect("an id");
    assert!(id.len() == 10 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{story}");
    assert!(rest.starts_with("of 6 report(s)"), "{story}");
    assert!(story.contains("2025中国AI眼镜产业发展大会在江西余江开幕"), "{story}");
    assert!(story.contains("(Latin)") && story.contains("(Traditional)"), "{story}");
    let across = story.lines().find(|l| l.contains("across languages, evidence")).expect("a join across languages");
    assert!(across.contains("names ") && across.contains("余江"), "{across}");
    assert!(all.contains("kept apart:"), "{all}");
    // One item's link: only its story.
    let urls = item_urls(&dir.path().join("db/t.sqlite"));
    let (one, _) = tidings(&config, &["explain", "--date", "2025-04-02", &urls[glasses]]);
    assert_eq!(one.matches("\nstory ").count(), 1, "{one}");
    assert!(one.contains(glasses), "{one}");
    let (none, _) = tidings(&config, &["explain", "--date", "2025-04-02", "https://nowhere.example/x"]);
    assert!(none.contains("not in this day's window: https://nowhere.example/x"), "{none}");
}

/// `N. [id] headline` lines of a story list (`digest --dry-run`, `edit`).
fn listed(list: &str) -> Vec<(String, String)> {
    list.lines()
        .filter_map(|l| {
            let (_, rest) = l.trim_start().split_once(". [")?;
            let (id, headline) = rest.split_once("] ")?;
            Some((id.to_string(), headline.to_string()))
        })
        .collect()
}

/// Every file of the output, for "nothing was written".
fn output_files(site: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![site.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn an_editors_corrections_survive_rebuilds_and_reach_the_feeds() {
    let (dir, config) = setup(&[]);
    let site = dir.path().join("site");
    let day = ["--date", "2025-04-02"];
    tidings(&config, &["digest", day[0], day[1]]);
    let post_path = site.join("_posts/2025-04-02-ai-daily.md");
    let before = output_files(&site);

    // The dry run lists the stories with their ids and writes nothing.
    let (list, _) = tidings(&config, &["digest", day[0], day[1], "--dry-run"]);
    let stories = listed(&list);
    let n = stories.len();
    assert!(n >= 6, "{list}");
    assert_eq!(sections(&std::fs::read_to_string(&post_path).unwrap()).len(), n, "{list}");
    assert_eq!(output_files(&site), before, "a dry run wrote something");
    assert!(!dir.path().join("edits").exists());
    // Each id is the anchor of its section in the post.
    let post = std::fs::read_to_string(&post_path).unwrap();
    for (id, headline) in &stories {
        assert!(post.contains(&format!("{} {{#story-{id}}}", tidings::render::md_text(headline))), "{id} {headline}");
    }

    // Hide one story, retitle and retag another, pin it first, title the post.
    let (hidden_id, hidden) = stories.iter().find(|(_, h)| h.contains("余江")).cloned().expect("the AI glasses story");
    let (kept_id, _) = stories.last().cloned().unwrap();
    let (list, stderr) = tidings(&config, &["edit", day[0], day[1], "hide", &hidden_id]);
    assert!(stderr.contains("edits/2025-04-02.toml"), "{stderr}");
    assert!(listed(&list).iter().all(|(id, _)| *id != hidden_id), "{list}");
    tidings(&config, &["edit", day[0], day[1], "headline", &kept_id, "编辑改写的标题：<一则>"]);
    tidings(&config, &["edit", day[0], day[1], "tag", &kept_id, "+人机共生", "-AI眼镜"]);
    tidings(&config, &["edit", day[0], day[1], "pin", &kept_id, "1"]);
    let (list, _) = tidings(&config, &["edit", day[0], day[1], "title", "编辑定的标题"]);
    let now = listed(&list);
    assert_eq!(now[0], (kept_id.clone(), "编辑改写的标题：<一则>".to_string()), "{list}");
    assert!(list.contains("人机共生"), "{list}");
    assert!(!list.contains(&hidden_id), "{list}");

    // The rebuild applies them, and a second rebuild is byte-identical.
    tidings(&config, &["digest", day[0], day[1], "--no-fetch"]);
    let post = std::fs::read_to_string(&post_path).unwrap();
    let (_, fm) = front_matter(&post);
    assert_eq!(fm["title"].as_str(), Some("编辑定的标题"));
    let secs = sections(&post);
    assert_eq!(secs.len(), now.len());
    assert!(secs[0].starts_with("编辑改写的标题：&lt;一则&gt;\n"), "{}", secs[0]);
    assert!(secs[0].contains("人机共生"), "{}", secs[0]);
    assert!(!post.contains(&format!("story-{hidden_id}")), "the hidden story is in the post");
    assert!(!post.contains(&tidings::render::md_text(&hidden)), "the hidden story is in the post");
    let rebuilt = output_files(&site);
    tidings(&config, &["digest", day[0], day[1], "--no-fetch"]);
    assert_eq!(output_files(&site), rebuilt, "a rebuild with edits changed the output");
    // The feeds follow: the hidden story is gone from every one, the new headline is there.
    let mut feeds: Vec<PathBuf> = ["feed.xml", "atom.xml", "feed.json"].iter().map(|f| site.join(f)).collect();
    feeds.extend(std::fs::read_dir(site.join("tags")).unwrap().map(|e| e.unwrap().path()));
    // The hidden story was the day's only AI眼镜 story: that feed is now empty, and still valid.
    let glasses = std::fs::read_to_string(site.join("tags/AI眼镜.xml")).unwrap();
    assert!(rss::Channel::read_from(glasses.as_bytes()).unwrap().items.is_empty(), "{glasses}");
    for feed in &feeds {
        let text = std::fs::read_to_string(feed).unwrap();
        assert!(!text.contains(&format!("story-{hidden_id}")), "{} still has the hidden story", feed.display());
    }
    let rss_text = std::fs::read_to_string(site.join("feed.xml")).unwrap();
    let channel = rss::Channel::read_from(rss_text.as_bytes()).unwrap();
    let html = channel.items[0].description.as_deref().unwrap();
    assert!(html.contains("编辑改写的标题：&lt;一则&gt;"), "{html}");
    assert_eq!(channel.items[0].title.as_deref(), Some("编辑定的标题"));
    assert!(std::fs::read_to_string(site.join("tags/人机共生.xml")).unwrap().contains("编辑改写的标题"));

    // An edit naming nothing is a warning naming it, and the build goes on.
    let (list, _) = tidings(&config, &["edit", day[0], day[1], "hide", "00000000ff"]);
    assert!(list.contains("warning: ") && list.contains("00000000ff"), "{list}");
    let (out, _) = tidings(&config, &["digest", day[0], day[1], "--no-fetch"]);
    assert!(out.contains("warning: ") && out.contains("00000000ff"), "{out}");

    // A malformed edits file: file, line and key; the published post stays.
    let edits = dir.path().join("edits/2025-04-02.toml");
    let mut text = std::fs::read_to_string(&edits).unwrap();
    let line = text.lines().count() + 2;
    text.push_str("\n[[edit]]\npin = \"abc\"\n");
    std::fs::write(&edits, text).unwrap();
    let published = output_files(&site);
    let out = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("--config")
        .arg(&config)
        .args(["digest", day[0], day[1], "--no-fetch"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains(&format!("2025-04-02.toml:{line}: key `edit.position`")), "{stderr}");
    assert_eq!(output_files(&site), published, "a bad edits file changed the output");
    let out = Command::new(env!("CARGO_BIN_EXE_tidings")).arg("--config").arg(&config).arg("check").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("edit.position"));
}

#[test]
fn merges_and_splits_by_id_and_url() {
    let (dir, config) = setup(&[]);
    // Room for every story of the day, the split one included.
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[digest]\nmax_stories = 40\n");
    std::fs::write(&config, text).unwrap();
    let day = ["--date", "2025-04-02"];
    tidings(&config, &["fetch"]);
    let (list, _) = tidings(&config, &["digest", day[0], day[1], "--dry-run"]);
    let stories = listed(&list);
    // The glasses story holds six reports; its English one leaves it.
    let urls = item_urls(&dir.path().join("db/t.sqlite"));
    let english = &urls["Chinese eyewear hub Yujiang bets on AI glasses as industry conference opens"];
    let (list, _) = tidings(&config, &["edit", day[0], day[1], "split", english]);
    let after = listed(&list);
    assert!(after.iter().any(|(_, h)| h.contains("Yujiang")), "{list}");
    // Two stories made one: named by a story id and by a report's URL.
    let (list, _) = tidings(&config, &["edit", day[0], day[1], "merge", &stories[0].0, english]);
    assert!(!listed(&list).iter().any(|(_, h)| h.contains("Yujiang")), "{list}");
    // Both stay so in the written post.
    tidings(&config, &["digest", day[0], day[1], "--no-fetch"]);
    let post = std::fs::read_to_string(dir.path().join("site/_posts/2025-04-02-ai-daily.md")).unwrap();
    assert!(!sections(&post).iter().any(|s| s.starts_with("Chinese eyewear")), "{post}");
    assert!(post.contains(english.as_str()));
}

#[test]
fn hiding_every_story_keeps_the_published_post() {
    let (dir, config) = setup(&[]);
    let day = ["--date", "2025-04-02"];
    tidings(&config, &["digest", day[0], day[1]]);
    let site = dir.path().join("site");
    let published = output_files(&site);
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tidings")).arg("--config").arg(&config).args(args).output().unwrap()
    };
    // Hide what the list shows until nothing is left (hidden stories make room for others).
    let mut last = None;
    for _ in 0..10 {
        let out = run(&["digest", day[0], day[1], "--dry-run"]);
        if !out.status.success() {
            last = Some(String::from_utf8_lossy(&out.stderr).into_owned());
            break;
        }
        for (id, _) in listed(&String::from_utf8_lossy(&out.stdout)) {
            let _ = run(&["edit", day[0], day[1], "hide", &id]);
        }
    }
    let why = last.expect("every story hidden within ten rounds");
    assert!(why.contains("hide every story"), "{why}");
    let out = run(&["digest", day[0], day[1], "--no-fetch"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("hide every story"));
    assert_eq!(output_files(&site), published, "the published post and feeds stay");
}
