#!/usr/bin/env bash
# `sonde tcp -c 1` vs `nc -z` (netcat-openbsd) to a local listening port, whole process, side by side.
#
# Run from the package root after `Scripts/build-release`:
#   Benchmarks/tcp-benchmarks.sh [path/to/sonde]
# Traffic stays on loopback: a listener this script starts on 127.0.0.1 and stops on exit.
set -euo pipefail
SONDE=${1:-.build/release/sonde}
[ -x "$SONDE" ] || { echo "no sonde binary at $SONDE: Scripts/build-release" >&2; exit 2; }
for tool in nc hyperfine python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install netcat-openbsd hyperfine python3" >&2; exit 2; }
done
WORK=$(mktemp -d)
python3 - "$WORK/port" <<'PY' &
import socket, sys, time
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(1024)
open(sys.argv[1], "w").write(str(server.getsockname()[1]))
server.settimeout(0.5)
deadline = time.monotonic() + 300
while time.monotonic() < deadline:
    try:
        connection, _ = server.accept()
        connection.close()
    except socket.timeout:
        pass
PY
LISTENER=$!
trap 'kill $LISTENER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/port")
echo "## TCP connect to a local port, whole process (port $PORT)"
hyperfine -N --warmup 20 --runs 300 --export-markdown "$WORK/tcp.md" \
    "nc -z 127.0.0.1 $PORT" "$SONDE tcp -c 1 127.0.0.1:$PORT" >/dev/null 2>&1
cat "$WORK/tcp.md"
