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

@Suite("Paced repetitions")
struct RepetitionTurnTests {
    @Test func aTurnWaitsUntilItsDueInstantCountedFromTheStart() async {
        let start = ContinuousClock.now
        let go = await ProbeContext().waitForTurn(3, from: start, every: .milliseconds(20), deadline: nil)
        #expect(go)
        #expect(ContinuousClock.now - start >= .milliseconds(40))
    }

    @Test func aTurnAtOrAfterTheDeadlineStopsTheRunWithoutWaiting() async {
        let start = ContinuousClock.now
        let go = await ProbeContext().waitForTurn(2, from: start, every: .seconds(60), deadline: start + .seconds(1))
        #expect(!go)
        #expect(ContinuousClock.now - start < .seconds(1))
    }

    @Test func aCancelledRunGetsNoFurtherTurn() async {
        let task = Task {
            await ProbeContext().waitForTurn(2, from: .now, every: .seconds(30), deadline: nil)
        }
        task.cancel()
        #expect(await task.value == false)
    }
}
