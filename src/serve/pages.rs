//! The HTML pages readers see: an index of recent days with their top
//! stories, one page per post (an anchor per story, the previous and next
//! day), a page per tag listing its stories across days, and an archive by
//! month. Plain HTML and one small stylesheet, no script; readable on a
//! phone; feed autodiscovery and Open Graph tags on every page.

use std::fmt::Write;

use crate::config::{SiteConfig, Taxonomy};
use crate::publish::feeds::tag_feed_url;
use crate::render::story_anchor;
use crate::store::{PostHead, PostRecord, StoryRecord};

fn esc(s: &str) -> String {
    html_escape::encode_text(s).into_owned()
}

fn attr(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(s).into_owned()
}

/// A tag's page: `/tags/<tag>`, named as its feed is without `.xml`, percent-encoded.
pub fn tag_page_path(tag: &str) -> String {
    let name = tag_page_name(tag);
    format!("/tags/{}", url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>().replace('+', "%20"))
}

/// The last part of a tag page's path, before encoding.
pub fn tag_page_name(tag: &str) -> String {
    tag.replace(['/', '\\'], "-")
}

/// A story's place: its post, at its anchor.
fn story_href(story: &StoryRecord) -> String {
    match story_anchor(&story.html) {
        Some(id) => format!("/posts/{}#{id}", story.post_date),
        None => format!("/posts/{}", story.post_date),
    }
}

const STYLE: &str = "body{max-width:46rem;margin:0 auto;padding:1rem;font:16px/1.7 system-ui,sans-serif;color:#222;\
overflow-wrap:anywhere}img{max-width:100%;height:auto}a{color:#0645ad}h1{line-height:1.3;font-size:1.6rem}\
h2{line-height:1.35;font-size:1.25rem}header nav,footer,.meta{font-size:.9rem;color:#555}\
header nav a{margin-right:.8rem}pre,table{max-width:100%;overflow-x:auto}ul.days{padding-left:1.2rem}\
.pager{display:flex;justify-content:space-between;gap:1rem;margin:2rem 0}";

/// What a page says about itself in its head.
struct Head<'a> {
    title: &'a str,
    description: &'a str,
    /// The page's path on the site, for `og:url`.
    path: &'a str,
    /// An image for sharing.
    image: Option<&'a str>,
    /// A feed of this page's own (a tag's), besides the site's.
    feed: Option<(&'a str, String)>,
}

fn head(site: &SiteConfig, h: &Head<'_>) -> String {
    let base = site.base_url.trim_end_matches('/');
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n\
         <meta name=\"description\" content=\"{desc}\">\n\
         <meta property=\"og:site_name\" content=\"{site_title}\">\n<meta property=\"og:title\" content=\"{og_title}\">\n\
         <meta property=\"og:description\" content=\"{desc}\">\n<meta property=\"og:type\" content=\"{og_type}\">\n\
         <meta property=\"og:url\" content=\"{url}\">\n",
        lang = attr(&site.language),
        title = esc(h.title),
        desc = attr(h.description),
        site_title = attr(&site.title),
        og_title = attr(h.title),
        og_type = if h.path.starts_with("/posts/") { "article" } else { "website" },
        url = attr(&format!("{base}{}", h.path)),
    );
    if let Some(image) = h.image {
        let _ = writeln!(s, "<meta property=\"og:image\" content=\"{}\">", attr(image));
    }
    for (kind, name, href) in [
        ("application/rss+xml", "RSS", "/feed.xml"),
        ("application/atom+xml", "Atom", "/atom.xml"),
        ("application/feed+json", "JSON Feed", "/feed.json"),
    ] {
        let _ = writeln!(
            s,
            "<link rel=\"alternate\" type=\"{kind}\" title=\"{} ({name})\" href=\"{href}\">",
            attr(&site.title)
        );
    }
    if let Some((tag, href)) = &h.feed {
        let _ = writeln!(
            s,
            "<link rel=\"alternate\" type=\"application/rss+xml\" title=\"{} · {} (RSS)\" href=\"{}\">",
            attr(&site.title),
            attr(tag),
            attr(href)
        );
    }
    let _ = write!(
        s,
        "<style>{STYLE}</style>\n</head>\n<body>\n<header><nav><a href=\"/\">{}</a><a href=\"/archive\">往期</a>\
         <a href=\"/feed.xml\">订阅</a></nav></header>\n<main>\n",
        esc(&site.title)
    );
    s
}

fn footer(taxonomy: &Taxonomy, tags_with_feeds: &[String]) -> String {
    let mut s = String::from(
        "</main>\n<footer>\n<p>订阅：<a href=\"/feed.xml\">RSS</a> · <a href=\"/atom.xml\">Atom</a> · <a href=\"/feed.json\">JSON Feed</a></p>\n",
    );
    let tags: Vec<String> = taxonomy
        .tag
        .iter()
        .filter(|t| tags_with_feeds.contains(&t.name))
        .map(|t| format!("<a href=\"{}\">{}</a>", attr(&tag_page_path(&t.name)), esc(&t.name)))
        .collect();
    if !tags.is_empty() {
        let _ = writeln!(s, "<p>标签：{}</p>", tags.join(" · "));
    }
    s.push_str("</footer>\n</body>\n</html>\n");
    s
}

/// The first image of a post's HTML, for sharing (its `src` as a URL,
/// entities decoded: `attr` escapes it once more).
fn first_image(html: &str) -> Option<String> {
    let at = html.find("<img src=\"")? + "<img src=\"".len();
    let end = html[at..].find('"')?;
    Some(html_escape::decode_html_entities(&html[at..at + end]).into_owned()).filter(|u| u.starts_with("http"))
}

/// `/`: the recent days, each with its title and top stories, newest first.
pub fn index(
    site: &SiteConfig,
    taxonomy: &Taxonomy,
    posts: &[PostHead],
    stories: &[StoryRecord],
    tags_with_feeds: &[String],
) -> String {
    let h = Head { title: &site.title, description: &site.description, path: "/", image: None, feed: None };
    let mut s = head(site, &h);
    let _ = writeln!(s, "<h1>{}</h1>\n<p>{}</p>", esc(&site.title), esc(&site.description));
    if posts.is_empty() {
        s.push_str("<p>还没有日报。</p>\n");
    }
    for p in posts {
        let _ = writeln!(
            s,
            "<section>\n<h2><a href=\"/posts/{date}\">{title}</a></h2>\n<p class=\"meta\">{date}</p>",
            date = esc(&p.date),
            title = esc(&p.title)
        );
        let top: Vec<&StoryRecord> = stories.iter().filter(|st| st.post_date == p.date).take(TOP_STORIES).collect();
        if !top.is_empty() {
            s.push_str("<ul>\n");
            for st in top {
                let _ = writeln!(s, "<li><a href=\"{}\">{}</a></li>", attr(&story_href(st)), esc(&st.headline));
            }
            s.push_str("</ul>\n");
        }
        s.push_str("</section>\n");
    }
    s.push_str(&footer(taxonomy, tags_with_feeds));
    s
}

/// Stories shown per day on the index.
pub const TOP_STORIES: usize = 3;

/// `/posts/<date>`: one post, its tags, and the days before and after.
pub fn post(
    site: &SiteConfig,
    taxonomy: &Taxonomy,
    post: &PostRecord,
    (previous, next): (Option<&str>, Option<&str>),
    tags_with_feeds: &[String],
) -> String {
    let title = format!("{} · {}", post.title, site.title);
    let path = format!("/posts/{}", post.date);
    let image = first_image(&post.html);
    let h = Head { title: &title, description: &post.description, path: &path, image: image.as_deref(), feed: None };
    let mut s = head(site, &h);
    let _ = writeln!(s, "<p class=\"meta\">{}</p>", esc(&post.date));
    let _ = writeln!(s, "<article>\n{}</article>", post.html);
    if !post.tags.is_empty() {
        let tags: Vec<String> =
            post.tags.iter().map(|t| format!("<a href=\"{}\">{}</a>", attr(&tag_page_path(t)), esc(t))).collect();
        let _ = writeln!(s, "<p class=\"meta\">标签：{}</p>", tags.join(" · "));
    }
    s.push_str("<nav class=\"pager\">");
    match previous {
        Some(d) => {
            let _ = write!(s, "<a rel=\"prev\" href=\"/posts/{d}\">← {d}</a>", d = esc(d));
        }
        None => s.push_str("<span></span>"),
    }
    if let Some(d) = next {
        let _ = write!(s, "<a rel=\"next\" href=\"/posts/{d}\">{d} →</a>", d = esc(d));
    }
    s.push_str("</nav>\n");
    let _ = writeln!(
        s,
        "<p class=\"meta\"><a href=\"/_posts/{}-{}.md\">Markdown</a></p>",
        attr(&post.date),
        attr(&post.slug)
    );
    s.push_str(&footer(taxonomy, tags_with_feeds));
    s
}

/// `/tags/<tag>`: the tag's stories across days, newest first, and its feed.
pub fn tag(
    site: &SiteConfig,
    taxonomy: &Taxonomy,
    tag: &str,
    stories: &[StoryRecord],
    tags_with_feeds: &[String],
) -> String {
    let title = format!("{tag} · {}", site.title);
    let description = format!("{}：标签「{tag}」的报道", site.title);
    let path = tag_page_path(tag);
    let has_feed = tags_with_feeds.iter().any(|t| t == tag);
    let feed = has_feed.then(|| (tag, tag_feed_url(site, tag)));
    let h = Head { title: &title, description: &description, path: &path, image: None, feed };
    let mut s = head(site, &h);
    let _ = writeln!(s, "<h1>{}</h1>", esc(tag));
    if has_feed {
        let _ =
            writeln!(s, "<p class=\"meta\"><a href=\"{}\">订阅此标签（RSS）</a></p>", attr(&tag_feed_url(site, tag)));
    }
    if stories.is_empty() {
        s.push_str("<p>还没有这个标签的报道。</p>\n");
    } else {
        s.push_str("<ul class=\"days\">\n");
        for st in stories {
            let _ = writeln!(
                s,
                "<li><a href=\"{}\">{}</a> <span class=\"meta\">{}</span></li>",
                attr(&story_href(st)),
                esc(&st.headline),
                esc(&st.post_date)
            );
        }
        s.push_str("</ul>\n");
    }
    s.push_str(&footer(taxonomy, tags_with_feeds));
    s
}

/// `/archive`: every post, by month, newest first.
pub fn archive(site: &SiteConfig, taxonomy: &Taxonomy, posts: &[PostHead], tags_with_feeds: &[String]) -> String {
    let title = format!("往期 · {}", site.title);
    let h = Head { title: &title, description: &site.description, path: "/archive", image: None, feed: None };
    let mut s = head(site, &h);
    s.push_str("<h1>往期</h1>\n");
    let mut month = "";
    for p in posts {
        let this = p.date.get(..7).unwrap_or(&p.date);
        if this != month {
            if !month.is_empty() {
                s.push_str("</ul>\n");
            }
            let (y, m) = this.split_once('-').unwrap_or((this, ""));
            let _ = writeln!(
                s,
                "<h2 id=\"{}\">{}年{}月</h2>\n<ul class=\"days\">",
                attr(this),
                esc(y),
                esc(m.trim_start_matches('0'))
            );
            month = this;
        }
        let _ = writeln!(s, "<li><a href=\"/posts/{d}\">{d}</a> {}</li>", esc(&p.title), d = esc(&p.date));
    }
    if !month.is_empty() {
        s.push_str("</ul>\n");
    }
    if posts.is_empty() {
        s.push_str("<p>还没有日报。</p>\n");
    }
    s.push_str(&footer(taxonomy, tags_with_feeds));
    s
}

/// `/preview`: the digest of `date` as it would be written now, each story
/// with its position, id, outlets and tags, then as the post shows it.
pub fn preview(site: &SiteConfig, date: &str, digest: Option<&crate::digest::Digest>) -> String {
    let title = format!("预览 {date} · {}", site.title);
    let path = format!("/preview?date={date}");
    let h = Head { title: &title, description: &site.description, path: &path, image: None, feed: None };
    let mut s = head(site, &h);
    let Some(d) = digest else {
        let _ = writeln!(s, "<h1>预览 {}</h1>\n<p>这一天的窗口里还没有新报道，不会写日报。</p>", esc(date));
        s.push_str("</main>\n</body>\n</html>\n");
        return s;
    };
    let _ =
        writeln!(s, "<h1>预览 {}：{}</h1>\n<p class=\"meta\">{}</p>", esc(date), esc(&d.title), esc(&d.description));
    s.push_str("<ol>\n");
    for story in &d.stories {
        let outlets: Vec<&str> = story.sources.iter().map(|x| x.name.as_str()).collect();
        let _ = writeln!(
            s,
            "<li><a href=\"#story-{id}\">{}</a> <code>{id}</code><br><span class=\"meta\">{} · {}</span></li>",
            esc(&story.headline),
            esc(&outlets.join("、")),
            esc(&story.tags.join(" · ")),
            id = esc(&story.id)
        );
    }
    s.push_str("</ol>\n");
    for w in &d.edit_warnings {
        let _ = writeln!(s, "<p class=\"meta\">⚠ {}</p>", esc(w));
    }
    for story in &d.stories {
        let markdown = crate::render::story_markdown(story, &site.base_url);
        let _ = writeln!(s, "<article>\n{}</article>", crate::render::markdown_to_html(&markdown));
    }
    s.push_str("</main>\n</body>\n</html>\n");
    s
}
