import Synchronization

/// What the health endpoints and the memory trimmer read: draining once shutdown has begun, and how
/// many requests have started and are still running. (Readiness itself needs no flag: the server is only
/// built after the sockets are open and privileges dropped.)
public final class ServerState: Sendable {
    private let draining = Atomic<Bool>(false)
    private let started = Atomic<Int>(0)
    private let running = Atomic<Int>(0)

    public init() {}

    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// From now on new requests get 503 and `/readyz` fails, so the load balancer stops sending any.
    public func beginDraining() { draining.store(true, ordering: .releasing) }

    /// Requests started since the server began.
    public var requestsStarted: Int { started.load(ordering: .relaxed) }

    /// Requests whose response is not yet fully written.
    public var requestsInFlight: Int { running.load(ordering: .relaxed) }

    package func requestStarted() {
        started.add(1, ordering: .relaxed)
        running.add(1, ordering: .relaxed)
    }

    package func requestFinished() { running.subtract(1, ordering: .relaxed) }
}
