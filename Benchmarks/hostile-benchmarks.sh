#!/usr/bin/env bash
# `sonde serve` and prometheus-blackbox-exporter under the same hostile callers, side by side in one run, on
# loopback: half-sent requests held open (slowloris), regex bombs against a server that sends 'a' * 60 + '!'
# (sonde: tcp expect; blackbox: tcp query_response expect — both RE2), and streamed answers never read.
# For each: /healthz (blackbox: /-/healthy) latency p50/p99/max and failures while attacked, and peak RSS.
# Sonde runs twice: with limits that admit the attack's concurrency (as blackbox, which has none), and as shipped.
# Loopback only; every attack ends by itself.
#
# usage: Benchmarks/hostile-benchmarks.sh [seconds] [connections]   (needs prometheus-blackbox-exporter, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
connections=${2:-1000}
sonde=${SONDE_BINARY:-.build/release/sonde}
token=benchmark-token-0123456789abcdef
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# The regex bomb's target: 'a' * 60 + '!' to whoever connects, then the connection stays open 2 s.
python3 -c '
import socket, threading, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 17100)); s.listen(4096)
def serve(c):
    try:
        c.sendall(b"a" * 60 + b"!"); time.sleep(2)
    finally:
        c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()' &
pids+=($!)

# Sonde with its defaults, but loopback content allowed (the bomb server is on loopback) and limits that admit
# the attack's concurrency, as blackbox (which has no limits) does.
SONDE_TOKEN=$token "$sonde" serve --port 18190 --log-level warning --allow-local-content \
    --max-concurrent 1024 --max-concurrent-per-client 1024 &
pids+=($!); sonde_pid=$!
# And one with the default limits (64 probes at once, 8 per client), as it ships.
SONDE_TOKEN=$token "$sonde" serve --port 18191 --log-level warning --allow-local-content &
pids+=($!); defaults_pid=$!
cat > "$work/blackbox.yml" <<'YML'
modules:
  bomb:
    prober: tcp
    timeout: 5s
    tcp:
      query_response:
        - expect: "(a+)+$"
YML
prometheus-blackbox-exporter --config.file="$work/blackbox.yml" --web.listen-address=127.0.0.1:19215 --log.level=warn 2>"$work/blackbox.log" &
pids+=($!); blackbox_pid=$!
disown -a
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 100); do listening 17100 && listening 18190 && listening 18191 && listening 19215 && break; sleep 0.1; done

attack() {  # scenario name pid port health [extra arguments]
    local scenario=$1 name=$2 pid=$3 port=$4 health=$5
    shift 5
    python3 Benchmarks/hostile-load.py "$scenario" --port "$port" --health "$health" --pid "$pid" --seconds "$seconds" \
        --label "$name" "$@" | head -1
}

echo "sonde $("$sonde" --version 2>/dev/null || echo "") vs $(prometheus-blackbox-exporter --version 2>&1 | head -1)"
echo "attacks of $seconds s; $connections connections for slowloris and noread, 100 at a time for bombs"
attack idle sonde "$sonde_pid" 18190 /healthz
attack idle blackbox "$blackbox_pid" 19215 /-/healthy
attack slowloris sonde "$sonde_pid" 18190 /healthz --connections "$connections"
attack slowloris blackbox "$blackbox_pid" 19215 /-/healthy --connections "$connections"
attack bombs sonde "$sonde_pid" 18190 /healthz --connections 100 --token "$token" \
    --path '/v1/probes/tcp?target=127.0.0.1:17100&expect=(a%2B)%2B%24&readTimeout=1'
attack bombs blackbox "$blackbox_pid" 19215 /-/healthy --connections 100 --path '/probe?module=bomb&target=127.0.0.1:17100'
attack noread sonde "$sonde_pid" 18190 /healthz --connections "$connections" --token "$token" \
    --path '/v1/probes/ping?target=127.0.0.1&count=50&interval=0.2'
attack noread blackbox "$blackbox_pid" 19215 /-/healthy --connections "$connections" --path '/probe?module=bomb&target=127.0.0.1:17100&debug=true'
attack noread defaults "$defaults_pid" 18191 /healthz --connections "$connections" --token "$token" \
    --path '/v1/probes/ping?target=127.0.0.1&count=50&interval=0.2'
sleep 5  # idle: Sonde hands freed memory back after 2 s without requests
echo "after 5 s idle: sonde (defaults) RSS $(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$defaults_pid/status") MiB"
echo "after: sonde RSS $(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$sonde_pid/status") MiB, blackbox $(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$blackbox_pid/status") MiB"
