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
    private let poller: Int32
    private let wakeup: Int32

    private init() {
        poller = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeup = eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = wakeup
        epoll_ctl(poller, EPOLL_CTL_ADD, wakeup, &event)
        let loop = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        if pthread_create(&thread, nil, { context in
            guard let context else { return nil }
            Unmanaged<Reactor>.fromOpaque(context).takeRetainedValue().run()
            return nil
        }, loop) == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<Reactor>.fromOpaque(loop).release()
        }
    }

    /// Waits until `descriptor` is ready for `interest`, the deadline passes, or the task is cancelled.
    /// One waiter per descriptor at a time.
    public func wait(
        for descriptor: Int32, _ interest: Interest, until deadline: ContinuousClock.Instant
    ) async -> Readiness {
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
                var event = epoll_event()
                event.events = interest.events | EPOLLONESHOT.rawValue
                event.data.fd = descriptor
                if epoll_ctl(poller, EPOLL_CTL_ADD, descriptor, &event) != 0 {
                    epoll_ctl(poller, EPOLL_CTL_MOD, descriptor, &event)
                }
                poke()
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
        epoll_ctl(poller, EPOLL_CTL_DEL, waiter.descriptor, nil)
        waiter.continuation.resume(returning: readiness)
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    private func poke() {
        var one: UInt64 = 1
        _ = write(wakeup, &one, 8)
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
            let timeout = earliest.map { max(Self.nanoseconds($0 - .now), 0) } ?? -1
            let count = sonde_epoll_wait_ns(poller, &events, Int32(events.count), timeout)
            let seen = ContinuousClock.now
            guard count >= 0 else {
                if errno == EINTR { continue }
                return
            }
            for index in 0..<Int(count) {
                let descriptor = events[index].data.fd
                if descriptor == wakeup {
                    var value: UInt64 = 0
                    _ = read(wakeup, &value, 8)
                    continue
                }
                if let token = state.withLock({ $0.byDescriptor[descriptor] }) {
                    finish(token, with: .ready(at: seen))
                }
            }
        }
    }
}
