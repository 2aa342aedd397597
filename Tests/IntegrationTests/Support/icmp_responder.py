#!/usr/bin/env python3
"""A fault-injecting ICMP/ICMPv6 echo responder for Sonde's integration tests.

Runs inside a test network namespace whose kernel echo is disabled. It reads echo requests on raw sockets and
answers them itself, misbehaving according to the destination address, so every edge case a ping engine must
handle has an address of its own. The fault is chosen by the last IPv4 octet, or by the last IPv6 group read
as decimal digits (fd00:77:3::12 and 10.77.3.12 both mean "bad checksum"):

  10 normal reply                    20 bad-checksum copy, then a good copy 5 ms later
  11 reply duplicated (x2, 5 ms)     21 Destination Unreachable sent by the target
  12 bad ICMP checksum               22 Time Exceeded sent by the target
  13 data byte #20 inverted          24 header-only reply (no data)
  14 reply delayed 1500 ms           25 data bytes 0-7 corrupted
  15 reply from another address (.99 / ::99)
  16 truncated: last 20 bytes dropped
  17 odd sequence numbers dropped    28 reply triplicated
  18 wrong identifier (+1)
  19 wrong sequence (+1000)

It only ever answers packets addressed to it, it stops by itself after --lifetime seconds, and it never sends
anything but replies to what it received. With --stats FILE it keeps FILE up to date with what it sent, per
family and fault ({"4:18": 2, "6:12": 2}), so a test that expects a reply to be ignored can prove it was sent.
"""
import json
import os
import argparse
import heapq
import ipaddress
import select
import socket
import struct
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def with_checksum(message: bytes, pseudo: bytes = b"") -> bytes:
    message = message[:2] + b"\x00\x00" + message[4:]
    value = checksum(pseudo + message)
    return message[:2] + struct.pack("!H", value) + message[4:]


def ipv4_header(source: bytes, destination: bytes, payload_length: int, ttl: int = 64) -> bytes:
    # Total length, id and header checksum are filled in by the kernel (IP_HDRINCL).
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_length, 0, 0, ttl, 1, 0, source, destination)


def ipv6_header(source: bytes, destination: bytes, payload_length: int, hop_limit: int = 64) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, payload_length, 58, hop_limit, source, destination)


def ipv6_pseudo(source: bytes, destination: bytes, length: int) -> bytes:
    return source + destination + struct.pack("!I3xB", length, 58)


class Responder:
    def __init__(self, lifetime: float, stats: str = None):
        self.deadline = time.monotonic() + lifetime
        self.stats = stats
        self.sent = {}
        self.in4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.out4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.in6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        self.in6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        self.out6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
        # Delayed sends (duplicates, late replies) wait here and go out from the main loop, in time order.
        self.scheduled = []
        self.tiebreak = 0

    def run(self):
        print("ready", flush=True)
        while time.monotonic() < self.deadline:
            now = time.monotonic()
            while self.scheduled and self.scheduled[0][0] <= now:
                _, _, send, args, kwargs = heapq.heappop(self.scheduled)
                send(*args, **kwargs)
            wait = min(0.5, max(0.0, self.scheduled[0][0] - now)) if self.scheduled else 0.5
            ready, _, _ = select.select([self.in4, self.in6], [], [], wait)
            for sock in ready:
                if sock is self.in4:
                    packet, _ = self.in4.recvfrom(70000)
                    self.handle4(packet)
                else:
                    message, ancillary, _, address = self.in6.recvmsg(70000, 256)
                    destination = None
                    for level, kind, data in ancillary:
                        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
                            destination = data[:16]
                    if destination is not None:
                        source = socket.inet_pton(socket.AF_INET6, address[0].split("%")[0])
                        self.handle6(message, source, destination)

    # ---- IPv4

    def handle4(self, packet: bytes):
        header_length = (packet[0] & 0x0F) * 4
        icmp = packet[header_length:]
        if len(icmp) < 8 or icmp[0] != 8:
            return
        source, destination = packet[12:16], packet[16:20]
        fault = destination[3]
        quote = packet[: header_length + min(len(icmp), 520)]
        self.respond(fault, icmp, destination, source, family=4, quote=quote)

    def send4(self, message: bytes, source: bytes, destination: bytes, fix_checksum=True):
        if fix_checksum:
            message = with_checksum(message)
        self.out4.sendto(ipv4_header(source, destination, len(message)) + message,
                             (socket.inet_ntop(socket.AF_INET, destination), 0))

    # ---- IPv6

    def handle6(self, icmp: bytes, source: bytes, destination: bytes):
        if len(icmp) < 8 or icmp[0] != 128:
            return
        try:
            fault = int(ipaddress.IPv6Address(destination).exploded.split(":")[-1].lstrip("0") or "0")
        except ValueError:
            return
        quote = ipv6_header(source, destination, len(icmp)) + icmp[: min(len(icmp), 1000)]
        self.respond(fault, icmp, destination, source, family=6, quote=quote)

    def send6(self, message: bytes, source: bytes, destination: bytes, fix_checksum=True):
        if fix_checksum:
            message = with_checksum(message, ipv6_pseudo(source, destination, len(message)))
        self.out6.sendto(ipv6_header(source, destination, len(message)) + message,
                             (socket.inet_ntop(socket.AF_INET6, destination), 0))

    # ---- Faults

    def counted(self, send, key):
        def sending(*args, **kwargs):
            send(*args, **kwargs)
            self.sent[key] = self.sent.get(key, 0) + 1
            if self.stats:
                with open(self.stats + ".new", "w") as file:
                    json.dump(self.sent, file)
                os.replace(self.stats + ".new", self.stats)
        return sending

    def respond(self, fault: int, request: bytes, me: bytes, peer: bytes, family: int, quote: bytes):
        send = self.counted(self.send4 if family == 4 else self.send6, f"{family}:{fault}")
        reply_type = 0 if family == 4 else 129
        identifier, sequence = struct.unpack("!HH", request[4:8])
        data = request[8:]

        def reply(ident=identifier, seq=sequence, payload=data) -> bytes:
            return struct.pack("!BBHHH", reply_type, 0, 0, ident, seq) + payload

        def later(delay, *args, **kwargs):
            self.tiebreak += 1
            heapq.heappush(self.scheduled, (time.monotonic() + delay, self.tiebreak, send, args, kwargs))

        def corrupt_checksum(message: bytes) -> bytes:
            if family == 4:
                good = with_checksum(message)
            else:
                good = with_checksum(message, ipv6_pseudo(me, peer, len(message)))
            return good[:2] + struct.pack("!H", (struct.unpack("!H", good[2:4])[0] ^ 0x5A5A) or 1) + good[4:]

        if fault == 10:
            send(reply(), me, peer)
        elif fault == 11:
            send(reply(), me, peer)
            later(0.005, reply(), me, peer)
        elif fault == 12:
            send(corrupt_checksum(reply()), me, peer, fix_checksum=False)
        elif fault == 13:
            payload = bytearray(data)
            if len(payload) > 20:
                payload[20] ^= 0xFF
            send(reply(payload=bytes(payload)), me, peer)
        elif fault == 14:
            later(1.5, reply(), me, peer)
        elif fault == 15:
            other = me[:-1] + bytes([0x99])
            send(reply(), other, peer)
        elif fault == 16:
            send(reply(payload=data[:-20] if len(data) > 20 else b""), me, peer)
        elif fault == 17:
            if sequence % 2 == 0:
                send(reply(), me, peer)
        elif fault == 18:
            send(reply(ident=(identifier + 1) & 0xFFFF), me, peer)
        elif fault == 19:
            send(reply(seq=(sequence + 1000) & 0xFFFF), me, peer)
        elif fault == 20:
            send(corrupt_checksum(reply()), me, peer, fix_checksum=False)
            later(0.005, reply(), me, peer)
        elif fault == 21:
            kind, code = (3, 1) if family == 4 else (1, 3)
            send(struct.pack("!BBHI", kind, code, 0, 0) + quote, me, peer)
        elif fault == 22:
            kind = 11 if family == 4 else 3
            send(struct.pack("!BBHI", kind, 0, 0, 0) + quote, me, peer)
        elif fault == 24:
            send(reply(payload=b""), me, peer)
        elif fault == 25:
            payload = bytearray(data)
            for index in range(min(8, len(payload))):
                payload[index] ^= 0xA5
            send(reply(payload=bytes(payload)), me, peer)
        elif fault == 28:
            send(reply(), me, peer)
            later(0.005, reply(), me, peer)
            later(0.010, reply(), me, peer)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lifetime", type=float, default=900, help="seconds before the responder exits by itself")
    parser.add_argument("--stats", help="a file kept up to date with the packets sent per family and fault")
    arguments = parser.parse_args()
    Responder(arguments.lifetime, arguments.stats).run()


if __name__ == "__main__":
    main()
