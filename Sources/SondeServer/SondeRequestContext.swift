public import Hummingbird
public import NIOCore

/// The per-request context: Hummingbird's core storage plus the caller's address (for per-client limits
/// and the request log).
public struct SondeRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The caller's IP address, the unit of per-client limits; `local` when there is none (in-process tests).
    public var clientAddress: String {
        remoteAddress?.ipAddress ?? "local"
    }
}
