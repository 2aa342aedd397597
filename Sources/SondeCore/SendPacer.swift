import Synchronization

/// Spaces sends across every probe run that shares it: at most one send per `gap` (fping's `-i`).
///
/// Each caller reserves the next free slot and sleeps until it; slots are absolute instants, so timer
/// jitter does not accumulate.
public final class SendPacer: Sendable {
    public let gap: Duration
    private let nextSlot: Mutex<ContinuousClock.Instant?> = Mutex(nil)

    public init(gap: Duration) {
        self.gap = gap
    }

    /// For a scheduler that sends itself: `nil` when a send may go at `now` (the slot is taken), otherwise
    /// the instant to try again.
    public func claim(at now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        nextSlot.withLock { next in
            if let due = next, due > now { return due }
            next = now + gap
            return nil
        }
    }

    /// Waits for this caller's slot; returns at once if the last send was long enough ago.
    public func waitForSlot() async {
        let now = ContinuousClock.now
        let slot = nextSlot.withLock { next -> ContinuousClock.Instant in
            let slot = Swift.max(now, next ?? now)
            next = slot + gap
            return slot
        }
        if slot > now {
            try? await Task.sleep(until: slot, tolerance: .zero, clock: .continuous)
        }
    }
}
