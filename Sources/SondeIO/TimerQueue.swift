/// A min-heap of timed actions for an event loop: the earliest comes out first, ties in insertion order.
public struct TimerQueue<Action> {
    fileprivate struct Entry {
        var at: ContinuousClock.Instant
        var order: UInt64
        var action: Action

        func precedes(_ other: Entry) -> Bool {
            at < other.at || (at == other.at && order < other.order)
        }
    }

    private var entries: [Entry] = []
    private var inserted: UInt64 = 0

    public init() {}

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }
    public var earliest: ContinuousClock.Instant? { entries.first?.at }

    public mutating func schedule(_ action: Action, at instant: ContinuousClock.Instant) {
        inserted &+= 1
        entries.append(Entry(at: instant, order: inserted, action: action))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest action if it is due by `now`.
    public mutating func popDue(by now: ContinuousClock.Instant) -> Action? {
        guard let first = entries.first, first.at <= now else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < entries.count, entries[left].precedes(entries[smallest]) { smallest = left }
                if right < entries.count, entries[right].precedes(entries[smallest]) { smallest = right }
                guard smallest != parent else { break }
                entries.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first.action
    }
}
extension TimerQueue: Sendable where Action: Sendable {}
extension TimerQueue.Entry: Sendable where Action: Sendable {}
