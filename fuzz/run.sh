#!/usr/bin/env bash
# Coverage-guided fuzzing of the feed path (decode → parse → normalize) and
# the HTML scraper path with cargo-fuzz/libFuzzer, seeded from the test
# fixtures. Usage: fuzz/run.sh [seconds per target, default 300]
# Needs: cargo install cargo-fuzz. cargo-fuzz wants nightly flags; on the
# stable toolchain RUSTC_BOOTSTRAP=1 lets rustc accept them.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-300}"
mkdir -p corpus/ingest corpus/scrape
cp ../tests/fixtures/feeds/*.xml ../tests/fixtures/feeds/*.json ../feeds/samples/*.xml ../feeds/samples/*.json corpus/ingest/
cp ../tests/fixtures/html/*.html ../tests/fixtures/html/articles/*.html corpus/scrape/
for target in ingest scrape; do
  echo "== $target: ${secs}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$target" "corpus/$target" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 2>&1 \
    | grep -E "^(stat::|#[0-9]+ +DONE|==.*ERROR|SUMMARY|thread .* panicked)" || true
done
