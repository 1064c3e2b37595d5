#!/usr/bin/env python3
"""Parse Tidings' feeds with Python feedparser, as feedparser-based readers do.

Usage: check_feedparser.py FEED [FEED ...]
Prints one JSON object per feed: bozo flag (and exception), feed title and
link, and each entry's title, link, id, whether its date parsed, and tags.
The Rust test (tests/clients.rs) compares it with what Tidings wrote.
"""
import json
import sys

import feedparser

for path in sys.argv[1:]:
    d = feedparser.parse(path)
    print(json.dumps({
        "path": path,
        "version": d.get("version", ""),
        "bozo": int(d.bozo),
        "bozo_exception": str(d.get("bozo_exception", "")),
        "title": d.feed.get("title", ""),
        "link": d.feed.get("link", ""),
        "entries": [
            {
                "title": e.get("title", ""),
                "link": e.get("link", ""),
                "id": e.get("id", ""),
                "dated": bool(e.get("published_parsed") or e.get("updated_parsed")),
                "tags": [t.get("term", "") for t in e.get("tags", [])],
            }
            for e in d.entries
        ],
    }, ensure_ascii=False))
