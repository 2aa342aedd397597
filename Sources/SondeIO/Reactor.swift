import CSondeNet
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Waits for file descriptors to become ready, for probes that drive their own non-blocking sockets.
///
/// One thread with epoll serves every waiter in the process; a waiting task is suspended, never blocking a
/// thread of the Swift concurrency pool. Readiness is time-stamped on that thread as soon as epoll reports it,
/// so a connect time measured with it excludes task scheduling delays. The thread starts on first use — after
/// the privilege drop.
public final class Reactor: Sendable {
    /// What to wait for.
    public enum Interest: Sendable {
        case readable, writable

        var events: UInt32 {
            switch self {
            case .readable: EPOLLIN.rawValue | EPOLLRDHUP.rawValue
            case .writable: EPOLLOUT.rawValue
            }
        }

        var pollEvents: Int32 {
            switch self {
            case .readable: Int32(POLLIN)  // a peer's close also reads as POLLIN
            case .writable: Int32(POLLOUT)
            }
        }
    }

    /// How a wait ended.
    public enum Readiness: Sendable, Equatable {
        /// Ready (or in error: read `SO_ERROR`), seen by the reactor at this instant.
        case ready(at: ContinuousClock.Instant)
        case timedOut
        case cancelled
    }

    /// The process's reactor.
    public static let shared = Reactor()

    private struct Waiter {
        var descriptor: Int32
        var continuation: CheckedContinuation<Readiness, Never>
    }

    private struct State {
        var waiters: [UInt64: Waiter] = [:]
        var byDescriptor: [Int32: UInt64] = [:]
        var deadlines = TimerQueue<UInt64>()
        var nextToken: UInt64 = 1
    }

    private let state = Mutex(State())
    private let poller = Poller()

    private init() {
        Poller.startThread { [self] in run() }
    }

    /// Waits until `descriptor` is ready for `interest`, the deadline passes, or the task is cancelled.
    /// One waiter per descriptor at a time.
    public func wait(
        for descriptor: Int32, _ interest: Interest, until deadline: ContinuousClock.Instant
    ) async -> Readiness {
        // Already ready (a loopback connect usually is): answer without a round trip through the epoll thread.
        var probe = pollfd(fd: descriptor, events: Int16(truncatingIfNeeded: interest.pollEvents), revents: 0)
        if poll(&probe, 1, 0) == 1 { return .ready(at: .now) }
        let token = state.withLock { state -> UInt64 in
            defer { state.nextToken += 1 }
            return state.nextToken
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let registered = state.withLock { state -> Bool in
                    guard !Task.isCancelled else { return false }
                    state.waiters[token] = Waiter(descriptor: descriptor, continuation: continuation)
                    state.byDescriptor[descriptor] = token
                    state.deadlines.schedule(token, at: deadline)
                    return true
                }
                guard registered else { return continuation.resume(returning: .cancelled) }
                poller.add(descriptor, events: interest.events | EPOLLONESHOT.rawValue)
                poller.wake()
            }
        } onCancel: {
            finish(token, with: .cancelled)
        }
    }

    private func finish(_ token: UInt64, with readiness: Readiness) {
        let waiter = state.withLock { state -> Waiter? in
            guard let waiter = state.waiters.removeValue(forKey: token) else { return nil }
            if state.byDescriptor[waiter.descriptor] == token { state.byDescriptor[waiter.descriptor] = nil }
            return waiter
        }
        guard let waiter else { return }
        poller.remove(waiter.descriptor)
        waiter.continuation.resume(returning: readiness)
    }

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        while true {
            // Deadlines first; entries of waiters already finished are skipped.
            let now = ContinuousClock.now
            var expired: [UInt64] = []
            let earliest = state.withLock { state -> ContinuousClock.Instant? in
                while let token = state.deadlines.popDue(by: now) {
                    if state.waiters[token] != nil { expired.append(token) }
                }
                return state.deadlines.earliest
            }
            for token in expired { finish(token, with: .timedOut) }
            guard let ready = poller.wait(timeout: earliest.map { $0 - .now }, buffer: &events) else { return }
            let seen = ContinuousClock.now
            for (descriptor, _) in ready {
                if let token = state.withLock({ $0.byDescriptor[descriptor] }) {
                    finish(token, with: .ready(at: seen))
                }
            }
        }
    }
}
