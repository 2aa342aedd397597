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
