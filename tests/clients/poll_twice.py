#!/usr/bin/env python3
"""Poll a feed URL twice with feedparser, the second time with the ETag and
Last-Modified the first answer gave, as feedparser-based readers do.
Prints the two HTTP statuses and the entry count of the first answer as JSON."""
import json
import sys

import feedparser

url = sys.argv[1]
first = feedparser.parse(url)
second = feedparser.parse(url, etag=first.get("etag"), modified=first.get("modified"))
print(json.dumps({
    "first": first.get("status"),
    "second": second.get("status"),
    "entries": len(first.entries),
    "etag": first.get("etag"),
}))
