//! A [`Digest`] as a Jekyll post: YAML front matter (`layout`, `title`,
//! `date`, `description`, `tags`), an H1, and one `##` section per story with
//! its image, summary, key facts, tags and sources. Plus Markdown → HTML for
//! the feeds.

use std::fmt::Write;

use crate::config::OutputFormat;
use crate::digest::{Digest, Story};

/// Where a post lives on the site: `<base_url>posts/<date>`.
pub fn post_url(base_url: &str, date: &str) -> String {
    let base = if base_url.ends_with('/') { base_url.to_string() } else { format!("{base_url}/") };
    format!("{base}posts/{date}")
}

/// The post file: front matter and Markdown body. Jekyll's front matter is
/// the sample post's (`layout: post`, `date: YYYY-MM-DD HH:MM`); Hugo's has
/// no layout and an RFC 3339 date with the site's offset.
pub fn post_markdown(d: &Digest, base_url: &str, format: OutputFormat) -> String {
    let mut s = String::from("---\n");
    if format == OutputFormat::Jekyll {
        s.push_str("layout: post\n");
    }
    let _ = writeln!(s, "title: {}", yaml_scalar(&d.title));
    match format {
        OutputFormat::Jekyll => {
            let _ = writeln!(s, "date: {}", d.window.local_end.format("%Y-%m-%d %H:%M"));
        }
        OutputFormat::Hugo => {
            let _ = writeln!(s, "date: {}", d.window.end_offset.to_rfc3339());
        }
    }
    let _ = writeln!(s, "description: {}", yaml_quoted(&d.description));
    let tags: Vec<String> = d.tags.iter().map(|t| yaml_flow_item(t)).collect();
    let _ = writeln!(s, "tags: [{}]", tags.join(","));
    s.push_str("---\n\n");
    let _ = writeln!(s, "# {}\n", md_text(&d.heading));
    for story in &d.stories {
        s.push_str(&story_markdown(story, base_url));
    }
    s
}

/// One story's section.
pub fn story_markdown(story: &Story, base_url: &str) -> String {
    let mut s = String::new();
    let headline = match &story.follow_up_of {
        Some(_) => format!("后续：{}", story.headline),
        None => story.headline.clone(),
    };
    // `{#story-<id>}`: the section's anchor in Jekyll (kramdown), Hugo
    // (goldmark) and our own HTML alike, and the id edits name it by.
    let _ = writeln!(s, "## {} {{#story-{}}}\n", md_text(&headline), story.id);
    if let Some(image) = &story.image {
        let alt = md_text(&story.headline).replace('"', "&quot;");
        let _ = writeln!(s, "![{alt}]({} \"{alt}\")\n", md_url(image));
    }
    if let Some(earlier) = &story.follow_up_of {
        let _ = writeln!(s, "> 后续报道，此前见 [{earlier} 日报]({})\n", md_url(&post_url(base_url, earlier)));
    }
    if !story.summary.is_empty() {
        let _ = writeln!(s, "{}\n", md_text(&story.summary));
    }
    if !story.facts.is_empty() {
        for fact in &story.facts {
            let _ = writeln!(s, "- {}", md_text(fact));
        }
        s.push('\n');
    }
    if !story.tags.is_empty() {
        let tags: Vec<String> = story.tags.iter().map(|t| md_text(t)).collect();
        let _ = writeln!(s, "标签：{}\n", tags.join(" · "));
    }
    let sources: Vec<String> = story
        .sources
        .iter()
        .map(|src| match &src.url {
            Some(url) => format!("[{}]({})", md_text(&src.name), md_url(url)),
            None => md_text(&src.name),
        })
        .collect();
    let _ = writeln!(s, "来源：{}\n", sources.join(" · "));
    s
}

/// The anchor (`story-<id>`) of a story's section, from its HTML.
pub fn story_anchor(html: &str) -> Option<&str> {
    let at = html.find("id=\"story-")? + "id=\"".len();
    let end = html[at..].find('"')?;
    Some(&html[at..at + end])
}

/// The Markdown body of a post file (front matter dropped), as HTML.
pub fn markdown_to_html(markdown: &str) -> String {
    let body = strip_front_matter(markdown);
    let options = pulldown_cmark::Options::ENABLE_TABLES | pulldown_cmark::Options::ENABLE_HEADING_ATTRIBUTES;
    let parser = pulldown_cmark::Parser::new_ext(body, options);
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, parser);
    html
}

fn strip_front_matter(markdown: &str) -> &str {
    if let Some(rest) = markdown.strip_prefix("---\n")
        && let Some(end) = rest.find("\n---\n")
    {
        return &rest[end + 5..];
    }
    markdown
}

/// Text safe inside Markdown: characters that would start markup escaped
/// (`<` and `>` as entities, so a title reading `Vec<T>` shows as written
/// and no raw tag reaches the page), and Liquid's `{{`/`{%` broken so
/// Jekyll leaves them alone.
pub fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let one_line = s.replace(['\r', '\n'], " ");
    let chars: Vec<char> = one_line.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // `&lt;` written as text must not become `<`.
            '&' if entity_follows(&chars[i + 1..]) => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '#' | '+' | '-' | '=' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            '{' => out.push_str("&#123;"),
            '}' => out.push_str("&#125;"),
            _ => out.push(c),
        }
    }
    // "1. " at the start would become a numbered list.
    if let Some(dot) = out.find(". ")
        && dot > 0
        && out[..dot].chars().all(|c| c.is_ascii_digit())
    {
        out.insert(dot, '\\');
    }
    out
}

/// Whether text after a `&` reads as an entity (`lt;`, `#39;`, `#x27;`).
fn entity_follows(rest: &[char]) -> bool {
    let name: Vec<char> =
        rest.iter().take(33).take_while(|c| c.is_ascii_alphanumeric() || **c == '#').copied().collect();
    !name.is_empty() && rest.get(name.len()) == Some(&';')
}

/// A URL safe inside `(…)` of a Markdown link or image.
fn md_url(url: &str) -> String {
    url.replace(' ', "%20").replace('(', "%28").replace(')', "%29").replace('<', "%3C").replace('>', "%3E")
}

/// A YAML scalar: plain when that is unambiguous, double-quoted otherwise.
pub fn yaml_scalar(s: &str) -> String {
    let risky_start =
        s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@` ".contains(c)) || s.contains("{{") || s.contains("{%");
    let risky = s.is_empty()
        || risky_start
        || s.ends_with(' ')
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.contains("---")
        || s.chars().any(|c| c.is_control())
        || matches!(s.to_ascii_lowercase().as_str(), "true" | "false" | "yes" | "no" | "null" | "~" | "on" | "off")
        || s.parse::<f64>().is_ok();
    if risky { yaml_quoted(s) } else { s.to_string() }
}

/// A double-quoted YAML scalar. Liquid's `{{` and `{%` get a zero-width
/// space between their braces, so no theme can ever evaluate them.
pub fn yaml_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    let s = s.replace("{{", "{\u{200b}{").replace("{%", "{\u{200b}%");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An item of a YAML flow sequence (`[a,b]`): quoted when it holds flow syntax.
fn yaml_flow_item(s: &str) -> String {
    if s.contains([',', '[', ']', '{', '}', '"', '\'', '#', ':']) || yaml_scalar(s) != s {
        yaml_quoted(s)
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_stays_valid() {
        assert_eq!(yaml_scalar("中国AI产业全景：技术创新"), "中国AI产业全景：技术创新");
        assert_eq!(yaml_scalar("a: b"), "\"a: b\"");
        assert_eq!(yaml_scalar("[x]"), "\"[x]\"");
        assert_eq!(yaml_scalar("---"), "\"---\"");
        assert_eq!(yaml_quoted("say \"hi\" \\ bye"), "\"say \\\"hi\\\" \\\\ bye\"");
        assert_eq!(yaml_flow_item("a,b"), "\"a,b\"");
        assert_eq!(yaml_flow_item("AI眼镜"), "AI眼镜");
    }

    #[test]
    fn markdown_text_is_inert() {
        assert_eq!(
            md_text("*bold* [x](y) {{ site }} {% raw %}"),
            "\\*bold\\* \\[x\\](y) &#123;&#123; site &#125;&#125; &#123;% raw %&#125;"
        );
        assert_eq!(md_text("# not a heading"), "\\# not a heading");
        assert_eq!(md_text("1. not a list"), "1\\. not a list");
        assert_eq!(md_text("</title>"), "&lt;/title&gt;");
        assert_eq!(md_text("Vec<T> & AT&T &lt;"), "Vec&lt;T&gt; & AT&T &amp;lt;");
    }

    #[test]
    fn html_drops_front_matter() {
        let html = markdown_to_html("---\ntitle: x\n---\n\n# H\n\n- a\n");
        assert_eq!(html, "<h1>H</h1>\n<ul>\n<li>a</li>\n</ul>\n");
    }
}
