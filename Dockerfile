# syntax=docker/dockerfile:1
#
# Sonde's image: one static binary on a slim Debian, running as nobody.
#
#   docker build -t sonde .
#   docker run --rm -p 8090:8090 -e SONDE_TOKEN=… --cap-drop ALL --cap-add NET_RAW sonde          # raw ICMP sockets
#   docker run --rm -p 8090:8090 -e SONDE_TOKEN=… --cap-drop ALL \
#       --sysctl net.ipv4.ping_group_range="0 2147483647" sonde                                   # no capability at all
#
# The binary carries CAP_NET_RAW as a *permitted* file capability only (cap_net_raw=p): where the container is
# granted NET_RAW, Sonde raises it, opens its raw sockets and drops it from every other thread; where it is not,
# the binary still starts (an =ep binary would fail to exec) and pings through unprivileged ICMP sockets.
# Scripts/image-check builds and runs the runtime stage with podman on this machine (Docs/deployment.md, "Container image").

ARG SWIFT_IMAGE=docker.io/library/swift:6.3-bookworm
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
# Not pinned (DL3008): Debian stable replaces a package's version on security updates and the old one leaves the
# mirror, so a pin breaks the build; the base image's release fixes the series.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcap-dev libre2-dev libyaml-dev zlib1g-dev libbrotli-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The manifest names every target, tests included, so the whole (small) context is needed to resolve.
COPY . .
RUN Scripts/build-release \
    && install -D -m 0755 .build/release/sonde /staging/usr/local/bin/sonde

# Only the binary crosses from the build stage; `--build-context binary=DIR` puts a prebuilt one in its place.
FROM scratch AS binary
COPY --from=build /staging/usr/local/bin/sonde /sonde

FROM ${RUNTIME_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="sonde" \
      org.opencontainers.image.description="Network diagnostics sidecar: ping, TCP connect and DNS probes from inside the pod's network, over an authenticated HTTP API" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.vendor="Sonde"
# libcap2 for the privilege drop, CA certificates for external probes that speak TLS; setcap only while
# marking the binary, then removed again.
COPY --from=binary /sonde /usr/local/bin/sonde
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcap2 libcap2-bin ca-certificates \
    && setcap cap_net_raw=p /usr/local/bin/sonde \
    && apt-get purge -y libcap2-bin \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /etc/sonde/probes.d
USER 65534:65534
EXPOSE 8090
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 CMD ["/usr/local/bin/sonde", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/sonde"]
CMD ["serve"]
