import SondeCore
import SondeHTTP
import SondeServerTestSupport
import Synchronization
import Testing

@testable import SondeServer

/// The pieces behind "every response has a memory budget", one at a time.
@Suite("response budgets")
struct ResponseBudgetTests {
    @Test("chunks pass in order; past the budget the producer is stopped and the buffer says so")
    func boundedChunks() async {
        let buffer = BoundedChunks(budget: 10)
        let stopped = Mutex(0)
        buffer.setCancellation { stopped.withLock { $0 += 1 } }
        #expect(buffer.append("abcd"))
        #expect(buffer.append("efgh"))
        // 8 bytes wait unread; 3 more would exceed 10.
        #expect(!buffer.append("ijk"))
        #expect(stopped.withLock { $0 } == 1, "the run was stopped")
        #expect(buffer.overflowed)
        #expect(!buffer.append("l"), "nothing more is queued once over")
        buffer.finish()
        var texts: [String] = []
        while let chunk = await buffer.next() { texts.append(chunk.text) }
        #expect(texts == ["abcd", "efgh"], "what was queued before the overflow is still delivered")
    }

    @Test("what the reader consumed no longer counts against the budget")
    func consumption() async {
        let buffer = BoundedChunks(budget: 8)
        for round in 0..<100 {
            #expect(buffer.append("12345678"), "round \(round)")
            let chunk = await buffer.next()
            #expect(chunk?.text == "12345678")
            buffer.consumed(8)
        }
        #expect(!buffer.overflowed)
        // A waiting reader gets a chunk appended later, and nil once finished.
        async let waiting = buffer.next()
        buffer.append("late")
        #expect(await waiting?.text == "late")
        buffer.finish()
        #expect(await buffer.next() == nil)
    }

    @Test("a cancellation set after the overflow is called at once")
    func lateCancellation() {
        let buffer = BoundedChunks(budget: 1)
        #expect(!buffer.append("too long"))
        let stopped = Mutex(false)
        buffer.setCancellation { stopped.withLock { $0 = true } }
        #expect(stopped.withLock { $0 })
    }

    @Test("per-client limits count an IPv6 caller by its /64, a mapped IPv4 caller as IPv4")
    func clientKeys() {
        #expect(SondeRequestContext.limitKey(for: "2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64")
        #expect(SondeRequestContext.limitKey(for: "2001:db8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64")
        #expect(SondeRequestContext.limitKey(for: "2001:db8:1:3::1") == "2001:db8:1:3::/64")
        #expect(SondeRequestContext.limitKey(for: "::ffff:10.0.0.7") == "10.0.0.7")
        #expect(SondeRequestContext.limitKey(for: "10.0.0.7") == "10.0.0.7")
        #expect(SondeRequestContext.limitKey(for: "local") == "local")
    }
}
