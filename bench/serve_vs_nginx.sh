#!/usr/bin/env bash
# Issue 7, target 6: `tidings serve` answering /feed.xml vs nginx serving the
# same file, under wrk, on loopback.
#
#   bash bench/serve_vs_nginx.sh            (from the repository root)
#
# Uses only the built binary ($TIDINGS, default target/release/tidings) plus
# nginx, wrk and curl (apt-get installed if missing). The demo digest for
# 2025-04-02 is written into a temp dir (temp database and output folder; the
# repository's data/ and out/ are not touched), then tidings serve and nginx
# serve that folder on two free 127.0.0.1 ports. Both are stopped on exit.
#
# Environment: TIDINGS, ROUNDS (default 5), DURATION (wrk -d, default 5s),
# THREADS (wrk -t, 2), CONNECTIONS (wrk -c, 32), NGINX_WORKERS (auto),
# KEEP=1 keeps the temp dir.
#
# wrk, nginx and tidings share this machine's cores: the figures are
# ratios taken in the same run, not absolute capacities.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TIDINGS=${TIDINGS:-target/release/tidings}
[[ $TIDINGS = /* ]] || TIDINGS=$ROOT/$TIDINGS
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
THREADS=${THREADS:-2}
CONNS=${CONNECTIONS:-32}
NGINX_WORKERS=${NGINX_WORKERS:-auto}

[[ -x $TIDINGS ]] || { echo "no tidings binary at $TIDINGS (build it, or set TIDINGS)" >&2; exit 1; }
source "$ROOT/bench/lib.sh"
need nginx nginx
need wrk wrk
need curl curl
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }

W=$(mktemp -d /tmp/tidings-bench-serve.XXXXXX)
chmod 755 "$W" # nginx's workers run as an unprivileged user
NGINX_PID=
TIDINGS_PID=
cleanup() {
    stop "$TIDINGS_PID" TERM
    stop "$NGINX_PID" QUIT
    if [[ ${KEEP:-0} = 1 ]]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# --- the demo's feed, in a temp folder ---------------------------------------
TPORT=$(free_port)
NPORT=$(free_port)
while [[ $NPORT = "$TPORT" ]]; do NPORT=$(free_port); done
# config/demo.toml with its paths made absolute into $W, a listen address,
# and schedules that never fire during the run (29 February) so the service
# only serves: no fetch tick, no made-up digest rewriting feed.xml.
sed -e "s|^database = .*|database = \"$W/demo.sqlite\"|" \
    -e "s|^dir = .*|dir = \"$W/out\"|" \
    -e "s|^file = \"taxonomy.toml\"|file = \"$ROOT/config/taxonomy.toml\"|" \
    -e "s|^file = \"../feeds/demo-sources.toml\"|file = \"$ROOT/feeds/demo-sources.toml\"|" \
    config/demo.toml >"$W/demo.toml"
cat >>"$W/demo.toml" <<EOF

[schedule]
fetch = "0 0 29 2 *"
digest = "30 0 29 2 *"

[serve]
listen = "127.0.0.1:$TPORT"
EOF
grep -q "$W/out" "$W/demo.toml" && grep -q "$W/demo.sqlite" "$W/demo.toml" ||
    { echo "could not rewrite config/demo.toml's paths" >&2; exit 1; }
"$TIDINGS" --config "$W/demo.toml" check >&2
"$TIDINGS" --config "$W/demo.toml" digest --date 2025-04-02 >"$W/digest.out" 2>"$W/digest.err" ||
    { cat "$W/digest.err" >&2; exit 1; }
[[ -s $W/out/feed.xml ]] || { echo "the digest wrote no $W/out/feed.xml" >&2; exit 1; }
FEED_BYTES=$(stat -c %s "$W/out/feed.xml")
FEED_SUM=$(sha256sum <"$W/out/feed.xml")

# --- servers ----------------------------------------------------------------
"$TIDINGS" --config "$W/demo.toml" serve >"$W/serve.out" 2>"$W/serve.err" &
TIDINGS_PID=$!
mkdir -p "$W/nginx"
cat >"$W/nginx/nginx.conf" <<EOF
daemon off;
worker_processes $NGINX_WORKERS;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 1024; }
http {
    types { application/rss+xml xml; }
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path $W/nginx/body;
    proxy_temp_path $W/nginx/proxy;
    fastcgi_temp_path $W/nginx/fastcgi;
    uwsgi_temp_path $W/nginx/uwsgi;
    scgi_temp_path $W/nginx/scgi;
    sendfile on;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$NPORT;
        root $W/out;
    }
}
EOF
nginx -p "$W/nginx" -c "$W/nginx/nginx.conf" &
NGINX_PID=$!
TURL="http://127.0.0.1:$TPORT/feed.xml"
NURL="http://127.0.0.1:$NPORT/feed.xml"
wait_http "$TURL" || { echo "tidings serve did not answer" >&2; cat "$W/serve.err" >&2; exit 1; }
wait_http "$NURL" || { echo "nginx did not answer" >&2; cat "$W/nginx/error.log" >&2; exit 1; }

# --- same bytes; each server's ETag gives it a 304 -----------------------------
etag_of() { curl -s -D - -o /dev/null "$1" | tr -d '\r' | awk 'tolower($1) == "etag:" { print $2 }'; }
status_with() { curl -s -o /dev/null -w '%{http_code} %{size_download}' -H "If-None-Match: $2" "$1"; }
for u in "$TURL" "$NURL"; do
    [[ $(curl -s "$u" | sha256sum) = "$FEED_SUM" ]] || { echo "$u does not serve the same bytes as feed.xml" >&2; exit 1; }
done
TETAG=$(etag_of "$TURL")
NETAG=$(etag_of "$NURL")
echo "feed.xml: $FEED_BYTES bytes; tidings ETag $TETAG, nginx ETag $NETAG" >&2
echo "tidings: $(curl -s -i -H "If-None-Match: $TETAG" "$TURL" | head -n 1 | tr -d '\r')" \
     "/ nginx: $(curl -s -i -H "If-None-Match: $NETAG" "$NURL" | head -n 1 | tr -d '\r')" >&2
read -r tcode tsize <<<"$(status_with "$TURL" "$TETAG")"
read -r ncode nsize <<<"$(status_with "$NURL" "$NETAG")"
[[ $tcode = 304 && $ncode = 304 ]] ||
    { echo "expected 304 from both with their ETag, got tidings $tcode, nginx $ncode" >&2; exit 1; }

# --- wrk --------------------------------------------------------------------
# Prints "req/s bytes/response non2xx3xx errors".
bench() { # $1 = url, $2 = If-None-Match value or empty
    local args=(-t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 5s)
    [[ -n $2 ]] && args+=(-H "If-None-Match: $2")
    wrk "${args[@]}" "$1" | python3 -c '
import re, sys
t = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
m = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", t)
tr = float(m.group(1)) * {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[m.group(2)]
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
err = re.search(r"Socket errors:.*", t)
nbad = bad.group(1) if bad else "0"
nerr = err.group(0).replace(" ", "_") if err else "-"
print("%.0f %.0f %s %s" % (rps, tr / rps, nbad, nerr))'
}

declare -a T200 N200 T304 N304
for r in $(seq "$ROUNDS"); do
    read -r n200 nb200 nbad200 nerr200 <<<"$(bench "$NURL" "")"
    read -r t200 tb200 tbad200 terr200 <<<"$(bench "$TURL" "")"
    read -r n304 nb304 nbad304 nerr304 <<<"$(bench "$NURL" "$NETAG")"
    read -r t304 tb304 tbad304 terr304 <<<"$(bench "$TURL" "$TETAG")"
    N200+=("$n200") T200+=("$t200") N304+=("$n304") T304+=("$t304")
    echo "round $r: 200 nginx $n200 req/s (~$nb200 B/resp), tidings $t200 req/s (~$tb200 B/resp);" \
         "304 nginx $n304 req/s (~$nb304 B/resp), tidings $t304 req/s (~$tb304 B/resp)" >&2
    for x in "$nbad200 $nerr200 nginx-200" "$tbad200 $terr200 tidings-200" "$nbad304 $nerr304 nginx-304" \
             "$tbad304 $terr304 tidings-304"; do
        set -- $x
        [[ $1 = 0 && $2 = - ]] || echo "  WARNING $3: non-2xx/3xx $1, $2" >&2
    done
done
kill -0 "$TIDINGS_PID" || { echo "tidings serve died" >&2; cat "$W/serve.err" >&2; exit 1; }
[[ -s $W/serve.err ]] && { echo "tidings serve stderr (first lines):" >&2; head -n 5 "$W/serve.err" >&2; }
[[ $(sha256sum <"$W/out/feed.xml") = "$FEED_SUM" ]] || echo "WARNING: feed.xml changed during the run" >&2

python3 - "$FEED_BYTES" "$THREADS" "$CONNS" "$DURATION" "$(nproc)" "${T200[*]}" "${N200[*]}" "${T304[*]}" "${N304[*]}" <<'EOF'
import statistics, sys
size, threads, conns, dur, cores = sys.argv[1:6]
t200, n200, t304, n304 = ([float(x) for x in a.split()] for a in sys.argv[6:10])
med = statistics.median
def fig(xs): return f"{med(xs):,.0f} req/s ({min(xs):,.0f}–{max(xs):,.0f})"
r200, r304 = med(t200) / med(n200), med(t304) / med(n304)
print(f"[6] /feed.xml ({int(size):,} B, identity) on 127.0.0.1, wrk -t{threads} -c{conns} -d{dur}, {len(t200)} rounds, "
      f"median (min–max); wrk and both servers share {cores} cores")
print(f"[6] serve 200: tidings {fig(t200)} vs nginx {fig(n200)} → {r200:.2f}× (target ≥ 0.5)")
print(f"[6] serve 304: tidings {fig(t304)} vs nginx {fig(n304)} → {r304:.2f}× "
      f"(target ≥ 0.5, and 304 at least as fast as 200: tidings 304/200 {med(t304)/med(t200):.2f}×, "
      f"nginx {med(n304)/med(n200):.2f}×)")
EOF
