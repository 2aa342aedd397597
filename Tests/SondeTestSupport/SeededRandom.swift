#if canImport(Glibc)
    import Glibc
#endif

/// A reproducible random number generator for tests that feed random input (SplitMix64).
///
/// Each run takes its seed from `SONDE_TEST_SEED` when set, else a fresh one, and prints it, so that a failure
/// can be replayed exactly: `SONDE_TEST_SEED=1234 swift test --filter randomBytesNeverTrap`. Put ``replay`` in
/// the message of every expectation that depends on the input.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public let seed: UInt64
    private var state: UInt64

    /// - Parameter test: named in the printed line.
    public init(test: String) {
        let given = getenv("SONDE_TEST_SEED").flatMap { UInt64(String(cString: $0)) }
        var fresh = SystemRandomNumberGenerator()
        self.init(seed: given ?? fresh.next())
        print("\(test): random seed \(seed) (replay with SONDE_TEST_SEED=\(seed))")
    }

    public init(seed: UInt64) {
        self.seed = seed
        state = seed
    }

    /// What to put in a failure message.
    public var replay: String { "replay with SONDE_TEST_SEED=\(seed)" }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
