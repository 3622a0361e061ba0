import Dispatch

/// Roughly how long each projector of a fold takes, in nanoseconds: the events that fill a log
/// (those folded in place, usage) are timed one in `sampleInterval`, each such time counting
/// that many times; the rare others (subscription changes, invoices), each costlier and too
/// few for a sample to say much, are all timed. `RebuildLanes` balances its lanes by it.
/// `@unchecked Sendable`: one lane's thread uses it, then hands it back after the batch.
final class FoldCostMeter: @unchecked Sendable {
    private(set) var nanoseconds: [UInt64]
    private var countdown = 0
    static let sampleInterval = 32

    init(projectors count: Int) {
        nanoseconds = Array(repeating: 0, count: count)
    }

    /// Whether to time the next sampled event's calls.
    func samplesNextEvent() -> Bool {
        countdown -= 1
        guard countdown < 0 else { return false }
        countdown = Self.sampleInterval - 1
        return true
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Counts a call on a sampled event (`samplesNextEvent`), for itself and the events skipped.
    func addSampled(_ projector: Int, since start: UInt64) {
        nanoseconds[projector] &+= (Self.now() &- start) &* UInt64(Self.sampleInterval)
    }

    /// Counts a call on an event that is always timed.
    func add(_ projector: Int, since start: UInt64) {
        nanoseconds[projector] &+= Self.now() &- start
    }
}
