#!/usr/bin/env python3
"""Hostile callers for Sonde's hostile-caller suite. Every mode prints one JSON object and stops by itself.

  hold HOST PORT COUNT SECONDS      open COUNT connections that send half a request head and wait; report how
                                    many the server closed, and when the first and last were closed
  healthz HOST PORT SECONDS         poll /healthz every 50 ms for SECONDS; report the slowest answer and failures
  trickle HOST PORT PATH SECONDS [TOKEN]  POST a JSON body one byte a second; report the status and when it came
  noread HOST PORT PATH COUNT SECONDS  COUNT streamed requests whose answers are never read, held SECONDS
  agent PORT MODE SECONDS           a peer that is not Sonde at PORT: answers every request with MODE (upgrade:
                                    101 Switching Protocols; html: 200 text/html); reports the request line and
                                    headers it was sent
  flood PORT SECONDS                a TCP server that sends 'a' * 60 + '!' to whoever connects (a regex bomb)
"""
import json
import socket
import sys
import threading
import time


def connect(host, port, timeout=5):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect((host, port))
    return sock


def hold(host, port, count, seconds):
    socks, closed = [], []
    start = time.monotonic()
    for _ in range(count):
        sock = connect(host, port)
        sock.sendall(b"GET /v1/probes HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        sock.setblocking(False)
        socks.append(sock)
    opened = len(socks)
    deadline = start + seconds
    alive = list(socks)
    while alive and time.monotonic() < deadline:
        for sock in list(alive):
            try:
                data = sock.recv(4096)
                if not data:
                    closed.append(time.monotonic() - start)
                    alive.remove(sock)
            except BlockingIOError:
                pass
            except OSError:
                closed.append(time.monotonic() - start)
                alive.remove(sock)
        time.sleep(0.05)
    print(json.dumps({"opened": opened, "closedByServer": len(closed),
                      "firstClosed": min(closed) if closed else None, "lastClosed": max(closed) if closed else None}))


def get(host, port, path, timeout=5):
    sock = connect(host, port, timeout)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    return data


def healthz(host, port, seconds):
    slowest, failures, answers = 0.0, 0, 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            ok = get(host, port, "/healthz", timeout=2).startswith(b"HTTP/1.1 200")
        except OSError:
            ok = False
        elapsed = time.monotonic() - started
        slowest = max(slowest, elapsed)
        if ok:
            answers += 1
        else:
            failures += 1
        time.sleep(0.05)
    print(json.dumps({"answers": answers, "failures": failures, "slowestSeconds": slowest}))


def trickle(host, port, path, seconds, token=None):
    body = b'{"target": "10.77.2.2", "count": 1}' + b" " * 200
    sock = connect(host, port, timeout=seconds + 5)
    authorization = f"Authorization: Bearer {token}\r\n" if token else ""
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{authorization}"
                 f"Content-Length: {len(body)}\r\n\r\n".encode())
    start = time.monotonic()
    sock.setblocking(False)
    answer = b""
    for byte in body:
        if time.monotonic() - start > seconds:
            break
        try:
            sock.send(bytes([byte]))
        except OSError:
            break
        try:
            chunk = sock.recv(65536)
            if chunk:
                answer += chunk
            else:
                break
        except BlockingIOError:
            pass
        if answer:
            break
        time.sleep(1)
    status = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    print(json.dumps({"status": status, "afterSeconds": time.monotonic() - start, "body": answer.decode(errors="replace")[-300:]}))


def noread(host, port, path, count, seconds):
    socks = []
    for _ in range(count):
        sock = connect(host, port)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/x-ndjson\r\n\r\n".encode())
        socks.append(sock)
    time.sleep(seconds)
    print(json.dumps({"held": len(socks)}))


def listen(port):
    """A TCP listener on every IPv4 address of the namespace, accepting with a short timeout."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", port))
    server.listen(64)
    server.settimeout(0.2)
    print(json.dumps({"ready": True}), flush=True)
    return server


def accepted(port, seconds):
    """Each connection to a listener on PORT, for SECONDS."""
    server = listen(port)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn, _ = server.accept()
        except socket.timeout:
            continue
        yield conn


def agent(port, mode, seconds):
    for conn in accepted(port, seconds):
        conn.settimeout(2)
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                break
            request += chunk
        headers = {}
        request_line = request.split(b"\r\n", 1)[0].decode(errors="replace").split(" ")
        for line in request.split(b"\r\n")[1:]:
            if b":" in line:
                name, value = line.split(b":", 1)
                headers[name.decode().strip().lower()] = value.decode().strip()
        if mode == "upgrade":
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nSECRET-PAYLOAD")
        else:
            page = b"<html><script>steal()</script></html>"
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(page), page))
        time.sleep(0.2)
        conn.close()
        print(json.dumps({"headers": headers, "method": request_line[0], "target": request_line[1] if len(request_line) > 1 else ""}), flush=True)


def flood(port, seconds):
    served, open_connections = 0, []
    for conn in accepted(port, seconds):
        conn.sendall(b"a" * 60 + b"!")
        open_connections.append(conn)
        served += 1
    print(json.dumps({"served": served}), flush=True)


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "hold":
        hold(args[0], int(args[1]), int(args[2]), float(args[3]))
    elif mode == "healthz":
        healthz(args[0], int(args[1]), float(args[2]))
    elif mode == "trickle":
        trickle(args[0], int(args[1]), args[2], float(args[3]), args[4] if len(args) > 4 else None)
    elif mode == "noread":
        noread(args[0], int(args[1]), args[2], int(args[3]), float(args[4]))
    elif mode == "agent":
        agent(int(args[0]), args[1], float(args[2]))
    elif mode == "flood":
        flood(int(args[0]), float(args[1]))
    else:
        sys.exit(f"unknown mode {mode}")
