//! The HTML pages: a readable index of recent digests and one page per post,
//! with feed autodiscovery links.

use std::fmt::Write;

use crate::config::{SiteConfig, Taxonomy};
use crate::publish::feeds::tag_feed_url;
use crate::store::PostRecord;

fn esc(s: &str) -> String {
    html_escape::encode_text(s).into_owned()
}

fn attr(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(s).into_owned()
}

fn head(site: &SiteConfig, title: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n\
         <link rel=\"alternate\" type=\"application/rss+xml\" title=\"{site_title} (RSS)\" href=\"/feed.xml\">\n\
         <link rel=\"alternate\" type=\"application/atom+xml\" title=\"{site_title} (Atom)\" href=\"/atom.xml\">\n\
         <link rel=\"alternate\" type=\"application/feed+json\" title=\"{site_title} (JSON Feed)\" href=\"/feed.json\">\n\
         <style>body{{max-width:46rem;margin:2rem auto;padding:0 1rem;font:16px/1.7 system-ui,sans-serif;color:#222}}\
         img{{max-width:100%}}a{{color:#0645ad}}nav,footer{{font-size:.9rem;color:#555}}h1{{line-height:1.3}}</style>\n\
         </head>\n<body>\n",
        lang = attr(&site.language),
        title = esc(title),
        site_title = attr(&site.title),
    );
    s
}

fn feeds_footer(site: &SiteConfig, taxonomy: &Taxonomy, tags_with_feeds: &[String]) -> String {
    let mut s = String::from(
        "<footer>\n<p>订阅：<a href=\"/feed.xml\">RSS</a> · <a href=\"/atom.xml\">Atom</a> · <a href=\"/feed.json\">JSON Feed</a></p>\n",
    );
    let tags: Vec<String> = taxonomy
        .tag
        .iter()
        .filter(|t| tags_with_feeds.contains(&t.name))
        .map(|t| format!("<a href=\"{}\">{}</a>", attr(&tag_feed_url(site, &t.name)), esc(&t.name)))
        .collect();
    if !tags.is_empty() {
        let _ = writeln!(s, "<p>按标签订阅：{}</p>", tags.join(" · "));
    }
    s.push_str("</footer>\n</body>\n</html>\n");
    s
}

/// `/`: the latest post in full, links to earlier days and to every feed.
pub fn index(site: &SiteConfig, taxonomy: &Taxonomy, posts: &[PostRecord], tags_with_feeds: &[String]) -> String {
    let mut s = head(site, &site.title);
    let _ = writeln!(s, "<header><h1>{}</h1><p>{}</p></header>", esc(&site.title), esc(&site.description));
    match posts.first() {
        None => s.push_str("<p>还没有日报。</p>\n"),
        Some(latest) => {
            let _ = writeln!(
                s,
                "<article>\n<p><a href=\"/posts/{date}\">{date}</a> · {title}</p>\n{html}</article>",
                date = esc(&latest.date),
                title = esc(&latest.title),
                html = latest.html
            );
        }
    }
    if posts.len() > 1 {
        s.push_str("<nav>\n<h2>往期</h2>\n<ul>\n");
        for p in &posts[1..] {
            let _ = writeln!(s, "<li><a href=\"/posts/{date}\">{date}</a> {}</li>", esc(&p.title), date = esc(&p.date));
        }
        s.push_str("</ul>\n</nav>\n");
    }
    s.push_str(&feeds_footer(site, taxonomy, tags_with_feeds));
    s
}

/// `/posts/<date>`: one post.
pub fn post(site: &SiteConfig, taxonomy: &Taxonomy, post: &PostRecord, tags_with_feeds: &[String]) -> String {
    let mut s = head(site, &format!("{} · {}", post.title, site.title));
    let _ = writeln!(s, "<nav><a href=\"/\">{}</a> · {}</nav>", esc(&site.title), esc(&post.date));
    let _ = writeln!(s, "<article>\n{}</article>", post.html);
    let _ = writeln!(s, "<p><a href=\"/_posts/{}-{}.md\">Markdown</a></p>", attr(&post.date), attr(&post.slug));
    s.push_str(&feeds_footer(site, taxonomy, tags_with_feeds));
    s
}
