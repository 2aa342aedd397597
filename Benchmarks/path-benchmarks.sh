#!/usr/bin/env bash
# The path probes side by side with their peers on one path, whole process: `sonde traceroute` vs `traceroute -I`,
# `sonde mtr -r` vs `mtr -n -r`, `sonde tracepath` vs `tracepath -n` (time and peak RSS), and what each tracepath
# makes of a PMTU black hole.
#
# Run as root from the package root after `Scripts/build-release`:
#   Benchmarks/path-benchmarks.sh [path/to/sonde]
# The path is four namespaces this script builds and removes on exit: client 10.84.1.1 → r1 → (a 1400-byte link)
# → r2 → target 10.84.3.2, routers without an ICMP rate limit. No traffic leaves them.
set -euo pipefail
SONDE=$(realpath "${1:-.build/release/sonde}")
[ -x "$SONDE" ] || { echo "no sonde binary at $SONDE: Scripts/build-release" >&2; exit 2; }
for tool in traceroute mtr tracepath hyperfine nft /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install traceroute mtr-tiny iputils-tracepath hyperfine nftables time" >&2; exit 2; }
done
P=sondebench$$
C=${P}c A=${P}a B=${P}b T=${P}t
WORK=$(mktemp -d)
cleanup() { for n in $C $A $B $T; do ip netns del "$n" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
for n in $C $A $B $T; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add c0 netns "$C" type veth peer name a0 netns "$A"
ip link add a1 netns "$A" mtu 1400 type veth peer name b0 netns "$B" mtu 1400
ip link add b1 netns "$B" type veth peer name t0 netns "$T"
ip -n "$C" addr add 10.84.1.1/24 dev c0; ip -n "$A" addr add 10.84.1.254/24 dev a0
ip -n "$A" addr add 10.84.2.1/24 dev a1; ip -n "$B" addr add 10.84.2.2/24 dev b0
ip -n "$B" addr add 10.84.3.254/24 dev b1; ip -n "$T" addr add 10.84.3.2/24 dev t0
for pair in "$C c0" "$A a0" "$A a1" "$B b0" "$B b1" "$T t0"; do set -- $pair; ip -n "$1" link set "$2" up; done
ip -n "$C" route add default via 10.84.1.254
ip -n "$A" route add 10.84.3.0/24 via 10.84.2.2
ip -n "$B" route add 10.84.1.0/24 via 10.84.2.1
ip -n "$T" route add default via 10.84.3.254
for n in $A $B; do ip netns exec "$n" sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0; done
ip netns exec "$C" ping -c 1 -W 2 10.84.3.2 >/dev/null
TARGET=10.84.3.2
IN="ip netns exec $C"
FLUSH="ip -n $C route flush cache"

# Peak RSS (KiB) of one run, the median of three.
rss() { for _ in 1 2 3; do /usr/bin/time -f %M $IN "$@" 2>&1 >/dev/null | tail -1; done | sort -n | sed -n 2p; }

compare() { # title, runs, peer command, sonde command
    local title=$1 runs=$2 peer=$3 ours=$4
    echo "## $title"
    hyperfine -N --warmup 1 --runs "$runs" --prepare "$FLUSH" --export-json "$WORK/run.json" "$IN $peer" "$IN $ours" >/dev/null 2>&1
    python3 - "$WORK/run.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
peer, ours = (r["median"] * 1000 for r in results)
print(f"median wall time: peer {peer:.1f} ms, sonde {ours:.1f} ms, sonde/peer {ours / peer:.2f}")
PY
    # shellcheck disable=SC2086
    local peak_peer peak_ours
    peak_peer=$(rss $peer)
    peak_ours=$(rss $ours)
    echo "peak RSS: peer $peak_peer KiB, sonde $peak_ours KiB, sonde/peer $(python3 -c "print(f'{$peak_ours / $peak_peer:.2f}')")"
    echo
}

echo "# Path probes, $(date -u +%FT%TZ), $("$SONDE" --version 2>/dev/null || echo sonde)"
echo
compare "traceroute: 3 hops, 3 probes each (ICMP)" 20 "traceroute -I -n -q 3 $TARGET" "$SONDE traceroute -q 3 $TARGET"
compare "mtr: 3 hops, 10 rounds 0.1 s apart" 5 "mtr -n -r -c 10 -i 0.1 $TARGET" "$SONDE mtr -r -c 10 -i 0.1 $TARGET"
compare "tracepath: 3 hops, the 1400-byte link found (route cache flushed before each run)" 20 "tracepath -n $TARGET" "$SONDE tracepath $TARGET"

echo "## tracepath through a PMTU black hole (r1 drops its 'fragmentation needed'), 3 hops"
ip netns exec "$A" nft add table inet sondebench
ip netns exec "$A" nft add chain inet sondebench output '{ type filter hook output priority 0; }'
ip netns exec "$A" nft add rule inet sondebench output icmp type destination-unreachable icmp code frag-needed drop
$FLUSH
for tool in "tracepath -n -m 3 $TARGET" "$SONDE tracepath -m 3 $TARGET"; do
    started=$(date +%s.%N)
    output=$($IN $tool 2>&1 || true)
    elapsed=$(python3 -c "print(f'{$(date +%s.%N) - $started:.2f}')")
    echo "\$ ${tool/$SONDE/sonde}   # ${elapsed} s"
    echo "$output"
done
