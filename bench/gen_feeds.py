#!/usr/bin/env python3
"""Seeded generator of small-to-medium Chinese RSS 2.0 / Atom 1.0 feeds for the
loopback fetch benchmark (issue 7, target 4).

Usage: gen_feeds.py OUTDIR [COUNT] [SEED]

Writes COUNT feeds (default 1000): the first half as OUTDIR/etag/fNNNN.xml, the
second half as OUTDIR/noetag/fNNNN.xml (the web server sends an ETag for the
first folder only). Even-numbered feeds are RSS 2.0, odd ones Atom 1.0. Each
feed holds ~20 items (16-24) with distinct Chinese titles and HTML bodies in
CDATA (RSS) or escaped (Atom), so every item is new on a first fetch. Prints
one line: count, total bytes, total items. Same seed, same bytes.
"""
import os
import random
import sys
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from xml.sax.saxutils import escape

out = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 7
rng = random.Random(seed)

COMPANIES = ["智谱", "月之暗面", "百川智能", "零一万物", "深度求索", "阿里云", "腾讯", "百度", "字节跳动", "华为",
             "商汤", "科大讯飞", "小米", "美团", "京东", "OpenAI", "Anthropic", "谷歌", "微软", "英伟达", "Meta",
             "MiniMax", "阶跃星辰", "面壁智能", "昆仑万维", "出门问问", "地平线", "寒武纪", "摩尔线程", "壁仞科技"]
ACTIONS = ["发布", "开源", "推出", "升级", "上线", "完成融资", "宣布降价", "公布财报", "签约合作", "获批上线"]
THINGS = ["大模型", "多模态模型", "推理模型", "智能体平台", "代码助手", "AI 芯片", "训练集群", "语音模型",
          "视频生成模型", "端侧模型", "搜索产品", "开发者平台", "机器人", "自动驾驶系统", "算力中心"]
WORDS = ("人工智能 模型 参数 训练 推理 数据 算力 芯片 开发者 企业 用户 市场 产品 技术 能力 应用 行业 生态 开源 "
         "商业化 性能 成本 价格 基准 评测 发布会 合作伙伴 投资 估值 监管 安全 对齐 上下文 多模态 智能体 搜索 "
         "视频 图像 语音 代码 数学 医疗 金融 教育 制造 汽车 手机 云计算 服务器").split()


def sentence():
    n = rng.randint(8, 18)
    s = "".join(rng.choice(WORDS) for _ in range(n))
    return s + "。"


def paragraph():
    parts = []
    for _ in range(rng.randint(2, 5)):
        parts.append(sentence())
    return "".join(parts)


def body(i, j):
    paras = [f"<p>{paragraph()}</p>" for _ in range(rng.randint(2, 6))]
    if rng.random() < 0.5:
        paras.insert(1, f'<p><img src="http://127.0.0.1/img/{i}/{j}.jpg" alt="配图"></p>')
    if rng.random() < 0.3:
        paras.append("<ul>" + "".join(f"<li>{sentence()}</li>" for _ in range(3)) + "</ul>")
    paras.append(f"<p>原文编号 {i}-{j}，&amp; 版权所有 &copy; 2025</p>")
    return "".join(paras)


def title(i, j):
    c = rng.choice(COMPANIES)
    figure = rng.randint(1, 999)
    unit = rng.choice(["亿元", "亿参数", "万用户", "%", "倍", "款"])
    return f"{c}{rng.choice(ACTIONS)}{rng.choice(THINGS)}，{rng.choice(WORDS)}{figure}{unit}（第{i}-{j}号）"


BASE = datetime(2025, 4, 1, 0, 0, tzinfo=timezone(timedelta(hours=8)))


def rss(i, items):
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">', "<channel>",
           f"<title>测试源 {i} · AI 资讯</title>", f"<link>http://127.0.0.1/site/{i}/</link>",
           f"<description>第 {i} 号测试源</description>", "<language>zh-cn</language>"]
    for j, (t, b, when) in enumerate(items):
        out += ["<item>", f"<title>{escape(t)}</title>", f"<link>http://127.0.0.1/site/{i}/a/{j}.html</link>",
                f'<guid isPermaLink="false">src{i}-item{j}</guid>',
                f"<pubDate>{format_datetime(when)}</pubDate>", f"<dc:creator>记者{j}</dc:creator>",
                f"<category>{rng.choice(THINGS)}</category>",
                f"<description><![CDATA[{b}]]></description>", "</item>"]
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out)


def atom(i, items):
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<feed xmlns="http://www.w3.org/2005/Atom">',
           f"<title>测试源 {i} · AI 资讯</title>", f'<link href="http://127.0.0.1/site/{i}/"/>',
           f"<id>urn:tidings-bench:src{i}</id>", f"<updated>{items[0][2].isoformat()}</updated>"]
    for j, (t, b, when) in enumerate(items):
        out += ["<entry>", f"<title>{escape(t)}</title>", f'<link href="http://127.0.0.1/site/{i}/a/{j}.html"/>',
                f"<id>urn:tidings-bench:src{i}:item{j}</id>", f"<published>{when.isoformat()}</published>",
                f"<updated>{when.isoformat()}</updated>", f"<author><name>记者{j}</name></author>",
                f'<category term="{rng.choice(THINGS)}"/>',
                f'<content type="html">{escape(b)}</content>', "</entry>"]
    out += ["</feed>", ""]
    return "\n".join(out)


total_bytes = total_items = 0
for sub in ("etag", "noetag"):
    os.makedirs(os.path.join(out, sub), exist_ok=True)
for i in range(count):
    n = rng.randint(16, 24)
    items = []
    for j in range(n):
        when = BASE + timedelta(minutes=rng.randint(0, 3 * 24 * 60))
        items.append((title(i, j), body(i, j), when))
    items.sort(key=lambda x: x[2], reverse=True)
    text = (rss if i % 2 == 0 else atom)(i, items).encode("utf-8")
    sub = "etag" if i < count // 2 else "noetag"
    with open(os.path.join(out, sub, f"f{i:04d}.xml"), "wb") as f:
        f.write(text)
    total_bytes += len(text)
    total_items += n
print(f"{count} feeds, {total_bytes} bytes, {total_items} items")
