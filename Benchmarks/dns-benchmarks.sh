#!/usr/bin/env bash
# `sonde dns` vs `dig` for one query to a local dnsmasq, whole process, side by side.
#
# Run from the package root after `Scripts/build-release`:
#   Benchmarks/dns-benchmarks.sh [path/to/sonde]
# Traffic stays on loopback: a dnsmasq this script starts on 127.0.0.1:15353 and stops on exit.
set -euo pipefail
SONDE=${1:-.build/release/sonde}
[ -x "$SONDE" ] || { echo "no sonde binary at $SONDE: Scripts/build-release" >&2; exit 2; }
for tool in dig dnsmasq hyperfine; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install dnsutils dnsmasq-base hyperfine" >&2; exit 2; }
done
WORK=$(mktemp -d)
cat > "$WORK/dnsmasq.conf" <<CONF
no-resolv
no-hosts
port=15353
listen-address=127.0.0.1
bind-interfaces
local=/test/
host-record=www.test,10.0.0.7
CONF
dnsmasq --conf-file="$WORK/dnsmasq.conf" --pid-file="$WORK/dnsmasq.pid" --log-facility="$WORK/dnsmasq.log"
trap 'kill $(cat "$WORK/dnsmasq.pid") 2>/dev/null; rm -rf "$WORK"' EXIT
sleep 0.3
echo "## One A query to a local dnsmasq, whole process"
hyperfine -N --warmup 20 --runs 300 --export-markdown "$WORK/dns.md" \
    "dig @127.0.0.1 -p 15353 www.test A" "$SONDE dns --server 127.0.0.1:15353 www.test" >/dev/null 2>&1
cat "$WORK/dns.md"
