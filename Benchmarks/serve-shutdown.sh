#!/usr/bin/env bash
# How long an idle `sonde serve` takes to exit after SIGTERM: start it on loopback, wait until /healthz answers,
# let it idle 0.5 s, send SIGTERM and time the exit. Prints one line per run; BINARY defaults to the release build.
#   Benchmarks/serve-shutdown.sh [RUNS] [BINARY...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
binaries=("$@")
[ ${#binaries[@]} -gt 0 ] || binaries=(.build/release/sonde)
port=18600
for binary in "${binaries[@]}"; do
    for _ in $(seq "$runs"); do
        port=$((port + 1))
        "$binary" serve --host 127.0.0.1 --port "$port" >/dev/null 2>&1 &
        pid=$!
        for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.05; done
        sleep 0.5
        start=$(date +%s%N)
        kill -TERM "$pid"
        wait "$pid" || true
        echo "$binary: exited $(( ($(date +%s%N) - start) / 1000000 )) ms after SIGTERM"
    done
done
