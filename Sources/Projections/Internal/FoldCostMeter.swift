import Dispatch

/// Roughly how long each projector of a fold takes: the time of its calls for one event in
/// `sampleInterval`, added up per projector. `RebuildLanes` balances its lanes by it. Only
/// the proportions matter, so a sample keeps the clock's cost off most events.
/// `@unchecked Sendable`: one lane's thread uses it, then hands it back after the batch.
final class FoldCostMeter: @unchecked Sendable {
    private(set) var nanoseconds: [UInt64]
    private var countdown = 0
    static let sampleInterval = 32

    init(projectors count: Int) {
        nanoseconds = Array(repeating: 0, count: count)
    }

    /// Whether to time the next event's calls.
    func samplesNextEvent() -> Bool {
        countdown -= 1
        guard countdown < 0 else { return false }
        countdown = Self.sampleInterval - 1
        return true
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    func add(_ projector: Int, since start: UInt64) {
        nanoseconds[projector] &+= Self.now() &- start
    }
}
