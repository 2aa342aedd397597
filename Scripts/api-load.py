#!/usr/bin/env python3
"""Load for Scripts/api-reliability: N requests at concurrency C against sonde serve on 127.0.0.1:8090,
mixing valid probes, invalid requests, bad tokens and oversized bodies. Prints the status counts and exits
1 on any 5xx other than the deliberate 429 (over a limit) and 503 (shutting down), or on a dropped
connection."""
import argparse
import asyncio
import collections
import itertools
import sys

MIX = [
    # (method, path, headers, body), weights by repetition.
    ("GET", "/v1/probes/tcp?target=127.0.0.1:7000&count=1", {}, None),
    ("GET", "/v1/probes/tcp?target=127.0.0.1:7000&count=1", {}, None),
    ("POST", "/v1/probes/tcp", {"Content-Type": "application/json"}, b'{"target": "127.0.0.1:7000", "count": 2, "interval": 0.2}'),
    ("GET", "/v1/probes/ping?target=127.0.0.1&count=1", {}, None),
    ("GET", "/v1/probes/tcp?target=127.0.0.1:7001&count=1", {"Accept": "application/x-ndjson"}, None),
    ("GET", "/v1/probes/dns?target=example.test&server=127.0.0.1&timeout=0.2&attempts=1", {}, None),
    ("GET", "/v1/probes", {}, None),
    ("GET", "/healthz", {}, None),
    ("GET", "/v1/probes/tcp?target=127.0.0.1:7000&count=1000", {}, None),
    ("GET", "/v1/probes/ping?target=169.254.169.254", {}, None),
    ("GET", "/v1/probes/nosuch?target=x", {}, None),
    ("POST", "/v1/probes/ping", {"Content-Type": "application/json"}, b'{"target": [1]}'),
    ("POST", "/v1/probes/ping", {"Content-Type": "application/json"}, b"x" * 40000),
    ("POST", "/v1/probes/ping", {"Content-Type": "text/plain"}, b"{}"),
    ("DELETE", "/v1/probes", {}, None),
    ("GET", "/v1/probes", {"Authorization": "Bearer wrong-token-0000000000"}, None),
]


async def one(method, path, headers, body):
    reader, writer = await asyncio.open_connection("127.0.0.1", 8090)
    try:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for name, value in headers.items():
            head += f"{name}: {value}\r\n"
        if body is not None:
            head += f"Content-Length: {len(body)}\r\n"
        writer.write(head.encode() + b"\r\n" + (body or b""))
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        await asyncio.wait_for(reader.read(), 30)
        return int(status_line.split()[1]) if status_line else 0
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--token", required=True)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    counts = collections.Counter()
    failures = collections.Counter()
    plan = itertools.islice(itertools.cycle(MIX), args.requests)
    queue = asyncio.Queue()
    for item in plan:
        queue.put_nowait(item)

    async def worker():
        while not queue.empty():
            method, path, headers, body = queue.get_nowait()
            headers = {"Authorization": f"Bearer {args.token}", **headers}
            try:
                counts[await one(method, path, headers, body)] += 1
            except (OSError, asyncio.TimeoutError, ValueError, IndexError) as error:
                failures[type(error).__name__] += 1

    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    print("statuses:", dict(sorted(counts.items())), "connection failures:", dict(failures))
    bad = {status: n for status, n in counts.items() if status >= 500 and status not in (503,) or status == 0}
    if bad or failures:
        print("FAIL: unexpected 5xx or dropped connections", bad, dict(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
