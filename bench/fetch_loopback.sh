#!/usr/bin/env bash
# Issue 7, target 4: fetching 1,000 sources from a loopback nginx.
#
#   bash bench/fetch_loopback.sh            (from the repository root)
#
# Uses only the built binary ($TIDINGS, default target/release/tidings) plus
# nginx, curl and python3 (nginx and curl are apt-get installed if missing).
# Everything listens on and talks to 127.0.0.1; nginx is stopped on exit.
#
# Environment: TIDINGS, ROUNDS (default 5), SOURCES (1000), SEED (7),
# CONCURRENCY (fetch.concurrency, default 16 as in tidings' defaults),
# PER_HOST (fetch.per_host_concurrency, default = CONCURRENCY; all sources
# share one host here, so tidings' default of 2 would cap the run at 2
# fetches in flight while the anchor runs 16), KEEP=1 keeps the temp dir.
#
# Each round: bare GET anchor (curl --parallel at CONCURRENCY), tidings fetch
# on an empty database, bare conditional GET anchor (the same If-None-Match /
# If-Modified-Since headers tidings sends), tidings fetch again (all 304).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TIDINGS=${TIDINGS:-target/release/tidings}
[[ $TIDINGS = /* ]] || TIDINGS=$ROOT/$TIDINGS
ROUNDS=${ROUNDS:-5}
SOURCES=${SOURCES:-1000}
SEED=${SEED:-7}
CONC=${CONCURRENCY:-16}
PER_HOST=${PER_HOST:-$CONC}

[[ -x $TIDINGS ]] || { echo "no tidings binary at $TIDINGS (build it, or set TIDINGS)" >&2; exit 1; }
source "$ROOT/bench/lib.sh"
need nginx nginx
need curl curl
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }

W=$(mktemp -d /tmp/tidings-bench-fetch.XXXXXX)
chmod 755 "$W" # nginx's workers run as an unprivileged user
NGINX_PID=
cleanup() {
    stop "$NGINX_PID" QUIT 50
    if [[ ${KEEP:-0} = 1 ]]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# --- corpus -----------------------------------------------------------------
echo "generating $SOURCES feeds (seed $SEED) in $W/www ..." >&2
python3 "$ROOT/bench/gen_feeds.py" "$W/www" "$SOURCES" "$SEED" >&2

# --- nginx ------------------------------------------------------------------
PORT=$(free_port)
feed_nginx "$W" "$PORT"
ACCESS=$W/nginx/access.log

# --- URL lists, tidings config ----------------------------------------------
python3 - "$W" "$PORT" <<'EOF'
import os, sys
from email.utils import formatdate
w, port = sys.argv[1], sys.argv[2]
files = sorted((sub, f) for sub in ("etag", "noetag") for f in os.listdir(os.path.join(w, "www", sub)))
with open(os.path.join(w, "get.curl"), "w") as g, open(os.path.join(w, "cond.curl"), "w") as c, \
        open(os.path.join(w, "sources.toml"), "w") as s:
    for k, (sub, f) in enumerate(files):
        url = f"http://127.0.0.1:{port}/{sub}/{f}"
        g.write(f'url = "{url}"\noutput = "/dev/null"\n')
        st = os.stat(os.path.join(w, "www", sub, f))
        # The validators nginx gives a static file (and tidings sends back).
        lm = formatdate(int(st.st_mtime), usegmt=True)
        c.write(f'url = "{url}"\noutput = "/dev/null"\n')
        if sub == "etag":
            c.write(f'header = "If-None-Match: \\"{int(st.st_mtime):x}-{st.st_size:x}\\""\n')
        c.write(f'header = "If-Modified-Since: {lm}"\n')
        if k + 1 < len(files):
            c.write("next\n")
        s.write(f'[[source]]\nname = "源{k:04d}"\nurl = "{url}"\n\n')
# The same files where the server never answers 304 (no validators honoured).
with open(os.path.join(w, "plain.curl"), "w") as g, open(os.path.join(w, "plain_sources.toml"), "w") as s:
    for k, (sub, f) in enumerate(files):
        url = f"http://127.0.0.1:{port}/plain/{sub}/{f}"
        g.write(f'url = "{url}"\noutput = "/dev/null"\n')
        s.write(f'[[source]]\nname = "源{k:04d}"\nurl = "{url}"\n\n')
EOF
cat >"$W/tidings.toml" <<EOF
[site]
title = "bench"
base_url = "http://127.0.0.1/"
timezone = "Asia/Shanghai"

[storage]
database = "db/bench.sqlite"

[output]
dir = "out"

[fetch]
concurrency = $CONC
per_host_concurrency = $PER_HOST
allow_private_addresses = true

[taxonomy]
file = "$ROOT/config/taxonomy.toml"

[sources]
file = "sources.toml"
EOF
sed -e 's|db/bench.sqlite|db_plain/bench.sqlite|' -e 's|file = "sources.toml"|file = "plain_sources.toml"|' \
    "$W/tidings.toml" >"$W/plain.toml"
PLAIN=$(grep -c '^url' "$W/plain.curl")
"$TIDINGS" --config "$W/tidings.toml" check >&2

CURL=(curl --parallel --parallel-immediate --parallel-max "$CONC" -s)
anchor() { # $1 = curl config; prints wall seconds
    local t0 t1
    t0=$(now); "${CURL[@]}" -K "$1" 2>"$W/curl.err" || { echo "curl failed:" >&2; tail -3 "$W/curl.err" >&2; }; t1=$(now)
    echo "$t1 - $t0" | bc -l
}
lines() { wc -l <"$ACCESS"; }
count_since() { # $1 = start line, $2 = status; count of that status in log lines after $1
    tail -n +"$(($1 + 1))" "$ACCESS" | awk -v s="$2" '$1 == s { n++ } END { print n + 0 }'
}

# Warm up: page cache, nginx, curl.
L=$(lines); anchor "$W/get.curl" >/dev/null
c200=$(count_since "$L" 200)
[[ $c200 = "$SOURCES" ]] || echo "WARNING: GET anchor got $c200 200s of $SOURCES" >&2
L=$(lines); anchor "$W/cond.curl" >/dev/null
c304=$(count_since "$L" 304)
[[ $c304 = "$SOURCES" ]] || echo "WARNING: conditional anchor got $c304 304s of $SOURCES" >&2
echo "anchors checked: bare GET $c200 × 200, conditional GET $c304 × 304 (of $SOURCES)" >&2

declare -a A_GET T_FIRST A_COND T_SECOND A_PLAIN T_PLAIN
for r in $(seq "$ROUNDS"); do
    A_GET+=("$(anchor "$W/get.curl")")

    rm -rf "$W/db"
    L=$(lines)
    t0=$(now)
    "$TIDINGS" --config "$W/tidings.toml" fetch >"$W/first.out" 2>"$W/first.err"
    t1=$(now)
    T_FIRST+=("$(echo "$t1 - $t0" | bc -l)")
    c200=$(count_since "$L" 200)
    sum1=$(tail -n 1 "$W/first.out")
    [[ $c200 = "$SOURCES" ]] || echo "WARNING round $r first run: nginx logged $c200 200s of $SOURCES" >&2

    A_COND+=("$(anchor "$W/cond.curl")")

    L=$(lines)
    t0=$(now)
    "$TIDINGS" --config "$W/tidings.toml" fetch >"$W/second.out" 2>"$W/second.err"
    t1=$(now)
    T_SECOND+=("$(echo "$t1 - $t0" | bc -l)")
    n2=$(($(lines) - L))
    c304=$(count_since "$L" 304)
    sum2=$(tail -n 1 "$W/second.out")
    [[ $c304 = "$SOURCES" && $n2 = "$SOURCES" ]] ||
        echo "WARNING round $r second run: nginx logged $n2 requests, $c304 of them 304" >&2
    printf 'round %d: GET %.3f s, first %.3f s, cond GET %.3f s, second %.3f s; nginx 304s in second run: %d/%d\n' \
        "$r" "${A_GET[-1]}" "${T_FIRST[-1]}" "${A_COND[-1]}" "${T_SECOND[-1]}" "$c304" "$SOURCES" >&2
    echo "  first:  $sum1" >&2
    echo "  second: $sum2" >&2

    # Sources answering 200 with the bodies already stored.
    rm -rf "$W/db_plain"
    "$TIDINGS" --config "$W/plain.toml" fetch >/dev/null 2>"$W/plain_first.err"
    A_PLAIN+=("$(anchor "$W/plain.curl")")
    L=$(lines)
    t0=$(now)
    "$TIDINGS" --config "$W/plain.toml" fetch >"$W/plain.out" 2>"$W/plain.err"
    t1=$(now)
    T_PLAIN+=("$(echo "$t1 - $t0" | bc -l)")
    c200=$(count_since "$L" 200)
    [[ $c200 = "$PLAIN" ]] || echo "WARNING round $r unchanged-200 run: nginx logged $c200 200s of $PLAIN" >&2
    printf '  unchanged 200s: bare GET %.3f s, tidings %.3f s; %s\n' "${A_PLAIN[-1]}" "${T_PLAIN[-1]}" \
        "$(tail -n 1 "$W/plain.out")" >&2
    if [[ -s $W/first.err || -s $W/second.err ]]; then
        echo "  stderr lines: first $(wc -l <"$W/first.err"), second $(wc -l <"$W/second.err"); e.g.:" >&2
        { cat "$W/first.err" "$W/second.err" | head -n 3 | sed 's/^/    /' >&2; } || true
    fi
done
items=$(sqlite3 "$W/db/bench.sqlite" 'select count(*) from items' 2>/dev/null || echo "?")
bytes=$(du -sb "$W/www" | cut -f1)

# --- report -----------------------------------------------------------------
python3 - "$SOURCES" "$CONC" "$PER_HOST" "$items" "$bytes" "${A_GET[*]}" "${T_FIRST[*]}" "${A_COND[*]}" "${T_SECOND[*]}" \
    "${A_PLAIN[*]}" "${T_PLAIN[*]}" "$PLAIN" <<'EOF'
import statistics, sys
n, conc, per_host, items, nbytes = sys.argv[1:6]
get, first, cond, second, plain_get, plain = ([float(x) for x in a.split()] for a in sys.argv[6:12])
n_plain = sys.argv[12]
med = statistics.median
def fig(xs): return f"{med(xs):.2f} s ({min(xs):.2f}–{max(xs):.2f})"
print(f"[4] corpus: {n} feeds, {int(nbytes)/1e6:.1f} MB, {items} items stored; nginx on 127.0.0.1, "
      f"concurrency {conc} (per host {per_host}), {len(get)} rounds, median (min–max)")
print(f"[4] fetch {n} sources, empty db: tidings {fig(first)} vs bare GET {fig(get)} → "
      f"{med(first)/med(get):.2f}× (target ≤ 2)")
print(f"[4] refetch {n} sources, all 304: tidings {fig(second)} vs bare conditional GET {fig(cond)} → "
      f"{med(second)/med(cond):.2f}× (target ≤ 1.2); vs bare GET {med(second)/med(get):.2f}×")
print(f"[4] refetch {n_plain} sources answering 200 with unchanged bodies: tidings {fig(plain)} vs bare GET "
      f"{fig(plain_get)} → {med(plain)/med(plain_get):.2f}× (target ≤ 1.5)")
EOF
