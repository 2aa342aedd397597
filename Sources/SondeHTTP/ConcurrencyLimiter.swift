import Synchronization

/// Caps the probes running at once, overall and per client address.
package final class ConcurrencyLimiter: Sendable {
    private struct Counts {
        var total = 0
        var perClient: [String: Int] = [:]
    }

    private let counts = Mutex(Counts())
    package let maxTotal: Int
    package let maxPerClient: Int

    package init(maxTotal: Int, maxPerClient: Int) {
        self.maxTotal = maxTotal
        self.maxPerClient = maxPerClient
    }

    /// A slot for one probe run, or 429 naming the limit that was hit.
    package func acquire(client: String) throws(APIError) -> Permit {
        let refusal: APIError? = counts.withLock { counts in
            if counts.total >= maxTotal {
                return .overLimit("\(maxTotal) probes are already running on this Sonde (--max-concurrent): retry shortly")
            }
            if counts.perClient[client, default: 0] >= maxPerClient {
                return .overLimit("\(maxPerClient) of your probes are already running (--max-concurrent-per-client): retry when one ends")
            }
            counts.total += 1
            counts.perClient[client, default: 0] += 1
            return nil
        }
        if let refusal { throw refusal }
        return Permit(limiter: self, client: client)
    }

    /// Probes running now (for tests and metrics).
    package var running: Int { counts.withLock { $0.total } }

    fileprivate func release(client: String) {
        counts.withLock { counts in
            counts.total -= 1
            let remaining = counts.perClient[client, default: 1] - 1
            counts.perClient[client] = remaining > 0 ? remaining : nil
        }
    }

    /// One held slot; released exactly once, at the latest when the permit is dropped.
    package final class Permit: Sendable {
        private let limiter: ConcurrencyLimiter
        private let client: String
        private let released = Atomic<Bool>(false)

        fileprivate init(limiter: ConcurrencyLimiter, client: String) {
            self.limiter = limiter
            self.client = client
        }

        package func release() {
            guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
            limiter.release(client: client)
        }

        deinit { release() }
    }
}
