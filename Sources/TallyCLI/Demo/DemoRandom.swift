/// SplitMix64: small, fast and deterministic, so the same seed gives the same demo.
struct DemoRandom: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    /// A generator for one (seed, a, b) cell, independent of the order cells are visited in.
    init(_ seed: UInt64, _ a: Int, _ b: Int) {
        var mixer = DemoRandom(
            seed: seed ^ (UInt64(truncatingIfNeeded: a) &* 0x9E37_79B9_7F4A_7C15)
                ^ (UInt64(truncatingIfNeeded: b) &* 0xC2B2_AE3D_27D4_EB4F))
        state = mixer.next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool {
        Double.random(in: 0..<1, using: &self) < p
    }
}
