#!/usr/bin/env python3
"""The ingest anchor: Python feedparser, with its defaults, over every file
of a directory. Prints median, min and max MB/s.
Usage: feedparser_anchor.py DIR [ROUNDS]  (needs `pip install feedparser`)."""
import os
import sys
import time

import feedparser

folder = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
blobs = [open(os.path.join(folder, f), "rb").read() for f in sorted(os.listdir(folder))]
size = sum(len(b) for b in blobs)
rates = []
for _ in range(rounds):
    start = time.perf_counter()
    for b in blobs:
        feedparser.parse(b)
    rates.append(size / 1e6 / (time.perf_counter() - start))
rates.sort()
print(f"{rates[len(rates) // 2]:.2f} {rates[0]:.2f} {rates[-1]:.2f}")
