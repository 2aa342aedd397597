/// Round-trip statistics with iputils `ping`'s formulas, on whole microseconds.
///
/// - min/max: smallest/largest sample.
/// - avg: ⌊Σx / n⌋.
/// - mdev: ⌊√(Σx²/n − (Σx/n)²)⌋, the population standard deviation computed in one pass.
///
/// `ping -c 2` with replies of 0.327 and 0.055 ms gives `0.055/0.191/0.327/0.136`.
public struct RTTStatistics: Sendable, Equatable {
    public private(set) var count = 0
    private var sum = 0
    private var sumOfSquares = 0.0
    public private(set) var minimum = Int.max
    public private(set) var maximum = 0

    public init() {}

    public init(microseconds samples: some Sequence<Int>) {
        for sample in samples { add(microseconds: sample) }
    }

    public mutating func add(microseconds sample: Int) {
        count += 1
        sum += sample
        sumOfSquares += Double(sample) * Double(sample)
        minimum = Swift.min(minimum, sample)
        maximum = Swift.max(maximum, sample)
    }

    /// Average in microseconds; `nil` without samples.
    public var average: Int? { count == 0 ? nil : sum / count }

    /// Mean deviation (population standard deviation) in microseconds; `nil` without samples.
    public var meanDeviation: Int? {
        guard count > 0, let average else { return nil }
        let n = Double(count)
        let variance: Int
        if sum < Int(Int32.max) {
            variance = Int(((sumOfSquares - Double(sum) * Double(sum) / n) / n).rounded(.down))
        } else {
            variance = Int((sumOfSquares / n).rounded(.down)) - average * average
        }
        return Self.integerSquareRoot(Swift.max(variance, 0))
    }

    /// The statistics in milliseconds, for reports; `nil` without samples.
    public var summary: RTTSummary? {
        guard count > 0, let average, let meanDeviation else { return nil }
        return RTTSummary(
            minMs: Double(minimum) / 1000,
            avgMs: Double(average) / 1000,
            maxMs: Double(maximum) / 1000,
            mdevMs: Double(meanDeviation) / 1000,
            samples: count
        )
    }

    /// `a/b/c/d` in milliseconds with three decimals, truncated as iputils prints them.
    public var slashSeparated: String? { summary?.slashSeparated() }

    static func integerSquareRoot(_ value: Int) -> Int {
        guard value > 1 else { return value }
        var x = value
        var y = (x + 1) / 2
        while y < x {
            x = y
            y = (x + value / x) / 2
        }
        return x
    }
}

/// Round-trip statistics as they appear in JSON reports.
public struct RTTSummary: Codable, Sendable, Equatable {
    public var minMs: Double
    public var avgMs: Double
    public var maxMs: Double
    public var mdevMs: Double
    /// How many round trips the figures are computed from.
    public var samples: Int

    /// `min/avg/max/mdev` (or `min/avg/max`) in milliseconds with three decimals, as ping and fping print them.
    public func slashSeparated(withDeviation: Bool = true) -> String {
        let values = withDeviation ? [minMs, avgMs, maxMs, mdevMs] : [minMs, avgMs, maxMs]
        return values.map { DecimalFormat.fixed(Int(($0 * 1000).rounded()), scale: 3) }.joined(separator: "/")
    }
}
