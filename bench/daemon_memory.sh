#!/usr/bin/env bash
# Issue 7, target 7: memory of `tidings serve` with 1,000 sources and
# 1,000,000 stored items (< 150 MB resident), of a one-shot digest over that
# database (< 100 MB), and the database's bytes per item.
#
#   bash bench/daemon_memory.sh            (from the repository root)
#
# Uses only built binaries: $TIDINGS (default target/release/tidings) and, to
# build the database when it is not cached, the pipeline benchmark binary
# $PIPELINE (default: the newest target/release/deps/pipeline-*), plus nginx,
# curl, sqlite3 and python3 (nginx, curl and sqlite3 are apt-get installed if
# missing). Everything listens on and talks to 127.0.0.1; nginx and the
# daemon are stopped on exit.
#
# 1. `pipeline make-db DB_DIR 1000 1000 200` (1,000 sources src0000…src0999,
#    1,000 items each over 200 days up to 2025-04-02), cached in DB_DIR
#    (default target/bench-data/db1m; FRESH=1 rebuilds it). The database is
#    copied into the temp dir: the cache is never written to.
# 2. The one-shot digest of 2025-04-02 (≈5,000 items of the 1M) on the copy,
#    ROUNDS times, under bench/peak_rss.py (kernel's max RSS of the child).
# 3. 1,000 feeds (bench/gen_feeds.py, as bench/fetch_loopback.sh) from a
#    loopback nginx, their dates moved so that they end just before the
#    daemon's digest window closes (a third of the ~20,000 items fall in it:
#    the daemon's digest has real work). The daemon's sources carry the
#    database's names, so the 1M stored items are theirs; the URLs change,
#    so every source is due at once. Schedule: a fetch tick every 5 seconds,
#    and one digest DIGEST_AFTER seconds after start (a one-off date, so no
#    missed digest is made up at start): the first tick fetches all sources
#    (200s), the digest fetches all again (304s), then writes the post.
# 4. `tidings serve`, its /proc/PID/status sampled every 0.5 s (VmRSS, VmHWM,
#    RssAnon, RssFile), /feed.xml and /healthz asked a few times a second
#    throughout plus a burst after the digest, until the fetch round and the
#    digest are logged (at most MAX_WAIT s), then STEADY more seconds, then
#    SIGTERM. "steady" is the median VmRSS over those last STEADY seconds.
#
# Environment: TIDINGS, PIPELINE, DB_DIR, FRESH=1, ROUNDS (default 3), SEED (7),
# CONCURRENCY (fetch.concurrency, 16), PER_HOST (default = CONCURRENCY, as in
# fetch_loopback.sh), DIGEST_AFTER (30), MAX_WAIT (120), STEADY (10),
# KEEP=1 keeps the temp dir. The daemon inherits the environment, so e.g.
# MALLOC_ARENA_MAX=2 shows how much of its RSS is glibc arenas.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TIDINGS=${TIDINGS:-target/release/tidings}
[[ $TIDINGS = /* ]] || TIDINGS=$ROOT/$TIDINGS
PIPELINE=${PIPELINE:-$(ls -t target/release/deps/pipeline-* 2>/dev/null | grep -v '\.d$' | head -n 1 || true)}
[[ -z $PIPELINE || $PIPELINE = /* ]] || PIPELINE=$ROOT/$PIPELINE
DB_DIR=${DB_DIR:-target/bench-data/db1m}
[[ $DB_DIR = /* ]] || DB_DIR=$ROOT/$DB_DIR
ROUNDS=${ROUNDS:-3}
SEED=${SEED:-7}
CONC=${CONCURRENCY:-16}
PER_HOST=${PER_HOST:-$CONC}
DIGEST_AFTER=${DIGEST_AFTER:-30}
MAX_WAIT=${MAX_WAIT:-120}
STEADY=${STEADY:-10}
SOURCES=1000 PER_SOURCE=1000 DAYS=200
DATE=2025-04-02

[[ -x $TIDINGS ]] || { echo "no tidings binary at $TIDINGS (build it, or set TIDINGS)" >&2; exit 1; }
source "$ROOT/bench/lib.sh"
need nginx nginx
need curl curl
need sqlite3 sqlite3
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }

W=$(mktemp -d /tmp/tidings-bench-memory.XXXXXX)
chmod 755 "$W" # nginx's workers run as an unprivileged user
NGINX_PID=
DAEMON_PID=
SAMPLER_PID=
LOAD_PID=
cleanup() {
    stop "$LOAD_PID" TERM 400
    stop "$DAEMON_PID" TERM 400
    stop "$SAMPLER_PID" TERM 400
    stop "$NGINX_PID" QUIT 400
    if [[ ${KEEP:-0} = 1 ]]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T_START=$(now)

# A private copy of the binary: a rebuild during the run cannot swap it.
cp "$TIDINGS" "$W/tidings"
TIDINGS=$W/tidings

# --- 1. the 1M-item database (cached) -----------------------------------------
if [[ ${FRESH:-0} = 1 || ! -s $DB_DIR/tidings.sqlite || ! -s $DB_DIR/tidings.toml ]]; then
    [[ -n $PIPELINE && -x $PIPELINE ]] ||
        { echo "no pipeline benchmark binary (cargo bench --bench pipeline --no-run, or set PIPELINE)" >&2; exit 1; }
    echo "building the database in $DB_DIR with $PIPELINE (~20 s) ..." >&2
    rm -rf "$DB_DIR.partial"
    mkdir -p "$(dirname "$DB_DIR")"
    "$PIPELINE" make-db "$DB_DIR.partial" "$SOURCES" "$PER_SOURCE" "$DAYS" --bench >&2
    rm -rf "$DB_DIR"
    mv "$DB_DIR.partial" "$DB_DIR"
else
    echo "reusing the database in $DB_DIR (FRESH=1 rebuilds it)" >&2
fi
for f in tidings.sqlite tidings.sqlite-wal tidings.sqlite-shm; do
    [[ -e $DB_DIR/$f ]] && cp "$DB_DIR/$f" "$W/$f"
done
DB=$W/tidings.sqlite
# Size of the database as built (with its WAL, if any), and what it holds.
DB_BYTES=$(($(stat -c %s "$DB") + $( [[ -e $DB-wal ]] && stat -c %s "$DB-wal" || echo 0)))
DB_ITEMS=$(sqlite3 "$DB" 'select count(*) from items')
DB_SOURCES=$(sqlite3 "$DB" 'select count(*) from sources')
DAY_ITEMS=$(python3 - "$DB" "$DATE" <<'EOF'
import sqlite3, sys
from datetime import datetime, timedelta, timezone
end = datetime.fromisoformat(sys.argv[2] + "T09:00:00+08:00")
con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
print(con.execute("select count(*) from items where published_at >= ? and published_at < ?",
                  (int((end - timedelta(days=1)).timestamp()), int(end.timestamp()))).fetchone()[0])
EOF
)
echo "database: $DB_ITEMS items, $DB_SOURCES sources, $DB_BYTES bytes; $DAY_ITEMS items in $DATE's window" >&2

# --- 2. one-shot digest over the copy -------------------------------------------
site_and_storage() { # $1 = digest time
    cat <<EOF
[site]
title = "Bench"
description = "bench"
base_url = "http://localhost:8080/"
timezone = "Asia/Shanghai"

[storage]
database = "$DB"

[output]
dir = "$W/out"

[digest]
time = "$1"

[taxonomy]
file = "$ROOT/config/taxonomy.toml"

[sources]
file = "$W/sources.toml"
EOF
}
# The daemon's source list (names of the database's sources; URLs on nginx,
# written below): `digest --no-fetch` does not fetch, but the list must parse.
python3 - "$W" "$SOURCES" <<'EOF'
import os, sys
w, n = sys.argv[1], int(sys.argv[2])
with open(os.path.join(w, "sources.toml"), "w") as s:
    for k in range(n):
        s.write(f'[[source]]\nname = "src{k:04d}"\nurl = "http://127.0.0.1:9/src{k:04d}.xml"\n\n')
EOF
site_and_storage "09:00" >"$W/oneshot.toml"
"$TIDINGS" --config "$W/oneshot.toml" check >&2
declare -a OS_WALL OS_RSS
for r in $(seq "$ROUNDS"); do
    python3 "$ROOT/bench/peak_rss.py" "$TIDINGS" --config "$W/oneshot.toml" digest --date "$DATE" --no-fetch \
        >"$W/oneshot.out" 2>"$W/oneshot.err" || { echo "one-shot digest failed:" >&2; tail -5 "$W/oneshot.err" >&2; exit 1; }
    line=$(grep -E '^wall [0-9.]+ s, peak RSS [0-9.]+ MB' "$W/oneshot.err" | tail -n 1)
    OS_WALL+=("$(sed -E 's/^wall ([0-9.]+) s.*/\1/' <<<"$line")")
    OS_RSS+=("$(sed -E 's/.*peak RSS ([0-9.]+) MB.*/\1/' <<<"$line")")
    echo "one-shot digest round $r: $line; $(tail -n 1 "$W/oneshot.out")" >&2
done
OS_STORIES=$(grep -oE '^[0-9]+ stories' "$W/oneshot.out" | tail -n 1 | cut -d' ' -f1 || true)

# --- 3. feeds on a loopback nginx -------------------------------------------------
echo "generating $SOURCES feeds (seed $SEED) in $W/www ..." >&2
python3 "$ROOT/bench/gen_feeds.py" "$W/www" "$SOURCES" "$SEED" >&2

PORT=$(free_port)
feed_nginx "$W" "$PORT"
ACCESS=$W/nginx/access.log

# --- the daemon's schedule, feed dates and config ------------------------------
TPORT=$(free_port)
while [[ $TPORT = "$PORT" ]]; do TPORT=$(free_port); done
# The digest fires once, DIGEST_AFTER s from now (6-field cron with a fixed
# date: its previous occurrence is a year ago, so nothing is made up at
# start); its window closes at that minute. The feeds' dates (3 days from
# 2025-04-01 in gen_feeds.py) are moved to end a minute before it.
read -r c1 c2 c3 c4 c5 c6 DIGEST_TIME DIGEST_DATE < <(python3 - "$W" "$PORT" "$DIGEST_AFTER" <<'EOF'
import os, re, sys
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from zoneinfo import ZoneInfo
w, port, after = sys.argv[1], sys.argv[2], int(sys.argv[3])
tz = ZoneInfo("Asia/Shanghai")
fire = (datetime.now(tz) + timedelta(seconds=after)).replace(microsecond=0)
end = fire.replace(second=0)
base_end = datetime(2025, 4, 1, tzinfo=timezone(timedelta(hours=8))) + timedelta(days=3)
delta = end - timedelta(minutes=1) - base_end
def rfc822(m):
    return f"<pubDate>{format_datetime(parsedate_to_datetime(m.group(1)) + delta)}</pubDate>"
def iso(m):
    return f"<{m.group(1)}>{(datetime.fromisoformat(m.group(2)) + delta).isoformat()}</{m.group(1)}>"
files = sorted((sub, f) for sub in ("etag", "noetag") for f in os.listdir(os.path.join(w, "www", sub)))
with open(os.path.join(w, "sources.toml"), "w") as s:
    for k, (sub, f) in enumerate(files):
        path = os.path.join(w, "www", sub, f)
        text = open(path, encoding="utf-8").read()
        text = re.sub(r"<pubDate>(.*?)</pubDate>", rfc822, text)
        text = re.sub(r"<(published|updated)>(.*?)</\1>", iso, text)
        open(path, "w", encoding="utf-8").write(text)
        s.write(f'[[source]]\nname = "src{k:04d}"\nurl = "http://127.0.0.1:{port}/{sub}/{f}"\n\n')
print(f"{fire.second} {fire.minute} {fire.hour} {fire.day} {fire.month} *", end.strftime("%H:%M"),
      end.strftime("%Y-%m-%d"))
EOF
)
DIGEST_CRON="$c1 $c2 $c3 $c4 $c5 $c6"
{
    site_and_storage "$DIGEST_TIME"
    cat <<EOF

[fetch]
concurrency = $CONC
per_host_concurrency = $PER_HOST
allow_private_addresses = true

[schedule]
fetch = "*/5 * * * * *"
digest = "$DIGEST_CRON"

[serve]
listen = "127.0.0.1:$TPORT"
EOF
} >"$W/daemon.toml"
"$TIDINGS" --config "$W/daemon.toml" check >&2
echo "daemon: fetch every 5 s, digest of $DIGEST_DATE (window closing $DIGEST_TIME Asia/Shanghai) at cron '$DIGEST_CRON'" >&2

# --- 4. the daemon ----------------------------------------------------------------
LOG=$W/daemon.log
URL=http://127.0.0.1:$TPORT
: >"$W/load.codes"
RUST_LOG=warn,tidings=info "$TIDINGS" --config "$W/daemon.toml" serve 2>"$LOG" &
DAEMON_PID=$!
T0=$(now)
python3 - "$DAEMON_PID" "$W/rss.tsv" <<'EOF' &
import sys, time
pid, out = sys.argv[1], sys.argv[2]
t0 = time.time()
with open(out, "w") as f:
    while True:
        try:
            status = open(f"/proc/{pid}/status").read()
        except OSError:
            break
        v = {}
        for line in status.splitlines():
            k, _, rest = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads"):
                v[k] = rest.split()[0]
        if "VmRSS" not in v:
            break  # a zombie: the process has exited
        f.write(f"{time.time() - t0:.2f}\t{v['VmRSS']}\t{v['VmHWM']}\t{v.get('RssAnon', 0)}\t{v.get('RssFile', 0)}\t{v.get('Threads', 0)}\n")
        f.flush()
        time.sleep(0.5)
EOF
SAMPLER_PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "$URL/healthz" && break; sleep 0.1; done
kill -0 "$DAEMON_PID" 2>/dev/null || { echo "tidings serve did not start:" >&2; tail -5 "$LOG" >&2; exit 1; }

# Light, steady HTTP traffic while it works: 2 × /feed.xml (gzip) + 2 × /healthz every 0.5 s.
printf 'url = "%s"\noutput = "/dev/null"\ncompressed\n' "$URL/feed.xml" "$URL/feed.xml" >"$W/load.curl"
printf 'url = "%s"\noutput = "/dev/null"\n' "$URL/healthz" "$URL/healthz" >>"$W/load.curl"
(
    trap 'exit 0' TERM
    while :; do
        curl -s --no-progress-meter -m 5 -w '%{http_code} %{url_effective}\n' -K "$W/load.curl" >>"$W/load.codes" 2>/dev/null || true
        sleep 0.5
    done
) &
LOAD_PID=$!

fetched() { grep -c 'tidings::ingest.*fetched' "$LOG" || true; }
digested() { grep -c 'tidings::daemon: digest' "$LOG" || true; }
T_FETCHED= T_DIGEST=
deadline=$(echo "$T0 + $MAX_WAIT" | bc -l)
while :; do
    t=$(now)
    if [[ -z $T_FETCHED && $(fetched) -ge $SOURCES ]]; then T_FETCHED=$(echo "$t - $T0" | bc -l); fi
    if [[ -z $T_DIGEST && $(digested) -ge 1 ]]; then T_DIGEST=$(echo "$t - $T0" | bc -l); fi
    [[ -n $T_FETCHED && -n $T_DIGEST ]] && break
    kill -0 "$DAEMON_PID" 2>/dev/null || { echo "tidings serve exited early:" >&2; tail -5 "$LOG" >&2; exit 1; }
    if (($(echo "$t > $deadline" | bc -l))); then
        echo "WARNING: after ${MAX_WAIT}s: $(fetched) fetches and $(digested) digests logged; going on" >&2
        break
    fi
    sleep 0.5
done
# A burst after the digest: 200 × /feed.xml (now holding today's post) + 100 × /healthz, 16 at a time.
for _ in $(seq 200); do printf 'url = "%s"\noutput = "/dev/null"\ncompressed\n' "$URL/feed.xml"; done >"$W/burst.curl"
for _ in $(seq 100); do printf 'url = "%s"\noutput = "/dev/null"\n' "$URL/healthz"; done >>"$W/burst.curl"
curl -s --no-progress-meter -m 60 --parallel --parallel-max 16 -w '%{http_code} %{url_effective}\n' \
    -K "$W/burst.curl" >"$W/burst.codes" 2>/dev/null || true
T_STEADY=$(echo "$(now) - $T0" | bc -l)
sleep "$STEADY"
curl -s -m 5 "$URL/metrics" >"$W/metrics.txt" || true
stop "$LOAD_PID" TERM 400
LOAD_PID=
T_TERM=$(now)
kill -TERM "$DAEMON_PID"
DAEMON_RC=0
wait "$DAEMON_PID" || DAEMON_RC=$?
DAEMON_PID=
T_EXIT=$(echo "$(now) - $T_TERM" | bc -l)
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=

# --- what happened ------------------------------------------------------------------
n200=$(awk '$1 == 200' "$ACCESS" | wc -l)
n304=$(awk '$1 == 304' "$ACCESS" | wc -l)
nreq=$(wc -l <"$ACCESS")
echo "nginx: $nreq feed requests: $n200 × 200, $n304 × 304" >&2
echo "tidings log: $(wc -l <"$LOG") lines; fetch lines by status:" \
    "$(grep 'tidings::ingest.*fetched' "$LOG" | grep -oE 'status="?[a-z_]+' | sed 's/status="\?//' | sort | uniq -c | tr -s ' ' | paste -sd,)" >&2
grep 'tidings::daemon: digest' "$LOG" | sed 's/^/  /' >&2 || true
nwarn=$(grep -cE ' (WARN|ERROR) ' "$LOG" || true)
if [[ $nwarn -gt 0 ]]; then
    echo "WARNING: $nwarn WARN/ERROR lines in tidings' log, e.g.:" >&2
    grep -E ' (WARN|ERROR) ' "$LOG" | head -n 3 | sed 's/^/    /' >&2
fi
grep -E '^tidings_(fetches_total|digests_total|stories|http_responses_total)' "$W/metrics.txt" | sed 's/^/  metrics: /' >&2 || true
echo "http statuses: steady load $(awk '{print $1}' "$W/load.codes" | sort | uniq -c | tr -s ' ' | paste -sd,);" \
    "burst $(awk '{print $1}' "$W/burst.codes" | sort | uniq -c | tr -s ' ' | paste -sd,)" >&2
echo "database after the daemon: $(sqlite3 "$DB" 'select count(*) from items') items," \
    "$(($(stat -c %s "$DB") + $( [[ -e $DB-wal ]] && stat -c %s "$DB-wal" || echo 0))) bytes" >&2
printf 'daemon timeline: all sources fetched by %.1f s, digest logged by %.1f s, steady from %.1f s, SIGTERM → exit %s in %.1f s\n' \
    "${T_FETCHED:-nan}" "${T_DIGEST:-nan}" "$T_STEADY" "$DAEMON_RC" "$T_EXIT" >&2

# --- report -------------------------------------------------------------------------
python3 - "$W" "$DB_ITEMS" "$DB_BYTES" "$DAY_ITEMS" "$DATE" "$SOURCES" "$T_STEADY" \
    "${T_FETCHED:-nan}" "${T_DIGEST:-nan}" "$DAEMON_RC" "${OS_STORIES:-?}" "$(echo "$(now) - $T_START" | bc -l)" \
    "${OS_RSS[*]}" "${OS_WALL[*]}" <<'EOF'
import os, re, statistics, sys
(w, items, nbytes, day_items, date, sources, t_steady, t_fetched, t_digest, rc, os_stories, total,
 os_rss, os_wall) = sys.argv[1:]
items, nbytes, day_items, sources = int(items), int(nbytes), int(day_items), int(sources)
t_steady, t_fetched, t_digest = float(t_steady), float(t_fetched), float(t_digest)
med = statistics.median
MB = lambda kb: kb / 1024

rows = [line.split("\t") for line in open(os.path.join(w, "rss.tsv")) if line.strip()]
s = [(float(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows]
peak = max(r[2] for r in s)  # VmHWM: the kernel's own high-water mark
steady = med([r[1] for r in s if r[0] >= t_steady]) if any(r[0] >= t_steady for r in s) else s[-1][1]
def at(t):  # VmRSS of the last sample at or before t
    xs = [r for r in s if r[0] <= t]
    return (xs[-1] if xs else s[0])
start, after_fetch = s[min(2, len(s) - 1)], at(t_fetched if t_fetched == t_fetched else 0)
after_digest, last = at(t_digest if t_digest == t_digest else 0), s[-1]
print(f"  rss (MB, VmRSS / RssAnon / RssFile): at start {MB(start[1]):.0f}/{MB(start[3]):.0f}/{MB(start[4]):.0f}, "
      f"after the fetch round {MB(after_fetch[1]):.0f}/{MB(after_fetch[3]):.0f}/{MB(after_fetch[4]):.0f}, "
      f"after the digest {MB(after_digest[1]):.0f}/{MB(after_digest[3]):.0f}/{MB(after_digest[4]):.0f}, "
      f"last {MB(last[1]):.0f}/{MB(last[3]):.0f}/{MB(last[4]):.0f}; threads up to {max(r[5] for r in s)}; "
      f"{len(s)} samples over {s[-1][0]:.0f} s", file=sys.stderr)

log = open(os.path.join(w, "daemon.log"), encoding="utf-8", errors="replace").read().splitlines()
fetch_lines = [l for l in log if "tidings::ingest" in l and " fetched" in l]
fetched_ok = {m.group(1) for l in fetch_lines
              if (m := re.search(r'source=(\S+)', l)) and re.search(r'status="?(ok|not_modified)', l)}
digests = [l for l in log if "tidings::daemon: digest" in l]
metrics = open(os.path.join(w, "metrics.txt")).read() if os.path.exists(os.path.join(w, "metrics.txt")) else ""
served = sum(int(m.group(1)) for m in re.finditer(r'^tidings_http_responses_total\{[^}]*\} (\d+)', metrics, re.M))
if not served:
    served = sum(1 for f in ("load.codes", "burst.codes") for _ in open(os.path.join(w, f)))
stories = re.search(r"stories=(\d+)", digests[-1]).group(1) if digests else "?"

print(f"[7] database: {items:,} items, {nbytes / 1e6:.0f} MB, {nbytes / items:.0f} bytes per item")
print(f"[7] daemon, {sources} sources + {items / 1e6:.0f}M items: peak RSS {MB(peak):.0f} MB, "
      f"steady {MB(steady):.0f} MB (target < 150 MB); fetched {len(fetched_ok)} sources, "
      f"{len(digests)} digest ({stories} stories), {served} requests served"
      + ("" if rc == "0" else f"; exit {rc} on SIGTERM"))
rss = [float(x) for x in os_rss.split()]
wall = [float(x) for x in os_wall.split()]
print(f"[7] one-shot digest of {date} ({day_items:,} items of {items / 1e6:.0f}M, {os_stories} stories): "
      f"peak RSS {med(rss):.0f} MB ({min(rss):.0f}–{max(rss):.0f}), wall {med(wall):.2f} s "
      f"({min(wall):.2f}–{max(wall):.2f}), {len(rss)} runs (target < 100 MB)")
print(f"  whole script: {float(total):.0f} s", file=sys.stderr)
EOF
