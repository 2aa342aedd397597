#!/usr/bin/env python3
"""Load for Scripts/api-reliability: N requests at concurrency C against sonde serve on 127.0.0.1:8090 (or
sonde gateway on :8080 with --gateway), mixing valid probes, invalid requests, bad tokens and oversized bodies.
Every request kind declares the statuses it may get; the run fails on any other status, on a request that got no
answer, or when fewer than 90% of the valid probes were answered 200 (a server that refuses everything fails)."""
import argparse
import asyncio
import collections
import itertools
import sys

# (method, path, headers, body, the statuses this request may get), weights by repetition. 429 is allowed only
# where a slot is taken; valid probes must mostly succeed (see MIN_SUCCESS).
PROBE = {200, 429}
SIDECAR = [
    ("GET", "/v1/probes/tcp?target=127.0.0.1:7000&count=1", {}, None, PROBE),
    ("GET", "/v1/probes/tcp?target=127.0.0.1:7000&count=1", {}, None, PROBE),
    ("POST", "/v1/probes/tcp", {"Content-Type": "application/json"}, b'{"target": "127.0.0.1:7000", "count": 2, "interval": 0.2}', PROBE),
    ("GET", "/v1/probes/ping?target=127.0.0.1&count=1", {}, None, PROBE),
    ("GET", "/v1/probes/tcp?target=127.0.0.1:7001&count=1", {"Accept": "application/x-ndjson"}, None, PROBE),
    ("GET", "/v1/probes/dns?target=example.test&server=127.0.0.1&timeout=0.2&attempts=1", {}, None, PROBE),
    ("GET", "/v1/probes", {}, None, {200}),
    ("GET", "/healthz", {}, None, {200}),
    ("GET", "/v1/probes/tcp?target=127.0.0.1:7000&count=1000", {}, None, {400}),
    ("GET", "/v1/probes/ping?target=169.254.169.254", {}, None, {403}),
    ("GET", "/v1/probes/tcp?target=127.0.0.1:7000&banner=true", {}, None, {403}),
    ("GET", "/v1/probes/nosuch?target=x", {}, None, {404}),
    ("POST", "/v1/probes/ping", {"Content-Type": "application/json"}, b'{"target": [1]}', {400}),
    ("POST", "/v1/probes/ping", {"Content-Type": "application/json"}, b"x" * 40000, {413}),
    ("POST", "/v1/probes/ping", {"Content-Type": "text/plain"}, b"{}", {415}),
    ("DELETE", "/v1/probes", {}, None, {405}),
    ("GET", "/v1/probes", {"Authorization": "Bearer wrong-token-0000000000"}, None, {401}),
]
GATEWAY = [
    ("GET", "/v1/agents/10.79.0.1/probes/tcp?target=127.0.0.1:7000&count=1", {}, None, PROBE),
    ("POST", "/v1/agents/10.79.0.1/probes/tcp", {"Content-Type": "application/json"}, b'{"target": "127.0.0.1:7000", "count": 1}', PROBE),
    ("GET", "/api/v2/ping/srcIP/10.79.0.1/dstIP/127.0.0.1/count/1", {}, None, PROBE),
    ("GET", "/v1/agents/10.79.0.1/probes", {}, None, {200}),
    ("GET", "/healthz", {}, None, {200}),
    ("GET", "/v1/agents/10.79.0.1/probes/tcp?target=127.0.0.1:7000&count=1000", {}, None, {400}),
    ("GET", "/v1/agents/169.254.169.254/probes", {}, None, {403}),
    ("GET", "/v1/agents/127.0.0.1/probes", {}, None, {403}),
    ("GET", "/v1/agents/10.79.0.1/probes/nosuch?target=x", {}, None, {404}),
    ("POST", "/v1/agents/10.79.0.1/probes/ping", {"Content-Type": "application/json"}, b"x" * 40000, {413}),
    ("DELETE", "/v1/agents/10.79.0.1/probes", {}, None, {405}),
    ("GET", "/v1/agents/10.79.0.1/probes", {"Authorization": "Bearer wrong-token-0000000000"}, None, {401}),
]
# Of the requests that run a valid probe, at least this share must be answered 200.
MIN_SUCCESS = 0.9


async def one(port, method, path, headers, body):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for name, value in headers.items():
            head += f"{name}: {value}\r\n"
        if body is not None:
            head += f"Content-Length: {len(body)}\r\n"
        writer.write(head.encode() + b"\r\n" + (body or b""))
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        rest = await asyncio.wait_for(reader.read(), 30)
        return (int(status_line.split()[1]) if status_line else 0), rest.split(b"\r\n\r\n", 1)[-1][:300]
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--token", required=True)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--gateway", action="store_true", help="load sonde gateway on 127.0.0.1:8080 instead")
    args = parser.parse_args()
    mix, port = (GATEWAY, 8080) if args.gateway else (SIDECAR, 8090)
    counts = collections.Counter()
    unexpected = collections.Counter()
    examples = {}
    failures = collections.Counter()
    probes = collections.Counter()
    queue = asyncio.Queue()
    for item in itertools.islice(itertools.cycle(mix), args.requests):
        queue.put_nowait(item)

    async def worker():
        while not queue.empty():
            method, path, headers, body, allowed = queue.get_nowait()
            headers = {"Authorization": f"Bearer {args.token}", **headers}
            try:
                status, answer = await one(port, method, path, headers, body)
            except (OSError, asyncio.TimeoutError, ValueError, IndexError) as error:
                failures[type(error).__name__] += 1
                continue
            counts[status] += 1
            if status not in allowed:
                key = f"{method} {path.split('?')[0]} -> {status} (allowed {sorted(allowed)})"
                unexpected[key] += 1
                examples.setdefault(key, answer.decode(errors="replace"))
            if allowed is PROBE:
                probes["ok" if status == 200 else "refused"] += 1

    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    total = sum(counts.values())
    share = probes["ok"] / max(1, probes["ok"] + probes["refused"])
    print("statuses:", dict(sorted(counts.items())), "connection failures:", dict(failures),
          f"valid probes answered 200: {share:.1%}")
    ok = True
    if total != args.requests or failures:
        print(f"FAIL: {args.requests - total} requests got no answer", dict(failures), file=sys.stderr)
        ok = False
    if unexpected:
        print("FAIL: statuses not declared for their request:", dict(unexpected), file=sys.stderr)
        for key, answer in examples.items():
            print(f"  first answer for {key}: {answer}", file=sys.stderr)
        ok = False
    if share < MIN_SUCCESS:
        print(f"FAIL: only {share:.1%} of valid probes succeeded (at least {MIN_SUCCESS:.0%} must)", file=sys.stderr)
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
