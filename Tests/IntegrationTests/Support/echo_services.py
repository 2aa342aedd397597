#!/usr/bin/env python3
"""Services for Sonde's integration tests, on every address of the namespace it runs in (IPv4 and IPv6).

  tcp 2222   sends the banner "SSH-2.0-SondeTest" on connect, then answers any line with "pong <line>"
  tcp 7777   accepts and says nothing (a banner read or an expectation times out)
  tcp 6667   IRC-like: sends "PING :<token>" with a fresh token; "PONG <token>" back gets "001 welcome", anything
             else "ERROR :wrong token" (a query_response that needs a capture)
  udp 5300   answers every DNS query with SERVFAIL: the broken upstream behind dnsmasq's fail.test zone
  udp 7      echo on 10.77.2.2 and fd00:77:2::2: answers every datagram with "echo " and the datagram
  any other  closed: the kernel answers with a reset

It stops by itself after --lifetime seconds.
"""
import argparse
import secrets
import selectors
import socket
import time


def listener(family, port):
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lifetime", type=float, default=900)
    arguments = parser.parse_args()
    selector = selectors.DefaultSelector()
    for family in (socket.AF_INET, socket.AF_INET6):
        for port in (2222, 7777, 6667):
            selector.register(listener(family, port), selectors.EVENT_READ, ("listen", port))
    for family in (socket.AF_INET, socket.AF_INET6):
        upstream = socket.socket(family, socket.SOCK_DGRAM)
        if family == socket.AF_INET6:
            upstream.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        upstream.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 5300))
        upstream.setblocking(False)
        selector.register(upstream, selectors.EVENT_READ, ("dns", 5300))
        # Bound to the address it is asked on, so the answer comes from it (a connected client reads no other).
        echo = socket.socket(family, socket.SOCK_DGRAM)
        echo.bind(("fd00:77:2::2" if family == socket.AF_INET6 else "10.77.2.2", 7))
        echo.setblocking(False)
        selector.register(echo, selectors.EVENT_READ, ("udp-echo", 7))
    print("ready", flush=True)
    deadline = time.monotonic() + arguments.lifetime
    while time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            kind, port = key.data[:2]
            if kind == "dns":
                query, sender = key.fileobj.recvfrom(4096)
                if len(query) >= 12:
                    # Same id, question and counts; QR set, RD copied, RA set, rcode 2 (SERVFAIL).
                    header = query[:2] + bytes([0x80 | (query[2] & 0x01), 0x82]) + query[4:12]
                    key.fileobj.sendto(header + query[12:], sender)
            elif kind == "udp-echo":
                datagram, sender = key.fileobj.recvfrom(4096)
                key.fileobj.sendto(b"echo " + datagram, sender)
            elif kind == "listen":
                connection, _ = key.fileobj.accept()
                connection.setblocking(False)
                if port == 2222:
                    connection.sendall(b"SSH-2.0-SondeTest\r\n")
                token = secrets.token_hex(8).encode()
                if port == 6667:
                    connection.sendall(b"NOTICE * :hello\r\nPING :" + token + b"\r\n")
                selector.register(connection, selectors.EVENT_READ, ("talk", port, token))
            else:
                try:
                    data = key.fileobj.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    selector.unregister(key.fileobj)
                    key.fileobj.close()
                elif port == 2222:
                    key.fileobj.sendall(b"pong " + data)
                elif port == 6667:
                    token = key.data[2]
                    answer = b"001 welcome\r\n" if data.strip() == b"PONG " + token else b"ERROR :wrong token\r\n"
                    key.fileobj.sendall(answer)


if __name__ == "__main__":
    main()
