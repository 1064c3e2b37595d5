#!/usr/bin/env bash
# The whole benchmark suite of issue 7: every figure beside its anchor and
# target, each anchor measured in the same run on the same bytes.
#
#   bash bench/run.sh            (from the repository root; ~10 minutes)
#   QUICK=1 bash bench/run.sh    (fewer rounds)
#
# Installs what it needs when missing: nginx, wrk and curl (apt-get), and
# Python's feedparser and datasketch (pip). Everything runs on 127.0.0.1.
# Stage figures come from `cargo bench --bench pipeline -- STAGE` (one
# process per stage, so each peak memory is that stage's own); the
# whole-process figures from the scripts beside this one.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
QUICK=${QUICK:-0}
ROUNDS=${ROUNDS:-$([[ $QUICK = 1 ]] && echo 3 || echo 5)}
export ROUNDS
LOG=${LOG:-target/bench-data/run-$(date -u +%Y%m%dT%H%M%SZ).log}
mkdir -p target/bench-data

need_apt() { command -v "$1" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }
need_apt nginx nginx
need_apt wrk wrk
need_apt curl curl
python3 -c "import feedparser" 2>/dev/null || pip install -q feedparser
python3 -c "import datasketch" 2>/dev/null || pip install -q datasketch

cargo build --release --quiet
cargo bench --bench pipeline --no-run --quiet 2>/dev/null
TIDINGS=$ROOT/target/release/tidings
export TIDINGS

{
    echo "# tidings benchmark suite, $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -sr); $(rustc --version)"
    echo "python: $(python3 --version 2>&1), feedparser $(python3 -c 'import feedparser; print(feedparser.__version__)'), datasketch $(python3 -c 'import datasketch; print(datasketch.__version__)' 2>/dev/null || echo '?')"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: only ratios count)"
    quick=$([[ $QUICK = 1 ]] && echo --quick || true)
    for stage in parse ingest cluster; do
        echo
        cargo bench --quiet --bench pipeline -- "$stage" $quick 2>/dev/null
    done

    # Target 5: a day's digest from a database of 1M items, and how its cost
    # grows with the day's items and with the database.
    echo
    PIPELINE=$(ls -t target/release/deps/pipeline-* | grep -v '\.d$' | head -1)
    digest_case() { # name sources per_source days
        local dir=target/bench-data/$1
        [[ -f $dir/tidings.sqlite && ${FRESH:-0} != 1 ]] || "$PIPELINE" make-db "$dir" "$2" "$3" "$4" --bench 2>/dev/null
        local items
        items=$(python3 - "$dir/tidings.sqlite" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
lo, hi = 1743469200, 1743555600  # the digest window of 2025-04-02, 09:00 to 09:00 Asia/Shanghai
total = db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
day = db.execute("SELECT COUNT(*) FROM items WHERE published_at >= ? AND published_at < ?", (lo, hi)).fetchone()[0]
print(f"{total} {day}")
EOF
)
        local walls=() peaks=()
        for _ in $(seq "$ROUNDS"); do
            local out
            out=$(python3 bench/peak_rss.py "$TIDINGS" --config "$dir/tidings.toml" digest --date 2025-04-02 --no-fetch 2>&1 >/dev/null | tail -1)
            walls+=("$(echo "$out" | awk '{print $2}')")
            peaks+=("$(echo "$out" | awk '{print $6}')")
        done
        python3 - "$1" $items "${walls[*]}" "${peaks[*]}" <<'EOF'
import sys
name, total, day, walls, peaks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
w = sorted(map(float, walls.split())); p = sorted(map(float, peaks.split()))
print(f"[5] digest, {day:,} items of the day in a database of {total:,}: wall {w[len(w)//2]:.2f} s ({w[0]:.2f}–{w[-1]:.2f}), "
      f"peak RSS {p[len(p)//2]:.0f} MB ({p[0]:.0f}–{p[-1]:.0f})   [{name}]")
EOF
    }
    digest_case db1m 1000 1000 200
    digest_case db100k 1000 100 20
    digest_case db1m-thin 1000 1000 1000
    echo "[5] targets: under 1 s for ~5,000 items of 1M; db1m ≈ db100k (indexes, not scans); db1m-thin (~1,000 items) ≤ db1m (linear or better); one-shot digest under 100 MB (target 7)"

    echo
    bash bench/fetch_loopback.sh 2>/dev/null
    echo
    bash bench/serve_vs_nginx.sh 2>/dev/null
    if [[ -f bench/daemon_memory.sh ]]; then
        echo
        bash bench/daemon_memory.sh 2>/dev/null
    fi
} 2>&1 | tee "$LOG"
echo
echo "summary (full log: $LOG):"
grep -E '^\[[0-9]\]|^  (tidings|quick-xml|feed-rs|rss|python|datasketch)|^machine' "$LOG"
