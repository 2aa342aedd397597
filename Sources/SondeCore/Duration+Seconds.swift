extension Duration {
    /// The duration in seconds as a floating-point number.
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// The duration in whole microseconds (truncated).
    public var inMicroseconds: Int64 {
        components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000
    }

    /// The duration in whole nanoseconds (truncated).
    public var inNanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }

    /// The longest number of seconds any caller-given value may become: 100 days. `Duration.seconds(_:)`
    /// traps beyond about 9.2e18 s and an instant plus a duration overflows well before that, so every number
    /// from outside goes through ``checkedSeconds(_:within:)`` or ``clampedSeconds(_:within:)``.
    public static let maxCheckedSeconds: Double = 8_640_000

    /// `seconds` as a duration when it is a finite number within `range` (itself capped at
    /// ``maxCheckedSeconds``); `nil` otherwise — never a trap.
    public static func checkedSeconds(_ seconds: Double, within range: ClosedRange<Double> = 0...maxCheckedSeconds) -> Duration? {
        guard seconds.isFinite, range.contains(seconds), seconds <= maxCheckedSeconds, seconds >= -maxCheckedSeconds else {
            return nil
        }
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// `seconds` moved into `range` (NaN to its lower bound), as a duration: for values that are adjusted
    /// rather than refused, such as a scrape-timeout header.
    public static func clampedSeconds(_ seconds: Double, within range: ClosedRange<Double>) -> Duration {
        let low = max(range.lowerBound, -maxCheckedSeconds)
        let high = min(range.upperBound, maxCheckedSeconds)
        let value = seconds.isNaN ? low : min(max(seconds, low), high)
        return .nanoseconds(Int64((value * 1e9).rounded()))
    }
}
