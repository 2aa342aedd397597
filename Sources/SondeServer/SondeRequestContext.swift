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

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.connection = ResponseGuard(channel: source.channel)
    }

    /// The caller's IP address, the unit of per-client limits; `local` when there is none (in-process tests).
    public var clientAddress: String {
        remoteAddress?.ipAddress ?? "local"
    }

    /// The unit of per-client limits: the caller's address, or its /64 for IPv6 (one host holds a whole /64
    /// and could otherwise take a new address for every request).
    public var clientLimitKey: String {
        guard let address = IPAddress(clientAddress)?.unmapped, address.family == .ipv6 else { return clientAddress }
        return IPNetwork(address: address, prefixLength: 64).description
    }
}
