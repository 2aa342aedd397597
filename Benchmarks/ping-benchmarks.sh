#!/usr/bin/env bash
# Sonde's ping benchmarks, each side by side with its peer in the same run (issue: foundation).
#
#   1. RTT       sonde ping vs iputils ping across a veth pair: 200 probes each at 10 ms; median RTTs compared.
#   2. Scale     1,000 targets x 3 probes: sonde ping vs fping -c 3 -q, same per-target interval (-p / -i) and
#                gap between sends (-i / --send-gap); wall, CPU and peak RSS; every reply counted.
#   3. Start-up  whole process `sonde ping -c 1 127.0.0.1` vs `ping -c 1 127.0.0.1` (hyperfine).
#
# Run as root from the package root after `Scripts/build-release`:
#   Benchmarks/ping-benchmarks.sh [path/to/sonde]
# Traffic stays on loopback and inside two namespaces this script creates (10.78.x); it removes them on exit.
set -euo pipefail

SONDE=${1:-.build/release/sonde}
ROUNDS=${ROUNDS:-5}
[ "$(id -u)" = 0 ] || { echo "run as root: the benchmark builds network namespaces" >&2; exit 2; }
[ -x "$SONDE" ] || { echo "no sonde binary at $SONDE: Scripts/build-release" >&2; exit 2; }
for tool in ping fping hyperfine python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install iputils-ping fping hyperfine python3 time" >&2; exit 2; }
done

A=sondebench$$a
B=sondebench$$b
WORK=$(mktemp -d)
cleanup() { ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

ip netns add "$A"
ip netns add "$B"
ip -n "$A" link set lo up
ip -n "$B" link set lo up
ip link add a0 netns "$A" type veth peer name b0 netns "$B"
ip -n "$A" addr add 10.78.1.1/24 dev a0
ip -n "$B" addr add 10.78.1.2/24 dev b0
ip -n "$A" link set a0 up
ip -n "$B" link set b0 up
ip -n "$A" route add 10.78.4.0/22 via 10.78.1.2
# 1,000 target addresses on the peer; its kernel answers them all (no rate limit on echo replies).
python3 - "$B" > "$WORK/addresses.batch" <<'PY'
import sys
for n in range(1000):
    print(f"address add 10.78.{4 + n // 250}.{1 + n % 250}/32 dev lo")
PY
ip -n "$B" -batch "$WORK/addresses.batch"
python3 -c 'print("\n".join(f"10.78.{4 + n // 250}.{1 + n % 250}" for n in range(1000)))' > "$WORK/targets.txt"
ip netns exec "$A" ping -c 2 -i 0.2 -q 10.78.1.2 >/dev/null

run_a() { ip netns exec "$A" "$@"; }

echo "## 1. RTT across a veth pair: 200 probes at 10 ms, the two tools alternating"
medians=()
for round in $(seq "$ROUNDS"); do
    run_a ping -c 200 -i 0.01 10.78.1.2 > "$WORK/ping.$round.txt"
    run_a "$SONDE" ping -c 200 -i 0.01 10.78.1.2 > "$WORK/sonde.$round.txt"
done
python3 - "$WORK" "$ROUNDS" <<'PY'
import re, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def times(path):
    return [float(m) for m in re.findall(r"time=([0-9.]+) ms", open(path).read())]
print("| round | replies ping | replies sonde | median ping (ms) | median sonde (ms) | sonde/ping |")
print("|---|---|---|---|---|---|")
everything = {"ping": [], "sonde": []}
for r in range(1, rounds + 1):
    ping, sonde = times(f"{work}/ping.{r}.txt"), times(f"{work}/sonde.{r}.txt")
    everything["ping"] += ping
    everything["sonde"] += sonde
    mp, ms = statistics.median(ping), statistics.median(sonde)
    print(f"| {r} | {len(ping)} | {len(sonde)} | {mp:.3f} | {ms:.3f} | {ms / mp:.2f} |")
mp, ms = statistics.median(everything["ping"]), statistics.median(everything["sonde"])
print(f"| all | {len(everything['ping'])} | {len(everything['sonde'])} | {mp:.3f} | {ms:.3f} | {ms / mp:.2f} |")
PY

echo
echo "## 2. Scale: 1,000 targets x 3 probes, per-target interval 1 s, 1 ms between any two sends"
printf '| round | tool | replies | wall (s) | CPU user+sys (s) | peak RSS (MiB) |\n|---|---|---|---|---|---|\n'
mapfile -t TARGETS < "$WORK/targets.txt"
for round in $(seq "$ROUNDS"); do
    run_a /usr/bin/time -f "%e %U %S %M" -o "$WORK/fping.time" fping -c 3 -q -p 1000 -i 1 -f "$WORK/targets.txt" 2> "$WORK/fping.out" || true
    run_a /usr/bin/time -f "%e %U %S %M" -o "$WORK/sonde.time" "$SONDE" ping -c 3 -q -i 1 --send-gap 0.001 "${TARGETS[@]}" > "$WORK/sonde.out" 2>&1 || true
    for tool in fping sonde; do
        replies=$(python3 -c '
import re, sys
print(sum(int(m) for m in re.findall(r"xmt/rcv/%loss = \d+/(\d+)/", open(sys.argv[1]).read())))' "$WORK/$tool.out")
        read -r wall user sys rss < "$WORK/$tool.time"
        printf '| %d | %s | %s / 3000 | %s | %s | %s |\n' "$round" "$tool" "$replies" "$wall" \
            "$(python3 -c "print(f'{$user + $sys:.2f}')")" "$(python3 -c "print(f'{$rss / 1024:.1f}')")"
    done
done

echo
echo "## 3. Start-up: one probe to 127.0.0.1, whole process"
hyperfine -N --warmup 20 --runs 300 --export-markdown "$WORK/startup.md" \
    "ping -c 1 127.0.0.1" "$SONDE ping -c 1 127.0.0.1" >/dev/null 2>&1
cat "$WORK/startup.md"
