#!/usr/bin/env python3
"""A real gRPC health server for Sonde's tests: grpcio and grpcio-health-checking from PyPI (pinned, installed by
Scripts/install-dependencies into /opt/sonde-venv-grpc), the reference implementation of grpc.health.v1.

  50051  plaintext HTTP/2 on every address of the namespace (IPv4 and IPv6)
  50052  TLS with --cert/--key (the test CA's good chain for shop.test and 10.77.2.2)

Health: the whole server ("") and "shop" are SERVING, "down" is NOT_SERVING, any other name is NOT_FOUND (the
servicer's own answer). It stops by itself after --lifetime seconds.
"""
import argparse
import time
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lifetime", type=float, default=900)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    arguments = parser.parse_args()
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    servicer.set("shop", health_pb2.HealthCheckResponse.SERVING)
    servicer.set("down", health_pb2.HealthCheckResponse.NOT_SERVING)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    # [::] is dual-stack in gRPC's core: IPv4 and IPv6 alike.
    if server.add_insecure_port("[::]:50051") == 0:
        raise SystemExit("cannot listen on port 50051")
    with open(arguments.key, "rb") as key, open(arguments.cert, "rb") as chain:
        credentials = grpc.ssl_server_credentials([(key.read(), chain.read())])
    if server.add_secure_port("[::]:50052", credentials) == 0:
        raise SystemExit("cannot listen on port 50052")
    server.start()
    print("ready", flush=True)
    time.sleep(arguments.lifetime)
    server.stop(0)


if __name__ == "__main__":
    main()
