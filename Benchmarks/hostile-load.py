#!/usr/bin/env python3
"""Attacks for Benchmarks/hostile-benchmarks.sh: one scenario against one server, while /healthz (or blackbox's
/-/healthy) is polled every 50 ms and the server's RSS sampled every 100 ms. Prints one JSON line:
{"scenario", "healthz": {"answers", "failures", "p50Ms", "p99Ms", "maxMs"}, "peakRssMiB", "attack": {...}}.
Loopback only; every loop is bounded in time.

usage: hostile-load.py SCENARIO --port P --health PATH --pid PID --seconds S [--path PATH] [--token T]
  slowloris   hold --connections half-sent requests open
  bombs       --connections concurrent probe requests (--path) at a time, again and again
  noread      --connections streamed requests (--path) whose answers are never read
"""
import argparse
import asyncio
import json
import resource
import time


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def request(port, path, token, read=True, timeout=10):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAccept: application/x-ndjson\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        writer.write((head + "\r\n").encode())
        await writer.drain()
        if not read:
            return writer
        status = await asyncio.wait_for(reader.readline(), timeout)
        await asyncio.wait_for(reader.read(), timeout)
        return int(status.split()[1]) if status else 0
    finally:
        if read:
            writer.close()


async def poll_health(port, path, seconds, results):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            ok = await asyncio.wait_for(request(port, path, None), 2) == 200
        except (OSError, asyncio.TimeoutError, ValueError, IndexError):
            ok = False
        results.append((ok, (time.monotonic() - started) * 1000))
        await asyncio.sleep(0.05)


async def sample_rss(pid, seconds, peak):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        peak[0] = max(peak[0], rss_mib(pid))
        await asyncio.sleep(0.1)


async def slowloris(args, stats):
    held = []
    for _ in range(args.connections):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
            writer.write(b"GET /v1/probes HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            held.append((reader, writer))
        except OSError:
            stats["refused"] = stats.get("refused", 0) + 1
    stats["opened"] = len(held)
    await asyncio.sleep(args.seconds)
    closed = sum(1 for reader, _ in held if reader.at_eof() or reader._transport.is_closing())
    stats["closedByServer"] = closed
    for _, writer in held:
        writer.close()


async def bombs(args, stats):
    deadline = time.monotonic() + args.seconds
    statuses = {}
    while time.monotonic() < deadline:
        batch = await asyncio.gather(
            *(request(args.port, args.path, args.token, timeout=15) for _ in range(args.connections)), return_exceptions=True
        )
        for status in batch:
            key = str(status) if isinstance(status, int) else type(status).__name__
            statuses[key] = statuses.get(key, 0) + 1
    stats["statuses"] = statuses


async def noread(args, stats):
    writers = []
    for _ in range(args.connections):
        try:
            writers.append(await request(args.port, args.path, args.token, read=False))
        except OSError:
            stats["refused"] = stats.get("refused", 0) + 1
    stats["held"] = len(writers)
    await asyncio.sleep(args.seconds)
    for writer in writers:
        writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["idle", "slowloris", "bombs", "noread"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--health", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--path", default="/")
    parser.add_argument("--token")
    parser.add_argument("--label", help="print a line for people, headed by this name, before the JSON")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    health, peak, stats = [], [rss_mib(args.pid)], {}
    attacks = {"idle": lambda a, s: asyncio.sleep(a.seconds), "slowloris": slowloris, "bombs": bombs, "noread": noread}
    await asyncio.gather(
        attacks[args.scenario](args, stats),
        poll_health(args.port, args.health, args.seconds, health),
        sample_rss(args.pid, args.seconds + 1, peak),
    )
    latencies = sorted(ms for ok, ms in health if ok)
    quantile = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 2) if latencies else None
    result = {
        "scenario": args.scenario,
        "healthz": {"answers": len(latencies), "failures": sum(1 for ok, _ in health if not ok),
                    "p50Ms": quantile(0.5), "p99Ms": quantile(0.99), "maxMs": round(max(latencies), 2) if latencies else None},
        "peakRssMiB": round(peak[0], 1),
        "attack": stats,
    }
    if args.label:
        h = result["healthz"]
        print(f"{args.scenario:9} {args.label:9} health p50 {h['p50Ms']} ms, p99 {h['p99Ms']} ms, max {h['maxMs']} ms, "
              f"{h['answers']} answers, {h['failures']} failures; peak RSS {result['peakRssMiB']} MiB; {json.dumps(stats)}")
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
