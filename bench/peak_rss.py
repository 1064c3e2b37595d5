#!/usr/bin/env python3
"""Runs a command; prints its wall time and peak resident memory (the
kernel's maximum RSS of the child) after its own output.
Usage: peak_rss.py COMMAND [ARGS...]"""
import resource
import subprocess
import sys
import time

start = time.perf_counter()
code = subprocess.call(sys.argv[1:])
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"wall {wall:.3f} s, peak RSS {peak:.1f} MB, exit {code}", file=sys.stderr)
sys.exit(code)
