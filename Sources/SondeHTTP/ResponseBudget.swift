import NIOCore
import SondeCore
import Synchronization

/// The chunks of one streamed answer between the probe (which produces them as events happen) and the
/// response writer (which sends them as fast as the caller reads), with a byte budget on what waits.
///
/// A probe's event callback cannot wait for a slow reader, so backpressure is a budget: when more than
/// `budget` bytes are waiting, the run is stopped (``setCancellation(_:)``) and the writer ends the stream
/// with a `client_too_slow` error after what was already queued. Memory per response is bounded either way.
package final class BoundedChunks: Sendable {
    package enum Chunk: Sendable {
        case text(String)
        case failed(ProbeError, encoded: String)

        package var text: String {
            switch self {
            case .text(let text), .failed(_, let text): text
            }
        }
    }

    private struct State {
        var queue: [Chunk] = []
        var head = 0
        var pending = 0
        var finished = false
        var overflowed = false
        var waiter: CheckedContinuation<Chunk?, Never>?
        var cancel: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())
    package let budget: Int

    package init(budget: Int) { self.budget = budget }

    /// What stops the producer when the budget is exceeded (called at once if it already was).
    package func setCancellation(_ cancel: @escaping @Sendable () -> Void) {
        let overflowed = state.withLock { state in
            state.cancel = cancel
            return state.overflowed
        }
        if overflowed { cancel() }
    }

    /// Queues `text`; `false` when it was dropped because the budget is exhausted (the run is then stopped).
    @discardableResult
    package func append(_ text: String) -> Bool {
        let size = text.utf8.count
        var stop: (@Sendable () -> Void)?
        let accepted: Bool = state.withLock { state in
            guard !state.finished, !state.overflowed else { return false }
            guard state.pending + size <= budget else {
                state.overflowed = true
                stop = state.cancel
                return false
            }
            state.pending += size
            deliver(.text(text), &state)
            return true
        }
        stop?()
        return accepted
    }

    /// Queues the reason the run could not go on (not counted against the budget: it is small and final).
    package func fail(_ error: ProbeError, encoded: String) {
        state.withLock { state in
            guard !state.finished else { return }
            deliver(.failed(error, encoded: encoded), &state)
        }
    }

    /// No more chunks will come.
    package func finish() {
        let waiter: CheckedContinuation<Chunk?, Never>? = state.withLock { state in
            state.finished = true
            guard state.head == state.queue.count, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: nil)
    }

    /// The writer sent `bytes` of what was pending.
    package func consumed(_ bytes: Int) {
        state.withLock { $0.pending -= bytes }
    }

    /// Whether the run was stopped because too much of its answer waited for the reader.
    package var overflowed: Bool { state.withLock { $0.overflowed } }

    /// The next chunk, or `nil` once finished and drained. One reader at a time.
    package func next() async -> Chunk? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Chunk?, Never>) in
            let ready: Chunk?? = state.withLock { state in
                if state.head < state.queue.count {
                    let chunk = state.queue[state.head]
                    state.head += 1
                    if state.head == state.queue.count {
                        state.queue.removeAll(keepingCapacity: true)
                        state.head = 0
                    }
                    return .some(chunk)
                }
                if state.finished { return .some(nil) }
                state.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private func deliver(_ chunk: Chunk, _ state: inout State) {
        if let waiter = state.waiter {
            state.waiter = nil
            waiter.resume(returning: chunk)
        } else {
            state.queue.append(chunk)
        }
    }
}

/// Cuts a connection whose answer is not written by a deadline: a caller that stops reading holds a
/// concurrency slot and buffered bytes only until then.
package struct ResponseGuard: Sendable {
    /// How long after a run's deadline its answer may still take to be written.
    package static let writeGrace: Duration = .seconds(10)

    package let channel: (any Channel)?

    /// No connection to cut (in-process tests).
    package static let none = ResponseGuard(channel: nil)

    /// Runs `body` (the response writer); if it is still running at `deadline`, closes the connection, which
    /// fails the pending write and so ends `body`.
    package func writing(by deadline: ContinuousClock.Instant, _ body: () async throws -> Void) async throws {
        guard let channel else { return try await body() }
        let watchdog = Task {
            try await Task.sleep(until: deadline, clock: .continuous)
            channel.close(promise: nil)
        }
        defer { watchdog.cancel() }
        try await body()
    }
}
