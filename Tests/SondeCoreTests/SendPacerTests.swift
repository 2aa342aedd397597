import SondeCore
import Testing

@Suite("Send pacing")
struct SendPacerTests {
    @Test func concurrentCallersGetDistinctSlotsAtLeastOneGapApart() async throws {
        let pacer = SendPacer(gap: .milliseconds(5))
        let start = ContinuousClock.now
        let instants = await withTaskGroup(of: ContinuousClock.Instant.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    await pacer.waitForSlot()
                    return .now
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let sorted = instants.sorted()
        // Ten slots 5 ms apart cannot all be taken in less than 45 ms.
        let last = try #require(sorted.last)
        #expect(last - start >= .milliseconds(45))
    }
}
