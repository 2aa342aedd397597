import Synchronization

/// Carries a session's observations from the engine's thread to the task running the ping.
///
/// Unlike `AsyncStream`, a cancelled reader can still collect what was already delivered
/// (``drainDelivered()``), so a ping interrupted by Ctrl-C or a closed request accounts for every request
/// that left the host.
package final class ObservationChannel: Sendable {
    private struct State {
        var buffer: [EchoObservation] = []
        var head = 0
        var waiter: CheckedContinuation<EchoObservation?, Never>?
        var closed = false

        mutating func takeFirst() -> EchoObservation? {
            guard head < buffer.count else { return nil }
            let first = buffer[head]
            head += 1
            if head > 256, head * 2 > buffer.count {
                buffer.removeFirst(head)
                head = 0
            }
            return first
        }
    }

    private let state = Mutex(State())

    package init() {}

    /// Called on the engine's thread.
    ///
    /// A `.sent` is only queued: waking the reader for it would cost a thread switch per request right when
    /// the reply is due (which measurably delays the reply's kernel timestamp on a small machine). It is read
    /// just before whatever comes next for the session — its reply, error or timeout.
    package func deliver(_ observation: EchoObservation) {
        let resumption = state.withLock { state -> (CheckedContinuation<EchoObservation?, Never>, EchoObservation)? in
            guard !state.closed else { return nil }
            state.buffer.append(observation)
            if case .sent = observation { return nil }
            guard let waiter = state.waiter, let first = state.takeFirst() else { return nil }
            state.waiter = nil
            return (waiter, first)
        }
        if let (waiter, first) = resumption { waiter.resume(returning: first) }
    }

    /// The next observation; `nil` once the channel is closed or the reading task is cancelled.
    package func next() async -> EchoObservation? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate = state.withLock { state -> EchoObservation?? in
                    if let first = state.takeFirst() { return .some(first) }
                    if state.closed || Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    /// Closes the channel and returns what was delivered but not yet read.
    package func drainDelivered() -> [EchoObservation] {
        state.withLock { state in
            state.closed = true
            var rest: [EchoObservation] = []
            while let next = state.takeFirst() { rest.append(next) }
            return rest
        }
    }
}
