#!/usr/bin/env bash
# `sonde serve` vs prometheus-blackbox-exporter, same machine, same run, same local server, driven by wrk at
# concurrency 50 for 10 s each, two alternating rounds:
#   tcp   Sonde's TCP-connect probe (/v1/probes/tcp) vs blackbox's tcp_connect, against a listener that accepts
#   http  Sonde's /probe?module=http_2xx vs blackbox's http_2xx (prober: http), against a local nginx
# Reports requests/s, p50/p99 latency and RSS (idle, and after load) of both. Loopback only.
#
# usage: Benchmarks/api-benchmarks.sh [seconds] [connections] [tcp|http]   (needs wrk, prometheus-blackbox-exporter, nginx)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
connections=${2:-50}
kind=${3:-tcp}
sonde=${SONDE_BINARY:-.build/release/sonde}
token=benchmark-token-0123456789abcdef
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    kill "$(cat "$work/nginx.pid" 2>/dev/null)" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The listener both probe: accepts and closes, as fast as Python can.
python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 17000)); s.listen(4096)
while True:
    c, _ = s.accept(); c.close()' &
pids+=($!)
# The web server both ask (http): a small page from nginx, on loopback.
if [ "$kind" = http ]; then
    mkdir -p "$work/www" && echo "hello sonde" > "$work/www/index.html"
    cat > "$work/nginx.conf" <<NGINX
daemon on;
worker_processes 1;
user root;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:17080; root $work/www; } }
NGINX
    nginx -c "$work/nginx.conf" -e "$work/nginx-error.log"
fi

# Request logging off for both (blackbox logs nothing per probe by default); limits high enough not to 429.
SONDE_TOKEN=$token "$sonde" serve --port 18090 --log-level warning --max-concurrent 1024 --max-concurrent-per-client 1024 &
pids+=($!); sonde_pid=$!
cat > "$work/blackbox.yml" <<'YML'
modules:
  tcp_connect:
    prober: tcp
    timeout: 5s
  http_2xx:
    prober: http
    timeout: 5s
YML
prometheus-blackbox-exporter --config.file="$work/blackbox.yml" --web.listen-address=127.0.0.1:19115 --log.level=warn 2>"$work/blackbox.log" &
pids+=($!); blackbox_pid=$!
disown -a  # the cleanup kills them: no "Killed" job notices

if [ "$kind" = http ]; then
    sonde_url="http://127.0.0.1:18090/probe?module=http_2xx&target=http://127.0.0.1:17080/"
    blackbox_url="http://127.0.0.1:19115/probe?module=http_2xx&target=http://127.0.0.1:17080/"
    sonde_success='probe_success 1'
else
    sonde_url="http://127.0.0.1:18090/v1/probes/tcp?target=127.0.0.1:17000"
    blackbox_url="http://127.0.0.1:19115/probe?module=tcp_connect&target=127.0.0.1:17000"
    sonde_success='"success":true'
fi
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 100); do listening 17000 && listening 18090 && listening 19115 && break; sleep 0.1; done
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
# VmRSS in MiB and MB, and its parts: anonymous (heap, stacks) and file-backed (the binary's and libraries' pages).
rss_parts() {
    awk '/VmRSS/ {r=$2} /RssAnon/ {a=$2} /RssFile/ {f=$2}
         END {printf "%.1f MiB = %.1f MB (anonymous %.1f MiB, file-backed %.1f MiB)", r/1024, r*1.024/1000, a/1024, f/1024}' "/proc/$1/status"
}
sleep 1  # both settled after start-up
echo "idle RSS: sonde $(rss_parts "$sonde_pid")"
echo "          blackbox $(rss_parts "$blackbox_pid")"

# Both must really probe: one request each, checked.
sonde_answer=$(curl -sf -H "Authorization: Bearer $token" "$sonde_url")
[[ $sonde_answer == *"$sonde_success"* ]] || { echo "sonde's probe did not succeed: $sonde_answer" >&2; exit 1; }
blackbox_answer=$(curl -sf "$blackbox_url")
[[ $blackbox_answer == *'probe_success 1'* ]] || { echo "blackbox's probe did not succeed: $blackbox_answer" >&2; exit 1; }

run() {  # name url [header]
    local name=$1 url=$2; shift 2
    wrk -t2 -c"$connections" -d"${seconds}s" --latency "$@" "$url" > "$work/$name.txt"
    local rps p50 p99 errors
    rps=$(awk '/Requests\/sec/ {print $2}' "$work/$name.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$work/$name.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$work/$name.txt")
    errors=$(awk '/Non-2xx/ {print $5}' "$work/$name.txt")
    printf "%-9s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n" "$name" "$rps" "$p50" "$p99" "${errors:-0}"
    echo "$rps" >> "$work/$name.rps"
}
for round in 1 2; do
    echo "-- round $round (wrk -t2 -c$connections -d${seconds}s)"
    run sonde "$sonde_url" -H "Authorization: Bearer $token"
    run blackbox "$blackbox_url"
done
echo "RSS after load (MiB): sonde $(rss "$sonde_pid"), blackbox $(rss "$blackbox_pid")"
python3 - "$work/sonde.rps" "$work/blackbox.rps" <<'PY'
import sys
sonde = [float(x) for x in open(sys.argv[1])]
blackbox = [float(x) for x in open(sys.argv[2])]
print(f"throughput ratio sonde/blackbox: {sum(sonde) / sum(blackbox):.2f}x (rounds: " +
      ", ".join(f"{s / b:.2f}" for s, b in zip(sonde, blackbox)) + ")")
PY
