import Synchronization

/// What the health endpoints report: ready once the sockets are open and privileges dropped (which
/// happens before the server is built), draining once shutdown has begun.
public final class ServerState: Sendable {
    private let draining = Atomic<Bool>(false)

    public init() {}

    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// From now on new requests get 503 and `/readyz` fails, so the load balancer stops sending any.
    public func beginDraining() { draining.store(true, ordering: .releasing) }
}
