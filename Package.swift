// swift-tools-version: 6.1
//
// Sonde: a network diagnostics agent. One core that knows nothing of any probe, one module per probe,
// and thin faces over the same registry: the `sonde` CLI, the HTTP sidecar (`sonde serve`) and the platform's
// gateway (`sonde gateway`).

import PackageDescription

let strictSwift: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "sonde",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sonde", targets: ["sonde"]),
        .library(name: "SondeCore", targets: ["SondeCore"]),
        .library(name: "SondeICMP", targets: ["SondeICMP"]),
        .library(name: "PingProbe", targets: ["PingProbe"]),
        .library(name: "TCPProbe", targets: ["TCPProbe"]),
        .library(name: "GRPCProbe", targets: ["GRPCProbe"]),
        .library(name: "UDPProbe", targets: ["UDPProbe"]),
        .library(name: "TracerouteProbe", targets: ["TracerouteProbe"]),
        .library(name: "DNSProbe", targets: ["DNSProbe"]),
        .library(name: "SondePrivileges", targets: ["SondePrivileges"]),
        .library(name: "SondeHTTP", targets: ["SondeHTTP"]),
        .library(name: "SondeServer", targets: ["SondeServer"]),
        .library(name: "SondeGateway", targets: ["SondeGateway"]),
    ],
    dependencies: [
        // The HTTP face. No default traits: FoundationEssentials only, no swift-configuration.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // The HTTP probe's TLS: BoringSSL through NIO, and X.509 path building and checks of Sonde's own.
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // The probe platform: the Probe protocol, parameter declarations, events, reports, errors, registry,
        // addresses and resolution, statistics. Imports no probe.
        .target(name: "SondeCore", dependencies: ["SondeRegex"], swiftSettings: strictSwift),

        // Regular expressions that run in linear time (RE2, linked statically), for every pattern a caller gives.
        .target(
            name: "CRE2",
            linkerSettings: [.linkedLibrary(":libre2.a"), .linkedLibrary("stdc++")]
        ),
        .target(name: "SondeRegex", dependencies: ["CRE2"], swiftSettings: strictSwift),

        // YAML for the files an operator writes (modules, blackbox.yml): libyaml, linked statically, read into
        // nodes that remember their line.
        .target(name: "CYAML", linkerSettings: [.linkedLibrary(":libyaml.a")]),
        .target(name: "SondeYAML", dependencies: ["CYAML"], swiftSettings: strictSwift),

        // Response bodies in gzip and deflate (zlib) and br (Brotli), decoded in bounded steps; both linked statically.
        .target(
            name: "CCompression",
            linkerSettings: [.linkedLibrary(":libbrotlidec.a"), .linkedLibrary(":libbrotlicommon.a"), .linkedLibrary(":libz.a")]
        ),

        // libcap, for keeping only CAP_NET_RAW after the sockets are open.
        .systemLibrary(name: "CLibcap", pkgConfig: "libcap", providers: [.apt(["libcap-dev"])]),

        // Least privilege: drop to an unprivileged user keeping only CAP_NET_RAW; report the state.
        .target(name: "SondePrivileges", dependencies: ["CLibcap"], swiftSettings: strictSwift),

        // Socket calls Swift cannot express directly (control messages, the ICMP error queue).
        .target(name: "CSondeNet"),

        // Event-loop pieces shared by probes that drive their own sockets: a readiness reactor, timer queues.
        .target(name: "SondeIO", dependencies: ["CSondeNet"], swiftSettings: strictSwift),

        // The process's ICMP machinery: one shared raw (or unprivileged datagram) socket per address family, one
        // thread, requests matched to replies and errors. Ping uses it; so will traceroute and the UDP probes.
        .target(name: "SondeICMP", dependencies: ["SondeCore", "SondeIO", "CSondeNet"], swiftSettings: strictSwift),

        // ICMP echo: the ping run, its statistics and ping/fping-style text, over the shared ICMP engine.
        .target(name: "PingProbe", dependencies: ["SondeCore", "SondeICMP", "CSondeNet"], swiftSettings: strictSwift),

        // TCP connect ("telnet"): open, refused, filtered or unreachable; banner and send/expect.
        .target(
            name: "TCPProbe",
            dependencies: [
                "SondeCore", "SondeIO", "SondeRegex", "SondeTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSwift),

        // DNS: its own wire-format client (UDP and TCP; TLS on NIO with SondeTLS), resolv.conf semantics, dig-style output.
        .target(
            name: "DNSProbe",
            dependencies: [
                "SondeCore", "SondeIO", "SondeRegex", "SondeTLS", "SondeNIO",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSwift),

        // What the sidecar and the gateway share: the service and middleware stack, request context, API errors,
        // draining, connection hygiene and budgets, settings reading, logging and metrics, OpenAPI pieces.
        .target(
            name: "SondeHTTP",
            dependencies: [
                "SondeCore",
                "SondeAuth",
                "CSondeNet",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSwift
        ),

        // The sidecar face: a JSON HTTP API over the registry, with auth, target policy, limits and streaming.
        .target(
            name: "SondeServer",
            dependencies: [
                "SondeCore", "SondeHTTP", "SondeAuth", "SondeYAML", "SondeRegex",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSwift
        ),

        // Request signatures between the gateway and the sidecars (HMAC-SHA256), and payload digests.
        .target(name: "SondeAuth", swiftSettings: strictSwift),

        // Talking to a Sonde agent over HTTP, its answer streamed as it arrives: the remote CLI and the gateway.
        .target(
            name: "SondeAgentClient",
            dependencies: [
                "SondeCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSwift
        ),

        // The platform's face: forwards probe requests to the sidecar in a given pod, only within the pod network.
        .target(
            name: "SondeGateway",
            dependencies: [
                "SondeCore", "SondeHTTP", "SondeAgentClient", "SondeAuth",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSwift
        ),

        // Probes outside Sonde: executables in a directory that describe themselves and speak NDJSON.
        .target(name: "CSondeSpawn"),
        .target(name: "ExternalProbes", dependencies: ["SondeCore", "SondeIO", "CSondeSpawn"], swiftSettings: strictSwift),

        // The TLS client every TLS-speaking probe shares: its parameters, the handshake on a NIO channel, and the
        // chain judged by Sonde (swift-certificates path building, RFC 6125 names, problems in words).
        .target(
            name: "SondeTLS",
            dependencies: [
                "SondeCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSwift
        ),

        // What the SwiftNIO-based probes share: why a connect failed, in their words.
        .target(
            name: "SondeNIO",
            dependencies: ["SondeCore", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: strictSwift
        ),

        // HTTP(S): one fresh NIO connection per request, timed on the event loop; TLS by SondeTLS.
        .target(
            name: "HTTPProbe",
            dependencies: [
                "SondeCore", "SondeRegex", "SondeTLS", "SondeNIO", "CCompression",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSwift
        ),
        // gRPC health (grpc.health.v1.Health/Check) over NIO's HTTP/2, plaintext or TLS by SondeTLS; no protobuf runtime.
        .target(
            name: "GRPCProbe",
            dependencies: [
                "SondeCore", "SondeTLS", "SondeNIO",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: strictSwift
        ),
        // UDP: one datagram per attempt from a fresh socket, the answer or the ICMP error its error queue holds (who sent
        // it, which type), without privileges; rate-limited port unreachables read as closed, not open.
        .target(name: "UDPProbe", dependencies: ["SondeCore", "SondeIO", "SondeRegex", "CSondeNet"], swiftSettings: strictSwift),
        // Traceroute: ICMP echo with rising TTLs over the shared ICMP engine (raw, or unprivileged ping sockets), several
        // hops in flight, rate-limiting hops named.
        .target(name: "TracerouteProbe", dependencies: ["SondeCore", "SondeICMP"], swiftSettings: strictSwift),
        // scaffold-probe: probe targets

        // Writes the list of compiled-in probes from the executable's dependencies (every `…Probe` module).
        .executableTarget(name: "ProbeRegistryGenerator", swiftSettings: strictSwift),
        .plugin(name: "ProbeRegistryPlugin", capability: .buildTool(), dependencies: ["ProbeRegistryGenerator"]),
        // `swift package scaffold-probe --name Traceroute`: a new probe module and its test in one command.
        .plugin(
            name: "ScaffoldProbe",
            capability: .command(
                intent: .custom(verb: "scaffold-probe", description: "Write a new probe module and its test"),
                permissions: [.writeToPackageDirectory(reason: "to write Sources/<Name>Probe and Tests/<Name>ProbeTests")]
            )
        ),

        // The command-line face.
        .executableTarget(
            name: "sonde",
            dependencies: [
                "SondeCore",
                // Probe modules: the registry is generated from this list (ProbeRegistryPlugin).
                "PingProbe",
                "TCPProbe",
                "DNSProbe",
                "HTTPProbe",
                "GRPCProbe",
                "UDPProbe",
                "TracerouteProbe",
                // scaffold-probe: sonde dependencies
                "ExternalProbes",
                "SondePrivileges",
                "SondeHTTP",
                "SondeServer",
                "SondeGateway",
                "SondeAgentClient",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSwift,
            // lld (shipped with the toolchain) packs the 66,000 relative relocations of a position-independent
            // static binary into 13 KB (RELR) instead of 1.5 MB, which the loader otherwise reads at every start.
            // --no-export-dynamic undoes the static stdlib's --export-dynamic: nothing loads plug-ins into this
            // process, and a 2 MB dynamic symbol table the loader searches for every library relocation costs
            // 1.7 MB of resident memory and 0.2 ms of every start.
            linkerSettings: [.unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic"])],
            plugins: ["ProbeRegistryPlugin"]
        ),

        // What several test targets share: a reproducible random generator.
        .target(name: "SondeTestSupport", path: "Tests/SondeTestSupport", swiftSettings: strictSwift),
        .testTarget(name: "ExternalProbesTests", dependencies: ["ExternalProbes", "SondeCore"], swiftSettings: strictSwift),
        .testTarget(name: "HTTPProbeTests", dependencies: ["HTTPProbe", "SondeCore", "SondeTLS", "CCompression"], swiftSettings: strictSwift),
        .testTarget(name: "GRPCProbeTests", dependencies: ["GRPCProbe", "SondeCore"], swiftSettings: strictSwift),
        .testTarget(name: "SondeTLSTests", dependencies: ["SondeTLS", "SondeCore"], swiftSettings: strictSwift),
        .testTarget(name: "UDPProbeTests", dependencies: ["UDPProbe", "SondeCore"], swiftSettings: strictSwift),
        .testTarget(name: "TracerouteProbeTests", dependencies: ["TracerouteProbe", "SondeCore", "SondeICMP"], swiftSettings: strictSwift),
        // scaffold-probe: test targets
        .testTarget(name: "SondeCoreTests", dependencies: ["SondeCore", "SondeRegex"], swiftSettings: strictSwift),
        .testTarget(name: "SondeAuthTests", dependencies: ["SondeAuth", "SondeTestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "DNSProbeTests", dependencies: ["DNSProbe", "SondeTestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "TCPProbeTests", dependencies: ["TCPProbe", "SondeCore", "SondeRegex"], swiftSettings: strictSwift),
        .testTarget(name: "SondePrivilegesTests", dependencies: ["SondePrivileges"], swiftSettings: strictSwift),
        // A sidecar in process over the real probes, and a raw HTTP client: for the sidecar's and the gateway's tests.
        .target(
            name: "SondeServerTestSupport",
            dependencies: [
                "SondeHTTP", "SondeServer", "SondeICMP", "PingProbe", "TCPProbe", "DNSProbe",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Tests/SondeServerTestSupport",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "SondeServerTests",
            dependencies: [
                "SondeServerTestSupport", "SondeHTTP", "SondeServer", "SondeAuth", "SondeICMP", "PingProbe", "TCPProbe", "DNSProbe", "HTTPProbe",
                "GRPCProbe", "SondeYAML",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "SondeGatewayTests",
            dependencies: [
                "SondeServerTestSupport", "SondeGateway", "SondeHTTP", "SondeAgentClient", "SondeCore",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(name: "SondeICMPTests", dependencies: ["SondeICMP", "SondeCore", "SondeTestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "PingProbeTests", dependencies: ["PingProbe", "SondeICMP", "SondeCore", "SondeTestSupport"], swiftSettings: strictSwift),
        // End-to-end: the real `sonde` binary against network namespaces and a fault-injecting responder.
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "sonde",
                // Certificates minted for the HTTPS tests.
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["Support/icmp_responder.py", "Support/echo_services.py", "Support/http_client.py", "Support/hostile.py", "Support/probes"],
            swiftSettings: strictSwift
        ),
    ],
    swiftLanguageModes: [.v6]
)
