//! Faults around the data: hostile text reaching the outputs, a full disk or
//! an unwritable output folder while publishing, a database locked by
//! another process, configuration mistakes, and SIGKILL in the middle of a
//! digest, again and again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use saphyr::{LoadableYamlNode, Yaml};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tidings"))
}

/// A config reading one local feed file, output and database inside `dir`.
fn setup(dir: &Path, feed: &str, output: &str) -> PathBuf {
    std::fs::write(dir.join("feed.xml"), feed).unwrap();
    std::fs::write(dir.join("sources.toml"), "[[source]]\nname = \"恶意源\"\nurl = \"feed.xml\"\n").unwrap();
    let taxonomy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/taxonomy.toml");
    let config = format!(
        "[site]\nbase_url = \"https://news.example.org/\"\ntimezone = \"Asia/Shanghai\"\n\n\
         [storage]\ndatabase = \"db/t.sqlite\"\nbusy_timeout_secs = 1\n\n[output]\ndir = \"{output}\"\n\n\
         [taxonomy]\nfile = \"{}\"\n\n[sources]\nfile = \"sources.toml\"\n",
        taxonomy.display()
    );
    std::fs::write(dir.join("tidings.toml"), config).unwrap();
    dir.join("tidings.toml")
}

const HOSTILE_TITLE: &str =
    "大模型发布</title><script>alert(1)</script> ---\n]]> {{ site.x }} {% include x %} \"quoted\": [a, b] #tag";

fn hostile_feed() -> String {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut items = String::new();
    for (i, extra) in ["", "（二）", "（三）"].iter().enumerate() {
        items.push_str(&format!(
            "<item><title>{}</title><link>https://evil.example/{i}</link><guid>h{i}</guid>\
             <pubDate>Tue, 01 Apr 2025 1{i}:00:00 +0800</pubDate><description>{}</description>\
             <category>{}</category></item>",
            esc(&format!("{HOSTILE_TITLE}{extra}")),
            esc("<p onmouseover=\"x()\">大模型正文 <script>steal()</script> <a href=\"javascript:bad()\">点</a> {{ page }} ]]></p>"),
            esc("大模型</category><x>")
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>t</title><link>https://evil.example/</link>{items}</channel></rss>"
    )
}

fn digest(config: &Path, date: &str) -> std::process::Output {
    bin().arg("--config").arg(config).args(["digest", "--date", date]).output().unwrap()
}

#[test]
fn a_date_outside_the_calendar_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = setup(dir.path(), &hostile_feed(), "out");
    for (date, says) in [("0000-01-01", "year 0 is outside 1970–9999"), ("+262143-12-31", "out of range")] {
        let out = bin().arg("--config").arg(&cfg).args(["digest", "--no-fetch", "--date", date]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{date}: {stderr}");
        assert!(stderr.contains(says) && !stderr.contains("panicked"), "{date}: {stderr}");
    }
    assert!(!dir.path().join("db").exists() && !dir.path().join("out").exists(), "nothing was touched");
}

#[test]
fn hostile_text_never_breaks_or_enters_the_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), &hostile_feed(), "site");
    let out = digest(&config, "2025-04-02");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let site = dir.path().join("site");
    let post = std::fs::read_to_string(site.join("_posts/2025-04-02-ai-daily.md")).unwrap();
    // The front matter is valid YAML and ends where it should.
    let body_start = post.strip_prefix("---\n").unwrap().find("\n---\n").unwrap();
    let yaml = &post[4..4 + body_start];
    let doc = &Yaml::load_from_str(yaml).expect("valid YAML")[0];
    assert_eq!(doc["layout"].as_str(), Some("post"));
    assert!(doc["description"].as_str().is_some());
    // Markdown: no raw tags, no Liquid for Jekyll to run.
    for bad in ["<script", "</title>", "{{", "{%", "javascript:", "onmouseover"] {
        assert!(!post.contains(bad), "{bad} in the post:\n{post}");
    }
    // The feeds parse, carry no live markup, and the text survives escaped.
    let rss_text = std::fs::read_to_string(site.join("feed.xml")).unwrap();
    let channel = rss::Channel::read_from(rss_text.as_bytes()).expect("RSS parses");
    let html = channel.items[0].description.as_deref().unwrap();
    assert!(!html.contains("<script") && !html.contains("javascript:") && !html.contains("onmouseover"), "{html}");
    // The title is text (RSS titles are text with entities): its escaped
    // markup is shown as written, escaped again, never live.
    assert!(html.contains("\">大模型发布&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; --- ]]&gt;"), "{html}");
    assert!(post.contains("## 大模型发布&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; ---"), "{post}");
    atom_syndication::Feed::read_from(std::fs::read(site.join("atom.xml")).unwrap().as_slice()).expect("Atom parses");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(site.join("feed.json")).unwrap()).expect("JSON parses");
    assert!(!json["items"][0]["content_html"].as_str().unwrap().contains("<script"));
    for entry in std::fs::read_dir(site.join("tags")).unwrap() {
        let text = std::fs::read(entry.unwrap().path()).unwrap();
        rss::Channel::read_from(text.as_slice()).expect("tag feed parses");
    }
}

#[test]
fn an_unwritable_output_folder_is_a_clear_error_and_old_files_stay() {
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), &hostile_feed(), "site");
    assert!(digest(&config, "2025-04-02").status.success());
    let feed_before = std::fs::read(dir.path().join("site/feed.xml")).unwrap();
    let post_before = std::fs::read(dir.path().join("site/_posts/2025-04-02-ai-daily.md")).unwrap();
    // A file where the tags folder should be: writing a tag feed fails.
    std::fs::remove_dir_all(dir.path().join("site/tags")).unwrap();
    std::fs::write(dir.path().join("site/tags"), "not a folder").unwrap();
    let out = digest(&config, "2025-04-02");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot write") && stderr.contains("site/tags/"), "{stderr}");
    // Nothing was half-replaced: the post and feeds are those of the last good run.
    assert_eq!(std::fs::read(dir.path().join("site/feed.xml")).unwrap(), feed_before);
    assert_eq!(std::fs::read(dir.path().join("site/_posts/2025-04-02-ai-daily.md")).unwrap(), post_before);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("site"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn a_full_disk_is_a_clear_error_and_old_files_stay() {
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("small");
    std::fs::create_dir_all(&mount).unwrap();
    // A 512 KB tmpfs as the output folder (the tests run as root; CI too).
    let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "size=512k", "tmpfs"]).arg(&mount).status();
    if !mounted.is_ok_and(|s| s.success()) {
        // No mount permission on this machine: say so rather than pass silently.
        panic!("cannot mount a tmpfs to fill; run as root");
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mount.clone());
    let config = setup(dir.path(), &hostile_feed(), "small/site");
    assert!(digest(&config, "2025-04-02").status.success());
    let feed_before = std::fs::read(mount.join("site/feed.xml")).unwrap();
    // Fill the disk, leaving a few bytes.
    let filler = mount.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 4096];
    while std::io::Write::write_all(&mut f, &chunk).is_ok() {}
    drop(f);
    let out = digest(&config, "2025-04-02");
    assert!(!out.status.success(), "publishing on a full disk cannot succeed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot write") && stderr.contains("No space left"), "{stderr}");
    assert_eq!(std::fs::read(mount.join("site/feed.xml")).unwrap(), feed_before);
}

#[test]
fn a_locked_database_waits_then_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), &hostile_feed(), "site");
    assert!(bin().arg("--config").arg(&config).arg("fetch").status().unwrap().success());
    let db = rusqlite::Connection::open(dir.path().join("db/t.sqlite")).unwrap();
    db.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let started = std::time::Instant::now();
    let out = bin().arg("--config").arg(&config).arg("fetch").output().unwrap();
    let waited = started.elapsed();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is locked by another process (waited 1s)"), "{stderr}");
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(20), "waited {waited:?}");
    db.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn every_config_mistake_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let base = "[site]\ntitle = \"t\"\n[storage]\ndatabase = \"db\"\n[output]\ndir = \"o\"\n[digest]\nmax_stories = 5\n\
                [fetch]\ntimeout_secs = 5\n[schedule]\nfetch = \"*/5 * * * *\"\n[taxonomy]\nfile = \"tax.toml\"\n[sources]\nfile = \"src.toml\"\n";
    std::fs::write(dir.path().join("src.toml"), "[[source]]\nname = \"a\"\nurl = \"http://a.example/\"\n").unwrap();
    std::fs::write(dir.path().join("tax.toml"), "[[tag]]\nname = \"x\"\nkeywords = [\"x\"]\n").unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("title = \"t\"", "title = 5", "site.title"),
        ("database = \"db\"", "database = []", "storage.database"),
        ("dir = \"o\"", "dir = true", "output.dir"),
        ("max_stories = 5", "max_stories = \"five\"", "digest.max_stories"),
        ("timeout_secs = 5", "timeout_secs = -5", "fetch.timeout_secs"),
        ("fetch = \"*/5 * * * *\"", "fetch = 5", "schedule.fetch"),
        ("fetch = \"*/5 * * * *\"", "fetch = \"every five minutes\"", "schedule.fetch"),
        ("timeout_secs = 5", "timeout_secs = 5\ntimeuot = 1", "fetch.timeuot"),
        ("file = \"tax.toml\"", "file = 3", "taxonomy.file"),
    ];
    for (from, to, key) in cases {
        let text = base.replacen(from, to, 1);
        let path = dir.path().join("c.toml");
        std::fs::write(&path, &text).unwrap();
        let out = bin().arg("--config").arg(&path).arg("check").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{to}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = text
            .lines()
            .position(|l| l.starts_with(to.lines().last().unwrap().split(" =").next().unwrap()) && text.contains(*to))
            .map(|i| i + 1);
        let want = format!("c.toml:{}: key `{key}`", line.unwrap());
        assert!(stderr.contains(&want), "{to}: expected {want:?} in\n{stderr}");
    }
    // Source list and taxonomy mistakes name their own files.
    let good = dir.path().join("good.toml");
    std::fs::write(&good, base).unwrap();
    for (file, text, expect) in [
        ("src.toml", "", "src.toml: key `source`: the source list is empty"),
        (
            "src.toml",
            "[[source]]\nname = \"a\"\nurl = \"http://a.example/\"\n[[source]]\nname = \"a\"\nurl = \"http://b.example/\"\n",
            "src.toml:5: key `source[1].name`: duplicate source name `a`",
        ),
        ("src.toml", "[[source]]\nname = \"a\"\nurl = \"gopher://a.example/\"\n", "src.toml:3: key `source[0].url`"),
        (
            "src.toml",
            "[[source]]\nname = \"a\"\nurl = \"http://a.example/\"\ncolour = \"red\"\n",
            "src.toml:4: key `source.colour`",
        ),
        ("tax.toml", "[[tag]]\nname = \"x\"\nkeywords = \"x\"\n", "tax.toml:3: key `tag.keywords`"),
    ] {
        std::fs::write(dir.path().join("src.toml"), "[[source]]\nname = \"a\"\nurl = \"http://a.example/\"\n").unwrap();
        std::fs::write(dir.path().join("tax.toml"), "[[tag]]\nname = \"x\"\nkeywords = [\"x\"]\n").unwrap();
        std::fs::write(dir.path().join(file), text).unwrap();
        let out = bin().arg("--config").arg(&good).arg("check").output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expect), "expected {expect:?} in\n{stderr}");
    }
    // An unreadable taxonomy.
    std::fs::write(dir.path().join("src.toml"), "[[source]]\nname = \"a\"\nurl = \"http://a.example/\"\n").unwrap();
    std::fs::remove_file(dir.path().join("tax.toml")).unwrap();
    let out = bin().arg("--config").arg(&good).arg("check").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tax.toml: cannot read file"), "{stderr}");
}

#[test]
fn gazetteer_mistakes_name_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = setup(dir.path(), &hostile_feed(), "out");
    let text =
        std::fs::read_to_string(&cfg).unwrap().replace("[sources]", "[entities]\nfile = \"ent.toml\"\n\n[sources]");
    std::fs::write(&cfg, text).unwrap();
    let ent = "[[entity]]\nid = \"nvidia\"\nkind = \"company\"\nnames = [\"英伟达\", \"NVIDIA\"]\n\n\
               [[entity]]\nid = \"huida\"\nkind = \"company\"\nnames = [\"輝達\"]\n\n\
               [[entity]]\nid = \"empty\"\nkind = \"company\"\nnames = []\n\n\
               [[entity]]\nid = \"h20\"\nkind = \"product\"\nnames = [\"H20\"]\nparent = \"nvdia\"\n";
    std::fs::write(dir.path().join("ent.toml"), ent).unwrap();
    let out = bin().arg("--config").arg(&cfg).arg("check").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for want in [
        // 輝達 folds to 英伟达: one name, two ids.
        "ent.toml:9: key `entity[1].names`: name `輝達` of `huida` is already a name of `nvidia`",
        "ent.toml:14: key `entity[2].names`: `empty` has no names",
        "ent.toml:20: key `entity[3].parent`: `h20`: parent `nvdia` is not an id in the file",
    ] {
        assert!(stderr.contains(want), "expected {want:?} in\n{stderr}");
    }
    std::fs::write(dir.path().join("ent.toml"), "[[entity]]\nid = \"x\"\nkind = \"startup\"\nnames = [\"某某\"]\n")
        .unwrap();
    let out = bin().arg("--config").arg(&cfg).arg("check").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ent.toml:3: key `entity.kind`"), "{stderr}");
    // The shipped gazetteer passes.
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/tidings.toml");
    let out = bin().arg("--config").arg(&shipped).arg("check").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains(" entities, "), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn sigkill_during_digest_twenty_times_never_shows_half_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("feeds/samples");
    let config = setup(dir.path(), &hostile_feed(), "site");
    let mut sources = String::new();
    for f in ["jiqizhixin.xml", "qbitai.xml", "36kr.xml", "ithome-gb2312.xml", "infoq.json", "leiphone-rdf.xml"] {
        sources.push_str(&format!("[[source]]\nname = \"{f}\"\nurl = \"{}\"\n", samples.join(f).display()));
    }
    std::fs::write(dir.path().join("sources.toml"), sources).unwrap();
    let site = dir.path().join("site");
    let check_outputs = |round: usize| {
        if dir.path().join("db/t.sqlite").exists() {
            let db = rusqlite::Connection::open(dir.path().join("db/t.sqlite")).unwrap();
            let ok: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
            assert_eq!(ok, "ok", "round {round}");
        }
        for name in ["feed.xml", "atom.xml", "feed.json"] {
            if let Ok(bytes) = std::fs::read(site.join(name)) {
                let whole = match name {
                    "feed.json" => serde_json::from_slice::<serde_json::Value>(&bytes).is_ok(),
                    "atom.xml" => atom_syndication::Feed::read_from(bytes.as_slice()).is_ok(),
                    _ => rss::Channel::read_from(bytes.as_slice()).is_ok(),
                };
                assert!(whole, "round {round}: {name} is not whole");
            }
        }
        if let Ok(post) = std::fs::read_to_string(site.join("_posts/2025-04-02-ai-daily.md")) {
            assert!(post.starts_with("---\nlayout: post\n") && post.contains("\n来源："), "round {round}: half a post");
        }
    };
    let mut interrupted = 0;
    for round in 0..20 {
        let mut child = bin()
            .arg("--config")
            .arg(&config)
            .args(["digest", "--date", "2025-04-02"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Spread the kills over fetching, clustering and publishing.
        std::thread::sleep(Duration::from_millis(5 + (round as u64 * 7) % 120));
        let _ = child.kill();
        if !child.wait().unwrap().success() {
            interrupted += 1;
        }
        check_outputs(round);
    }
    assert!(interrupted >= 5, "only {interrupted} runs were interrupted");
    // A run to the end afterwards gives the full post: nothing committed was lost.
    assert!(digest(&config, "2025-04-02").status.success());
    check_outputs(99);
    let post = std::fs::read_to_string(site.join("_posts/2025-04-02-ai-daily.md")).unwrap();
    assert!(post.matches("\n## ").count() >= 6);
    let db = rusqlite::Connection::open(dir.path().join("db/t.sqlite")).unwrap();
    let items: i64 = db.query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0)).unwrap();
    assert_eq!(items, 36, "every sample item stored exactly once");
}
