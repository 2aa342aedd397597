#!/usr/bin/env python3
"""One HTTP request, printed as JSON: status, headers and each body line with the seconds after the
request was sent at which it arrived. Used by the tests from inside a test namespace (where `sonde serve`
listens), so arrival times of streamed lines are measured by a real client over a real socket.

usage: http_client.py METHOD URL [--header 'Name: value']... [--body TEXT] [--timeout SECONDS]
"""
import argparse
import http.client
import json
import sys
import time
import urllib.parse


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("method")
    parser.add_argument("url")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--body")
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=args.timeout)
    headers = dict(h.split(": ", 1) for h in args.header)
    path = url.path + ("?" + url.query if url.query else "")
    start = time.monotonic()
    try:
        connection.request(args.method, path, body=args.body, headers=headers)
        response = connection.getresponse()
    except OSError as error:
        print(json.dumps({"status": 0, "error": str(error)}))
        return
    lines = []
    while True:
        line = response.readline()
        if not line:
            break
        lines.append({"at": round(time.monotonic() - start, 4), "text": line.decode().rstrip("\n")})
    print(json.dumps({"status": response.status, "headers": {k.lower(): v for k, v in response.getheaders()}, "lines": lines}))


if __name__ == "__main__":
    sys.exit(main())
