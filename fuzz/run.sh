#!/usr/bin/env bash
# Coverage-guided fuzzing with cargo-fuzz/libFuzzer of the feed path
# (decode → parse → normalize), the HTML scraper path, and outside numbers
# made into time (header → schedule, dates), seeded from the test fixtures
# and a few extreme values. Usage: fuzz/run.sh [seconds per target, default 300]
# Needs: cargo install cargo-fuzz. cargo-fuzz wants nightly flags; on the
# stable toolchain RUSTC_BOOTSTRAP=1 lets rustc accept them.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-300}"
mkdir -p corpus/ingest corpus/scrape corpus/numbers
cp ../tests/fixtures/feeds/*.xml ../tests/fixtures/feeds/*.json ../feeds/samples/*.xml ../feeds/samples/*.json corpus/ingest/
cp ../tests/fixtures/html/*.html ../tests/fixtures/html/articles/*.html corpus/scrape/
i=0
for seed in 600 99999999999999999 18446744073709551616 -5 "public, max-age=99999999999999999" \
  "Wed, 02 Apr 2025 08:30:00 GMT" "01 Jan 99999 00:00:00 GMT" "99999999天前" "3小时前" "昨天 14:30" \
  1743553800 1743553800000 1e300 -9223372036854775808 "0000-01-01T00:00:00Z"; do
  printf '%s' "$seed" > "corpus/numbers/seed-$i"; i=$((i + 1))
done
for target in ingest scrape numbers; do
  echo "== $target: ${secs}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$target" "corpus/$target" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 2>&1 \
    | grep -E "^(stat::|#[0-9]+ +DONE|==.*ERROR|SUMMARY|thread .* panicked)" || true
done
