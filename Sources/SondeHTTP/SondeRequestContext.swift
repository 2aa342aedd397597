public import Hummingbird
public import NIOCore
import SondeCore

/// The per-request context: Hummingbird's core storage plus the caller's address (for per-client limits
/// and the request log).
public struct SondeRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    /// What can cut this request's connection when its answer is not written in time.
    package let connection: ResponseGuard

    /// The address of this host that the connection arrived at (the pod's IP, for a sidecar).
    public let localAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.localAddress = source.channel.localAddress
        self.connection = ResponseGuard(channel: source.channel)
    }

    /// ``localAddress`` as a signed request names it: the IP address alone, IPv4-mapped forms unmapped.
    public var arrivalAddress: String? {
        localAddress?.ipAddress.flatMap(IPAddress.init).map { $0.unmapped.description }
    }

    /// The caller's IP address, the unit of per-client limits; `local` when there is none (in-process tests).
    public var clientAddress: String {
        remoteAddress?.ipAddress ?? "local"
    }

    /// The unit of per-client limits: the caller's address, or its /64 for IPv6 (one host holds a whole /64
    /// and could otherwise take a new address for every request).
    public var clientLimitKey: String { Self.limitKey(for: clientAddress) }

    /// `address`, or its /64 when it is IPv6 (IPv4-mapped addresses count as the IPv4 address).
    package static func limitKey(for address: String) -> String {
        guard let parsed = IPAddress(address)?.unmapped else { return address }
        guard parsed.family == .ipv6 else { return parsed.description }
        return IPNetwork(address: parsed, prefixLength: 64).description
    }
}
