# Shared by the loopback benchmark scripts: source it, don't run it.

# need COMMAND PACKAGE: installs the Debian package when the command is missing.
need() { command -v "$1" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }

# stop PID SIGNAL [TENTHS]: asks politely, waits up to TENTHS/10 s (default
# 10 s), then kills.
stop() {
    [[ -n $1 ]] && kill -0 "$1" 2>/dev/null || return 0
    kill "-$2" "$1" 2>/dev/null || true
    for _ in $(seq "${3:-100}"); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
wait_http() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }

# feed_nginx DIR PORT: nginx on 127.0.0.1:PORT (and on each loopback address
# in NGINX_HOSTS, if set) serving DIR/www (ETags on under /etag/, off under
# /noetag/; /plain/ serves them all again with no 304 ever, as servers
# without validators do; /slow/ the same at 16 kB/s, so that requests last
# long enough to see how many overlap), its files under DIR/nginx, access log
# "status uri end-time address seconds" in DIR/nginx/access.log. Sets NGINX_PID.
feed_nginx() {
    local w=$1 port=$2 listen="" h
    for h in ${NGINX_HOSTS:-127.0.0.1}; do listen+="        listen $h:$port;"$'\n'; done
    mkdir -p "$w/nginx"
    cat >"$w/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $w/nginx/nginx.pid;
error_log $w/nginx/error.log warn;
events { worker_connections 1024; }
http {
    types { application/rss+xml xml; }
    default_type application/octet-stream;
    log_format st '\$status \$request_uri \$msec \$server_addr \$request_time';
    access_log $w/nginx/access.log st;
    client_body_temp_path $w/nginx/body;
    proxy_temp_path $w/nginx/proxy;
    fastcgi_temp_path $w/nginx/fastcgi;
    uwsgi_temp_path $w/nginx/uwsgi;
    scgi_temp_path $w/nginx/scgi;
    sendfile on;
    keepalive_requests 10000;
    server {
$listen        root $w/www;
        location /etag/ { etag on; }
        location /noetag/ { etag off; }
        location /plain/ { alias $w/www/; etag off; if_modified_since off; }
        location /slow/ { alias $w/www/; etag off; if_modified_since off; limit_rate 16k; }
    }
}
CONF
    nginx -p "$w/nginx" -c "$w/nginx/nginx.conf" &
    NGINX_PID=$!
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
    kill -0 "$NGINX_PID" || { echo "nginx did not start" >&2; cat "$w/nginx/error.log" >&2; exit 1; }
}
