#!/usr/bin/env bash
# `sonde http` vs curl against nginx, side by side in one run, across a veth pair:
#   1. whole process, one request (hyperfine): `curl -s -o /dev/null URL` vs `sonde http -q URL`, http and https;
#   2. what each reports for the same requests, alternating: connect, TLS handshake and time to first byte
#      (curl's -w time_connect, time_appconnect − time_connect, time_starttransfer − time_appconnect|time_connect;
#      Sonde's phases connect, tls, processing), medians over N requests each: Sonde as a fresh process per request
#      (as curl runs), and N requests in one process (`-c N`, each on a fresh connection), where its code is warm.
#
# Run as root from the package root after `Scripts/build-release`:
#   Benchmarks/http-benchmarks.sh [requests] [path/to/sonde]
# Two namespaces joined by a veth pair (10.78.9.1 ↔ 10.78.9.2), nginx in the far one with a certificate minted by
# openssl for this run; both removed on exit. Nothing leaves them.
set -euo pipefail
N=${1:-200}
SONDE=${2:-.build/release/sonde}
[ -x "$SONDE" ] || { echo "no sonde binary at $SONDE: Scripts/build-release" >&2; exit 2; }
SONDE=$(realpath "$SONDE")
for tool in curl nginx hyperfine openssl python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool: Scripts/install-dependencies" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 2; }
RUN=sondehb$$
WORK=$(mktemp -d)
cleanup() {
    kill "$(cat "$WORK/nginx.pid" 2>/dev/null)" 2>/dev/null || true
    for ns in "$RUN-c" "$RUN-s"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$RUN-c"
ip netns add "$RUN-s"
ip link add "${RUN}c" netns "$RUN-c" type veth peer name "${RUN}s" netns "$RUN-s"
ip -n "$RUN-c" addr add 10.78.9.1/24 dev "${RUN}c"
ip -n "$RUN-s" addr add 10.78.9.2/24 dev "${RUN}s"
for ns in "$RUN-c" "$RUN-s"; do ip -n "$ns" link set lo up; done
ip -n "$RUN-c" link set "${RUN}c" up
ip -n "$RUN-s" link set "${RUN}s" up

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench.test \
    -addext subjectAltName=IP:10.78.9.2 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
mkdir -p "$WORK/www"
echo "hello sonde" > "$WORK/www/index.html"
cat > "$WORK/nginx.conf" <<EOF
daemon on;
worker_processes 1;
user root;
pid $WORK/nginx.pid;
error_log $WORK/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    server { listen 10.78.9.2:80; root $WORK/www; }
    server { listen 10.78.9.2:443 ssl; ssl_certificate $WORK/cert.pem; ssl_certificate_key $WORK/key.pem; root $WORK/www; }
}
EOF
ip netns exec "$RUN-s" nginx -c "$WORK/nginx.conf" -e "$WORK/error.log"
for _ in $(seq 50); do ip netns exec "$RUN-c" curl -fsS -m 1 -o /dev/null http://10.78.9.2/ && break; sleep 0.1; done
in_client() { ip netns exec "$RUN-c" "$@"; }

echo "## 1. One request, whole process"
in_client hyperfine -N --warmup 20 --runs 300 --export-markdown "$WORK/process.md" \
    "curl -s -o /dev/null http://10.78.9.2/" "$SONDE http -q http://10.78.9.2/" \
    "curl -s -k -o /dev/null https://10.78.9.2/" "$SONDE http -q -k https://10.78.9.2/" >/dev/null 2>&1
cat "$WORK/process.md"

echo
echo "## 2. What each reports, $N requests each, alternating (ms, medians)"
for i in $(seq "$N"); do
    in_client curl -s -o /dev/null -w 'http %{time_connect} 0 %{time_starttransfer}\n' http://10.78.9.2/ >> "$WORK/curl.txt"
    in_client curl -s -k -o /dev/null -w 'https %{time_connect} %{time_appconnect} %{time_starttransfer}\n' https://10.78.9.2/ >> "$WORK/curl.txt"
    in_client "$SONDE" http --json http://10.78.9.2/ | grep '"type":"response"' >> "$WORK/sonde-http.ndjson"
    in_client "$SONDE" http --json -k https://10.78.9.2/ | grep '"type":"response"' >> "$WORK/sonde-https.ndjson"
done
in_client "$SONDE" http --json -c "$N" -i 0.02 http://10.78.9.2/ | grep '"type":"response"' > "$WORK/warm-http.ndjson"
in_client "$SONDE" http --json -c "$N" -i 0.02 -k https://10.78.9.2/ | grep '"type":"response"' > "$WORK/warm-https.ndjson"
python3 - "$WORK" <<'PY'
import json, statistics, sys
work = sys.argv[1]
curl = {"http": [], "https": []}
for line in open(f"{work}/curl.txt"):
    scheme, connect, app, start = line.split()
    connect, app, start = float(connect) * 1000, float(app) * 1000, float(start) * 1000
    curl[scheme].append((connect, app - connect if app else None, start - (app if app else connect)))
def sonde(name):
    rows = []
    for line in open(f"{work}/{name}"):
        phases = json.loads(line)["phases"]
        rows.append((phases["connectMs"], phases.get("tlsMs"), phases["processingMs"]))
    return rows
print("| scheme | phase | curl | sonde, a process each | ratio | sonde, one process | ratio |")
print("|---|---|---:|---:|---:|---:|---:|")
for scheme in ("http", "https"):
    fresh, warm = sonde(f"sonde-{scheme}.ndjson"), sonde(f"warm-{scheme}.ndjson")
    for index, phase in enumerate(("connect", "tls", "first byte")):
        theirs = [row[index] for row in curl[scheme] if row[index] is not None]
        mine = [row[index] for row in fresh if row[index] is not None]
        kept = [row[index] for row in warm if row[index] is not None]
        if not theirs or not mine or not kept:
            continue
        a, b, c = statistics.median(theirs), statistics.median(mine), statistics.median(kept)
        print(f"| {scheme} | {phase} | {a:.3f} | {b:.3f} | {b / a:.2f} | {c:.3f} | {c / a:.2f} |")
PY
