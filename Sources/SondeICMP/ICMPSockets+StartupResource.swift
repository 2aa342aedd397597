public import SondeCore

/// The ICMP sockets are opened by the executable before the privilege drop, for the commands whose probes
/// declare them (``StartupNeeds``); the engine that uses them starts after it.
extension ICMPSockets: StartupResource {
    public static func open() -> ICMPSockets { open(mode: nil) }

    public static func unopened(_ reason: String) -> ICMPSockets { notOpened(reason) }

    /// A path-MTU setting opens a raw socket of its own on first use.
    public var keepsNetRaw: Bool { true }

    public func install(into resources: inout ProbeResources) {
        resources[ICMPEngine.self] = ICMPEngine(sockets: self)
    }

    public var report: StartupResourceReport {
        let modes = [AddressFamily.ipv4, .ipv6].map { family in
            (family, (try? mode(for: family).get())?.rawValue ?? "none")
        }
        let text = modes.map { "\($0.0.rawValue)=\($0.1)" }.joined(separator: " ")
        return StartupResourceReport(
            summary: "icmp: \(text)",
            status: [("icmpSockets", .string(text))],
            infoMetrics: [
                InfoMetric(
                    name: "sonde_icmp_socket_info", help: "The ICMP socket each family uses: raw, datagram or none (always 1)",
                    series: modes.map { [("family", $0.0.rawValue), ("mode", $0.1)] }
                )
            ]
        )
    }
}
