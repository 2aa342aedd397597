import Synchronization

/// The hops of an mtr run as their probes settle, shared by the run's per-hop readers: where the path ends (the
/// lowest hop at which the target answered or an unreachable came), and how many whole rounds are in.
final class MTRTable: Sendable {
    /// One probe's answer, by hop and round.
    struct Settled {
        var ttl: Int
        var cycle: Int
        var probe: TracerouteHop.Probe
    }

    /// What recording one probe's answer changed.
    struct Update {
        /// The hop lies past the end of the path: its answers are not part of the run.
        var beyondEnd: Bool
        /// Answers now known to lie on the path, to be told as they come: a hop's answer that ends the path waits
        /// for the lower hops' answers of its round (a higher TTL's echo reply can come first, and may yet turn out
        /// to lie past the end).
        var told: [Settled] = []
        /// Every hop of the path now has its answer for this many rounds (set when that number grew).
        var completedCycles: Int?
    }

    private struct State {
        /// Per TTL, each probe's answer by its round (1-based).
        var answers: [Int: [Int: TracerouteHop.Probe]] = [:]
        var reachedAt: Int?
        var stoppedAt: Int?
        var completed = 0
        var held: [Settled] = []

        var end: Int? { [reachedAt, stoppedAt].compactMap { $0 }.min() }
    }

    let ttls: ClosedRange<Int>
    private let state = Mutex(State())

    init(ttls: ClosedRange<Int>) { self.ttls = ttls }

    func record(ttl: Int, cycle: Int, answer: HopAnswer) -> Update {
        state.withLock { state in
            if answer.reached { state.reachedAt = min(state.reachedAt ?? ttl, ttl) }
            if answer.stops { state.stoppedAt = min(state.stoppedAt ?? ttl, ttl) }
            let end = state.end ?? ttls.upperBound
            guard ttl <= end else { return Update(beyondEnd: true) }
            state.answers[ttl, default: [:]][cycle] = answer.probe
            let settled = Settled(ttl: ttl, cycle: cycle, probe: answer.probe)
            var update = Update(beyondEnd: false)
            if answer.reached || answer.stops { state.held.append(settled) } else { update.told.append(settled) }
            // Held answers: dropped once past the end, told once every lower hop has answered that round.
            state.held.removeAll { $0.ttl > end }
            let ready = state.held.filter { held in (ttls.lowerBound..<held.ttl).allSatisfy { state.answers[$0]?[held.cycle] != nil } }
            state.held.removeAll { held in ready.contains { $0.ttl == held.ttl && $0.cycle == held.cycle } }
            update.told += ready
            let completed = (ttls.lowerBound...end).map { state.answers[$0]?.count ?? 0 }.min() ?? 0
            if completed > state.completed {
                state.completed = completed
                update.completedCycles = completed
            }
            return update
        }
    }

    /// Whether `ttl` lies past the end of the path found so far.
    func isBeyondEnd(_ ttl: Int) -> Bool { state.withLock { state in state.end.map { ttl > $0 } ?? false } }

    /// The hop at which the target answered.
    var reachedAt: Int? { state.withLock { $0.reachedAt } }

    /// The table as mtr shows it: up to where the path ends; on a path that never ends, up to one hop past the last
    /// that answered (mtr's last `???`), at least the first.
    var hops: [MTRHop] {
        state.withLock { state in
            let last: Int
            if let end = state.end {
                last = end
            } else {
                let answering = state.answers.filter { $0.value.values.contains { $0.from != nil } }.keys.max()
                last = min(ttls.upperBound, answering.map { $0 + 1 } ?? ttls.lowerBound)
            }
            return (ttls.lowerBound...max(ttls.lowerBound, last)).map { ttl in
                let answers = state.answers[ttl] ?? [:]
                return MTRHop(ttl: ttl, outcomes: answers.keys.sorted().compactMap { answers[$0] })
            }
        }
    }
}
