import Foundation
import SondeCore
import Testing

@Suite("Round-trip statistics and number formatting")
struct StatisticsTests {
    @Test func iputilsExampleFromTheReference() {
        let stats = RTTStatistics(microseconds: [327, 55])
        #expect(stats.slashSeparated == "0.055/0.191/0.327/0.136")
    }

    @Test func populationStandardDeviationMatchesTheTwoPassFormula() {
        let samples = [1200, 1500, 900, 20000, 40, 40, 77_777]
        let stats = RTTStatistics(microseconds: samples)
        let mean = Double(samples.reduce(0, +)) / Double(samples.count)
        let variance = samples.map { (Double($0) - mean) * (Double($0) - mean) }.reduce(0, +) / Double(samples.count)
        #expect(stats.average == samples.reduce(0, +) / samples.count)
        #expect(abs(Double(stats.meanDeviation ?? -1) - variance.squareRoot()) <= 1)
        #expect(stats.minimum == 40)
        #expect(stats.maximum == 77_777)
    }

    @Test func largeSumsTakeTheOverflowSafeBranch() {
        let stats = RTTStatistics(microseconds: Array(repeating: 3_000_000, count: 1000))
        #expect(stats.average == 3_000_000)
        #expect(stats.meanDeviation == 0)
    }

    @Test func noSamplesMeansNoFiguresNotSentinels() {
        let stats = RTTStatistics()
        #expect(stats.summary == nil)
        #expect(stats.slashSeparated == nil)
        #expect(stats.meanDeviation == nil)
    }

    @Test(arguments: [
        (66.66666666, "66.6667"), (0.0, "0"), (100.0, "100"), (33.333333, "33.3333"), (50.0, "50"), (0.5, "0.5"),
        (0.0333333333, "0.0333333"), (14.285714, "14.2857"),
    ])
    func lossPercentPrintsLikePercentG(value: Double, expected: String) {
        #expect(DecimalFormat.significant(value) == expected)
    }

    @Test func fixedPointFormatting() {
        #expect(DecimalFormat.fixed(1234, scale: 3) == "1.234")
        #expect(DecimalFormat.fixed(5, scale: 3) == "0.005")
        #expect(DecimalFormat.fixed(-5, scale: 1) == "-0.5")
        #expect(DecimalFormat.rounded(0.1235, decimals: 3) == "0.124")
        #expect(DecimalFormat.shortest(3600) == "3600")
        #expect(DecimalFormat.shortest(0.002) == "0.002")
    }
}

@Suite("timestamps")
struct TimestampTests {
    @Test("the hand-written UTC timestamp is the ISO 8601 style's text, to the millisecond")
    func matchesFormatStyle() {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        var generator = SystemRandomNumberGenerator()
        let fixed: [Double] = [0, 0.0005, 0.9995, 951_782_400, 1_795_542_849.1204, 4_102_444_799.999, 1_709_164_800.5]
        for seconds in fixed + (0..<2000).map({ _ in Double.random(in: 0...4_102_444_800, using: &generator) }) {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(SondeJSON.timestamp(date) == date.formatted(style), "\(seconds)")
        }
    }
}
