#!/usr/bin/env python3
"""The clustering anchor: datasketch MinHashLSH over character 3-grams of the
same titles the Rust bench clusters (written by benches/pipeline.rs).
Usage: datasketch_anchor.py TITLES.tsv  (needs `pip install datasketch`)."""
import resource
import sys
import time

from datasketch import MinHash, MinHashLSH

path = sys.argv[1]
rows = [line.rstrip("\n").split("\t", 1) for line in open(path, encoding="utf-8")]
events = [int(e) for e, _ in rows]
titles = [t for _, t in rows]
pairs = [tuple(map(int, l.split())) for l in open(path[: -len(".tsv")] + ".pairs")]

start = time.time()
lsh = MinHashLSH(threshold=0.5, num_perm=128)
hashes = []
for i, t in enumerate(titles):
    m = MinHash(num_perm=128)
    for k in range(max(1, len(t) - 2)):
        m.update(t[k : k + 3].encode("utf-8"))
    hashes.append(m)
    lsh.insert(str(i), m)
# Union-find over every LSH candidate pair.
parent = list(range(len(titles)))
def find(x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x
for i, m in enumerate(hashes):
    for j in lsh.query(m):
        a, b = find(i), find(int(j))
        if a != b:
            parent[max(a, b)] = min(a, b)
secs = time.time() - start
groups = {}
for i in range(len(titles)):
    groups.setdefault(find(i), []).append(i)
joined = wrong = 0
for g in groups.values():
    for x in range(len(g)):
        for y in range(x + 1, len(g)):
            joined += 1
            wrong += events[g[x]] != events[g[y]]
found = sum(find(a) == find(b) for a, b in pairs)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"datasketch MinHashLSH  {secs:.2f} s, peak RSS {peak:.0f} MB, precision {(joined - wrong) / max(joined, 1):.3f}, recall {found / len(pairs):.3f}   anchor")
