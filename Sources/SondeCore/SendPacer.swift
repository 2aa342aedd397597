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

    /// Reserves the next free slot at or after `now` for a scheduler that sends by itself.
    public func reserveSlot(at now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        nextSlot.withLock { next in
            let slot = Swift.max(now, next ?? now)
            next = slot + gap
            return slot
        }
    }

    /// Waits for this caller's slot; returns at once if the last send was long enough ago.
    public func waitForSlot() async {
        let now = ContinuousClock.now
        let slot = reserveSlot(at: now)
        if slot > now {
            try? await Task.sleep(until: slot, tolerance: .zero, clock: .continuous)
        }
    }
}
