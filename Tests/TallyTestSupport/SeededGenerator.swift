import Foundation

/// A seeded generator (SplitMix64) so a failing randomized test can be replayed.
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Seeds and iteration counts for the randomized and crash tests, from the environment:
/// TALLY_TEST_SEED (default: random, printed on failure) and TALLY_TEST_ITERATIONS
/// (default: the modest CI figure each test names).
public enum TestEnvironment {
    public static func seed() -> UInt64 {
        if let text = ProcessInfo.processInfo.environment["TALLY_TEST_SEED"], let seed = UInt64(text) { return seed }
        return UInt64.random(in: 1...UInt64.max)
    }

    public static func iterations(default value: Int) -> Int {
        ProcessInfo.processInfo.environment["TALLY_TEST_ITERATIONS"].flatMap(Int.init) ?? value
    }
}
