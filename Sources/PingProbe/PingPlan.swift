import CSondeNet
import SondeCore
import SondeICMP

#if canImport(Glibc)
    import Glibc
#endif

/// A ping's validated parameters, typed.
struct PingPlan: Sendable {
    var count: Int?
    var interval: Duration
    var timeout: Duration
    var deadline: Duration?
    var dataLength: Int
    var ttl: Int?
    var tos: Int?
    var pmtu: PMTUDiscovery?
    var interface: String?

    init(_ values: ParameterValues) throws(ProbeError) {
        count = values.integer("count")
        interval = values.duration("interval") ?? .seconds(1)
        timeout = values.duration("timeout") ?? .seconds(2)
        deadline = values.duration("deadline")
        dataLength = values.integer("size") ?? 56
        ttl = values.integer("ttl")
        tos = values.integer("tos")
        pmtu = values.string("pmtuDiscovery").flatMap(PMTUDiscovery.init(rawValue:))
        interface = values.string("interface")
    }

    /// The per-session socket settings for `destination`, checking what depends on the address family.
    func echoOptions(for destination: IPAddress) throws(ProbeError) -> EchoOptions {
        let family = destination.family
        if let maximum = PingProbe.maximumDataLength[family], dataLength > maximum {
            throw ProbeError.invalid(
                parameter: "size", value: String(dataLength),
                allowed: "an integer from 0 to \(maximum) for an \(family == .ipv4 ? "IPv4" : "IPv6") target"
            )
        }
        var options = EchoOptions()
        options.dataLength = dataLength
        options.ttl = ttl
        options.trafficClass = tos
        options.pmtu = pmtu
        options.lateWindow = timeout + .seconds(10)
        if let interface {
            if let source = IPAddress(interface) {
                guard source.family == family else {
                    throw ProbeError.invalid(
                        parameter: "interface", value: interface,
                        allowed: "a source address of the target's family (\(family.rawValue))"
                    )
                }
                try Self.checkLocal(source)
                options.source = source
            } else {
                let index = if_nametoindex(interface)
                guard index != 0 else {
                    throw ProbeError.invalid(parameter: "interface", value: interface, allowed: "an existing interface name or a local address")
                }
                options.interfaceIndex = index
            }
        }
        return options
    }

    /// A source address must belong to this host: binding a UDP socket to it tells.
    private static func checkLocal(_ address: IPAddress) throws(ProbeError) {
        if let code = address.bindError {
            throw ProbeError.invalid(
                parameter: "interface", value: address.description,
                allowed: "an address of this host (\(ErrorNumber.message(code)))"
            )
        }
    }
}
