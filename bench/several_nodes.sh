#!/usr/bin/env bash
# Issue 16: several daemons on one PostgreSQL.
#
#   bash bench/several_nodes.sh            (from the repository root)
#
# 1. Fetch-and-ingest of SOURCES loopback feeds (nginx on HOSTS loopback
#    addresses, 127.0.0.1 up, sources spread over them): one `tidings fetch`
#    into a fresh SQLite file, the same into a fresh PostgreSQL database;
#    then one `tidings fetch --due` into a fresh PostgreSQL database against
#    three at once (three nodes) into another; then three nodes at once on
#    SLOW sources served at 16 kB/s (a request lasts a second or more), with the
#    most requests one host had in flight at once (per_host_concurrency is 4).
# 2. Three `tidings serve` daemons on one PostgreSQL database, every source
#    polled once a minute (min = max interval 1 minute, fetch tick every 10 s),
#    for MINUTES minutes; the third gets SIGKILL after KILL_AT seconds, at the
#    first moment it holds leases. From
#    nginx's log (time of every request): how often each source was asked
#    and the shortest gap between two asks of one source; from each node's
#    log: its share of the fetches; for the sources the killed node held
#    leases on, how long until another node fetched them.
#
# Environment: TIDINGS (default target/release/tidings), SOURCES (3000), HOSTS (8), SLOW (240),
# MINUTES (4), KILL_AT (70), PG_ADMIN (postgres://postgres@127.0.0.1:5432/postgres),
# SEED (7), KEEP=1 keeps the temp dir and the database. Needs nginx, curl, psql, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TIDINGS=${TIDINGS:-target/release/tidings}
[[ $TIDINGS = /* ]] || TIDINGS=$ROOT/$TIDINGS
SOURCES=${SOURCES:-3000}
HOSTS=${HOSTS:-8}
SLOW=${SLOW:-240}

MINUTES=${MINUTES:-4}
KILL_AT=${KILL_AT:-70}
SEED=${SEED:-7}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
[[ -x $TIDINGS ]] || { echo "no tidings binary at $TIDINGS (build it, or set TIDINGS)" >&2; exit 1; }
source "$ROOT/bench/lib.sh"
need nginx nginx
need curl curl
need psql postgresql-client

W=$(mktemp -d /tmp/tidings-bench-nodes.XXXXXX)
chmod 755 "$W"
DB=tidings_bench_nodes_$$
NGINX_PID=
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do stop "$p" TERM 30; done
    stop "$NGINX_PID" QUIT 50
    if [[ ${KEEP:-0} = 1 ]]; then
        echo "kept $W and database $DB" >&2
    else
        psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
        rm -rf "$W"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
pg_url() { python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$PG_ADMIN" "$1"; }
fresh_db() { psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null; }

echo "generating $SOURCES feeds (seed $SEED) in $W/www ..." >&2
python3 "$ROOT/bench/gen_feeds.py" "$W/www" "$SOURCES" "$SEED" >&2
PORT=$(free_port)
NGINX_HOSTS=$(for h in $(seq "$HOSTS"); do printf '127.0.0.%d ' "$h"; done)
feed_nginx "$W" "$PORT"
ACCESS=$W/nginx/access.log
python3 - "$W" "$PORT" "$HOSTS" <<'EOF'
import os, sys
w, port, hosts = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = sorted((sub, f) for sub in ("etag", "noetag") for f in os.listdir(os.path.join(w, "www", sub)))
with open(os.path.join(w, "sources.toml"), "w") as s:
    for k, (sub, f) in enumerate(files):
        # /plain/: 200 every time, as most sources without validators answer.
        s.write(f'[[source]]\nname = "源{k:04d}"\nurl = "http://127.0.0.{k % hosts + 1}:{port}/plain/{sub}/{f}"\n\n')
EOF
config() { # $1 = database, $2 = output dir, $3 = listen port
    cat <<EOF
[site]
title = "bench"
base_url = "http://127.0.0.1:$3/"
timezone = "Asia/Shanghai"

[storage]
database = "$1"

[output]
dir = "$2"

[schedule]
fetch = "*/10 * * * * *"
digest = "0 0 1 1 *"
min_interval_mins = 1
max_interval_mins = 1

[fetch]
concurrency = 16
per_host_concurrency = 4
timeout_secs = 10
allow_private_addresses = true

[serve]
listen = "127.0.0.1:$3"

[taxonomy]
file = "$ROOT/config/taxonomy.toml"

[sources]
file = "$W/sources.toml"
EOF
}

# --- 1. throughput -------------------------------------------------------------
config "$W/sqlite/bench.sqlite" "$W/out-sqlite" 0 >"$W/sqlite.toml"
fresh_db
config "$(pg_url "$DB")" "$W/out-pg" 0 >"$W/pg.toml"
curl -s -o /dev/null "http://127.0.0.1:$PORT/plain/etag/f0000.xml"
t0=$(now); "$TIDINGS" --config "$W/sqlite.toml" fetch >"$W/sqlite.out" 2>"$W/sqlite.err"; t1=$(now)
T_SQLITE=$(echo "$t1 - $t0" | bc -l)
t0=$(now); "$TIDINGS" --config "$W/pg.toml" fetch >"$W/pg.out" 2>"$W/pg.err"; t1=$(now)
T_PG=$(echo "$t1 - $t0" | bc -l)
echo "  sqlite: $(tail -n 1 "$W/sqlite.out")" >&2
echo "  postgres: $(tail -n 1 "$W/pg.out")" >&2

# --- 1b. one node against three, fetching what is due --------------------------
fresh_db
t0=$(now); TIDINGS_NODE_ID=solo "$TIDINGS" --config "$W/pg.toml" fetch --due >"$W/solo.out" 2>"$W/solo.err"; t1=$(now)
T_ONE=$(echo "$t1 - $t0" | bc -l)
fresh_db
t0=$(now)
for n in 1 2 3; do
    TIDINGS_NODE_ID="trio$n" "$TIDINGS" --config "$W/pg.toml" fetch --due >"$W/trio$n.out" 2>"$W/trio$n.err" &
    PIDS+=($!)
done
for p in "${PIDS[@]}"; do wait "$p" || true; done
t1=$(now)
PIDS=()
T_THREE=$(echo "$t1 - $t0" | bc -l)
for n in 1 2 3; do echo "  trio$n: $(tail -n 1 "$W/trio$n.out")" >&2; done
# Three nodes on slow sources: how many requests each host had at once.
head -n "$((SLOW * 4))" "$W/sources.toml" | sed 's|/plain/|/slow/|' >"$W/sources-slow.toml"
sed "s|$W/sources.toml|$W/sources-slow.toml|" "$W/pg.toml" >"$W/slow.toml"
fresh_db
MARK=$(wc -l <"$ACCESS")
for n in 1 2 3; do
    TIDINGS_NODE_ID="slow$n" "$TIDINGS" --config "$W/slow.toml" fetch --due >"$W/slow$n.out" 2>"$W/slow$n.err" &
    PIDS+=($!)
done
for p in "${PIDS[@]}"; do wait "$p" || true; done
PIDS=()
tail -n +"$((MARK + 1))" "$ACCESS" >"$W/slow.access.log"
for n in 1 2 3; do echo "  slow$n: $(tail -n 1 "$W/slow$n.out")" >&2; done

# --- 2. three daemons ----------------------------------------------------------
fresh_db
: >"$ACCESS"
START=$(now)
for n in 1 2 3; do
    p=$(free_port)
    config "$(pg_url "$DB")" "$W/out-n$n" "$p" >"$W/n$n.toml"
    TIDINGS_NODE_ID="n$n" RUST_LOG=info "$TIDINGS" --config "$W/n$n.toml" serve >/dev/null 2>"$W/n$n.log" &
    PIDS+=($!)
    echo "$p" >"$W/n$n.port"
done
sleep "$KILL_AT"
# Kill node 3 mid-round: as soon as it holds leases (or after 30 s more).
HELD="SELECT name FROM sources WHERE lease_owner = 'n3' AND lease_until > extract(epoch from now())"
for _ in $(seq 300); do
    psql "$(pg_url "$DB")" -Atc "$HELD" >"$W/held_by_n3.txt"
    [[ -s $W/held_by_n3.txt ]] && break
    sleep 0.1
done
kill -KILL "${PIDS[2]}"
KILLED_AT=$(now)
psql "$(pg_url "$DB")" -Atc "$HELD" >"$W/held_by_n3.txt"
sleep "$(echo "$MINUTES * 60 - $KILL_AT" | bc)"
stop "${PIDS[0]}" TERM 100
stop "${PIDS[1]}" TERM 100
PIDS=()

python3 - "$W" "$SOURCES" "$T_SQLITE" "$T_PG" "$START" "$KILLED_AT" "$MINUTES" "$HOSTS" "$T_ONE" "$T_THREE" "$SLOW" <<'EOF'
import collections, os, re, sys
w, n, t_sqlite, t_pg, start, killed, minutes, hosts, t_one, t_three, slow = sys.argv[1:12]
n, t_sqlite, t_pg, start, killed, minutes = int(n), float(t_sqlite), float(t_pg), float(start), float(killed), int(minutes)
t_one, t_three = float(t_one), float(t_three)
print(f"[16] {n} loopback sources on {hosts} hosts (nginx, 200 every time); one node, fetch-and-ingest into an empty database:")
print(f"[16]   SQLite {t_sqlite:.2f} s, PostgreSQL {t_pg:.2f} s → {t_pg / t_sqlite:.2f}× (target ≤ 2)")
# Requests in flight per host while three nodes fetched slow sources: [end - seconds, end].
events = collections.defaultdict(list)
fetched = 0
for line in open(os.path.join(w, "slow.access.log")):
    parts = line.split()
    if len(parts) >= 5 and parts[1].startswith("/slow/"):
        end, took = float(parts[2]), float(parts[4])
        events[parts[3]] += [(end - took, 1), (end, -1)]
        fetched += 1
peak = {}
for host, ev in events.items():
    now = top = 0
    for _, d in sorted(ev, key=lambda e: (e[0], e[1])):
        now += d
        top = max(top, now)
    peak[host] = top
print(f"[16] fetch --due into an empty PostgreSQL database: one node {t_one:.2f} s; three nodes at once {t_three:.2f} s"
      f" → {t_three / t_one:.2f}× (target ≤ 1)")
slow_share = []
for k in (1, 2, 3):
    last = open(os.path.join(w, f"slow{k}.out")).read().strip().splitlines()
    m = re.match(r"(\d+) sources", last[-1]) if last else None
    slow_share.append(m.group(1) if m else "?")
print(f"[16]   {slow} slow sources (16 kB/s) on {hosts} hosts, three nodes at once: {fetched} requests, "
      f"split {' / '.join(slow_share)}")
print("[16]   most requests in flight to one host at once (limit 4, all nodes together): "
      + (f"{max(peak.values())} (per host: " + ", ".join(f"{v}" for _, v in sorted(peak.items())) + ")" if peak else "—"))
times = collections.defaultdict(list)
for line in open(os.path.join(w, "nginx", "access.log")):
    parts = line.split()
    if len(parts) >= 3 and parts[1].startswith("/plain/"):
        times[parts[1]].append(float(parts[2]))
counts = collections.Counter(len(v) for v in times.values())
gaps = [b - a for v in times.values() for a, b in zip(sorted(v), sorted(v)[1:])]
short = sum(1 for g in gaps if g < 45)
print(f"[16] three daemons, {minutes} min, every source due once a minute; node 3 killed at {killed - start:.0f} s:")
print(f"[16]   sources asked: {len(times)} of {n}; asks per source: " + ", ".join(f"{k}×: {v}" for k, v in sorted(counts.items())))
print(f"[16]   shortest gap between two asks of one source: {min(gaps) if gaps else float('nan'):.1f} s; gaps under 45 s: {short} of {len(gaps)}")
share = {}
for node in ("n1", "n2", "n3"):
    share[node] = sum(1 for l in open(os.path.join(w, f"{node}.log")) if "fetched source=" in l)
total = sum(share.values()) or 1
print("[16]   fetches per node: " + ", ".join(f"{k} {v} ({100 * v / total:.0f}%)" for k, v in share.items()))
held = [l.strip() for l in open(os.path.join(w, "held_by_n3.txt")) if l.strip()]
names = {}
for line in open(os.path.join(w, "sources.toml")):
    m = re.match(r'name = "(.*)"', line)
    if m: last = m.group(1)
    m = re.match(r'url = "http://[^/]+(/.*)"', line)
    if m: names[last] = m.group(1)
delays = []
for h in held:
    after = [t for t in times.get(names.get(h, ""), []) if t > killed]
    if after: delays.append(min(after) - killed)
print(f"[16]   leases held by the killed node: {len(held)}; fetched by another node after "
      + (f"{min(delays):.0f}–{max(delays):.0f} s" if delays else "—") + f" ({len(delays)} of {len(held)})")
EOF
