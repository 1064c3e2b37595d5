//! Seeded generator of a feed corpus like the one Tidings reads: RSS 2.0
//! and Atom 1.0, Chinese headlines and bodies, HTML in CDATA (RSS) or
//! escaped (Atom), entities, relative links and images.

use super::Rng;
use super::titles;

const SENTENCES: &[&str] = &[
    "据悉，该产品已在多家头部企业完成测试，预计将在下半年大规模商用。",
    "业内人士认为，这标志着国产大模型在推理效率上迈出了关键一步。",
    "公司负责人在发布会上表示，未来三年将持续加大研发投入&mdash;尤其是底层算力。",
    "数据显示，今年前三季度我国人工智能核心产业规模同比增长超过&nbsp;20%。",
    "与上一代相比，新版本在长文本理解、代码生成和多模态任务上均有显著提升。",
    "分析师指出，价格战仍在继续，中小厂商面临&ldquo;卷参数&rdquo;与&ldquo;卷应用&rdquo;的双重压力。",
    "该项目由地方政府与企业共同出资建设，一期工程已于近日投入运营。",
    "Open-source weights are available on Hugging Face under the Apache 2.0 license.",
    "在具身智能领域，多家创业公司完成新一轮融资，资本热度持续升温。",
    "专家提醒，生成式AI的内容安全与数据合规问题仍需引起高度重视。",
];

fn body(r: &mut Rng, title: &str, i: usize) -> String {
    let mut s = format!("<p><strong>{title}</strong></p>");
    for p in 0..2 + r.below(6) {
        s.push_str("<p>");
        for _ in 0..2 + r.below(4) {
            s.push_str(r.pick(SENTENCES));
        }
        if p == 1 {
            s.push_str(&format!("<a href=\"/news/{i}/detail?utm_source=feed\">阅读原文</a>"));
        }
        s.push_str("</p>");
        if r.below(4) == 0 {
            s.push_str(&format!("<p><img src=\"/img/{i}-{p}.jpg\" alt=\"配图\" width=\"640\"></p>"));
        }
        if r.below(5) == 0 {
            s.push_str("<ul><li>要点一：性能提升</li><li>要点二：成本下降</li><li>要点三：生态开放</li></ul>");
        }
    }
    s
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// An RSS 2.0 feed of `items` items.
pub fn rss(r: &mut Rng, host: &str, items: usize) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>{host} 资讯</title><link>https://{host}/</link><description>人工智能产业新闻</description><language>zh-cn</language><ttl>30</ttl>\n"
    );
    let heads = titles::generate(r, items);
    for (i, t) in heads.titles.iter().enumerate() {
        let b = body(r, t, i);
        s.push_str(&format!(
            "<item><title>{}</title><link>https://{host}/a/{}.html?utm_source=rss</link><guid isPermaLink=\"false\">{host}-{}</guid><dc:creator>记者{}</dc:creator><category>人工智能</category>\
             <pubDate>Tue, 01 Apr 2025 {:02}:{:02}:{:02} +0800</pubDate><description><![CDATA[{}]]></description><content:encoded><![CDATA[{b}]]></content:encoded></item>\n",
            escape(t),
            r.next_u64() % 1_000_000,
            r.next_u64(),
            r.below(50),
            r.below(24),
            r.below(60),
            r.below(60),
            t.chars().take(60).collect::<String>(),
        ));
    }
    s.push_str("</channel></rss>\n");
    s
}

/// An Atom 1.0 feed of `items` entries.
pub fn atom(r: &mut Rng, host: &str, items: usize) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"zh-CN\"><title>{host}</title><id>tag:{host},2025:feed</id><updated>2025-04-01T00:00:00Z</updated><link rel=\"alternate\" href=\"https://{host}/\"/><link rel=\"self\" href=\"https://{host}/atom.xml\"/>\n"
    );
    let heads = titles::generate(r, items);
    for (i, t) in heads.titles.iter().enumerate() {
        let b = body(r, t, i);
        s.push_str(&format!(
            "<entry><title type=\"html\">{}</title><id>tag:{host},2025:{}</id><link rel=\"alternate\" href=\"https://{host}/p/{}\"/><author><name>编辑部</name></author>\
             <published>2025-04-01T{:02}:{:02}:00+08:00</published><updated>2025-04-01T{:02}:{:02}:00+08:00</updated><summary>{}</summary><content type=\"html\">{}</content></entry>\n",
            escape(&escape(t)),
            r.next_u64(),
            r.next_u64() % 1_000_000,
            r.below(24),
            r.below(60),
            r.below(24),
            r.below(60),
            escape(&t.chars().take(60).collect::<String>()),
            escape(&b),
        ));
    }
    s.push_str("</feed>\n");
    s
}

/// The corpus: `count` feeds alternating RSS and Atom, 30–300 KB each, and
/// one RSS feed of about `big_bytes`.
pub fn corpus(r: &mut Rng, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let host = format!("src{i}.example.cn");
            let n = 12 + r.below(84);
            if i % 2 == 0 { rss(r, &host, n) } else { atom(r, &host, n) }
        })
        .collect()
}

/// One large RSS feed of at least `bytes` bytes.
pub fn big(r: &mut Rng, bytes: usize) -> String {
    let mut n = 1000;
    loop {
        let f = rss(r, "big.example.cn", n);
        if f.len() >= bytes {
            return f;
        }
        n = n * bytes / f.len() + 50;
    }
}
